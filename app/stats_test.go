package app

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"kelas/store"
)

const (
	testUA = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0 KelasProbeAgent/7.3.1"
	testIP = "203.0.113.219"
)

// view sends one page view as a browser behind the trusted proxy would.
func (ts *testServer) view(t *testing.T, path, ip, ua string, hdr ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, ts.URL+path, nil)
	require.NoError(t, err)
	req.Header.Set("X-Forwarded-For", ip)
	req.Header.Set("User-Agent", ua)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, _ := ts.do(t, req)
	return res
}

func newStatsServer(t *testing.T) *testServer {
	t.Helper()
	return newTestServer(t, func(c *Config) { c.TrustedProxies = mustPrefixes(t, "127.0.0.0/8") })
}

func (ts *testServer) flushStats(t *testing.T) {
	t.Helper()
	require.NoError(t, ts.app.FlushStats(t.Context()))
}

func (ts *testServer) statValues(t *testing.T, dim string) map[string]store.ValueStat {
	t.Helper()
	now := ts.clock.Now()
	vals, err := ts.store.StatsByValue(t.Context(), dim, now.AddDate(0, 0, -30), now)
	require.NoError(t, err)
	out := map[string]store.ValueStat{}
	for _, v := range vals {
		out[v.Value] = v
	}
	return out
}

func (ts *testServer) today(t *testing.T) store.DayStat {
	t.Helper()
	days, err := ts.store.StatsByDay(t.Context(), ts.clock.Now(), ts.clock.Now())
	require.NoError(t, err)
	require.Len(t, days, 1)
	return days[0]
}

