package app

import (
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"net/mail"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"kelas/i18n"
	"kelas/views"
)

// form reads and validates posted fields, collecting one message per field.
// Handlers re-render with 422 when Errors is non-empty and store nothing.
type form struct {
	r            *http.Request
	Errors       views.Errors
	fileTooLarge bool
	files        map[string]upload // parseUploadForm's files, by field
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

// label is a field's name for messages: label is the catalogue key of its
// label ("First name"); text that is not a key is used as it is.
func (f *form) label(label string) string {
	if i18n.Get(i18n.Default).Has(label) {
		return tr(f.r, label)
	}
	return label
}

// inline is a field's name inside a sentence ("Enter your first name."):
// the catalogue's LABEL.inline when it has one, else the label in lower
// case.
func (f *form) inline(label string) string {
	if i18n.Get(i18n.Default).Has(label + ".inline") {
		return tr(f.r, label+".inline")
	}
	return strings.ToLower(f.label(label))
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
	r := f.r
	vs := f.r.PostForm[name]
	switch len(vs) {
	case 0:
		return ""
	case 1:
		return vs[0]
	}
	f.fail(name, tr(r, "form.error.repeated"))
	return ""
}

// text reads a single-line text field: valid UTF-8, no control characters,
// trimmed, between min and max characters. label, the catalogue key of the
// field's label, names it in messages.
func (f *form) text(name, label string, min, max int) string {
	r := f.r
	v := f.raw(name)
	if !utf8.ValidString(v) {
		f.fail(name, tr(r, "form.error.invalid_characters", "field", f.label(label)))
		return ""
	}
	v = strings.TrimSpace(v)
	for _, c := range v {
		if unicode.IsControl(c) || c == '\u2028' || c == '\u2029' {
			f.fail(name, tr(r, "form.error.line_control", "field", f.label(label)))
			return ""
		}
	}
	n := utf8.RuneCountInString(v)
	switch {
	case n == 0 && min > 0:
		f.fail(name, tr(r, "form.error.required", "field", f.inline(label)))
	case n < min:
		f.fail(name, tr(r, "form.error.too_short", "field", f.label(label)))
	case n > max:
		f.fail(name, tr(r, "form.error.too_long", "field", f.label(label), "max", max))
	}
	return v
}

// email reads an email address: one plain addr-spec, at most 254 bytes.
func (f *form) email(name string) string {
	r := f.r
	v := f.text(name, "form.field.email", 1, 254)
	if v == "" || f.Errors[name] != "" {
		return v
	}
	a, err := mail.ParseAddress(v)
	if err != nil || a.Address != v || a.Name != "" || !strings.Contains(v[strings.LastIndexByte(v, '@')+1:], ".") {
		f.fail(name, tr(r, "form.error.email"))
	}
	return v
}

// password reads a password as sent (no trimming): 8 to 72 bytes, the range
// bcrypt handles in full.
func (f *form) password(name string) string {
	r := f.r
	v := f.raw(name)
	switch {
	case v == "":
		f.fail(name, tr(r, "password.empty"))
	case !utf8.ValidString(v):
		f.fail(name, tr(r, "password.invalid_characters"))
	case len(v) < 8:
		f.fail(name, tr(r, "password.too_short"))
	case len(v) > 72:
		f.fail(name, tr(r, "password.too_long"))
	}
	return v
}

// newPassword reads a password being chosen: the length for the role and
// the strength check of PasswordProblem, with the reason at the field.
func (f *form) newPassword(name string, privileged bool, personal ...string) string {
	r := f.r
	v := f.raw(name)
	if key := passwordProblemKey(v, privileged, personal...); key != "" {
		f.fail(name, tr(r, key))
	}
	return v
}

// checkbox reads a checkbox posted as "on"; anything else present is invalid.
func (f *form) checkbox(name string) bool {
	r := f.r
	switch f.raw(name) {
	case "":
		return false
	case "on":
		return true
	}
	f.fail(name, tr(r, "form.error.unexpected"))
	return false
}

// choice reads a field whose value must be one of a fixed set of codes;
// label is the catalogue key of the field's label.
func (f *form) choice(name, label string, valid func(string) bool, required bool) string {
	r := f.r
	v := f.raw(name)
	switch {
	case v == "" && required:
		f.fail(name, tr(r, "form.error.choose", "field", f.inline(label)))
	case v != "" && !valid(v):
		f.fail(name, tr(r, "form.error.choose_listed", "field", f.inline(label)))
		return ""
	}
	return v
}

// multiline reads a free-text field that may hold line breaks (normalised
// to \n) but no other control characters.
func (f *form) multiline(name, label string, max int) string {
	r := f.r
	v := f.raw(name)
	if !utf8.ValidString(v) {
		f.fail(name, tr(r, "form.error.invalid_characters", "field", f.label(label)))
		return ""
	}
	v = strings.TrimSpace(strings.ReplaceAll(v, "\r\n", "\n"))
	for _, c := range v {
		if c != '\n' && c != '\t' && unicode.IsControl(c) {
			f.fail(name, tr(r, "form.error.control", "field", f.label(label)))
			return ""
		}
	}
	if utf8.RuneCountInString(v) > max {
		f.fail(name, tr(r, "form.error.too_long", "field", f.label(label), "max", max))
	}
	return v
}

// phone reads an optional phone number: digits with the usual separators.
func (f *form) phone(name, label string) string {
	r := f.r
	v := f.text(name, label, 0, 30)
	if v == "" || f.Errors[name] != "" {
		return v
	}
	digits := 0
	for _, c := range v {
		switch {
		case c >= '0' && c <= '9':
			digits++
		case strings.ContainsRune(" +-().", c):
		default:
			f.fail(name, tr(r, "form.error.phone_characters", "field", f.label(label)))
			return v
		}
	}
	if digits < 5 {
		f.fail(name, tr(r, "form.error.phone_digits", "field", f.label(label)))
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

// upload is a file sent with a form, as parseUploadForm read it.
type upload struct {
	data     []byte
	parts    int  // how many files the field carried
	tooLarge bool // over the size allowed: read past, not kept
}

// parseUploadForm reads a multipart form part by part. A file of at most
// maxFile bytes is kept in memory (never in a temporary file); a larger
// one is read past without being kept, so its field can say it is too
// large while everything else typed stays in the form. The other fields
// together may have maxValues bytes. Only a body over the route's limit,
// far beyond any form, is still refused whole (413).
func parseUploadForm(r *http.Request, maxFile, maxValues int64) (*form, error) {
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		return parseForm(r)
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, bodyError(err)
	}
	values, files := url.Values{}, map[string]upload{}
	left := maxValues
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, bodyError(err)
		}
		name := part.FormName()
		if part.FileName() == "" {
			b, err := io.ReadAll(io.LimitReader(part, left+1))
			if err != nil {
				return nil, bodyError(err)
			}
			if left -= int64(len(b)); left < 0 {
				return nil, &http.MaxBytesError{Limit: maxValues}
			}
			if name != "" {
				values.Add(name, string(b))
			}
			continue
		}
		up := files[name]
		up.parts++
		data, err := io.ReadAll(io.LimitReader(part, maxFile+1))
		if err != nil {
			return nil, bodyError(err)
		}
		if int64(len(data)) > maxFile {
			up.data, up.tooLarge = nil, true
			if _, err := io.Copy(io.Discard, part); err != nil {
				return nil, bodyError(err)
			}
		} else if up.parts == 1 {
			up.data = data
		}
		files[name] = up
	}
	r.PostForm = values
	r.Form = url.Values{}
	for _, vs := range []url.Values{values, r.URL.Query()} {
		for k, v := range vs {
			r.Form[k] = append(r.Form[k], v...)
		}
	}
	r.MultipartForm = &multipart.Form{Value: values}
	return &form{r: r, Errors: views.Errors{}, files: files}, nil
}
