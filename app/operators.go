package app

import (
	"net/http"

	"kelas/store"
	"kelas/views"
)

// GET /console/operators
func (a *App) handleOperators(w http.ResponseWriter, r *http.Request) error {
	x := actorFrom(r.Context())
	v, err := a.operatorsView(r, x)
	if err != nil {
		return err
	}
	ids := make([]string, len(v.Operators))
	for i, o := range v.Operators {
		ids[i] = o.ID
	}
	if err := a.disclose(r, x, store.ViewStaffList, "", "@operator_list", ids...); err != nil {
		return err
	}
	return a.render(w, r, http.StatusOK, views.ConsoleOperators(a.page(r, tr(r, "operators.title")), v))
}

func (a *App) operatorsView(r *http.Request, x actor) (views.OperatorsConsole, error) {
	ops, err := a.store.Operators(r.Context())
	return views.OperatorsConsole{Nav: a.consoleNav(r.Context(), x), Operators: ops, CanManage: mayManageOperators(x), CanGrantDPO: x.isPrivacyOfficer(), Errors: views.Errors{}}, err
}

// POST /console/operators/invitations
func (a *App) handleInviteOperator(w http.ResponseWriter, r *http.Request) error {
	x := actorFrom(r.Context())
	f, err := parseForm(r)
	if err != nil {
		return err
	}
	email := f.email("email")
	role := f.choice("role", "fieldlabel.role", func(v string) bool { rr, ok := store.ParseRole(v); return ok && rr.IsOperator() }, true)
	dpo := f.checkbox("dpo")
	if dpo && !x.isPrivacyOfficer() {
		f.fail("dpo", tr(r, "operators.error.dpo_only"))
	}
	if f.Valid() {
		if _, err := a.stepUp(r.Context(), x.user, f); err != nil {
			return err
		}
	}
	if !f.Valid() {
		v, err := a.operatorsView(r, x)
		if err != nil {
			return err
		}
		v.InviteEmail, v.InviteRole, v.Errors = email, role, f.Errors
		return a.render(w, r, http.StatusUnprocessableEntity, views.ConsoleOperators(a.page(r, tr(r, "operators.title")), v))
	}
	if err := a.invite(r, store.Invitation{Role: store.Role(role), DPO: dpo, Email: email, InvitedBy: x.user.ID}, ""); err != nil {
		return err
	}
	a.redirect(w, r, "/console/operators", tr(r, "invitations.flash.sent"))
	return nil
}

// POST /console/operators/{uid}
func (a *App) handleSetOperator(w http.ResponseWriter, r *http.Request) error {
	x := actorFrom(r.Context())
	f, err := parseForm(r)
	if err != nil {
		return err
	}
	uid := r.PathValue("uid")
	role, okRole := store.ParseRole(f.raw("role"))
	if !okRole || !role.IsOperator() || !store.ValidID(uid) {
		return errBadRequest
	}
	dpo := f.checkbox("dpo")
	if !f.Valid() {
		return errBadRequest
	}
	if uid == x.user.ID && role != store.RoleOperator {
		a.redirect(w, r, "/console/operators", tr(r, "operators.flash.not_yourself"))
		return nil
	}
	target, err := a.store.User(r.Context(), uid)
	if err != nil || !target.Role.IsOperator() {
		return store.ErrNotFound
	}
	// The privacy-officer flag is given only by another privacy officer
	// (or from the command line): an operator cannot make themselves the
	// one who checks on operators.
	if dpo != target.DPO && (!x.isPrivacyOfficer() || (dpo && uid == x.user.ID)) {
		return errForbidden
	}
	if err := a.stepUpCheck(r, x.user, f); err != nil {
		return err
	}
	if err := a.store.SetOperatorRole(r.Context(), uid, role, dpo); err != nil {
		return err
	}
	if uid == x.user.ID {
		a.relogin(r)
	}
	a.auditReq(r, "operator.role", "user", uid, map[string]any{"role": string(role), "dpo": boolString(dpo)})
	a.redirect(w, r, "/console/operators", tr(r, "operators.flash.saved"))
	return nil
}
