// Package jobs is kelas's background work: the scheduler and its periodic
// jobs (outbox delivery over SMTP, erasures, reminders and the privacy
// officer's digest among them), mass mailings, the pools that finish what
// a request started after it has been answered, and the writers behind the
// in-memory buffers. It depends on store, views and mail, never on the
// HTTP package, which calls it through its Background interface and hands
// it its buffers' writers as plain functions. Runner.Run owns every
// goroutine and returns when all have stopped.
package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"filippo.io/age"

	"kelas/mail"
	"kelas/store"
	"kelas/store/offsite"
)

// Config is what the jobs take from the command line.
type Config struct {
	// BackupRecipients are extra age recipients of every backup
	// (KELAS_BACKUP_RECIPIENT), e.g. an offline recovery key.
	BackupRecipients []age.Recipient
	// BackupTarget is the off-site target URL (KELAS_BACKUP_TARGET); a
	// target set on /console/backups takes its place. BackupCredentials
	// are its secrets.
	BackupTarget      string
	BackupCredentials offsite.Credentials
	// OffsiteRetry tunes upload retries; zero values mean the defaults.
	OffsiteRetry store.OffsiteOptions
	// SMTPURL (KELAS_SMTP_URL) and MailFrom (KELAS_MAIL_FROM) configure
	// outbox delivery; without a URL mail waits in the outbox.
	SMTPURL  string
	MailFrom string
	// Mailer delivers outbox mail in place of one built from SMTPURL.
	Mailer Mailer
}

// Work is what the HTTP side hands the runner. A nil function leaves its
// job out.
type Work struct {
	// PublicURL is the address links in mail point to, known for certain
	// once the HTTP side listens.
	PublicURL func() string
	// FlushStats writes the counted page views, every StatsEvery and when
	// StatsWake signals; FlushAccessLog the waiting access-log lines.
	FlushStats     func(context.Context) error
	StatsEvery     time.Duration
	StatsWake      <-chan struct{}
	FlushAccessLog func(context.Context) error
}

// accessLogInterval is how often waiting access-log lines are written.
const accessLogInterval = time.Second

// Runner runs kelas's background work.
type Runner struct {
	cfg   Config
	store *store.Store
	clock func() time.Time
	log   *slog.Logger
	work  Work
	// activity takes activity events off the request path (Activity).
	activity *store.ActivityWriter
	// mailer delivers the outbox; nil when no SMTP relay is configured.
	mailer Mailer

	mailWake chan struct{}
	// offsiteWake runs the off-site job at once (a backup taken on the
	// console is copied without making the operator wait for it).
	offsiteWake chan struct{}

	accounts *accountQueue
	exports  *limited
	mass     *massRunner
	gos      sync.WaitGroup

	// mails writes the mail of the jobs (rights.go, massmail.go).
	mails *mail.Composer
	// erasing lets one erasure run at a time, so the hourly job and an
	// officer's "carry out now" never both act on one case, and a case is
	// not cancelled or refused while it is erased (HoldErasures).
	erasing sync.Mutex
}

// New builds the runner; it does no I/O and starts nothing. Its error is
// a KELAS_SMTP_URL or KELAS_MAIL_FROM that cannot be used.
func New(cfg Config, st *store.Store, log *slog.Logger) (*Runner, error) {
	r := &Runner{cfg: cfg, store: st, clock: st.Now, log: log, mailer: cfg.Mailer,
		mailWake: make(chan struct{}, 1), offsiteWake: make(chan struct{}, 1),
		accounts: newAccountQueue(2), exports: newLimited(exportBuilds), mass: newMassRunner()}
	r.activity = st.NewActivityWriter(1<<16, func(err error) { log.Error("activity writer", "err", err) })
	if r.mailer == nil && cfg.SMTPURL != "" {
		m, err := NewSMTPMailer(cfg.SMTPURL, cfg.MailFrom)
		if err != nil {
			return nil, err
		}
		r.mailer = m
	}
	r.mails = &mail.Composer{Store: st, Log: log, Queue: r.queueMail, PublicURL: func() string {
		if r.work.PublicURL == nil {
			return ""
		}
		return r.work.PublicURL()
	}}
	return r, nil
}

// SetWork hands the runner the work the HTTP side defines; call it before
// Run.
func (r *Runner) SetWork(w Work) { r.work = w }

