// Package app is kelas's HTTP side: routes, middleware, handlers and the
// workflows behind them. It depends on store and views, never the reverse.
package app

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"kelas/i18n"
	"kelas/mail"
	"kelas/store"
	"kelas/store/offsite"

	"filippo.io/age"
	"github.com/alexedwards/scs/v2"
	"github.com/yuin/goldmark"
)

// Config is the runtime configuration, from flags and KELAS_* variables.
type Config struct {
	Addr           string
	DataDir        string
	BaseURL        string
	Domain         string
	BcryptCost     int
	TrustedProxies []netip.Prefix
	// MaxFormBytes bounds ordinary form bodies; upload routes set their own.
	MaxFormBytes int64
	// BodyTimeout is how long a form body may take to arrive; uploads get
	// more, by size (middleware.go). 0 means 10 seconds.
	BodyTimeout time.Duration
	Version     string
	Demo        bool // seed sample trainings when there are none
	// PseudoLocale makes ?lang=qps select the pseudo-locale, English with
	// accented letters, so text that bypasses the catalogue shows (tests).
	PseudoLocale bool
	// ErasureGrace is how long an erasure request can be cancelled before
	// it is carried out (KELAS_ERASURE_GRACE). Nil means 7 days; 0 means
	// the erasure job's next run (it runs hourly).
	ErasureGrace *time.Duration
	SMTPURL      string // KELAS_SMTP_URL; empty keeps mail in the outbox
	MailFrom     string // KELAS_MAIL_FROM
	// BackupRecipients are extra age recipients of every backup
	// (KELAS_BACKUP_RECIPIENT), e.g. an offline recovery key.
	BackupRecipients []age.Recipient
	// BackupTarget is the off-site target URL (KELAS_BACKUP_TARGET, s3://…
	// or sftp://…); a target set on /console/backups takes its place.
	// BackupCredentials are its secrets, from their own variables only.
	BackupTarget      string
	BackupCredentials offsite.Credentials
	// OffsiteRetry tunes upload retries; zero values mean the defaults.
	OffsiteRetry store.OffsiteOptions
	// StatsMinCell is the smallest count /stats publishes; smaller cells
	// show as "fewer than N". 0 means 10.
	StatsMinCell int
	// ReportMinCell is the smallest count the console reports show; 0
	// means 5.
	ReportMinCell int
	// With Domain: the HTTPS listen address (KELAS_HTTPS_ADDR, default
	// :443) and the plain-HTTP one that answers ACME challenges and
	// redirects (KELAS_HTTP_ADDR, default :80).
	HTTPSAddr string
	HTTPAddr  string
	// ACMEDirectory is the ACME server's directory URL (default Let's
	// Encrypt); ACMECARoot a PEM file of roots to trust for it, for a
	// private or test CA; ACMEEmail the contact for expiry notices.
	ACMEDirectory string
	ACMECARoot    string
	ACMEEmail     string
}

// Secure reports whether kelas is reached over HTTPS, which switches on
// Secure/__Host- cookies and HSTS.
func (c Config) Secure() bool {
	return c.Domain != "" || strings.HasPrefix(c.BaseURL, "https://")
}

// publicURL is PublicURL of the configuration as it is now: Serve fills in
// the address it listens on when none is configured.
func (a *App) publicURL() string { return a.cfg.PublicURL() }

// PublicURL is the origin people use to reach kelas, for links in mail and on
// the console.
func (c Config) PublicURL() string {
	switch {
	case c.BaseURL != "":
		return strings.TrimRight(c.BaseURL, "/")
	case c.Domain != "":
		return "https://" + c.Domain
	}
	return "http://" + c.Addr
}

// Deps are the application's collaborators.
type Deps struct {
	Log   *slog.Logger
	Store *store.Store
	// Static is the static/ tree (embedded in the binary).
	Static fs.FS
	// Stdout receives links an operator needs when no mail can be sent
	// (setup and verification links). Nil discards them.
	Stdout io.Writer
	// Background takes the work requests start but do not wait for
	// (package jobs).
	Background Background
}

