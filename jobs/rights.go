package jobs

import (
	"context"
	"errors"

	"kelas/i18n"
	"kelas/mail"
	"kelas/store"
	"kelas/views"
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
		if err := r.queueMail(ctx, store.NewMail{To: u.Email, Kind: "erasure_done", Subject: "Your kelas account is erased",
			Text: "Hello,\n\nAs you asked, your kelas account and the data linked to it are erased, and the key that encrypted it is destroyed.\n" +
				"Anonymous counts in statistics remain. This is the last message you receive from us.\n\n-- \nkelas\n"}); err != nil {
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
			p := i18n.NewPrinter(userLanguage(d), nil, "kelas")
			if err := r.mails.Account(i18n.With(ctx, p), d.ID, d.Email, "rights_reminder", p.T("rights.mail.reminder.subject", "date", p.DayMonth(c.DueAt)), views.MailBody{
				Greeting: p.T("rights.mail.greeting", "name", d.FirstName),
				Paragraphs: []string{p.T("rights.mail.reminder.text", "kind", views.CaseKindText(i18n.With(ctx, p), c.Kind),
					"received", p.Date(c.ReceivedAt), "due", p.Date(c.DueAt))},
				ActionLabel: p.T("rights.mail.open_request"), ActionURL: r.mails.PublicURL() + "/console/rights/" + c.ID,
			}); err != nil {
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
	base := r.mails.PublicURL()
	for _, d := range dpos {
		p := i18n.NewPrinter(userLanguage(d), nil, "kelas")
		var paras []string
		for _, c := range v.Cases {
			kind, url := views.CaseKindText(i18n.With(ctx, p), c.Kind), base+"/console/rights/"+c.ID
			if c.Overdue(v.Now) {
				paras = append(paras, p.T("rights.mail.digest.overdue", "kind", kind, "date", p.Date(c.DueAt), "url", url))
			} else {
				paras = append(paras, p.T("rights.mail.digest.due", "kind", kind, "date", p.Date(c.DueAt), "url", url))
			}
		}
		for _, b := range v.Breaches {
			// The title is a label kept free of names (the form says so).
			paras = append(paras, p.T("rights.mail.digest.breach", "title", b.Breach.Title, "countdown", b.Countdown.Text(),
				"url", base+"/console/breaches/"+b.Breach.ID))
		}
		subject := p.T("rights.mail.digest.subject", "requests", p.N("rights.mail.digest.requests", len(v.Cases)),
			"breaches", p.N("rights.mail.digest.breaches", len(v.Breaches)))
		if err := r.mails.Account(i18n.With(ctx, p), d.ID, d.Email, "attention_digest", subject, views.MailBody{
			Greeting:    p.T("rights.mail.greeting", "name", d.FirstName),
			Paragraphs:  append([]string{p.T("rights.mail.digest.intro", "time", p.DateTime(v.Now))}, paras...),
			ActionLabel: p.T("rights.mail.digest.open_console"), ActionURL: base + "/console",
		}); err != nil {
			return err
		}
	}
	r.log.Info("attention digest", "cases", len(v.Cases), "breaches", len(v.Breaches), "officers", len(dpos))
	return nil
}

// userLanguage is the person's saved language, or the default.
func userLanguage(u store.User) string {
	if i18n.Supported(u.Language) {
		return u.Language
	}
	return i18n.Default
}
