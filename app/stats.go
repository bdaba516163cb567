package app

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"hash/maphash"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/idna"
	"golang.org/x/text/language"

	"kelas/store"
	"kelas/views"
)

// Visitor statistics without cookies (SPEC §4.6). Page views are counted in
// memory and written as aggregate counters in batches: per UTC hour, and per
// day for each single dimension (path group, browser family, OS family,
// language, referrer domain). Unique visitors are told apart by an HMAC of
// address, user agent and day under a random salt that lives only in memory
// and is replaced every day, so yesterday's visitors cannot be recognised
// today and nothing stored can be linked back to an address.

// Bounds of the in-memory state.
const (
	statsMaxSeen    = 1 << 20 // unique (visitor, dimension value) pairs per day
	statsMaxPending = 50_000  // distinct counter cells between two flushes
	statsOther      = "(other)"
)

// statsDims indexes the daily dimensions in a visit.
var statsDims = [...]string{store.StatPath, store.StatBrowser, store.StatOS, store.StatLanguage, store.StatReferrer}

type statsHourKey struct {
	day  string
	hour int
}

type statsDimKey struct {
	day, dim, value string
}

type statsCount struct{ views, visitors int64 }

// statsCounter aggregates page views in memory until the next flush.
type statsCounter struct {
	mu       sync.Mutex
	day      string
	salt     []byte
	mac      hash.Hash // HMAC-SHA256 under salt, reused under mu
	sum      []byte
	seed     maphash.Seed
	seen     map[uint64]struct{}
	hours    map[statsHourKey]*statsCount
	dims     map[statsDimKey]*statsCount
	interval time.Duration
	wake     chan struct{}
}

func newStatsCounter() *statsCounter {
	return &statsCounter{seed: maphash.MakeSeed(), seen: map[uint64]struct{}{}, hours: map[statsHourKey]*statsCount{},
		dims: map[statsDimKey]*statsCount{}, interval: time.Minute, wake: make(chan struct{}, 1)}
}

// rotate starts a new day: a fresh random salt, and the old salt and the
// set of seen visitors forgotten. Called with mu held.
func (s *statsCounter) rotate(day string) {
	s.day = day
	s.salt = make([]byte, 32)
	rand.Read(s.salt)
	s.mac = hmac.New(sha256.New, s.salt)
	s.seed = maphash.MakeSeed()
	clear(s.seen)
}

// visit is one page view, reduced to what is counted.
type visit struct {
	at   time.Time
	ip   netip.Addr
	ua   string
	dims [len(statsDims)]string
}

