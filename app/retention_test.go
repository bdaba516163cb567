package app

import (
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"kelas/store"
)

func rulesForm(t *testing.T, ts *testServer) url.Values {
	t.Helper()
	rules, err := ts.store.RetentionRules(t.Context())
	require.NoError(t, err)
	v := url.Values{}
	for _, r := range rules {
		if r.Editable {
			v.Set("keep_"+r.Category, strconv.Itoa(r.Keep))
		}
	}
	return v
}

func TestRetentionConsoleEditsRules(t *testing.T) {
	ts := newTestServer(t)
	op := loginAs(t, ts, "retention", store.RoleOperator)

	res, body := ts.get(t, "/console/retention")
	require.Equal(t, http.StatusOK, res.StatusCode)
	d := doc(t, body)
	assert.Equal(t, "14", d.Find(`#keep_access_log`).AttrOr("value", ""))
	assert.Equal(t, 0, d.Find(`#keep_sessions`).Length(), "fixed rules have no input")
	assert.Contains(t, d.Find(`[data-testid="rule-activity_ip"]`).Text(), "30 days")

	for _, tc := range []struct {
		name, field, value, msg string
	}{
		{"not a number", "keep_access_log", "two weeks", "whole number"},
		{"out of bounds", "keep_audit_log", "10", "from 365 to 3650"},
		{"IP kept longer than its prefix", "keep_activity_ip", "120", "cannot be kept longer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := rulesForm(t, ts)
			v.Set(tc.field, tc.value)
			res, body := ts.postForm(t, "/console/retention/rules", v)
			require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
			d := doc(t, body)
			assert.Contains(t, d.Find(`[data-testid="error-`+tc.field+`"]`).Text(), tc.msg)
			assert.Equal(t, tc.value, d.Find("#"+tc.field).AttrOr("value", ""), "what was typed is shown again")
			assert.Equal(t, 1, d.Find(`[data-testid="error-summary"] a[href="#`+tc.field+`"]`).Length())
			r, err := ts.store.RetentionRule(t.Context(), store.RetAccessLog)
			require.NoError(t, err)
			assert.Equal(t, 14, r.Keep, "nothing saved")
		})
	}

	v := rulesForm(t, ts)
	v.Set("keep_access_log", "7")
	res, _ = ts.postForm(t, "/console/retention/rules", v)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Equal(t, "/console/retention", res.Header.Get("Location"))
	r, err := ts.store.RetentionRule(t.Context(), store.RetAccessLog)
	require.NoError(t, err)
	assert.Equal(t, 7, r.Keep)
	assert.Equal(t, op.ID, r.UpdatedBy)
	log, err := ts.store.AuditLog(t.Context(), 1)
	require.NoError(t, err)
	assert.Equal(t, store.AuditRetentionRule, log[0].Action)
	assert.Equal(t, op.ID, log[0].ActorID)
}

