package app

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"kelas/doctor"
	"kelas/store"
)

const certDomain = "learn.example.org"

// putCert stores a certificate for name, issued by "Test CA", in the sealed
// ACME cache the way autocert does (key first, then the certificate).
func putCert(t *testing.T, st *store.Store, name string, notBefore, notAfter time.Time) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Test CA"}, DNSNames: []string{name},
		NotBefore: notBefore, NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	kder, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	data := append(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	c, err := st.ACMECache()
	require.NoError(t, err)
	require.NoError(t, c.Put(t.Context(), name, data))
}

// TestDoctorWarnsWhenRenewalFailed: a certificate 14 days from expiry that
// was due for renewal long ago shows in `kelas doctor` and on the console
// dashboard, with the same words.
func TestDoctorWarnsWhenRenewalFailed(t *testing.T) {
	ts := newTestServer(t)
	now := ts.clock.Now()
	putCert(t, ts.store, certDomain, now.Add(-77*24*time.Hour), now.Add(13*24*time.Hour))

	var cert doctor.Check
	for _, c := range doctor.Run(t.Context(), ts.store, doctor.Input{KeySource: "environment", Domain: certDomain}) {
		if c.Name == "certificate" {
			require.Empty(t, cert.Name, "one certificate line")
			cert = c
		}
	}
	assert.Equal(t, doctor.CheckWarn, cert.Status)
	assert.Contains(t, cert.Detail, "learn.example.org (issued by Test CA) expires on")
	assert.Contains(t, cert.Detail, "renewal has failed")

	// Without automatic HTTPS and no certificate there is nothing to say.
	other := newTestServer(t)
	for _, c := range doctor.Run(t.Context(), other.store, doctor.Input{KeySource: "environment"}) {
		assert.NotEqual(t, "certificate", c.Name)
	}

	// The console shows operators the same.
	loginAs(t, ts, "ops", store.RoleOperator)
	ts.app.cfg.Domain = certDomain // after login: the test client speaks plain HTTP
	res, body := ts.get(t, "/console")
	require.Equal(t, http.StatusOK, res.StatusCode)
	item := doc(t, body).Find(`[data-testid="attention"] li.attention-warn`).FilterFunction(func(_ int, s *goquery.Selection) bool {
		return strings.Contains(s.Text(), "HTTPS certificate")
	})
	require.Equal(t, 1, item.Length(), body)
	assert.Contains(t, item.Text(), cert.Detail)
	assert.Contains(t, item.Find(".big-number").Text(), "13")
}

func TestRedirectToHTTPS(t *testing.T) {
	a := &App{cfg: Config{Domain: certDomain}}
	h := a.redirectToHTTPS()
	for _, tc := range []struct {
		method, target string
		status         int
		location       string
	}{
		{http.MethodGet, "/trainings?page=2", http.StatusMovedPermanently, "https://learn.example.org/trainings?page=2"},
		{http.MethodHead, "/", http.StatusMovedPermanently, "https://learn.example.org/"},
		{http.MethodPost, "/login", http.StatusBadRequest, ""},
	} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(tc.method, tc.target, nil)
		req.Host = "attacker.example"
		h.ServeHTTP(rec, req)
		assert.Equal(t, tc.status, rec.Code, tc.target)
		assert.Equal(t, tc.location, rec.Header().Get("Location"), tc.target)
	}
	// A configured https base URL (a non-standard port, say) is the target.
	a.cfg.BaseURL = "https://learn.example.org:8443/"
	rec := httptest.NewRecorder()
	a.redirectToHTTPS().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/x", nil))
	assert.Equal(t, "https://learn.example.org:8443/x", rec.Header().Get("Location"))
}