// count adds one page view. It only touches memory.
func (s *statsCounter) count(v visit) {
	at := v.at.UTC()
	day := at.Format(store.DayLayout)
	s.mu.Lock()
	defer s.mu.Unlock()
	if day != s.day {
		s.rotate(day)
	}
	s.mac.Reset()
	ip := v.ip.As16()
	s.mac.Write(ip[:])
	io.WriteString(s.mac, v.ua)
	io.WriteString(s.mac, day)
	s.sum = s.mac.Sum(s.sum[:0])
	visitor := binary.BigEndian.Uint64(s.sum)

	hc := s.hours[statsHourKey{day, at.Hour()}]
	if hc == nil {
		hc = &statsCount{}
		s.hours[statsHourKey{day, at.Hour()}] = hc
	}
	hc.views++
	if s.firstSeen(visitor, -1, "") {
		hc.visitors++
	}
	for i, dim := range statsDims {
		k := statsDimKey{day, dim, v.dims[i]}
		dc := s.dims[k]
		if dc == nil {
			if len(s.dims) >= statsMaxPending {
				k.value = statsOther
				dc = s.dims[k]
			}
			if dc == nil {
				dc = &statsCount{}
				s.dims[k] = dc
			}
		}
		dc.views++
		if s.firstSeen(visitor, i, k.value) {
			dc.visitors++
		}
	}
	if len(s.dims) > statsMaxPending/2 {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

// firstSeen reports whether this is the visitor's first view today with
// this dimension value. Past the bound, new visitors stop counting as
// unique rather than letting memory grow.
func (s *statsCounter) firstSeen(visitor uint64, dim int, value string) bool {
	var h maphash.Hash
	h.SetSeed(s.seed)
	var b [9]byte
	binary.BigEndian.PutUint64(b[:8], visitor)
	b[8] = byte(dim + 1)
	h.Write(b[:])
	h.WriteString(value)
	k := h.Sum64()
	if _, ok := s.seen[k]; ok {
		return false
	}
	if len(s.seen) >= statsMaxSeen {
		return false
	}
	s.seen[k] = struct{}{}
	return true
}

// flush writes what accumulated in one transaction. On failure the counts
// go back into memory for the next attempt.
func (s *statsCounter) flush(ctx context.Context, st *store.Store, now time.Time) error {
	s.mu.Lock()
	if day := now.UTC().Format(store.DayLayout); day != s.day {
		s.rotate(day) // forget yesterday's salt even if nobody visits today
	}
	hours, dims := s.hours, s.dims
	s.hours, s.dims = map[statsHourKey]*statsCount{}, map[statsDimKey]*statsCount{}
	s.mu.Unlock()
	if len(hours) == 0 && len(dims) == 0 {
		return nil
	}
	hc := make([]store.HourCount, 0, len(hours))
	for k, c := range hours {
		hc = append(hc, store.HourCount{Day: k.day, Hour: k.hour, Views: c.views, Visitors: c.visitors})
	}
	dc := make([]store.DimCount, 0, len(dims))
	for k, c := range dims {
		dc = append(dc, store.DimCount{Day: k.day, Dimension: k.dim, Value: k.value, Views: c.views, Visitors: c.visitors})
	}
	if err := st.AddStats(ctx, hc, dc); err != nil {
		s.mu.Lock()
		for k, c := range hours {
			if cur := s.hours[k]; cur != nil {
				cur.views, cur.visitors = cur.views+c.views, cur.visitors+c.visitors
			} else {
				s.hours[k] = c
			}
		}
		for k, c := range dims {
			if cur := s.dims[k]; cur != nil {
				cur.views, cur.visitors = cur.views+c.views, cur.visitors+c.visitors
			} else {
				s.dims[k] = c
			}
		}
		s.mu.Unlock()
		return err
	}
	return nil
}

// FlushStats writes the counted page views now; the runner in package
// jobs also does it every minute and at shutdown (Tasks).
func (a *App) FlushStats(ctx context.Context) error {
	return a.stats.flush(ctx, a.store, a.clock())
}

// viewRecorder notes the status of a response so only successful HTML
// pages are counted.
type viewRecorder struct {
	http.ResponseWriter
	status int
}

func (v *viewRecorder) WriteHeader(code int) {
	if v.status == 0 {
		v.status = code
	}
	v.ResponseWriter.WriteHeader(code)
}

func (v *viewRecorder) Write(b []byte) (int, error) {
	if v.status == 0 {
		v.status = http.StatusOK
	}
	return v.ResponseWriter.Write(b)
}

func (v *viewRecorder) Unwrap() http.ResponseWriter { return v.ResponseWriter }

// countViews counts successful GET requests for HTML pages. It needs no
// cookie and no consent: what it keeps is anonymous. Bots, prefetches and
// logged-in people who object to statistics or whose processing is
// restricted are not counted.
func (a *App) countViews(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.Header.Get("Sec-Purpose") != "" || r.Header.Get("Purpose") != "" {
			next.ServeHTTP(w, r)
			return
		}
		rec := &viewRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if rec.status != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
			return
		}
		a.countView(r)
	})
}

func (a *App) countView(r *http.Request) {
	ua := r.UserAgent()
	if len(ua) > 512 {
		ua = ua[:512]
	}
	lower := strings.ToLower(ua)
	if isBotLower(lower) {
		return
	}
	if u := currentUser(r.Context()); u != nil {
		excluded, err := a.store.ExcludedFromStatistics(r.Context(), u.ID)
		if err != nil || excluded {
			return // when in doubt, do not count
		}
	}
	v := visit{at: a.clock(), ip: ClientIP(r.Context()), ua: ua}
	v.dims[0] = pathGroup(r.Pattern)
	v.dims[1] = browserFamilyLower(lower)
	v.dims[2] = osFamilyLower(lower)
	v.dims[3] = primaryLanguage(r.Header.Get("Accept-Language"))
	v.dims[4] = referrerDomain(r.Header.Get("Referer"), r.Host, a.cfg.PublicURL())
	a.stats.count(v)
}

// pathGroup is the route pattern of a page ("/trainings/{id}"), never the
// path itself, which may carry ids and tokens.
func pathGroup(pattern string) string {
	if _, p, ok := strings.Cut(pattern, " "); ok {
		pattern = p
	}
	pattern = strings.TrimSuffix(pattern, "{$}")
	if pattern == "" || len(pattern) > 100 {
		return statsOther
	}
	return pattern
}

// botMarkers are lower-case fragments of the user agents of crawlers,
// scripts, previews and headless browsers.
var botMarkers = []string{"bot", "crawl", "spider", "slurp", "curl/", "wget", "python", "go-http-client", "java/",
	"libwww", "httpclient", "okhttp", "axios", "node-fetch", "headless", "phantomjs", "lighthouse", "preview",
	"facebookexternalhit", "embedly", "whatsapp", "telegram", "monitor", "uptime", "scanner", "fetch"}

