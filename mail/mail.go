// Package mail writes kelas's mail with the views' templates: the parts
// the HTTP side and the background jobs both send (account mail, news
// about a rights request, the mass mailings) and the deadlines the privacy
// officer's digest reports. It queues mail in the outbox through a
// function of its user and delivers nothing itself; it depends on store
// and views only.
package mail

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"time"

	"kelas/store"
	"kelas/views"
)

// Composer writes mail and queues it.
type Composer struct {
	Store *store.Store
	Log   *slog.Logger
	// PublicURL is the address links in mail point to; it may be known
	// only once kelas listens.
	PublicURL func() string
	// Queue puts a mail in the outbox (and wakes its delivery).
	Queue func(context.Context, store.NewMail) error
}

// Text is the plain-text part, saying the same as views.MailHTML.
func Text(m views.MailBody) string {
	var b strings.Builder
	b.WriteString(m.Greeting + "\n\n")
	for _, p := range m.Paragraphs {
		b.WriteString(p + "\n\n")
	}
	if m.ActionURL != "" {
		b.WriteString(m.ActionLabel + ":\n" + m.ActionURL + "\n\n")
	}
	for _, p := range m.After {
		b.WriteString(p + "\n\n")
	}
	b.WriteString("-- \nkelas\n")
	return b.String()
}

// Render turns a body into the text and HTML parts of a mail. Optional
// mail (announcements, feedback requests) gets its unsubscribe link at the
// foot of both parts.
func Render(ctx context.Context, body views.MailBody, unsubscribeURL string) (text, html string, err error) {
	var buf bytes.Buffer
	if unsubscribeURL != "" {
		err = views.OptionalMailHTML(body, unsubscribeURL).Render(ctx, &buf)
		body.After = append(slices.Clone(body.After), "To stop these emails, open this link: "+unsubscribeURL)
	} else {
		err = views.MailHTML(body).Render(ctx, &buf)
	}
	return Text(body), buf.String(), err
}

// Account renders body into text and HTML and queues it for one person;
// with takes the rest of the mail (a link that expires).
func (c *Composer) Account(ctx context.Context, userID, to, kind, subject string, body views.MailBody, with ...func(*store.NewMail)) error {
	var html bytes.Buffer
	if err := views.MailHTML(body).Render(ctx, &html); err != nil {
		return fmt.Errorf("render %s mail: %w", kind, err)
	}
	m := store.NewMail{UserID: userID, To: to, Kind: kind, Subject: subject, Text: Text(body), HTML: html.String()}
	for _, f := range with {
		f(&m)
	}
	return c.Queue(ctx, m)
}

// CaseUpdate tells the person about their request. A mail the law
// requires (answers to their own request) goes even under restriction.
func (c *Composer) CaseUpdate(ctx context.Context, rc store.Case, note string) {
	u, err := c.Store.User(ctx, rc.UserID)
	if err != nil {
		return // erased meanwhile
	}
	held := false
	if rc.Kind == store.CaseErasure {
		holds, err := c.Store.HeldPeople(ctx)
		if err != nil {
			c.Log.Error("case update mail", "case_id", rc.ID, "err", err)
			return
		}
		held = len(holds[rc.UserID]) > 0
	}
	paras := []string{"There is news about your request (" + views.CaseKindLabel(rc.Kind) + "): " + views.CaseLabel(rc, held) + "."}
	if note != "" {
		paras = append(paras, note)
	}
	if err := c.Account(ctx, u.ID, u.Email, "rights_update", "Your request: "+views.CaseKindLabel(rc.Kind), views.MailBody{
		Greeting: "Hello " + u.FirstName + ",", Paragraphs: paras,
		ActionLabel: "See your request", ActionURL: c.PublicURL() + "/rights/cases/" + rc.ID,
	}); err != nil {
		c.Log.Error("case update mail", "case_id", rc.ID, "err", err)
	}
}

// Countdown is the 72-hour clock of breach b at now.
func Countdown(b store.Breach, now time.Time) views.Countdown {
	return views.Countdown{Deadline: b.Deadline(), Remaining: b.Deadline().Sub(now), NotifiedAt: b.NotifiedAt, Detected: b.DetectedAt,
		AuthorityAt: b.AuthorityNotifiedAt, ClosedAt: b.ClosedAt}
}

// PrivacyAttention gathers the privacy officer's deadlines at now: open
// requests, those due within store.ReminderWindow and overdue, and
// breaches by hours left. The console shows them; the daily digest mails
// them.
func PrivacyAttention(ctx context.Context, st *store.Store, now time.Time) (views.PrivacyAttention, error) {
	var v views.PrivacyAttention
	var err error
	if v.Open, v.DueSoon, v.Overdue, err = st.CaseCounts(ctx, store.ReminderWindow); err != nil {
		return v, err
	}
	if v.Cases, err = st.CasesDueBy(ctx, now.Add(store.ReminderWindow)); err != nil {
		return v, err
	}
	bs, err := st.RunningBreaches(ctx)
	if err != nil {
		return v, err
	}
	for _, b := range bs {
		v.Breaches = append(v.Breaches, views.BreachRow{Breach: b, Countdown: Countdown(b, now)})
	}
	sort.SliceStable(v.Breaches, func(i, j int) bool { return v.Breaches[i].Countdown.Remaining < v.Breaches[j].Countdown.Remaining })
	v.Now = now
	return v, nil
}
