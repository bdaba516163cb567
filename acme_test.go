package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/letsencrypt/challtestsrv"
	"github.com/letsencrypt/pebble/v2/ca"
	"github.com/letsencrypt/pebble/v2/db"
	"github.com/letsencrypt/pebble/v2/va"
	"github.com/letsencrypt/pebble/v2/wfe"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"kelas/store"
)

// testDomain is the name kelas is configured for in these tests; nothing
// resolves it, the test clients dial kelas's listeners directly.
const testDomain = "kelas.test"

// pebbleCA is Let's Encrypt's test ACME server, Pebble, running in-process
// on loopback behind TLS, with every request to it counted.
type pebbleCA struct {
	dirURL   string         // ACME directory (KELAS_ACME_DIRECTORY)
	rootFile string         // the ACME server's own TLS root (KELAS_ACME_CA_ROOT)
	roots    *x509.CertPool // Pebble's issuing root, trusted by the HTTPS clients
	mem      *db.MemoryStore
	ca       *ca.CAImpl
	log      *log.Logger
	front    atomic.Pointer[http.Handler] // the ACME API, once the validation authority is set

	mu       sync.Mutex
	requests int
	orders   int
}

// startPebble starts Pebble issuing certificates valid for validity (0:
// Pebble's default of 90 days). Nonces are never rejected at random and
// the validation authority does not sleep, so runs are quick and
// repeatable. The API answers once relaxValidation or validateAt has set
// how challenges are validated.
func startPebble(t *testing.T, validity time.Duration) *pebbleCA {
	t.Helper()
	t.Setenv("PEBBLE_VA_NOSLEEP", "1")
	t.Setenv("PEBBLE_WFE_NONCEREJECT", "0")
	p := &pebbleCA{roots: x509.NewCertPool(), mem: db.NewMemoryStore(), log: log.New(io.Discard, "", 0)}
	p.ca = ca.New(p.log, p.mem, "", "ecdsa", 0, 1, map[string]ca.Profile{
		"default": {Description: "test profile", ValidityPeriod: uint64(validity / time.Second)},
	})
	p.roots.AddCert(p.ca.GetRootCert(0).Cert)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := p.front.Load()
		if h == nil {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		p.mu.Lock()
		p.requests++
		if r.Method == http.MethodPost && r.URL.Path == "/order-plz" {
			p.orders++
		}
		p.mu.Unlock()
		(*h).ServeHTTP(w, r)
	}))
	srv.StartTLS()
	t.Cleanup(srv.Close)
	p.dirURL = srv.URL + wfe.DirectoryPath
	p.rootFile = filepath.Join(t.TempDir(), "acme-server-root.pem")
	require.NoError(t, os.WriteFile(p.rootFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600))
	return p
}

func (p *pebbleCA) serveWith(validator *va.VAImpl) {
	front := wfe.New(p.log, p.mem, validator, p.ca, []string{"pebble.letsencrypt.org"}, false, false, 0, 0)
	h := front.Handler()
	p.front.Store(&h)
}

// relaxValidation accepts every challenge without checking it, as Pebble
// documents for client tests (PEBBLE_VA_ALWAYS_VALID).
func (p *pebbleCA) relaxValidation(t *testing.T) {
	t.Setenv("PEBBLE_VA_ALWAYS_VALID", "1")
	p.serveWith(va.New(p.log, 80, 443, false, "", p.mem))
}

// validateAt validates challenges for real: Pebble's own test DNS server
// (challtestsrv) resolves every name to 127.0.0.1, and the validation
// authority connects to httpPort for http-01 and to tlsPort for
// tls-alpn-01, as Let's Encrypt does to ports 80 and 443.
func (p *pebbleCA) validateAt(t *testing.T, httpPort, tlsPort int) {
	t.Helper()
	t.Setenv("PEBBLE_VA_ALWAYS_VALID", "0")
	dnsAddr := freeLoopbackAddr(t)
	dns, err := challtestsrv.New(challtestsrv.Config{DNSAddrs: []string{dnsAddr}, Log: p.log})
	require.NoError(t, err)
	dns.SetDefaultDNSIPv4("127.0.0.1")
	dns.SetDefaultDNSIPv6("") // kelas listens on IPv4 loopback only
	dns.Run()
	t.Cleanup(dns.Shutdown)
	require.Eventually(t, func() bool {
		c, err := net.Dial("tcp", dnsAddr)
		if err == nil {
			c.Close()
		}
		return err == nil
	}, 5*time.Second, 10*time.Millisecond)
	p.serveWith(va.New(p.log, httpPort, tlsPort, false, dnsAddr, p.mem))
}

