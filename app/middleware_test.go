package app

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"kelas/store"
)

func assertSecurityHeaders(t *testing.T, res *http.Response, tls bool) {
	t.Helper()
	h := res.Header
	csp := h.Get("Content-Security-Policy")
	assert.Contains(t, csp, "default-src 'none'")
	assert.Contains(t, csp, "script-src 'self'")
	assert.Contains(t, csp, "frame-ancestors 'none'")
	assert.NotContains(t, csp, "unsafe-inline")
	assert.Equal(t, "nosniff", h.Get("X-Content-Type-Options"))
	assert.Equal(t, "same-origin", h.Get("Referrer-Policy"))
	assert.Contains(t, h.Get("Permissions-Policy"), "camera=()")
	assert.NotEmpty(t, h.Get("X-Request-Id"))
	if tls {
		assert.Contains(t, h.Get("Strict-Transport-Security"), "max-age=")
	} else {
		assert.Empty(t, h.Get("Strict-Transport-Security"))
	}
}

func TestSecurityHeadersOnEveryKindOfResponse(t *testing.T) {
	ts := newTestServer(t)

	res, body := ts.get(t, "/")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assertSecurityHeaders(t, res, false)
	assert.Equal(t, 1, doc(t, body).Find("main#main").Length())

	res, body = ts.get(t, "/no/such/page")
	require.Equal(t, http.StatusNotFound, res.StatusCode)
	assertSecurityHeaders(t, res, false)
	assert.Equal(t, "Page not found", strings.TrimSpace(doc(t, body).Find("h1").Text()))

	// A real failure: the store is gone, so the setup lookup errors.
	require.NoError(t, ts.store.Close())
	res, body = ts.get(t, "/setup/sometoken")
	require.Equal(t, http.StatusInternalServerError, res.StatusCode)
	assertSecurityHeaders(t, res, false)
	assert.Contains(t, body, "Something went wrong on our side")
	assert.NotContains(t, body, "sql", "the 500 page reveals no details")
	assert.Equal(t, 1, strings.Count(ts.logs.String(), "request failed"), "the error is logged once")
}

func TestHSTSOnlyUnderTLS(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.BaseURL = "https://learn.example.org" })
	res, _ := ts.get(t, "/")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assertSecurityHeaders(t, res, true)
}

func TestPanicBecomes500PageWithHeaders(t *testing.T) {
	ts := newTestServer(t)
	h := ts.app.requestID(ts.app.securityHeaders(ts.app.recoverPanics(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("boom")
	}))))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	require.Equal(t, http.StatusInternalServerError, rec.Code)
	assert.Contains(t, rec.Body.String(), "Something went wrong")
	assert.NotContains(t, rec.Body.String(), "boom")
	assert.Equal(t, 1, strings.Count(ts.logs.String(), "level=ERROR msg=panic"))
	assert.Contains(t, rec.Header().Get("Content-Security-Policy"), "default-src 'none'")
}

func TestCrossOriginPostRefused(t *testing.T) {
	ts := newTestServer(t)
	link, err := ts.app.SetupLink(t.Context())
	require.NoError(t, err)
	path := strings.TrimPrefix(link, ts.app.cfg.PublicURL())
	for name, hdr := range map[string][2]string{
		"sec-fetch-site": {"Sec-Fetch-Site", "cross-site"},
		"origin":         {"Origin", "https://evil.example"},
	} {
		t.Run(name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, ts.URL+path, strings.NewReader(setupValues().Encode()))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set(hdr[0], hdr[1])
			res, body := ts.do(t, req)
			require.Equal(t, http.StatusForbidden, res.StatusCode)
			assertSecurityHeaders(t, res, false)
			assert.Contains(t, body, "sent from another site")
		})
	}
	n, err := ts.store.CountOperators(t.Context())
	require.NoError(t, err)
	assert.Zero(t, n, "a refused POST changes nothing")
}

func TestOversizedBodyGets413(t *testing.T) {
	ts := newTestServer(t)
	link, err := ts.app.SetupLink(t.Context())
	require.NoError(t, err)
	path := strings.TrimPrefix(link, ts.app.cfg.PublicURL())
	big := setupValues()
	big.Set("first_name", strings.Repeat("a", int(ts.app.cfg.MaxFormBytes)+1))

	t.Run("declared length", func(t *testing.T) {
		res, _ := ts.postForm(t, path, big)
		require.Equal(t, http.StatusRequestEntityTooLarge, res.StatusCode)
		assertSecurityHeaders(t, res, false)
	})
	t.Run("chunked", func(t *testing.T) {
		req, err := http.NewRequest(http.MethodPost, ts.URL+path, struct{ io.Reader }{strings.NewReader(big.Encode())})
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res, _ := ts.do(t, req)
		require.Equal(t, http.StatusRequestEntityTooLarge, res.StatusCode)
	})
	n, err := ts.store.CountOperators(t.Context())
	require.NoError(t, err)
	assert.Zero(t, n)
}

