package app

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"kelas/i18n"
	"kelas/store"
)

// TestAccountCodesHaveMessages: every industry and gender code, whose
// names are looked up by a key built from the code, has its message, and
// so does every reason PasswordProblem gives and every field label the
// account forms pass to the form reader.
func TestAccountCodesHaveMessages(t *testing.T) {
	en := i18n.Get(i18n.Default)
	for _, in := range store.Industries() {
		assert.True(t, en.Has("accounts.industry."+in.Code), in.Code)
		assert.Equal(t, in.Name, industryName(t.Context(), in.Code), "the English name is the store's")
	}
	for _, g := range store.Genders() {
		assert.True(t, en.Has("accounts.gender."+g.Code), g.Code)
		assert.Equal(t, g.Name, genderName(t.Context(), g.Code))
	}
	for _, key := range []string{"password.empty", "password.invalid_characters", "password.too_long",
		"password.too_short_privileged", "password.too_short", "password.personal", "password.too_easy"} {
		assert.True(t, en.Has(key), key)
	}
	for _, key := range []string{"form.field.first_name", "form.field.surname", "form.field.email", "form.field.country",
		"form.field.company", "form.field.industry", "form.field.gender", "profile.field.description",
		"profile.field.additional_names", "profile.field.interests", "profile.field.id_number", "profile.field.institution",
		"profile.field.department", "profile.field.phone", "profile.field.mobile", "profile.field.address"} {
		assert.True(t, en.Has(key), key)
	}
}

// TestSavedLanguage: registration saves the page's language as the
// person's own (English for the pseudo-locale); the profile offers every
// language named in itself and saves the one chosen.
func TestSavedLanguage(t *testing.T) {
	ts := newTestServer(t)
	ts.app.cfg.PseudoLocale = true
	res, _ := ts.postForm(t, "/register?lang=th", registration())
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	u, err := ts.store.UserByEmail(t.Context(), "siti.rahmawati@example.org")
	require.NoError(t, err)
	assert.Equal(t, "th", u.Language)

	pseudo := ts.newClient(t)
	v := registration()
	v.Set("email", "pseudo.person@example.org")
	res, _ = pseudo.postForm(t, "/register?lang=qps", v)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	p, err := ts.store.UserByEmail(t.Context(), "pseudo.person@example.org")
	require.NoError(t, err)
	assert.Equal(t, "en", p.Language, "the pseudo-locale is never saved")

	res, _ = ts.postForm(t, "/login", url.Values{"email": {"siti.rahmawati@example.org"}, "password": {"kain batik tulis 2026"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	_, body := ts.get(t, "/profile")
	assert.Contains(t, body, `lang="th"`, "the saved language speaks")
	assert.Contains(t, body, `<option value="vi" lang="vi">Tiếng Việt</option>`)
	assert.Contains(t, body, `<option value="th" selected lang="th">ไทย</option>`)

	pv := profileValues()
	pv.Set("language", "vi")
	res, _ = ts.postMultipart(t, "/profile", pv, "", "", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	u, err = ts.store.User(t.Context(), u.ID)
	require.NoError(t, err)
	assert.Equal(t, "vi", u.Language)
	_, body = ts.get(t, "/profile")
	assert.Contains(t, body, `<html lang="vi"`)

	pv.Set("language", "qps")
	res, _ = ts.postMultipart(t, "/profile", pv, "", "", nil)
	assert.Equal(t, http.StatusUnprocessableEntity, res.StatusCode, "only the languages offered")
	pv.Del("language")
	res, _ = ts.postMultipart(t, "/profile", pv, "", "", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	u, err = ts.store.User(t.Context(), u.ID)
	require.NoError(t, err)
	assert.Equal(t, "vi", u.Language, "a form without the field keeps the saved language")
}

// TestLanguageCookieListed: the switcher's cookie is on the cookies page
// as strictly necessary.
func TestLanguageCookieListed(t *testing.T) {
	ts := newTestServer(t)
	_, body := ts.get(t, "/cookies")
	necessary := body[strings.Index(body, "Necessary cookies"):strings.Index(body, "Optional cookies")]
	assert.Contains(t, necessary, `data-testid="cookie-kelas_lang"`)
	assert.Contains(t, necessary, "Remembers the language you chose with the language switcher.")
	assert.Contains(t, necessary, "1 year")
}

// TestFormMessagesInPseudoLocale: the answers to refused forms (field
// messages, summaries, labels) come from the catalogue too.
func TestFormMessagesInPseudoLocale(t *testing.T) {
	ts := newTestServer(t)
	ts.app.cfg.PseudoLocale = true
	allowed := map[string]bool{"kelas": true, "example": true, "com": true}
	bad := url.Values{"first_name": {""}, "surname": {"\x01"}, "email": {"not an address"}, "country": {"XX"},
		"industry": {""}, "gender": {"x"}, "password": {"short"}, "adult": {"yes"}}
	for _, c := range []struct {
		path string
		v    url.Values
	}{
		{"/register", bad},
		{"/login", url.Values{"email": {""}, "password": {""}}},
		{"/password/forgot", url.Values{"email": {"x"}}},
	} {
		res, body := ts.postForm(t, c.path+"?lang=qps", c.v)
		require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode, c.path)
		assert.Empty(t, untranslated(body, allowed), c.path)
	}

	res, _ := ts.postForm(t, "/register", registration())
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	res, _ = ts.postForm(t, "/login", url.Values{"email": {"siti.rahmawati@example.org"}, "password": {"kain batik tulis 2026"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	ts.get(t, "/") // shows, in English, the message of the registration
	pv := profileValues()
	pv.Set("phone", "call me")
	pv.Set("mobile", "12")
	pv.Set("description", strings.Repeat("x", 2001))
	pv.Set("email", "siti.new@example.org")
	pv.Set("language", "xx")
	res, body := ts.postMultipart(t, "/profile?lang=qps", pv, "", "", nil)
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	for _, w := range []string{"Siti", "Rahmawati", "Batik", "Nusantara", "siti", "org", "Jalan", "Melati", "Yogyakarta", pv.Get("description")} {
		allowed[w] = true // the person's own values, shown back
	}
	assert.Empty(t, untranslated(body, allowed))
	res, body = ts.postForm(t, "/profile/password?lang=qps", url.Values{"password": {"password"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	assert.Empty(t, untranslated(body, allowed))
}