// freeLoopbackAddr is a loopback address with a port free right now, for a
// server that cannot be asked which port it bound.
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

func port(t *testing.T, addr string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	require.NoError(t, err)
	n, err := strconv.Atoi(p)
	require.NoError(t, err)
	return n
}

// counts returns the requests and new orders Pebble has received so far.
func (p *pebbleCA) counts() (requests, orders int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.requests, p.orders
}

// acmeKelas is a running `kelas serve --domain` on loopback ports.
type acmeKelas struct {
	httpsAddr, httpAddr string
	stderr              *syncBuffer
	cancel              context.CancelFunc
	done                chan error
}

var (
	listeningRE = regexp.MustCompile(`msg=listening addr=(\S+)`)
	redirectRE  = regexp.MustCompile(`msg="answering ACME challenges[^"]*" addr=(\S+)`)
)

// startACMEKelas runs the real serve command for testDomain against p, with
// both listeners on free loopback ports.
func startACMEKelas(t *testing.T, dir string, p *pebbleCA) *acmeKelas {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	k := &acmeKelas{stderr: &syncBuffer{}, cancel: cancel, done: make(chan error, 1)}
	getenv := env("KELAS_DATA", dir, "KELAS_DOMAIN", testDomain, "KELAS_ACME_DIRECTORY", p.dirURL,
		"KELAS_ACME_CA_ROOT", p.rootFile, "KELAS_ACME_EMAIL", "ops@kelas.test", "KELAS_HTTP_ADDR", "127.0.0.1:0")
	go func() {
		k.done <- run(ctx, []string{"serve", "--https-addr", "127.0.0.1:0"}, getenv, strings.NewReader(""), io.Discard, k.stderr)
	}()
	require.Eventually(t, func() bool {
		out := k.stderr.String()
		if m := listeningRE.FindStringSubmatch(out); m != nil {
			k.httpsAddr = m[1]
		}
		if m := redirectRE.FindStringSubmatch(out); m != nil {
			k.httpAddr = m[1]
		}
		return k.httpsAddr != "" && k.httpAddr != ""
	}, 15*time.Second, 20*time.Millisecond, "stderr: %s", k.stderr)
	t.Cleanup(func() { k.stop(t) })
	return k
}

// stop shuts kelas down and waits for it; calling it again does nothing.
func (k *acmeKelas) stop(t *testing.T) {
	t.Helper()
	if k.done == nil {
		return
	}
	k.cancel()
	select {
	case err := <-k.done:
		require.NoError(t, err, "stderr: %s", k.stderr)
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not shut down")
	}
	k.done = nil
}

// client reaches kelas as https://kelas.test and http://kelas.test,
// trusting only Pebble's root; a new TLS handshake for every request, so
// each one sees the certificate served at that moment.
func (k *acmeKelas) client(p *pebbleCA) *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{
		Timeout: time.Minute,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				if strings.HasSuffix(addr, ":80") {
					return dialer.DialContext(ctx, network, k.httpAddr)
				}
				return dialer.DialContext(ctx, network, k.httpsAddr)
			},
			TLSClientConfig:     &tls.Config{RootCAs: p.roots},
			TLSHandshakeTimeout: time.Minute, // the first handshake waits for the CA
			DisableKeepAlives:   true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// healthz fetches https://kelas.test/healthz and returns the certificate
// kelas presented.
func (k *acmeKelas) healthz(t *testing.T, p *pebbleCA) *x509.Certificate {
	t.Helper()
	res, err := k.client(p).Get("https://" + testDomain + "/healthz")
	require.NoError(t, err, "stderr: %s", k.stderr)
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "ok", strings.TrimSpace(string(body)))
	assert.Contains(t, res.Header.Get("Strict-Transport-Security"), "max-age=", "HSTS on the HTTPS side")
	require.NotNil(t, res.TLS)
	require.NotEmpty(t, res.TLS.VerifiedChains, "the chain verifies against Pebble's root")
	return res.TLS.PeerCertificates[0]
}

