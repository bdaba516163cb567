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

// Announcement is the announcement of t to one person who opted in.
func (c *Composer) Announcement(ctx context.Context, t store.Training, u store.User) (store.NewMail, error) {
	return c.optional(ctx, u, store.MailAnnouncement, "New training on kelas: "+t.Title, views.MailBody{
		Greeting:    "Hello " + u.FirstName + ",",
		Paragraphs:  []string{t.MemberName + " has published a new training: " + t.Title + ".", t.Summary},
		ActionLabel: "See the training",
		ActionURL:   c.PublicURL() + "/trainings/" + t.ID,
		After:       []string{"You receive this because you asked to hear about new trainings. You can stop at any time with the link below or in your profile."},
	})
}

// Feedback asks one learner of t for feedback.
func (c *Composer) Feedback(ctx context.Context, t store.Training, u store.User) (store.NewMail, error) {
	return c.optional(ctx, u, store.MailFeedbackRequest, "How was "+t.Title+"?", views.MailBody{
		Greeting: "Hello " + u.FirstName + ",",
		Paragraphs: []string{"You took part in " + t.Title + ", offered by " + t.MemberName + ".",
			"What worked for you, and what did not? Reply to this message with a few lines: " +
				"the organisers read every answer and use it to improve their trainings."},
		ActionLabel: "Open the training",
		ActionURL:   c.PublicURL() + "/trainings/" + t.ID,
		After:       []string{"You receive this because you did not opt out of feedback requests. One click on the link below stops them."},
	})
}

// Policy tells one person of a material policy version; link shows what
// changed.
func (c *Composer) Policy(ctx context.Context, v store.PolicyVersion, link string, u store.User) (store.NewMail, error) {
	body := views.MailBody{
		Greeting: "Hello " + u.FirstName + ",",
		Paragraphs: []string{"We have published a new version of our privacy policy (version " + v.Version + "). It applies from " +
			v.EffectiveAt.UTC().Format("2 January 2006") + ".", "In short: " + v.Summary},
		ActionLabel: "Read the new version and what changed",
		ActionURL:   link,
		After: []string{"The next time you log in, we will ask you to confirm that you have read it.",
			"If you do not agree, you can object to processing, restrict it or close your account in your rights portal: " +
				c.PublicURL() + "/rights"},
	}
	text, html, err := Render(ctx, body, "")
	if err != nil {
		return store.NewMail{}, err
	}
	return store.NewMail{UserID: u.ID, To: u.Email, Kind: store.MailPolicyUpdate,
		Subject: "Our privacy policy has changed", Text: text, HTML: html}, nil
}

// Breach is the notice to one affected person, in plain words.
func (c *Composer) Breach(ctx context.Context, b store.Breach, u store.User) (store.NewMail, error) {
	var cats []string
	for _, cat := range b.Categories {
		cats = append(cats, views.BreachCategoryLabel(cat))
	}
	body := views.MailBody{
		Greeting: "Hello " + u.FirstName + ",",
		Paragraphs: []string{
			"We are writing to tell you about a security incident that involves personal data we hold about you.",
			"What happened: " + b.Description,
			"When: it happened on " + views.BreachTime(b.OccurredAt) + " and we found out on " + views.BreachTime(b.DetectedAt) + ".",
			"What data was involved: " + strings.Join(cats, "; ") + ".",
			"What we have done: " + b.Measures,
			"What you can do: " + b.Advice,
			"Whom to contact: " + b.Contact,
		},
		After: []string{"We are required by law to tell you about this, so you receive this message even if you asked us not to send you other emails."},
	}
	text, html, err := Render(ctx, body, "")
	if err != nil {
		return store.NewMail{}, err
	}
	return store.NewMail{UserID: u.ID, To: u.Email, Kind: store.MailBreachNotice,
		Subject: "Important: a security incident involving your personal data", Text: text, HTML: html}, nil
}