func TestClientIP(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.7/32")}
	cases := []struct {
		name, remote string
		xff          []string
		want         string
	}{
		{"direct", "203.0.113.5:5000", nil, "203.0.113.5"},
		{"untrusted peer cannot spoof", "203.0.113.5:5000", []string{"1.2.3.4"}, "203.0.113.5"},
		{"trusted proxy", "10.1.2.3:443", []string{"198.51.100.9"}, "198.51.100.9"},
		{"chain through two proxies", "10.1.2.3:443", []string{"1.2.3.4, 198.51.100.9, 192.0.2.7"}, "198.51.100.9"},
		{"spoofed leftmost ignored", "10.1.2.3:443", []string{"6.6.6.6", "198.51.100.9"}, "198.51.100.9"},
		{"garbage hop", "10.1.2.3:443", []string{"not-an-ip"}, "10.1.2.3"},
		{"ipv6 peer", "[2001:db8::1]:80", nil, "2001:db8::1"},
		{"mapped ipv4", "[::ffff:203.0.113.5]:80", nil, "203.0.113.5"},
		{"all trusted", "10.1.2.3:443", []string{"10.9.9.9"}, "10.9.9.9"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, netip.MustParseAddr(c.want), clientIP(c.remote, c.xff, trusted))
		})
	}
}

func FuzzClientIP(f *testing.F) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	f.Add("10.0.0.1:80", "1.2.3.4, 5.6.7.8")
	f.Add("[::1]:80", "2001:db8::1")
	f.Add("garbage", ",,,")
	f.Add("203.0.113.9:443", "1.2.3.4")
	f.Fuzz(func(t *testing.T, remote, xff string) {
		ip := clientIP(remote, []string{xff}, trusted)
		if ip.IsValid() && ip.Zone() != "" {
			t.Fatalf("zone leaked: %v", ip)
		}
		peer := parseAddr(remote)
		// From a peer that is not a trusted proxy, X-Forwarded-For is
		// ignored: the answer is the peer itself.
		if !peer.IsValid() || !isTrusted(peer, trusted) {
			if ip != peer {
				t.Fatalf("untrusted peer %q with X-Forwarded-For %q gave %v", remote, xff, ip)
			}
			return
		}
		// From a trusted proxy the answer is the peer or one of the
		// addresses in the header, never something made up.
		hops := strings.Split(xff, ",")
		inHeader := false
		for _, h := range hops {
			inHeader = inHeader || parseAddr(strings.TrimSpace(h)) == ip
		}
		if ip != peer && !inHeader {
			t.Fatalf("trusted peer %q with X-Forwarded-For %q gave %v, found in neither", remote, xff, ip)
		}
		if ip != peer && isTrusted(ip, trusted) {
			// A trusted hop is skipped unless the chain ends in it.
			if parseAddr(strings.TrimSpace(hops[0])) != ip {
				t.Fatalf("a trusted hop %v was taken for the client (%q)", ip, xff)
			}
		}
	})
}

func TestStaticAssetsCachedByHash(t *testing.T) {
	ts := newTestServer(t)
	res, body := ts.get(t, ts.app.asset("kelas.css"))
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, res.Header.Get("Cache-Control"), "immutable")
	assert.Contains(t, res.Header.Get("Content-Type"), "text/css")
	assert.Contains(t, body, "--brand")
	assertSecurityHeaders(t, res, false)

	// Every asset, at its content-hashed address, may be kept a year and
	// never revalidated; any other address of it must be revalidated, so
	// a changed file is never served from a stale cache.
	require.NotEmpty(t, ts.app.assets)
	for name := range ts.app.assets {
		res, _ := ts.get(t, ts.app.asset(name))
		require.Equal(t, http.StatusOK, res.StatusCode, name)
		assert.Equal(t, "public, max-age=31536000, immutable", res.Header.Get("Cache-Control"), name)
		res, _ = ts.get(t, "/static/"+name+"?v=stale")
		require.Equal(t, http.StatusOK, res.StatusCode, name)
		assert.Equal(t, "no-cache", res.Header.Get("Cache-Control"), name)
		res, _ = ts.get(t, "/static/"+name)
		assert.Equal(t, "no-cache", res.Header.Get("Cache-Control"), name)
	}
	// Pages link the hashed address.
	_, page := ts.get(t, "/trainings")
	assert.Contains(t, page, `href="`+ts.app.asset("kelas.css")+`"`)

	res, _ = ts.get(t, "/static/../main.go")
	assert.NotEqual(t, http.StatusOK, res.StatusCode)
	res, _ = ts.get(t, "/static/nope.css")
	assert.Equal(t, http.StatusNotFound, res.StatusCode)
}

