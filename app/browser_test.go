package app

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/a-h/templ"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/storage"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"kelas/store"
	"kelas/views"
)

const chromiumPath = "/usr/bin/chromium"

// newBrowser starts headless Chromium with JavaScript disabled twice over
// (the Blink setting and the DevTools emulation switch). It skips the test
// when Chromium is missing, except under CI, where it must run.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	return newBrowserFor(t, 60*time.Second)
}

// newBrowserFor is newBrowser for a journey that may take up to d.
func newBrowserFor(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	if testing.Short() {
		// The race pass: the browser journeys run in the plain pass.
		t.Skip("browser journeys run without -short")
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") == "" {
			t.Skipf("the browser test needs Chromium at %s (apt-get install -y chromium); CI installs it and never skips", chromiumPath)
		}
		t.Fatalf("CI must run the browser test, but %s is missing: %v", chromiumPath, err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("blink-settings", "scriptEnabled=false"),
		chromedp.UserDataDir(t.TempDir()),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelBrowser := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, d)
	t.Cleanup(func() {
		cancelTimeout()
		cancelBrowser()
		cancelAlloc()
	})
	_, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
	require.NoError(t, err)
	return ctx
}

// browserCookies lists the names of every cookie the browser holds.
func browserCookies(t *testing.T, ctx context.Context) []string {
	t.Helper()
	res, err := chromedp.Call(ctx, storage.GetCookies, storage.GetCookiesParams{})
	require.NoError(t, err)
	var names []string
	for _, c := range res.Cookies {
		names = append(names, c.Name)
	}
	sort.Strings(names)
	return names
}

func count(t *testing.T, ctx context.Context, sel string) int {
	t.Helper()
	nodes, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSSAll(sel), chromedp.AtLeast(0)))
	require.NoError(t, err)
	return len(nodes)
}

func checked(t *testing.T, ctx context.Context, id string) bool {
	t.Helper()
	res, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS("#"+id), "checked"))
	require.NoError(t, err)
	return res.Exists
}

// labServer serves kelas plus two test-only pages: one with an embed and a
// registered preferences cookie (so "preferences honoured" is observable),
// and one that proves scripts do not run.
func labServer(t *testing.T, ts *testServer) *httptest.Server {
	t.Helper()
	a := ts.app
	a.consent.cookies = []OptionalCookie{{Name: "kelas_test_pref", Category: store.CookiePreferences,
		Purpose: "remembers a test setting", MaxAge: 24 * time.Hour}}
	embed := views.Embed{Src: "https://127.0.0.1:1/embed/lesson", Title: "Lesson video", Provider: "Loopback Video"}
	lab := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.setOptionalCookie(w, r, "kelas_test_pref", "compact")
		a.permitEmbeds(w, r, embed)
		p := a.page(r, "Lab")
		a.render(w, r, http.StatusOK, templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
			return views.Layout(p).Render(templ.WithChildren(ctx, views.OptionalEmbed(p.Consent, embed)), w)
		}))
	})
	mux := http.NewServeMux()
	mux.Handle("GET /lab/embed", a.requestID(a.securityHeaders(a.withSession(a.withVisitor(lab)))))
	mux.HandleFunc("GET /lab/js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, `<!DOCTYPE html><html><head><title>scripts off</title><script src="/lab/probe.js"></script></head><body><p>probe</p></body></html>`)
	})
	mux.HandleFunc("GET /lab/probe.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		io.WriteString(w, `document.title = "scripts ran";`)
	})
	mux.Handle("/", a.Handler())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// TestBrowserConsentWithoutJavaScript walks the consent journey in a real
