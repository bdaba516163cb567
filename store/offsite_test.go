package store

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"kelas/store/offsite"
	"kelas/store/offsite/offsitetest"
)

var fastRetry = OffsiteOptions{Attempts: 2, Backoff: 10 * time.Millisecond}

func remoteNames(t *testing.T, tg offsite.Target) []string {
	t.Helper()
	names, err := tg.List(context.Background())
	require.NoError(t, err)
	slices.Sort(names)
	return names
}

// offsiteRoundTrip is the same four steps against any target: upload,
// checksum verification, retention after the keys window, restore from it.
func offsiteRoundTrip(t *testing.T, tg offsite.Target) {
	ctx := context.Background()
	clock := newTestClock()
	dir, key := t.TempDir(), newMasterKey(t)
	s := openTestStore(t, dir, key, clock.Now)
	kept := registered(t, s, "kept")
	first, err := s.Backup(ctx, BackupOptions{Origin: OriginSchedule})
	require.NoError(t, err)

	// 1. Upload: both files of the pair arrive under their own names, and
	// nothing temporary is left.
	up, err := s.UploadOffsite(ctx, tg, fastRetry)
	require.NoError(t, err)
	require.Len(t, up, 2)
	assert.Equal(t, []string{first[0].File, first[1].File}, remoteNames(t, tg))

	// 2. Verify: every state is verified and the remote copy hashes like
	// the local file.
	for _, u := range up {
		assert.Equal(t, OffsiteVerified, u.State, u.Error)
	}
	for _, b := range first {
		sum, err := remoteSHA256(ctx, tg, b.File)
		require.NoError(t, err)
		assert.Equal(t, b.SHA256, sum)
	}
	st, err := s.OffsiteStatus(ctx, tg.String())
	require.NoError(t, err)
	require.Len(t, st.Files, 2)
	assert.Empty(t, st.Failing)
	// A second run has nothing left to do.
	again, err := s.UploadOffsite(ctx, tg, fastRetry)
	require.NoError(t, err)
	assert.Empty(t, again)

	// 3. Retention: past the keys window the remote keys backup goes; the
	// data backup stays under the daily rule.
	clock.Advance(8 * day)
	second, err := s.Backup(ctx, BackupOptions{Origin: OriginSchedule})
	require.NoError(t, err)
	_, err = s.UploadOffsite(ctx, tg, fastRetry)
	require.NoError(t, err)
	removed, err := s.PruneOffsite(ctx, tg)
	require.NoError(t, err)
	assert.Equal(t, []string{first[1].File}, removed)
	assert.Equal(t, []string{first[0].File, second[0].File, second[1].File}, remoteNames(t, tg))
	st, err = s.OffsiteStatus(ctx, tg.String())
	require.NoError(t, err)
	assert.Empty(t, st.Overdue)
	assert.Empty(t, st.DeleteFailing)

	// 4. Restore from the target into a new data directory (the server is
	// gone): the newest pair, then a named one.
	fresh := t.TempDir()
	res, err := RestoreFrom(ctx, RestoreOptions{Dir: fresh, MasterKey: key, Clock: clock.Now}, tg, "")
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{MainDBFile, KeysDBFile}, res.Restored)
	assert.Equal(t, second[1].File, filepath.Base(res.KeysFile))
	r := openTestStore(t, fresh, key, clock.Now)
	got, err := r.User(ctx, kept.ID)
	require.NoError(t, err)
	assert.Equal(t, kept.Email, got.Email)
	require.NoError(t, r.Close())
	entries, err := os.ReadDir(fresh)
	require.NoError(t, err)
	for _, e := range entries {
		assert.False(t, strings.HasPrefix(e.Name(), ".fetch-"), "download left behind: %s", e.Name())
	}

	_, err = RestoreFrom(ctx, RestoreOptions{Dir: fresh, MasterKey: key, Clock: clock.Now}, tg, "20010101T000000Z")
	require.ErrorContains(t, err, "holds no data backup of 20010101T000000Z")
}

func TestOffsiteS3RoundTrip(t *testing.T) {
	srv := offsitetest.StartS3(t)
	offsiteRoundTrip(t, offsitetest.OpenTarget(t, srv.URL, offsitetest.S3Creds()))
}

func TestOffsiteSFTPRoundTrip(t *testing.T) {
	srv := offsitetest.StartSSHD(t)
	tg := offsitetest.OpenTarget(t, srv.URL, srv.Creds)
	offsiteRoundTrip(t, tg)
	// The files really are in the server's directory, under final names.
	entries, err := os.ReadDir(srv.Dir)
	require.NoError(t, err)
	for _, e := range entries {
		assert.True(t, backupName.MatchString(e.Name()), e.Name())
	}
}

