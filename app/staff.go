package app

import (
	"net/http"

	"kelas/store"
	"kelas/views"
)

// staffManager loads the Member in the path for someone who may manage its
// staff.
func (a *App) staffManager(r *http.Request) (store.Member, actor, error) {
	m, x, err := a.consoleMember(r)
	if err == nil && !mayManageStaffOf(x, m.ID) {
		err = errForbidden
	}
	return m, x, err
}

// POST /console/members/{id}/invitations
func (a *App) handleInviteStaff(w http.ResponseWriter, r *http.Request) error {
	m, x, err := a.staffManager(r)
	if err != nil {
		return err
	}
	f, err := parseForm(r)
	if err != nil {
		return err
	}
	email := f.email("email")
	role := f.choice("role", "fieldlabel.role", func(v string) bool { return v == string(store.RoleMemberStaff) || v == string(store.RoleMemberAdmin) }, true)
	if !f.Valid() {
		v, err := a.memberView(r, x, m)
		if err != nil {
			return err
		}
		v.InviteEmail, v.InviteRole, v.Errors = email, role, f.Errors
		return a.render(w, r, http.StatusUnprocessableEntity, views.ConsoleMember(a.page(r, m.Name), v))
	}
	if err := a.invite(r, store.Invitation{MemberID: m.ID, Role: store.Role(role), Email: email, InvitedBy: x.user.ID}, m.Name); err != nil {
		return err
	}
	a.redirect(w, r, "/console/members/"+m.ID, tr(r, "invitations.flash.sent"))
	return nil
}

// POST /console/members/{id}/staff/{uid}
func (a *App) handleSetStaffRole(w http.ResponseWriter, r *http.Request) error {
	m, x, err := a.staffManager(r)
	if err != nil {
		return err
	}
	f, err := parseForm(r)
	if err != nil {
		return err
	}
	uid := r.PathValue("uid")
	role := f.raw("role")
	if role != string(store.RoleMemberStaff) && role != string(store.RoleMemberAdmin) {
		return errBadRequest
	}
	st, err := a.store.StaffOf(r.Context(), uid)
	if err != nil || st.MemberID != m.ID {
		return store.ErrNotFound
	}
	if st.Role == store.RoleMemberAdmin && role != string(store.RoleMemberAdmin) {
		if err := a.lastAdminCheck(r, m, f); err != nil {
			return err
		}
	}
	if err := a.stepUpCheck(r, x.user, f); err != nil {
		return err
	}
	if err := a.store.SetStaff(r.Context(), uid, m.ID, store.Role(role)); err != nil {
		return err
	}
	if uid == x.user.ID {
		a.relogin(r)
	}
	a.auditReq(r, "staff.role", "user", uid, map[string]any{"role": role, "member": m.ID})
	a.redirect(w, r, "/console/members/"+m.ID, tr(r, "staff.flash.role_changed"))
	return nil
}

// POST /console/members/{id}/staff/{uid}/remove
func (a *App) handleRemoveStaff(w http.ResponseWriter, r *http.Request) error {
	m, x, err := a.staffManager(r)
	if err != nil {
		return err
	}
	uid, err := pathID(r, "uid")
	if err != nil {
		return err
	}
	st, err := a.store.StaffOf(r.Context(), uid)
	if err != nil || st.MemberID != m.ID {
		return store.ErrNotFound
	}
	f, err := parseForm(r)
	if err != nil {
		return err
	}
	if st.Role == store.RoleMemberAdmin {
		if err := a.lastAdminCheck(r, m, f); err != nil {
			return err
		}
	}
	if err := a.stepUpCheck(r, x.user, f); err != nil {
		return err
	}
	if err := a.store.RemoveStaff(r.Context(), m.ID, uid); err != nil {
		return err
	}
	a.auditReq(r, "staff.remove", "user", uid, map[string]any{"member": m.ID})
	a.redirect(w, r, "/console/members/"+m.ID, tr(r, "staff.flash.removed"))
	return nil
}

// lastAdminCheck lets a Member lose its last admin only when the form says
// so (confirm_last_admin): otherwise the answer is the warning (409) and
// nothing changes.
func (a *App) lastAdminCheck(r *http.Request, m store.Member, f *form) error {
	n, err := a.store.MemberAdmins(r.Context(), m.ID)
	if err != nil {
		return err
	}
	if n > 1 || f.raw("confirm_last_admin") == "on" {
		return nil
	}
	return &Error{Status: http.StatusConflict, Key: "error.last_admin", Args: []any{"member", m.Name}, Link: "/console/members/" + m.ID}
}
