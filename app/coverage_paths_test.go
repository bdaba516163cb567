package app

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"kelas/store"
)

// TestServeRefusesToStartHalfway: a CA root that cannot be read or holds
// no certificate, and a listen address already taken, stop Serve with an
// error before it answers anything.
func TestServeRefusesToStartHalfway(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer taken.Close()
	notPEM := filepath.Join(t.TempDir(), "root.pem")
	require.NoError(t, os.WriteFile(notPEM, []byte("not a certificate"), 0o600))

	for name, tc := range map[string]struct {
		mod  func(*Config)
		want string
	}{
		"CA root missing": {func(c *Config) {
			c.Domain, c.ACMECARoot = "learn.example.org", filepath.Join(t.TempDir(), "missing.pem")
		}, "KELAS_ACME_CA_ROOT"},
		"CA root without a certificate": {func(c *Config) { c.Domain, c.ACMECARoot = "learn.example.org", notPEM }, "no PEM certificate"},
		"address taken":                 {func(c *Config) { c.Addr = taken.Addr().String() }, "listen"},
		"redirect address taken": {func(c *Config) {
			c.Domain, c.HTTPSAddr, c.HTTPAddr = "learn.example.org", "127.0.0.1:0", taken.Addr().String()
		}, "listen"},
	} {
		t.Run(name, func(t *testing.T) {
			ts := newTestServer(t, tc.mod)
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			readied := false
			err := ts.app.Serve(ctx, func(string) { readied = true })
			require.ErrorContains(t, err, tc.want)
			assert.False(t, readied, "never ready")
		})
	}
}