// isBot reports whether ua is not a person's browser: empty, not shaped like
// a browser's, or carrying a crawler's marker.
func isBot(ua string) bool { return isBotLower(strings.ToLower(ua)) }

func isBotLower(l string) bool {
	if !strings.HasPrefix(l, "mozilla/") && !strings.HasPrefix(l, "opera/") {
		return true
	}
	for _, m := range botMarkers {
		if strings.Contains(l, m) {
			return true
		}
	}
	return false
}

// browserFamily maps a user agent to a coarse browser family. The order
// matters: Edge, Opera and Samsung Internet also claim Chrome and Safari.
func browserFamily(ua string) string { return browserFamilyLower(strings.ToLower(ua)) }

func browserFamilyLower(l string) string {
	switch {
	case strings.Contains(l, "edg/") || strings.Contains(l, "edge/") || strings.Contains(l, "edga/") || strings.Contains(l, "edgios/"):
		return "Edge"
	case strings.Contains(l, "opr/") || strings.Contains(l, "opera") || strings.Contains(l, "opt/"):
		return "Opera"
	case strings.Contains(l, "samsungbrowser/"):
		return "Samsung Internet"
	case strings.Contains(l, "ucbrowser/") || strings.Contains(l, "ucweb"):
		return "UC Browser"
	case strings.Contains(l, "firefox/") || strings.Contains(l, "fxios/"):
		return "Firefox"
	case strings.Contains(l, "chrome/") || strings.Contains(l, "crios/") || strings.Contains(l, "chromium/"):
		return "Chrome"
	case strings.Contains(l, "safari/") && strings.Contains(l, "version/"):
		return "Safari"
	case strings.Contains(l, "msie ") || strings.Contains(l, "trident/"):
		return "Internet Explorer"
	}
	return "Other"
}

// osFamily maps a user agent to a coarse operating-system family.
func osFamily(ua string) string { return osFamilyLower(strings.ToLower(ua)) }

func osFamilyLower(l string) string {
	switch {
	case strings.Contains(l, "windows"):
		return "Windows"
	case strings.Contains(l, "iphone") || strings.Contains(l, "ipad") || strings.Contains(l, "ipod"):
		return "iOS"
	case strings.Contains(l, "android"):
		return "Android"
	case strings.Contains(l, "cros "):
		return "ChromeOS"
	case strings.Contains(l, "mac os x") || strings.Contains(l, "macintosh"):
		return "macOS"
	case strings.Contains(l, "linux") || strings.Contains(l, "x11"):
		return "Linux"
	}
	return "Other"
}

// primaryLanguage is the primary subtag of the first language in an
// Accept-Language header ("id-ID,id;q=0.9" → "id"), lower-case and a known
// ISO 639 code, or "" when there is none.
func primaryLanguage(h string) string {
	if len(h) > 200 {
		h = h[:200]
	}
	first, _, _ := strings.Cut(h, ",")
	first, _, _ = strings.Cut(first, ";")
	first = strings.TrimSpace(first)
	if i := strings.IndexAny(first, "-_"); i >= 0 {
		first = first[:i]
	}
	if len(first) < 2 || len(first) > 3 {
		return ""
	}
	for i := 0; i < len(first); i++ {
		if c := first[i] | 0x20; c < 'a' || c > 'z' {
			return ""
		}
	}
	b, err := language.ParseBase(strings.ToLower(first))
	if err != nil {
		return ""
	}
	return b.String()
}

// referrerDomain is the host of an external Referer, normalised (lower-case,
// ASCII, no "www.", no port), or "" for none, our own host, an address, or
// anything malformed or oversized.
func referrerDomain(ref string, own ...string) string {
	if ref == "" || len(ref) > 2048 {
		return ""
	}
	u, err := url.Parse(ref)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return ""
	}
	for _, o := range own {
		if strings.EqualFold(u.Host, o) {
			return "" // the common case, a link inside kelas, without further work
		}
	}
	host := normaliseHost(u.Hostname())
	if host == "" {
		return ""
	}
	for _, o := range own {
		if strings.Contains(o, "://") {
			if ou, err := url.Parse(o); err == nil {
				o = ou.Hostname()
			}
		} else if h, _, ok := strings.Cut(o, ":"); ok && !strings.Contains(h, "]") {
			o = h
		}
		if normaliseHost(o) == host {
			return ""
		}
	}
	return host
}

// normaliseHost returns a DNS name in canonical ASCII form without "www.",
// or "" when h is an address or not a valid name.
func normaliseHost(h string) string {
	h = strings.TrimSuffix(strings.TrimSpace(h), ".")
	if h == "" || len(h) > 253 {
		return ""
	}
	if _, err := netip.ParseAddr(strings.Trim(h, "[]")); err == nil {
		return "" // never count an address
	}
	a, err := idna.Lookup.ToASCII(h)
	if err != nil {
		return ""
	}
	a = strings.ToLower(a)
	for strings.HasPrefix(a, "www.") && strings.Count(a, ".") > 1 {
		a = a[len("www."):]
	}
	if len(a) > 253 || !strings.Contains(a, ".") {
		return ""
	}
	for _, label := range strings.Split(a, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return ""
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return ""
			}
		}
	}
	return a
}

