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
	// Mailing runs the recorded mass mailing m (with Tasks.MassMailing)
	// unless this process runs it already.
	Mailing(m store.MassMailing)
	// WakeOutbox delivers queued mail now rather than at the next minute.
	WakeOutbox()
	// Activity records activity events in batches, off the request path.
	Activity() *store.ActivityWriter
	// Backup takes a backup now (data and keys), prunes old ones and has
	// the copy off the server follow.
	Backup(ctx context.Context, origin, actor string) ([]store.Backup, error)
}

// Tasks is the background work whose body belongs to the HTTP side: mail
// written with its templates (reminders, the attention digest, mass
// mailings), and the erasure an officer can also carry out at once. The runner in package jobs schedules it; its fields match
// jobs.Work, so one converts to the other. A nil function leaves its job
// out.
type Tasks struct {
	Erasures        func(context.Context) error
	RightsReminders func(context.Context) error
	AttentionDigest func(context.Context) error
	MassMailing     func(context.Context, store.MassMailing) error
	FlushStats      func(context.Context) error
	StatsEvery      time.Duration
	StatsWake       <-chan struct{}
	FlushAccessLog  func(context.Context) error
}

// Tasks returns the app's background work for the runner.
func (a *App) Tasks() Tasks {
	t := Tasks{
		Erasures:        a.runErasures,
		RightsReminders: a.runRightsReminders,
		AttentionDigest: a.runAttentionDigest,
		MassMailing:     a.runMass,
		FlushStats:      a.FlushStats,
		StatsEvery:      a.stats.interval,
		StatsWake:       a.stats.wake,
		FlushAccessLog:  a.flushAccessLog,
	}
	return t
}
