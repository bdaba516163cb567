package app

import (
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
	r      *http.Request
	Errors views.Errors
}

// parseForm reads the body (already bounded by limitBody). A body over the
// limit surfaces as *http.MaxBytesError, which fail answers with 413.
func parseForm(r *http.Request) (*form, error) {
	if err := r.ParseForm(); err != nil {
		return nil, err
	}
	return &form{r: r, Errors: views.Errors{}}, nil
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
