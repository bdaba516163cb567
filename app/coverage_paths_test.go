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