// Chromium with JavaScript disabled: everything is plain HTML forms.
func TestBrowserConsentWithoutJavaScript(t *testing.T) {
	ctx := newBrowser(t)
	ts := newTestServer(t)
	srv := labServer(t, ts)
	necessary := func(names []string) bool {
		for _, n := range names {
			if n != consentCookie && n != "kelas_session" {
				return false
			}
		}
		return true
	}

	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/lab/js"), chromedp.WaitReady(chromedp.CSS("body"))))
	title, err := chromedp.Run(ctx, chromedp.Title())
	require.NoError(t, err)
	require.Equal(t, "scripts off", title, "JavaScript must be off in this browser")

	// First visit: the banner, a placeholder instead of the embed, no cookie.
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/lab/embed"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="consent-banner"]`))))
	assert.Equal(t, 1, count(t, ctx, `[data-testid="embed-placeholder"]`))
	assert.Zero(t, count(t, ctx, `iframe`), "nothing from the provider before consent")
	assert.Empty(t, browserCookies(t, ctx), "no cookie before a choice")

	// "Reject all": only the necessary cookie, the banner gone.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-testid="consent-reject"]`)),
		chromedp.WaitNotPresent(chromedp.CSS(`[data-testid="consent-banner"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="embed-placeholder"]`)),
	))
	names := browserCookies(t, ctx)
	assert.Equal(t, []string{consentCookie}, names, "only the necessary consent cookie")
	assert.Zero(t, count(t, ctx, `iframe`))

	// Change the choice from the footer link: allow preferences and statistics.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`footer a[href="/cookies"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="cookies-form"]`)),
	))
	assert.False(t, checked(t, ctx, "preferences"), "the rejection is shown")
	assert.Equal(t, 1, count(t, ctx, `[data-testid="current-choice"]`))
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`#preferences`)),
		chromedp.Click(chromedp.CSS(`#statistics`)),
		chromedp.Click(chromedp.CSS(`[data-testid="cookies-save"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="flash"]`)),
	))
	assert.True(t, checked(t, ctx, "preferences"), "saved")
	assert.True(t, checked(t, ctx, "statistics"))
	assert.False(t, checked(t, ctx, "marketing"))

	// Honoured: the preferences cookie is set now, the embed still waits.
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/lab/embed"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="embed-placeholder"]`))))
	assert.Contains(t, browserCookies(t, ctx), "kelas_test_pref")
	assert.Zero(t, count(t, ctx, `iframe`), "marketing is still off")
	assert.Zero(t, count(t, ctx, `[data-testid="consent-banner"]`))

	// Withdraw preferences again: the server deletes its cookie.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`footer a[href="/cookies"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="cookies-form"]`)),
		chromedp.Click(chromedp.CSS(`#preferences`)),
		chromedp.Click(chromedp.CSS(`[data-testid="cookies-save"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="flash"]`)),
	))
	assert.False(t, checked(t, ctx, "preferences"))
	names = browserCookies(t, ctx)
	assert.NotContains(t, names, "kelas_test_pref", "a withdrawn category's cookie is deleted")
	assert.True(t, necessary(names), "%v", names)

	// A new browser profile's "Accept all" on the banner: everything honoured.
	_, err = chromedp.Call(ctx, storage.ClearCookies, storage.ClearCookiesParams{})
	require.NoError(t, err)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/lab/embed"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="consent-banner"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="consent-accept"]`)),
		chromedp.WaitNotPresent(chromedp.CSS(`[data-testid="consent-banner"]`)),
		chromedp.WaitReady(chromedp.CSS(`[data-testid="embed"]`)),
	))
	assert.Equal(t, 1, count(t, ctx, `iframe[src="https://127.0.0.1:1/embed/lesson"]`), "the embed loads once allowed")
	names = browserCookies(t, ctx)
	assert.True(t, slices.Contains(names, consentCookie), "%v", names)
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/lab/embed"), chromedp.WaitReady(chromedp.CSS(`[data-testid="embed"]`))))
	assert.Contains(t, browserCookies(t, ctx), "kelas_test_pref", "preferences honoured after Accept all")

	// Each choice left one record as proof: reject, two saves, accept.
	assert.Equal(t, 4, strings.Count(ts.logs.String(), "consent recorded"))
}
