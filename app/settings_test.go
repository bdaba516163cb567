package app

import (
	"bytes"
	"image/png"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"kelas/i18n"
	"kelas/store"
)

// settingsValues is a complete, valid settings form at revision rev.
func settingsValues(t *testing.T, ts *testServer) url.Values {
	t.Helper()
	st, err := ts.store.Settings(t.Context())
	require.NoError(t, err)
	v := url.Values{"revision": {strconv.FormatInt(st.Revision, 10)}}
	for k, x := range st.Values {
		v.Set(k, x)
	}
	return v
}

func TestEverySettingHasItsTexts(t *testing.T) {
	en := i18n.Get(i18n.Default)
	for _, k := range store.SettingKeys() {
		assert.True(t, en.Has("settings.field."+k), k)
		assert.True(t, en.Has("settings.hint."+k), k)
	}
}

// TestSettingsSavedAndShown: an operator names the site and the
// controller; the name is in every page's title and header, the console's
// set-up reminder goes away, and the change is audited by key only.
func TestSettingsSavedAndShown(t *testing.T) {
	ts := newTestServer(t)
	op, _ := ts.person(t, "ops@example.org", store.RoleOperator, "")
	res, body := op.get(t, "/console")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, 1, doc(t, body).Find(`[data-testid="setup-needed"]`).Length(), "a fresh install asks to set up the organisation")

	v := settingsValues(t, ts)
	v.Set("site_name", "Latihan UKM")
	v.Set("controller_name", "SME Programme Office")
	v.Set("controller_address", "Jl. Merdeka 1\r\nJakarta 10110")
	v.Set("controller_email", "privacy@example.org")
	v.Set("dpo_name", "Dewi Lestari")
	v.Set("authority_url", "https://authority.example.org/complaints")
	v.Set("accent_color", "#1A5276")
	res, _ = op.postMultipart(t, "/console/settings", v, "", "", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	st, err := ts.store.Settings(t.Context())
	require.NoError(t, err)
	assert.Equal(t, "Jl. Merdeka 1\nJakarta 10110", st.Get("controller_address"), "line breaks normalised")
	assert.Equal(t, "#1a5276", st.Get("accent_color"), "colours are kept lower-case")

	res, body = op.get(t, "/console")
	require.Equal(t, http.StatusOK, res.StatusCode)
	d := doc(t, body)
	assert.Zero(t, d.Find(`[data-testid="setup-needed"]`).Length(), "the reminder is gone")
	assert.Equal(t, "Latihan UKM", strings.TrimSpace(d.Find(".brand").Text()))
	assert.Contains(t, d.Find("title").Text(), "Latihan UKM")
	res, body = ts.newClient(t).get(t, "/trainings")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, doc(t, body).Find("title").Text(), "Latihan UKM", "visitors see the name too")

	log, err := ts.store.AuditLog(t.Context(), 5)
	require.NoError(t, err)
	require.Equal(t, store.AuditSettingsChange, log[0].Action)
	assert.NotContains(t, log[0].Details, "Dewi", "the audit names keys, not values")
	assert.ElementsMatch(t, []any{"site_name", "controller_name", "controller_address", "controller_email", "dpo_name", "authority_url", "accent_color"},
		log[0].Details["keys"])
}

// TestSettingsRefuseBadInput: each bad value is refused at its field with
// 422, and nothing is saved.
func TestSettingsRefuseBadInput(t *testing.T) {
	ts := newTestServer(t)
	op, _ := ts.person(t, "ops@example.org", store.RoleOperator, "")
	for field, bad := range map[string]string{
		"controller_email": "not an address",
		"dpo_email":        "Dewi <dewi@example.org>",
		"authority_url":    "javascript:alert(1)",
		"accent_color":     "#ffff00", // white on yellow is unreadable
		"site_name":        "",
		"default_language": "de",
		"default_timezone": "Mars/Olympus",
		"controller_phone": "call me",
		"mail_sender_name": "Evil\" <x@example.org>",
		"site_tagline":     strings.Repeat("x", 161),
		"controller_name":  "two\nlines",
	} {
		t.Run(field, func(t *testing.T) {
			before, err := ts.store.Settings(t.Context())
			require.NoError(t, err)
			v := settingsValues(t, ts)
			v.Set(field, bad)
			res, body := op.postMultipart(t, "/console/settings", v, "", "", nil)
			require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
			d := doc(t, body)
			assert.NotEmpty(t, strings.TrimSpace(d.Find(`[data-testid="error-`+field+`"]`).Text()), "the message is at the field")
			after, err := ts.store.Settings(t.Context())
			require.NoError(t, err)
			assert.Equal(t, before, after, "nothing saved")
		})
	}
	v := settingsValues(t, ts)
	v.Set("accent_color", "#ffff00")
	_, body := op.postMultipart(t, "/console/settings", v, "", "", nil)
	assert.Contains(t, doc(t, body).Find(`[data-testid="error-accent_color"]`).Text(), "1.0 to 1", "the ratio is given")
}

