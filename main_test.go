package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"io"
	"net"
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
	"golang.org/x/crypto/bcrypt"

	"kelas/store"
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
	for _, weak := range []string{"12345678\n", "password1234\n", "third.operator\n"} {
		_, _, err = runCmd(t, getenv, weak, "admin", "create", "--email", "third.operator@example.org")
		require.Error(t, err, "the web forms' password rules hold here too: %q", weak)
	}

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

	// The container health check asks the running server.
	var hc bytes.Buffer
	require.NoError(t, run(t.Context(), []string{"healthcheck", "--addr", u.Host}, env(), nil, &hc, io.Discard))
	assert.Equal(t, "ok\n", hc.String())

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

func TestOperationsUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"audit"},
		{"audit", "check"},
		{"audit", "verify", "extra"},
		{"restore"},
		{"restore", "a.age", "b.age"},
		{"backup", "--nope"},
		{"doctor", "extra"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			_, stderr, err := runCmd(t, env(), "", args...)
			var ue usageError
			require.ErrorAs(t, err, &ue)
			assert.Contains(t, stderr, "Usage:")
		})
	}
}

// tamperAudit changes an audit entry behind kelas's back, as someone with
// the file could (dropping the append-only trigger first).
func tamperAudit(t *testing.T, dir string, seq int) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, store.MainDBFile))
	require.NoError(t, err)
	defer db.Close()
	_, err = db.Exec("DROP TRIGGER IF EXISTS audit_log_append_only")
	require.NoError(t, err)
	res, err := db.Exec(`UPDATE audit_log SET details = '{"role":"operator"}' WHERE seq = ?`, seq)
	require.NoError(t, err)
	n, err := res.RowsAffected()
	require.NoError(t, err)
	require.Equal(t, int64(1), n)
}

// TestAuditVerifyNamesTamperedEntry: admin actions from the CLI are audited;
// editing an entry directly in SQLite makes `kelas audit verify` fail and
// name it.
func TestAuditVerifyNamesTamperedEntry(t *testing.T) {
	dir := t.TempDir()
	getenv := env("KELAS_DATA", dir)
	_, _, err := runCmd(t, getenv, "a strong passphrase\n", "admin", "create", "--email", "ops@example.org", "--role", "consultant")
	require.NoError(t, err)
	_, _, err = runCmd(t, getenv, "", "keys", "rotate")
	require.NoError(t, err)
	_, _, err = runCmd(t, getenv, "another passphrase\n", "admin", "create", "--email", "two@example.org")
	require.NoError(t, err)

	out, _, err := runCmd(t, getenv, "", "audit", "verify")
	require.NoError(t, err)
	assert.Contains(t, out, "the audit log verifies")

	tamperAudit(t, dir, 2)
	_, _, err = runCmd(t, getenv, "", "audit", "verify", "--data", dir)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "first bad audit entry is 2")
	assert.Contains(t, err.Error(), "entry 2 has been altered")
}

