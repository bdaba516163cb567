package app

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// overflowScript measures the page in the browser: how wide the document
// is, how wide the window's content area is, the innermost elements that
// stick out past its right edge (to name the culprit in a failure), and
// how many tables scroll sideways in their own box.
const overflowScript = `(() => {
	const root = document.documentElement, width = root.clientWidth;
	const wide = [];
	for (const el of document.body.querySelectorAll("*")) {
		const r = el.getBoundingClientRect();
		if (r.right > width + 0.5 && ![...el.children].some(c => c.getBoundingClientRect().right > width + 0.5)) {
			wide.push(el.tagName.toLowerCase() + (el.className ? "." + String(el.className).split(" ").join(".") : "") + " (" + Math.round(r.right) + ")");
		}
	}
	const scrolling = [...document.querySelectorAll("table")].filter(t => t.scrollWidth > t.clientWidth).length;
	return JSON.stringify({scroll: root.scrollWidth, width: width, inner: window.innerWidth, wide: wide.slice(0, 5), scrolling: scrolling});
})()`

// TestBrowserEveryPageFitsAPhone opens every page of the authorisation
// matrix a visitor, a learner or a Member's staff may see, as them, in a
// real Chromium with JavaScript off, on a small phone (360×740), a phone
// (390×844) and a laptop (1280×800): no page is wider than the window, so nothing needs a
// sideways scroll of the whole page (wide tables scroll in their own box).
// On the small phone, a page with a table that scrolls in its own box
// passes axe too: the box can be reached with the keyboard. A visitor's
// pages are those a learner does not see (a learner's show the same).
func TestBrowserEveryPageFitsAPhone(t *testing.T) {
	if testing.Short() {
		t.Skip("browser journeys run without -short")
	}
	fx := newMatrixFixture(t, true)

	// The pages each role may see, found by asking kelas as that role:
	// HTML answered with 200 (files, calendars, CSV and downloaded copies
	// are not pages).
	type visit struct{ role, path string }
	var visits []visit
	var patterns []string
	for p := range matrix {
		if strings.HasPrefix(p, "GET ") && p != "GET /logout" {
			patterns = append(patterns, p)
		}
	}
	sort.Strings(patterns)
	seen := map[string]bool{}
	for _, role := range []string{"learner", "staff-in-grant", "visitor"} {
		c := fx.reader(t, role)
		for _, p := range patterns {
			if matrix[p][slices.Index(matrixRoles, role)] != 'A' {
				continue
			}
			pr := fx.probe(t, c, p, role)
			res, _ := c.get(t, pr.path)
			if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") ||
				strings.HasPrefix(res.Header.Get("Content-Disposition"), "attachment") {
				continue
			}
			if role == "visitor" && seen[pr.path] {
				continue
			}
			seen[pr.path] = true
			visits = append(visits, visit{role, pr.path})
		}
	}
	require.Greater(t, len(visits), 40, "the learner's and the staff's pages")
	t.Logf("%d pages", len(visits))
	for _, path := range []string{"/dashboard", "/rights/access", "/privacy"} {
		assert.True(t, slices.ContainsFunc(visits, func(v visit) bool { return v.path == path }), "%s is among the pages", path)
	}

	for _, vp := range []struct {
		name          string
		width, height int64
	}{{"small phone", 360, 740}, {"phone", 390, 844}, {"laptop", 1280, 800}} {
		t.Run(vp.name, func(t *testing.T) {
			ctx := newBrowserFor(t, 90*time.Second)
			require.NoError(t, chromedp.Do(ctx, chromedp.EmulateViewport(vp.width, vp.height)))
			signedIn := ""
			for _, v := range visits {
				if v.role != signedIn {
					// The role's session, as its login left it in kelas.
					_, err := chromedp.Call(ctx, network.ClearBrowserCookies, cdp.Empty{})
					require.NoError(t, err)
					u, err := url.Parse(fx.ts.URL)
					require.NoError(t, err)
					for _, ck := range fx.reader(t, v.role).client.Jar.Cookies(u) {
						_, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{Name: ck.Name, Value: ck.Value, URL: fx.ts.URL})
						require.NoError(t, err)
					}
					signedIn = v.role
				}
				require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(fx.ts.URL+v.path), chromedp.WaitReady(chromedp.CSS("body"))), v.path)
				raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](overflowScript))
				require.NoError(t, err)
				var m struct {
					Scroll, Width, Inner int
					Scrolling            int // tables that scroll in their own box
					Wide                 []string
				}
				require.NoError(t, json.Unmarshal([]byte(raw), &m))
				if m.Scrolling > 0 && vp.width == 360 {
					t.Run(v.role+v.path, func(t *testing.T) { axeCheck(t, ctx, v.path+" as "+v.role+" on a small phone") })
				}
				assert.LessOrEqual(t, m.Scroll, m.Width, "%s as %s at %d px: the page is %d px wide; sticking out: %v", v.path, v.role, vp.width, m.Scroll, m.Wide)
			}
		})
	}
}
