package app

import "net/http"

// routes is the only place URLs exist. Every page goes through the session
// middleware and a body limit; static files and the health check do not
// touch the session table.
func (a *App) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /static/", a.handleStatic)
	mux.HandleFunc("GET /healthz", a.handleHealth)

	page := func(pattern string, h http.HandlerFunc) {
		mux.Handle(pattern, a.withSession(a.limitBody(a.cfg.MaxFormBytes, h)))
	}
	page("GET /{$}", a.handleHome)
	page("GET /setup/{token}", a.handleSetupForm)
	page("POST /setup/{token}", a.handleSetup)
	page("/", a.handleNotFound)

	return a.requestID(a.securityHeaders(a.recoverPanics(a.logRequests(a.crossOrigin(mux)))))
}
