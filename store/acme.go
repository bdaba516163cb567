package store

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"kelas/store/crypt"
)

// ACMEDir is the folder in the data directory that holds the ACME account
// key and the HTTPS certificates, every file sealed.
const ACMEDir = "acme"

// ACMECache keeps the state of automatic HTTPS (the ACME account key, each
// certificate with its private key, pending challenge tokens) in DATA/acme.
// Every file is sealed under a key derived from the master key and bound to
// its file name, so a copy of the data directory without the master key
// holds no usable TLS key, and a file renamed over another fails to open.
type ACMECache struct {
	dir string
	key []byte

	mu     sync.Mutex // held by writes, so Close waits for them
	closed bool
}

// ErrACMEClosed is returned by writes after Close.
var ErrACMEClosed = errors.New("store: acme cache closed")

// ACMECache returns the sealed cache in DATA/acme; the folder is created on
// the first write.
func (s *Store) ACMECache() (*ACMECache, error) {
	key, err := s.kr.ACMEKey()
	if err != nil {
		return nil, err
	}
	return &ACMECache{dir: filepath.Join(s.dir, ACMEDir), key: key}, nil
}

// validACMEName accepts the names autocert uses ("learn.example.org",
// "learn.example.org+rsa", "acme_account+key", "TOKEN+http-01") and nothing
// that could leave the folder.
func validACMEName(name string) bool {
	return name != "" && len(name) <= 255 && !strings.HasPrefix(name, ".") && !strings.ContainsAny(name, `/\`+"\x00")
}

// Get returns the opened content of name. A missing file, and a file that
// does not open under this master key, is ErrNotFound: the caller then asks
// the CA again, which is the only way forward for either.
func (c *ACMECache) Get(ctx context.Context, name string) ([]byte, error) {
	if !validACMEName(name) {
		return nil, ErrNotFound
	}
	b, err := os.ReadFile(filepath.Join(c.dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: acme get: %w", err)
	}
	pt, err := crypt.Open(c.key, ACMEDir, "file", name, b)
	if err != nil {
		return nil, ErrNotFound
	}
	return pt, nil
}

// Put seals data and writes it as name, replacing any earlier file in one
// rename.
func (c *ACMECache) Put(ctx context.Context, name string, data []byte) error {
	if !validACMEName(name) {
		return fmt.Errorf("store: acme put: invalid name")
	}
	sealed, err := crypt.Seal(c.key, ACMEDir, "file", name, data)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrACMEClosed
	}
	return c.write(name, sealed)
}

func (c *ACMECache) write(name string, sealed []byte) error {
	if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return fmt.Errorf("store: acme dir: %w", err)
	}
	f, err := os.CreateTemp(c.dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("store: acme put: %w", err)
	}
	tmp := f.Name()
	_, err = f.Write(sealed)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(c.dir, name))
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("store: acme put: %w", err)
	}
	return nil
}

// Delete removes name; a missing file is not an error.
func (c *ACMECache) Delete(ctx context.Context, name string) error {
	if !validACMEName(name) {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrACMEClosed
	}
	if err := os.Remove(filepath.Join(c.dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("store: acme delete: %w", err)
	}
	return nil
}

// Close waits for a write in progress and refuses later ones. Renewal
// timers of the ACME client outlive the server; after Close they cannot
// write into a data directory that is being restored or removed.
func (c *ACMECache) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
}

// SealPlaintext seals the PEM files an earlier kelas left in the clear in
// DATA/acme (an account key, certificates with their keys), so an upgrade
// keeps its certificates without asking the CA again. It returns how many
// files it sealed.
func (c *ACMECache) SealPlaintext() (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return 0, ErrACMEClosed
	}
	entries, err := os.ReadDir(c.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("store: acme dir: %w", err)
	}
	n := 0
	for _, e := range entries {
		if !e.Type().IsRegular() || !validACMEName(e.Name()) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(c.dir, e.Name()))
		if err != nil {
			return n, fmt.Errorf("store: acme seal: %w", err)
		}
		if !bytes.HasPrefix(bytes.TrimSpace(b), []byte("-----BEGIN ")) {
			continue
		}
		sealed, err := crypt.Seal(c.key, ACMEDir, "file", e.Name(), b)
		if err != nil {
			return n, err
		}
		if err := c.write(e.Name(), sealed); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// ACMECert describes one certificate in DATA/acme, for the doctor and the
// console. Host names are the site's own public names, not personal data.
type ACMECert struct {
	File      string
	Names     []string
	Issuer    string
	NotBefore time.Time
	NotAfter  time.Time
}

// ACMEState is what DATA/acme holds.
type ACMEState struct {
	Certs []ACMECert
	// Unreadable counts files that do not open under this master key,
	// including PEM files in the clear that `kelas serve` has not sealed yet.
	Unreadable int
}

// State lists the certificates in DATA/acme, newest expiry first.
func (c *ACMECache) State(ctx context.Context) (ACMEState, error) {
	var st ACMEState
	entries, err := os.ReadDir(c.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("store: acme dir: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || !validACMEName(name) {
			continue
		}
		b, err := c.Get(ctx, name)
		if errors.Is(err, ErrNotFound) {
			st.Unreadable++
			continue
		}
		if err != nil {
			return st, err
		}
		// A certificate file holds its private key first, then the chain;
		// the account key and challenge tokens hold no certificate.
		for rest := b; ; {
			var blk *pem.Block
			if blk, rest = pem.Decode(rest); blk == nil {
				break
			}
			if blk.Type != "CERTIFICATE" {
				continue
			}
			leaf, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				break
			}
			issuer := leaf.Issuer.CommonName
			if issuer == "" {
				issuer = leaf.Issuer.String()
			}
			st.Certs = append(st.Certs, ACMECert{File: name, Names: leaf.DNSNames, Issuer: issuer,
				NotBefore: leaf.NotBefore.UTC(), NotAfter: leaf.NotAfter.UTC()})
			break
		}
	}
	slices.SortFunc(st.Certs, func(a, b ACMECert) int { return b.NotAfter.Compare(a.NotAfter) })
	return st, nil
}