// TestBackupAndRestoreCommands: `kelas backup` prints the files it wrote;
// `kelas restore` refuses while a server holds the data directory and
// refuses a damaged file without touching the data, then restores.
func TestBackupAndRestoreCommands(t *testing.T) {
	dir := t.TempDir()
	getenv := env("KELAS_DATA", dir)
	out, _, err := runCmd(t, getenv, "a strong passphrase\n", "admin", "create", "--email", "first@example.org")
	require.NoError(t, err)
	firstID := strings.Fields(out)[3]

	out, _, err = runCmd(t, getenv, "", "backup")
	require.NoError(t, err)
	paths := strings.Fields(out)
	require.Len(t, paths, 2, out)
	assert.Regexp(t, `/backups/kelas-data-\d{8}T\d{6}Z-[a-z2-7]{6}\.age$`, paths[0])
	assert.Regexp(t, `/backups/kelas-keys-`, paths[1])
	for _, p := range paths {
		assert.FileExists(t, p)
	}

	_, _, err = runCmd(t, getenv, "another passphrase\n", "admin", "create", "--email", "second@example.org")
	require.NoError(t, err)

	t.Run("refused while serving", func(t *testing.T) {
		unlock, err := store.LockDir(dir, false) // what a running `kelas serve` holds
		require.NoError(t, err)
		defer unlock()
		_, _, err = runCmd(t, getenv, "", "restore", paths[0])
		require.ErrorContains(t, err, "stop `kelas serve`")
	})
	t.Run("damaged file", func(t *testing.T) {
		b, err := os.ReadFile(paths[0])
		require.NoError(t, err)
		bad := filepath.Join(t.TempDir(), "kelas-data-20260101T000000Z-aaaaaa.age")
		require.NoError(t, os.WriteFile(bad, b[:len(b)/2], 0o600))
		before := snapshotDBs(t, dir)
		_, _, err = runCmd(t, getenv, "", "restore", bad)
		require.ErrorContains(t, err, "damaged or truncated")
		assert.Equal(t, before, snapshotDBs(t, dir), "the live data is untouched")
	})

	t.Run("identity file without an identity", func(t *testing.T) {
		f := filepath.Join(t.TempDir(), "recovery.key")
		require.NoError(t, os.WriteFile(f, []byte("not a key\n"), 0o600))
		_, _, err := runCmd(t, env("KELAS_DATA", dir, "KELAS_BACKUP_IDENTITY", f), "", "restore", paths[0])
		require.ErrorContains(t, err, "holds no age identity")
	})

	out, _, err = runCmd(t, getenv, "", "restore", paths[0], "--data", dir)
	require.NoError(t, err)
	assert.Contains(t, out, "restored kelas.db and keys.db")
	assert.Contains(t, out, "the replaced state is kept, encrypted, as "+filepath.Join(dir, store.BackupsDir, "kelas-data-"))
	assert.Contains(t, out, "compliance records re-applied from the journal:")
	assert.NoFileExists(t, filepath.Join(dir, store.MainDBFile+".before-restore"))

	// The second operator, created after the backup, is gone; the first is back.
	st := openCLIStore(t, dir)
	_, err = st.UserByEmail(t.Context(), "second@example.org")
	assert.ErrorIs(t, err, store.ErrNotFound)
	u, err := st.User(t.Context(), firstID)
	require.NoError(t, err)
	assert.Equal(t, "first@example.org", u.Email)
	log, err := st.AuditLog(t.Context(), 1)
	require.NoError(t, err)
	assert.Equal(t, store.AuditBackupRestore, log[0].Action)
}

func snapshotDBs(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, f := range []string{store.MainDBFile, store.KeysDBFile} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		require.NoError(t, err)
		out[f] = string(b)
	}
	return out
}

func openCLIStore(t *testing.T, dir string) *store.Store {
	t.Helper()
	key, err := os.ReadFile(filepath.Join(dir, crypt.MasterKeyFile))
	require.NoError(t, err)
	k, err := crypt.LoadMasterKey(crypt.MasterKeyOptions{Base64: strings.TrimSpace(string(key))})
	require.NoError(t, err)
	st, err := store.Open(t.Context(), store.Options{Dir: dir, MasterKey: k.Key})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	return st
}

func TestDoctorCommand(t *testing.T) {
	dir := t.TempDir()
	getenv := env("KELAS_DATA", dir)
	_, _, err := runCmd(t, getenv, "a strong passphrase\n", "admin", "create", "--email", "doc@example.org")
	require.NoError(t, err)

	out, _, err := runCmd(t, getenv, "", "doctor")
	require.NoError(t, err, out)
	assert.Regexp(t, `WARN\s+master key\s+the master key is stored in the data directory`, out)
	assert.Regexp(t, `ok\s+key check`, out)
	assert.Regexp(t, `WARN\s+backups\s+no backup has been taken yet`, out)
	assert.Regexp(t, `WARN\s+mail\s+KELAS_SMTP_URL is not set`, out)
	assert.Regexp(t, `ok\s+audit log`, out)
	assert.Regexp(t, `(ok|WARN)\s+disk`, out)
	assert.NotContains(t, out, "doc@example.org")

	_, _, err = runCmd(t, getenv, "", "backup")
	require.NoError(t, err)
	tamperAudit(t, dir, 1)
	out, _, err = runCmd(t, getenv, "", "doctor", "--data", dir)
	require.ErrorContains(t, err, "doctor found 1 problems")
	assert.Regexp(t, `ok\s+backups\s+last good backup`, out)
	assert.Regexp(t, `FAIL\s+audit log\s+.*entry 1 has been altered`, out)

	_, _, err = runCmd(t, env("KELAS_DATA", t.TempDir()), "", "doctor")
	assert.ErrorContains(t, err, "no kelas data")
}