// TestStatsCountWithoutKeepingAddressOrAgent is the acceptance test: many
// page views from one address and user agent, counters that match, and
// neither string in any file kelas wrote or in its log.
func TestStatsCountWithoutKeepingAddressOrAgent(t *testing.T) {
	ts := newStatsServer(t)
	const n = 40
	for i := 0; i < n; i++ {
		path := "/"
		if i%2 == 1 {
			path = "/cookies"
		}
		res := ts.view(t, path, testIP, testUA, "Referer", "https://WWW.Kampus.example.ID/news?id=7", "Accept-Language", "ms-MY,ms;q=0.9,en;q=0.5")
		require.Equal(t, http.StatusOK, res.StatusCode)
	}
	// A second visitor (other address) and the same one the next hour.
	require.Equal(t, http.StatusOK, ts.view(t, "/", "198.51.100.23", testUA).StatusCode)
	ts.clock.Add(time.Hour)
	require.Equal(t, http.StatusOK, ts.view(t, "/", testIP, testUA).StatusCode)

	assert.Equal(t, store.DayStat{}, func() store.DayStat { d := ts.today(t); d.Day = time.Time{}; return d }(),
		"nothing is written in the request path")
	ts.flushStats(t)

	day := ts.today(t)
	assert.Equal(t, int64(n+2), day.Views, "every view counted")
	assert.Equal(t, int64(2), day.Visitors, "two unique visitors")
	paths := ts.statValues(t, store.StatPath)
	assert.Equal(t, int64(n/2+2), paths["/"].Views)
	assert.Equal(t, int64(2), paths["/"].Visitors)
	assert.Equal(t, int64(n/2), paths["/cookies"].Views)
	assert.Equal(t, int64(1), paths["/cookies"].Visitors)
	assert.Equal(t, store.ValueStat{Value: "Firefox", Views: n + 2, Visitors: 2}, ts.statValues(t, store.StatBrowser)["Firefox"])
	assert.Equal(t, store.ValueStat{Value: "Linux", Views: n + 2, Visitors: 2}, ts.statValues(t, store.StatOS)["Linux"])
	langs := ts.statValues(t, store.StatLanguage)
	assert.Equal(t, int64(n), langs["ms"].Views)
	assert.Equal(t, int64(2), langs[""].Views)
	refs := ts.statValues(t, store.StatReferrer)
	assert.Equal(t, int64(n), refs["kampus.example.id"].Views, "normalised external referrer domain")

	// Flushing again adds nothing twice.
	ts.flushStats(t)
	assert.Equal(t, int64(n+2), ts.today(t).Views)

	files, err := filepath.Glob(filepath.Join(ts.app.cfg.DataDir, "*"))
	require.NoError(t, err)
	names := map[string]bool{}
	for _, f := range files {
		names[filepath.Base(f)] = true
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, s := range []string{testIP, "198.51.100.23", "KelasProbeAgent", "Gecko/20100101"} {
			assert.False(t, bytes.Contains(b, []byte(s)), "%s holds %q", filepath.Base(f), s)
		}
		ip := netip.MustParseAddr(testIP).As4()
		assert.False(t, bytes.Contains(b, append([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, ip[:]...)), "%s holds the address in binary", filepath.Base(f))
	}
	assert.True(t, names[store.MainDBFile] && names[store.KeysDBFile], "the raw files were found: %v", names)
	assert.True(t, names[store.MainDBFile+"-wal"], "the WAL was checked too: %v", names)
	for _, s := range []string{testIP, "KelasProbeAgent"} {
		assert.NotContains(t, ts.logs.String(), s)
	}
}

func TestStatsCountOnlyPeoplesPageViews(t *testing.T) {
	ts := newStatsServer(t)
	for _, c := range []struct {
		name   string
		method string
		path   string
		ua     string
		hdr    []string
	}{
		{"a crawler", "GET", "/", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", nil},
		{"a script", "GET", "/", "curl/8.5.0", nil},
		{"no user agent", "GET", "/", "", nil},
		{"a headless browser", "GET", "/", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0 Safari/537.36", nil},
		{"a prefetch", "GET", "/", testUA, []string{"Sec-Purpose", "prefetch"}},
		{"a 404", "GET", "/no/such/page", testUA, nil},
		{"a HEAD", "HEAD", "/", testUA, nil},
		{"a POST", "POST", "/cookies", testUA, nil},
		{"a static file", "GET", "/static/kelas.css", testUA, nil},
		{"the health check", "GET", "/healthz", testUA, nil},
		{"JSON", "GET", "/.well-known/gpc.json", testUA, nil},
	} {
		req, err := http.NewRequest(c.method, ts.URL+c.path, nil)
		require.NoError(t, err)
		req.Header.Set("User-Agent", c.ua)
		for i := 0; i+1 < len(c.hdr); i += 2 {
			req.Header.Set(c.hdr[i], c.hdr[i+1])
		}
		ts.do(t, req)
	}
	ts.flushStats(t)
	assert.Zero(t, ts.today(t).Views, "none of these is a person's page view")

	t.Run("logged-in people who object or are restricted are not counted", func(t *testing.T) {
		res, _ := ts.postForm(t, "/register", registration())
		require.Equal(t, http.StatusSeeOther, res.StatusCode)
		res, _ = ts.postForm(t, "/login", url.Values{"email": {"siti.rahmawati@example.org"}, "password": {"kain batik tulis 2026"}})
		require.Equal(t, http.StatusSeeOther, res.StatusCode)
		u := mustUser(t, ts)

		require.Equal(t, http.StatusOK, ts.view(t, "/", testIP, testUA).StatusCode)
		require.NoError(t, ts.store.SetObjection(t.Context(), u.ID, store.ObjectStatistics, true))
		require.Equal(t, http.StatusOK, ts.view(t, "/", testIP, testUA).StatusCode)
		require.NoError(t, ts.store.SetObjection(t.Context(), u.ID, store.ObjectStatistics, false))
		require.NoError(t, ts.store.SetRestricted(t.Context(), u.ID, true))
		require.Equal(t, http.StatusOK, ts.view(t, "/", testIP, testUA).StatusCode)
		ts.flushStats(t)
		assert.Equal(t, int64(1), ts.today(t).Views, "only the view before the objection counts")
	})
}

func TestStatsHostileHeadersAreBoundedAndNormalised(t *testing.T) {
	ts := newStatsServer(t)
	long := "https://" + strings.Repeat("a", 3000) + ".example/"
	for _, h := range [][]string{
		{"Referer", long, "Accept-Language", strings.Repeat("x", 5000)},
		{"Referer", "javascript:alert(1)", "Accept-Language", "<script>"},
		{"Referer", "https://192.0.2.55/admin", "Accept-Language", "zz-ZZ"},
		{"Referer", "https://evil.example%00.com/", "Accept-Language", "*"},
		{"Referer", ts.URL + "/cookies", "Accept-Language", "EN-gb"},
		{"Referer", "https://bücher.example/", "Accept-Language", "th"},
	} {
		require.Equal(t, http.StatusOK, ts.view(t, "/", testIP, testUA, h...).StatusCode)
	}
	ts.flushStats(t)
	refs := ts.statValues(t, store.StatReferrer)
	assert.Equal(t, int64(5), refs[""].Views, "oversized, non-web, address, malformed and own referrers count as none")
	assert.Equal(t, int64(1), refs["xn--bcher-kva.example"].Views, "international names in ASCII form")
	assert.Len(t, refs, 2)
	langs := ts.statValues(t, store.StatLanguage)
	assert.Equal(t, int64(1), langs["en"].Views)
	assert.Equal(t, int64(1), langs["th"].Views)
	assert.Equal(t, int64(4), langs[""].Views)
	assert.Len(t, langs, 3)
}

func TestStatsUniqueVisitorsPerDayWithANewSalt(t *testing.T) {
	ts := newStatsServer(t)
	require.Equal(t, http.StatusOK, ts.view(t, "/", testIP, testUA).StatusCode)
	salt := append([]byte(nil), ts.app.stats.salt...)
	require.Len(t, salt, 32)
	ts.flushStats(t)
	ts.clock.Add(24 * time.Hour)
	ts.flushStats(t)
	assert.NotEqual(t, salt, ts.app.stats.salt, "a new day has a new salt even before anyone visits")
	require.Equal(t, http.StatusOK, ts.view(t, "/", testIP, testUA).StatusCode)
	require.Equal(t, http.StatusOK, ts.view(t, "/", testIP, testUA).StatusCode)
	ts.flushStats(t)
	assert.Equal(t, store.DayStat{Day: ts.clock.Now().Truncate(24 * time.Hour), Views: 2, Visitors: 1}, ts.today(t))
	require.Equal(t, http.StatusOK, ts.view(t, "/", testIP, strings.Replace(testUA, "128.0", "129.0", 1)).StatusCode)
	ts.flushStats(t)
	assert.Equal(t, int64(2), ts.today(t).Visitors, "another browser behind the same address is another visitor")
}

func TestStatsPageSuppressesSmallCells(t *testing.T) {
	ts := newTestServer(t)
	now := ts.clock.Now()
	d := now.Format(store.DayLayout)
	y := now.AddDate(0, 0, -1).Format(store.DayLayout)
	require.NoError(t, ts.store.AddStats(t.Context(),
		[]store.HourCount{{Day: d, Hour: 9, Views: 31, Visitors: 12}, {Day: y, Hour: 9, Views: 7, Visitors: 3}},
		[]store.DimCount{
			{Day: d, Dimension: store.StatBrowser, Value: "Firefox", Views: 25, Visitors: 10},
			{Day: d, Dimension: store.StatBrowser, Value: "Chrome", Views: 4, Visitors: 1},
			{Day: d, Dimension: store.StatBrowser, Value: "Opera", Views: 2, Visitors: 1},
			{Day: y, Dimension: store.StatBrowser, Value: "Firefox", Views: 7, Visitors: 3},
			{Day: d, Dimension: store.StatReferrer, Value: "rare-forum.example", Views: 3, Visitors: 1},
		}))
	res, body := ts.get(t, "/stats")
	require.Equal(t, http.StatusOK, res.StatusCode)
	page := doc(t, body)

	daily := page.Find(`[data-testid="daily-table"] tbody tr`)
	require.Equal(t, 30, daily.Length(), "the last 30 days")
	cells := func(sel string) []string {
		var out []string
		page.Find(sel).Each(func(_ int, s *goquery.Selection) { out = append(out, strings.TrimSpace(s.Text())) })
		return out
	}
	last := cells(`[data-testid="daily-table"] tbody tr:last-child td`)
	assert.Equal(t, []string{"31", "12"}, last)
	before := cells(`[data-testid="daily-table"] tbody tr:nth-last-child(2) td`)
	assert.Equal(t, []string{"fewer than 10", "fewer than 10"}, before, "a small day is suppressed")
	assert.Equal(t, []string{"0", "0"}, cells(`[data-testid="daily-table"] tbody tr:first-child td`), "zero describes nobody")

	browsers := page.Find(`[data-testid="stats-table-browser"]`).Text()
	assert.Contains(t, browsers, "Firefox")
	assert.Contains(t, browsers, "32")
	assert.NotContains(t, browsers, "Chrome", "a value under 10 is never shown alone")
	assert.NotContains(t, browsers, "Opera")
	assert.Contains(t, browsers, "All others together")
	assert.NotRegexp(t, regexp.MustCompile(`>\s*[1-9]\s*<`), body, "no count under 10 anywhere on the page")
	assert.NotContains(t, page.Find(`[data-testid="stats-table-referrer"]`).Text()+page.Find("svg").Text(), "rare-forum")
	assert.Equal(t, 1, page.Find(`[data-testid="daily-chart"] > title`).Length())
	assert.Equal(t, 30, page.Find(`[data-testid="daily-chart"] rect`).Length(), "one bar per day")
	assert.Equal(t, "38", strings.TrimSpace(page.Find(`[data-testid="total-views"]`).Text()))
	assert.Equal(t, "15", strings.TrimSpace(page.Find(`[data-testid="total-visitors"]`).Text()))

	t.Run("the minimum is configurable", func(t *testing.T) {
		ts.app.cfg.StatsMinCell = 3
		_, body := ts.get(t, "/stats")
		assert.Contains(t, doc(t, body).Find(`[data-testid="stats-table-browser"]`).Text(), "Chrome")
		ts.app.cfg.StatsMinCell = 0
	})
}

func TestUserAgentFamilies(t *testing.T) {
	for ua, want := range map[string][3]string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36":                                                       {"Chrome", "Windows", ""},
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0":                                         {"Edge", "Windows", ""},
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15":                                                    {"Safari", "macOS", ""},
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1":                               {"Safari", "iOS", ""},
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/126.0.6478.54 Mobile/15E148 Safari/604.1":                        {"Chrome", "iOS", ""},
		"Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36":                            {"Samsung Internet", "Android", ""},
		"Mozilla/5.0 (Linux; U; Android 10; en-US; RMX2020) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/78.0.3904.108 UCBrowser/13.4.0.1306 Mobile Safari/537.36": {"UC Browser", "Android", ""},
		"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0":                                                                                                {"Firefox", "Linux", ""},
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 OPR/111.0.0.0":                                         {"Opera", "Windows", ""},
		"Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36":                                                        {"Chrome", "ChromeOS", ""},
		"Mozilla/5.0 (Windows NT 6.1; Trident/7.0; rv:11.0) like Gecko":                                                                                                         {"Internet Explorer", "Windows", ""},
		"Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)":                                                                                               {"Other", "Other", "bot"},
		"Wget/1.21":             {"Other", "Other", "bot"},
		"":                      {"Other", "Other", "bot"},
		"Mozilla/5.0 (Unknown)": {"Other", "Other", ""},
	} {
		assert.Equal(t, want[0], browserFamily(ua), ua)
		assert.Equal(t, want[1], osFamily(ua), ua)
		assert.Equal(t, want[2] == "bot", isBot(ua), ua)
	}
}

func TestPrimaryLanguage(t *testing.T) {
	for in, want := range map[string]string{
		"id-ID,id;q=0.9,en-US;q=0.8": "id",
		"EN":                         "en",
		"fil-PH":                     "fil",
		"zh_Hant_TW":                 "zh",
		" vi ; q=1":                  "vi",
		"eng":                        "en",
		"*":                          "",
		"":                           "",
		"zz":                         "",
		"e1":                         "",
		"english":                    "",
		"ms\u0000":                   "",
		strings.Repeat("a", 10000):   "",
		"ＥＮ":                         "",
	} {
		assert.Equal(t, want, primaryLanguage(in), "%q", in)
	}
}

func TestReferrerDomain(t *testing.T) {
	for in, want := range map[string]string{
		"https://www.google.com/search?q=secret":           "google.com",
		"http://News.Example.CO.ID:8080/a":                 "news.example.co.id",
		"https://bücher.example/":                          "xn--bcher-kva.example",
		"https://learn.example.org/trainings":              "",
		"https://www.learn.example.org/x":                  "",
		"https://127.0.0.1:9000/":                          "",
		"http://[2001:db8::1]/":                            "",
		"ftp://files.example/":                             "",
		"android-app://com.google.android.gm/":             "",
		"https://localhost/":                               "",
		"https://-bad-.example/":                           "",
		"https://a..example/":                              "",
		"not a url":                                        "",
		"https://" + strings.Repeat("a", 64) + ".example/": "",
	} {
		assert.Equal(t, want, referrerDomain(in, "learn.example.org:443", "https://learn.example.org"), "%q", in)
	}
}

func TestPathGroup(t *testing.T) {
	assert.Equal(t, "/", pathGroup("GET /{$}"))
	assert.Equal(t, "/trainings/{id}", pathGroup("GET /trainings/{id}"))
	assert.Equal(t, "/cookies", pathGroup("/cookies"))
	assert.Equal(t, statsOther, pathGroup(""))
}

func FuzzUserAgent(f *testing.F) {
	for _, s := range []string{"", "Mozilla/5.0", testUA, "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Version/17.5 Safari/604.1",
		"Mozilla/5.0 (compatible; Googlebot/2.1)", "\xff\xfe", strings.Repeat("Mozilla/", 100)} {
		f.Add(s)
	}
	browsers := map[string]bool{"Edge": true, "Opera": true, "Samsung Internet": true, "UC Browser": true, "Firefox": true,
		"Chrome": true, "Safari": true, "Internet Explorer": true, "Other": true}
	systems := map[string]bool{"Windows": true, "iOS": true, "Android": true, "ChromeOS": true, "macOS": true, "Linux": true, "Other": true}
	f.Fuzz(func(t *testing.T, ua string) {
		if b := browserFamily(ua); !browsers[b] {
			t.Fatalf("browser %q", b)
		}
		if o := osFamily(ua); !systems[o] {
			t.Fatalf("os %q", o)
		}
		// Deterministic, and a function of the string alone.
		if browserFamily(ua) != browserFamily(strings.Clone(ua)) || osFamily(ua) != osFamily(ua) || isBot(ua) != isBot(ua) {
			t.Fatal("not deterministic")
		}
		// Families are recognised by tokens, so an unrelated prefix or
		// suffix without one changes nothing.
		if !strings.ContainsAny(ua, "()/;") && browserFamily(ua+" plain") != browserFamily(ua) {
			t.Fatalf("%q: a plain suffix changed the family", ua)
		}
		// Nothing without a token is counted as a known browser.
		if strings.TrimSpace(ua) == "" && browserFamily(ua) != "Other" {
			t.Fatalf("empty agent counted as %q", browserFamily(ua))
		}
	})
}

func FuzzPrimaryLanguage(f *testing.F) {
	for _, s := range []string{"", "en-US,en;q=0.9", "*", "zh_Hant", "ms;q=0", "i-klingon", "x-private", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		l := primaryLanguage(h)
		if l == "" {
			return
		}
		if len(l) < 2 || len(l) > 3 {
			t.Fatalf("%q → %q", h, l)
		}
		for _, c := range l {
			if c < 'a' || c > 'z' {
				t.Fatalf("%q → %q", h, l)
			}
		}
	})
}

var domainRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$`)

func FuzzReferrerDomain(f *testing.F) {
	for _, s := range []string{"", "https://www.example.com/", "http://EXAMPLE.org:80", "https://bücher.example/", "https://1.2.3.4/",
		"https://[::1]/", "https://a..b/", "https://xn--/", "javascript:x", "https://www.www.example/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ref string) {
		d := referrerDomain(ref, "kelas.example")
		if d == "" {
			return
		}
		if len(d) > 253 || !domainRE.MatchString(d) || (strings.HasPrefix(d, "www.") && strings.Count(d, ".") > 1) || d == "kelas.example" {
			t.Fatalf("%q → %q", ref, d)
		}
		if _, err := netip.ParseAddr(d); err == nil {
			t.Fatalf("%q → an address %q", ref, d)
		}
	})
}

// BenchmarkCountViews measures what counting adds to a page view: the
// handler alone, then behind countViews.
func BenchmarkCountViews(b *testing.B) {
	ts := newTestServer(b)
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte("<p>hello</p>"))
	})
	req := func(i int) *http.Request {
		r := httptest.NewRequest(http.MethodGet, "/trainings", nil)
		r.Pattern = "GET /trainings"
		r.Header.Set("User-Agent", testUA)
		r.Header.Set("Accept-Language", "id-ID,id;q=0.9")
		r.Header.Set("Referer", "https://www.kampus.example.id/berita")
		ip := netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})
		return r.WithContext(context.WithValue(r.Context(), ctxClientIP, ip))
	}
	reqs := make([]*http.Request, 4096)
	for i := range reqs {
		reqs[i] = req(i)
	}
	run := func(b *testing.B, h http.Handler) {
		w := httptest.NewRecorder()
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			h.ServeHTTP(w, reqs[i%len(reqs)])
		}
	}
	b.Run("handler alone", func(b *testing.B) { run(b, page) })
	b.Run("with countViews", func(b *testing.B) { run(b, ts.app.countViews(page)) })
}

// TestServeFlushesStatsAtShutdown: views counted just before a shutdown are
// written, not lost with the process.
func TestServeFlushesStatsAtShutdown(t *testing.T) {
	ts := newTestServer(t)
	ctx, cancel := context.WithCancel(t.Context())
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- ts.jobs.Serve(ctx, ts.app.Serve, func(addr string) { addrc <- addr }) }()
	addr := <-addrc
	req, err := http.NewRequest(http.MethodGet, "http://"+addr+"/", nil)
	require.NoError(t, err)
	req.Header.Set("User-Agent", testUA)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Zero(t, ts.today(t).Views, "the minute has not passed")
	cancel()
	require.NoError(t, <-done)
	assert.Equal(t, int64(1), ts.today(t).Views)
}
