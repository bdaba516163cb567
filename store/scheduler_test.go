package store

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestJobLeaseLifecycle(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	s := openTestStore(t, t.TempDir(), newMasterKey(t), clock.Now)
	due := clock.Now().Add(time.Minute)
	require.NoError(t, s.EnsureJob(ctx, "backup", due))

	claimed, err := s.ClaimJob(ctx, "backup", "a", time.Minute, false)
	require.NoError(t, err)
	assert.False(t, claimed, "not due yet")

	clock.Advance(time.Minute)
	claimed, err = s.ClaimJob(ctx, "backup", "a", time.Minute, false)
	require.NoError(t, err)
	require.True(t, claimed, "due now")
	j, err := s.Job(ctx, "backup")
	require.NoError(t, err)
	assert.True(t, j.Running(s.Now()))
	assert.Equal(t, "a", j.LeaseOwner)

	claimed, err = s.ClaimJob(ctx, "backup", "b", time.Minute, true)
	require.NoError(t, err)
	assert.False(t, claimed, "a live lease stops even a forced claim")

	started := s.Now()
	clock.Advance(10 * time.Second)
	next := started.Add(time.Hour)
	require.NoError(t, s.FinishJob(ctx, "backup", "a", started, next, errors.New("disk full")))
	j, err = s.Job(ctx, "backup")
	require.NoError(t, err)
	assert.False(t, j.Running(s.Now()))
	assert.Equal(t, "disk full", j.LastError)
	assert.True(t, j.LastOKAt.IsZero(), "a failed run is not a good one")
	assert.True(t, j.LastRunAt.Equal(started))
	assert.True(t, j.NextRunAt.Equal(next))

	claimed, err = s.ClaimJob(ctx, "backup", "b", time.Minute, false)
	require.NoError(t, err)
	assert.False(t, claimed, "finished: not due until next")
	claimed, err = s.ClaimJob(ctx, "backup", "b", time.Minute, true)
	require.NoError(t, err)
	require.True(t, claimed, "forced runs ignore the schedule")
	require.NoError(t, s.FinishJob(ctx, "backup", "b", s.Now(), next, nil))
	j, err = s.Job(ctx, "backup")
	require.NoError(t, err)
	assert.Empty(t, j.LastError)
	assert.True(t, j.LastOKAt.Equal(s.Now()))

	_, err = s.Job(ctx, "nope")
	assert.ErrorIs(t, err, ErrNotFound)
}

func TestEnsureJobKeepsStateAcrossRestarts(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	dir, key := t.TempDir(), newMasterKey(t)
	s := openTestStore(t, dir, key, clock.Now)
	first := clock.Now().Add(time.Hour)
	require.NoError(t, s.EnsureJob(ctx, "retention", first))
	require.NoError(t, s.Close())

	s = openTestStore(t, dir, key, clock.Now)
	require.NoError(t, s.EnsureJob(ctx, "retention", clock.Now()), "registering again must not move the schedule")
	j, err := s.Job(ctx, "retention")
	require.NoError(t, err)
	assert.True(t, j.NextRunAt.Equal(first))
}

// TestClaimJobTwoInstances opens two Stores on the same directory (two
// processes, as far as SQLite is concerned) and races them for one job:
// exactly one claim wins.
func TestClaimJobTwoInstances(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	dir, key := t.TempDir(), newMasterKey(t)
	a := openTestStore(t, dir, key, clock.Now)
	b := openTestStore(t, dir, key, clock.Now)
	for round := range 5 {
		name := "job" + string(rune('a'+round))
		require.NoError(t, a.EnsureJob(ctx, name, clock.Now()))
		var wins atomic.Int32
		var wg sync.WaitGroup
		for i := range 16 {
			s, owner := a, "a"
			if i%2 == 1 {
				s, owner = b, "b"
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := s.ClaimJob(ctx, name, owner, time.Minute, false)
				assert.NoError(t, err)
				if ok {
					wins.Add(1)
				}
			}()
		}
		wg.Wait()
		assert.Equal(t, int32(1), wins.Load(), "round %d", round)
	}
}

// TestCrashedLeaseExpires: a process claims a job and dies without finishing;
// nobody can run it until the lease runs out, then another process can, and
// the dead owner can no longer finish it.
func TestCrashedLeaseExpires(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	dir, key := t.TempDir(), newMasterKey(t)
	crashed := openTestStore(t, dir, key, clock.Now)
	require.NoError(t, crashed.EnsureJob(ctx, "purge", clock.Now()))
	ok, err := crashed.ClaimJob(ctx, "purge", "crashed", 10*time.Minute, false)
	require.NoError(t, err)
	require.True(t, ok)
	started := crashed.Now()
	require.NoError(t, crashed.Close())

	other := openTestStore(t, dir, key, clock.Now)
	clock.Advance(9 * time.Minute)
	ok, err = other.ClaimJob(ctx, "purge", "other", 10*time.Minute, false)
	require.NoError(t, err)
	assert.False(t, ok, "the lease still runs")

	clock.Advance(time.Minute)
	ok, err = other.ClaimJob(ctx, "purge", "other", 10*time.Minute, false)
	require.NoError(t, err)
	assert.True(t, ok, "the crashed lease expired")

	assert.ErrorIs(t, other.FinishJob(ctx, "purge", "crashed", started, clock.Now().Add(time.Hour), nil), ErrNotFound,
		"the old owner lost the lease")
	assert.ErrorIs(t, other.RenewJobLease(ctx, "purge", "crashed", time.Minute), ErrNotFound)
	require.NoError(t, other.RenewJobLease(ctx, "purge", "other", time.Hour))
	j, err := other.Job(ctx, "purge")
	require.NoError(t, err)
	assert.True(t, j.LeaseUntil.Equal(clock.Now().Add(time.Hour)))
}

func TestClaimJobValidation(t *testing.T) {
	s := newTestStore(t)
	_, err := s.ClaimJob(context.Background(), "x", "", time.Minute, false)
	assert.Error(t, err)
	ok, err := s.ClaimJob(context.Background(), "unknown", "a", time.Minute, true)
	require.NoError(t, err)
	assert.False(t, ok)
	assert.ErrorIs(t, s.SetJobNextRun(context.Background(), "unknown", time.Now()), ErrNotFound)
}
