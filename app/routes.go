package app

import "net/http"

// routes is the only place URLs exist. Every page goes through the session
// middleware and a body limit; static files and the health check do not
// touch the session table.
func (a *App) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /static/", a.handleStatic)
	mux.HandleFunc("GET /healthz", a.handleHealth)
	mux.HandleFunc("GET /.well-known/gpc.json", a.handleGPC)

	page := func(pattern string, h http.HandlerFunc) {
		mux.Handle(pattern, a.withSession(a.withVisitor(a.limitBody(a.cfg.MaxFormBytes, h))))
	}
	page("GET /{$}", a.handleHome)
	page("GET /setup/{token}", a.handleSetupForm)
	page("POST /setup/{token}", a.handleSetup)
	page("GET /register", a.handleRegisterForm)
	page("POST /register", a.handleRegister)
	page("GET /verify/{token}", a.handleVerify)
	page("POST /verify/resend", a.handleVerifyResend)
	page("GET /login", a.handleLoginForm)
	page("POST /login", a.handleLogin)
	page("POST /logout", a.handleLogout)
	page("GET /password/forgot", a.handleForgotForm)
	page("POST /password/forgot", a.handleForgot)
	page("GET /password/reset/{token}", a.handleResetForm)
	page("POST /password/reset/{token}", a.handleReset)
	page("GET /profile", a.handleProfileForm)
	mux.Handle("POST /profile", a.withSession(a.withVisitor(a.limitBody(profileBodyBytes, http.HandlerFunc(a.handleProfile)))))
	page("GET /profile/picture", a.handleProfilePicture)
	page("GET /profile/password", a.handlePasswordForm)
	page("POST /profile/password", a.handlePasswordChange)
	page("GET /cookies", a.handleCookies)
	page("POST /cookies", a.handleCookiesSave)
	page("GET /stats", a.handleStats)
	page("GET /console/retention", a.handleRetention)
	page("POST /console/retention/rules", a.handleRetentionRules)
	page("POST /console/retention/holds", a.handleHoldCreate)
	page("POST /console/retention/holds/{id}/release", a.handleHoldRelease)
	page("GET /console/backups", a.handleBackups)
	page("POST /console/backups/run", a.handleBackupRun)
	page("GET /console/backups/{id}/download", a.handleBackupDownload)
	page("GET /console/audit", a.handleAuditLog)
	page("/", a.handleNotFound)

	return a.requestID(a.securityHeaders(a.recoverPanics(a.logRequests(a.accessLog(a.crossOrigin(mux))))))
}
