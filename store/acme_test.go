package store

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// certPEM is what autocert stores for a name: the private key, then the
// certificate, all PEM. The certificate is self-signed with issuer as its
// subject.
func certPEM(t *testing.T, name, issuer string, notBefore, notAfter time.Time) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: issuer},
		DNSNames: []string{name}, NotBefore: notBefore, NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	kder, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	out := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
	return append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
}

func TestACMECacheSealsEveryFile(t *testing.T) {
	s := newTestStore(t)
	ctx := t.Context()
	c, err := s.ACMECache()
	require.NoError(t, err)

	_, err = c.Get(ctx, "learn.example.org")
	require.ErrorIs(t, err, ErrNotFound, "nothing stored yet")

	now := time.Now().UTC().Truncate(time.Second)
	data := certPEM(t, "learn.example.org", "Test CA", now.Add(-time.Hour), now.Add(60*24*time.Hour))
	require.NoError(t, c.Put(ctx, "learn.example.org", data))
	require.NoError(t, c.Put(ctx, "acme_account+key", data[:len(data)/2]))
	got, err := c.Get(ctx, "learn.example.org")
	require.NoError(t, err)
	assert.Equal(t, data, got)

	dir := filepath.Join(s.Dir(), ACMEDir)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 2, "no temporary file is left behind")
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		assert.NotContains(t, string(b), "PRIVATE KEY", e.Name())
		assert.NotContains(t, string(b), "-----BEGIN", e.Name())
		info, err := e.Info()
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	}

	st, err := c.State(ctx)
	require.NoError(t, err)
	require.Len(t, st.Certs, 1)
	assert.Equal(t, ACMECert{File: "learn.example.org", Names: []string{"learn.example.org"}, Issuer: "Test CA",
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(60 * 24 * time.Hour)}, st.Certs[0])
	assert.Zero(t, st.Unreadable)

	t.Run("a file renamed over another does not open", func(t *testing.T) {
		b, err := os.ReadFile(filepath.Join(dir, "learn.example.org"))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "other.example.org"), b, 0o600))
		_, err = c.Get(ctx, "other.example.org")
		require.ErrorIs(t, err, ErrNotFound)
		require.NoError(t, c.Delete(ctx, "other.example.org"))
		require.NoError(t, c.Delete(ctx, "other.example.org"), "deleting a missing file is fine")
	})

	t.Run("a copy without the master key holds nothing usable", func(t *testing.T) {
		other := openTestStore(t, t.TempDir(), newMasterKey(t), nil)
		require.NoError(t, os.CopyFS(filepath.Join(other.Dir(), ACMEDir), os.DirFS(dir)))
		oc, err := other.ACMECache()
		require.NoError(t, err)
		_, err = oc.Get(ctx, "learn.example.org")
		require.ErrorIs(t, err, ErrNotFound)
		st, err := oc.State(ctx)
		require.NoError(t, err)
		assert.Empty(t, st.Certs)
		assert.Equal(t, 2, st.Unreadable)
	})

	t.Run("names that leave the folder are refused", func(t *testing.T) {
		for _, name := range []string{"../kelas.db", "a/b", "", ".hidden", `a\b`} {
			assert.Error(t, c.Put(ctx, name, []byte("x")), name)
			_, err := c.Get(ctx, name)
			assert.ErrorIs(t, err, ErrNotFound, name)
		}
	})

	t.Run("after Close nothing is written", func(t *testing.T) {
		c.Close()
		require.ErrorIs(t, c.Put(ctx, "learn.example.org", []byte("x")), ErrACMEClosed)
		require.ErrorIs(t, c.Delete(ctx, "learn.example.org"), ErrACMEClosed)
		got, err := c.Get(ctx, "learn.example.org")
		require.NoError(t, err, "reads still work")
		assert.Equal(t, data, got)
	})
}

// TestACMECacheSealsPlaintextFiles: an installation upgraded from the plain
// directory cache keeps its certificate, now sealed.
func TestACMECacheSealsPlaintextFiles(t *testing.T) {
	s := newTestStore(t)
	ctx := t.Context()
	dir := filepath.Join(s.Dir(), ACMEDir)
	require.NoError(t, os.MkdirAll(dir, 0o700))
	data := certPEM(t, "learn.example.org", "Test CA", time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "learn.example.org"), data, 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "token+http-01"), []byte("not pem"), 0o600))

	c, err := s.ACMECache()
	require.NoError(t, err)
	st, err := c.State(ctx)
	require.NoError(t, err)
	assert.Equal(t, 2, st.Unreadable, "plaintext files are not trusted as they are")

	n, err := c.SealPlaintext()
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	b, err := os.ReadFile(filepath.Join(dir, "learn.example.org"))
	require.NoError(t, err)
	assert.NotContains(t, string(b), "PRIVATE KEY")
	got, err := c.Get(ctx, "learn.example.org")
	require.NoError(t, err)
	assert.Equal(t, data, got)

	n, err = c.SealPlaintext()
	require.NoError(t, err)
	assert.Zero(t, n, "sealed files are left alone")
}

// TestACMECacheReportsFileFailures: the cache says what went wrong with
// its files instead of passing a broken state on as "not cached", and
// leaves entries it cannot handle alone.
func TestACMECacheReportsFileFailures(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	c, err := s.ACMECache()
	require.NoError(t, err)
	dir := filepath.Join(s.Dir(), ACMEDir)

	// A file where the folder belongs: writes and the state fail, naming it.
	require.NoError(t, os.WriteFile(dir, []byte("not a folder"), 0o600))
	assert.ErrorContains(t, c.Put(ctx, "acme_account+key", []byte("k")), "store: acme dir")
	_, err = c.State(ctx)
	assert.ErrorContains(t, err, "store: acme dir")
	_, err = c.SealPlaintext()
	assert.ErrorContains(t, err, "store: acme dir")
	require.NoError(t, os.Remove(dir))

	// A folder under an entry's name is not an entry: reading it fails
	// (it is not "not found", which would make the caller overwrite it),
	// deleting it fails, and listing and sealing skip it.
	require.NoError(t, c.Put(ctx, "acme_account+key", []byte("account key")))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "example.test", "inside"), 0o700))
	_, err = c.Get(ctx, "example.test")
	assert.ErrorContains(t, err, "store: acme get")
	assert.ErrorContains(t, c.Delete(ctx, "example.test"), "store: acme delete")
	assert.DirExists(t, filepath.Join(dir, "example.test"))
	n, err := c.SealPlaintext()
	require.NoError(t, err)
	assert.Zero(t, n)
	_, err = c.State(ctx)
	require.NoError(t, err)

	// Names that cannot be entries are refused or ignored, never joined
	// into a path.
	assert.NoError(t, c.Delete(ctx, "../"+KeysDBFile))
	assert.FileExists(t, filepath.Join(s.Dir(), KeysDBFile))

	// After Close, sealing is refused like every write.
	c.Close()
	_, err = c.SealPlaintext()
	assert.ErrorIs(t, err, ErrACMEClosed)
	got, err := c.Get(ctx, "acme_account+key")
	require.NoError(t, err)
	assert.Equal(t, "account key", string(got))
}
