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

// TestPrivacyOfficerFlagOnlyFromAnotherOfficer: an operator could give
// themselves the privacy-officer flag. Now only another privacy officer
// gives it, with their second factor, and it is audited.
func TestPrivacyOfficerFlagOnlyFromAnotherOfficer(t *testing.T) {
	ts := newTestServer(t)
	op, opUser := ts.person(t, "ops@example.org", store.RoleOperator, "")
	self := url.Values{"role": {"operator"}, "dpo": {"on"}, "code": {op.code(t)}}
	res, _ := op.postForm(t, "/console/operators/"+opUser.ID, self)
	assert.Equal(t, http.StatusForbidden, res.StatusCode, "not to oneself")
	u, err := ts.store.User(t.Context(), opUser.ID)
	require.NoError(t, err)
	assert.False(t, u.DPO)
	// Nor by inviting someone as one.
	res, body := op.postForm(t, "/console/operators/invitations", url.Values{"email": {"new.dpo@example.org"},
		"role": {"operator"}, "dpo": {"on"}, "code": {op.code(t)}})
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	assert.NotEmpty(t, doc(t, body).Find(`[data-testid="error-dpo"]`).Text())
	assert.Empty(t, outboxKinds(t, ts), "no invitation sent")

	dpo, dpoUser := ts.person(t, "dpo@example.org", store.RoleOperator, "")
	require.NoError(t, ts.store.SetOperatorRole(t.Context(), dpoUser.ID, store.RoleOperator, true))
	require.Equal(t, http.StatusSeeOther, dpo.signIn(t, dpoUser.Email, "a long test password").StatusCode)
	res, body = dpo.postForm(t, "/console/operators/"+opUser.ID, url.Values{"role": {"operator"}, "dpo": {"on"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode, "a role change asks for the code")
	assert.Contains(t, body, "Nothing was changed")
	res, _ = dpo.postForm(t, "/console/operators/"+opUser.ID, url.Values{"role": {"operator"}, "dpo": {"on"}, "code": {dpo.code(t)}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	u, err = ts.store.User(t.Context(), opUser.ID)
	require.NoError(t, err)
	assert.True(t, u.DPO, "given by another privacy officer")
	log, err := ts.store.AuditLog(t.Context(), 5)
	require.NoError(t, err)
	assert.Equal(t, "operator.role", log[0].Action)
	assert.Equal(t, dpoUser.ID, log[0].ActorID)
}

// TestOperatorRecoversSecondFactor: someone who lost their phone and their
// codes is helped by an operator; it takes the operator's own code, is
// audited and mailed, and the person sets up a new factor at next login.
func TestOperatorRecoversSecondFactor(t *testing.T) {
	ts, smtpd := newMailTestServer(t)
	staff, staffUser := ts.person(t, "staff@example.org", store.RoleMemberStaff, member(t, ts, "SMESCO Indonesia"))
	op, opUser := ts.person(t, "ops@example.org", store.RoleOperator, "")
	res, _ := op.postForm(t, "/console/accounts/"+staffUser.ID+"/2fa/reset", url.Values{"code": {"000000"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	res, _ = op.postForm(t, "/console/accounts/"+opUser.ID+"/2fa/reset", url.Values{"code": {op.code(t)}})
	require.Equal(t, http.StatusBadRequest, res.StatusCode, "not one's own")
	res, _ = op.postForm(t, "/console/accounts/"+staffUser.ID+"/2fa/reset", url.Values{"code": {op.code(t)}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)

	u, err := ts.store.User(t.Context(), staffUser.ID)
	require.NoError(t, err)
	assert.False(t, u.TwoFactor)
	log, err := ts.store.AuditLog(t.Context(), 5)
	require.NoError(t, err)
	assert.Equal(t, store.AuditTwoFactorReset, log[0].Action)
	assert.Equal(t, opUser.ID, log[0].ActorID)
	assert.Equal(t, staffUser.ID, log[0].TargetID)
	ts.deliver(t)
	mailWith(t, smtpd.WaitFor(t, 1), "staff@example.org", "Two-factor authentication is off")

	// Their sessions ended; at the next login they set up a new factor.
	res, _ = staff.get(t, "/console/trainings")
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	res, _ = staff.postForm(t, "/login", url.Values{"email": {"staff@example.org"}, "password": {"a long test password"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Equal(t, "/profile/2fa", res.Header.Get("Location"))
	res, _ = staff.get(t, "/console/trainings")
	assert.Equal(t, "/profile/2fa", res.Header.Get("Location"))
}

// TestLoginCodeThrottledAndSingleUse: the second step refuses a code used
// before and stops guessing after five wrong codes.
func TestLoginCodeThrottledAndSingleUse(t *testing.T) {
	ts := newTestServer(t)
	_, u := ts.person(t, "ops@example.org", store.RoleOperator, "")
	c := ts.newClient(t)
	res, _ := c.postForm(t, "/login", url.Values{"email": {u.Email}, "password": {"a long test password"}})
	require.Equal(t, "/login/2fa", res.Header.Get("Location"))
	res, _ = c.get(t, "/console")
	assert.True(t, res.StatusCode == http.StatusSeeOther && res.Header.Get("Location") != "/console", "not logged in before the code")
	for range 5 {
		res, _ = c.postForm(t, "/login/2fa", url.Values{"code": {"123456"}})
		require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	}
	res, _ = c.postForm(t, "/login/2fa", url.Values{"code": {totpCode(t, ts, u.ID)}})
	assert.Equal(t, http.StatusTooManyRequests, res.StatusCode, "even the right code waits")
}

// TestLearnerMayTurnTwoFactorOnAndOff: offered to learners, not imposed.
func TestLearnerMayTurnTwoFactorOnAndOff(t *testing.T) {
	ts := newTestServer(t)
	learner, u := ts.person(t, "learner@example.org", store.RoleLearner, "")
	res, body := learner.get(t, "/profile")
	require.Equal(t, http.StatusOK, res.StatusCode, "no setup imposed on a learner")
	assert.Equal(t, 1, doc(t, body).Find(`[data-testid="twofactor-link"]`).Length())
	res, _ = learner.get(t, "/profile/2fa")
	require.Equal(t, http.StatusOK, res.StatusCode)
	res, body = learner.postForm(t, "/profile/2fa", url.Values{"action": {"enable"}, "code": {"12345"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	assert.NotEmpty(t, doc(t, body).Find(`[data-testid="error-code"]`).Text())
	codes := enrolOverHTTP(t, learner)
	learner.uid = u.ID
	res, _ = learner.get(t, "/profile")
	require.Equal(t, http.StatusOK, res.StatusCode, "this session goes on")

	c := ts.newClient(t)
	res, _ = c.postForm(t, "/login", url.Values{"email": {u.Email}, "password": {"a long test password"}})
	require.Equal(t, "/login/2fa", res.Header.Get("Location"))
	res, _ = c.postForm(t, "/login/2fa", url.Values{"code": {strings.ToUpper(codes[3])}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.NotEqual(t, "/login", res.Header.Get("Location"))

	res, _ = learner.postForm(t, "/profile/2fa", url.Values{"action": {"disable"}, "code": {learner.code(t)}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	after, err := ts.store.User(t.Context(), u.ID)
	require.NoError(t, err)
	assert.False(t, after.TwoFactor)
}
