package app

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestExternalLinksGoThroughTheNotice: links of training content that
// leave the site, written or linkified, point at /leaving; links within
// the site stay; the notice names the site and works without scripts.
func TestExternalLinksGoThroughTheNotice(t *testing.T) {
	ts := newTestServer(t)
	html, err := ts.app.renderMarkdown("Read [the guide](https://example.org/guide?a=1&b=2), see www.example.net/tips " +
		"or https://example.com/x, and [our privacy notice](/privacy). Mail [us](mailto:help@example.org).")
	require.NoError(t, err)
	d := doc(t, html)
	hrefs := map[string]string{}
	d.Find("a").Each(func(_ int, s *goquery.Selection) { hrefs[strings.TrimSpace(s.Text())] = s.AttrOr("href", "") })
	assert.Equal(t, "/leaving?to="+url.QueryEscape("https://example.org/guide?a=1&b=2"), hrefs["the guide"])
	assert.Equal(t, "/leaving?to="+url.QueryEscape("http://www.example.net/tips"), hrefs["www.example.net/tips"])
	assert.Equal(t, "/leaving?to="+url.QueryEscape("https://example.com/x"), hrefs["https://example.com/x"])
	assert.Equal(t, "/privacy", hrefs["our privacy notice"], "links within the site stay")
	assert.Equal(t, "mailto:help@example.org", hrefs["us"], "not a web page: no notice")

	res, body := ts.get(t, hrefs["the guide"])
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "no-referrer", res.Header.Get("Referrer-Policy"))
	page := doc(t, body)
	assert.Contains(t, page.Find("h1").Text(), "You are leaving kelas for example.org")
	assert.Contains(t, page.Find(`[data-testid="leaving"]`).Text(), "privacy policy applies")
	cont := page.Find(`[data-testid="leaving-continue"]`)
	assert.Equal(t, "https://example.org/guide?a=1&b=2", cont.AttrOr("href", ""))
	assert.Contains(t, cont.AttrOr("rel", ""), "noreferrer")

	for _, bad := range []string{"/leaving", "/leaving?to=javascript:alert(1)", "/leaving?to=/privacy",
		"/leaving?to=" + url.QueryEscape("https://user:pw@example.org/"), "/leaving?to=a&to=b",
		"/leaving?to=" + url.QueryEscape("https://example.org/\r\nSet-Cookie: x=1")} {
		res, _ := ts.get(t, bad)
		assert.Equal(t, http.StatusBadRequest, res.StatusCode, bad)
	}
}

func FuzzExternalURL(f *testing.F) {
	for _, s := range []string{"https://example.org/a?b=c", "http://x", "javascript:alert(1)", "//example.org", "/privacy",
		"https://u:p@h/", "https://example.org/\n", "ftp://example.org", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, ok := externalURL(s)
		if !ok {
			return
		}
		if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" || u.User != nil {
			t.Fatalf("accepted %q as %v", s, u)
		}
		if strings.ContainsAny(s, "\r\n\x00") {
			t.Fatalf("accepted control characters in %q", s)
		}
		// The notice's own link to it round-trips.
		back, err := url.Parse(leavingLink(s))
		if err != nil || back.Query().Get("to") != s {
			t.Fatalf("leavingLink(%q) does not carry it back: %v", s, err)
		}
	})
}
