package app

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"kelas/i18n"
	"kelas/store"
)

// currentUndertakingVersion is the version of the undertaking in force.
func currentUndertakingVersion(t testing.TB, ts *testServer) string {
	t.Helper()
	st, err := ts.store.Settings(t.Context())
	require.NoError(t, err)
	text := st.Get(store.SettingConfidentialityText)
	if text == "" {
		text = i18n.Get(i18n.Default).T("undertaking.default_text")
	}
	return store.UndertakingVersion(text)
}

// acceptUndertaking records that uid accepted the undertaking in force,
// unless they have already.
func acceptUndertaking(t testing.TB, ts *testServer, uid string) {
	t.Helper()
	v := currentUndertakingVersion(t, ts)
	ok, err := ts.store.AcceptedUndertaking(t.Context(), uid, v)
	require.NoError(t, err)
	if !ok {
		_, err = ts.store.AcceptUndertaking(t.Context(), uid, v)
		require.NoError(t, err)
	}
}

// loginByHand logs c in as email without the test helpers' shortcuts (the
// undertaking is not accepted for them): password, then the second factor.
func loginByHand(t *testing.T, c *testServer, email, password string) {
	t.Helper()
	u, err := c.store.UserByEmail(t.Context(), email)
	require.NoError(t, err)
	if !u.TwoFactor {
		enrolTOTP(t, c, u.ID)
	}
	res, _ := c.postForm(t, "/login", url.Values{"email": {email}, "password": {password}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	require.Equal(t, "/login/2fa", res.Header.Get("Location"))
	res, _ = c.postForm(t, "/login/2fa", url.Values{"code": {totpCode(t, c, u.ID)}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	c.uid = u.ID
}

// TestStaffAcceptUndertakingBeforeLearnerRecord: a staff member with a
// grant covering the learner is sent to the undertaking instead of the
// record, accepts it, is taken back to the record and sees it; the
// acceptance is recorded, audited and shown; a changed text asks again.
func TestStaffAcceptUndertakingBeforeLearnerRecord(t *testing.T) {
	fx := newGrantFixture(t)
	ts := fx.ts
	now := ts.clock.Now()
	fx.grant(t, now.Add(-time.Hour), now.Add(24*time.Hour))
	learner := fx.learners[0]
	record := "/console/learners/" + learner.ID

	// A second staff member of the same Member, never logged in through the
	// helpers that accept the undertaking for tests.
	const password = "another long test password"
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	require.NoError(t, err)
	u, err := ts.store.CreateUser(t.Context(), store.NewUser{AcceptedPolicy: seededPolicy, Email: "newstaff@example.org", FirstName: "Nur", Surname: "Staff",
		PasswordHash: string(hash), Role: store.RoleLearner, Verified: true})
	require.NoError(t, err)
	require.NoError(t, ts.store.SetStaff(t.Context(), u.ID, fx.memberID, store.RoleMemberStaff))
	c := ts.newClient(t)
	loginByHand(t, c, u.Email, password)

	before, err := ts.store.AllDisclosures(t.Context(), store.DisclosureFilter{SubjectID: learner.ID})
	require.NoError(t, err)
	res, body := c.get(t, record)
	require.Equal(t, http.StatusSeeOther, res.StatusCode, body)
	loc := res.Header.Get("Location")
	assert.Equal(t, "/console/undertaking?next="+url.QueryEscape(record), loc)
	assert.NotContains(t, body, learner.Email)
	after, err := ts.store.AllDisclosures(t.Context(), store.DisclosureFilter{SubjectID: learner.ID})
	require.NoError(t, err)
	assert.Len(t, after, len(before), "nothing was shown, so nothing was disclosed")
	// The training's learner list is gated too.
	res, _ = c.get(t, "/console/trainings/"+fx.training+"/learners")
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.True(t, strings.HasPrefix(res.Header.Get("Location"), "/console/undertaking?next="))

	res, body = c.get(t, loc)
	require.Equal(t, http.StatusOK, res.StatusCode)
	d := doc(t, body)
	version := d.Find(`input[name="version"]`).AttrOr("value", "")
	assert.Equal(t, currentUndertakingVersion(t, ts), version)
	assert.Contains(t, d.Find(`[data-testid="undertaking-text"]`).Text(), "I will not disclose it")
	assert.Equal(t, 0, d.Find(`[data-testid="undertaking-accepted"]`).Length())

	// Not ticked: 422 at the field, nothing recorded.
	res, body = c.postForm(t, "/console/undertaking", url.Values{"version": {version}, "next": {record}})
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	assert.Equal(t, 1, doc(t, body).Find(`[data-testid="error-accept"]`).Length())
	// A version other than the one in force (the text changed meanwhile).
	res, _ = c.postForm(t, "/console/undertaking", url.Values{"version": {"000000000000"}, "accept": {"on"}, "next": {record}})
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	_, err = ts.store.LatestUndertaking(t.Context(), u.ID)
	require.ErrorIs(t, err, store.ErrNotFound)

	// Accepted: back to the record, which now opens.
	res, _ = c.postForm(t, "/console/undertaking", url.Values{"version": {version}, "accept": {"on"}, "next": {record}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Equal(t, record, res.Header.Get("Location"))
	res, body = c.get(t, record)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, body, learner.Email)
	acc, err := ts.store.LatestUndertaking(t.Context(), u.ID)
	require.NoError(t, err)
	assert.Equal(t, version, acc.Version)
	log, err := ts.store.AuditLog(t.Context(), 50)
	require.NoError(t, err)
	found := false
	for _, e := range log {
		if e.Action == "undertaking.accept" && e.ActorID == u.ID {
			found = true
		}
	}
	assert.True(t, found, "the acceptance is audited")
	res, body = c.get(t, "/console/undertaking")
	require.Equal(t, http.StatusOK, res.StatusCode)
	d = doc(t, body)
	assert.Contains(t, d.Find(`[data-testid="undertaking-accepted"]`).Text(), "(version "+version+")")
	assert.Equal(t, 1, d.Find(`[data-testid="undertaking-current"]`).Length())

	// The operator changes the text: it must be accepted again.
	st, err := ts.store.Settings(t.Context())
	require.NoError(t, err)
	_, err = ts.store.SaveSettings(t.Context(), fx.opUser.ID, st.Revision, map[string]string{store.SettingConfidentialityText: "We keep it all secret."})
	require.NoError(t, err)
	ts.clock.Add(10 * time.Second) // the settings cache holds a few seconds
	res, _ = c.get(t, record)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	res, body = c.get(t, "/console/undertaking")
	require.Equal(t, http.StatusOK, res.StatusCode)
	d = doc(t, body)
	assert.Equal(t, 1, d.Find(`[data-testid="undertaking-changed"]`).Length())
	assert.Contains(t, d.Find(`[data-testid="undertaking-text"]`).Text(), "We keep it all secret.")
}
