package app

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"kelas/store"
)

// lastAudit is the newest audit entry.
func lastAudit(t *testing.T, ts *testServer) store.AuditEntry {
	t.Helper()
	log, err := ts.store.AuditLog(t.Context(), 1)
	require.NoError(t, err)
	require.NotEmpty(t, log)
	return log[0]
}

// loggedOut reports whether c's session is gone: the console sends it to
// the login page.
func loggedOut(t *testing.T, c *testServer) bool {
	t.Helper()
	res, _ := c.get(t, "/console")
	return res.StatusCode == http.StatusSeeOther && strings.HasPrefix(res.Header.Get("Location"), "/login")
}

// TestMemberCreateAndUpdate: an operator creates and edits a Member over
// HTTP; invalid input and a taken name change nothing; a consultant and a
// Member's own admin may do neither; each change is audited.
func TestMemberCreateAndUpdate(t *testing.T) {
	ts := newTestServer(t)
	op, opUser := ts.person(t, "ops@example.org", store.RoleOperator, "")
	consultant, _ := ts.person(t, "monitor@example.org", store.RoleConsultant, "")
	before, err := ts.store.Members(t.Context())
	require.NoError(t, err)
	fields := url.Values{"name": {"Koperasi Digital Nusantara"}, "country": {"ID"}, "kind": {"ngo"}, "active": {"on"}}

	res, _ := consultant.postForm(t, "/console/members", fields)
	assert.Equal(t, http.StatusForbidden, res.StatusCode, "a consultant monitors, does not edit")
	bad := url.Values{"name": {"Koperasi Digital Nusantara"}, "country": {"ID"}, "kind": {"cartel"}, "active": {"on"}}
	res, body := op.postForm(t, "/console/members", bad)
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	assert.NotEmpty(t, doc(t, body).Find(`[data-testid="error-kind"]`).Text())
	now, err := ts.store.Members(t.Context())
	require.NoError(t, err)
	require.Len(t, now, len(before), "nothing created")

	res, _ = op.postForm(t, "/console/members", fields)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	m, err := ts.store.MemberByName(t.Context(), "Koperasi Digital Nusantara")
	require.NoError(t, err)
	assert.Equal(t, "/console/members/"+m.ID, res.Header.Get("Location"))
	assert.Equal(t, "ID", m.Country)
	assert.Equal(t, "ngo", m.Kind)
	assert.True(t, m.Active)
	e := lastAudit(t, ts)
	assert.Equal(t, "member.create", e.Action)
	assert.Equal(t, opUser.ID, e.ActorID)
	assert.Equal(t, m.ID, e.TargetID)

	res, body = op.postForm(t, "/console/members", fields)
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode, "the name is taken")
	assert.Contains(t, doc(t, body).Find(`[data-testid="error-name"]`).Text(), "exists already")

	// Update.
	res, _ = op.postForm(t, "/console/members/"+m.ID, url.Values{"name": {"Koperasi Digital Indonesia"}, "country": {"ID"},
		"kind": {"private"}, "active": {"on"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	m, err = ts.store.Member(t.Context(), m.ID)
	require.NoError(t, err)
	assert.Equal(t, "Koperasi Digital Indonesia", m.Name)
	assert.Equal(t, "private", m.Kind)
	e = lastAudit(t, ts)
	assert.Equal(t, "member.update", e.Action)
	assert.Equal(t, m.ID, e.TargetID)

	res, body = op.postForm(t, "/console/members/"+m.ID, url.Values{"name": {"SME Corporation Malaysia"}, "country": {"ID"},
		"kind": {"private"}, "active": {"on"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode, "another Member's name")
	assert.Contains(t, doc(t, body).Find(`[data-testid="error-name"]`).Text(), "exists already")
	admin, _ := ts.person(t, "admin@example.org", store.RoleMemberAdmin, m.ID)
	res, _ = admin.postForm(t, "/console/members/"+m.ID, url.Values{"name": {"Renamed by its admin"}, "country": {"ID"},
		"kind": {"private"}, "active": {"on"}})
	assert.Equal(t, http.StatusForbidden, res.StatusCode, "a Member's admin manages staff, not the Member")
	m, err = ts.store.Member(t.Context(), m.ID)
	require.NoError(t, err)
	assert.Equal(t, "Koperasi Digital Indonesia", m.Name, "unchanged by the refused updates")
}

// TestInvitationAcceptedWithExistingAccount: an invitation to an address
// that has an account is taken up by that account, logged in, and nobody
// else; the account keeps its password and name, gains the role and stays
// logged in on a renewed session; the link then is dead.
func TestInvitationAcceptedWithExistingAccount(t *testing.T) {
	ts, smtpd := newMailTestServer(t)
	memberID := member(t, ts, "SME Corporation Malaysia")
	admin, _ := ts.person(t, "admin@example.org", store.RoleMemberAdmin, memberID)
	nur, nurUser := ts.person(t, "nur@example.org", store.RoleLearner, "")
	stranger, _ := ts.person(t, "stranger@example.org", store.RoleLearner, "")
	res, _ := admin.postForm(t, "/console/members/"+memberID+"/invitations", url.Values{"email": {nurUser.Email}, "role": {"member_staff"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	ts.deliver(t)
	link := linkIn(t, mailTo(t, smtpd.WaitFor(t, 1), nurUser.Email), "/invite/")

	res, _ = ts.newClient(t).postForm(t, link, url.Values{"first_name": {"Mallory"}, "surname": {"X"}, "password": {"a takeover passphrase 9"}})
	assert.Equal(t, http.StatusForbidden, res.StatusCode, "not logged in: no new password for an existing account")
	res, _ = stranger.postForm(t, link, nil)
	assert.Equal(t, http.StatusForbidden, res.StatusCode, "logged in as someone else")
	u, err := ts.store.User(t.Context(), nurUser.ID)
	require.NoError(t, err)
	require.Equal(t, store.RoleLearner, u.Role, "nothing changed yet")

	res, _ = nur.postForm(t, link, nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Equal(t, "/console", res.Header.Get("Location"))
	u, err = ts.store.User(t.Context(), nurUser.ID)
	require.NoError(t, err)
	assert.Equal(t, store.RoleMemberStaff, u.Role)
	assert.Equal(t, nurUser.PasswordHash, u.PasswordHash, "the account keeps its password")
	assert.Equal(t, nurUser.FirstName, u.FirstName)
	st, err := ts.store.StaffOf(t.Context(), u.ID)
	require.NoError(t, err)
	assert.Equal(t, memberID, st.MemberID)
	assert.False(t, loggedOut(t, nur), "the session was renewed, not ended")
	res, _ = nur.get(t, "/console/trainings")
	assert.Equal(t, "/profile/2fa", res.Header.Get("Location"), "the new role asks for a second factor first")

	res, _ = nur.get(t, link)
	assert.Equal(t, http.StatusGone, res.StatusCode, "used links are dead")
	res, _ = stranger.postForm(t, link, nil)
	assert.Equal(t, http.StatusGone, res.StatusCode)
}

// TestStaffRoleChanges: a Member admin promotes and demotes its staff with
// the second factor; the person changed is logged out everywhere; the
// admin cannot reach another Member's staff; an admin demoting themselves
// keeps a renewed session.
func TestStaffRoleChanges(t *testing.T) {
	ts := newTestServer(t)
	memberID := member(t, ts, "SME Corporation Malaysia")
	otherID := member(t, ts, "SMESCO Indonesia")
	admin, adminUser := ts.person(t, "admin@example.org", store.RoleMemberAdmin, memberID)
	staff, staffUser := ts.person(t, "staff@example.org", store.RoleMemberStaff, memberID)
	_, outsider := ts.person(t, "outsider@example.org", store.RoleMemberStaff, otherID)
	path := "/console/members/" + memberID + "/staff/" + staffUser.ID
	role := func(uid string) store.Role {
		st, err := ts.store.StaffOf(t.Context(), uid)
		require.NoError(t, err)
		return st.Role
	}

	res, _ := admin.postForm(t, path, url.Values{"role": {"member_admin"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode, "the second factor is asked")
	assert.Equal(t, store.RoleMemberStaff, role(staffUser.ID))
	res, _ = admin.postForm(t, path, url.Values{"role": {"operator"}, "code": {admin.code(t)}})
	assert.Equal(t, http.StatusBadRequest, res.StatusCode, "no way to an operator role from here")
	u, err := ts.store.User(t.Context(), staffUser.ID)
	require.NoError(t, err)
	assert.Equal(t, store.RoleMemberStaff, u.Role)

	res, _ = admin.postForm(t, path, url.Values{"role": {"member_admin"}, "code": {admin.code(t)}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Equal(t, store.RoleMemberAdmin, role(staffUser.ID))
	e := lastAudit(t, ts)
	assert.Equal(t, "staff.role", e.Action)
	assert.Equal(t, adminUser.ID, e.ActorID)
	assert.Equal(t, staffUser.ID, e.TargetID)
	assert.True(t, loggedOut(t, staff), "the person whose role changed logs in again")

	for _, p := range []string{
		"/console/members/" + memberID + "/staff/" + outsider.ID, // not ours
		"/console/members/" + otherID + "/staff/" + outsider.ID,  // not our Member
	} {
		res, _ = admin.postForm(t, p, url.Values{"role": {"member_admin"}, "code": {admin.code(t)}})
		assert.Contains(t, []int{http.StatusNotFound, http.StatusForbidden}, res.StatusCode, p)
	}
	assert.Equal(t, store.RoleMemberStaff, role(outsider.ID), "another Member's staff untouched")

	// With a second admin now there, the first steps down.
	res, _ = admin.postForm(t, "/console/members/"+memberID+"/staff/"+adminUser.ID, url.Values{"role": {"member_staff"}, "code": {admin.code(t)}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Equal(t, store.RoleMemberStaff, role(adminUser.ID))
	assert.False(t, loggedOut(t, admin), "one's own change renews the session")
	res, _ = admin.postForm(t, path, url.Values{"role": {"member_staff"}, "code": {admin.code(t)}})
	assert.Equal(t, http.StatusForbidden, res.StatusCode, "no longer an admin: no more role changes")
	assert.Equal(t, store.RoleMemberAdmin, role(staffUser.ID))
}

// TestOperatorRoleChanges: the operator role changes another operator's
// role with the second factor, which logs that person out; it cannot make a
// learner an operator through this form, nor take its own role, and other
// operator roles cannot change roles at all.
func TestOperatorRoleChanges(t *testing.T) {
	ts := newTestServer(t)
	op, opUser := ts.person(t, "ops@example.org", store.RoleOperator, "")
	other, otherUser := ts.person(t, "second@example.org", store.RoleOperator, "")
	_, learner := ts.person(t, "learner@example.org", store.RoleLearner, "")
	path := "/console/operators/" + otherUser.ID
	roleOf := func(uid string) store.Role {
		u, err := ts.store.User(t.Context(), uid)
		require.NoError(t, err)
		return u.Role
	}

	res, _ := op.postForm(t, path, url.Values{"role": {"consultant"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode, "the second factor is asked")
	assert.Equal(t, store.RoleOperator, roleOf(otherUser.ID))
	res, _ = op.postForm(t, path, url.Values{"role": {"learner"}, "code": {op.code(t)}})
	assert.Equal(t, http.StatusBadRequest, res.StatusCode, "only operator roles here")

	res, _ = op.postForm(t, path, url.Values{"role": {"consultant"}, "code": {op.code(t)}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Equal(t, "/console/operators", res.Header.Get("Location"))
	assert.Equal(t, store.RoleConsultant, roleOf(otherUser.ID))
	e := lastAudit(t, ts)
	assert.Equal(t, "operator.role", e.Action)
	assert.Equal(t, opUser.ID, e.ActorID)
	assert.Equal(t, otherUser.ID, e.TargetID)
	assert.Equal(t, "consultant", e.Details["role"])
	assert.True(t, loggedOut(t, other), "the person whose role changed logs in again")

	res, _ = op.postForm(t, "/console/operators/"+learner.ID, url.Values{"role": {"operator"}, "code": {op.code(t)}})
	assert.Equal(t, http.StatusNotFound, res.StatusCode, "a learner is not made an operator by a role change")
	assert.Equal(t, store.RoleLearner, roleOf(learner.ID))

	res, _ = op.postForm(t, "/console/operators/"+opUser.ID, url.Values{"role": {"backoffice"}, "code": {op.code(t)}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Contains(t, flashOf(t, op, "/console/operators"), "cannot take the operator role from yourself")
	assert.Equal(t, store.RoleOperator, roleOf(opUser.ID))

	require.Equal(t, http.StatusSeeOther, other.signIn(t, otherUser.Email, "a long test password").StatusCode)
	res, _ = other.postForm(t, "/console/operators/"+opUser.ID, url.Values{"role": {"consultant"}, "code": {other.code(t)}})
	assert.Equal(t, http.StatusForbidden, res.StatusCode, "a consultant changes no roles")
	assert.Equal(t, store.RoleOperator, roleOf(opUser.ID))
}

// TestStaffRemoval: a Member admin removes a staff member with the second
// factor: the person is a learner again, logged out, and their console is
// gone; another Member's staff cannot be removed from here.
func TestStaffRemoval(t *testing.T) {
	ts := newTestServer(t)
	memberID := member(t, ts, "SME Corporation Malaysia")
	otherID := member(t, ts, "SMESCO Indonesia")
	admin, adminUser := ts.person(t, "admin@example.org", store.RoleMemberAdmin, memberID)
	staff, staffUser := ts.person(t, "staff@example.org", store.RoleMemberStaff, memberID)
	_, outsider := ts.person(t, "outsider@example.org", store.RoleMemberStaff, otherID)
	path := "/console/members/" + memberID + "/staff/" + staffUser.ID + "/remove"

	res, _ := admin.postForm(t, path, nil)
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode, "the second factor is asked")
	_, err := ts.store.StaffOf(t.Context(), staffUser.ID)
	require.NoError(t, err, "still staff")
	res, _ = admin.postForm(t, "/console/members/"+memberID+"/staff/"+outsider.ID+"/remove", url.Values{"code": {admin.code(t)}})
	assert.Equal(t, http.StatusNotFound, res.StatusCode, "not this Member's staff")
	res, _ = admin.postForm(t, "/console/members/"+memberID+"/staff/not-an-id/remove", url.Values{"code": {admin.code(t)}})
	assert.Equal(t, http.StatusNotFound, res.StatusCode)
	_, err = ts.store.StaffOf(t.Context(), outsider.ID)
	require.NoError(t, err, "another Member's staff untouched")

	res, _ = admin.postForm(t, path, url.Values{"code": {admin.code(t)}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	_, err = ts.store.StaffOf(t.Context(), staffUser.ID)
	assert.ErrorIs(t, err, store.ErrNotFound)
	u, err := ts.store.User(t.Context(), staffUser.ID)
	require.NoError(t, err)
	assert.Equal(t, store.RoleLearner, u.Role)
	e := lastAudit(t, ts)
	assert.Equal(t, "staff.remove", e.Action)
	assert.Equal(t, adminUser.ID, e.ActorID)
	assert.Equal(t, staffUser.ID, e.TargetID)
	assert.True(t, loggedOut(t, staff), "logged out everywhere")
	require.Equal(t, http.StatusSeeOther, staff.signIn(t, staffUser.Email, "a long test password").StatusCode)
	res, _ = staff.get(t, "/console/trainings")
	assert.Equal(t, http.StatusForbidden, res.StatusCode, "no console for a learner")
}

// TestOperatorInvitationAccepted: an operator invites a new back-office
// operator with the second factor; the invitee creates the account from
// the mailed link, gets exactly the role invited, and must set up a second
// factor before anything else.
func TestOperatorInvitationAccepted(t *testing.T) {
	ts, smtpd := newMailTestServer(t)
	op, opUser := ts.person(t, "ops@example.org", store.RoleOperator, "")
	v := url.Values{"email": {"new.backoffice@example.org"}, "role": {"backoffice"}}
	res, _ := op.postForm(t, "/console/operators/invitations", v)
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode, "the second factor is asked")
	assert.Empty(t, outboxKinds(t, ts), "no invitation sent")
	v.Set("code", op.code(t))
	res, _ = op.postForm(t, "/console/operators/invitations", v)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	e := lastAudit(t, ts)
	assert.Equal(t, "invitation.create", e.Action)
	assert.Equal(t, opUser.ID, e.ActorID)
	ts.deliver(t)
	link := linkIn(t, mailTo(t, smtpd.WaitFor(t, 1), "new.backoffice@example.org"), "/invite/")

	invitee := ts.newClient(t)
	res, body := invitee.postForm(t, link, url.Values{"first_name": {"Ratna"}, "surname": {"Dewi"}, "password": {"short"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	assert.NotEmpty(t, doc(t, body).Find(`[data-testid="error-password"]`).Text())
	_, err := ts.store.UserByEmail(t.Context(), "new.backoffice@example.org")
	require.ErrorIs(t, err, store.ErrNotFound, "no account from an invalid form")
	res, _ = invitee.postForm(t, link, url.Values{"first_name": {"Ratna"}, "surname": {"Dewi"}, "password": {"anyaman pandan kering 7"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Equal(t, "/profile/2fa", res.Header.Get("Location"))
	u, err := ts.store.UserByEmail(t.Context(), "new.backoffice@example.org")
	require.NoError(t, err)
	assert.Equal(t, store.RoleBackoffice, u.Role)
	assert.False(t, u.DPO)
	res, _ = invitee.get(t, "/console")
	assert.Equal(t, "/profile/2fa", res.Header.Get("Location"), "a second factor first")
}
