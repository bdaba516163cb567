package app

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"kelas/store"
)

// htmlLang fetches path with the given headers and cookie, and returns
// the page's <html lang> and any language cookie it set.
func htmlLang(t *testing.T, c *testServer, path, acceptLanguage, cookie string) (lang, setCookie string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, c.URL+path, nil)
	require.NoError(t, err)
	if acceptLanguage != "" {
		req.Header.Set("Accept-Language", acceptLanguage)
	}
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: langCookie, Value: cookie})
	}
	res, err := c.client.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode, path)
	doc, err := goquery.NewDocumentFromReader(res.Body)
	require.NoError(t, err)
	for _, ck := range res.Cookies() {
		if ck.Name == langCookie {
			setCookie = ck.Value
		}
	}
	return doc.Find("html").AttrOr("lang", ""), setCookie
}

// TestLanguageNegotiationOrder: ?lang= on the URL, then the saved
// preference of a signed-in person, then the switcher's remembered choice,
// then Accept-Language, then English.
func TestLanguageNegotiationOrder(t *testing.T) {
	ts := newTestServer(t)
	visitor := ts.newClient(t)
	for _, tc := range []struct {
		name, path, accept, cookie, want string
	}{
		{"nothing known", "/", "", "", "en"},
		{"Accept-Language", "/", "th-TH,th;q=0.9,en;q=0.5", "", "th"},
		{"Accept-Language, second choice", "/", "de-DE,vi;q=0.8", "", "vi"},
		{"Accept-Language, Filipino", "/", "fil-PH", "", "fil"},
		{"Accept-Language nobody speaks here", "/", "de-DE,fr;q=0.8", "", "en"},
		{"a malformed header", "/", ";;;q=x", "", "en"},
		{"the remembered choice beats Accept-Language", "/", "th", "vi", "vi"},
		{"a remembered unknown code is ignored", "/", "th", "xx", "th"},
		{"?lang= beats the remembered choice", "/?lang=ms", "th", "vi", "ms"},
		{"?lang= with an unknown code is ignored", "/?lang=zz", "th", "", "th"},
		{"the pseudo-locale is for tests only", "/?lang=qps", "", "", "en"},
		{"Burmese", "/trainings?lang=my", "", "", "my"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lang, _ := htmlLang(t, visitor, tc.path, tc.accept, tc.cookie)
			assert.Equal(t, tc.want, lang)
		})
	}

	// A signed-in person's saved language outranks the cookie and the
	// header; ?lang= still shows one page in another language.
	hash, err := bcrypt.GenerateFromPassword([]byte("a long test password"), bcrypt.MinCost)
	require.NoError(t, err)
	_, err = ts.store.CreateUser(t.Context(), store.NewUser{AcceptedPolicy: seededPolicy, Email: "siti@example.org", FirstName: "Siti", PasswordHash: string(hash),
		Role: store.RoleLearner, Verified: true, Language: "id"})
	require.NoError(t, err)
	c := ts.newClient(t)
	require.Equal(t, http.StatusSeeOther, c.signIn(t, "siti@example.org", "a long test password").StatusCode)
	lang, _ := htmlLang(t, c, "/dashboard", "th", "vi")
	assert.Equal(t, "id", lang, "the saved language")
	lang, _ = htmlLang(t, c, "/dashboard?lang=lo", "th", "vi")
	assert.Equal(t, "lo", lang, "?lang= for this page")
}

// TestLanguageCookieOnlyAfterAnExplicitChoice: no language cookie from
// Accept-Language or a shared ?lang= link; the switcher's link sets it,
// and the page's switcher offers every language named in itself.
func TestLanguageCookieOnlyAfterAnExplicitChoice(t *testing.T) {
	ts := newTestServer(t)
	c := ts.newClient(t)
	for _, path := range []string{"/", "/?lang=th", "/trainings?lang=vi", "/privacy"} {
		_, set := htmlLang(t, c, path, "th", "")
		assert.Empty(t, set, "%s: no cookie before a choice", path)
	}
	res, body := c.get(t, "/trainings?lang=th")
	require.Equal(t, http.StatusOK, res.StatusCode)
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(body))
	require.NoError(t, err)
	links := doc.Find(".language-switcher a")
	assert.Equal(t, 8, links.Length(), "every other language is offered")
	vi := doc.Find(`.language-switcher a[lang="vi"]`)
	assert.Equal(t, "Tiếng Việt", vi.Text(), "named in itself")
	href, _ := vi.Attr("href")
	u, err := url.Parse(href)
	require.NoError(t, err)
	assert.Equal(t, "/trainings", u.Path, "the same page")
	assert.Equal(t, "vi", u.Query().Get("lang"))
	assert.Equal(t, "th", doc.Find(`.language-switcher [aria-current="true"]`).AttrOr("lang", ""), "the current one is marked")

	// Following the switcher's link remembers the choice.
	lang, set := htmlLang(t, c, href, "th", "")
	assert.Equal(t, "vi", lang)
	assert.Equal(t, "vi", set, "the explicit choice is remembered")
	lang, _ = htmlLang(t, c, "/stats", "th", "")
	assert.Equal(t, "vi", lang, "on the next page too")
}
