package app

import (
	"context"
	"sync"
	"time"
)

// accountJobs runs the part of /register and /password/forgot whose work
// depends on whether the address has an account (hashing and storing a new
// account, or mailing the owner of an existing one; looking the account up
// and mailing a reset link, or nothing). The answer is sent before it runs,
// so how long the answer takes tells nothing about the address.
type accountJobs struct {
	queue   chan func(context.Context)
	pending sync.WaitGroup
	stop    chan struct{}
	once    sync.Once
}

func newAccountJobs(workers int) *accountJobs {
	j := &accountJobs{queue: make(chan func(context.Context), 256), stop: make(chan struct{})}
	for range workers {
		go j.run()
	}
	return j
}

func (j *accountJobs) run() {
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
// address, so a flood slows its senders rather than growing memory.
func (j *accountJobs) add(ctx context.Context, job func(context.Context)) {
	j.pending.Add(1)
	select {
	case j.queue <- job:
	case <-ctx.Done():
		j.pending.Done()
	}
}

// wait returns once every queued job has run, or ctx ends.
func (j *accountJobs) wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		j.pending.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// close waits for queued jobs, then stops the workers; safe to call twice.
func (j *accountJobs) close(ctx context.Context) error {
	err := j.wait(ctx)
	j.once.Do(func() { close(j.stop) })
	return err
}
