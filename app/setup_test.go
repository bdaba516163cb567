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

// setupValues is the form the setup page took before it asked for the
// organisation: it must still be accepted, leaving the settings as they are.
func setupValues() url.Values {
	return url.Values{
		"first_name": {"Ayu"},
		"surname":    {"Lestari"},
		"email":      {"ayu.operator@example.org"},
		"password":   {"correct horse battery"},
	}
}

// organisationValues are setupValues with the organisation filled in.
func organisationValues() url.Values {
	v := setupValues()
	v.Set("site_name", "Pelatihan UMKM")
	v.Set("controller_name", "Lembaga Pelatihan UMKM")
	v.Set("controller_address", "Jl. Merdeka 1\r\nJakarta 10110")
	v.Set("controller_email", "privasi@example.org")
	return v
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

// TestSetupSavesTheOrganisation: the setup page asks for the site's name
// and the controller's identity, stored as /console/settings stores them
// (changed by the new operator, audited), so the console no longer asks to
// set up the organisation. Left empty, the console still asks.
func TestSetupSavesTheOrganisation(t *testing.T) {
	ts := newTestServer(t)
	path := setupPath(t, ts)
	res, body := ts.get(t, path)
	require.Equal(t, http.StatusOK, res.StatusCode)
	form := doc(t, body).Find(`[data-testid="setup-form"]`)
	assert.Equal(t, "kelas", form.Find(`input[name="site_name"]`).AttrOr("value", ""), "the current name, to keep or change")
	assert.Equal(t, 1, form.Find(`input[name="controller_name"]`).Length())
	assert.Equal(t, 1, form.Find(`textarea[name="controller_address"]`).Length())
	assert.Equal(t, "email", form.Find(`input[name="controller_email"]`).AttrOr("type", ""))

	res, _ = ts.postForm(t, path, organisationValues())
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	st, err := ts.store.Settings(t.Context())
	require.NoError(t, err)
	assert.Equal(t, "Pelatihan UMKM", st.Get(store.SettingSiteName))
	assert.Equal(t, "Lembaga Pelatihan UMKM", st.Get(store.SettingControllerName))
	assert.Equal(t, "Jl. Merdeka 1\nJakarta 10110", st.Get(store.SettingControllerAddress), "line breaks normalised")
	assert.Equal(t, "privasi@example.org", st.Get(store.SettingControllerEmail))
	assert.True(t, st.ControllerComplete())
	u, err := ts.store.UserByEmail(t.Context(), "ayu.operator@example.org")
	require.NoError(t, err)
	log, err := ts.store.AuditLog(t.Context(), 10)
	require.NoError(t, err)
	var changed bool
	for _, e := range log {
		if e.Action == store.AuditSettingsChange {
			changed = e.ActorID == u.ID
		}
	}
	assert.True(t, changed, "the settings change is audited, by the new operator")

	enrolOverHTTP(t, ts)
	res, body = ts.get(t, "/console")
	require.Equal(t, http.StatusOK, res.StatusCode)
	d := doc(t, body)
	assert.Zero(t, d.Find(`[data-testid="setup-needed"]`).Length(), "nothing left to set up")
	assert.Contains(t, d.Find("title").Text(), "Pelatihan UMKM")

	t.Run("left empty, the console still asks", func(t *testing.T) {
		ts := newTestServer(t)
		res, _ := ts.postForm(t, setupPath(t, ts), setupValues())
		require.Equal(t, http.StatusSeeOther, res.StatusCode)
		enrolOverHTTP(t, ts)
		res, body := ts.get(t, "/console")
		require.Equal(t, http.StatusOK, res.StatusCode)
		assert.Equal(t, 1, doc(t, body).Find(`[data-testid="setup-needed"]`).Length())
	})
}

// TestSetupRefusesBadOrganisation: the organisation's fields are checked
// as on /console/settings; a refusal names the field, keeps what was typed
// and creates nothing: no account, no setting, the link still works.
func TestSetupRefusesBadOrganisation(t *testing.T) {
	cases := []struct {
		field, value, message string
	}{
		{"controller_email", "not-an-email", "email address like"},
		{"controller_email", "Privasi <privasi@example.org>", "email address like"},
		{"site_name", "", "Enter a name for the site"},
		{"controller_name", "Lembaga\nPelatihan", "fit on one line"},
		{"controller_address", strings.Repeat("x", 501), "at most 500"},
	}
	ts := newTestServer(t)
	path := setupPath(t, ts)
	for _, c := range cases {
		t.Run(c.field+"="+c.value[:min(len(c.value), 12)], func(t *testing.T) {
			v := organisationValues()
			v.Set(c.field, c.value)
			res, body := ts.postForm(t, path, v)
			require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
			d := doc(t, body)
			assert.Contains(t, d.Find(`[data-testid="error-`+c.field+`"]`).Text(), c.message)
			assert.Equal(t, 1, d.Find(`[data-testid="error-summary"] a[href="#`+c.field+`"]`).Length())
			form := d.Find(`[data-testid="setup-form"]`)
			assert.Equal(t, "Ayu", form.Find(`input[name="first_name"]`).AttrOr("value", ""), "the form is kept")
			if c.field != "controller_name" {
				assert.Equal(t, "Lembaga Pelatihan UMKM", form.Find(`input[name="controller_name"]`).AttrOr("value", ""))
			}
			if c.field == "controller_email" {
				assert.Equal(t, c.value, form.Find(`input[name="controller_email"]`).AttrOr("value", ""), "what was typed is shown")
			}
			n, err := ts.store.CountOperators(t.Context())
			require.NoError(t, err)
			assert.Zero(t, n, "no account")
			st, err := ts.store.Settings(t.Context())
			require.NoError(t, err)
			assert.Equal(t, "kelas", st.Get(store.SettingSiteName), "no setting")
			assert.Empty(t, st.Get(store.SettingControllerName))
			ok, err := ts.store.SetupTokenValid(t.Context(), strings.TrimPrefix(path, "/setup/"))
			require.NoError(t, err)
			assert.True(t, ok, "the link still works")
		})
	}
}

// TestSetupAddsSampleTrainingsOnRequest: the sample trainings of --demo
// are offered, unticked; ticked, they are added; left unticked, none is.
func TestSetupAddsSampleTrainingsOnRequest(t *testing.T) {
	trainings := func(t *testing.T, ts *testServer) []string {
		all, err := ts.store.Trainings(t.Context(), store.CatalogueFilter{IncludeUnpublished: true})
		require.NoError(t, err)
		var titles []string
		for _, tr := range all {
			titles = append(titles, tr.Title)
		}
		return titles
	}
	t.Run("ticked", func(t *testing.T) {
		ts := newTestServer(t)
		path := setupPath(t, ts)
		res, body := ts.get(t, path)
		require.Equal(t, http.StatusOK, res.StatusCode)
		box := doc(t, body).Find(`input[type="checkbox"][name="demo"]`)
		require.Equal(t, 1, box.Length())
		_, checked := box.Attr("checked")
		assert.False(t, checked, "unticked by default")

		v := setupValues()
		v.Set("demo", "on")
		res, _ = ts.postForm(t, path, v)
		require.Equal(t, http.StatusSeeOther, res.StatusCode)
		titles := trainings(t, ts)
		assert.Len(t, titles, 3)
		assert.Contains(t, titles, "Digital marketing basics for small businesses")
	})
	t.Run("unticked", func(t *testing.T) {
		ts := newTestServer(t)
		res, _ := ts.postForm(t, setupPath(t, ts), setupValues())
		require.Equal(t, http.StatusSeeOther, res.StatusCode)
		assert.Empty(t, trainings(t, ts))
	})
}
