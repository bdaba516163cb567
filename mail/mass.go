package mail

import (
	"context"
	"strings"

	"kelas/store"
	"kelas/views"
)

// optional builds an announcement or feedback request for u, with the
// RFC 8058 one-click unsubscribe headers: List-Unsubscribe names a link
// whose POST unsubscribes without login, List-Unsubscribe-Post tells mail
// providers they may make that POST themselves.
func (c *Composer) optional(ctx context.Context, u store.User, kind, subject string, body views.MailBody) (store.NewMail, error) {
	purpose := store.ConsentNotifyNew
	if kind == store.MailFeedbackRequest {
		purpose = store.ConsentFeedback
	}
	token, err := c.Store.SignUnsubscribe(u.ID, purpose)
	if err != nil {
		return store.NewMail{}, err
	}
	link := c.PublicURL() + "/unsubscribe/" + token
	text, html, err := Render(ctx, body, link)
	if err != nil {
		return store.NewMail{}, err
	}
	return store.NewMail{UserID: u.ID, To: u.Email, Kind: kind, Subject: subject, Text: text, HTML: html,
		Headers: map[string]string{"List-Unsubscribe": "<" + link + ">", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}}, nil
}

// Announcement is the announcement of t to one person who opted in, in
// their language.
func (c *Composer) Announcement(ctx context.Context, t store.Training, u store.User) (store.NewMail, error) {
	ctx, p := c.In(ctx, u.Language)
	return c.optional(ctx, u, store.MailAnnouncement, p.T("mail.announcement.subject", "title", t.Title), views.MailBody{
		Greeting:    p.T("mail.greeting", "name", u.FirstName),
		Paragraphs:  []string{p.T("mail.announcement.body", "member", t.MemberName, "title", t.Title), t.Summary},
		ActionLabel: p.T("mail.announcement.action"),
		ActionURL:   c.PublicURL() + "/trainings/" + t.ID,
		After:       []string{p.T("mail.announcement.after")},
	})
}

// Feedback asks one learner of t for feedback, in their language.
func (c *Composer) Feedback(ctx context.Context, t store.Training, u store.User) (store.NewMail, error) {
	ctx, p := c.In(ctx, u.Language)
	return c.optional(ctx, u, store.MailFeedbackRequest, p.T("mail.feedback.subject", "title", t.Title), views.MailBody{
		Greeting:    p.T("mail.greeting", "name", u.FirstName),
		Paragraphs:  []string{p.T("mail.feedback.body", "title", t.Title, "member", t.MemberName), p.T("mail.feedback.ask")},
		ActionLabel: p.T("mail.feedback.action"),
		ActionURL:   c.PublicURL() + "/trainings/" + t.ID,
		After:       []string{p.T("mail.feedback.after")},
	})
}

// Policy tells one person of a material policy version, in their
// language; link shows what changed.
func (c *Composer) Policy(ctx context.Context, v store.PolicyVersion, link string, u store.User) (store.NewMail, error) {
	ctx, p := c.In(ctx, u.Language)
	body := views.MailBody{
		Greeting: p.T("mail.greeting", "name", u.FirstName),
		Paragraphs: []string{p.T("mail.policy.body", "version", v.Version, "date", p.Date(v.EffectiveAt)),
			p.T("mail.policy.summary", "summary", v.Summary)},
		ActionLabel: p.T("mail.policy.action"),
		ActionURL:   link,
		After: []string{p.T("mail.policy.confirm"),
			p.T("mail.policy.object", "url", c.PublicURL()+"/rights")},
	}
	text, html, err := Render(ctx, body, "")
	if err != nil {
		return store.NewMail{}, err
	}
	return store.NewMail{UserID: u.ID, To: u.Email, Kind: store.MailPolicyUpdate,
		Subject: p.T("mail.policy.subject"), Text: text, HTML: html}, nil
}

// Breach is the notice to one affected person, in plain words and their
// language. What the officer wrote (what happened, the measures, the
// advice, the contact) stays as written.
func (c *Composer) Breach(ctx context.Context, b store.Breach, u store.User) (store.NewMail, error) {
	ctx, p := c.In(ctx, u.Language)
	var cats []string
	for _, cat := range b.Categories {
		cats = append(cats, views.BreachCategoryText(ctx, cat))
	}
	body := views.MailBody{
		Greeting: p.T("mail.greeting", "name", u.FirstName),
		Paragraphs: []string{
			p.T("mail.breach.intro"),
			p.T("mail.breach.what", "text", b.Description),
			p.T("mail.breach.when", "occurred", views.BreachTimeIn(ctx, b.OccurredAt), "detected", views.BreachTimeIn(ctx, b.DetectedAt)),
			p.T("mail.breach.data", "categories", strings.Join(cats, p.T("mail.breach.data_separator"))),
			p.T("mail.breach.measures", "text", b.Measures),
			p.T("mail.breach.advice", "text", b.Advice),
			p.T("mail.breach.contact", "text", b.Contact),
		},
		After: []string{p.T("mail.breach.required")},
	}
	text, html, err := Render(ctx, body, "")
	if err != nil {
		return store.NewMail{}, err
	}
	return store.NewMail{UserID: u.ID, To: u.Email, Kind: store.MailBreachNotice,
		Subject: p.T("mail.breach.subject"), Text: text, HTML: html}, nil
}
