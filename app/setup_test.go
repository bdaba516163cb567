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

func setupValues() url.Values {
	return url.Values{
		"first_name": {"Ayu"},
		"surname":    {"Lestari"},
		"email":      {"ayu.operator@example.org"},
		"password":   {"correct horse battery"},
	}
}

func setupPath(t *testing.T, ts *testServer) string {
	t.Helper()
	link, err := ts.app.SetupLink(t.Context())
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(link, ts.app.cfg.PublicURL()+"/setup/"), link)
	return strings.TrimPrefix(link, ts.app.cfg.PublicURL())
}

func TestSetupCreatesFirstOperatorOnce(t *testing.T) {
	ts := newTestServer(t)
	path := setupPath(t, ts)

	res, body := ts.get(t, path)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, 1, doc(t, body).Find(`[data-testid="setup-form"]`).Length())

	res, _ = ts.postForm(t, path, setupValues())
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Equal(t, "/profile/2fa", res.Header.Get("Location"), "a second factor before anything else")

	u, err := ts.store.UserByEmail(t.Context(), "AYU.operator@example.org")
	require.NoError(t, err)
	assert.Equal(t, store.RoleOperator, u.Role)
	assert.True(t, u.DPO)
	assert.True(t, u.Verified())

	// Logged in, with the flash shown once, on the second-factor setup.
	res, body = ts.get(t, "/profile/2fa")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, doc(t, body).Find(`[data-testid="flash"]`).Text(), "operator account is ready")
	enrolOverHTTP(t, ts)
	res, body = ts.get(t, "/")
	require.Equal(t, http.StatusOK, res.StatusCode)
	d := doc(t, body)
	assert.Equal(t, 1, d.Find(`a[href="/console"]`).Length())

	// Single use: the link is dead now, and no new link is issued.
	res, body = ts.postForm(t, path, setupValues())
	require.Equal(t, http.StatusNotFound, res.StatusCode)
	assert.Contains(t, body, "setup link is not valid")
	link, err := ts.app.SetupLink(t.Context())
	require.NoError(t, err)
	assert.Empty(t, link)
	n, err := ts.store.CountOperators(t.Context())
	require.NoError(t, err)
	assert.Equal(t, 1, n)
}

func TestSetupRenewsSessionToken(t *testing.T) {
	ts := newTestServer(t)
	path := setupPath(t, ts)
	ts.get(t, path) // no session is created for an anonymous GET
	fixated := &http.Cookie{Name: "kelas_session", Value: "attacker-chosen-token"}
	u, _ := url.Parse(ts.URL)
	ts.client.Jar.SetCookies(u, []*http.Cookie{fixated})
	res, _ := ts.postForm(t, path, setupValues())
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	var got string
	for _, c := range res.Cookies() {
		if c.Name == "kelas_session" {
			got = c.Value
			assert.True(t, c.HttpOnly)
			assert.Equal(t, http.SameSiteLaxMode, c.SameSite)
		}
	}
	require.NotEmpty(t, got)
	assert.NotEqual(t, fixated.Value, got)
}

func TestSecureCookieUnderTLS(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.BaseURL = "https://learn.example.org" })
	assert.Equal(t, "__Host-kelas_session", ts.app.sessions.Cookie.Name)
	assert.True(t, ts.app.sessions.Cookie.Secure)
	assert.Equal(t, "/", ts.app.sessions.Cookie.Path)
	assert.Empty(t, ts.app.sessions.Cookie.Domain)
}

func TestSetupLinkExpires(t *testing.T) {
	ts := newTestServer(t)
	path := setupPath(t, ts)
	ts.clock.Add(setupTTL + time.Minute)
	res, body := ts.get(t, path)
	require.Equal(t, http.StatusNotFound, res.StatusCode)
	assert.Contains(t, body, "has expired")
}

func TestSetupRejectsBadInput(t *testing.T) {
	cases := []struct {
		field, value, message string
	}{
		{"first_name", "", "Enter your first name"},
		{"first_name", strings.Repeat("x", 101), "at most 100"},
		{"first_name", "Ayu\x00", "control characters"},
		{"first_name", "\xff\xfe", "invalid characters"},
		{"surname", "", "Enter your surname"},
		{"email", "not-an-email", "email address like"},
		{"email", "Ayu <ayu@example.org>", "email address like"},
		{"email", strings.Repeat("a", 250) + "@example.org", "at most 254"},
		{"password", "short", "at least 12"},
		{"password", strings.Repeat("p", 73), "at most 72 bytes"},
	}
	ts := newTestServer(t)
	path := setupPath(t, ts)
	for _, c := range cases {
		t.Run(c.field+"="+c.value[:min(len(c.value), 12)], func(t *testing.T) {
			v := setupValues()
			v.Set(c.field, c.value)
			res, body := ts.postForm(t, path, v)
			require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
			d := doc(t, body)
			assert.Contains(t, d.Find(`[data-testid="error-`+c.field+`"]`).Text(), c.message)
			assert.Equal(t, 1, d.Find(`[data-testid="error-summary"] a[href="#`+c.field+`"]`).Length())
			assert.Equal(t, c.field+"-error", strings.Fields(d.Find("#"+c.field).AttrOr("aria-describedby", ""))[len(strings.Fields(d.Find("#"+c.field).AttrOr("aria-describedby", "")))-1])
			assert.NotContains(t, body, "correct horse", "the password is never echoed")
			n, err := ts.store.CountOperators(t.Context())
			require.NoError(t, err)
			assert.Zero(t, n, "nothing stored")
		})
	}
	t.Run("script payload is escaped", func(t *testing.T) {
		v := setupValues()
		v.Set("first_name", `<script>alert(1)</script>`)
		v.Set("email", "bad")
		res, body := ts.postForm(t, path, v)
		require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
		assert.NotContains(t, body, "<script>alert(1)")
		assert.Contains(t, body, "&lt;script&gt;")
	})
	t.Run("field sent twice", func(t *testing.T) {
		v := setupValues()
		v.Add("email", "other@example.org")
		res, _ := ts.postForm(t, path, v)
		require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	})
}
