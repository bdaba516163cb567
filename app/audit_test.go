package app

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"kelas/store"
)

// loginAs creates an account with role and logs the test client in as it.
func loginAs(t *testing.T, ts *testServer, name string, role store.Role) store.User {
	t.Helper()
	const password = "correct horse battery"
	hash, err := bcrypt.GenerateFromPassword([]byte(password), 4)
	require.NoError(t, err)
	u, err := ts.store.CreateUser(t.Context(), store.NewUser{AcceptedPolicy: seededPolicy, Email: name + "@example.test", FirstName: name, Surname: "Tester",
		PasswordHash: string(hash), Role: role, Verified: true})
	require.NoError(t, err)
	res := ts.signIn(t, u.Email, password)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	u, err = ts.store.User(t.Context(), u.ID)
	require.NoError(t, err)
	return u
}

func TestSetupIsAudited(t *testing.T) {
	ts := newTestServer(t)
	res, _ := ts.postForm(t, setupPath(t, ts), setupValues())
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	log, err := ts.store.AuditLog(t.Context(), 10)
	require.NoError(t, err)
	require.Len(t, log, 1)
	assert.Equal(t, store.AuditSetupComplete, log[0].Action)
	u, err := ts.store.UserByEmail(t.Context(), "ayu.operator@example.org")
	require.NoError(t, err)
	assert.Equal(t, u.ID, log[0].ActorID)
	assert.Equal(t, u.ID, log[0].TargetID)
}

// TestOperationsPagesAreForOperatorsOnly: visitors and learners get 403 on
// every operations page and action, and nothing changes.
func TestOperationsPagesAreForOperatorsOnly(t *testing.T) {
	ts := newTestServer(t)
	// A visitor is sent to log in; a signed-in learner is refused.
	check := func(want int) func(t *testing.T) {
		return func(t *testing.T) {
			for _, path := range []string{"/console/retention", "/console/backups", "/console/audit", "/console/backups/" + store.NewID() + "/download"} {
				res, _ := ts.get(t, path)
				assert.Equal(t, want, res.StatusCode, path)
			}
			for _, path := range []string{"/console/retention/rules", "/console/retention/holds", "/console/backups/run",
				"/console/retention/holds/" + store.NewID() + "/release"} {
				res, _ := ts.postForm(t, path, url.Values{"keep_access_log": {"3"}, "category": {"audit_log"}, "reason": {"x"}})
				assert.Equal(t, want, res.StatusCode, path)
			}
		}
	}
	t.Run("visitor", check(http.StatusSeeOther))
	loginAs(t, ts, "learner", store.RoleLearner)
	t.Run("learner", check(http.StatusForbidden))
	r, err := ts.store.RetentionRule(t.Context(), store.RetAccessLog)
	require.NoError(t, err)
	assert.Equal(t, 14, r.Keep)
	holds, err := ts.store.LegalHolds(t.Context(), true)
	require.NoError(t, err)
	assert.Empty(t, holds)
	bs, err := ts.store.Backups(t.Context(), 10)
	require.NoError(t, err)
	assert.Empty(t, bs)
}

func TestAuditPageShowsChainStatus(t *testing.T) {
	ts := newTestServer(t)
	op := loginAs(t, ts, "auditor", store.RoleOperator)
	ts.app.audit(t.Context(), op.ID, "test.action", "user", op.ID, nil)
	res, body := ts.get(t, "/console/audit")
	require.Equal(t, http.StatusOK, res.StatusCode)
	d := doc(t, body)
	assert.Equal(t, 1, d.Find(`[data-testid="audit-ok"]`).Length())
	assert.Contains(t, d.Find(`[data-testid="audit"]`).Text(), "test.action")
	assert.False(t, strings.Contains(body, "auditor@example.test"), "the page shows ids, not addresses")
}