// A server whose host key is not the pinned one is refused before any
// byte of a backup is sent; the local backup stays and the failure is
// recorded with a clear reason.
func TestOffsiteSFTPRefusesChangedHostKey(t *testing.T) {
	srv := offsitetest.StartSSHD(t)
	_, other := offsitetest.WriteSSHKey(t, filepath.Join(t.TempDir(), "other"))
	_, port, _ := strings.Cut(srv.Addr, ":")
	require.NoError(t, os.WriteFile(srv.Creds.SFTPKnownHosts,
		fmt.Appendf(nil, "[127.0.0.1]:%s %s", port, bytes.TrimSpace(ssh.MarshalAuthorizedKey(other))), 0o600))
	tg := offsitetest.OpenTarget(t, srv.URL, srv.Creds)

	ctx := context.Background()
	s := newTestStore(t)
	bs, err := s.Backup(ctx, BackupOptions{})
	require.NoError(t, err)
	up, err := s.UploadOffsite(ctx, tg, fastRetry)
	require.ErrorContains(t, err, "does not match KELAS_BACKUP_SFTP_KNOWN_HOSTS")
	require.Len(t, up, 2)
	for _, u := range up {
		assert.Equal(t, OffsiteFailed, u.State)
		assert.Contains(t, u.Error, "host key")
	}
	for _, b := range bs {
		assert.FileExists(t, s.BackupPath(b))
	}
	entries, err := os.ReadDir(srv.Dir)
	require.NoError(t, err)
	assert.Empty(t, entries)
}

// Wrong credentials, a missing bucket and an unreachable endpoint each fail
// with a sentence naming the cause (and never the secret); the local backup
// stays and is tried again at the next run.
func TestOffsiteBadInput(t *testing.T) {
	srv := offsitetest.StartS3(t)
	down := "127.0.0.1:1" // nothing listens there
	cases := []struct {
		name, url string
		creds     offsite.Credentials
		want      string
		attempts  int // a refusal is not retried; a network failure is
	}{
		{"wrong credentials", srv.URL, offsite.Credentials{S3AccessKey: "AKIAWRONG", S3SecretKey: offsitetest.S3SecretKey, S3MaxRetries: 1}, "refused the credentials", 1},
		{"missing bucket", strings.Replace(srv.URL, offsitetest.S3Bucket, "no-such-bucket", 1), offsitetest.S3Creds(), `the bucket "no-such-bucket" does not exist`, 1},
		{"unreachable", "s3://" + offsitetest.S3Bucket + "?endpoint=http://" + down, offsitetest.S3Creds(), "cannot reach " + down, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			s := newTestStore(t)
			bs, err := s.Backup(ctx, BackupOptions{})
			require.NoError(t, err)
			tg := offsitetest.OpenTarget(t, c.url, c.creds)
			_, err = s.UploadOffsite(ctx, tg, fastRetry)
			require.ErrorContains(t, err, c.want)
			assert.NotContains(t, err.Error(), offsitetest.S3SecretKey)
			st, err := s.OffsiteStatus(ctx, tg.String())
			require.NoError(t, err)
			require.Len(t, st.Failing, 2)
			assert.Contains(t, st.Failing[0].Error, c.want)
			assert.Equal(t, c.attempts, st.Failing[0].Attempts)
			for _, b := range bs {
				assert.FileExists(t, s.BackupPath(b))
			}
		})
	}
	// Secrets in the URL are refused, not stored.
	_, err := offsite.Open("sftp://user:hunter2@example.test/backups", offsite.Credentials{})
	require.ErrorIs(t, err, offsite.ErrConfig)
	assert.NotContains(t, err.Error(), "hunter2")
}

