package app

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/a-h/templ"

	"kelas/store"
	"kelas/views"
)

// render writes a component with status. It renders into a buffer first so
// a failing component never leaves a half-written page with a 200.
func (a *App) render(w http.ResponseWriter, r *http.Request, status int, c templ.Component) error {
	buf, _ := a.renderBuffers.Get().(*bytes.Buffer)
	if buf == nil {
		buf = new(bytes.Buffer)
	}
	defer a.putRenderBuffer(buf)
	// Components do no I/O, so rendering finishes even when the request's
	// context ended (a client gone, a body that stopped arriving): the
	// answer is written if anyone still reads it.
	if err := c.Render(context.WithoutCancel(r.Context()), buf); err != nil {
		return fmt.Errorf("render: %w", err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(buf.Bytes())
	}
	return nil
}

// putRenderBuffer returns buf to App.renderBuffers, emptied, unless it grew
// unusually large.
func (a *App) putRenderBuffer(buf *bytes.Buffer) {
	if buf.Cap() > 1<<20 {
		return
	}
	buf.Reset()
	a.renderBuffers.Put(buf)
}

// page builds the layout model: title, the signed-in person, a pending flash.
func (a *App) page(r *http.Request, title string) views.Page {
	p := views.Page{Title: title, Now: a.clock().UTC(), CSS: a.asset("kelas.css"), Icon: a.asset("favicon.ico"), Consent: a.pageConsent(r),
		Path: pagePath(r)}
	st := a.siteSettings(r.Context())
	p.Controller, p.ControllerEmail = st.Get(store.SettingControllerName), st.Get(store.SettingControllerEmail)
	if u := currentUser(r.Context()); u != nil {
		p.User = &views.PageUser{Name: u.FirstName, IsOperator: u.Role.IsOperator(),
			IsStaff: u.Role == store.RoleMemberStaff || u.Role == store.RoleMemberAdmin, Unverified: !u.Verified()}
	}
	if u := currentUser(r.Context()); u != nil && mayManageOperators(actor{user: u}) && strings.HasPrefix(r.URL.Path, "/console") &&
		r.URL.Path != "/console/settings" {
		p.SetupNeeded = !a.siteSettings(r.Context()).ControllerComplete()
	}
	if sessionLoaded(r.Context()) {
		p.Flash = a.sessions.PopString(r.Context(), "flash")
	}
	return p
}

// redirect answers a successful POST with 303 and a flash for the next page.
func (a *App) redirect(w http.ResponseWriter, r *http.Request, to, flash string) {
	if flash != "" {
		a.sessions.Put(r.Context(), "flash", flash)
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// pagePath is the request's path and query without the language
// parameters, for the language switcher.
func pagePath(r *http.Request) string {
	q := r.URL.Query()
	if !q.Has("lang") && !q.Has("remember") {
		return r.URL.RequestURI()
	}
	q.Del("lang")
	q.Del("remember")
	if len(q) == 0 {
		return r.URL.Path
	}
	return r.URL.Path + "?" + q.Encode()
}
