package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"kelas/store"
)

// schedule says when a job is due: every period, at offset past the period's
// UTC boundary (daily at 02:00 is {24h, 2h}). Periods align to UTC midnight,
// whatever the server's time zone.
type schedule struct {
	every  time.Duration
	offset time.Duration
}

func everyMinute() schedule { return schedule{every: time.Minute} }
func hourlyAt(m int) schedule {
	return schedule{every: time.Hour, offset: time.Duration(m) * time.Minute}
}
func dailyAt(h, m int) schedule {
	return schedule{every: 24 * time.Hour, offset: time.Duration(h)*time.Hour + time.Duration(m)*time.Minute}
}
func weeklyAt(h, m int) schedule {
	// Weeks count from the zero time, a Monday: this is Monday at h:m UTC.
	return schedule{every: 7 * 24 * time.Hour, offset: time.Duration(h)*time.Hour + time.Duration(m)*time.Minute}
}
func (s schedule) String() string { return fmt.Sprintf("every %s at +%s UTC", s.every, s.offset) }

// next is the first due time strictly after t. time.Truncate counts from the
// zero time, a UTC midnight, so days, hours and minutes align in UTC.
func (s schedule) next(t time.Time) time.Time {
	t = t.UTC()
	n := t.Add(-s.offset).Truncate(s.every).Add(s.offset)
	for !n.After(t) {
		n = n.Add(s.every)
	}
	return n
}

// job is one periodic task of the scheduler.
type job struct {
	name  string
	sched schedule
	// lease is how long a run may go without renewing its claim; a process
	// that dies mid-run blocks the job at most this long.
	lease time.Duration
	// retry is how soon a failed run is tried again (never later than the
	// schedule would); 0 waits for the schedule.
	retry time.Duration
	run   func(ctx context.Context) error
	// wake, if set, runs the job at once when signalled (new mail).
	wake <-chan struct{}
}

// scheduler runs every periodic job of kelas from the state in the jobs
// table, so that a restart neither skips nor repeats a run, a run missed
// while kelas was down happens once on start, and of several processes on
// the same data only the one holding a job's lease runs it.
type scheduler struct {
	store *store.Store
	clock func() time.Time
	log   *slog.Logger
	owner string // this process, in the jobs' leases
	jobs  []*job
	// busy marks jobs running in this process, so the wake-up and the timer
	// of one job never overlap here (the lease covers other processes).
	mu   sync.Mutex
	busy map[string]bool
}

func newScheduler(st *store.Store, clock func() time.Time, log *slog.Logger, jobs ...*job) *scheduler {
	return &scheduler{store: st, clock: clock, log: log, owner: store.NewID(), jobs: jobs, busy: map[string]bool{}}
}

// register records jobs seen for the first time, due at their next slot.
func (s *scheduler) register(ctx context.Context) error {
	now := s.clock()
	for _, j := range s.jobs {
		if err := s.store.EnsureJob(ctx, j.name, j.sched.next(now)); err != nil {
			return err
		}
	}
	return nil
}

// runJob runs j once if this process can claim it: when it is due, or at
// once with force. It reports whether it ran.
func (s *scheduler) runJob(ctx context.Context, j *job, force bool) (bool, error) {
	s.mu.Lock()
	if s.busy[j.name] {
		s.mu.Unlock()
		return false, nil
	}
	s.busy[j.name] = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.busy, j.name)
		s.mu.Unlock()
	}()

	claimed, err := s.store.ClaimJob(ctx, j.name, s.owner, j.lease, force)
	if err != nil || !claimed {
		return false, err
	}
	started := s.clock()
	runCtx, cancel := context.WithCancel(ctx)
	stopBeat := s.heartbeat(runCtx, j, cancel)
	runErr := safeRun(runCtx, j.run)
	stopBeat()
	cancel()

	finished := s.clock()
	next := j.sched.next(finished) // from now: missed periods run once, not each
	if runErr != nil && j.retry > 0 && finished.Add(j.retry).Before(next) {
		next = finished.Add(j.retry)
	}
	// The outcome is recorded even when ctx ended meanwhile.
	err = s.store.FinishJob(context.WithoutCancel(ctx), j.name, s.owner, started, next, runErr)
	if errors.Is(err, store.ErrNotFound) {
		s.log.Warn("job lease lost while running", "job", j.name)
		err = nil
	}
	if runErr != nil && ctx.Err() == nil {
		s.log.Error("job failed", "job", j.name, "err", runErr, "next_run_at", next)
	} else if runErr == nil {
		s.log.Debug("job done", "job", j.name, "ms", finished.Sub(started).Milliseconds())
	}
	return true, err
}

// heartbeat renews j's lease while it runs; if the lease is lost (another
// process took it after a stall) the run is cancelled.
func (s *scheduler) heartbeat(ctx context.Context, j *job, cancel func()) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(max(j.lease/3, time.Second))
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				if err := s.store.RenewJobLease(ctx, j.name, s.owner, j.lease); errors.Is(err, store.ErrNotFound) {
					s.log.Warn("job lease lost; stopping the run", "job", j.name)
					cancel()
					return
				}
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// safeRun turns a panicking job into an error instead of a dead process.
func safeRun(ctx context.Context, run func(context.Context) error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("panic: %v\n%s", v, debug.Stack())
		}
	}()
	return run(ctx)
}

// runDue runs every due job once, one after the other, and returns the
// names of those that ran. Tests drive the scheduler with it.
func (s *scheduler) runDue(ctx context.Context) ([]string, error) {
	var ran []string
	var errs []error
	for _, j := range s.jobs {
		ok, err := s.runJob(ctx, j, false)
		if err != nil {
			errs = append(errs, fmt.Errorf("job %s: %w", j.name, err))
		}
		if ok {
			ran = append(ran, j.name)
		}
	}
	return ran, errors.Join(errs...)
}

// maxJobWait bounds the sleep between checks, so a job moved by another
// process (or the console) is noticed soon.
const maxJobWait = time.Minute

// run drives every job until ctx ends: one goroutine per job sleeps until the
// job is due (or woken), runs it if it can claim it, and sleeps again.
func (s *scheduler) run(ctx context.Context) {
	if err := s.register(ctx); err != nil {
		s.log.Error("scheduler: register jobs", "err", err)
	}
	var wg sync.WaitGroup
	for _, j := range s.jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.loop(ctx, j)
		}()
	}
	wg.Wait()
}

func (s *scheduler) loop(ctx context.Context, j *job) {
	force := false
	for {
		if _, err := s.runJob(ctx, j, force); err != nil && ctx.Err() == nil {
			s.log.Error("scheduler", "job", j.name, "err", err)
		}
		if ctx.Err() != nil {
			return
		}
		wait := maxJobWait
		if st, err := s.store.Job(ctx, j.name); err == nil {
			due := st.NextRunAt
			if st.Running(s.clock()) && st.LeaseUntil.After(due) {
				due = st.LeaseUntil
			}
			wait = min(max(due.Sub(s.clock()), 50*time.Millisecond), maxJobWait)
		}
		t := time.NewTimer(wait)
		force = false
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		case <-j.wake:
			t.Stop()
			force = true
		}
	}
}
