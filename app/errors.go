package app

import (
	"context"
	"errors"
	"net/http"
	"time"

	"kelas/store"
	"kelas/views"
)

// errForbidden is returned by policy checks; fail turns it into a 403.
var errForbidden = errors.New("forbidden")

// errBadRequest marks malformed requests that have no form to re-render.
var errBadRequest = errors.New("bad request")

// fail is the one error path of every handler: known errors become their
// status with a plain page; anything else is logged once, with the request
// id, and answered with a 500 page that reveals nothing.
func (a *App) fail(w http.ResponseWriter, r *http.Request, err error) {
	var tooBig *http.MaxBytesError
	switch {
	case r.Context().Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)):
		// The client went away: nobody reads an answer, and it is not a
		// fault of ours. logRequests notes it once, at INFO.
		return
	case errors.Is(err, store.ErrNotFound):
		a.errorPage(w, r, http.StatusNotFound)
	case errors.Is(err, errForbidden):
		a.errorPage(w, r, http.StatusForbidden)
	case errors.Is(err, store.ErrConflict):
		a.errorPage(w, r, http.StatusConflict)
	case errors.As(err, &tooBig):
		a.errorPage(w, r, http.StatusRequestEntityTooLarge)
	case errors.Is(err, errBadRequest):
		a.errorPage(w, r, http.StatusBadRequest)
	case errors.Is(err, errBusy):
		retryAfter(w, 5*time.Second)
		a.errorPage(w, r, http.StatusServiceUnavailable)
	default:
		a.log.Error("request failed", "request_id", requestID(r.Context()), "route", r.Pattern, "err", err)
		a.errorPage(w, r, http.StatusInternalServerError)
	}
}

var errorTexts = map[int]views.ErrorPage{
	http.StatusBadRequest:            {Heading: "That request could not be understood", Message: "Please go back and try again."},
	http.StatusForbidden:             {Heading: "You cannot open this page", Message: "Your account does not have access to it, or the form was sent from another site."},
	http.StatusNotFound:              {Heading: "Page not found", Message: "The page does not exist, or it has been moved or removed."},
	http.StatusMethodNotAllowed:      {Heading: "Not allowed here", Message: "This address does not accept that kind of request."},
	http.StatusConflict:              {Heading: "That conflicts with something that already exists", Message: "Please reload the page and try again."},
	http.StatusRequestEntityTooLarge: {Heading: "That was too large", Message: "What you sent is larger than kelas accepts. Please send something smaller."},
	http.StatusTooManyRequests:       {Heading: "Too many attempts", Message: "Please wait a moment and try again."},
	http.StatusInternalServerError:   {Heading: "Something went wrong on our side", Message: "The problem has been logged. Please try again in a little while."},
	http.StatusServiceUnavailable:    {Heading: "Temporarily unavailable", Message: "Please try again in a little while."},
}

// errorPage renders the standard page for status.
func (a *App) errorPage(w http.ResponseWriter, r *http.Request, status int) {
	e, ok := errorTexts[status]
	if !ok {
		e = views.ErrorPage{Heading: http.StatusText(status)}
	}
	e.Status = status
	p := a.page(r, e.Heading)
	a.render(w, r, status, views.Error(p, e))
}
