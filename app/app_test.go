package app

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"kelas/jobs"
	"kelas/store"
)

// testServer is a real app on a real temp store behind httptest, with a
// cookie jar and no redirect following.
type testServer struct {
	*httptest.Server
	app    *App
	jobs   *jobs.Runner // the background work, as main wires it; not running
	store  *store.Store
	client *http.Client
	logs   *syncBuffer
	stdout *syncBuffer
	clock  *testClock
	uid    string // who signIn logged in, for their second-factor codes
}

type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newTestServer(t testing.TB, mods ...func(*Config)) *testServer {
	t.Helper()
	key := make([]byte, 32)
	rand.Read(key)
	clock := &testClock{now: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	dir := t.TempDir()
	st, err := store.Open(context.Background(), store.Options{Dir: dir, MasterKey: key, Clock: clock.Now})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, st.Close(), "closing the store") })
	cfg := Config{Addr: "127.0.0.1:0", DataDir: dir, BcryptCost: 4}
	for _, m := range mods {
		m(&cfg)
	}
	logs, stdout := &syncBuffer{}, &syncBuffer{}
	a, bg := newApp(t, cfg, st, logs, stdout)
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &testServer{Server: srv, app: a, jobs: bg, store: st, client: client, logs: logs, stdout: stdout, clock: clock}
}

// background is the runner behind the app of ts, if any.
func (ts *testServer) background() (*jobs.Runner, bool) {
	if ts.app == nil {
		return nil, false
	}
	bg, ok := ts.app.bg.(*jobs.Runner)
	return bg, ok
}

// newApp builds an app and its background runner on st as main does, and
// prepares both; both close when the test ends. The runner is not running: tests run its jobs with
// RunNow, or start Run themselves.
func newApp(t testing.TB, cfg Config, st *store.Store, logs, stdout io.Writer) (*App, *jobs.Runner) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(logs, nil))
	bg, err := jobs.New(jobs.Config{BackupRecipients: cfg.BackupRecipients, BackupTarget: cfg.BackupTarget,
		BackupCredentials: cfg.BackupCredentials, OffsiteRetry: cfg.OffsiteRetry, SMTPURL: cfg.SMTPURL, MailFrom: cfg.MailFrom}, st, log)
	require.NoError(t, err)
	a, err := New(cfg, Deps{Log: log, Store: st, Static: os.DirFS("../static"), Stdout: stdout, Background: bg})
	require.NoError(t, err)
	bg.SetWork(jobs.Work(a.Tasks()))
	t.Cleanup(func() {
		assert.NoError(t, bg.Close(context.Background()), "closing the background work")
		assert.NoError(t, a.Close(context.Background()), "closing the app")
	})
	require.NoError(t, bg.Prepare(t.Context()))
	require.NoError(t, a.Prepare(t.Context()))
	return a, bg
}

func (ts *testServer) get(t testing.TB, path string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, ts.URL+path, nil)
	require.NoError(t, err)
	return ts.do(t, req)
}

func (ts *testServer) postForm(t testing.TB, path string, v url.Values) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, ts.URL+path, strings.NewReader(v.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return ts.do(t, req)
}

func (ts *testServer) do(t testing.TB, req *http.Request) (*http.Response, string) {
	t.Helper()
	res, err := ts.client.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	// Registration and reset requests finish their work after answering:
	// tests see its outcome at once.
	if bg, ok := ts.background(); ok {
		require.NoError(t, bg.WaitAccounts(t.Context()))
	}
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res, string(b)
}

func doc(t testing.TB, body string) *goquery.Document {
	t.Helper()
	d, err := goquery.NewDocumentFromReader(strings.NewReader(body))
	require.NoError(t, err)
	return d
}
