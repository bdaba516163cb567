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

	"kelas/i18n"
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

// Text is the plain-text part, saying the same as views.MailHTML, signed
// as m says (Sign).
func Text(ctx context.Context, m views.MailBody) string {
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
	b.WriteString("-- \n" + strings.Join(signatureOf(ctx, m), "\n") + "\n")
	return b.String()
}

// signatureOf is m's signature (Sign), or the site's name alone.
func signatureOf(ctx context.Context, m views.MailBody) []string {
	if m = Sign(ctx, m); len(m.Signature) > 0 {
		return m.Signature
	}
	return []string{i18n.From(ctx).T("mail.signature")}
}

// Render turns a body into the text and HTML parts of a mail. Optional
// mail (announcements, feedback requests) gets its unsubscribe link at the
// foot of both parts.
func Render(ctx context.Context, body views.MailBody, unsubscribeURL string) (text, html string, err error) {
	body = Sign(ctx, body)
	var buf bytes.Buffer
	if unsubscribeURL != "" {
		err = views.OptionalMailHTML(body, unsubscribeURL).Render(ctx, &buf)
		body.After = append(slices.Clone(body.After), i18n.From(ctx).T("mail.unsubscribe_text", "url", unsubscribeURL))
	} else {
		err = views.MailHTML(body).Render(ctx, &buf)
	}
	return Text(ctx, body), buf.String(), err
}

// Account renders body into text and HTML and queues it for one person;
// with takes the rest of the mail (a link that expires). ctx speaks the
// recipient's language (In), as subject and body do.
func (c *Composer) Account(ctx context.Context, userID, to, kind, subject string, body views.MailBody, with ...func(*store.NewMail)) error {
	body = Sign(ctx, body)
	var html bytes.Buffer
	if err := views.MailHTML(body).Render(ctx, &html); err != nil {
		return fmt.Errorf("render %s mail: %w", kind, err)
	}
	m := store.NewMail{UserID: userID, To: to, Kind: kind, Subject: subject, Text: Text(ctx, body), HTML: html.String()}
	for _, f := range with {
		f(&m)
	}
	return c.Queue(ctx, m)
}

// CaseUpdate tells the person about their request. A mail the law
// requires (answers to their own request) goes even under restriction.
func (c *Composer) CaseUpdate(ctx context.Context, rc store.Case, note string) {
	c.CaseUpdateSaying(ctx, rc, func(*i18n.Printer) string { return note })
}

// CaseUpdateSaying is CaseUpdate with a note written in the recipient's
// language by say.
func (c *Composer) CaseUpdateSaying(ctx context.Context, rc store.Case, say func(*i18n.Printer) string) {
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
	ctx, p := c.In(ctx, u.Language)
	paras := []string{p.T("mail.case_update.body", "kind", CaseKind(p, rc.Kind), "state", caseState(p, rc, held))}
	if note := say(p); note != "" {
		paras = append(paras, note)
	}
	if err := c.Account(ctx, u.ID, u.Email, "rights_update", p.T("mail.case_update.subject", "kind", CaseKind(p, rc.Kind)), views.MailBody{
		Greeting: p.T("mail.greeting", "name", u.FirstName), Paragraphs: paras,
		ActionLabel: p.T("mail.case_update.action"), ActionURL: c.PublicURL() + "/rights/cases/" + rc.ID,
	}); err != nil {
		c.Log.Error("case update mail", "case_id", rc.ID, "err", err)
	}
}

// CaseKinds are the kinds of rights request, each with its message
// (mail.case_kind.<kind>).
var CaseKinds = []string{store.CaseAccess, store.CaseRectification, store.CaseErasure, store.CaseRestriction,
	store.CasePortability, store.CaseObjection, store.CaseWithdrawConsent, store.CaseReview}

// CaseKind names a kind of rights request in a mail.
func CaseKind(p *i18n.Printer, k string) string {
	switch k {
	case store.CaseAccess:
		return p.T("mail.case_kind.access")
	case store.CaseRectification:
		return p.T("mail.case_kind.rectification")
	case store.CaseErasure:
		return p.T("mail.case_kind.erasure")
	case store.CaseRestriction:
		return p.T("mail.case_kind.restriction")
	case store.CasePortability:
		return p.T("mail.case_kind.portability")
	case store.CaseObjection:
		return p.T("mail.case_kind.objection")
	case store.CaseWithdrawConsent:
		return p.T("mail.case_kind.withdraw_consent")
	case store.CaseReview:
		return p.T("mail.case_kind.review_decision")
	}
	return k
}

// caseState says where a request stands, as views.CaseLabel does: an
// erasure has its own words, so that none reads as done before it ran.
func caseState(p *i18n.Printer, c store.Case, held bool) string {
	if c.Kind == store.CaseErasure {
		switch c.Status {
		case store.CaseCompleted:
			return p.T("mail.case_state.erasure_completed")
		case store.CaseRejected:
			return p.T("mail.case_state.erasure_rejected")
		case store.CaseCancelled:
			return p.T("mail.case_state.cancelled")
		}
		if held {
			return p.T("mail.case_state.erasure_held")
		}
		return p.T("mail.case_state.erasure_scheduled")
	}
	switch c.Status {
	case store.CaseOpen:
		return p.T("mail.case_state.open")
	case store.CaseInProgress:
		return p.T("mail.case_state.in_progress")
	case store.CaseCompleted:
		return p.T("mail.case_state.completed")
	case store.CaseCancelled:
		return p.T("mail.case_state.cancelled")
	case store.CaseRejected:
		return p.T("mail.case_state.rejected")
	}
	return c.Status
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
