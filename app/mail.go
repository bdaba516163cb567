package app

import (
	"context"

	"kelas/store"
)

// queueMail puts m in the outbox and wakes the delivery loop. Without a
// mailer the mail waits (the console shows it); the log line names only the
// outbox id and the kind, never the address, subject or body.
func (a *App) queueMail(ctx context.Context, m store.NewMail) error {
	id, err := a.store.EnqueueMail(ctx, m)
	if err != nil {
		return err
	}
	if !a.mailOn {
		a.log.Info("mail waiting in outbox", "mail_id", id, "kind", m.Kind)
		return nil
	}
	a.bg.WakeOutbox()
	return nil
}