// statsDays is the period /stats shows.
const statsDays = 30

// GET /stats
func (a *App) handleStats(w http.ResponseWriter, r *http.Request) error {
	min := int64(a.cfg.StatsMinCell)
	if min <= 0 {
		min = 10
	}
	last := a.clock().UTC()
	first := last.AddDate(0, 0, -(statsDays - 1))
	days, err := a.store.StatsByDay(r.Context(), first, last)
	if err != nil {
		return err
	}
	vm := views.StatsPage{From: days[0].Day, To: days[len(days)-1].Day, MinCell: int(min)}
	var views_, visitors int64
	for _, d := range days {
		vm.Days = append(vm.Days, views.StatDay{Day: d.Day, Views: statCell(d.Views, min), Visitors: statCell(d.Visitors, min)})
		views_ += d.Views
		visitors += d.Visitors
	}
	vm.TotalViews, vm.TotalVisitors = statCell(views_, min), statCell(visitors, min)
	for _, dim := range store.StatDimensions() {
		vals, err := a.store.StatsByValue(r.Context(), dim, first, last)
		if err != nil {
			return err
		}
		vm.Tables = append(vm.Tables, statTable(r, dim, vals, min))
	}
	return a.render(w, r, http.StatusOK, views.Stats(a.page(r, tr(r, "stats.title")), vm))
}

// statCell suppresses a count under min. Zero is shown: it describes
// nobody.
func statCell(n, min int64) views.StatCell {
	if n > 0 && n < min {
		return views.StatCell{Suppressed: true}
	}
	return views.StatCell{N: n}
}

// statTable lists a dimension's top values. Values seen fewer than min
// times are never shown on their own: they are summed into one "other" row,
// itself suppressed when small.
func statTable(r *http.Request, dim string, vals []store.ValueStat, min int64) views.StatTable {
	const top = 10
	t := views.StatTable{ID: dim, Title: statTitle(r, dim), Label: statColumn(r, dim)}
	var other store.ValueStat
	shown := 0
	for _, v := range vals {
		if v.Views < min || shown >= top || v.Value == statsOther {
			other.Views += v.Views
			other.Visitors += v.Visitors
			continue
		}
		shown++
		t.Rows = append(t.Rows, views.StatRow{Label: statLabel(r, dim, v.Value), Views: statCell(v.Views, min),
			Visitors: statCell(v.Visitors, min)})
	}
	sort.SliceStable(t.Rows, func(i, j int) bool { return t.Rows[i].Views.N > t.Rows[j].Views.N })
	if other.Views > 0 {
		t.Rows = append(t.Rows, views.StatRow{Label: tr(r, "stats.others"), Other: true, Views: statCell(other.Views, min),
			Visitors: statCell(other.Visitors, min)})
	}
	return t
}

// statTitle is the heading of a dimension's table.
func statTitle(r *http.Request, dim string) string {
	switch dim {
	case store.StatPath:
		return tr(r, "stats.dim.path.title")
	case store.StatBrowser:
		return tr(r, "stats.dim.browser.title")
	case store.StatOS:
		return tr(r, "stats.dim.os.title")
	case store.StatLanguage:
		return tr(r, "stats.dim.language.title")
	case store.StatReferrer:
		return tr(r, "stats.dim.referrer.title")
	}
	return dim
}

// statColumn is the heading of the column of a dimension's values.
func statColumn(r *http.Request, dim string) string {
	switch dim {
	case store.StatPath:
		return tr(r, "stats.dim.path.column")
	case store.StatBrowser:
		return tr(r, "stats.dim.browser.column")
	case store.StatOS:
		return tr(r, "stats.dim.os.column")
	case store.StatLanguage:
		return tr(r, "stats.dim.language.column")
	case store.StatReferrer:
		return tr(r, "stats.dim.referrer.column")
	}
	return dim
}

// statLabel shows a counted value: as it is (a page, a browser, a site),
// except the family "Other" and the empty value, which are said.
func statLabel(r *http.Request, dim, v string) string {
	switch {
	case v == "Other" && (dim == store.StatBrowser || dim == store.StatOS):
		return tr(r, "stats.value.other")
	case v != "":
		return v
	}
	switch dim {
	case store.StatLanguage:
		return tr(r, "stats.value.not_given")
	case store.StatReferrer:
		return tr(r, "stats.value.direct")
	}
	return tr(r, "stats.value.unknown")
}