// Prepare does what must happen before kelas serves: export builds cut
// off by a restart are marked failed, so their pages stop waiting, and
// every interrupted erasure is finished and anyone a restore brought back
// erased again. Its error means kelas must not serve: serving could show
// an erased person.
func (r *Runner) Prepare(ctx context.Context) error {
	if _, err := r.store.InterruptExports(ctx); err != nil {
		return err
	}
	n, err := r.store.ApplyTombstones(ctx, store.ActorScheduler)
	if err != nil {
		return fmt.Errorf("refusing to serve: erased people could not all be erased again, and serving could show them: %w", err)
	}
	if n > 0 {
		r.log.Warn("erased people found again and erased", "count", n)
	}
	return nil
}

// Run runs the scheduler and the buffer writers until ctx ends, then
// writes the buffers a last time, waits for the work handed over by
// requests and returns once every goroutine has stopped. Cancel ctx after
// the last request has been served.
func (r *Runner) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Go(func() { newScheduler(r.store, r.clock, r.log, r.jobs()...).run(ctx) })
	if r.work.FlushStats != nil {
		wg.Go(func() {
			r.writeBehind(ctx, "statistics flush failed", max(r.work.StatsEvery, time.Second), r.work.StatsWake, r.work.FlushStats)
		})
	}
	if r.work.FlushAccessLog != nil {
		wg.Go(func() { r.writeBehind(ctx, "access log", accessLogInterval, nil, r.work.FlushAccessLog) })
	}
	wg.Wait()
	cctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return r.Close(cctx)
}

// Serve runs serve, the HTTP side, in this goroutine and, once it
// listens, Run beside it. Run's context ends after serve has returned,
// after the last request has been answered, so no mail, statistic or log
// line of a request is lost; Serve returns once every goroutine of both
// has stopped.
func (r *Runner) Serve(ctx context.Context, serve func(ctx context.Context, ready func(addr string)) error, ready func(addr string)) error {
	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	defer stop()
	done := make(chan error, 1)
	running := false
	err := serve(ctx, func(addr string) {
		running = true
		go func() { done <- r.Run(runCtx) }()
		if ready != nil {
			ready(addr)
		}
	})
	stop()
	if running {
		return errors.Join(err, <-done)
	}
	cctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return errors.Join(err, r.Close(cctx))
}

// Close stops the mass mailings between batches (a mailing cut short
// resumes at the next start) and waits for the rest of the work handed
// over by requests. Run calls it; it is safe to call more than once.
func (r *Runner) Close(ctx context.Context) error {
	r.mass.close()
	err := errors.Join(r.accounts.close(ctx), r.exports.wait(ctx), waitGroup(ctx, &r.gos))
	// Last, once nothing can record any more: the queued activity.
	return errors.Join(err, r.activity.Close(ctx))
}

// Activity is the writer that takes activity events off the request path
// (store.ActivityWriter); Close commits what it holds.
func (r *Runner) Activity() *store.ActivityWriter { return r.activity }

// writeBehind calls flush every interval and when woken until ctx ends,
// then once more, so nothing buffered before shutdown is lost.
func (r *Runner) writeBehind(ctx context.Context, what string, every time.Duration, wake <-chan struct{}, flush func(context.Context) error) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := flush(fctx); err != nil {
				r.log.Error(what, "err", err)
			}
			return
		case <-t.C:
		case <-wake:
		}
		if err := flush(ctx); err != nil && ctx.Err() == nil {
			r.log.Error(what, "err", err)
		}
	}
}

