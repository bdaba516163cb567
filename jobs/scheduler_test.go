package jobs

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"kelas/store"
)

func TestScheduleNext(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		require.NoError(t, err)
		return v
	}
	for _, tc := range []struct {
		name  string
		sched schedule
		from  string
		want  string
	}{
		{"daily before the slot", dailyAt(2, 0), "2026-03-01T01:59:59Z", "2026-03-01T02:00:00Z"},
		{"daily at the slot", dailyAt(2, 0), "2026-03-01T02:00:00Z", "2026-03-02T02:00:00Z"},
		{"daily after the slot", dailyAt(2, 0), "2026-03-01T13:00:00Z", "2026-03-02T02:00:00Z"},
		{"daily in another zone", dailyAt(2, 0), "2026-03-01T08:30:00+07:00", "2026-03-01T02:00:00Z"},
		{"hourly at :30", hourlyAt(30), "2026-03-01T10:45:00Z", "2026-03-01T11:30:00Z"},
		{"every minute", everyMinute(), "2026-03-01T10:45:10Z", "2026-03-01T10:46:00Z"},
		{"month end", dailyAt(3, 0), "2026-02-28T04:00:00Z", "2026-03-01T03:00:00Z"},
		{"weekly from a Wednesday", weeklyAt(4, 0), "2026-03-04T12:00:00Z", "2026-03-09T04:00:00Z"},
		{"weekly on the Monday before the slot", weeklyAt(4, 0), "2026-03-09T03:59:00Z", "2026-03-09T04:00:00Z"},
		{"weekly at the slot", weeklyAt(4, 0), "2026-03-09T04:00:00Z", "2026-03-16T04:00:00Z"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.sched.next(at(tc.from))
			assert.Equal(t, at(tc.want), got)
			assert.Equal(t, time.UTC, got.Location())
		})
	}
}

// schedFixture is a store on a fake clock with a counting job, as one or
// more processes see it.
type schedFixture struct {
	dir   string
	key   []byte
	clock *testClock
	runs  atomic.Int32
}

func newSchedFixture(t *testing.T) *schedFixture {
	t.Helper()
	key := make([]byte, 32)
	rand.Read(key)
	return &schedFixture{dir: t.TempDir(), key: key, clock: &testClock{now: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}}
}

// process opens the store as a new process would and builds its scheduler
// with the counting job, daily at 02:00.
func (f *schedFixture) process(t *testing.T, run func(context.Context) error) (*scheduler, *store.Store) {
	t.Helper()
	st, err := store.Open(context.Background(), store.Options{Dir: f.dir, MasterKey: f.key, Clock: f.clock.Now})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	if run == nil {
		run = func(context.Context) error { f.runs.Add(1); return nil }
	}
	s := newScheduler(st, st.Now, slog.New(slog.NewTextHandler(io.Discard, nil)),
		&job{name: "nightly", sched: dailyAt(2, 0), lease: 10 * time.Minute, retry: time.Hour, run: run})
	require.NoError(t, s.register(context.Background()))
	return s, st
}

func (f *schedFixture) tick(t *testing.T, s *scheduler) {
	t.Helper()
	_, err := s.runDue(context.Background())
	require.NoError(t, err)
}

// TestSchedulerOneRunPerPeriod steps a fake clock through three days in
// 10-minute steps, running due jobs at every step: one run per day.
func TestSchedulerOneRunPerPeriod(t *testing.T) {
	f := newSchedFixture(t)
	s, st := f.process(t, nil)
	for range 3 * 24 * 6 {
		f.tick(t, s)
		f.clock.Add(10 * time.Minute)
	}
	assert.Equal(t, int32(3), f.runs.Load())
	j, err := st.Job(context.Background(), "nightly")
	require.NoError(t, err)
	assert.Equal(t, time.Date(2026, 3, 5, 2, 0, 0, 0, time.UTC), j.NextRunAt)
	assert.Equal(t, 2, j.LastRunAt.Hour(), "each run at 02:00")
}

// TestSchedulerCatchesUpOnceAfterOutage: kelas is down for five days; on
// start the missed run happens once, not five times, and the next one is
// at the next slot.
func TestSchedulerCatchesUpOnceAfterOutage(t *testing.T) {
	f := newSchedFixture(t)
	s, st := f.process(t, nil)
	f.clock.Add(18 * time.Hour) // 03:00 the next day
	f.tick(t, s)
	require.Equal(t, int32(1), f.runs.Load())
	require.NoError(t, st.Close())

	f.clock.Add(5 * 24 * time.Hour) // down for five days
	s, st = f.process(t, nil)       // restart
	f.tick(t, s)
	f.tick(t, s)
	assert.Equal(t, int32(2), f.runs.Load(), "one catch-up run")
	j, err := st.Job(context.Background(), "nightly")
	require.NoError(t, err)
	assert.Equal(t, time.Date(2026, 3, 8, 2, 0, 0, 0, time.UTC), j.NextRunAt)
}