// The drill restores the newest remote pair and checks it; a remote copy
// damaged after upload is caught and reported, and nothing of the copy
// stays in the data directory.
func TestRestoreDrillCatchesCorruptedRemoteCopy(t *testing.T) {
	ctx := context.Background()
	srv := offsitetest.StartS3(t)
	tg := offsitetest.OpenTarget(t, srv.URL, offsitetest.S3Creds())
	clock := newTestClock()
	dir, key := t.TempDir(), newMasterKey(t)
	s := openTestStore(t, dir, key, clock.Now)
	registered(t, s, "one")
	registered(t, s, "two")
	// What a drill cut off by a crash would leave: doctor names it, the
	// next drill removes it.
	stale := filepath.Join(dir, ".drill-crashed", "data")
	require.NoError(t, os.MkdirAll(stale, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(stale, MainDBFile), sqliteMagic, 0o600))
	stray, err := StrayCopies(dir)
	require.NoError(t, err)
	require.Len(t, stray, 1)
	assert.Contains(t, stray[0].Why, "interrupted restore drill")
	bs, err := s.Backup(ctx, BackupOptions{Origin: OriginSchedule})
	require.NoError(t, err)
	_, err = s.UploadOffsite(ctx, tg, fastRetry)
	require.NoError(t, err)

	d, err := s.RestoreDrill(ctx, tg)
	require.NoError(t, err)
	assert.True(t, d.OK)
	assert.NoDirExists(t, filepath.Join(dir, ".drill-crashed"))
	assert.Equal(t, bs[0].File, d.File)
	assert.Equal(t, 2, d.People)
	assert.Equal(t, 2, d.LivePeople)

	// Flip bytes in the middle of the remote data backup.
	var buf bytes.Buffer
	require.NoError(t, tg.Get(ctx, bs[0].File, &buf))
	b := buf.Bytes()
	for i := len(b) / 2; i < len(b)/2+64; i++ {
		b[i] ^= 0xff
	}
	_, err = srv.Backend.PutObject(offsitetest.S3Bucket, "nightly/"+bs[0].File, map[string]string{}, bytes.NewReader(b), int64(len(b)), nil)
	require.NoError(t, err)

	clock.Advance(time.Hour)
	d, err = s.RestoreDrill(ctx, tg)
	require.Error(t, err)
	assert.False(t, d.OK)
	assert.Contains(t, d.Error, "damaged or truncated")
	last, err := s.LastDrill(ctx)
	require.NoError(t, err)
	assert.Equal(t, d.ID, last.ID)
	assert.False(t, last.OK)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		assert.False(t, strings.HasPrefix(e.Name(), ".drill-"), "drill copy left behind: %s", e.Name())
	}
}

// Once the keys window has passed, no object at the target holds the data
// key of a person erased after a backup, so nothing stored off the server
// can bring their data back: restoring any remote pair leaves them gone.
func TestOffsiteErasedPersonUnreadableAfterKeysWindow(t *testing.T) {
	ctx := context.Background()
	srv := offsitetest.StartS3(t)
	tg := offsitetest.OpenTarget(t, srv.URL, offsitetest.S3Creds())
	clock := newTestClock()
	dir, key := t.TempDir(), newMasterKey(t)
	s := openTestStore(t, dir, key, clock.Now)
	u := populate(t, s)
	_, err := s.Backup(ctx, BackupOptions{Origin: OriginSchedule})
	require.NoError(t, err)
	_, err = s.UploadOffsite(ctx, tg, fastRetry)
	require.NoError(t, err)
	require.True(t, remoteHasKeyOf(t, tg, key, u.ID), "the backup before the erasure holds the person's key")

	clock.Advance(time.Hour)
	require.NoError(t, s.EraseUser(ctx, "op", u.ID))
	// Daily backups and hourly pruning go on for the keys window.
	for range 8 {
		clock.Advance(day)
		_, err = s.Backup(ctx, BackupOptions{Origin: OriginSchedule})
		require.NoError(t, err)
		_, err = s.UploadOffsite(ctx, tg, fastRetry)
		require.NoError(t, err)
		_, err = s.PruneOffsite(ctx, tg)
		require.NoError(t, err)
	}
	assert.False(t, remoteHasKeyOf(t, tg, key, u.ID), "a remote keys backup still holds the erased person's key")

	// Every remote data backup that still holds the person's sealed row is
	// unreadable: restore each with the newest remote keys, as an attacker
	// with the master key and the bucket would.
	for _, name := range remoteNames(t, tg) {
		m := backupName.FindStringSubmatch(name)
		if m == nil || m[1] != BackupData {
			continue
		}
		fresh := t.TempDir()
		_, err := RestoreFrom(ctx, RestoreOptions{Dir: fresh, MasterKey: key, Clock: clock.Now}, tg, m[2])
		if err != nil {
			// A data backup whose keys backup is gone cannot be restored at all.
			assert.ErrorContains(t, err, KeysDBFile+" is missing")
			continue
		}
		r := openTestStore(t, fresh, key, clock.Now)
		_, err = r.User(ctx, u.ID)
		assert.ErrorIs(t, err, ErrNotFound, name)
		require.NoError(t, r.Close())
	}
	for _, plain := range distinctiveSecrets {
		assert.False(t, remoteHoldsPlaintext(t, tg, plain), plain)
	}
}

// remoteHasKeyOf reports whether any keys backup at tg holds userID's
// wrapped data key.
func remoteHasKeyOf(t *testing.T, tg offsite.Target, key []byte, userID string) bool {
	t.Helper()
	for _, name := range remoteNames(t, tg) {
		if !strings.HasPrefix(name, "kelas-keys-") {
			continue
		}
		path := filepath.Join(t.TempDir(), name)
		f, err := os.Create(path)
		require.NoError(t, err)
		require.NoError(t, tg.Get(context.Background(), name, f))
		require.NoError(t, f.Close())
		entries, _, err := decryptBackup(t, path, backupIdentity(t, key))
		require.NoError(t, err)
		db := filepath.Join(t.TempDir(), KeysDBFile)
		require.NoError(t, os.WriteFile(db, entries[KeysDBFile], 0o600))
		conn, err := sql.Open("sqlite", "file:"+db+"?mode=ro")
		require.NoError(t, err)
		var n int
		err = conn.QueryRow("SELECT COUNT(*) FROM data_keys WHERE subject = ?", userID).Scan(&n)
		conn.Close()
		require.NoError(t, err)
		if n > 0 {
			return true
		}
	}
	return false
}