// App holds every dependency of the HTTP side.
type App struct {
	cfg      Config
	log      *slog.Logger
	store    *store.Store
	sessions *scs.SessionManager
	clock    func() time.Time
	static   fs.FS
	stdout   io.Writer
	// mailOn says outbox mail is delivered (Config.SMTPURL is set; the
	// runner in package jobs delivers it); without it the links mail
	// would carry are also printed on stdout.
	mailOn bool
	// bg takes the work requests start but do not wait for (background.go).
	bg Background
	// mails writes the mail requests send (package mail).
	mails  *mail.Composer
	limits limiters
	hasher *hasher
	// pictureSlots bounds concurrent picture re-encoding.
	pictureSlots chan struct{}
	consent      *consentKit   // cookie consent (consent.go)
	stats        *statsCounter // visitor statistics (stats.go)
	activity     *store.ActivityWriter
	activityOff  atomic.Bool // benchmarks only: measure a request without logging
	md           goldmark.Markdown
	assets       map[string]string // static file name → content hash
	handler      http.Handler
	// policyBanner is the newest material policy version (policyversions.go).
	policyBanner atomic.Pointer[policyBannerState]
	routeTable   []route // every route and its audience, in registration order (routes.go)
	// access holds web access-log lines until they are written (accesslog.go).
	access accessBuffer

	// filterOptions are the catalogue's country and language lists,
	// rendered once (trainings.go).
	filterOptions filterOptions
	// renderBuffers keeps page buffers between requests (render.go): a
	// page is tens of kilobytes, and growing a new buffer to that size was
	// a large share of rendering.
	renderBuffers sync.Pool
	// zones holds the time zones loaded so far, by name (language.go).
	zones sync.Map
}

// New builds the application. It does no I/O: Prepare does, before
// serving.
func New(cfg Config, d Deps) (*App, error) {
	if d.Background == nil {
		return nil, errors.New("app: no background runner")
	}
	if err := i18n.Check(); err != nil {
		return nil, fmt.Errorf("app: message catalogue: %w", err)
	}
	if cfg.BcryptCost == 0 {
		cfg.BcryptCost = 12
	}
	if cfg.MaxFormBytes == 0 {
		cfg.MaxFormBytes = 64 << 10
	}
	if cfg.BodyTimeout == 0 {
		cfg.BodyTimeout = 10 * time.Second
	}
	a := &App{cfg: cfg, log: d.Log, store: d.Store, clock: d.Store.Now, static: d.Static, stdout: d.Stdout,
		mailOn: cfg.SMTPURL != "", bg: d.Background, hasher: newHasher(cfg.BcryptCost),
		pictureSlots: make(chan struct{}, 2)}
	a.mails = &mail.Composer{Store: a.store, Log: a.log, PublicURL: a.publicURL, Queue: a.queueMail}
	// The dummy hash is made at start, in the background (throttle.go).
	a.bg.Go(a.hasher.makeDummy)
	a.limits = newLimiters(a.clock)
	a.filterOptions = newFilterOptions()
	a.consent, a.stats = newConsentKit(a.clock), newStatsCounter()
	a.md = newMarkdown()
	a.activity = d.Background.Activity()
	if a.stdout == nil {
		a.stdout = io.Discard
	}
	a.sessions = scs.New()
	a.sessions.Store = d.Store.Sessions()
	a.sessions.Lifetime = 24 * time.Hour
	a.sessions.IdleTimeout = 4 * time.Hour
	a.sessions.Codec = stableCodec{}
	a.sessions.Cookie.Name = "kelas_session"
	a.sessions.Cookie.HttpOnly = true
	a.sessions.Cookie.SameSite = http.SameSiteLaxMode
	a.sessions.Cookie.Path = "/"
	if cfg.Secure() {
		// __Host- cookies must be Secure, host-only and Path=/; browsers then
		// refuse them from subdomains and plain HTTP.
		a.sessions.Cookie.Name = "__Host-kelas_session"
		a.sessions.Cookie.Secure = true
	}
	a.sessions.ErrorFunc = func(w http.ResponseWriter, r *http.Request, err error) { a.writeError(w, r, err) }
	a.handler = a.routes()
	return a, nil
}

// Prepare does the app's start-up I/O: it fingerprints the static files,
// seeds the member organisations (and, with Config.Demo, sample
// trainings) and reads the policy banner. Call it once, before serving.
func (a *App) Prepare(ctx context.Context) error {
	assets, err := hashAssets(a.static)
	if err != nil {
		return err
	}
	a.assets = assets
	if n, err := a.store.SeedMembers(ctx); err != nil {
		return err
	} else if n > 0 {
		a.log.Info("member organisations seeded", "count", n)
	}
	if a.cfg.Demo {
		if err := a.seedDemo(ctx); err != nil {
			return fmt.Errorf("demo data: %w", err)
		}
	}
	return a.refreshPolicyBanner(ctx)
}

// Close waits until the activity events requests recorded are committed.
// Call it after the last request has finished; it is safe to call more
// than once. (The background runner owns the writer and closes it.)
func (a *App) Close(ctx context.Context) error {
	return a.activity.Sync(ctx)
}

