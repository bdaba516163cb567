package app

import (
	"errors"
	"fmt"
	"net/http"

	"kelas/views"
)

// messages is the catalogue of what people read when a request fails, by
// message key (Error.Key). A message may hold fmt verbs for the error's
// Args.
var messages = map[string]views.ErrorPage{
	"error.bad_request":  {Heading: "That request could not be understood", Message: "Please go back and try again."},
	"error.forbidden":    {Heading: "You cannot open this page", Message: "Your account does not have access to it, or the form was sent from another site."},
	"error.not_found":    {Heading: "Page not found", Message: "The page does not exist, or it has been moved or removed."},
	"error.not_allowed":  {Heading: "Not allowed here", Message: "This address does not accept that kind of request."},
	"error.conflict":     {Heading: "That conflicts with something that already exists", Message: "Please reload the page and try again."},
	"error.gone":         {Heading: "This link no longer works", Message: "It has been used already or it has expired."},
	"error.too_large":    {Heading: "That was too large", Message: "What you sent is larger than kelas accepts. Please send something smaller."},
	"error.too_many":     {Heading: "Too many attempts", Message: "Please wait a moment and try again."},
	"error.internal":     {Heading: "Something went wrong on our side", Message: "The problem has been logged. Please try again in a little while."},
	"error.unavailable":  {Heading: "Temporarily unavailable", Message: "Please try again in a little while."},
	"error.too_many_for": {Heading: "Too many attempts", Message: "For your security we pause after several attempts. Please try again in about %s."},
	"error.invitation_gone": {Heading: "This invitation link is not valid",
		Message: "It has been used already or has expired (invitations work for 7 days). Ask the person who invited you to send a new one."},
	"error.unsubscribe_expired": {Heading: "This unsubscribe link has expired",
		Message: "Nothing was changed. Log in and change which emails you receive in your profile.", LinkURL: "/profile", LinkLabel: "Open my profile"},
	"error.unsubscribe_invalid": {Heading: "This unsubscribe link is not valid",
		Message: "It may have been cut short or changed; nothing was changed. Copy the whole link from the email, or log in and change which emails you receive in your profile.",
		LinkURL: "/profile", LinkLabel: "Open my profile"},
	"error.reset_gone": {Heading: "This reset link is not valid",
		Message: "It has been used already, has expired (links work for one hour), or a newer one was sent.", LinkURL: "/password/forgot", LinkLabel: "Ask for a new link"},
	"error.revert_gone": {Heading: "This link is not valid", Message: "It has been used already or has expired (links work for 7 days)."},
	"error.setup_gone": {Heading: "This setup link is not valid",
		Message: "It has been used, has expired, or a newer one was printed. Restart kelas to print a new link if no operator exists yet, or use `kelas admin create`."},
	"error.last_admin": {Heading: "This is the Member's last admin",
		Message:   "Without an admin nobody at %s can invite or manage its staff. Nothing was changed. To go ahead anyway, tick \"Leave the Member without an admin\" beside the change and send it again.",
		LinkLabel: "Back to the Member"},
	"error.bad_report": {Heading: "That report cannot be made",
		Message: "The months asked for are out of range: choose months from 2000 to this month, at most %d of them, the first not after the last.", LinkLabel: "Back to the reports"},
	"error.verify_gone": {Heading: "This confirmation link is not valid",
		Message: "It has been used already, has expired (links work for 48 hours), or a newer one was sent. Log in to have a new link sent.",
		LinkURL: "/login", LinkLabel: "Log in"},
	"error.email_taken":  {Heading: "That address is already in use", Message: "Another account uses this email address now, so your address was not changed."},
	"error.revert_taken": {Heading: "Your address could not be put back", Message: "Another account uses it now. Please contact the operator of this portal."},
	"error.export_expired": {Heading: "This download has expired",
		Message: "Exports can be downloaded for %d days after they are ready, and are then deleted. You can ask for a new export of your data at any time.",
		LinkURL: "/rights#portability", LinkLabel: "Ask for a new export"},
	"error.export_not_ready": {Heading: "Your export is not ready",
		Message: "It is still being prepared, or preparing it failed. The rights page shows how far it has got.", LinkURL: "/rights#portability", LinkLabel: "Back to your rights"},
	"error.code_needed": {Heading: "Your code is needed", Message: "%s Nothing was changed.", LinkLabel: "Go back"},
}

// fieldMessages is the catalogue of what a form says at a field, by the
// key of the error that refused the value.
var fieldMessages = map[string]string{
	"file.name":          "The file name must be a plain name (no folders) ending in .pdf, .png, .jpg, .txt, .csv, .docx, .xlsx or .pptx.",
	"file.type":          "The file's content does not match its type. Upload PDF, PNG, JPEG, text, CSV or Office documents only.",
	"picture.format":     "The picture must be a JPEG or PNG image.",
	"picture.too_large":  "The picture is at most 2 MB.",
	"picture.dimensions": "The picture is too large: at most 4096 × 4096 pixels.",
}

// messageOf is what a form says at a field about err: its message from the
// catalogue, or a plain refusal for an error without one.
func messageOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		if m, ok := fieldMessages[e.Key]; ok {
			return fmt.Sprintf(m, e.Args...)
		}
	}
	return "This value cannot be accepted."
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
	e, ok := messages[ae.Key]
	if !ok {
		e = views.ErrorPage{Heading: http.StatusText(ae.Status)}
	}
	if len(ae.Args) > 0 {
		e.Message = fmt.Sprintf(e.Message, ae.Args...)
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