// remoteHoldsPlaintext reports whether any object's raw bytes contain s.
func remoteHoldsPlaintext(t *testing.T, tg offsite.Target, s string) bool {
	t.Helper()
	for _, name := range remoteNames(t, tg) {
		var buf bytes.Buffer
		require.NoError(t, tg.Get(context.Background(), name, &buf))
		if bytes.Contains(bytes.ToLower(buf.Bytes()), bytes.ToLower([]byte(s))) {
			return true
		}
	}
	return false
}

// A removal the target refuses is recorded and reported (the keys backup
// is overdue there), and done at the next run once allowed.
func TestOffsitePruneFailureIsReportedAndRetried(t *testing.T) {
	ctx := context.Background()
	srv := offsitetest.StartS3(t)
	tg := offsitetest.OpenTarget(t, srv.URL, offsitetest.S3Creds())
	clock := newTestClock()
	s := openTestStore(t, t.TempDir(), newMasterKey(t), clock.Now)
	first, err := s.Backup(ctx, BackupOptions{Origin: OriginSchedule})
	require.NoError(t, err)
	_, err = s.UploadOffsite(ctx, tg, fastRetry)
	require.NoError(t, err)

	clock.Advance(8 * day)
	_, err = s.Backup(ctx, BackupOptions{Origin: OriginSchedule})
	require.NoError(t, err)
	srv.FailDeletes.Store(true)
	_, err = s.PruneOffsite(ctx, tg)
	require.ErrorContains(t, err, first[1].File)
	assert.Contains(t, remoteNames(t, tg), first[1].File)
	st, err := s.OffsiteStatus(ctx, tg.String())
	require.NoError(t, err)
	require.Len(t, st.DeleteFailing, 1)
	assert.Equal(t, first[1].File, st.DeleteFailing[0].File)
	assert.Contains(t, st.DeleteFailing[0].DeleteError, "refused")
	require.Len(t, st.Overdue, 1)

	srv.FailDeletes.Store(false)
	removed, err := s.PruneOffsite(ctx, tg)
	require.NoError(t, err)
	assert.Equal(t, []string{first[1].File}, removed)
	st, err = s.OffsiteStatus(ctx, tg.String())
	require.NoError(t, err)
	assert.Empty(t, st.DeleteFailing)
	assert.Empty(t, st.Overdue)
}

// failingReader fails after n bytes, like a connection that drops.
type failingReader struct{ n int }

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, fmt.Errorf("connection dropped")
	}
	n := min(len(p), r.n)
	for i := range n {
		p[i] = 'x'
	}
	r.n -= n
	return n, nil
}

// An upload cut off half-way never leaves a file under the backup's name,
// on either kind of target; a leftover partial is pruned after a day.
func TestOffsiteInterruptedUploadLeavesNoBackup(t *testing.T) {
	targets := map[string]func(t *testing.T) offsite.Target{
		"s3": func(t *testing.T) offsite.Target {
			return offsitetest.OpenTarget(t, offsitetest.StartS3(t).URL, offsitetest.S3Creds())
		},
		"sftp": func(t *testing.T) offsite.Target {
			srv := offsitetest.StartSSHD(t)
			return offsitetest.OpenTarget(t, srv.URL, srv.Creds)
		},
	}
	for name, open := range targets {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			tg := open(t)
			clock := newTestClock()
			s := openTestStore(t, t.TempDir(), newMasterKey(t), clock.Now)
			file := "kelas-data-" + clock.Now().Format(stampLayout) + "-abcdef.age"
			err := tg.Put(ctx, file, &failingReader{n: 100 << 10}, 1<<20)
			require.Error(t, err)
			assert.NotContains(t, remoteNames(t, tg), file)

			// A partial left by a crash is not a backup, and goes after a day.
			require.NoError(t, tg.Put(ctx, offsite.PartialName(file), strings.NewReader("half"), 4))
			require.Contains(t, remoteNames(t, tg), offsite.PartialName(file))
			_, err = FetchOffsite(ctx, tg, "", t.TempDir())
			require.ErrorContains(t, err, "holds no data backup")
			clock.Advance(25 * time.Hour)
			_, err = s.PruneOffsite(ctx, tg)
			require.NoError(t, err)
			assert.Empty(t, remoteNames(t, tg))
		})
	}
}
