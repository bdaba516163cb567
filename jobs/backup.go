package jobs

import (
	"context"
	"errors"

	"kelas/mail"
	"kelas/store"
	"kelas/store/offsite"
	"kelas/views"
)

// Backup takes a backup now (data and keys) and prunes old ones.
func (r *Runner) Backup(ctx context.Context, origin, actor string) ([]store.Backup, error) {
	bs, err := r.store.Backup(ctx, store.BackupOptions{Origin: origin, Actor: actor, Recipients: r.cfg.BackupRecipients})
	for _, b := range bs {
		r.log.Info("backup written", "backup_id", b.ID, "kind", b.Kind, "file", b.File, "bytes", b.Size)
	}
	if err != nil {
		r.log.Error("backup failed", "origin", origin, "err", err)
		return bs, err
	}
	// The copy off the server follows at once: inside the scheduled job,
	// or, for a backup asked for on the console, by waking the off-site
	// job so nobody waits on a slow or unreachable target. Its failure
	// does not fail the backup: the local files stay, the state shows on
	// the console and in `kelas doctor`, and the hourly job tries again.
	if origin != store.OriginSchedule {
		select {
		case r.offsiteWake <- struct{}{}:
		default:
		}
		return bs, nil
	}
	if oerr := r.runOffsite(ctx); oerr != nil {
		r.log.Error("off-site copy failed", "err", oerr)
	}
	return bs, nil
}

// offsiteURL is the off-site target in force: the one set on the console,
// else KELAS_BACKUP_TARGET. Empty means backups stay on this server.
func (r *Runner) offsiteURL(ctx context.Context) (string, error) {
	u, set, err := r.store.OffsiteTarget(ctx)
	if err != nil {
		return "", err
	}
	if set {
		return u, nil
	}
	return r.cfg.BackupTarget, nil
}

// openOffsite opens the target in force; nil without one.
func (r *Runner) openOffsite(ctx context.Context) (offsite.Target, error) {
	u, err := r.offsiteURL(ctx)
	if err != nil || u == "" {
		return nil, err
	}
	return offsite.Open(u, r.cfg.BackupCredentials)
}

// runOffsite uploads and verifies every backup file not yet at the target
// (new ones and earlier failures) and applies the retention rules there.
// Errors name the file and the cause, never a credential.
func (r *Runner) runOffsite(ctx context.Context) error {
	t, err := r.openOffsite(ctx)
	if err != nil || t == nil {
		return err
	}
	defer t.Close()
	up, uerr := r.store.UploadOffsite(ctx, t, r.cfg.OffsiteRetry)
	for _, f := range up {
		if f.State == store.OffsiteVerified {
			r.log.Info("backup copied off-site", "file", f.File, "target", t.String())
		}
	}
	removed, perr := r.store.PruneOffsite(ctx, t)
	for _, n := range removed {
		r.log.Info("off-site backup removed by retention", "file", n, "target", t.String())
	}
	return errors.Join(uerr, perr)
}

// runDrill is the weekly restore drill. Its failure is mailed to every
// operator; without a target there is nothing to drill.
func (r *Runner) runDrill(ctx context.Context) error {
	t, err := r.openOffsite(ctx)
	if err != nil || t == nil {
		return err
	}
	defer t.Close()
	d, err := r.store.RestoreDrill(ctx, t)
	if err == nil {
		r.log.Info("restore drill passed", "drill_id", d.ID, "file", d.File, "people", d.People, "live_people", d.LivePeople)
		return nil
	}
	r.log.Error("restore drill failed", "drill_id", d.ID, "err", err)
	ops, oerr := r.store.Operators(ctx)
	if oerr != nil {
		return errors.Join(err, oerr)
	}
	for _, op := range ops {
		// Each operator reads it in their own language.
		mctx, p := r.mails.In(ctx, op.Language)
		text := mail.Text(mctx, views.MailBody{Greeting: p.T("mail.drill_failed.greeting"), Paragraphs: []string{
			p.T("mail.drill_failed.body", "target", t.String()), p.T("mail.drill_failed.reason", "reason", d.Error),
			p.T("mail.drill_failed.advice")}})
		if qerr := r.queueMail(ctx, store.NewMail{UserID: op.ID, To: op.Email, Kind: "restore_drill_failed",
			Subject: p.T("mail.drill_failed.subject"), Text: text}); qerr != nil {
			err = errors.Join(err, qerr)
		}
	}
	return err
}

// runRetention is the daily retention job.
func (r *Runner) runRetention(ctx context.Context) error {
	results, err := r.store.Purge(ctx, store.PurgeOptions{Actor: store.ActorScheduler})
	for _, p := range results {
		if p.Rows > 0 || p.Keys > 0 || p.Held {
			r.log.Info("retention purge", "category", p.Category, "rows", p.Rows, "keys", p.Keys, "held", p.Held)
		}
	}
	return err
}
