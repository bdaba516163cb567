package app

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"kelas/i18n"
	"kelas/store"
	"kelas/views"
)

// invitationTTL is how long an invitation link works.
const invitationTTL = 7 * 24 * time.Hour

// invite creates an invitation and mails its link.
func (a *App) invite(r *http.Request, inv store.Invitation, memberName string) error {
	token, err := a.store.CreateInvitation(r.Context(), inv, invitationTTL)
	if err != nil {
		return err
	}
	link := a.cfg.PublicURL() + "/invite/" + token
	if !a.mailOn {
		a.printLink("invitation", link)
	}
	a.auditReq(r, "invitation.create", "member", inv.MemberID, map[string]any{"role": string(inv.Role)})
	// The address has no account yet: the mail speaks the inviter's
	// language.
	ctx, p := a.mailForAddress(r.Context())
	body := p.T("mail.invitation.body", "role", roleLabel(ctx, inv.Role))
	if memberName != "" {
		body = p.T("mail.invitation.body_member", "role", roleLabel(ctx, inv.Role), "member", memberName)
	}
	return a.accountMail(ctx, "", inv.Email, "invitation", p.T("mail.invitation.subject"), views.MailBody{
		Greeting:    p.T("mail.greeting_anonymous"),
		Paragraphs:  []string{body},
		ActionLabel: p.T("mail.invitation.action"),
		ActionURL:   link,
		After:       []string{p.T("mail.invitation.after")},
	}, mailLink{expires: a.clock().Add(invitationTTL)})
}

// roleLabel names the role an invitation gives, in the language ctx
// speaks.
func roleLabel(ctx context.Context, r store.Role) string {
	p := i18n.From(ctx)
	switch r {
	case store.RoleMemberAdmin:
		return p.T("invitations.role.member_admin")
	case store.RoleMemberStaff:
		return p.T("invitations.role.member_staff")
	case store.RoleOperator:
		return p.T("invitations.role.operator")
	case store.RoleConsultant:
		return p.T("invitations.role.consultant")
	case store.RoleBackoffice:
		return p.T("invitations.role.backoffice")
	}
	return string(r)
}

// GET /invite/{token}
func (a *App) handleInvite(w http.ResponseWriter, r *http.Request) error {
	inv, v, err := a.invitation(r)
	if err != nil {
		return err
	}
	_ = inv
	return a.render(w, r, http.StatusOK, views.InvitePage(a.page(r, tr(r, "invitations.title")), v))
}

// invitation loads the live invitation in the path; an expired or used one
// is answered with a clear page.
func (a *App) invitation(r *http.Request) (store.Invitation, views.InviteAccept, error) {
	token := r.PathValue("token")
	inv := store.Invitation{}
	err := store.ErrTokenInvalid
	if validToken(token) {
		inv, err = a.store.InvitationByToken(r.Context(), token)
	}
	if errors.Is(err, store.ErrTokenInvalid) {
		return inv, views.InviteAccept{}, &Error{Status: http.StatusGone, Key: "error.invitation_gone"}
	}
	if err != nil {
		return inv, views.InviteAccept{}, err
	}
	v := views.InviteAccept{Action: "/invite/" + token, Email: inv.Email, RoleLabel: roleLabel(r.Context(), inv.Role), Errors: views.Errors{}}
	if inv.MemberID != "" {
		m, err := a.store.Member(r.Context(), inv.MemberID)
		if err != nil {
			return inv, v, err
		}
		v.MemberName = m.Name
	}
	_, err = a.store.UserByEmail(r.Context(), inv.Email)
	switch {
	case err == nil:
		v.HasAccount = true
	case !errors.Is(err, store.ErrNotFound):
		return inv, v, err
	}
	if u := currentUser(r.Context()); u != nil {
		v.LoggedInAs = u.Email
	}
	return inv, v, nil
}

// POST /invite/{token}
func (a *App) handleAcceptInvite(w http.ResponseWriter, r *http.Request) error {
	inv, v, err := a.invitation(r)
	if err != nil {
		return err
	}
	token := r.PathValue("token")
	if v.HasAccount {
		u := currentUser(r.Context())
		if u == nil || !strings.EqualFold(u.Email, inv.Email) {
			return errForbidden
		}
		if err := a.store.AcceptInvitation(r.Context(), token, u.ID); err != nil {
			return err
		}
		a.relogin(r)
		a.redirect(w, r, "/console", tr(r, "invitations.flash.role_active"))
		return nil
	}
	f, err := parseForm(r)
	if err != nil {
		return err
	}
	v.FirstName = f.text("first_name", "fieldlabel.first_name", 1, 100)
	v.Surname = f.text("surname", "fieldlabel.surname", 1, 100)
	password := f.newPassword("password", true, v.FirstName, v.Surname, inv.Email)
	if !f.Valid() {
		v.Errors = f.Errors
		return a.render(w, r, http.StatusUnprocessableEntity, views.InvitePage(a.page(r, tr(r, "invitations.title")), v))
	}
	hash, err := a.hasher.hash(r.Context(), password)
	if err != nil {
		return err
	}
	u, err := a.store.CreateUser(r.Context(), store.NewUser{Email: inv.Email, FirstName: v.FirstName, Surname: v.Surname,
		PasswordHash: hash, Role: store.RoleLearner, Verified: true, Language: pageLanguage(r)})
	if err != nil {
		return err
	}
	if err := a.store.AcceptInvitation(r.Context(), token, u.ID); err != nil {
		return err
	}
	if u, err = a.store.User(r.Context(), u.ID); err != nil {
		return err
	}
	if err := a.logIn(r.Context(), u); err != nil {
		return err
	}
	a.log.Info("invitation accepted", "user_id", u.ID)
	a.redirect(w, r, "/profile/2fa", tr(r, "invitations.flash.account_ready"))
	return nil
}
