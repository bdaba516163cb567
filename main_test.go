package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"kelas/store/crypt"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
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

func env(kv ...string) func(string) string {
	m := map[string]string{"KELAS_BCRYPT_COST": "4"}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func runCmd(t *testing.T, getenv func(string) string, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	err = run(t.Context(), args, getenv, strings.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), err
}

func TestUsageErrorsExitWithUsage(t *testing.T) {
	for _, args := range [][]string{
		{"frobnicate"},
		{"serve", "--no-such-flag"},
		{"admin"},
		{"admin", "delete"},
		{"keys", "rotate", "--bogus"},
		{"version", "extra"},
		{"admin", "create", "--role", "learner", "--email", "a@example.org"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			_, stderr, err := runCmd(t, env(), "", args...)
			var ue usageError
			require.ErrorAs(t, err, &ue)
			assert.Contains(t, stderr, "Usage:")
		})
	}
}

func TestVersion(t *testing.T) {
	out, _, err := runCmd(t, env(), "", "version")
	require.NoError(t, err)
	assert.Regexp(t, `^kelas \S+.* go1\.\d+`, out)
}

func TestAdminCreateAndKeyRotation(t *testing.T) {
	dir := t.TempDir()
	getenv := env("KELAS_DATA", dir)

	out, stderr, err := runCmd(t, getenv, "a strong passphrase\n", "admin", "create", "--email", "Ops@Example.org", "--role", "consultant")
	require.NoError(t, err, stderr)
	assert.Contains(t, out, "created consultant account")
	assert.NotContains(t, out, "password", "a piped password is not printed")
	assert.Contains(t, stderr, "created a new master key")
	st, err := os.Stat(filepath.Join(dir, crypt.MasterKeyFile))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())

	// No password piped: one is generated and shown once.
	out, _, err = runCmd(t, getenv, "", "admin", "create", "--email", "second@example.org")
	require.NoError(t, err)
	assert.Regexp(t, `password \(shown once, store it now\): \S{24}`, out)

	_, _, err = runCmd(t, getenv, "another passphrase\n", "admin", "create", "--email", "ops@example.org")
	require.ErrorContains(t, err, "already exists")

	out, _, err = runCmd(t, getenv, "", "keys", "rotate")
	require.NoError(t, err)
	assert.Contains(t, out, "version 2; re-wrapped 2 data keys")
	out, _, err = runCmd(t, getenv, "", "keys", "rotate", "--data", dir)
	require.NoError(t, err)
	assert.Contains(t, out, "version 3; re-wrapped 2 data keys")
}

func TestStartRefusedWithoutItsKey(t *testing.T) {
	dir := t.TempDir()
	getenv := env("KELAS_DATA", dir)
	_, _, err := runCmd(t, getenv, "passphrase-one\n", "admin", "create", "--email", "ops@example.org")
	require.NoError(t, err)
	keyPath := filepath.Join(dir, crypt.MasterKeyFile)
	key, err := os.ReadFile(keyPath)
	require.NoError(t, err)
	require.NoError(t, os.Remove(keyPath))
	before := snapshot(t, dir)

	t.Run("missing key", func(t *testing.T) {
		_, _, err := runCmd(t, getenv, "", "serve", "--addr", "127.0.0.1:0")
		require.Error(t, err)
		assert.Contains(t, err.Error(), "master key missing")
		assert.Contains(t, err.Error(), keyPath)
		assert.Contains(t, err.Error(), "KELAS_MASTER_KEY")
		_, statErr := os.Stat(keyPath)
		assert.True(t, errors.Is(statErr, os.ErrNotExist), "no new key is created over existing data")
	})
	t.Run("wrong key from the environment", func(t *testing.T) {
		other := make([]byte, 32)
		rand.Read(other)
		_, _, err := runCmd(t, env("KELAS_DATA", dir, "KELAS_MASTER_KEY", crypt.EncodeKey(other)), "", "serve", "--addr", "127.0.0.1:0")
		require.Error(t, err)
		assert.Contains(t, err.Error(), "does not match this data directory")
	})
	t.Run("wrong key from a file", func(t *testing.T) {
		other := make([]byte, 32)
		rand.Read(other)
		f := filepath.Join(t.TempDir(), "k")
		require.NoError(t, os.WriteFile(f, []byte(crypt.EncodeKey(other)), 0o600))
		_, _, err := runCmd(t, env("KELAS_DATA", dir, "KELAS_MASTER_KEY_FILE", f), "", "keys", "rotate")
		require.ErrorContains(t, err, "does not match this data directory")
	})
	t.Run("malformed key", func(t *testing.T) {
		_, _, err := runCmd(t, env("KELAS_DATA", dir, "KELAS_MASTER_KEY", "c2hvcnQ="), "", "serve")
		require.ErrorContains(t, err, "KELAS_MASTER_KEY")
	})
	assert.Equal(t, before, snapshot(t, dir), "refused starts change no file")

	// The right key, moved off the data disk, still works.
	f := filepath.Join(t.TempDir(), "master.key")
	require.NoError(t, os.WriteFile(f, key, 0o600))
	out, _, err := runCmd(t, env("KELAS_DATA", dir, "KELAS_MASTER_KEY_FILE", f), "", "keys", "rotate")
	require.NoError(t, err)
	assert.Contains(t, out, "re-wrapped 1 data keys")
}

// snapshot maps each file in dir to its content.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		out[e.Name()] = string(b)
	}
	return out
}

// TestServePrintsSetupLinkAndShutsDown runs the real serve command: it
// prints a setup link that works in a browser-like client, serves pages,
// and stops cleanly on cancellation.
func TestServePrintsSetupLinkAndShutsDown(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--addr", "127.0.0.1:0", "--data", dir}, env(), strings.NewReader(""), &stdout, &stderr)
	}()
	linkRE := regexp.MustCompile(`http://127\.0\.0\.1:\d+/setup/[A-Za-z0-9_-]{43}`)
	var link string
	require.Eventually(t, func() bool {
		link = linkRE.FindString(stdout.String())
		return link != ""
	}, 10*time.Second, 20*time.Millisecond, "stderr: %s", stderr.String())

	u, err := url.Parse(link)
	require.NoError(t, err)
	base := u.Scheme + "://" + u.Host
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	res, err := client.Get(base + "/")
	require.NoError(t, err)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, string(body), "<main")

	res, err = client.PostForm(link, url.Values{"first_name": {"Ayu"}, "surname": {"Lestari"},
		"email": {"ayu@example.org"}, "password": {"correct horse battery"}})
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusSeeOther, res.StatusCode)

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not shut down")
	}
	assert.Contains(t, stderr.String(), "shutting down")
	assert.NotContains(t, stderr.String(), "ayu@example.org", "logs carry no personal data")
	assert.NotContains(t, stderr.String(), u.Path, "logs carry no setup token")
}