// jobs are kelas's periodic tasks.
func (r *Runner) jobs() []*job {
	js := []*job{
		{name: "sessions", sched: hourlyAt(5), lease: 10 * time.Minute, run: func(ctx context.Context) error {
			_, err := r.store.DeleteExpiredSessions(ctx)
			return err
		}},
		{name: "account_tokens", sched: hourlyAt(10), lease: 10 * time.Minute, run: func(ctx context.Context) error {
			_, err := r.store.DeleteExpiredAccountTokens(ctx)
			return err
		}},
		{name: "retention", sched: dailyAt(3, 0), lease: 15 * time.Minute, retry: time.Hour, run: r.runRetention},
		{name: "erasures", sched: hourlyAt(15), lease: 15 * time.Minute, run: r.runErasures},
		{name: "rights_reminders", sched: dailyAt(6, 0), lease: 10 * time.Minute, retry: time.Hour, run: r.runRightsReminders},
		{name: "mass_mail", sched: everyMinute(), lease: 30 * time.Minute, run: r.runMassMailings},
		{name: "attention_digest", sched: dailyAt(6, 30), lease: 10 * time.Minute, retry: time.Hour, run: r.runAttentionDigest},
		{name: "backup", sched: dailyAt(2, 0), lease: 15 * time.Minute, retry: time.Hour, run: func(ctx context.Context) error {
			_, err := r.Backup(ctx, store.OriginSchedule, store.ActorScheduler)
			return err
		}},
		// Keys backups must go when their window ends, not up to a day later.
		{name: "backup_prune", sched: hourlyAt(30), lease: 10 * time.Minute, run: func(ctx context.Context) error {
			_, err := r.store.PruneBackups(ctx)
			return err
		}},
		// Off-site: uploads that failed are retried and remote copies pruned
		// by the same rules, hourly like the local keys backups.
		{name: "offsite", sched: hourlyAt(40), lease: time.Hour, run: r.runOffsite, wake: r.offsiteWake},
		{name: "restore_drill", sched: weeklyAt(4, 0), lease: time.Hour, retry: 6 * time.Hour, run: r.runDrill},
	}
	if r.mailer != nil {
		js = append(js, &job{name: "outbox", sched: everyMinute(), lease: 5 * time.Minute, run: r.drainOutbox, wake: r.mailWake})
	}
	return js
}

// RunNow runs the named job once in this goroutine, without the
// scheduler's lease; tests use it to run a job at a moment they choose.
func (r *Runner) RunNow(ctx context.Context, name string) error {
	for _, j := range r.jobs() {
		if j.name == name {
			return j.run(ctx)
		}
	}
	return fmt.Errorf("jobs: no job %q", name)
}

// Go runs work on a goroutine of the runner.
func (r *Runner) Go(work func()) {
	r.gos.Go(work)
}

// AfterAnswer queues address-dependent account work to run once the
// answer has gone; when the queue is full it waits, the same for every
// address, so a flood slows its senders rather than growing memory.
func (r *Runner) AfterAnswer(ctx context.Context, work func(context.Context)) {
	r.accounts.add(ctx, work)
}

// WaitAccounts returns once every queued account job has run, or ctx ends.
func (r *Runner) WaitAccounts(ctx context.Context) error { return r.accounts.wait(ctx) }

// WaitExports returns when every build started so far has finished, or
// ctx ends.
func (r *Runner) WaitExports(ctx context.Context) error { return r.exports.wait(ctx) }

// Mailing runs the mass mailing m in the background unless this process
// runs it already.
func (r *Runner) Mailing(m store.MassMailing) {
	r.mass.kick(m, r.runMass, func(err error) {
		r.log.Error("mass mailing", "mailing_id", m.ID, "kind", m.Kind, "err", err)
	})
}

// WaitMailings waits for the mass mailings in progress.
func (r *Runner) WaitMailings() { r.mass.wait() }

// runMassMailings is the scheduler's job: every mailing still running
// (after a restart, say) is resumed; the claims make resuming safe.
func (r *Runner) runMassMailings(ctx context.Context) error {
	ms, err := r.store.RunningMassMailings(ctx)
	if err != nil {
		return err
	}
	for _, m := range ms {
		r.Mailing(m)
	}
	r.mass.wait()
	return nil
}

// WakeOutbox runs the outbox job at once, for mail just queued.
func (r *Runner) WakeOutbox() {
	select {
	case r.mailWake <- struct{}{}:
	default: // a wake-up is already pending
	}
}

// queueMail puts m in the outbox and wakes the delivery. Without a mailer
// the mail waits (the console shows it); the log line names only the
// outbox id and the kind.
func (r *Runner) queueMail(ctx context.Context, m store.NewMail) error {
	id, err := r.store.EnqueueMail(ctx, m)
	if err != nil {
		return err
	}
	if r.mailer == nil {
		r.log.Info("mail waiting in outbox", "mail_id", id, "kind", m.Kind)
		return nil
	}
	r.WakeOutbox()
	return nil
}

// TakeWake reports whether a wake-up waits for the job name ("outbox" or
// "offsite") and takes it, so a test can see that work was handed on.
func (r *Runner) TakeWake(name string) bool {
	c := map[string]chan struct{}{"outbox": r.mailWake, "offsite": r.offsiteWake}[name]
	select {
	case <-c:
		return true
	default:
		return false
	}
}
