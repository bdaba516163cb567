package app

import (
	"errors"
	"net/http"
	"net/url"

	"kelas/i18n"
	"kelas/store"
	"kelas/views"
)

// The confidentiality undertaking: Member staff and operators agree not to
// disclose what they see before they open anyone's learner record. The
// text is the operator's setting (or the catalogue's default); its version
// is a hash of the text, so a changed text is accepted again.

// undertakingText is the undertaking in force: the text shown in the
// reader's language (the operator's own text is shown as written) and the
// version an acceptance records.
func (a *App) undertakingText(r *http.Request) (text, version string, err error) {
	st, err := a.store.Settings(r.Context())
	if err != nil {
		return "", "", err
	}
	if own := st.Get(store.SettingConfidentialityText); own != "" {
		return own, store.UndertakingVersion(own), nil
	}
	// The default's version is that of its English text, whatever language
	// it is read in: a translation is the same undertaking.
	return tr(r, "undertaking.default_text"), store.UndertakingVersion(i18n.Get(i18n.Default).T("undertaking.default_text")), nil
}

// needsUndertaking reports whether x is someone the undertaking binds:
// Member staff and every operator role.
func needsUndertaking(x actor) bool { return x.user != nil && (x.isOperator() || x.staff != nil) }

// seeOther is an answer that sends the browser elsewhere instead of
// showing the page: serve answers it with 303 to its address.
type seeOther struct{ to string }

func (e *seeOther) Error() string { return "see other: " + e.to }

// redirectOf reports whether err asks to send the browser elsewhere.
func redirectOf(err error) (string, bool) {
	var s *seeOther
	if errors.As(err, &s) {
		return s.to, true
	}
	return "", false
}

// requireUndertaking is the gate before a learner's personal data: it
// answers nil when x has accepted the undertaking in force (or is not bound
// by it), and otherwise an error that sends them to accept it first and
// then back to the page they asked for.
func (a *App) requireUndertaking(r *http.Request, x actor) error {
	if !needsUndertaking(x) {
		return nil
	}
	_, version, err := a.undertakingText(r)
	if err != nil {
		return err
	}
	ok, err := a.store.AcceptedUndertaking(r.Context(), x.user.ID, version)
	if err != nil || ok {
		return err
	}
	next := "/console"
	if r.Method == http.MethodGet {
		next = r.URL.RequestURI()
	}
	return &seeOther{to: "/console/undertaking?next=" + url.QueryEscape(next)}
}

func (a *App) undertakingView(r *http.Request, x actor, next string) (views.UndertakingView, error) {
	text, version, err := a.undertakingText(r)
	if err != nil {
		return views.UndertakingView{}, err
	}
	v := views.UndertakingView{Nav: a.consoleNav(r.Context(), x), Text: text, Version: version, Next: next}
	last, err := a.store.LatestUndertaking(r.Context(), x.user.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return v, err
	default:
		v.Last = &last
	}
	if v.Accepted, err = a.store.AcceptedUndertaking(r.Context(), x.user.ID, version); err != nil {
		return v, err
	}
	return v, nil
}

// GET /console/undertaking
func (a *App) handleUndertaking(w http.ResponseWriter, r *http.Request) error {
	x := actorFrom(r.Context())
	next := ""
	if n := r.URL.Query().Get("next"); n != "" {
		next = safeNext(n)
	}
	v, err := a.undertakingView(r, x, next)
	if err != nil {
		return err
	}
	return a.render(w, r, http.StatusOK, views.ConsoleUndertaking(a.page(r, tr(r, "undertaking.title")), v))
}

// POST /console/undertaking
func (a *App) handleUndertakingAccept(w http.ResponseWriter, r *http.Request) error {
	x := actorFrom(r.Context())
	f, err := parseForm(r)
	if err != nil {
		return err
	}
	next := safeNext(f.raw("next"))
	accept := f.raw("accept") == "on"
	_, version, err := a.undertakingText(r)
	if err != nil {
		return err
	}
	// The form names the version read: a text changed meanwhile is shown
	// again rather than accepted unread.
	if f.raw("version") != version {
		f.fail("accept", tr(r, "undertaking.error.changed"))
	} else if !accept {
		f.fail("accept", tr(r, "undertaking.error.accept"))
	}
	if !f.Valid() {
		v, err := a.undertakingView(r, x, next)
		if err != nil {
			return err
		}
		if f.raw("next") == "" {
			v.Next = ""
		}
		v.Errors = f.Errors
		return a.render(w, r, http.StatusUnprocessableEntity, views.ConsoleUndertaking(a.page(r, tr(r, "undertaking.title")), v))
	}
	u, err := a.store.AcceptUndertaking(r.Context(), x.user.ID, version)
	if err != nil {
		return err
	}
	a.auditReq(r, "undertaking.accept", "user", x.user.ID, map[string]any{"version": u.Version})
	if f.raw("next") == "" {
		next = "/console/undertaking"
	}
	a.redirect(w, r, next, tr(r, "undertaking.flash.accepted"))
	return nil
}