// TestSettingsLogo: a PNG is redrawn and served; SVG, a file over 1 MB
// and a decompression bomb are refused at the field.
func TestSettingsLogo(t *testing.T) {
	ts := newTestServer(t)
	op, _ := ts.person(t, "ops@example.org", store.RoleOperator, "")
	for _, tc := range []struct {
		name string
		file []byte
		ok   bool
	}{
		{"svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`), false},
		{"large", append(pngWithText(t, 10, 10), bytes.Repeat([]byte{0}, 1<<20)...), false},
		{"bomb", pngBomb(50000, 50000), false},
		{"png", pngWithText(t, 40, 20), true},
	} {
		name := tc.name
		t.Run(name, func(t *testing.T) {
			res, body := op.postMultipart(t, "/console/settings", settingsValues(t, ts), "logo", "logo."+name, tc.file)
			if !tc.ok {
				require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
				assert.NotEmpty(t, doc(t, body).Find(`[data-testid="error-logo"]`).Text())
				st, err := ts.store.Settings(t.Context())
				require.NoError(t, err)
				assert.Nil(t, st.Logo)
				return
			}
			require.Equal(t, http.StatusSeeOther, res.StatusCode)
			res, body = ts.newClient(t).get(t, "/logo")
			require.Equal(t, http.StatusOK, res.StatusCode)
			assert.Equal(t, "image/png", res.Header.Get("Content-Type"))
			img, err := png.Decode(strings.NewReader(body))
			require.NoError(t, err)
			assert.Equal(t, 40, img.Bounds().Dx())
			assert.NotContains(t, body, "SECRET", "redrawn: the text chunk is gone")
		})
	}
	v := settingsValues(t, ts)
	v.Set("remove_logo", "on")
	res, _ := op.postMultipart(t, "/console/settings", v, "", "", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	res, _ = ts.newClient(t).get(t, "/logo")
	assert.Equal(t, http.StatusNotFound, res.StatusCode)
}

// TestSettingsConflict: two operators open the form; the second one's
// save, made from the older page, is refused with 409, saves nothing, and
// shows both the saved value and the one they had entered.
func TestSettingsConflict(t *testing.T) {
	ts := newTestServer(t)
	a, _ := ts.person(t, "ops-a@example.org", store.RoleOperator, "")
	b, _ := ts.person(t, "ops-b@example.org", store.RoleOperator, "")
	formA, formB := settingsValues(t, ts), settingsValues(t, ts)
	formA.Set("dpo_email", "dpo-a@example.org")
	res, _ := a.postMultipart(t, "/console/settings", formA, "", "", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	formB.Set("controller_name", "Office B")
	res, body := b.postMultipart(t, "/console/settings", formB, "", "", nil)
	require.Equal(t, http.StatusConflict, res.StatusCode)
	d := doc(t, body)
	assert.Contains(t, d.Find(`[data-testid="error-summary"]`).Text(), "Another operator saved the settings")
	assert.Equal(t, "dpo-a@example.org", d.Find(`#dpo_email`).AttrOr("value", ""), "what A saved is shown")
	assert.Contains(t, d.Find(`[data-testid="yours-controller_name"]`).Text(), "Office B", "what B entered is not lost")
	st, err := ts.store.Settings(t.Context())
	require.NoError(t, err)
	assert.Equal(t, "dpo-a@example.org", st.Get("dpo_email"), "A's change kept")
	assert.Empty(t, st.Get("controller_name"), "B's stale form saved nothing")
}

// TestIdentityOnTheNoticeAndEveryPage: the controller, the privacy officer
// and the authority entered in the settings are on /privacy with the
// right to complain, and the controller in every page's footer.
func TestIdentityOnTheNoticeAndEveryPage(t *testing.T) {
	ts := newTestServer(t)
	st, err := ts.store.Settings(t.Context())
	require.NoError(t, err)
	_, err = ts.store.SaveSettings(t.Context(), "x", st.Revision, map[string]string{
		store.SettingSiteName: "Latihan UKM", store.SettingControllerName: "SME Programme Office",
		store.SettingControllerAddress: "Jl. Merdeka 1\nJakarta 10110", store.SettingControllerEmail: "privacy@example.org",
		store.SettingDPOName: "Dewi Lestari", store.SettingDPOEmail: "dpo@example.org",
		store.SettingAuthorityName: "the Data Protection Authority", store.SettingAuthorityURL: "https://authority.example.org/complaints"})
	require.NoError(t, err)
	visitor := ts.newClient(t)
	res, body := visitor.get(t, "/privacy")
	require.Equal(t, http.StatusOK, res.StatusCode)
	d := doc(t, body)
	id := d.Find(`[data-testid="notice-identity"]`).Text()
	for _, want := range []string{"SME Programme Office is responsible", "Jakarta 10110", "privacy@example.org", "Dewi Lestari",
		"dpo@example.org", "right to complain to the Data Protection Authority"} {
		assert.Contains(t, id, want)
	}
	assert.Equal(t, 1, d.Find(`a[href="https://authority.example.org/complaints"]`).Length())
	for _, path := range []string{"/", "/trainings", "/privacy", "/login"} {
		_, body := visitor.get(t, path)
		assert.Contains(t, doc(t, body).Find(`[data-testid="footer-controller"]`).Text(), "Latihan UKM is run by SME Programme Office", path)
	}
}
