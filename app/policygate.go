package app

import (
	"net/http"
	"net/url"
	"strings"
)

// policyGateOpen lists what a signed-in person may still use while a
// material change of the privacy policy waits for their answer: the
// notice and the acceptance page, the rights portal (export, erasure,
// objection), logging out and in, cookie choices, and pages that do not
// touch their data. Everything else leads to the acceptance page first.
var policyGateOpen = []string{"/privacy", "/rights", "/logout", "/login", "/cookies", "/static/", "/favicon.ico", "/logo",
	"/healthz", "/leaving", "/verify/", "/unsubscribe/", "/.well-known/", "/stats", "/certificates/", "/profile/2fa", "/setup/",
	"/email/", "/invite/", "/password/"}

func gateOpen(path string) bool {
	for _, p := range policyGateOpen {
		if path == p || strings.HasPrefix(path, p) && (strings.HasSuffix(p, "/") || path[len(p)] == '/') {
			return true
		}
	}
	return false
}

// policyGate sends a signed-in person who has not answered a material
// change of the policy to the acceptance page, from every page that
// processes their data; a form sent meanwhile is not acted on. It answers
// true when it has answered the request.
func (a *App) policyGate(w http.ResponseWriter, r *http.Request) bool {
	u := currentUser(r.Context())
	if u == nil || gateOpen(r.URL.Path) {
		return false
	}
	pa, err := a.store.PolicyToAccept(r.Context(), u.ID)
	if err != nil {
		a.writeError(w, r, err)
		return true
	}
	if !pa.Needed {
		return false
	}
	next := "/"
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		next = r.URL.RequestURI()
	}
	http.Redirect(w, r, "/privacy/accept?next="+url.QueryEscape(next), http.StatusSeeOther)
	return true
}
