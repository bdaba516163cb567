package app

import (
	"database/sql"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"kelas/store"
)

// rawDB opens the test server's real database file beside the store, as a
// second process would: what it changes, the store sees.
func rawDB(t *testing.T, ts *testServer) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(ts.store.Dir(), store.MainDBFile)+"?_pragma=busy_timeout(10000)")
	require.NoError(t, err)
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { assert.NoError(t, db.Close()) })
	return db
}

const injected = "injected fault"

// fault makes the database refuse every op ("INSERT", "UPDATE" or
// "DELETE") on table: a trigger aborts the store's real statement inside
// SQLite, as a full disk or a damaged page would. The returned function
// lifts it (it is lifted at the end of the test anyway).
func fault(t *testing.T, ts *testServer, op, table string) func() {
	t.Helper()
	db := rawDB(t, ts)
	name := "fault_" + strings.ToLower(op) + "_" + table
	_, err := db.Exec(`CREATE TRIGGER ` + name + ` BEFORE ` + op + ` ON ` + table + ` BEGIN SELECT RAISE(ABORT, '` + injected + `'); END`)
	require.NoError(t, err)
	lifted := false
	lift := func() {
		if !lifted {
			lifted = true
			_, err := db.Exec(`DROP TRIGGER ` + name)
			require.NoError(t, err)
		}
	}
	t.Cleanup(lift)
	return lift
}

// hide takes table away (renamed), so that reading it fails; the returned
// function puts it back.
func hide(t *testing.T, ts *testServer, table string) func() {
	t.Helper()
	db := rawDB(t, ts)
	_, err := db.Exec(`ALTER TABLE ` + table + ` RENAME TO ` + table + `_hidden`)
	require.NoError(t, err)
	back := false
	restore := func() {
		if !back {
			back = true
			_, err := db.Exec(`ALTER TABLE ` + table + `_hidden RENAME TO ` + table)
			require.NoError(t, err)
		}
	}
	t.Cleanup(restore)
	return restore
}

// injectedFailures counts the logged failures that came from fault or
// hide, so a 500 is known to come from the injected fault.
func injectedFailures(ts *testServer) int {
	n := 0
	for _, l := range strings.Split(ts.logs.String(), "\n") {
		if strings.Contains(l, injected) || strings.Contains(l, "_hidden") || strings.Contains(l, "no such table") {
			n++
		}
	}
	return n
}

// failsInside asserts that res is the plain 500 page and that the failure
// logged is the injected one.
func failsInside(t *testing.T, ts *testServer, before int, res *http.Response, body string) {
	t.Helper()
	require.Equal(t, http.StatusInternalServerError, res.StatusCode)
	assert.NotContains(t, body, injected, "the 500 page shows no details")
	assert.Greater(t, injectedFailures(ts), before, "the injected fault is what failed")
}