func TestRetentionConsoleHolds(t *testing.T) {
	ts := newTestServer(t)
	loginAs(t, ts, "holder", store.RoleOperator)
	learner, err := ts.store.CreateUser(t.Context(), store.NewUser{AcceptedPolicy: seededPolicy, Email: "held@example.test", FirstName: "Held", Surname: "Person",
		PasswordHash: "x", Role: store.RoleLearner})
	require.NoError(t, err)

	res, body := ts.postForm(t, "/console/retention/holds", url.Values{"reason": {"case 12"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	assert.Contains(t, doc(t, body).Find(`[data-testid="error-user_id"]`).Text(), "either a person or a category")
	res, body = ts.postForm(t, "/console/retention/holds", url.Values{"user_id": {learner.ID}})
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	assert.Equal(t, 1, doc(t, body).Find(`[data-testid="error-reason"]`).Length())
	assert.Equal(t, learner.ID, doc(t, body).Find("#user_id").AttrOr("value", ""))

	res, _ = ts.postForm(t, "/console/retention/holds", url.Values{"user_id": {learner.ID}, "reason": {"Case 2026-14"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	res, _ = ts.postForm(t, "/console/retention/holds", url.Values{"category": {store.RetAudit}, "reason": {"Regulator inquiry"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)

	holds, err := ts.store.LegalHolds(t.Context(), false)
	require.NoError(t, err)
	require.Len(t, holds, 2)
	res, body = ts.get(t, "/console/retention")
	require.Equal(t, http.StatusOK, res.StatusCode)
	table := doc(t, body).Find(`[data-testid="holds"]`).Text()
	assert.Contains(t, table, "Case 2026-14")
	assert.Contains(t, table, learner.ID)
	assert.Contains(t, table, "Audit log")

	for _, h := range holds {
		res, _ = ts.postForm(t, "/console/retention/holds/"+h.ID+"/release", nil)
		require.Equal(t, http.StatusSeeOther, res.StatusCode)
	}
	res, _ = ts.postForm(t, "/console/retention/holds/"+holds[0].ID+"/release", nil)
	assert.Equal(t, http.StatusNotFound, res.StatusCode, "already released")
	res, _ = ts.postForm(t, "/console/retention/holds/not-an-id/release", nil)
	assert.Equal(t, http.StatusNotFound, res.StatusCode)
	holds, err = ts.store.LegalHolds(t.Context(), false)
	require.NoError(t, err)
	assert.Empty(t, holds)
}

// TestRetentionJobAndReport runs the retention job and finds the purge in
// the console's report.
func TestRetentionJobAndReport(t *testing.T) {
	ts := newTestServer(t)
	loginAs(t, ts, "reporter", store.RoleOperator)
	old := ts.clock.Now().Add(-20 * 24 * time.Hour)
	require.NoError(t, ts.store.WriteAccessLog(t.Context(), []store.AccessEntry{
		{At: old, Method: "GET", Route: "GET /", Status: 200, IP: netip.MustParseAddr("192.0.2.1")},
		{At: old, Method: "GET", Route: "GET /", Status: 200, IP: netip.MustParseAddr("192.0.2.2")},
	}))
	require.NoError(t, ts.jobs.RunNow(t.Context(), "retention"))
	res, body := ts.get(t, "/console/retention")
	require.Equal(t, http.StatusOK, res.StatusCode)
	d := doc(t, body)
	assert.Contains(t, d.Find(`[data-testid="rule-access_log"]`).Text(), "2 rows")
	assert.Contains(t, d.Find(`[data-testid="purge-log"]`).Text(), "Web server access log")
}

// TestAccessLogRecordsRoutesNotPaths drives requests through the full
// handler and writes the access log: route patterns instead of paths (no
// tokens), referrer domains, browser families, sealed addresses, and no
// link to an account.
func TestAccessLogRecordsRoutesNotPaths(t *testing.T) {
	ts := newTestServer(t)
	loginAs(t, ts, "visitor", store.RoleLearner) // logged in, yet nothing links the lines to the account
	token := "Tokenzqxjv" + strings.Repeat("a", 33)
	req, err := http.NewRequest(http.MethodGet, ts.URL+"/password/reset/"+token, nil)
	require.NoError(t, err)
	req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0")
	req.Header.Set("Referer", "https://search.example.net/q?secret=1")
	res, _ := ts.do(t, req)
	ts.get(t, "/static/kelas.css")
	ts.get(t, "/healthz")
	require.NoError(t, ts.app.flushAccessLog(t.Context()))

	log, err := ts.store.AccessLog(t.Context(), 10)
	require.NoError(t, err)
	var reset *store.AccessEntry
	for i, e := range log {
		assert.NotContains(t, e.Route, "static")
		assert.NotContains(t, e.Route, "healthz")
		if e.Route == "GET /password/reset/{token}" {
			reset = &log[i]
		}
	}
	require.NotNil(t, reset, "%v", log)
	assert.Equal(t, "Firefox", reset.Browser)
	assert.Equal(t, "search.example.net", reset.Referrer)
	assert.Equal(t, res.StatusCode, reset.Status)
	assert.Equal(t, netip.MustParseAddr("127.0.0.1"), reset.IP)

	for name, b := range readDir(t, ts.store.Dir()) {
		assert.NotContains(t, string(b), "Tokenzqxjv", name)
		assert.NotContains(t, string(b), "secret=1", name)
	}
}

func readDir(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		if e.Type().IsRegular() {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			require.NoError(t, err)
			out[e.Name()] = b
		}
	}
	return out
}

// TestAccessLogBrowserAndReferrer: the access log reuses the statistics'
// parsing (stats.go) but keeps bots and tools, as "Bot".
func TestAccessLogBrowserAndReferrer(t *testing.T) {
	for ua, want := range map[string]string{
		"": "",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36 Edg/126.0": "Edge",
		"Mozilla/5.0 (Macintosh) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15":                         "Safari",
		"Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36":              "Chrome",
		"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)":                                              "Bot",
		"curl/8.5.0": "Bot",
	} {
		assert.Equal(t, want, accessBrowser(ua), ua)
	}
	for _, tc := range []struct{ ref, host, want string }{
		{"", "kelas.test", ""},
		{"https://kelas.test/trainings", "kelas.test", ""},
		{"http://127.0.0.1:8080/x", "127.0.0.1:8080", ""},
		{"https://Search.Example.NET/path?q=secret", "kelas.test", "search.example.net"},
		{"android-app://com.example", "kelas.test", ""},
		{"::not a url", "kelas.test", ""},
	} {
		assert.Equal(t, tc.want, referrerDomain(tc.ref, tc.host), tc.ref)
	}
}

// The hold form is checked like every other: one value per field, valid
// UTF-8, no control characters in the single-line reason.
func TestRetentionHoldFormChecked(t *testing.T) {
	ts := newTestServer(t)
	loginAs(t, ts, "holder", store.RoleOperator)
	for name, v := range map[string]url.Values{
		"terminal escape": {"category": {store.RetAudit}, "reason": {"Case 12\x1b[2J"}},
		"line break":      {"category": {store.RetAudit}, "reason": {"Case 12\nsecond line"}},
		"invalid UTF-8":   {"category": {store.RetAudit}, "reason": {"Case \xff12"}},
		"reason twice":    {"category": {store.RetAudit}, "reason": {"Case 12", "Case 13"}},
	} {
		t.Run(name, func(t *testing.T) {
			res, body := ts.postForm(t, "/console/retention/holds", v)
			require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
			assert.Equal(t, 1, doc(t, body).Find(`[data-testid="error-reason"]`).Length())
		})
	}
	holds, err := ts.store.LegalHolds(t.Context(), false)
	require.NoError(t, err)
	assert.Empty(t, holds, "nothing stored")
}