// TestErasureRequestAsksForThePassword: an erasure without the password,
// or after too many wrong ones, is refused on the form and opens no case;
// a request that is not an erasure cannot be cancelled.
func TestErasureRequestAsksForThePassword(t *testing.T) {
	fx := newRightsFixture(t)
	c, u, ts := fx.learner, fx.user, fx.ts
	openErasure := func() bool {
		_, err := ts.store.OpenCase(t.Context(), u.ID, store.CaseErasure)
		return err == nil
	}
	res, body := c.postForm(t, "/rights/erasure", url.Values{"password": {""}})
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	assert.NotEmpty(t, doc(t, body).Find(`#erasure-password-error`).Text())
	for range 5 {
		res, _ = c.postForm(t, "/rights/erasure", url.Values{"password": {"not my password"}})
		require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	}
	res, _ = c.postForm(t, "/rights/erasure", url.Values{"password": {fixturePassword}})
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode, "paused after five wrong passwords, even for the right one")
	assert.False(t, openErasure())
	ts.clock.Add(16 * time.Minute)
	res, _ = c.postForm(t, "/rights/erasure", url.Values{"password": {fixturePassword}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.True(t, openErasure())

	res, _ = c.postForm(t, "/rights/objections", url.Values{"object_statistics": {"on"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	cs, err := ts.store.Cases(t.Context(), store.CaseFilter{UserID: u.ID, Kind: store.CaseObjection})
	require.NoError(t, err)
	require.Len(t, cs, 1)
	res, _ = c.postForm(t, "/rights/cases/"+cs[0].ID+"/cancel", nil)
	assert.Equal(t, http.StatusConflict, res.StatusCode)
}

// TestOfficerStepsOnClosedOrUnmailableRequests: a closed request cannot be
// extended; an export made on the person's behalf is recorded even when
// the mail telling them cannot be queued, and that failure is logged.
func TestOfficerStepsOnClosedOrUnmailableRequests(t *testing.T) {
	fx := newRightsFixture(t)
	closed := fx.recordRequest(t, letterFrom(fx, fx.user.Email, store.CaseRectification))
	res, _ := fx.dpo.postForm(t, "/console/rights/"+closed, url.Values{"action": {"complete"}, "note": {"Corrected."}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	res, _ = fx.dpo.postForm(t, "/console/rights/"+closed+"/extend", url.Values{"months": {"1"}, "reason": {"Waiting for the Member's records."}})
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	assert.False(t, mustCase(t, fx, closed).Extended)

	access := fx.recordRequest(t, letterFrom(fx, fx.user.Email, store.CaseAccess))
	fault(t, fx.ts, "INSERT", "outbox")
	res, _ = fx.dpo.postForm(t, "/console/rights/"+access+"/export", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Equal(t, store.CaseCompleted, mustCase(t, fx, access).Status)
	assert.Contains(t, fx.ts.logs.String(), "export on behalf mail")
}

// TestMaterialWhoseFileIsGone: a file material whose stored file was lost
// (a restore without the files folder) answers 404, not an error page.
func TestMaterialWhoseFileIsGone(t *testing.T) {
	ts := newTestServer(t)
	staff, _ := ts.person(t, "staff@example.org", store.RoleMemberStaff, member(t, ts, "SME Corporation Malaysia"))
	id := createTraining(t, staff, trainingValues())
	res, _ := staff.postMultipart(t, "/console/trainings/"+id+"/materials", url.Values{"material_kind": {"file"},
		"material_title": {"Template"}}, "material_file", "template.txt", []byte("Date, sale, amount\n"))
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	ms, err := ts.store.Materials(t.Context(), id)
	require.NoError(t, err)
	require.Len(t, ms, 1)
	learner, _ := ts.person(t, "learner@example.org", store.RoleLearner, "")
	res, _ = learner.postForm(t, "/trainings/"+id+"/enrol", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	path := "/trainings/" + id + "/materials/" + ms[0].ID + "/file"
	res, got := learner.get(t, path)
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Equal(t, "Date, sale, amount\n", got)

	require.NoError(t, os.Remove(filepath.Join(ts.app.cfg.DataDir, "files", ms[0].ID)))
	res, _ = learner.get(t, path)
	assert.Equal(t, http.StatusNotFound, res.StatusCode)
	assert.NotContains(t, ts.logs.String(), "request failed", "a lost file is not a server fault")
}

// TestRequestMailFailuresAreLoggedNotLost: when the notices of a new
// erasure request (to the person and to the privacy officers) cannot be
// queued, the request still stands and the failures are logged.
func TestRequestMailFailuresAreLoggedNotLost(t *testing.T) {
	fx := newRightsFixture(t)
	fault(t, fx.ts, "INSERT", "outbox")
	res, _ := fx.learner.postForm(t, "/rights/erasure", url.Values{"password": {fixturePassword}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	c, err := fx.ts.store.OpenCase(t.Context(), fx.user.ID, store.CaseErasure)
	require.NoError(t, err, "the request stands")
	logs := fx.ts.logs.String()
	assert.Contains(t, logs, "erasure scheduled mail")
	assert.Contains(t, logs, "privacy officer mail")
	assert.Contains(t, logs, c.ID)
	assert.NotContains(t, logs, fx.user.Email, "ids in the log, never the address")
}

// TestPublicStatsNameWhatWasNotGiven: with cells of one shown, views that
// sent no language and no referrer are listed under a label, not as an
// empty cell.
func TestPublicStatsNameWhatWasNotGiven(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.TrustedProxies = mustPrefixes(t, "127.0.0.0/8"); c.StatsMinCell = 1 })
	require.Equal(t, http.StatusOK, ts.view(t, "/", testIP, testUA).StatusCode)
	ts.flushStats(t)
	res, body := ts.get(t, "/stats")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, body, "(not given)")
	assert.Contains(t, body, "(direct or not given)")
}

// TestAuditFailureAfterTheActionIsLogged: an announcement whose mailing is
// recorded, and a request recorded by the officer, stand when their audit
// entry cannot be written (the mail may be on its way; the case exists);
// the failure is logged with ids for the operator to re-enter.
func TestAuditFailureAfterTheActionIsLogged(t *testing.T) {
	fx := newRightsFixture(t)
	ts := fx.ts
	staff, _ := ts.person(t, "staff@example.org", store.RoleMemberStaff, member(t, ts, "SME Corporation Malaysia"))
	training := createTraining(t, staff, trainingValues())
	fault(t, ts, "INSERT", "audit_log")

	res, _ := staff.postForm(t, "/console/trainings/"+training+"/announce", url.Values{"country": {"MY"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Contains(t, ts.logs.String(), "audit failed")
	assert.Contains(t, ts.logs.String(), training)

	id := fx.recordRequest(t, letterFrom(fx, fx.user.Email, store.CaseAccess))
	assert.Equal(t, store.CaseOpen, mustCase(t, fx, id).Status)
	assert.Contains(t, ts.logs.String(), "audit log write failed")
	assert.NotContains(t, ts.logs.String(), fx.user.Email)
}

// TestThrottleForgetsExpiredWindowsWhenFull: a limiter holding as many keys
// as it may drops the expired windows first, and only then the oldest live
// one, so a flood of new addresses cannot grow it without bound nor wipe
// out a window that still counts.
func TestThrottleForgetsExpiredWindowsWhenFull(t *testing.T) {
	clock := &testClock{now: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	l := newLimiter(1, time.Minute, clock.Now)
	l.maxKeys = 3
	l.hit("old-1")
	l.hit("old-2")
	clock.Add(2 * time.Minute)
	l.hit("live")
	l.hit("new") // full: the two expired windows go
	blocked, _ := l.blocked("live")
	assert.True(t, blocked, "the live window survives")
	assert.Len(t, l.hits, 2)
	l.hit("newer")
	l.hit("newest") // full of live windows: the oldest goes
	assert.Len(t, l.hits, 3)
	blocked, _ = l.blocked("live")
	assert.False(t, blocked, "evicted as the oldest")
}