// acmeFiles reads every file under DATA/acme.
func acmeFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	root := filepath.Join(dir, store.ACMEDir)
	require.NoError(t, filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		files[strings.TrimPrefix(path, root+string(filepath.Separator))] = b
		return err
	}))
	return files
}

// TestACMEWithPebble obtains a certificate from a real ACME server and
// checks what an operator relies on: HTTPS with it, plain HTTP redirected,
// no key in the clear on disk, no request for other names, and a restart
// that serves the stored certificate without asking the CA again.
func TestACMEWithPebble(t *testing.T) {
	p := startPebble(t, 0)
	dir := t.TempDir()
	k := startACMEKelas(t, dir, p)
	// Challenges are validated for real, against kelas's own listeners;
	// autocert answers tls-alpn-01 on the HTTPS port first.
	p.validateAt(t, port(t, k.httpAddr), port(t, k.httpsAddr))

	var cert *x509.Certificate
	t.Run("obtains a certificate and serves HTTPS with it", func(t *testing.T) {
		cert = k.healthz(t, p)
		assert.Equal(t, []string{testDomain}, cert.DNSNames)
		assert.Contains(t, cert.Issuer.CommonName, "Pebble")
		_, orders := p.counts()
		assert.Equal(t, 1, orders)
	})
	require.NotNil(t, cert)

	t.Run("redirects plain HTTP to HTTPS", func(t *testing.T) {
		c := k.client(p)
		res, err := c.Get("http://" + testDomain + "/healthz?x=1")
		require.NoError(t, err)
		res.Body.Close()
		require.Equal(t, http.StatusMovedPermanently, res.StatusCode)
		assert.Equal(t, "https://"+testDomain+"/healthz?x=1", res.Header.Get("Location"))
		assert.Empty(t, res.Header.Get("Strict-Transport-Security"), "HSTS is sent over HTTPS only")

		// The Host a client sends does not steer the redirect.
		req, err := http.NewRequest(http.MethodGet, "http://"+testDomain+"/", nil)
		require.NoError(t, err)
		req.Host = "evil.example"
		res, err = c.Do(req)
		require.NoError(t, err)
		res.Body.Close()
		assert.Equal(t, "https://"+testDomain+"/", res.Header.Get("Location"))

		// Forms are never accepted in the clear.
		res, err = c.PostForm("http://"+testDomain+"/login", nil)
		require.NoError(t, err)
		res.Body.Close()
		assert.Equal(t, http.StatusBadRequest, res.StatusCode)

		// The challenge path is answered by the ACME handler, not
		// redirected: an unknown token is simply not found.
		res, err = c.Get("http://" + testDomain + "/.well-known/acme-challenge/unknown-token")
		require.NoError(t, err)
		res.Body.Close()
		assert.Equal(t, http.StatusNotFound, res.StatusCode)
	})

	t.Run("no PEM private key in the clear under DATA/acme", func(t *testing.T) {
		files := acmeFiles(t, dir)
		require.Contains(t, files, testDomain, "the certificate is stored")
		require.Contains(t, files, "acme_account+key", "the account key is stored")
		for name, b := range files {
			assert.NotContains(t, string(b), "PRIVATE KEY", name)
			assert.NotContains(t, string(b), "-----BEGIN", name)
			_, err := x509.ParseECPrivateKey(b)
			assert.Error(t, err, "%s is no bare DER key either", name)
		}
	})

	t.Run("other host names get no certificate request", func(t *testing.T) {
		requests, orders := p.counts()
		for _, name := range []string{"other.test", "www." + testDomain, ""} {
			conn, err := tls.Dial("tcp", k.httpsAddr, &tls.Config{ServerName: name, RootCAs: p.roots, InsecureSkipVerify: name == ""})
			if err == nil {
				conn.Close()
			}
			assert.Error(t, err, "handshake for %q", name)
		}
		// Nor does the challenge handler on plain HTTP answer for them.
		req, err := http.NewRequest(http.MethodGet, "http://"+testDomain+"/.well-known/acme-challenge/some-token", nil)
		require.NoError(t, err)
		req.Host = "other.test"
		res, err := k.client(p).Do(req)
		require.NoError(t, err)
		res.Body.Close()
		assert.Equal(t, http.StatusForbidden, res.StatusCode)
		r2, o2 := p.counts()
		assert.Equal(t, orders, o2, "no order for another name")
		assert.Equal(t, requests, r2, "the CA was not contacted at all")
	})

	t.Run("the doctor reports the certificate", func(t *testing.T) {
		out, _, err := runCmd(t, env("KELAS_DATA", dir, "KELAS_DOMAIN", testDomain), "", "doctor")
		if err != nil {
			assert.NotContains(t, err.Error(), "certificate")
		}
		assert.Regexp(t, `ok\s+certificate\s+kelas\.test \(issued by Pebble Intermediate CA [0-9a-f]+\) expires on \d{4}-`, out)
	})

	t.Run("restarts without asking the CA again", func(t *testing.T) {
		k.stop(t)
		requests, orders := p.counts()
		k2 := startACMEKelas(t, dir, p)
		again := k2.healthz(t, p)
		assert.Equal(t, cert.SerialNumber, again.SerialNumber, "the stored certificate is served")
		r2, o2 := p.counts()
		assert.Equal(t, orders, o2)
		assert.Equal(t, requests, r2, "no request reached the CA")
	})
}