// TestServeHoldsTheDataLock: while `kelas serve` runs, `kelas restore`
// refuses to touch its files.
func TestServeHoldsTheDataLock(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--addr", "127.0.0.1:0", "--data", dir}, env(), strings.NewReader(""), &stdout, &stderr)
	}()
	require.Eventually(t, func() bool { return strings.Contains(stdout.String(), "/setup/") }, 10*time.Second, 20*time.Millisecond,
		"stderr: %s", stderr.String())
	_, _, err := runCmd(t, env("KELAS_DATA", dir), "", "restore", filepath.Join(dir, "backups", "kelas-data-20260101T000000Z-aaaaaa.age"))
	require.ErrorContains(t, err, "stop `kelas serve`")
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not shut down")
	}
	_, err = os.Stat(filepath.Join(dir, store.LockFile))
	require.NoError(t, err)
	unlock, err := store.LockDir(dir, true)
	require.NoError(t, err, "the lock is released when serve stops")
	unlock()
}

// TestErasureGraceSetting: KELAS_ERASURE_GRACE unset keeps the default
// (nil), while 0 is a grace period of none: the erasure job's next run.
func TestErasureGraceSetting(t *testing.T) {
	days := func(n int) *time.Duration {
		d := time.Duration(n) * 24 * time.Hour
		return &d
	}
	cases := []struct {
		value string
		want  *time.Duration
		err   bool
	}{
		{"", nil, false},
		{"0", days(0), false},
		{"0h", days(0), false},
		{"7", days(7), false},
		{"90", days(90), false},
		{"36h", func() *time.Duration { d := 36 * time.Hour; return &d }(), false},
		{"91", nil, true},
		{"-1", nil, true},
		{"-1h", nil, true},
		{"a week", nil, true},
	}
	for _, c := range cases {
		t.Run(c.value, func(t *testing.T) {
			got, err := erasureGrace(env("KELAS_ERASURE_GRACE", c.value))
			if c.err {
				require.Error(t, err)
				assert.Contains(t, err.Error(), "KELAS_ERASURE_GRACE")
				return
			}
			require.NoError(t, err)
			if c.want == nil {
				assert.Nil(t, got)
				return
			}
			require.NotNil(t, got)
			assert.Equal(t, *c.want, *got)
		})
	}
	_, stderr, err := runCmd(t, env("KELAS_ERASURE_GRACE", "91", "KELAS_DATA", t.TempDir()), "", "serve")
	require.Error(t, err, "serve refuses a grace period out of range")
	assert.Contains(t, err.Error()+stderr, "0 to 90")
}

// TestServeRefusesWhenErasuresCannotBeReapplied: if the tombstones cannot
// be read (here the file is a directory), serving could show someone who
// was erased: serve stops before it listens.
func TestServeRefusesWhenErasuresCannotBeReapplied(t *testing.T) {
	dir := t.TempDir()
	getenv := env("KELAS_DATA", dir)
	_, _, err := runCmd(t, getenv, "correct horse battery staple\n", "admin", "create", "--email", "op@example.org")
	require.NoError(t, err)
	require.NoError(t, os.Mkdir(filepath.Join(dir, store.TombstonesFile), 0o700))
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(t.Context(), []string{"serve", "--addr", "127.0.0.1:0", "--data", dir}, getenv, strings.NewReader(""), &stdout, &stderr)
	}()
	select {
	case err := <-done:
		require.ErrorContains(t, err, "refusing to serve")
	case <-time.After(15 * time.Second):
		t.Fatal("serve started although erasures could not be re-applied")
	}
	assert.NotContains(t, stderr.String(), "listening")
}

func TestHealthcheckFailsWithoutServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	err = run(t.Context(), []string{"healthcheck", "--addr", addr}, env(), nil, io.Discard, io.Discard)
	require.Error(t, err)
	u, err := healthURL("0.0.0.0:8080")
	require.NoError(t, err)
	assert.Equal(t, "http://127.0.0.1:8080/healthz", u)
}

