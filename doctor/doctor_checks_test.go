package doctor

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"kelas/jobs"
	"kelas/store"
)

// testClock is a clock the test moves.
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

// openStore opens a fresh store in a temporary directory on clock; it
// closes when the test ends.
func openStore(t *testing.T, clock *testClock) *store.Store {
	t.Helper()
	key := make([]byte, 32)
	rand.Read(key)
	st, err := store.Open(context.Background(), store.Options{Dir: t.TempDir(), MasterKey: key, Clock: clock.Now})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, st.Close(), "closing the store") })
	return st
}

// checkNamed returns the doctor's check called name.
func checkNamed(t *testing.T, checks []Check, name string) Check {
	t.Helper()
	for _, c := range checks {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no %q check in %v", name, checks)
	return Check{}
}

// copyDir copies the regular files of src into dst (a cold copy: both
// stores are closed).
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	entries, err := os.ReadDir(src)
	require.NoError(t, err)
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		in, err := os.Open(filepath.Join(src, e.Name()))
		require.NoError(t, err)
		out, err := os.OpenFile(filepath.Join(dst, e.Name()), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
		require.NoError(t, err)
		_, err = io.Copy(out, in)
		require.NoError(t, err)
		require.NoError(t, in.Close())
		require.NoError(t, out.Close())
	}
}

// TestDoctorFindsErasedPersonStillPresent: a copy of the data taken before
// an erasure, with the tombstones of after it (what a restore leaves when
// the replay did not run), still holds the erased person: the doctor fails
// it and says what to do.
func TestDoctorFindsErasedPersonStillPresent(t *testing.T) {
	ctx := context.Background()
	key := make([]byte, 32)
	rand.Read(key)
	live, old := t.TempDir(), t.TempDir()
	st, err := store.Open(ctx, store.Options{Dir: live, MasterKey: key})
	require.NoError(t, err)
	u, err := st.CreateUser(ctx, store.NewUser{Email: "erased@example.org", FirstName: "Era", Surname: "Sed",
		PasswordHash: "$2a$04$abcdefghijklmnopqrstuv", Role: store.RoleLearner, Verified: true})
	require.NoError(t, err)
	require.NoError(t, st.Close())
	copyDir(t, live, old) // the old copy, with the person

	st, err = store.Open(ctx, store.Options{Dir: live, MasterKey: key})
	require.NoError(t, err)
	require.NoError(t, st.EraseUser(ctx, store.ActorCLI, u.ID))
	checks := Run(ctx, st, Input{KeySource: "environment"})
	e := checkNamed(t, checks, "erasures")
	assert.Equal(t, CheckOK, e.Status, e.Detail)
	require.NoError(t, st.Close())

	tomb, err := os.ReadFile(filepath.Join(live, store.TombstonesFile))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(old, store.TombstonesFile), tomb, 0o600))
	st, err = store.Open(ctx, store.Options{Dir: old, MasterKey: key})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, st.Close()) })
	checks = Run(ctx, st, Input{KeySource: "environment"})
	e = checkNamed(t, checks, "erasures")
	assert.Equal(t, CheckFail, e.Status)
	assert.Contains(t, e.Detail, "1 of 1 erased people still have data here")
	assert.Contains(t, e.Detail, "kelas serve")
	for _, c := range checks {
		assert.NotContains(t, c.Detail, "erased@example.org")
		assert.NotContains(t, c.Detail, "Era")
	}
}

// TestDoctorWarnsAboutJobsMailAndBackups: a failing job, overdue
// retention, failed mail, a broken SMTP URL and a recorded backup missing
// from disk each show, without personal data or the SMTP password.
func TestDoctorWarnsAboutJobsMailAndBackups(t *testing.T) {
	ctx := context.Background()
	clock := &testClock{now: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	st := openStore(t, clock)
	now := clock.Now()

	// Retention ran well two days ago, purging and holding; backups fail now.
	require.NoError(t, st.EnsureJob(ctx, "retention", now))
	claimed, err := st.ClaimJob(ctx, "retention", "test", time.Minute, true)
	require.NoError(t, err)
	require.True(t, claimed)
	_, err = st.SetLegalHold(ctx, store.ActorCLI, store.NewLegalHold{Category: store.RetOutbox, Reason: "a complaint"})
	require.NoError(t, err)
	_, err = st.Purge(ctx, store.PurgeOptions{})
	require.NoError(t, err)
	require.NoError(t, st.FinishJob(ctx, "retention", "test", now, now.Add(24*time.Hour), nil))
	checks := Run(ctx, st, Input{KeySource: "environment"})
	r := checkNamed(t, checks, "retention")
	assert.Equal(t, CheckOK, r.Status)
	assert.Contains(t, r.Detail, store.RetOutbox+" held")

	require.NoError(t, st.EnsureJob(ctx, "backup", now))
	claimed, err = st.ClaimJob(ctx, "backup", "test", time.Minute, true)
	require.NoError(t, err)
	require.True(t, claimed)
	require.NoError(t, st.FinishJob(ctx, "backup", "test", now, now.Add(time.Hour), errors.New("disk full")))

	bs, err := st.Backup(ctx, store.BackupOptions{})
	require.NoError(t, err)
	require.NoError(t, os.Remove(st.BackupPath(bs[0])))

	waiting, err := st.EnqueueMail(ctx, store.NewMail{To: "someone@example.org", Kind: "verify", Subject: "s", Text: "t"})
	require.NoError(t, err)
	clock.Add(51 * time.Hour)
	checks = Run(ctx, st, Input{KeySource: "environment", SMTPRelay: jobs.SMTPRelay, SMTPURL: "smtp://user:s3cret@relay.example.org:99999"})
	byName := map[string]Check{}
	for _, c := range checks {
		byName[c.Name] = c
		assert.NotContains(t, c.Detail, "s3cret", c.Name)
		assert.NotContains(t, c.Detail, "example.org", c.Name)
	}
	assert.Equal(t, CheckWarn, byName["scheduler"].Status)
	assert.Contains(t, byName["scheduler"].Detail, "backup: disk full")
	assert.Equal(t, CheckFail, byName["retention"].Status)
	assert.Contains(t, byName["retention"].Detail, "it is due daily")
	assert.Equal(t, CheckWarn, byName["outbox"].Status, "a mail waits for more than an hour")
	assert.Contains(t, byName["outbox"].Detail, "the oldest queued mail waits for 2d 3h")
	assert.Equal(t, CheckFail, byName["mail"].Status)
	assert.True(t, strings.Contains(byName["mail"].Detail, "port"), byName["mail"].Detail)
	assert.Equal(t, CheckWarn, byName["backup files"].Status)
	assert.Contains(t, byName["backup files"].Detail, "1 recorded backups are missing")

	// The waiting mail goes; another fails: a failure alone warns too.
	require.NoError(t, st.MarkMailSent(ctx, waiting))
	failed, err := st.EnqueueMail(ctx, store.NewMail{To: "nobody@example.org", Kind: "verify", Subject: "s", Text: "t"})
	require.NoError(t, err)
	require.NoError(t, st.MarkMailFailed(ctx, failed, "smtp recipient: 550 (permanent)"))
	ob := checkNamed(t, Run(ctx, st, Input{KeySource: "environment"}), "outbox")
	assert.Equal(t, CheckWarn, ob.Status)
	assert.Equal(t, "0 queued, 1 sent, 1 failed", ob.Detail)
}
