package app

import (
	"errors"
	"net/http"

	"kelas/i18n"
	"kelas/views"
)

// messages lists the keys of what people read when a request fails
// (Error.Key), with the address their page links to, if any. The texts
// are in the catalogue: KEY.heading, KEY.message and KEY.link (the link's
// label), whose placeholders the error's Args fill.
var messages = map[string]string{
	"error.suspend_reason":      "",
	"error.already_suspended":   "",
	"error.not_suspended":       "",
	"error.bad_request":         "",
	"error.forbidden":           "",
	"error.not_found":           "",
	"error.not_allowed":         "",
	"error.conflict":            "",
	"error.gone":                "",
	"error.too_large":           "",
	"error.too_many":            "",
	"error.internal":            "",
	"error.unavailable":         "",
	"error.too_many_for":        "",
	"error.invitation_gone":     "",
	"error.unsubscribe_expired": "/profile",
	"error.unsubscribe_invalid": "/profile",
	"error.reset_gone":          "/password/forgot",
	"error.revert_gone":         "",
	"error.setup_gone":          "",
	"error.last_admin":          "",
	"error.bad_report":          "",
	"error.verify_gone":         "/login",
	"error.email_taken":         "",
	"error.revert_taken":        "",
	"error.export_expired":      "/rights#portability",
	"error.export_not_ready":    "/rights#portability",
	"error.code_needed":         "",
}

// fieldMessages is the catalogue of what a form says at a field, by the
// key of the error that refused the value.
// messageOf is what a form says at a field about err, in the request's
// language: the catalogue's field.KEY, or a plain refusal for an error
// without one.
func messageOf(r *http.Request, err error) string {
	var e *Error
	if errors.As(err, &e) && i18n.Get(i18n.Default).Has("field."+e.Key) {
		return tr(r, "field."+e.Key, e.Args...)
	}
	return tr(r, "field.invalid")
}

// plural is an Error argument written as a plural message of the
// request's language: Args: []any{"wait", plural{"duration.minutes", 5}}.
type plural struct {
	key string
	n   int
}

// localArgs resolves plural arguments in the request's language.
func localArgs(r *http.Request, args []any) []any {
	out := make([]any, len(args))
	for i, v := range args {
		if p, ok := v.(plural); ok {
			v = trn(r, p.key, p.n)
		}
		out[i] = v
	}
	return out
}

// statusKeys is the message of a bare status, for the middleware's answers.
var statusKeys = map[int]string{
	http.StatusBadRequest:            "error.bad_request",
	http.StatusForbidden:             "error.forbidden",
	http.StatusNotFound:              "error.not_found",
	http.StatusMethodNotAllowed:      "error.not_allowed",
	http.StatusConflict:              "error.conflict",
	http.StatusGone:                  "error.gone",
	http.StatusRequestEntityTooLarge: "error.too_large",
	http.StatusTooManyRequests:       "error.too_many",
	http.StatusInternalServerError:   "error.internal",
	http.StatusServiceUnavailable:    "error.unavailable",
}

// errorPage renders the standard page for status.
func (a *App) errorPage(w http.ResponseWriter, r *http.Request, status int) {
	a.errorMessage(w, r, &Error{Status: status, Key: statusKeys[status]})
}

// errorMessage renders the page of an application error: its message from
// the catalogue, filled with its arguments, and its link.
func (a *App) errorMessage(w http.ResponseWriter, r *http.Request, ae *Error) {
	var e views.ErrorPage
	link, ok := messages[ae.Key]
	if ok {
		args := localArgs(r, ae.Args)
		e.Heading = tr(r, ae.Key+".heading", args...)
		if i18n.Get(i18n.Default).Has(ae.Key + ".message") {
			e.Message = tr(r, ae.Key+".message", args...)
		}
		if i18n.Get(i18n.Default).Has(ae.Key + ".link") {
			e.LinkLabel = tr(r, ae.Key+".link", args...)
		}
		e.LinkURL = link
	} else {
		e.Heading = http.StatusText(ae.Status)
	}
	e.Status = ae.Status
	if ae.Link != "" {
		e.LinkURL = ae.Link
	}
	p := a.page(r, e.Heading)
	if err := a.render(w, r, ae.Status, views.Error(p, e)); err != nil {
		a.log.Error("render failed", "request_id", requestID(r.Context()), "route", r.Pattern, "err", err)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		w.Write([]byte("Internal Server Error\n"))
	}
}