func TestDockerignoreKeepsDataAndHistoryOut(t *testing.T) {
	b, err := os.ReadFile(".dockerignore")
	require.NoError(t, err)
	lines := strings.Split(string(b), "\n")
	assert.Contains(t, lines, "kelas-data/")
	assert.Contains(t, lines, ".git")
	df, err := os.ReadFile("Dockerfile")
	require.NoError(t, err)
	assert.Contains(t, string(df), `HEALTHCHECK`)
	assert.Contains(t, string(df), `"/kelas", "healthcheck"`)
}

// BenchmarkServeStartup measures `kelas serve` from the start of run() to
// the printed setup link (printed once it listens), at the default bcrypt
// cost, on an existing data directory (a restart) and on a new one (first
// start: master key, migrations, seed data).
func BenchmarkServeStartup(b *testing.B) {
	startOnce := func(b *testing.B, dir string) time.Duration {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var stdout, stderr syncBuffer
		done := make(chan error, 1)
		start := time.Now()
		go func() {
			done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--data", dir}, env(), strings.NewReader(""), &stdout, &stderr)
		}()
		for !strings.Contains(stdout.String(), "/setup/") {
			select {
			case err := <-done:
				b.Fatalf("serve stopped: %v %s", err, stderr.String())
			case <-time.After(time.Millisecond):
			}
		}
		took := time.Since(start)
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		return took
	}
	b.Run("existing", func(b *testing.B) {
		dir := b.TempDir()
		startOnce(b, dir)
		var total time.Duration
		for b.Loop() {
			total += startOnce(b, dir)
		}
		b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms-to-listen")
	})
	b.Run("fresh", func(b *testing.B) {
		var total time.Duration
		for b.Loop() {
			total += startOnce(b, b.TempDir())
		}
		b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms-to-listen")
	})
	// What start-up cost before the dummy hash moved to the background:
	// one hash at the default cost, measured in the same run.
	b.Run("one-bcrypt-hash-cost-12", func(b *testing.B) {
		for b.Loop() {
			if _, err := bcrypt.GenerateFromPassword([]byte("kelas dummy password"), 12); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func TestKeysRotateMasterCommand(t *testing.T) {
	dir := t.TempDir()
	getenv := env("KELAS_DATA", dir)
	out, _, err := runCmd(t, getenv, "a strong passphrase\n", "admin", "create", "--email", "first@example.org")
	require.NoError(t, err)
	firstID := strings.Fields(out)[3]
	out, _, err = runCmd(t, getenv, "", "backup")
	require.NoError(t, err)
	oldBackups := strings.Fields(out)
	require.Len(t, oldBackups, 2)

	keys := t.TempDir()
	oldKeyFile := filepath.Join(keys, "old.key")
	b, err := os.ReadFile(filepath.Join(dir, crypt.MasterKeyFile))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(oldKeyFile, b, 0o600))
	newKey := make([]byte, crypt.KeySize)
	_, err = rand.Read(newKey)
	require.NoError(t, err)
	newKeyFile := filepath.Join(keys, "new.key")
	require.NoError(t, os.WriteFile(newKeyFile, []byte(crypt.EncodeKey(newKey)+"\n"), 0o600))

	t.Run("refusals change nothing", func(t *testing.T) {
		before := snapshotDBs(t, dir)
		open := filepath.Join(keys, "open.key")
		require.NoError(t, os.WriteFile(open, []byte(crypt.EncodeKey(newKey)), 0o644))
		_, _, err := runCmd(t, getenv, "", "keys", "rotate", "--new-master-key-file", open)
		require.ErrorContains(t, err, "readable by other users")

		_, _, err = runCmd(t, getenv, "", "keys", "rotate", "--new-master-key-file", oldKeyFile)
		require.ErrorContains(t, err, "the new master key is the current one")

		wrong := make([]byte, crypt.KeySize)
		_, err = rand.Read(wrong)
		require.NoError(t, err)
		_, _, err = runCmd(t, env("KELAS_DATA", dir, "KELAS_MASTER_KEY", crypt.EncodeKey(wrong)), "", "keys", "rotate", "--new-master-key-file", newKeyFile)
		require.ErrorContains(t, err, "does not match this data directory")

		unlock, err := store.LockDir(dir, false) // what a running `kelas serve` holds
		require.NoError(t, err)
		_, _, err = runCmd(t, getenv, "", "keys", "rotate", "--new-master-key-file", newKeyFile)
		require.ErrorContains(t, err, "stop `kelas serve`")
		require.NoError(t, unlock())
		assert.Equal(t, before, snapshotDBs(t, dir))

		// The backup of the state before cannot be written (the failure
		// is recorded, under the old key).
		backups := filepath.Join(dir, store.BackupsDir)
		require.NoError(t, os.Rename(backups, backups+".aside"))
		require.NoError(t, os.WriteFile(backups, nil, 0o600))
		_, _, err = runCmd(t, getenv, "", "keys", "rotate", "--new-master-key-file", newKeyFile)
		require.ErrorContains(t, err, "nothing was changed")
		require.NoError(t, os.Remove(backups))
		require.NoError(t, os.Rename(backups+".aside", backups))
		_, _, err = runCmd(t, getenv, "", "audit", "verify")
		require.NoError(t, err, "the old key still opens the data")
	})

	out, _, err = runCmd(t, getenv, "", "keys", "rotate", "--new-master-key-file", newKeyFile)
	require.NoError(t, err)
	assert.Contains(t, out, "The master key of "+dir+" is rotated")
	assert.Contains(t, out, "The old key is "+filepath.Join(dir, crypt.MasterKeyFile))
	assert.Contains(t, out, "install -m 600 "+newKeyFile+" "+filepath.Join(dir, crypt.MasterKeyFile))
	assert.Contains(t, out, "encrypted to the OLD key")
	assert.Contains(t, out, "kelas backup --data "+dir)
	assert.Regexp(t, `Keep the old key offline, not on this server, until \d{4}-\d{2}-\d{2}`, out)
	assert.NotContains(t, out, crypt.EncodeKey(newKey), "no key is printed")
	// The backup of the state before; retention already replaced the
	// earlier one of the same day with it.
	before := regexp.MustCompile(`\S+/backups/kelas-data-\S+\.age`).FindString(out)
	require.NotEmpty(t, before, out)
	oldBackups[0] = before

	_, _, err = runCmd(t, getenv, "", "audit", "verify")
	require.ErrorContains(t, err, "does not match this data directory", "the old key in DATA/master.key no longer opens the data")

	// As told: the new key replaces the old one.
	require.NoError(t, os.WriteFile(filepath.Join(dir, crypt.MasterKeyFile), []byte(crypt.EncodeKey(newKey)+"\n"), 0o600))
	out, _, err = runCmd(t, getenv, "", "audit", "verify")
	require.NoError(t, err, out)
	st := openCLIStore(t, dir)
	u, err := st.UserByEmail(t.Context(), "first@example.org")
	require.NoError(t, err)
	assert.Equal(t, firstID, u.ID)
	require.NoError(t, st.Close())
	stray, err := store.StrayCopies(dir)
	require.NoError(t, err)
	assert.Empty(t, stray)

	// Backups from before restore with the old key only.
	_, _, err = runCmd(t, env("KELAS_DATA", t.TempDir(), "KELAS_MASTER_KEY_FILE", newKeyFile), "", "restore", oldBackups[0])
	require.Error(t, err)
	fresh := t.TempDir()
	_, _, err = runCmd(t, env("KELAS_DATA", fresh, "KELAS_MASTER_KEY_FILE", oldKeyFile), "", "restore", oldBackups[0])
	require.NoError(t, err)
	_, _, err = runCmd(t, env("KELAS_DATA", fresh, "KELAS_MASTER_KEY_FILE", oldKeyFile), "", "audit", "verify")
	require.NoError(t, err)

	// Again, with the key in the environment.
	third := filepath.Join(keys, "third.key")
	thirdKey := make([]byte, crypt.KeySize)
	_, err = rand.Read(thirdKey)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(third, []byte(crypt.EncodeKey(thirdKey)), 0o600))
	out, _, err = runCmd(t, env("KELAS_DATA", dir, "KELAS_MASTER_KEY", crypt.EncodeKey(newKey)), "", "keys", "rotate", "--new-master-key-file", third)
	require.NoError(t, err)
	assert.Contains(t, out, "KELAS_MASTER_KEY holds the old key")
	_, _, err = runCmd(t, env("KELAS_DATA", dir, "KELAS_MASTER_KEY_FILE", third), "", "audit", "verify")
	require.NoError(t, err)
}
