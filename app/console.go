package app

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"kelas/store"
	"kelas/views"
)

// invitationTTL is how long an invitation link works.
const invitationTTL = 7 * 24 * time.Hour

// consoleActor requires a signed-in person who may use the console.
func (a *App) consoleActor(w http.ResponseWriter, r *http.Request) (actor, bool) {
	if a.requireUser(w, r) == nil {
		return actor{}, false
	}
	x := actorFrom(r.Context())
	if !mayUseConsole(x) {
		a.fail(w, r, errForbidden)
		return x, false
	}
	return x, true
}

// navFor is the console navigation an actor may use, without counts.
func navFor(x actor) views.ConsoleNav {
	n := views.ConsoleNav{Operator: x.isOperator(), ManageMembers: mayManageMembers(x), ManageOps: mayManageOperators(x),
		Operations: mayRunOperations(x)}
	if x.user != nil {
		n.PrivacyOfficer = x.isOperator() && x.user.DPO
	}
	if x.staff != nil {
		n.MemberID, n.MemberAdmin = x.staff.MemberID, x.staff.Role == store.RoleMemberAdmin
	}
	return n
}

// GET /console
func (a *App) handleConsole(w http.ResponseWriter, r *http.Request) {
	x, ok := a.consoleActor(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	v := views.DashboardConsole{Nav: a.consoleNav(r.Context(), x)}
	memberID := ""
	if !x.isOperator() {
		memberID = x.staff.MemberID
	}
	grants, err := a.store.Grants(ctx, memberID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	active := 0
	for _, g := range grants {
		if g.ActiveAt(a.clock()) {
			active++
		}
	}
	pending, err := a.store.PendingInvitations(ctx, memberID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	v.Attention = append(v.Attention,
		views.Attention{Label: "Active access grants", Count: active, Link: "/console/grants", Level: "ok"},
		views.Attention{Label: "Invitations waiting", Count: pending, Level: "ok"})
	if mayViewOutbox(x) {
		st, err := a.store.OutboxStats(ctx)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		level := "ok"
		if st.Failed > 0 {
			level = "alert"
		}
		v.Attention = append(v.Attention, views.Attention{Label: "Mails failed", Count: st.Failed, Link: "/console/outbox", Level: level})
		level = "ok"
		if st.Queued > 0 && !st.OldestQueued.IsZero() && a.clock().Sub(st.OldestQueued) > time.Hour {
			level = "warn"
		}
		v.Attention = append(v.Attention, views.Attention{Label: "Mails waiting to be sent", Count: st.Queued, Link: "/console/outbox", Level: level})
	}
	if mayRunOperations(x) {
		ops, err := a.operationsAttention(ctx)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		v.Attention = append(v.Attention, ops...)
	}
	if mayHandleRights(x) {
		p, err := a.privacyAttention(ctx)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		v.Privacy = &p
	}
	if mayRunOperations(x) && a.cfg.Domain != "" {
		certs, err := a.certAttention(ctx)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		v.Attention = append(v.Attention, certs...)
	}
	a.render(w, r, http.StatusOK, views.ConsoleDashboard(a.page(r, "Console"), v))
}

// GET /console/members
func (a *App) handleMembers(w http.ResponseWriter, r *http.Request) {
	x, ok := a.consoleActor(w, r)
	if !ok {
		return
	}
	if !x.isOperator() {
		a.fail(w, r, errForbidden)
		return
	}
	ms, err := a.store.Members(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.render(w, r, http.StatusOK, views.ConsoleMembers(a.page(r, "Members"), views.MembersConsole{Nav: a.consoleNav(r.Context(), x), Members: ms}))
}

func readMemberForm(f *form) (views.MemberForm, store.MemberInput) {
	vm := views.MemberForm{
		Name:    f.text("name", "Name", 2, 200),
		Country: f.choice("country", "country", store.ValidCountry, false),
		Kind:    f.choice("kind", "kind", store.ValidMemberKind, true),
		Active:  f.checkbox("active"),
	}
	return vm, store.MemberInput{Name: vm.Name, Country: vm.Country, Kind: vm.Kind, Active: vm.Active}
}

// GET /console/members/new
func (a *App) handleNewMember(w http.ResponseWriter, r *http.Request) {
	x, ok := a.consoleActor(w, r)
	if !ok {
		return
	}
	if !mayManageMembers(x) {
		a.fail(w, r, errForbidden)
		return
	}
	a.render(w, r, http.StatusOK, views.ConsoleNewMember(a.page(r, "New Member"), views.NewMemberConsole{Nav: a.consoleNav(r.Context(), x),
		Form: views.MemberForm{Action: "/console/members", Active: true, Countries: countryOptions()}}))
}

// POST /console/members
func (a *App) handleCreateMember(w http.ResponseWriter, r *http.Request) {
	x, ok := a.consoleActor(w, r)
	if !ok {
		return
	}
	if !mayManageMembers(x) {
		a.fail(w, r, errForbidden)
		return
	}
	f, err := parseForm(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	vm, in := readMemberForm(f)
	var m store.Member
	if f.Valid() {
		m, err = a.store.CreateMember(r.Context(), in)
		if errors.Is(err, store.ErrConflict) {
			f.fail("name", "A Member with this name exists already.")
		} else if err != nil {
			a.fail(w, r, err)
			return
		}
	}
	if !f.Valid() {
		vm.Action, vm.Countries, vm.Errors = "/console/members", countryOptions(), f.Errors
		a.render(w, r, http.StatusUnprocessableEntity, views.ConsoleNewMember(a.page(r, "New Member"), views.NewMemberConsole{Nav: a.consoleNav(r.Context(), x), Form: vm}))
		return
	}
	a.auditReq(r, "member.create", "member", m.ID, nil)
	a.redirect(w, r, "/console/members/"+m.ID, "The Member is saved.")
}

// consoleMember loads the Member in the path for someone who may see it;
// other Members are 404 for staff.
func (a *App) consoleMember(w http.ResponseWriter, r *http.Request) (store.Member, actor, bool) {
	x, ok := a.consoleActor(w, r)
	if !ok {
		return store.Member{}, x, false
	}
	id := r.PathValue("id")
	if !store.ValidID(id) || !mayViewMember(x, id) {
		a.fail(w, r, store.ErrNotFound)
		return store.Member{}, x, false
	}
	m, err := a.store.Member(r.Context(), id)
	if err != nil {
		a.fail(w, r, err)
		return m, x, false
	}
	return m, x, true
}

// staffManager loads the Member in the path for someone who may manage its
// staff.
func (a *App) staffManager(w http.ResponseWriter, r *http.Request) (store.Member, actor, bool) {
	m, x, ok := a.consoleMember(w, r)
	if ok && !mayManageStaffOf(x, m.ID) {
		a.fail(w, r, errForbidden)
		return m, x, false
	}
	return m, x, ok
}

func (a *App) memberView(r *http.Request, x actor, m store.Member) (views.MemberConsole, error) {
	v := views.MemberConsole{Nav: a.consoleNav(r.Context(), x), Member: m, CanEdit: mayManageMembers(x), CanStaff: mayManageStaffOf(x, m.ID),
		Form: views.MemberForm{Action: "/console/members/" + m.ID, Name: m.Name, Country: m.Country, Kind: m.Kind, Active: m.Active,
			Countries: countryOptions()}, Errors: views.Errors{}}
	var err error
	if v.Staff, err = a.store.MemberStaff(r.Context(), m.ID); err != nil {
		return v, err
	}
	for _, s := range v.Staff {
		if s.Role == store.RoleMemberAdmin {
			v.Admins++
		}
	}
	v.Pending, err = a.store.PendingInvitations(r.Context(), m.ID)
	return v, err
}

// GET /console/members/{id}
func (a *App) handleMember(w http.ResponseWriter, r *http.Request) {
	m, x, ok := a.consoleMember(w, r)
	if !ok {
		return
	}
	v, err := a.memberView(r, x, m)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	ids := make([]string, len(v.Staff))
	for i, s := range v.Staff {
		ids[i] = s.UserID
	}
	if err := a.disclose(r, x, store.ViewStaffList, "", "the staff list of "+m.Name, ids...); err != nil {
		a.fail(w, r, err)
		return
	}
	a.render(w, r, http.StatusOK, views.ConsoleMember(a.page(r, m.Name), v))
}

// POST /console/members/{id}
func (a *App) handleUpdateMember(w http.ResponseWriter, r *http.Request) {
	m, x, ok := a.consoleMember(w, r)
	if !ok {
		return
	}
	if !mayManageMembers(x) {
		a.fail(w, r, errForbidden)
		return
	}
	f, err := parseForm(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	vm, in := readMemberForm(f)
	if f.Valid() {
		err = a.store.UpdateMember(r.Context(), m.ID, in)
		if errors.Is(err, store.ErrConflict) {
			f.fail("name", "A Member with this name exists already.")
		} else if err != nil {
			a.fail(w, r, err)
			return
		}
	}
	if !f.Valid() {
		v, err := a.memberView(r, x, m)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		vm.Action, vm.Countries, vm.Errors = v.Form.Action, v.Form.Countries, f.Errors
		v.Form = vm
		a.render(w, r, http.StatusUnprocessableEntity, views.ConsoleMember(a.page(r, m.Name), v))
		return
	}
	a.auditReq(r, "member.update", "member", m.ID, map[string]any{"active": boolString(in.Active)})
	a.redirect(w, r, "/console/members/"+m.ID, "The Member is saved.")
}

// POST /console/members/{id}/invitations
func (a *App) handleInviteStaff(w http.ResponseWriter, r *http.Request) {
	m, x, ok := a.staffManager(w, r)
	if !ok {
		return
	}
	f, err := parseForm(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	email := f.email("email")
	role := f.choice("role", "role", func(v string) bool { return v == string(store.RoleMemberStaff) || v == string(store.RoleMemberAdmin) }, true)
	if !f.Valid() {
		v, err := a.memberView(r, x, m)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		v.InviteEmail, v.InviteRole, v.Errors = email, role, f.Errors
		a.render(w, r, http.StatusUnprocessableEntity, views.ConsoleMember(a.page(r, m.Name), v))
		return
	}
	if err := a.invite(r, store.Invitation{MemberID: m.ID, Role: store.Role(role), Email: email, InvitedBy: x.user.ID}, m.Name); err != nil {
		a.fail(w, r, err)
		return
	}
	a.redirect(w, r, "/console/members/"+m.ID, "The invitation is on its way. The link works once, for 7 days.")
}

// invite creates an invitation and mails its link.
func (a *App) invite(r *http.Request, inv store.Invitation, memberName string) error {
	token, err := a.store.CreateInvitation(r.Context(), inv, invitationTTL)
	if err != nil {
		return err
	}
	what := roleLabel(inv.Role)
	if memberName != "" {
		what += " of " + memberName
	}
	link := a.cfg.PublicURL() + "/invite/" + token
	if !a.mailOn {
		a.printLink("invitation", link)
	}
	a.auditReq(r, "invitation.create", "member", inv.MemberID, map[string]any{"role": string(inv.Role)})
	return a.accountMail(r.Context(), "", inv.Email, "invitation", "You are invited to kelas", views.MailBody{
		Greeting:    "Hello,",
		Paragraphs:  []string{"You are invited to kelas as " + what + ". The link works once, for 7 days."},
		ActionLabel: "Accept the invitation",
		ActionURL:   link,
		After:       []string{"If you did not expect this, ignore this message."},
	}, mailLink{expires: a.clock().Add(invitationTTL)})
}

func roleLabel(r store.Role) string {
	switch r {
	case store.RoleMemberAdmin:
		return "Member admin"
	case store.RoleMemberStaff:
		return "staff"
	case store.RoleBackoffice:
		return "back-office operator"
	}
	return string(r)
}

// POST /console/members/{id}/staff/{uid}
func (a *App) handleSetStaffRole(w http.ResponseWriter, r *http.Request) {
	m, x, ok := a.staffManager(w, r)
	if !ok {
		return
	}
	f, err := parseForm(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	uid := r.PathValue("uid")
	role := f.raw("role")
	if role != string(store.RoleMemberStaff) && role != string(store.RoleMemberAdmin) {
		a.fail(w, r, errBadRequest)
		return
	}
	st, err := a.store.StaffOf(r.Context(), uid)
	if err != nil || st.MemberID != m.ID {
		a.fail(w, r, store.ErrNotFound)
		return
	}
	if st.Role == store.RoleMemberAdmin && role != string(store.RoleMemberAdmin) && !a.lastAdminConfirmed(w, r, m, f) {
		return
	}
	if !a.stepUpOrRefuse(w, r, x.user, f) {
		return
	}
	if err := a.store.SetStaff(r.Context(), uid, m.ID, store.Role(role)); err != nil {
		a.fail(w, r, err)
		return
	}
	if uid == x.user.ID {
		a.relogin(r)
	}
	a.auditReq(r, "staff.role", "user", uid, map[string]any{"role": role, "member": m.ID})
	a.redirect(w, r, "/console/members/"+m.ID, "The role is changed.")
}

// POST /console/members/{id}/staff/{uid}/remove
func (a *App) handleRemoveStaff(w http.ResponseWriter, r *http.Request) {
	m, x, ok := a.staffManager(w, r)
	if !ok {
		return
	}
	uid := r.PathValue("uid")
	if !store.ValidID(uid) {
		a.fail(w, r, store.ErrNotFound)
		return
	}
	st, err := a.store.StaffOf(r.Context(), uid)
	if err != nil || st.MemberID != m.ID {
		a.fail(w, r, store.ErrNotFound)
		return
	}
	f, err := parseForm(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if st.Role == store.RoleMemberAdmin && !a.lastAdminConfirmed(w, r, m, f) {
		return
	}
	if !a.stepUpOrRefuse(w, r, x.user, f) {
		return
	}
	if err := a.store.RemoveStaff(r.Context(), m.ID, uid); err != nil {
		a.fail(w, r, err)
		return
	}
	a.auditReq(r, "staff.remove", "user", uid, map[string]any{"member": m.ID})
	a.redirect(w, r, "/console/members/"+m.ID, "The person no longer works for this Member in kelas.")
}

// GET /console/operators
func (a *App) handleOperators(w http.ResponseWriter, r *http.Request) {
	x, ok := a.consoleActor(w, r)
	if !ok {
		return
	}
	if !mayViewOperators(x) {
		a.fail(w, r, errForbidden)
		return
	}
	v, err := a.operatorsView(r, x)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	ids := make([]string, len(v.Operators))
	for i, o := range v.Operators {
		ids[i] = o.ID
	}
	if err := a.disclose(r, x, store.ViewStaffList, "", "the list of operators", ids...); err != nil {
		a.fail(w, r, err)
		return
	}
	a.render(w, r, http.StatusOK, views.ConsoleOperators(a.page(r, "Operators"), v))
}

func (a *App) operatorsView(r *http.Request, x actor) (views.OperatorsConsole, error) {
	ops, err := a.store.Operators(r.Context())
	return views.OperatorsConsole{Nav: a.consoleNav(r.Context(), x), Operators: ops, CanManage: mayManageOperators(x), CanGrantDPO: x.isPrivacyOfficer(), Errors: views.Errors{}}, err
}

// POST /console/operators/invitations
func (a *App) handleInviteOperator(w http.ResponseWriter, r *http.Request) {
	x, ok := a.consoleActor(w, r)
	if !ok {
		return
	}
	if !mayManageOperators(x) {
		a.fail(w, r, errForbidden)
		return
	}
	f, err := parseForm(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	email := f.email("email")
	role := f.choice("role", "role", func(v string) bool { rr, ok := store.ParseRole(v); return ok && rr.IsOperator() }, true)
	dpo := f.checkbox("dpo")
	if dpo && !x.isPrivacyOfficer() {
		f.fail("dpo", "Only a privacy officer can make someone a privacy officer.")
	}
	if f.Valid() {
		if _, err := a.stepUp(r.Context(), x.user, f); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	if !f.Valid() {
		v, err := a.operatorsView(r, x)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		v.InviteEmail, v.InviteRole, v.Errors = email, role, f.Errors
		a.render(w, r, http.StatusUnprocessableEntity, views.ConsoleOperators(a.page(r, "Operators"), v))
		return
	}
	if err := a.invite(r, store.Invitation{Role: store.Role(role), DPO: dpo, Email: email, InvitedBy: x.user.ID}, ""); err != nil {
		a.fail(w, r, err)
		return
	}
	a.redirect(w, r, "/console/operators", "The invitation is on its way. The link works once, for 7 days.")
}

// POST /console/operators/{uid}
func (a *App) handleSetOperator(w http.ResponseWriter, r *http.Request) {
	x, ok := a.consoleActor(w, r)
	if !ok {
		return
	}
	if !mayManageOperators(x) {
		a.fail(w, r, errForbidden)
		return
	}
	f, err := parseForm(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	uid := r.PathValue("uid")
	role, okRole := store.ParseRole(f.raw("role"))
	if !okRole || !role.IsOperator() || !store.ValidID(uid) {
		a.fail(w, r, errBadRequest)
		return
	}
	dpo := f.checkbox("dpo")
	if !f.Valid() {
		a.fail(w, r, errBadRequest)
		return
	}
	if uid == x.user.ID && role != store.RoleOperator {
		a.redirect(w, r, "/console/operators", "You cannot take the operator role from yourself; ask another operator.")
		return
	}
	target, err := a.store.User(r.Context(), uid)
	if err != nil || !target.Role.IsOperator() {
		a.fail(w, r, store.ErrNotFound)
		return
	}
	// The privacy-officer flag is given only by another privacy officer
	// (or from the command line): an operator cannot make themselves the
	// one who checks on operators.
	if dpo != target.DPO && (!x.isPrivacyOfficer() || (dpo && uid == x.user.ID)) {
		a.fail(w, r, errForbidden)
		return
	}
	if !a.stepUpOrRefuse(w, r, x.user, f) {
		return
	}
	if err := a.store.SetOperatorRole(r.Context(), uid, role, dpo); err != nil {
		a.fail(w, r, err)
		return
	}
	if uid == x.user.ID {
		a.relogin(r)
	}
	a.auditReq(r, "operator.role", "user", uid, map[string]any{"role": string(role), "dpo": boolString(dpo)})
	a.redirect(w, r, "/console/operators", "The operator's role is saved.")
}

// GET /console/outbox
func (a *App) handleOutbox(w http.ResponseWriter, r *http.Request) {
	x, ok := a.consoleActor(w, r)
	if !ok {
		return
	}
	if !mayViewOutbox(x) {
		a.fail(w, r, errForbidden)
		return
	}
	st, err := a.store.OutboxStats(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	mails, err := a.store.OutboxMails(r.Context(), 100)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.render(w, r, http.StatusOK, views.ConsoleOutbox(a.page(r, "Mail outbox"), views.OutboxConsole{Nav: a.consoleNav(r.Context(), x), Stats: st, Mails: mails, NoSMTP: !a.mailOn}))
}

// GET /invite/{token}
func (a *App) handleInvite(w http.ResponseWriter, r *http.Request) {
	inv, v, ok := a.invitation(w, r)
	if !ok {
		return
	}
	_ = inv
	a.render(w, r, http.StatusOK, views.InvitePage(a.page(r, "Invitation"), v))
}

// invitation loads the live invitation in the path, or answers with a
// clear page for an expired or used one.
func (a *App) invitation(w http.ResponseWriter, r *http.Request) (store.Invitation, views.InviteAccept, bool) {
	token := r.PathValue("token")
	inv := store.Invitation{}
	err := store.ErrTokenInvalid
	if validToken(token) {
		inv, err = a.store.InvitationByToken(r.Context(), token)
	}
	if errors.Is(err, store.ErrTokenInvalid) {
		a.notice(w, r, http.StatusGone, views.Notice{Heading: "This invitation link is not valid",
			Message: "It has been used already or has expired (invitations work for 7 days). Ask the person who invited you to send a new one."})
		return inv, views.InviteAccept{}, false
	}
	if err != nil {
		a.fail(w, r, err)
		return inv, views.InviteAccept{}, false
	}
	v := views.InviteAccept{Action: "/invite/" + token, Email: inv.Email, RoleLabel: roleLabel(inv.Role), Errors: views.Errors{}}
	if inv.MemberID != "" {
		m, err := a.store.Member(r.Context(), inv.MemberID)
		if err != nil {
			a.fail(w, r, err)
			return inv, v, false
		}
		v.MemberName = m.Name
	}
	_, err = a.store.UserByEmail(r.Context(), inv.Email)
	switch {
	case err == nil:
		v.HasAccount = true
	case !errors.Is(err, store.ErrNotFound):
		a.fail(w, r, err)
		return inv, v, false
	}
	if u := currentUser(r.Context()); u != nil {
		v.LoggedInAs = u.Email
	}
	return inv, v, true
}

// POST /invite/{token}
func (a *App) handleAcceptInvite(w http.ResponseWriter, r *http.Request) {
	inv, v, ok := a.invitation(w, r)
	if !ok {
		return
	}
	token := r.PathValue("token")
	if v.HasAccount {
		u := currentUser(r.Context())
		if u == nil || !strings.EqualFold(u.Email, inv.Email) {
			a.fail(w, r, errForbidden)
			return
		}
		if err := a.store.AcceptInvitation(r.Context(), token, u.ID); err != nil {
			a.fail(w, r, err)
			return
		}
		a.relogin(r)
		a.redirect(w, r, "/console", "Welcome: your new role is active.")
		return
	}
	f, err := parseForm(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	v.FirstName = f.text("first_name", "First name", 1, 100)
	v.Surname = f.text("surname", "Surname", 1, 100)
	password := f.newPassword("password", true, v.FirstName, v.Surname, inv.Email)
	if !f.Valid() {
		v.Errors = f.Errors
		a.render(w, r, http.StatusUnprocessableEntity, views.InvitePage(a.page(r, "Invitation"), v))
		return
	}
	hash, err := a.hasher.hash(r.Context(), password)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	u, err := a.store.CreateUser(r.Context(), store.NewUser{Email: inv.Email, FirstName: v.FirstName, Surname: v.Surname,
		PasswordHash: hash, Role: store.RoleLearner, Verified: true})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if err := a.store.AcceptInvitation(r.Context(), token, u.ID); err != nil {
		a.fail(w, r, err)
		return
	}
	if u, err = a.store.User(r.Context(), u.ID); err != nil {
		a.fail(w, r, err)
		return
	}
	if err := a.logIn(r.Context(), u); err != nil {
		a.fail(w, r, err)
		return
	}
	a.log.Info("invitation accepted", "user_id", u.ID)
	a.redirect(w, r, "/profile/2fa", "Welcome to kelas: your account is ready. Set up two-factor authentication to continue.")
}

// lastAdminConfirmed lets a Member lose its last admin only when the form
// says so (confirm_last_admin): otherwise it answers with the warning and
// nothing changes.
func (a *App) lastAdminConfirmed(w http.ResponseWriter, r *http.Request, m store.Member, f *form) bool {
	n, err := a.store.MemberAdmins(r.Context(), m.ID)
	if err != nil {
		a.fail(w, r, err)
		return false
	}
	if n > 1 || f.raw("confirm_last_admin") == "on" {
		return true
	}
	a.notice(w, r, http.StatusConflict, views.Notice{Heading: "This is the Member's last admin",
		Message: "Without an admin nobody at " + m.Name + " can invite or manage its staff. Nothing was changed. " +
			"To go ahead anyway, tick \"Leave the Member without an admin\" beside the change and send it again.",
		LinkURL: "/console/members/" + m.ID, LinkLabel: "Back to the Member"})
	return false
}

// stepUpOrRefuse asks for the second factor before a role or grant change;
// a missing or wrong code is answered (422) and false returned.
func (a *App) stepUpOrRefuse(w http.ResponseWriter, r *http.Request, u *store.User, f *form) bool {
	ok, err := a.stepUp(r.Context(), u, f)
	if err != nil {
		a.fail(w, r, err)
		return false
	}
	if !ok {
		a.codeRefused(w, r, f)
	}
	return ok
}

// relogin renews the signed-in person's session after their own privileges
// changed (the store moved their session epoch).
func (a *App) relogin(r *http.Request) {
	u := currentUser(r.Context())
	if u == nil {
		return
	}
	if nu, err := a.store.User(r.Context(), u.ID); err == nil {
		if err := a.logIn(r.Context(), nu); err != nil {
			a.log.Error("session renewal failed", "user_id", u.ID, "err", err)
		}
	}
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// auditReq audits an action of the signed-in person.
func (a *App) auditReq(r *http.Request, action, targetType, targetID string, details map[string]any) {
	actorID := ""
	if u := currentUser(r.Context()); u != nil {
		actorID = u.ID
	}
	a.audit(r.Context(), actorID, action, targetType, targetID, details)
}