// TestSchedulerRestartNeitherSkipsNorDoubles restarts the process right
// after a run and right before the next one.
func TestSchedulerRestartNeitherSkipsNorDoubles(t *testing.T) {
	f := newSchedFixture(t)
	s, st := f.process(t, nil)
	f.clock.Add(17*time.Hour + time.Minute) // 02:01
	f.tick(t, s)
	require.NoError(t, st.Close())

	s, st = f.process(t, nil) // restarted at once: already ran today
	f.tick(t, s)
	assert.Equal(t, int32(1), f.runs.Load(), "no double run after a restart")
	f.clock.Add(24*time.Hour - 2*time.Minute) // 01:59 the day after
	f.tick(t, s)
	require.NoError(t, st.Close())

	f.clock.Add(2 * time.Minute) // restarted at 02:01: due
	s, _ = f.process(t, nil)
	f.tick(t, s)
	assert.Equal(t, int32(2), f.runs.Load(), "no run skipped across a restart")
}

// TestSchedulerTwoProcessesNeverDoubleRun runs two schedulers on two stores
// over the same data directory, concurrently, through several periods.
func TestSchedulerTwoProcessesNeverDoubleRun(t *testing.T) {
	f := newSchedFixture(t)
	release := make(chan struct{})
	slow := func(context.Context) error {
		f.runs.Add(1)
		<-release // hold the lease while the other process tries
		return nil
	}
	a, _ := f.process(t, slow)
	b, _ := f.process(t, slow)
	for day := range 4 {
		f.clock.Add(24 * time.Hour)
		var wg sync.WaitGroup
		var ran, returned atomic.Int32
		runsBefore := f.runs.Load()
		for _, s := range []*scheduler{a, b, a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				names, err := s.runDue(context.Background())
				assert.NoError(t, err)
				ran.Add(int32(len(names)))
				returned.Add(1)
			}()
		}
		// Contention for certain: one attempt is inside the job holding
		// the lease, and the three others have already tried and returned.
		require.Eventually(t, func() bool { return f.runs.Load() == runsBefore+1 && returned.Load() == 3 },
			10*time.Second, time.Millisecond, "day %d: the other attempts did not meet the held lease", day)
		close(release)
		wg.Wait()
		release = make(chan struct{})
		assert.Equal(t, int32(1), ran.Load(), "day %d", day)
	}
	assert.Equal(t, int32(4), f.runs.Load())
}

// TestSchedulerCrashedLeaseExpires: a process takes the job and dies; the
// other process runs it once the lease has run out, not before.
func TestSchedulerCrashedLeaseExpires(t *testing.T) {
	f := newSchedFixture(t)
	s, st := f.process(t, nil)
	f.clock.Add(17 * time.Hour) // 02:00
	ok, err := st.ClaimJob(context.Background(), "nightly", "crashed-process", 10*time.Minute, false)
	require.NoError(t, err)
	require.True(t, ok)

	f.clock.Add(9 * time.Minute)
	f.tick(t, s)
	assert.Zero(t, f.runs.Load(), "the lease of the crashed process still runs")
	f.clock.Add(time.Minute)
	f.tick(t, s)
	assert.Equal(t, int32(1), f.runs.Load(), "the lease expired; the job ran")
}

func TestSchedulerFailureRetriesSoonerAndIsRecorded(t *testing.T) {
	f := newSchedFixture(t)
	fail := true
	s, st := f.process(t, func(context.Context) error {
		f.runs.Add(1)
		if fail {
			return errors.New("disk full")
		}
		return nil
	})
	f.clock.Add(17 * time.Hour) // 02:00
	f.tick(t, s)
	j, err := st.Job(context.Background(), "nightly")
	require.NoError(t, err)
	assert.Equal(t, "disk full", j.LastError)
	assert.Equal(t, f.clock.Now().Add(time.Hour), j.NextRunAt, "retried after an hour, not a day")

	fail = false
	f.clock.Add(time.Hour)
	f.tick(t, s)
	j, err = st.Job(context.Background(), "nightly")
	require.NoError(t, err)
	assert.Empty(t, j.LastError)
	assert.Equal(t, int32(2), f.runs.Load())
	assert.Equal(t, time.Date(2026, 3, 3, 2, 0, 0, 0, time.UTC), j.NextRunAt)

	// A panicking job is a failed run, not a dead process.
	s2, _ := f.process(t, func(context.Context) error { panic("boom") })
	f.clock.Add(24 * time.Hour)
	f.tick(t, s2)
	j, err = st.Job(context.Background(), "nightly")
	require.NoError(t, err)
	assert.Contains(t, j.LastError, "panic: boom")
}

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
