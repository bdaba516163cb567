package app

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"strings"
	"unicode/utf8"

	"kelas/i18n"
	"kelas/store"
	"kelas/views"
)

// suspendable is the account named by {uid} that an operator may suspend
// or reinstate: anyone but themselves and the operator roles (whose
// accounts are managed on the operators page).
func (a *App) suspendable(r *http.Request) (store.User, error) {
	u, err := load(r, "uid", a.store.User)
	if err != nil {
		return u, err
	}
	if u.Role.IsOperator() || u.ID == currentUser(r.Context()).ID {
		return u, errNotFound
	}
	return u, nil
}

// POST /console/learners/{uid}/suspend
func (a *App) handleSuspend(w http.ResponseWriter, r *http.Request) error {
	u, err := a.suspendable(r)
	if err != nil {
		return err
	}
	f, err := parseForm(r)
	if err != nil {
		return err
	}
	reason := strings.TrimSpace(strings.ReplaceAll(f.raw("reason"), "\r\n", "\n"))
	switch n := utf8.RuneCountInString(reason); {
	case !utf8.ValidString(reason):
		return &Error{Status: http.StatusUnprocessableEntity, Key: "error.suspend_reason", Link: "/console/learners/" + u.ID}
	case n < 10 || n > 1000:
		return &Error{Status: http.StatusUnprocessableEntity, Key: "error.suspend_reason", Link: "/console/learners/" + u.ID}
	}
	err = a.store.SuspendUser(r.Context(), currentUser(r.Context()).ID, u.ID, reason)
	if errors.Is(err, store.ErrConflict) {
		return &Error{Status: http.StatusConflict, Key: "error.already_suspended", Link: "/console/learners/" + u.ID}
	}
	if err != nil {
		return err
	}
	a.log.Info("account suspended", "user_id", u.ID)
	if err := a.mailSuspension(r.Context(), u, reason); err != nil {
		a.log.Error("suspension mail not queued", "user_id", u.ID, "err", err)
	}
	a.redirect(w, r, "/console/learners/"+u.ID, tr(r, "suspension.flash.suspended"))
	return nil
}

// POST /console/learners/{uid}/reinstate
func (a *App) handleReinstate(w http.ResponseWriter, r *http.Request) error {
	u, err := a.suspendable(r)
	if err != nil {
		return err
	}
	err = a.store.ReinstateUser(r.Context(), currentUser(r.Context()).ID, u.ID)
	if errors.Is(err, store.ErrConflict) {
		return &Error{Status: http.StatusConflict, Key: "error.not_suspended", Link: "/console/learners/" + u.ID}
	}
	if err != nil {
		return err
	}
	a.log.Info("account reinstated", "user_id", u.ID)
	if err := a.mailReinstated(r.Context(), u); err != nil {
		a.log.Error("reinstatement mail not queued", "user_id", u.ID, "err", err)
	}
	a.redirect(w, r, "/console/learners/"+u.ID, tr(r, "suspension.flash.reinstated"))
	return nil
}

// mailSuspension tells the person, in their language, that their account
// is suspended, why, and how to object.
func (a *App) mailSuspension(ctx context.Context, u store.User, reason string) error {
	st := a.siteSettings(ctx)
	p := i18n.NewPrinter(u.Language, nil, st.Get(store.SettingSiteName))
	contact := cmp.Or(st.Get(store.SettingDPOEmail), st.Get(store.SettingControllerEmail))
	paragraphs := []string{p.T("suspension.mail.reason", "reason", reason), p.T("suspension.mail.effect")}
	if contact != "" {
		paragraphs = append(paragraphs, p.T("suspension.mail.object_contact", "contact", contact))
	} else {
		paragraphs = append(paragraphs, p.T("suspension.mail.object"))
	}
	return a.accountMail(ctx, u.ID, u.Email, "suspension", p.T("suspension.mail.subject"), views.MailBody{
		Greeting: p.T("suspension.mail.greeting", "name", u.FirstName), Paragraphs: paragraphs,
		ActionLabel: p.T("suspension.mail.action"), ActionURL: a.cfg.PublicURL() + "/privacy"})
}

// mailReinstated tells the person their account works again.
func (a *App) mailReinstated(ctx context.Context, u store.User) error {
	st := a.siteSettings(ctx)
	p := i18n.NewPrinter(u.Language, nil, st.Get(store.SettingSiteName))
	return a.accountMail(ctx, u.ID, u.Email, "suspension", p.T("suspension.mail.reinstated_subject"), views.MailBody{
		Greeting: p.T("suspension.mail.greeting", "name", u.FirstName), Paragraphs: []string{p.T("suspension.mail.reinstated")},
		ActionLabel: p.T("suspension.mail.login"), ActionURL: a.cfg.PublicURL() + "/login"})
}

// suspendedMessage is what the login form says to someone who gave the
// right password of a suspended account: the reason and where to object;
// "" when the account is not suspended.
func (a *App) suspendedMessage(r *http.Request, u store.User) (string, error) {
	sp, err := a.store.SuspensionOf(r.Context(), u.ID)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	st := a.siteSettings(r.Context())
	if contact := cmp.Or(st.Get(store.SettingDPOEmail), st.Get(store.SettingControllerEmail)); contact != "" {
		return tr(r, "suspension.login", "reason", sp.Reason, "contact", contact), nil
	}
	return tr(r, "suspension.login_nocontact", "reason", sp.Reason), nil
}