// Handler is the complete HTTP handler with all middleware.
func (a *App) Handler() http.Handler { return a.handler }

// SetupLink returns a fresh one-time link for creating the first operator,
// or "" when an operator already exists.
func (a *App) SetupLink(ctx context.Context) (string, error) {
	n, err := a.store.CountOperators(ctx)
	if err != nil || n > 0 {
		return "", err
	}
	token, err := a.store.CreateSetupToken(ctx, setupTTL)
	if err != nil {
		return "", err
	}
	return a.cfg.PublicURL() + "/setup/" + token, nil
}

// Serve listens until ctx is cancelled, then shuts down gracefully, letting
// requests in flight finish. With a domain it serves HTTPS with certificates
// from ACME and answers plain HTTP only for challenges and redirects. The
// background work runs beside it (package jobs), not inside it.
func (a *App) Serve(ctx context.Context, ready func(addr string)) error {
	srv := a.server(a.cfg.Addr, a.handler)
	var redirect *http.Server
	if a.cfg.Domain != "" {
		m, cache, err := a.acmeManager(ctx)
		if err != nil {
			return err
		}
		// Deferred first, so it runs after both servers have stopped.
		defer cache.Close()
		srv.Addr = cmp.Or(a.cfg.HTTPSAddr, DefaultHTTPSAddr)
		srv.TLSConfig = m.TLSConfig()
		redirect = a.server(cmp.Or(a.cfg.HTTPAddr, DefaultHTTPAddr), m.HTTPHandler(a.redirectToHTTPS()))
	}
	ln, err := net.Listen("tcp", srv.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	var rln net.Listener
	if redirect != nil {
		if rln, err = net.Listen("tcp", redirect.Addr); err != nil {
			ln.Close()
			return fmt.Errorf("listen: %w", err)
		}
	}
	if a.cfg.BaseURL == "" && a.cfg.Domain == "" {
		// Links printed and mailed must name the port actually bound.
		a.cfg.BaseURL = "http://" + ln.Addr().String()
	}
	errc := make(chan error, 2)
	go func() {
		if srv.TLSConfig != nil {
			errc <- srv.ServeTLS(ln, "", "")
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	if redirect != nil {
		go func() { errc <- redirect.Serve(rln) }()
		a.log.Info("answering ACME challenges and redirecting plain HTTP", "addr", rln.Addr().String())
	}
	a.log.Info("listening", "addr", ln.Addr().String(), "url", a.cfg.PublicURL())
	if ready != nil {
		ready(ln.Addr().String())
	}
	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	case <-ctx.Done():
	}
	a.log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err = srv.Shutdown(sctx)
	if redirect != nil {
		err = errors.Join(err, redirect.Shutdown(sctx))
	}
	return err
}

func (a *App) server(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr:    addr,
		Handler: h,
		// Headers must come quickly; each body gets its own deadline by
		// size (limitBody), and ReadTimeout is only the outer bound: the
		// largest upload at the slowest accepted pace.
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       a.bodyDeadline(maxMaterialFileBytes + (256 << 10)),
		WriteTimeout:      5 * time.Minute,
		IdleTimeout:       time.Minute,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(redactAddrs{a.log.Handler()}, slog.LevelWarn),
	}
}

// addrPattern matches a client address as net/http prints it: IPv4 or
// bracketed IPv6, with or without a port.
var addrPattern = regexp.MustCompile(`\[[0-9A-Fa-f:.]+(%[^\]]*)?\](:\d+)?|\b\d{1,3}(\.\d{1,3}){3}(:\d+)?\b`)

// redactAddrs is the handler behind the HTTP server's own error log.
// net/http names the client in lines such as "TLS handshake error from
// 203.0.113.9:51234", which every scanner of the HTTPS port causes; an
// address is personal data, so it is replaced before the line is written.
type redactAddrs struct{ slog.Handler }

func (h redactAddrs) Handle(ctx context.Context, r slog.Record) error {
	r.Message = addrPattern.ReplaceAllString(r.Message, "[address]")
	return h.Handler.Handle(ctx, r)
}

// hashAssets fingerprints static files so their URLs change with their
// content and can be cached for long.
func hashAssets(static fs.FS) (map[string]string, error) {
	out := map[string]string{}
	err := fs.WalkDir(static, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(static, path)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		out[path] = hex.EncodeToString(sum[:6])
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("app: static assets: %w", err)
	}
	return out, nil
}

// asset returns the versioned URL of a static file.
func (a *App) asset(name string) string {
	return "/static/" + name + "?v=" + a.assets[name]
}
