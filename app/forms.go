package app

import (
	"errors"
	"net/http"
	"net/mail"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"kelas/views"
)

// form reads and validates posted fields, collecting one message per field.
// Handlers re-render with 422 when Errors is non-empty and store nothing.
type form struct {
	r            *http.Request
	Errors       views.Errors
	fileTooLarge bool
}

// parseForm reads the body (already bounded by limitBody). A body over the
// limit surfaces as *http.MaxBytesError, which fail answers with 413.
func parseForm(r *http.Request) (*form, error) {
	if err := r.ParseForm(); err != nil {
		return nil, bodyError(err)
	}
	return &form{r: r, Errors: views.Errors{}}, nil
}

// bodyError classifies a failure to parse a request body. Over the limit
// stays *http.MaxBytesError (413); anything else (a bad escape, a broken
// multipart body, a client that went away) is the sender's: 400, and the
// parser's message, which may quote the body, is neither shown nor logged.
func bodyError(err error) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return err
	}
	return errBadRequest
}

func (f *form) fail(name, msg string) {
	if _, ok := f.Errors[name]; !ok {
		f.Errors[name] = msg
	}
}

// Valid reports whether no field failed.
func (f *form) Valid() bool { return len(f.Errors) == 0 }

// raw returns the single posted value of name; a field sent twice is an
// error rather than a silent pick.
func (f *form) raw(name string) string {
	vs := f.r.PostForm[name]
	switch len(vs) {
	case 0:
		return ""
	case 1:
		return vs[0]
	}
	f.fail(name, "This field was sent more than once.")
	return ""
}

// text reads a single-line text field: valid UTF-8, no control characters,
// trimmed, between min and max characters. label names it in messages.
func (f *form) text(name, label string, min, max int) string {
	v := f.raw(name)
	if !utf8.ValidString(v) {
		f.fail(name, label+" contains invalid characters.")
		return ""
	}
	v = strings.TrimSpace(v)
	for _, r := range v {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			f.fail(name, label+" must not contain control characters or line breaks.")
			return ""
		}
	}
	n := utf8.RuneCountInString(v)
	switch {
	case n == 0 && min > 0:
		f.fail(name, "Enter your "+strings.ToLower(label)+".")
	case n < min:
		f.fail(name, label+" is too short.")
	case n > max:
		f.fail(name, label+" must be at most "+strconv.Itoa(max)+" characters.")
	}
	return v
}

// email reads an email address: one plain addr-spec, at most 254 bytes.
func (f *form) email(name string) string {
	v := f.text(name, "Email address", 1, 254)
	if v == "" || f.Errors[name] != "" {
		return v
	}
	a, err := mail.ParseAddress(v)
	if err != nil || a.Address != v || a.Name != "" || !strings.Contains(v[strings.LastIndexByte(v, '@')+1:], ".") {
		f.fail(name, "Enter an email address like name@example.com.")
	}
	return v
}

// password reads a password as sent (no trimming): 8 to 72 bytes, the range
// bcrypt handles in full.
func (f *form) password(name string) string {
	v := f.raw(name)
	switch {
	case v == "":
		f.fail(name, "Enter a password.")
	case !utf8.ValidString(v):
		f.fail(name, "Password contains invalid characters.")
	case len(v) < 8:
		f.fail(name, "Password must be at least 8 characters.")
	case len(v) > 72:
		f.fail(name, "Password must be at most 72 bytes (fewer characters if you use accents or other scripts).")
	}
	return v
}

// newPassword reads a password being chosen: the length for the role and
// the strength check of PasswordProblem, with the reason at the field.
func (f *form) newPassword(name string, privileged bool, personal ...string) string {
	v := f.raw(name)
	if msg := PasswordProblem(v, privileged, personal...); msg != "" {
		f.fail(name, msg)
	}
	return v
}

// checkbox reads a checkbox posted as "on"; anything else present is invalid.
func (f *form) checkbox(name string) bool {
	switch f.raw(name) {
	case "":
		return false
	case "on":
		return true
	}
	f.fail(name, "Unexpected value.")
	return false
}

// choice reads a field whose value must be one of a fixed set of codes.
func (f *form) choice(name, label string, valid func(string) bool, required bool) string {
	v := f.raw(name)
	switch {
	case v == "" && required:
		f.fail(name, "Choose your "+label+".")
	case v != "" && !valid(v):
		f.fail(name, "Choose your "+label+" from the list.")
		return ""
	}
	return v
}

// multiline reads a free-text field that may hold line breaks (normalised
// to \n) but no other control characters.
func (f *form) multiline(name, label string, max int) string {
	v := f.raw(name)
	if !utf8.ValidString(v) {
		f.fail(name, label+" contains invalid characters.")
		return ""
	}
	v = strings.TrimSpace(strings.ReplaceAll(v, "\r\n", "\n"))
	for _, r := range v {
		if r != '\n' && r != '\t' && unicode.IsControl(r) {
			f.fail(name, label+" must not contain control characters.")
			return ""
		}
	}
	if utf8.RuneCountInString(v) > max {
		f.fail(name, label+" must be at most "+strconv.Itoa(max)+" characters.")
	}
	return v
}

// phone reads an optional phone number: digits with the usual separators.
func (f *form) phone(name, label string) string {
	v := f.text(name, label, 0, 30)
	if v == "" || f.Errors[name] != "" {
		return v
	}
	digits := 0
	for _, r := range v {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case strings.ContainsRune(" +-().", r):
		default:
			f.fail(name, label+" may hold only digits, spaces and + - ( ) .")
			return v
		}
	}
	if digits < 5 {
		f.fail(name, label+" needs at least 5 digits.")
	}
	return v
}

// parseMultipart reads a multipart form entirely in memory. maxMemory must
// be at least the route's body limit so that no part, an uploaded picture
// above all, ever spills into a temporary file in plaintext.
func parseMultipart(r *http.Request, maxMemory int64) (*form, error) {
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		return parseForm(r)
	}
	if err := r.ParseMultipartForm(maxMemory); err != nil {
		return nil, bodyError(err)
	}
	return &form{r: r, Errors: views.Errors{}}, nil
}
