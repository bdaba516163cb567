package app

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"kelas/store"
)

// TestMemberDeactivationTakesEffect: unticking "Active" changed nothing;
// now the Member's staff lose the console and their grants, its trainings
// leave the catalogue, and its learners keep their records.
func TestMemberDeactivationTakesEffect(t *testing.T) {
	ts := newTestServer(t)
	memberID := member(t, ts, "SME Corporation Malaysia")
	staff, _ := ts.person(t, "staff@example.org", store.RoleMemberStaff, memberID)
	op, opUser := ts.person(t, "ops@example.org", store.RoleOperator, "")
	trainingID := createTraining(t, staff, trainingValues())
	learner, learnerUser := ts.person(t, "learner@example.org", store.RoleLearner, "")
	res, _ := learner.postForm(t, "/trainings/"+trainingID+"/enrol", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	now := ts.clock.Now()
	_, err := ts.store.CreateGrant(t.Context(), store.NewGrant{MemberID: memberID, TrainingIDs: []string{trainingID}, Purpose: "cohort",
		GrantedBy: opUser.ID, ValidFrom: now.Add(-time.Hour), ValidUntil: now.Add(24 * time.Hour)})
	require.NoError(t, err)
	res, _ = staff.get(t, "/console/learners/"+learnerUser.ID)
	require.Equal(t, http.StatusOK, res.StatusCode, "inside the grant while active")

	m, err := ts.store.Member(t.Context(), memberID)
	require.NoError(t, err)
	res, _ = op.postForm(t, "/console/members/"+memberID, url.Values{"name": {m.Name}, "country": {m.Country}, "kind": {m.Kind}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	m, err = ts.store.Member(t.Context(), memberID)
	require.NoError(t, err)
	require.False(t, m.Active)

	for _, path := range []string{"/console/trainings", "/console/learners/" + learnerUser.ID, "/console/trainings/" + trainingID} {
		res, _ = staff.get(t, path)
		assert.Equal(t, http.StatusForbidden, res.StatusCode, path)
	}
	_, err = ts.store.ActiveGrantFor(t.Context(), memberID, trainingID)
	assert.ErrorIs(t, err, store.ErrNotFound, "its grants no longer give access")
	_, body := learner.get(t, "/trainings")
	assert.NotContains(t, body, "/trainings/"+trainingID, "out of the catalogue")
	res, body = learner.get(t, "/dashboard")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, body, "Bookkeeping for micro enterprises", "the learner keeps the record")
	other, _ := ts.person(t, "late@example.org", store.RoleLearner, "")
	res, _ = other.postForm(t, "/trainings/"+trainingID+"/enrol", nil)
	assert.GreaterOrEqual(t, res.StatusCode, 400, "no new enrolments")
}

// TestLastAdminIsNotLostWithoutWarning: removing or demoting a Member's last
// admin needs an explicit confirmation.
func TestLastAdminIsNotLostWithoutWarning(t *testing.T) {
	ts := newTestServer(t)
	memberID := member(t, ts, "SME Corporation Malaysia")
	_, admin := ts.person(t, "admin@example.org", store.RoleMemberAdmin, memberID)
	op, _ := ts.person(t, "ops@example.org", store.RoleOperator, "")
	base := "/console/members/" + memberID + "/staff/" + admin.ID
	res, body := op.postForm(t, base, url.Values{"role": {"member_staff"}, "code": {op.code(t)}})
	require.Equal(t, http.StatusConflict, res.StatusCode)
	assert.Contains(t, body, "last admin")
	res, _ = op.postForm(t, base+"/remove", url.Values{"code": {op.code(t)}})
	require.Equal(t, http.StatusConflict, res.StatusCode)
	st, err := ts.store.StaffOf(t.Context(), admin.ID)
	require.NoError(t, err)
	assert.Equal(t, store.RoleMemberAdmin, st.Role, "nothing changed")

	res, body = op.get(t, "/console/members/"+memberID)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.True(t, strings.Contains(body, `name="confirm_last_admin"`), "the warning is on the page")
	res, _ = op.postForm(t, base, url.Values{"role": {"member_staff"}, "confirm_last_admin": {"on"}, "code": {op.code(t)}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	st, err = ts.store.StaffOf(t.Context(), admin.ID)
	require.NoError(t, err)
	assert.Equal(t, store.RoleMemberStaff, st.Role)
}