// TestACMEHTTP01Challenge: when the CA cannot reach the HTTPS port (here
// it is sent to a closed one), kelas falls back to the http-01 challenge,
// answered on the plain-HTTP port.
func TestACMEHTTP01Challenge(t *testing.T) {
	p := startPebble(t, 0)
	k := startACMEKelas(t, t.TempDir(), p)
	p.validateAt(t, port(t, k.httpAddr), port(t, freeLoopbackAddr(t)))
	cert := k.healthz(t, p)
	assert.Equal(t, []string{testDomain}, cert.DNSNames)
	_, orders := p.counts()
	assert.Equal(t, 2, orders, "a tls-alpn-01 order that failed, then an http-01 one")
}

// TestACMERenewsNearExpiry: with certificates that live a few seconds,
// kelas renews before expiry on its own, serves the new certificate and
// stores it sealed.
func TestACMERenewsNearExpiry(t *testing.T) {
	p := startPebble(t, 12*time.Second)
	p.relaxValidation(t)
	dir := t.TempDir()
	k := startACMEKelas(t, dir, p)
	first := k.healthz(t, p)
	require.Less(t, first.NotAfter.Sub(first.NotBefore), 15*time.Second)

	// autocert renews with a third of the lifetime left: about 8s after
	// issuance here, well before the 12s are up.
	var renewed *x509.Certificate
	deadline := time.Now().Add(30 * time.Second)
	for renewed == nil && time.Now().Before(deadline) {
		time.Sleep(250 * time.Millisecond)
		if c := k.healthz(t, p); c.SerialNumber.Cmp(first.SerialNumber) != 0 {
			renewed = c
		}
	}
	require.NotNil(t, renewed, "the certificate was not renewed; stderr: %s", k.stderr)
	assert.True(t, renewed.NotAfter.After(first.NotAfter))
	assert.True(t, renewed.NotBefore.Before(first.NotAfter), "renewed before the old one expired")
	_, orders := p.counts()
	assert.GreaterOrEqual(t, orders, 2)
	k.stop(t)

	// The renewed certificate replaced the first in the sealed store.
	st := openCLIStore(t, dir)
	c, err := st.ACMECache()
	require.NoError(t, err)
	state, err := c.State(t.Context())
	require.NoError(t, err)
	require.Len(t, state.Certs, 1)
	assert.False(t, state.Certs[0].NotAfter.Before(renewed.NotAfter.UTC().Truncate(time.Second)))
	for name, b := range acmeFiles(t, dir) {
		assert.NotContains(t, string(b), "PRIVATE KEY", name)
	}
}
