package jobs

import (
	"context"
	"errors"
	"sync"
	"time"

	"kelas/store"
)

// accountQueue runs the part of /register and /password/forgot whose work
// depends on whether the address has an account (hashing and storing a new
// account, or mailing the owner of an existing one; looking the account up
// and mailing a reset link, or nothing). The answer is sent before it runs,
// so how long the answer takes tells nothing about the address.
type accountQueue struct {
	queue   chan func(context.Context)
	pending sync.WaitGroup
	workers sync.WaitGroup
	stop    chan struct{}
	start   sync.Once
	once    sync.Once
	n       int
}

func newAccountQueue(workers int) *accountQueue {
	return &accountQueue{queue: make(chan func(context.Context), 256), stop: make(chan struct{}), n: workers}
}

func (j *accountQueue) run() {
	defer j.workers.Done()
	for {
		select {
		case job := <-j.queue:
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			job(ctx)
			cancel()
			j.pending.Done()
		case <-j.stop:
			return
		}
	}
}

// add queues job; when the queue is full it waits, the same for every
// address, so a flood slows its senders rather than growing memory. The
// workers start with the first job.
func (j *accountQueue) add(ctx context.Context, job func(context.Context)) {
	j.start.Do(func() {
		j.workers.Add(j.n)
		for range j.n {
			go j.run()
		}
	})
	j.pending.Add(1)
	select {
	case j.queue <- job:
	case <-ctx.Done():
		j.pending.Done()
	}
}

// wait returns once every queued job has run, or ctx ends.
func (j *accountQueue) wait(ctx context.Context) error {
	return waitGroup(ctx, &j.pending)
}

// close waits for queued jobs, then stops the workers; safe to call twice.
func (j *accountQueue) close(ctx context.Context) error {
	err := j.wait(ctx)
	j.once.Do(func() { close(j.stop) })
	if err == nil {
		err = waitGroup(ctx, &j.workers)
	}
	return err
}

// exportBuilds is how many exports are built at once: a build reads and
// compresses a whole person's data, so a burst of requests queues instead
// of competing for the CPU with the requests being served.
const exportBuilds = 2

// limited runs work in the background, a few at a time.
type limited struct {
	slots chan struct{}
	wg    sync.WaitGroup
}

func newLimited(n int) *limited {
	return &limited{slots: make(chan struct{}, n)}
}

func (x *limited) run(work func()) {
	x.wg.Add(1)
	go func() {
		defer x.wg.Done()
		x.slots <- struct{}{}
		defer func() { <-x.slots }()
		work()
	}()
}

// wait returns when all work started so far has finished, or ctx ends.
func (x *limited) wait(ctx context.Context) error { return waitGroup(ctx, &x.wg) }

// massRunner runs mass mailings in the background of this process: the
// request that starts one records it and returns; the mailing job resumes
// any still running after a restart.
type massRunner struct {
	ctx     context.Context // ends when the runner closes: a run stops between batches
	stop    context.CancelFunc
	wg      sync.WaitGroup
	mu      sync.Mutex
	running map[string]bool
}

func newMassRunner() *massRunner {
	ctx, stop := context.WithCancel(context.Background())
	return &massRunner{ctx: ctx, stop: stop, running: map[string]bool{}}
}

// kick runs m with run unless this process runs it already.
func (r *massRunner) kick(m store.MassMailing, run func(context.Context, store.MassMailing) error, fail func(error)) {
	r.mu.Lock()
	if r.running[m.ID] || r.ctx.Err() != nil {
		r.mu.Unlock()
		return
	}
	r.running[m.ID] = true
	r.wg.Add(1)
	r.mu.Unlock()
	go func() {
		defer r.wg.Done()
		defer func() {
			r.mu.Lock()
			delete(r.running, m.ID)
			r.mu.Unlock()
		}()
		if err := run(r.ctx, m); err != nil && !errors.Is(err, context.Canceled) {
			fail(err)
		}
	}()
}

// close stops the runs between batches and waits for them.
func (r *massRunner) close() {
	r.stop()
	r.wg.Wait()
}

// wait waits for the runs in progress.
func (r *massRunner) wait() { r.wg.Wait() }

// waitGroup waits for wg, or until ctx ends.
func waitGroup(ctx context.Context, wg *sync.WaitGroup) error {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
