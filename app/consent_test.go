package app

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"kelas/store"
	"kelas/views"
)

// consentCookieOf returns the consent cookie a response set, or nil.
func consentCookieOf(res *http.Response) *http.Cookie {
	for _, c := range res.Cookies() {
		if c.Name == consentCookie || c.Name == "__Host-"+consentCookie {
			return c
		}
	}
	return nil
}

// jarConsentID is the consent id the client's cookie jar holds, or "".
func (ts *testServer) jarConsentID(t *testing.T) string {
	t.Helper()
	u, err := url.Parse(ts.URL)
	require.NoError(t, err)
	for _, c := range ts.client.Jar.Cookies(u) {
		if c.Name == consentCookie {
			return c.Value
		}
	}
	return ""
}

func (ts *testServer) recordsLogged() int { return strings.Count(ts.logs.String(), "consent recorded") }

func bannerShown(t *testing.T, body string) bool {
	t.Helper()
	return doc(t, body).Find(`[data-testid="consent-banner"]`).Length() == 1
}

func TestBannerUntilAChoiceThenRejectAll(t *testing.T) {
	ts := newTestServer(t)

	res, body := ts.get(t, "/stats?from=home")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Empty(t, res.Cookies(), "nothing is set before a choice")
	d := doc(t, body)
	banner := d.Find(`[data-testid="consent-banner"]`)
	require.Equal(t, 1, banner.Length(), "the banner shows until a choice exists")
	accept, reject := banner.Find(`[data-testid="consent-accept"]`), banner.Find(`[data-testid="consent-reject"]`)
	require.Equal(t, 1, accept.Length())
	require.Equal(t, 1, reject.Length())
	assert.Equal(t, accept.AttrOr("class", "a"), reject.AttrOr("class", "b"), "Accept all and Reject all look the same")
	assert.Equal(t, "button", goquery.NodeName(accept), "both are buttons of one form")
	assert.Equal(t, "button", goquery.NodeName(reject))
	assert.Equal(t, accept.Parent().Get(0), reject.Parent().Get(0), "side by side in one form")
	assert.Equal(t, "Accept all", strings.TrimSpace(accept.Text()))
	assert.Equal(t, "Reject all", strings.TrimSpace(reject.Text()))
	assert.Equal(t, 0, banner.Find(`input[type="checkbox"]`).Length(), "nothing to pre-tick on the first layer")
	assert.Equal(t, 0, d.Find(`input[checked]`).Length(), "nothing pre-ticked anywhere")
	choose := banner.Find(`[data-testid="consent-choose"]`).AttrOr("href", "")
	assert.True(t, strings.HasPrefix(choose, "/cookies?return="), choose)
	assert.Equal(t, "/cookies", d.Find(`footer a[href="/cookies"]`).AttrOr("href", ""), "Cookie choices in the footer")

	ret := banner.Find(`input[name="return"]`).AttrOr("value", "")
	res, _ = ts.postForm(t, "/cookies", url.Values{"choice": {"reject_all"}, "from": {"banner"}, "return": {ret}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Equal(t, ret, res.Header.Get("Location"), "back where the visitor was")
	ck := consentCookieOf(res)
	require.NotNil(t, ck)
	assert.True(t, store.ValidID(ck.Value))
	assert.True(t, ck.HttpOnly)
	assert.Equal(t, http.SameSiteLaxMode, ck.SameSite)
	for _, c := range res.Cookies() {
		assert.Contains(t, []string{consentCookie, "kelas_session"}, c.Name, "only necessary cookies")
	}

	rec, err := ts.store.LatestConsent(t.Context(), ck.Value)
	require.NoError(t, err)
	assert.Equal(t, store.ConsentBanner, rec.How)
	assert.False(t, rec.Preferences || rec.Statistics || rec.Marketing)
	assert.Equal(t, consentRevision(views.BannerText(), "2023-10-09"), rec.Revision)
	assert.Equal(t, "2023-10-09", rec.PolicyVersion)

	res, body = ts.get(t, "/")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.False(t, bannerShown(t, body), "the banner is gone once a choice exists")
	assert.Equal(t, 1, ts.recordsLogged())
}

func contextWithConsent(ctx context.Context, c Consent) context.Context {
	return context.WithValue(ctx, consentKey{}, c)
}

func TestSettingsPageChangesTheChoice(t *testing.T) {
	ts := newTestServer(t)
	res, body := ts.get(t, "/cookies?return=/stats")
	require.Equal(t, http.StatusOK, res.StatusCode)
	d := doc(t, body)
	form := d.Find(`[data-testid="cookies-form"]`)
	require.Equal(t, 1, form.Length())
	assert.Equal(t, 0, form.Find(`input[checked]`).Length(), "nothing pre-ticked")
	assert.Equal(t, 3, form.Find(`input[type="checkbox"]`).Length())
	assert.Equal(t, "/stats", form.Find(`input[name="return"]`).AttrOr("value", ""))
	assert.Equal(t, 1, d.Find(`[data-testid="cookie-kelas_session"]`).Length(), "the necessary cookies are explained")
	assert.Equal(t, 1, d.Find(`[data-testid="cookie-kelas_consent"]`).Length())
	assert.Equal(t, 1, d.Find(`[data-testid="no-choice"]`).Length())

	res, _ = ts.postForm(t, "/cookies", url.Values{"from": {"settings"}, "preferences": {"on"}, "statistics": {"on"}, "return": {"/stats"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	require.Equal(t, "/stats", res.Header.Get("Location"))
	id := ts.jarConsentID(t)
	rec, err := ts.store.LatestConsent(t.Context(), id)
	require.NoError(t, err)
	assert.Equal(t, store.ConsentSettings, rec.How)
	assert.True(t, rec.Preferences)
	assert.True(t, rec.Statistics)
	assert.False(t, rec.Marketing)

	res, body = ts.get(t, "/cookies")
	require.Equal(t, http.StatusOK, res.StatusCode)
	d = doc(t, body)
	assert.Equal(t, 1, d.Find(`#preferences[checked]`).Length(), "the saved choice is shown")
	assert.Equal(t, 1, d.Find(`#statistics[checked]`).Length())
	assert.Equal(t, 0, d.Find(`#marketing[checked]`).Length())
	assert.Contains(t, d.Find(`[data-testid="current-choice"]`).Text(), "marketing not allowed")
	assert.Contains(t, d.Find(`[data-testid="consent-id"]`).Text(), id)

	// Withdrawing is as easy: the same form, boxes empty.
	clock := ts.clock.Now()
	ts.clock.Add(time.Second)
	res, _ = ts.postForm(t, "/cookies", url.Values{"from": {"settings"}, "return": {"/cookies"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Equal(t, id, ts.jarConsentID(t), "one consent id per browser")
	rec, err = ts.store.LatestConsent(t.Context(), id)
	require.NoError(t, err)
	assert.False(t, rec.Preferences || rec.Statistics || rec.Marketing)
	assert.True(t, rec.CreatedAt.After(clock))
	assert.Contains(t, flashOf(t, ts, "/cookies"), "saved")

	// accept_all on the settings page wins over the boxes it carries.
	res, _ = ts.postForm(t, "/cookies", url.Values{"from": {"settings"}, "choice": {"accept_all"}, "return": {"/"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	rec, err = ts.store.LatestConsent(t.Context(), id)
	require.NoError(t, err)
	assert.True(t, rec.Preferences && rec.Statistics && rec.Marketing)
}

func TestConsentBadInputStoresNothing(t *testing.T) {
	ts := newTestServer(t)
	for name, v := range map[string]url.Values{
		"empty post":            {},
		"only a return":         {"return": {"/"}},
		"unknown category":      {"analytics": {"on"}},
		"unknown field":         {"choice": {"accept_all"}, "tracking": {"1"}},
		"bad checkbox value":    {"preferences": {"yes"}},
		"bad choice":            {"choice": {"accept_some"}},
		"bad from":              {"choice": {"reject_all"}, "from": {"popup"}},
		"duplicate field":       {"choice": {"reject_all", "accept_all"}},
		"banner without choice": {"from": {"banner"}},
	} {
		t.Run(name, func(t *testing.T) {
			res, body := ts.postForm(t, "/cookies", v)
			require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
			assert.Nil(t, consentCookieOf(res), "no consent cookie")
			d := doc(t, body)
			assert.Equal(t, 1, d.Find(`[data-testid="error-summary"]`).Length())
			assert.Equal(t, 1, d.Find(`[data-testid="cookies-form"]`).Length(), "the form again")
			assert.True(t, bannerShown(t, body), "the banner again")
		})
	}
	assert.Zero(t, ts.recordsLogged(), "nothing stored as consent")

	t.Run("a hostile return goes home", func(t *testing.T) {
		for _, ret := range []string{"//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"} {
			res, _ := ts.postForm(t, "/cookies", url.Values{"choice": {"reject_all"}, "return": {ret}})
			require.Equal(t, http.StatusSeeOther, res.StatusCode)
			assert.Equal(t, "/", res.Header.Get("Location"), ret)
		}
	})
}

func TestForgedConsentCookiesCountAsNoChoice(t *testing.T) {
	ts := newTestServer(t)
	// A real choice exists for some other browser.
	res, _ := ts.postForm(t, "/cookies", url.Values{"choice": {"accept_all"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	real := consentCookieOf(res).Value

	for name, v := range map[string]string{
		"oversized":            strings.Repeat("a", 4000),
		"one too long":         real + "a",
		"wrong alphabet":       strings.ToUpper(real),
		"sql":                  "x' OR 1=1 --",
		"well-formed, unknown": store.NewID(),
		"empty":                "",
	} {
		t.Run(name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, ts.URL+"/", nil)
			require.NoError(t, err)
			req.Header.Set("Cookie", consentCookie+"="+v)
			res, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer res.Body.Close()
			require.Equal(t, http.StatusOK, res.StatusCode)
			b, err := io.ReadAll(res.Body)
			require.NoError(t, err)
			assert.True(t, bannerShown(t, string(b)))
		})
	}
	_, ok := parseConsentCookie(real)
	assert.True(t, ok)

	t.Run("a new choice never adopts an unknown id", func(t *testing.T) {
		forged := store.NewID()
		req, err := http.NewRequest(http.MethodPost, ts.URL+"/cookies", strings.NewReader("choice=reject_all"))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Cookie", consentCookie+"="+forged)
		noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		res, err := noFollow.Do(req)
		require.NoError(t, err)
		res.Body.Close()
		ck := consentCookieOf(res)
		require.NotNil(t, ck)
		assert.NotEqual(t, forged, ck.Value)
	})
}

func TestGPCIsRecordedAsRejectAll(t *testing.T) {
	ts := newTestServer(t)
	ts.app.consent.cookies = []OptionalCookie{{Name: "kelas_test_pref", Category: store.CookiePreferences, Purpose: "test", MaxAge: time.Hour}}
	gpcGet := func() (*http.Response, string) {
		req, err := http.NewRequest(http.MethodGet, ts.URL+"/", nil)
		require.NoError(t, err)
		req.Header.Set("Sec-GPC", "1")
		return ts.do(t, req)
	}
	res, body := gpcGet()
	require.Equal(t, http.StatusOK, res.StatusCode)
	d := doc(t, body)
	assert.Equal(t, 0, d.Find(`[data-testid="consent-banner"]`).Length(), "no banner")
	assert.Equal(t, 1, d.Find(`[data-testid="gpc-notice"]`).Length(), "a small notice instead")
	require.Len(t, res.Cookies(), 1, "no optional cookie, only the consent cookie")
	id := consentCookieOf(res).Value

	rec, err := ts.store.LatestConsent(t.Context(), id)
	require.NoError(t, err)
	assert.Equal(t, store.ConsentGPC, rec.How)
	assert.False(t, rec.Preferences || rec.Statistics || rec.Marketing)

	res, body = gpcGet()
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Empty(t, res.Cookies())
	assert.Equal(t, 0, doc(t, body).Find(`[data-testid="gpc-notice"], [data-testid="consent-banner"]`).Length())
	assert.Equal(t, 1, ts.recordsLogged(), "recorded once per consent id")

	// An explicit later choice is the person's to make.
	res, _ = ts.postForm(t, "/cookies", url.Values{"from": {"settings"}, "preferences": {"on"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	rec, err = ts.store.LatestConsent(t.Context(), id)
	require.NoError(t, err)
	assert.Equal(t, store.ConsentSettings, rec.How)
	assert.True(t, rec.Preferences)

	// A handler that tries to set every optional cookie gets none through
	// for a browser that sends GPC and has made no choice.
	tryAll := ts.app.withSession(ts.app.withVisitor(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, oc := range ts.app.consent.cookies {
			assert.False(t, ts.app.setOptionalCookie(w, r, oc.Name, "x"))
		}
	})))
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Sec-GPC", "1")
	w := httptest.NewRecorder()
	tryAll.ServeHTTP(w, req)
	got := w.Result().Cookies()
	require.Len(t, got, 1, "only the consent cookie")
	assert.Equal(t, consentCookie, got[0].Name)
	rec, err = ts.store.LatestConsent(t.Context(), got[0].Value)
	require.NoError(t, err)
	assert.Equal(t, store.ConsentGPC, rec.How)

	// A GPC choice that went stale (six months) is recorded again.
	ts.clock.Add(190 * 24 * time.Hour)
	req = httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Sec-GPC", "1")
	req.AddCookie(got[0])
	w = httptest.NewRecorder()
	tryAll.ServeHTTP(w, req)
	again, err := ts.store.LatestConsent(t.Context(), got[0].Value)
	require.NoError(t, err)
	assert.NotEqual(t, rec.ID, again.ID)
	assert.Equal(t, store.ConsentGPC, again.How)
}

func TestGPCWellKnown(t *testing.T) {
	ts := newTestServer(t)
	res, body := ts.get(t, "/.well-known/gpc.json")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "application/json", res.Header.Get("Content-Type"))
	var v struct {
		GPC        *bool  `json:"gpc"`
		LastUpdate string `json:"lastUpdate"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &v))
	require.NotNil(t, v.GPC)
	assert.True(t, *v.GPC)
	_, err := time.Parse("2006-01-02", v.LastUpdate)
	assert.NoError(t, err)
	assert.Empty(t, res.Cookies())
}

func TestConsentReaskedOnNewRevisionAndAfterSixMonths(t *testing.T) {
	ts := newTestServer(t)
	choose := func() {
		t.Helper()
		res, _ := ts.postForm(t, "/cookies", url.Values{"choice": {"accept_all"}, "from": {"banner"}})
		require.Equal(t, http.StatusSeeOther, res.StatusCode)
	}
	choose()
	_, body := ts.get(t, "/")
	require.False(t, bannerShown(t, body))

	t.Run("a changed banner text", func(t *testing.T) {
		ts.app.consent.bannerText = views.BannerText() + " (revised)"
		t.Cleanup(func() { ts.app.consent.bannerText = views.BannerText() })
		_, body := ts.get(t, "/")
		assert.True(t, bannerShown(t, body), "the banner returns")
		_, body = ts.get(t, "/cookies")
		assert.Equal(t, 0, doc(t, body).Find(`input[checked]`).Length(), "a stale choice is not offered as current")
		choose()
		_, body = ts.get(t, "/")
		assert.False(t, bannerShown(t, body))
		ts.app.consent.bannerText = views.BannerText()
		_, body = ts.get(t, "/")
		assert.True(t, bannerShown(t, body), "going back is a change too")
		choose()
	})

	t.Run("a new policy version changes the revision", func(t *testing.T) {
		assert.NotEqual(t, consentRevision(views.BannerText(), "2023-10-09"), consentRevision(views.BannerText(), "2026-01-01"))
		assert.NotEqual(t, consentRevision("a", "bc"), consentRevision("ab", "c"), "the parts cannot run into each other")
	})

	t.Run("six months later", func(t *testing.T) {
		ts.clock.Add(180 * 24 * time.Hour)
		_, body := ts.get(t, "/")
		assert.False(t, bannerShown(t, body), "still valid just under six months")
		ts.clock.Add(5 * 24 * time.Hour)
		_, body = ts.get(t, "/")
		assert.True(t, bannerShown(t, body), "asked again after six months")
		choose()
		_, body = ts.get(t, "/")
		assert.False(t, bannerShown(t, body))
	})
}

func TestWithdrawingDeletesOptionalCookies(t *testing.T) {
	ts := newTestServer(t)
	ts.app.consent.cookies = []OptionalCookie{
		{Name: "kelas_test_pref", Category: store.CookiePreferences, Purpose: "remember a test setting", MaxAge: 24 * time.Hour},
		{Name: "kelas_test_mkt", Category: store.CookieMarketing, Purpose: "a test marketing cookie", MaxAge: 24 * time.Hour},
	}
	u, err := url.Parse(ts.URL)
	require.NoError(t, err)

	// setOptionalCookie refuses without consent.
	setter := func(consent Consent) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r = r.WithContext(contextWithConsent(r.Context(), consent))
		w := httptest.NewRecorder()
		ts.app.setOptionalCookie(w, r, "kelas_test_pref", "v")
		return w
	}
	assert.Empty(t, setter(Consent{loaded: true}).Result().Cookies(), "no choice, no optional cookie")
	assert.Empty(t, setter(Consent{loaded: true, Valid: true}).Result().Cookies(), "rejected, no optional cookie")
	got := setter(Consent{loaded: true, Valid: true, Record: store.ConsentRecord{Preferences: true}}).Result().Cookies()
	require.Len(t, got, 1)
	assert.Equal(t, "kelas_test_pref", got[0].Name)

	res, body := ts.get(t, "/cookies")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, 1, doc(t, body).Find(`[data-testid="cookie-kelas_test_pref"]`).Length(), "registered cookies are listed")

	res, _ = ts.postForm(t, "/cookies", url.Values{"choice": {"accept_all"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	ts.client.Jar.SetCookies(u, []*http.Cookie{{Name: "kelas_test_pref", Value: "x", Path: "/"}, {Name: "kelas_test_mkt", Value: "y", Path: "/"}})

	res, _ = ts.postForm(t, "/cookies", url.Values{"from": {"settings"}, "preferences": {"on"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	var expired []string
	for _, c := range res.Cookies() {
		if c.MaxAge < 0 {
			expired = append(expired, c.Name)
		}
	}
	assert.Equal(t, []string{"kelas_test_mkt"}, expired, "the withdrawn category's cookie is deleted, the kept one stays")
	var left []string
	for _, c := range ts.client.Jar.Cookies(u) {
		left = append(left, c.Name)
	}
	assert.ElementsMatch(t, []string{consentCookie, "kelas_session", "kelas_test_pref"}, left)

	// A browser still carrying a cookie of a category that is off loses it
	// on the next page.
	ts.client.Jar.SetCookies(u, []*http.Cookie{{Name: "kelas_test_mkt", Value: "back", Path: "/"}})
	res, _ = ts.get(t, "/")
	require.Equal(t, http.StatusOK, res.StatusCode)
	expired = nil
	for _, c := range res.Cookies() {
		if c.MaxAge < 0 {
			expired = append(expired, c.Name)
		}
	}
	assert.Equal(t, []string{"kelas_test_mkt"}, expired)
}

func TestConsentRecordNamesTheLoggedInPerson(t *testing.T) {
	ts := newTestServer(t)
	res, _ := ts.postForm(t, "/register", registration())
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	res, _ = ts.postForm(t, "/login", url.Values{"email": {"siti.rahmawati@example.org"}, "password": {"kain batik tulis 2026"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	u := mustUser(t, ts)

	res, _ = ts.postForm(t, "/cookies", url.Values{"from": {"settings"}, "statistics": {"on"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	recs, err := ts.store.ConsentRecords(t.Context(), u.ID)
	require.NoError(t, err)
	require.Len(t, recs, 1)
	assert.True(t, recs[0].Statistics)
	assert.Equal(t, ts.jarConsentID(t), recs[0].ConsentID)
}

func TestSecureSitesUseAHostOnlyConsentCookie(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.BaseURL = "https://learn.example.org" })
	res, _ := ts.postForm(t, "/cookies", url.Values{"choice": {"reject_all"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	ck := consentCookieOf(res)
	require.NotNil(t, ck)
	assert.Equal(t, "__Host-kelas_consent", ck.Name)
	assert.True(t, ck.Secure)
	assert.Equal(t, "/", ck.Path)
}

func TestEmbedsNeedConsent(t *testing.T) {
	e := views.Embed{Src: "https://video.example.net/embed/abc", Link: "https://video.example.net/watch/abc",
		Title: "Bookkeeping basics", Provider: "ExampleTube"}
	render := func(c views.PageConsent, e views.Embed) string {
		var b strings.Builder
		require.NoError(t, views.OptionalEmbed(c, e).Render(t.Context(), &b))
		return b.String()
	}
	t.Run("no choice: placeholder only", func(t *testing.T) {
		d := doc(t, render(views.PageConsent{Ask: true, Marketing: true, Return: "/trainings/x"}, e))
		assert.Equal(t, 0, d.Find("iframe").Length())
		assert.Equal(t, 1, d.Find(`[data-testid="embed-placeholder"]`).Length())
		assert.Equal(t, e.Link, d.Find(`[data-testid="embed-link"]`).AttrOr("href", ""))
		form := d.Find(`[data-testid="embed-allow"]`)
		assert.Equal(t, "/cookies", form.AttrOr("action", ""))
		assert.Equal(t, "on", form.Find(`input[name="marketing"]`).AttrOr("value", ""))
		assert.Equal(t, 0, form.Find(`input[name="preferences"]`).Length(), "only what the embed needs")
		assert.Equal(t, "/trainings/x", form.Find(`input[name="return"]`).AttrOr("value", ""))
		assert.NotContains(t, d.Text(), "video.example.net/embed", "nothing loads from the provider")
	})
	t.Run("marketing allowed: the frame", func(t *testing.T) {
		d := doc(t, render(views.PageConsent{Marketing: true}, e))
		assert.Equal(t, e.Src, d.Find("iframe").AttrOr("src", ""))
		assert.Equal(t, 0, d.Find(`[data-testid="embed-placeholder"]`).Length())
	})
	t.Run("another category allowed only", func(t *testing.T) {
		d := doc(t, render(views.PageConsent{Preferences: true, Statistics: true}, e))
		assert.Equal(t, 0, d.Find("iframe").Length())
		form := d.Find(`[data-testid="embed-allow"]`)
		assert.Equal(t, 3, form.Find(`input[value="on"]`).Length(), "the categories already allowed are kept")
	})
	t.Run("never a frame from a non-https source", func(t *testing.T) {
		for _, src := range []string{"http://video.example.net/x", "javascript:alert(1)", "//video.example.net/x", "https://user@video.example.net/"} {
			bad := e
			bad.Src = src
			d := doc(t, render(views.PageConsent{Marketing: true}, bad))
			assert.Equal(t, 0, d.Find("iframe").Length(), src)
		}
	})

	t.Run("the CSP lets only allowed frames load", func(t *testing.T) {
		ts := newTestServer(t)
		run := func(c Consent) string {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r = r.WithContext(contextWithConsent(r.Context(), c))
			w := httptest.NewRecorder()
			w.Header().Set("Content-Security-Policy", contentSecurityPolicy)
			ts.app.permitEmbeds(w, r, e)
			return w.Header().Get("Content-Security-Policy")
		}
		assert.NotContains(t, run(Consent{loaded: true}), "frame-src")
		csp := run(Consent{loaded: true, Valid: true, Record: store.ConsentRecord{Marketing: true}})
		assert.Contains(t, csp, "frame-src https://video.example.net")
		assert.Contains(t, csp, "default-src 'none'")
	})
}

func FuzzConsentCookie(f *testing.F) {
	for _, s := range []string{store.NewID(), "", "abc", strings.Repeat("a", 26), strings.Repeat("A", 26), strings.Repeat("a", 27),
		"aaaaaaaaaaaaaaaaaaaaaaaaa=", "aaaaaaaaaaaaaaaaaaaaaaaaa\x00", "ééééééééééééé"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		id, ok := parseConsentCookie(v)
		if !ok {
			if id != "" {
				t.Fatalf("rejected %q but returned %q", v, id)
			}
			return
		}
		if id != v || len(id) != 26 || !store.ValidID(id) {
			t.Fatalf("accepted %q as %q", v, id)
		}
		for _, c := range id {
			if !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
				t.Fatalf("accepted %q with %q", v, c)
			}
		}
	})
}
