package mail

import (
	"context"

	"kelas/store"
	"kelas/views"
)

// RightsNew tells the privacy officer d of a new rights request, in d's
// language.
func (c *Composer) RightsNew(ctx context.Context, rc store.Case, d store.User) error {
	ctx, p := c.In(ctx, d.Language)
	kind := CaseKind(p, rc.Kind)
	return c.Account(ctx, d.ID, d.Email, "rights_new", p.T("mail.rights_new.subject", "kind", kind), views.MailBody{
		Greeting:    p.T("mail.greeting", "name", d.FirstName),
		Paragraphs:  []string{p.T("mail.rights_new.body", "kind", kind, "due", p.Date(rc.DueAt))},
		ActionLabel: p.T("mail.rights_new.action"),
		ActionURL:   c.PublicURL() + "/console/rights/" + rc.ID,
	})
}

// RightsReminder reminds the privacy officer d that request rc is due
// soon or overdue, in d's language.
func (c *Composer) RightsReminder(ctx context.Context, rc store.Case, d store.User) error {
	ctx, p := c.In(ctx, d.Language)
	return c.Account(ctx, d.ID, d.Email, "rights_reminder", p.T("mail.rights_reminder.subject", "due", p.DayMonth(rc.DueAt)), views.MailBody{
		Greeting: p.T("mail.greeting", "name", d.FirstName),
		Paragraphs: []string{p.T("mail.rights_reminder.body", "kind", CaseKind(p, rc.Kind), "received", p.Date(rc.ReceivedAt),
			"due", p.Date(rc.DueAt))},
		ActionLabel: p.T("mail.rights_reminder.action"), ActionURL: c.PublicURL() + "/console/rights/" + rc.ID,
	})
}

// AttentionDigest mails the privacy officer d every deadline of v, in d's
// language.
func (c *Composer) AttentionDigest(ctx context.Context, v views.PrivacyAttention, d store.User) error {
	ctx, p := c.In(ctx, d.Language)
	base := c.PublicURL()
	paras := []string{p.T("mail.digest.intro", "now", p.DateTime(v.Now))}
	for _, rc := range v.Cases {
		key := "mail.digest.case_due"
		if rc.Overdue(v.Now) {
			key = "mail.digest.case_overdue"
		}
		paras = append(paras, p.T(key, "kind", CaseKind(p, rc.Kind), "date", p.Date(rc.DueAt), "url", base+"/console/rights/"+rc.ID))
	}
	for _, b := range v.Breaches {
		// The title is a label kept free of names (the form says so).
		paras = append(paras, p.T("mail.digest.breach", "title", b.Breach.Title, "clock", b.Countdown.Say(ctx),
			"url", base+"/console/breaches/"+b.Breach.ID))
	}
	subject := p.T("mail.digest.subject", "requests", p.Number(len(v.Cases)), "breaches", p.Number(len(v.Breaches)))
	return c.Account(ctx, d.ID, d.Email, "attention_digest", subject, views.MailBody{
		Greeting:    p.T("mail.greeting", "name", d.FirstName),
		Paragraphs:  paras,
		ActionLabel: p.T("mail.digest.action"), ActionURL: base + "/console",
	})
}

// ErasureDone is the last mail to u, whose account is about to be
// erased: plain text, in their language.
func (c *Composer) ErasureDone(ctx context.Context, u store.User) store.NewMail {
	ctx, p := c.In(ctx, u.Language)
	return store.NewMail{To: u.Email, Kind: "erasure_done", Subject: p.T("mail.erasure_done.subject"),
		Text: Text(ctx, views.MailBody{Greeting: p.T("mail.greeting_anonymous"),
			Paragraphs: []string{p.T("mail.erasure_done.body") + "\n" + p.T("mail.erasure_done.last")}})}
}

// TwoFactorChanged tells u, in their language, that their second factor
// was turned on or off (by an operator, after a lost device).
func (c *Composer) TwoFactorChanged(ctx context.Context, u store.User, on, byOperator bool) error {
	ctx, p := c.In(ctx, u.Language)
	subject, para := p.T("mail.twofactor.on_subject"), p.T("mail.twofactor.on_body")
	if !on {
		subject, para = p.T("mail.twofactor.off_subject"), p.T("mail.twofactor.off_body")
		if byOperator {
			para = p.T("mail.twofactor.reset_body")
		}
	}
	return c.Account(ctx, u.ID, u.Email, "twofactor", subject, views.MailBody{
		Greeting:    p.T("mail.greeting", "name", u.FirstName),
		Paragraphs:  []string{para, p.T("mail.twofactor.not_you")},
		ActionLabel: p.T("mail.twofactor.action"),
		ActionURL:   c.PublicURL() + "/password/forgot",
	})
}
