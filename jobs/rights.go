package jobs

import (
	"context"
	"errors"

	"kelas/mail"
	"kelas/store"
)

// runErasures carries out the erasure requests whose grace period ended:
// a final confirmation goes to the address first (under the system key, as
// the person's own key is about to be destroyed), then every row goes,
// the key is destroyed and the tombstone written.
func (r *Runner) runErasures(ctx context.Context) error {
	due, err := r.store.ErasuresDue(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, c := range due {
		err := r.EraseNow(ctx, c, store.ActorScheduler)
		var held *store.HeldError
		if errors.As(err, &held) || errors.Is(err, store.ErrCaseClosed) {
			continue // waits for the hold; or closed meanwhile by the person or an officer
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// HoldErasures waits until no erasure runs and keeps others from starting
// until unlock is called: a case the person cancels or an officer refuses
// must not read so for an erased account.
func (r *Runner) HoldErasures() (unlock func()) {
	r.erasing.Lock()
	return r.erasing.Unlock
}

// EraseNow carries out one erasure request on behalf of actor (the
// scheduler, or the privacy officer carrying it out now). A legal hold on
// the person (an investigation, a legal claim), checked here at the moment
// of execution, stops it with a *store.HeldError; the scheduler tells the
// person once. Only this completes an erasure case, and the store
// completes it only once the account is gone.
func (r *Runner) EraseNow(ctx context.Context, c store.Case, actor string) error {
	// The scheduler and an officer may reach the same case at once.
	r.erasing.Lock()
	defer r.erasing.Unlock()
	c, err := r.store.Case(ctx, c.ID)
	if err != nil {
		return err
	}
	if !c.Open() {
		return store.ErrCaseClosed
	}
	held, err := r.store.HeldPeople(ctx)
	if err != nil {
		return err
	}
	if holds := held[c.UserID]; len(holds) > 0 {
		if actor == store.ActorScheduler && c.Status == store.CaseOpen {
			const note = "Your data is under a legal hold; the erasure is carried out once the hold ends."
			c, err := r.store.UpdateCase(ctx, c.ID, store.ActorScheduler, store.CaseInProgress, note)
			if err != nil {
				return err
			}
			r.mails.CaseUpdate(ctx, c, note)
		}
		return &store.HeldError{Holds: holds}
	}
	u, err := r.store.User(ctx, c.UserID)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return err
	default:
		if _, err := r.store.UpdateCase(ctx, c.ID, actor, store.CaseInProgress, "Erasure started."); err != nil {
			return err
		}
		if err := r.queueMail(ctx, r.mails.ErasureDone(ctx, u)); err != nil {
			return err
		}
		if err := r.store.EraseUser(ctx, actor, c.UserID); err != nil {
			return err
		}
		// The export files are unreadable without the key; remove them now
		// rather than at the next retention run.
		if err := r.store.DeleteExports(ctx, c.UserID); err != nil {
			return err
		}
	}
	if _, err := r.store.CompleteErasure(ctx, c.ID, actor); err != nil {
		return err
	}
	r.audit(ctx, actor, "rights.erasure.done", "case", c.ID, nil)
	r.log.Info("erasure carried out", "case_id", c.ID)
	return nil
}

// audit appends an entry to the audit log. The action it records has
// already happened, so a failure is logged (loudly) rather than undone;
// details hold ids and codes only.
func (r *Runner) audit(ctx context.Context, actor, action, targetType, targetID string, details map[string]any) {
	err := r.store.Audit(ctx, store.AuditEntry{ActorID: actor, Action: action, TargetType: targetType, TargetID: targetID, Details: details})
	if err != nil {
		r.log.Error("audit log write failed", "action", action, "err", err)
	}
}

// runRightsReminders mails the privacy officers about requests due soon or
// overdue, once per request (again after an extension).
func (r *Runner) runRightsReminders(ctx context.Context) error {
	cs, err := r.store.CasesNeedingReminder(ctx, store.ReminderWindow)
	if err != nil || len(cs) == 0 {
		return err
	}
	dpos, err := r.store.DPOs(ctx)
	if err != nil {
		return err
	}
	for _, c := range cs {
		for _, d := range dpos {
			if err := r.mails.RightsReminder(ctx, c, d); err != nil {
				return err
			}
		}
		if err := r.store.MarkReminded(ctx, c.ID); err != nil {
			return err
		}
	}
	return nil
}

// runAttentionDigest mails each privacy officer, once a day, every request
// overdue or due within five days and every breach whose 72-hour clock
// still runs. Nothing to report, no mail.
func (r *Runner) runAttentionDigest(ctx context.Context) error {
	v, err := mail.PrivacyAttention(ctx, r.store, r.clock())
	if err != nil || (len(v.Cases) == 0 && len(v.Breaches) == 0) {
		return err
	}
	dpos, err := r.store.DPOs(ctx)
	if err != nil {
		return err
	}
	for _, d := range dpos {
		if err := r.mails.AttentionDigest(ctx, v, d); err != nil {
			return err
		}
	}
	r.log.Info("attention digest", "cases", len(v.Cases), "breaches", len(v.Breaches), "officers", len(dpos))
	return nil
}
