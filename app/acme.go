package app

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"

	"kelas/doctor"
	"kelas/store"
	"kelas/views"
)

// Defaults of automatic HTTPS (`kelas serve --domain NAME`).
const (
	DefaultHTTPSAddr = ":443"
	DefaultHTTPAddr  = ":80"
)

// acmeCache adapts the sealed store cache to autocert, which recognises a
// miss only by its own sentinel.
type acmeCache struct{ c *store.ACMECache }

func (c acmeCache) Get(ctx context.Context, name string) ([]byte, error) {
	b, err := c.c.Get(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, autocert.ErrCacheMiss
	}
	return b, err
}

func (c acmeCache) Put(ctx context.Context, name string, data []byte) error {
	return c.c.Put(ctx, name, data)
}

func (c acmeCache) Delete(ctx context.Context, name string) error { return c.c.Delete(ctx, name) }

// untilDone refuses requests to the CA once ctx ends: autocert's renewal
// timers outlive the server, and a stopped kelas must not order
// certificates it can no longer store.
type untilDone struct {
	ctx context.Context
	rt  http.RoundTripper
}

func (u untilDone) RoundTrip(r *http.Request) (*http.Response, error) {
	if u.ctx.Err() != nil {
		return nil, errors.New("kelas is stopping")
	}
	return u.rt.RoundTrip(r)
}

// acmeManager builds the certificate manager for cfg.Domain: certificates
// only for that one name, from cfg.ACMEDirectory (Let's Encrypt by
// default), kept sealed in DATA/acme. The returned cache must be closed
// after the servers have stopped.
func (a *App) acmeManager(ctx context.Context) (*autocert.Manager, *store.ACMECache, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if a.cfg.ACMECARoot != "" {
		pemBytes, err := os.ReadFile(a.cfg.ACMECARoot)
		if err != nil {
			return nil, nil, fmt.Errorf("KELAS_ACME_CA_ROOT: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pemBytes) {
			return nil, nil, fmt.Errorf("KELAS_ACME_CA_ROOT: %s holds no PEM certificate", a.cfg.ACMECARoot)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	cache, err := a.store.ACMECache()
	if err != nil {
		return nil, nil, err
	}
	// Files an earlier kelas wrote in the clear are sealed before use.
	if n, err := cache.SealPlaintext(); err != nil {
		return nil, nil, err
	} else if n > 0 {
		a.log.Info("sealed ACME files left in the clear", "count", n)
	}
	dir := a.cfg.ACMEDirectory
	if dir == "" {
		dir = autocert.DefaultACMEDirectory
	}
	// Any other name, whatever a client sends as SNI, is refused before the
	// CA is asked: no certificate requests for names an attacker chooses,
	// and no rate limits spent on them. The http-01 handler checks the Host
	// header, which may carry a port ("learn.example.org:80"); the port
	// says nothing about the name.
	allowed := autocert.HostWhitelist(a.cfg.Domain)
	policy := func(ctx context.Context, host string) error {
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		return allowed(ctx, host)
	}
	m := &autocert.Manager{
		Prompt:     autocert.AcceptTOS,
		HostPolicy: policy,
		Cache:      acmeCache{cache},
		Email:      a.cfg.ACMEEmail,
		Client: &acme.Client{
			DirectoryURL: dir,
			UserAgent:    "kelas",
			HTTPClient:   &http.Client{Transport: untilDone{ctx, tr}, Timeout: 2 * time.Minute},
		},
	}
	return m, cache, nil
}

// redirectToHTTPS answers plain HTTP on the redirect port for everything
// but ACME challenges: GET and HEAD move to the same path on the HTTPS
// site, anything else is refused so no form is ever sent in the clear. The
// target is the configured public URL, never the request's Host, so the
// redirect cannot be pointed elsewhere.
func (a *App) redirectToHTTPS() http.Handler {
	target := a.cfg.PublicURL()
	if !strings.HasPrefix(target, "https://") {
		target = "https://" + a.cfg.Domain
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(w, "Use HTTPS.", http.StatusBadRequest)
			return
		}
		http.Redirect(w, r, target+r.URL.RequestURI(), http.StatusMovedPermanently)
	})
}

// certAttention is the doctor's certificate check as dashboard items: the
// days left, with the same words as `kelas doctor`.
func (a *App) certAttention(ctx context.Context) ([]views.Attention, error) {
	c, err := a.store.ACMECache()
	if err != nil {
		return nil, err
	}
	st, err := c.State(ctx)
	if err != nil {
		return nil, err
	}
	level := map[string]string{doctor.CheckOK: "ok", doctor.CheckWarn: "warn", doctor.CheckFail: "alert"}
	var out []views.Attention
	for _, s := range doctor.CertStatuses(a.clock(), a.cfg.Domain, st) {
		out = append(out, views.Attention{Label: "HTTPS certificate: " + s.Detail, Count: s.DaysLeft, Level: level[s.Status]})
	}
	return out, nil
}
