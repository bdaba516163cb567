package app

import (
	"context"
	"time"

	"kelas/store"
)

// Background takes the work a request starts but does not wait for. The
// HTTP package starts no goroutines of its own: package jobs implements
// this, and its Run owns every goroutine.
type Background interface {
	// Go runs work on a goroutine of the runner.
	Go(work func())
	// AfterAnswer queues address-dependent account work to run once the
	// answer has gone (registration, password reset); it waits while the
	// queue is full, or until ctx ends.
	AfterAnswer(ctx context.Context, work func(context.Context))
	// StartExport queues an export of userID's data and builds it in the
	// background, a few at a time; it returns the export id at once, or
	// the id of the export of the person still being built.
	StartExport(ctx context.Context, userID string) (string, error)
	// Mailing runs the recorded mass mailing m unless this process runs
	// it already.
	Mailing(m store.MassMailing)
	// WakeOutbox delivers queued mail now rather than at the next minute.
	WakeOutbox()
	// Activity records activity events in batches, off the request path.
	Activity() *store.ActivityWriter
	// Backup takes a backup now (data and keys), prunes old ones and has
	// the copy off the server follow.
	Backup(ctx context.Context, origin, actor string) ([]store.Backup, error)
	// EraseNow carries out the erasure request c on behalf of actor, as the
	// hourly job does, one erasure at a time; a legal hold on the person
	// stops it with a *store.HeldError, a case closed meanwhile with
	// store.ErrCaseClosed.
	EraseNow(ctx context.Context, c store.Case, actor string) error
	// HoldErasures waits until no erasure runs and keeps any from starting
	// until unlock is called.
	HoldErasures() (unlock func())
}

// Tasks is what the HTTP side hands the runner in package jobs: the
// address links in mail point to, and the writers behind its in-memory
// buffers. Its fields match jobs.Work, so one converts to the other. A nil
// function leaves its job out.
type Tasks struct {
	PublicURL      func() string
	FlushStats     func(context.Context) error
	StatsEvery     time.Duration
	StatsWake      <-chan struct{}
	FlushAccessLog func(context.Context) error
}

// Tasks returns the app's background work for the runner.
func (a *App) Tasks() Tasks {
	t := Tasks{
		PublicURL:      a.publicURL,
		FlushStats:     a.FlushStats,
		StatsEvery:     a.stats.interval,
		StatsWake:      a.stats.wake,
		FlushAccessLog: a.flushAccessLog,
	}
	return t
}