// TestSecondFactorChangesSurviveStoreFailures: when the database refuses the
// write behind a second-factor change, the person gets the error page and
// the factor stays as it was; the same changes then go through.
func TestSecondFactorChangesSurviveStoreFailures(t *testing.T) {
	ts := newTestServer(t)
	c, u := ts.person(t, "learner@example.org", store.RoleLearner, "")

	// Confirming the first code: the recovery codes cannot be written.
	lift := fault(t, ts, "INSERT", "recovery_codes")
	n := injectedFailures(ts)
	res, body := c.get(t, "/profile/2fa")
	require.Equal(t, http.StatusOK, res.StatusCode)
	secret := strings.ReplaceAll(doc(t, body).Find(`[data-testid="totp-secret"]`).Text(), " ", "")
	require.NotEmpty(t, secret)
	res, body = c.postForm(t, "/profile/2fa", url.Values{"action": {"enable"}, "code": {totpCode(t, ts, u.ID)}})
	failsInside(t, ts, n, res, body)
	got, err := ts.store.User(t.Context(), u.ID)
	require.NoError(t, err)
	assert.False(t, got.TwoFactor, "not on without its recovery codes")
	lift()
	codes := enrolOverHTTP(t, c)
	c.uid = u.ID

	// New recovery codes: the old ones stay when the new cannot be stored.
	lift = fault(t, ts, "INSERT", "recovery_codes")
	n = injectedFailures(ts)
	res, body = c.postForm(t, "/profile/2fa", url.Values{"action": {"codes"}, "code": {c.code(t)}})
	failsInside(t, ts, n, res, body)
	left, err := ts.store.RecoveryCodesLeft(t.Context(), u.ID)
	require.NoError(t, err)
	assert.Equal(t, len(codes), left)
	lift()

	// Turning it off (a learner may): a wrong code changes nothing, a
	// refused delete neither, the right code turns it off.
	res, _ = c.postForm(t, "/profile/2fa", url.Values{"action": {"disable"}, "code": {"000000"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	lift = fault(t, ts, "DELETE", "user_totp")
	n = injectedFailures(ts)
	res, body = c.postForm(t, "/profile/2fa", url.Values{"action": {"disable"}, "code": {c.code(t)}})
	failsInside(t, ts, n, res, body)
	got, err = ts.store.User(t.Context(), u.ID)
	require.NoError(t, err)
	assert.True(t, got.TwoFactor)
	lift()
	res, _ = c.postForm(t, "/profile/2fa", url.Values{"action": {"disable"}, "code": {c.code(t)}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Equal(t, "/profile/2fa", res.Header.Get("Location"))
	got, err = ts.store.User(t.Context(), u.ID)
	require.NoError(t, err)
	assert.False(t, got.TwoFactor)
	assert.Contains(t, outboxKinds(t, ts), "twofactor")
	res, _ = c.get(t, "/profile")
	assert.Equal(t, http.StatusOK, res.StatusCode, "this session goes on")

	// An action that does not fit the state is a bad request.
	res, _ = c.postForm(t, "/profile/2fa", url.Values{"action": {"codes"}})
	assert.Equal(t, http.StatusBadRequest, res.StatusCode)
	res, _ = c.postForm(t, "/profile/2fa", url.Values{"action": {"sideways"}})
	assert.Equal(t, http.StatusBadRequest, res.StatusCode)
}

// TestEnableWithoutAStartedSecret: a confirmation posted before the set-up
// page was ever shown has no secret to check against: back to the page.
func TestEnableWithoutAStartedSecret(t *testing.T) {
	ts := newTestServer(t)
	c, u := ts.person(t, "learner@example.org", store.RoleLearner, "")
	res, _ := c.postForm(t, "/profile/2fa", url.Values{"action": {"enable"}, "code": {"123456"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Equal(t, "/profile/2fa", res.Header.Get("Location"))
	_, err := ts.store.TOTP(t.Context(), u.ID)
	assert.ErrorIs(t, err, store.ErrNotFound, "nothing was started by the post")
}

// TestSecondStepAfterTheAccountChanged: between the password and the code,
// the password was changed elsewhere: the code no longer finishes that
// login.
func TestSecondStepAfterTheAccountChanged(t *testing.T) {
	ts := newTestServer(t)
	_, u := ts.person(t, "learner@example.org", store.RoleLearner, "")
	enrolTOTP(t, ts, u.ID)
	c := ts.newClient(t)
	res, _ := c.postForm(t, "/login", url.Values{"email": {u.Email}, "password": {fixturePassword}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	require.Equal(t, "/login/2fa", res.Header.Get("Location"))
	_, err := ts.store.SetPassword(t.Context(), u.ID, u.PasswordHash) // a new session epoch
	require.NoError(t, err)
	res, _ = c.postForm(t, "/login/2fa", url.Values{"code": {totpCode(t, ts, u.ID)}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Equal(t, "/login", res.Header.Get("Location"))
	res, _ = c.get(t, "/profile")
	assert.Equal(t, http.StatusSeeOther, res.StatusCode, "not logged in")
}

// TestOperatorResetOfSecondFactorSurvivesStoreFailure: the reset is refused
// by the database: the person keeps their factor and is not mailed.
func TestOperatorResetOfSecondFactorSurvivesStoreFailure(t *testing.T) {
	ts := newTestServer(t)
	_, staffUser := ts.person(t, "staff@example.org", store.RoleMemberStaff, member(t, ts, "SMESCO Indonesia")) // with a factor
	op, _ := ts.person(t, "ops@example.org", store.RoleOperator, "")
	fault(t, ts, "DELETE", "user_totp")
	n := injectedFailures(ts)
	res, body := op.postForm(t, "/console/accounts/"+staffUser.ID+"/2fa/reset", url.Values{"code": {op.code(t)}})
	failsInside(t, ts, n, res, body)
	got, err := ts.store.User(t.Context(), staffUser.ID)
	require.NoError(t, err)
	assert.True(t, got.TwoFactor)
	assert.NotContains(t, outboxKinds(t, ts), "twofactor")
}

// TestPagesFailWholeWhenATableCannotBeRead: a page whose data cannot be
// read is the plain 500 page, never a page with a part silently missing
// (a dashboard without its alerts, a rights page without the person's
// requests).
func TestPagesFailWholeWhenATableCannotBeRead(t *testing.T) {
	ts := newTestServer(t)
	smecorp := member(t, ts, "SME Corporation Malaysia")
	staff, _ := ts.person(t, "staff@example.org", store.RoleMemberStaff, smecorp)
	op, _ := ts.person(t, "ops@example.org", store.RoleOperator, "")
	dpo, _ := dpoClient(t, ts)
	learner, _ := ts.person(t, "learner@example.org", store.RoleLearner, "")
	v := trainingValues()
	v.Set("kind", "live")
	training := createTraining(t, staff, v)
	res, _ := learner.postForm(t, "/trainings/"+training+"/enrol", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)

	for _, tc := range []struct {
		who         string
		path, table string
	}{
		{"operator", "/console", "access_grants"},
		{"operator", "/console", "invitations"},
		{"operator", "/console", "outbox"},
		{"operator", "/console", "backups"},
		{"operator", "/console", "jobs"},
		{"dpo", "/console", "rights_cases"},
		{"staff", "/console", "member_staff"},
		{"learner", "/rights", "user_restrictions"},
		{"learner", "/rights", "user_objections"},
		{"learner", "/rights", "rights_cases"},
		{"learner", "/rights", "quiz_attempts"},
		{"learner", "/rights", "legal_holds"},
		{"learner", "/profile", "profiles"},
		{"learner", "/profile", "account_tokens"},
		{"learner", "/profile/2fa", "user_totp"},
		{"learner", "/dashboard", "enrolments"},
		{"learner", "/trainings/" + training, "materials"},
		{"operator", "/console/retention", "retention_rules"},
		{"operator", "/console/retention", "legal_holds"},
		{"operator", "/console/retention", "retention_runs"},
		{"operator", "/console/backups", "backups"},
		{"operator", "/console/backups", "offsite_target"},
		{"operator", "/console/backups", "offsite_files"},
		{"operator", "/console/audit", "audit_log"},
		{"operator", "/console/outbox", "outbox"},
		{"operator", "/console/grants", "access_grants"},
		{"operator", "/console/members/" + smecorp, "member_staff"},
		{"operator", "/console/trainings/" + training, "materials"},
		{"operator", "/console/trainings/" + training, "questions"},
		{"operator", "/console/trainings/" + training, "training_sessions"},
		{"operator", "/console/trainings/" + training, "enrolments"},
		{"staff", "/console/trainings/" + training + "/notify", "notifications"},
		{"staff", "/console/trainings/" + training + "/notify", "mass_mailings"},
		{"dpo", "/console/breaches", "breaches"},
		{"dpo", "/console/policies", "policy_drafts"},
		{"dpo", "/console/rights", "rights_cases"},
	} {
		c := map[string]*testServer{"operator": op, "dpo": dpo, "staff": staff, "learner": learner}[tc.who]
		restore := hide(t, ts, tc.table)
		n := injectedFailures(ts)
		res, body := c.get(t, tc.path)
		restore()
		assert.Equal(t, http.StatusInternalServerError, res.StatusCode, "%s %s without %s", tc.who, tc.path, tc.table)
		assert.NotContains(t, body, "no such table")
		assert.Greater(t, injectedFailures(ts), n, "%s %s without %s", tc.who, tc.path, tc.table)
		res, _ = c.get(t, tc.path)
		require.Equal(t, http.StatusOK, res.StatusCode, "%s %s once %s is back", tc.who, tc.path, tc.table)
	}
}