func TestHealthz(t *testing.T) {
	ts := newTestServer(t)
	res, body := ts.get(t, "/healthz")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "ok\n", body)
	require.NoError(t, ts.store.Close())
	res, _ = ts.get(t, "/healthz")
	assert.Equal(t, http.StatusServiceUnavailable, res.StatusCode)
}

func TestUnknownMethodOnUnknownPath(t *testing.T) {
	ts := newTestServer(t)
	res, _ := ts.postForm(t, "/nothing-here", url.Values{})
	assert.Equal(t, http.StatusMethodNotAllowed, res.StatusCode)
}

// The server's own error log (TLS handshake failures from scanners above
// all) names the client's address; kelas's log must not.
func TestServerErrorLogHasNoAddresses(t *testing.T) {
	ts := newTestServer(t)
	srv := httptest.NewUnstartedServer(http.NotFoundHandler())
	srv.Config.ErrorLog = ts.app.server("", nil).ErrorLog
	srv.StartTLS()
	defer srv.Close()
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	require.NoError(t, err)
	c.Close() // EOF in the handshake
	require.Eventually(t, func() bool { return strings.Contains(ts.logs.String(), "TLS handshake error") }, 5*time.Second, 10*time.Millisecond)
	assert.NotContains(t, ts.logs.String(), "127.0.0.1")

	ts.app.server("", nil).ErrorLog.Printf("http2: server connection error from [2001:db8::7]:443: boom")
	assert.NotContains(t, ts.logs.String(), "2001:db8")
}

// TestClientDisconnectIsNotAnError: a request whose client went away
// (its context cancelled) is logged once, at INFO, with what was actually
// written; no ERROR line, no 500.
func TestClientDisconnectIsNotAnError(t *testing.T) {
	ts := newTestServer(t)
	learner, _ := ts.person(t, "gone@example.org", store.RoleLearner, "")
	u, err := url.Parse(ts.URL)
	require.NoError(t, err)
	for _, path := range []string{"/dashboard", "/trainings", "/rights"} {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		req := httptest.NewRequest(http.MethodGet, ts.URL+path, nil).WithContext(ctx)
		for _, c := range learner.client.Jar.Cookies(u) {
			req.AddCookie(c)
		}
		before := len(ts.logs.String())
		rec := httptest.NewRecorder()
		ts.app.Handler().ServeHTTP(rec, req)
		logged := ts.logs.String()[before:]
		assert.NotContains(t, logged, "level=ERROR", "%s: %s", path, logged)
		assert.NotEqual(t, http.StatusInternalServerError, rec.Code, path)
		assert.Equal(t, 1, strings.Count(logged, "msg=request "), "%s: one request line: %s", path, logged)
		assert.Contains(t, logged, "client_gone=true", path)
	}
}

// TestAuthenticatedPageViewsWriteNothing: a signed-in person reading pages
// commits no write transaction (scs would re-commit the session on every
// request to push its idle deadline); a request that changes something
// still writes, which shows the count is live.
func TestAuthenticatedPageViewsWriteNothing(t *testing.T) {
	ts := newTestServer(t)
	learner, _ := ts.person(t, "reader@example.org", store.RoleLearner, "")
	// The login's own writes (its activity event goes through the batching
	// writer) settle first; the first page pops the login's flash.
	res, _ := learner.get(t, "/dashboard")
	require.Equal(t, http.StatusOK, res.StatusCode)
	before := settledWrites(t, ts)
	for _, path := range []string{"/dashboard", "/trainings", "/rights", "/profile", "/dashboard"} {
		res, _ := learner.get(t, path)
		require.Equal(t, http.StatusOK, res.StatusCode, path)
	}
	assert.Equal(t, before, settledWrites(t, ts), "page views committed write transactions")

	res, _ = learner.postForm(t, "/cookies", url.Values{"choice": {"reject_all"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Greater(t, ts.store.WriteTransactions(), before, "control: a change is written")
}

// settledWrites waits until no write transaction has been committed for
// 200 ms (background batches included), within 5 s, and returns the count.
func settledWrites(t *testing.T, ts *testServer) int64 {
	t.Helper()
	n := ts.store.WriteTransactions()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		time.Sleep(200 * time.Millisecond)
		m := ts.store.WriteTransactions()
		if m == n {
			return n
		}
		n = m
	}
	t.Fatal("writes did not settle")
	return n
}
