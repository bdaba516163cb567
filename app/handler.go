package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"kelas/store"
)

// handler is what every route does: it writes its answer, or returns an
// error and serve writes the answer for it. No handler writes an error
// response itself.
type handler func(w http.ResponseWriter, r *http.Request) error

// Error is kelas's one application error. Status is the HTTP answer, Key
// names the message people read (a key of the message catalogue, filled
// with Args), and Cause is what went wrong inside, for the log only: it is
// never shown.
type Error struct {
	Status int
	Key    string
	Args   []any
	Cause  error
	// RetryAfter, when set, tells the client when to try again (429, 503).
	RetryAfter time.Duration
	// Link, when set, is the page the answer offers to go on to; the
	// catalogue names it.
	Link string
}

func (e *Error) Error() string {
	s := fmt.Sprintf("%d %s", e.Status, e.Key)
	if e.Cause != nil {
		s += ": " + e.Cause.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Cause }

// The errors handlers return most often. They are values, so errors.Is
// recognises them however they are wrapped.
var (
	errBadRequest = &Error{Status: http.StatusBadRequest, Key: "error.bad_request"}
	errForbidden  = &Error{Status: http.StatusForbidden, Key: "error.forbidden"}
	errNotFound   = &Error{Status: http.StatusNotFound, Key: "error.not_found", Cause: store.ErrNotFound}
)

// classify turns any error into the application error that answers it:
// known causes get their status, anything else is a 500 that keeps the
// cause for the log.
func classify(err error) *Error {
	var e *Error
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &e):
		return e
	case errors.Is(err, store.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Key: "error.not_found", Cause: err}
	case errors.Is(err, store.ErrConflict):
		return &Error{Status: http.StatusConflict, Key: "error.conflict", Cause: err}
	case errors.As(err, &tooBig):
		return &Error{Status: http.StatusRequestEntityTooLarge, Key: "error.too_large", Cause: err}
	case errors.Is(err, errBusy):
		return &Error{Status: http.StatusServiceUnavailable, Key: "error.unavailable", Cause: err, RetryAfter: 5 * time.Second}
	default:
		return &Error{Status: http.StatusInternalServerError, Key: "error.internal", Cause: err}
	}
}

// audience is who may enter a route. The route table declares one for
// every route (routes.go) and serve enforces it before the handler runs:
// a visitor who must sign in is sent to the login page, a signed-in person
// the audience does not admit gets 403. Checks about one object (this
// training belongs to this Member, this grant covers this learner now) are
// the entity loaders' (entity.go).
type audience struct {
	name string
	// admits reports whether a signed-in person may enter; nil means
	// anyone may, visitors included.
	admits func(actor) bool
}

// The audiences of kelas's routes, from the policy functions (policy.go).
var (
	anyone             = audience{name: "anyone"}
	signedIn           = audience{name: "signed in", admits: func(actor) bool { return true }}
	consoleUsers       = audience{name: "console users", admits: mayUseConsole}
	trainingManagers   = audience{name: "training managers", admits: func(x actor) bool { return mayManageTrainings(x) || x.isOperator() }}
	memberManagers     = consoleAnd("Member managers", mayManageMembers)
	grantCreators      = consoleAnd("grant creators", mayCreateGrant)
	operatorViewers    = consoleAnd("operator viewers", mayViewOperators)
	operatorManagers   = consoleAnd("operator managers", mayManageOperators)
	twoFactorResetters = consoleAnd("two-factor resetters", mayResetTwoFactor)
	outboxViewers      = consoleAnd("outbox viewers", mayViewOutbox)
	learnerSearchers   = consoleAnd("learner searchers", maySearchLearners)
	operations         = audience{name: "operations", admits: mayRunOperations}
	rightsHandlers     = consoleAnd("rights handlers", mayHandleRights)
	breachHandlers     = consoleAnd("breach handlers", mayManageBreaches)
	policyPublishers   = consoleAnd("policy publishers", mayPublishPolicy)
)

// consoleAnd is the audience of console users whom may also admits.
func consoleAnd(name string, may func(actor) bool) audience {
	return audience{name: name, admits: func(x actor) bool { return mayUseConsole(x) && may(x) }}
}

// route is one entry of the route table: the pattern and who may enter.
type route struct {
	pattern string
	who     audience
}

// serve adapts a handler to net/http: it enforces the audience, runs the
// handler and turns a returned error into the answer. It is the only place
// that writes an error response for a handler.
func (a *App) serve(who audience, h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if who.admits != nil {
			if currentUser(r.Context()) == nil {
				next := "/"
				if r.Method == http.MethodGet {
					next = r.URL.RequestURI()
				}
				http.Redirect(w, r, "/login?next="+url.QueryEscape(next), http.StatusSeeOther)
				return
			}
			if !who.admits(actorFrom(r.Context())) {
				a.writeError(w, r, errForbidden)
				return
			}
		}
		if a.policyGate(w, r) {
			return
		}
		sw := &startedWriter{ResponseWriter: w}
		if err := h(sw, r); err != nil {
			if sw.started {
				// Part of the answer is out (a download): it cannot
				// become an error page any more; the log says what broke.
				if r.Context().Err() == nil {
					a.log.Error("request failed after the answer started", "request_id", requestID(r.Context()), "route", r.Pattern, "err", err)
				}
				return
			}
			a.writeError(w, r, err)
		}
	})
}

// startedWriter notes whether the answer has begun.
type startedWriter struct {
	http.ResponseWriter
	started bool
}

func (w *startedWriter) WriteHeader(code int) {
	w.started = true
	w.ResponseWriter.WriteHeader(code)
}

func (w *startedWriter) Write(b []byte) (int, error) {
	w.started = true
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *startedWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// writeError answers err: a known error with its status and plain page;
// anything else is logged once, with the request id, and answered with a
// 500 page that reveals nothing.
func (a *App) writeError(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		// The client went away: nobody reads an answer, and it is not a
		// fault of ours. logRequests notes it once, at INFO.
		return
	}
	if to, ok := redirectOf(err); ok {
		http.Redirect(w, r, to, http.StatusSeeOther)
		return
	}
	e := classify(err)
	if e.Status >= http.StatusInternalServerError && e.Status != http.StatusServiceUnavailable {
		a.log.Error("request failed", "request_id", requestID(r.Context()), "route", r.Pattern, "err", err)
	}
	if e.RetryAfter > 0 {
		retryAfter(w, e.RetryAfter)
	}
	a.errorMessage(w, r, e)
}
