package app

import (
	"context"
	"fmt"
	"strings"
	"time"

	"kelas/i18n"
	"kelas/store"
	"kelas/views"
)

// mailLink describes the link a mail carries when it stops working: the
// mail is dropped rather than sent after that (see store.NewMail).
type mailLink struct {
	expires time.Time
	token   string // the account token, when the link spends one
}

// mailFor is ctx speaking the language of a mail's recipient: their saved
// language, and the printer for writing its subject and body.
func (a *App) mailFor(ctx context.Context, u store.User) (context.Context, *i18n.Printer) {
	return a.mails.In(ctx, u.Language)
}

// mailForAddress is ctx speaking the language of a mail to an address
// without an account: the language of the request that sends it (its
// printer's), else English.
func (a *App) mailForAddress(ctx context.Context) (context.Context, *i18n.Printer) {
	return a.mails.In(ctx, i18n.From(ctx).Code)
}

// accountMail renders body into text and HTML and queues it for one
// person; ctx speaks their language (mailFor), as subject and body do.
func (a *App) accountMail(ctx context.Context, userID, to, kind, subject string, body views.MailBody, link ...mailLink) error {
	return a.mails.Account(ctx, userID, to, kind, subject, body, func(m *store.NewMail) {
		for _, l := range link {
			m.LinkExpires, m.LinkToken = l.expires, l.token
		}
	})
}

// mailVerification sends a confirmation link for address (the account's own,
// or a changed one awaiting confirmation). Without mail delivery the link is
// also printed for the operator, so a new installation stays usable.
func (a *App) mailVerification(ctx context.Context, u store.User, address string) error {
	newEmail := ""
	if !strings.EqualFold(strings.TrimSpace(address), u.Email) {
		newEmail = address
	}
	token, err := a.store.CreateAccountToken(ctx, u.ID, store.TokenVerify, verifyTTL, newEmail)
	if err != nil {
		return err
	}
	link := a.cfg.PublicURL() + "/verify/" + token
	if !a.mailOn {
		a.printLink("email confirmation link for account "+u.ID, link)
	}
	ctx, p := a.mailFor(ctx, u)
	return a.accountMail(ctx, u.ID, address, "verify", p.T("mail.verify.subject"), views.MailBody{
		Greeting:    p.T("mail.greeting", "name", u.FirstName),
		Paragraphs:  []string{p.T("mail.verify.body")},
		ActionLabel: p.T("mail.verify.action"),
		ActionURL:   link,
		After:       []string{p.T("mail.verify.after")},
	}, mailLink{expires: a.clock().Add(verifyTTL), token: token})
}

// printLink shows an operator a link that would otherwise only be mailed,
// when no mail can be sent. It names the purpose and ids, never addresses.
func (a *App) printLink(what, link string) {
	fmt.Fprintf(a.stdout, "kelas: mail delivery is not configured; %s:\n    %s\n", what, link)
}

// mailDuplicateNotice tells the owner of an address that someone tried to
// register it again, instead of revealing that to whoever tried; at most
// once a day, so registering their address cannot be used to mail-bomb them.
func (a *App) mailDuplicateNotice(ctx context.Context, address string) error {
	u, err := a.store.UserByEmail(ctx, address)
	if err != nil {
		return err
	}
	// At most one a day, however often the address is tried.
	if due, err := a.store.DuplicateNoticeDue(ctx, u.ID); err != nil || !due {
		return err
	}
	ctx, p := a.mailFor(ctx, u)
	return a.accountMail(ctx, u.ID, u.Email, "duplicate_notice", p.T("mail.duplicate.subject"), views.MailBody{
		Greeting:    p.T("mail.greeting", "name", u.FirstName),
		Paragraphs:  []string{p.T("mail.duplicate.body")},
		ActionLabel: p.T("mail.duplicate.action"),
		ActionURL:   a.cfg.PublicURL() + "/password/forgot",
		After:       []string{p.T("mail.duplicate.after")},
	})
}

func (a *App) mailReset(ctx context.Context, u store.User) error {
	token, err := a.store.CreateAccountToken(ctx, u.ID, store.TokenReset, resetTTL, "")
	if err != nil {
		return err
	}
	link := a.cfg.PublicURL() + "/password/reset/" + token
	if !a.mailOn {
		// Without mail delivery the reset would be a dead end: the
		// operator, who runs the server, can pass the link on.
		a.printLink("password reset link for account "+u.ID, link)
	}
	ctx, p := a.mailFor(ctx, u)
	return a.accountMail(ctx, u.ID, u.Email, "reset", p.T("mail.reset.subject"), views.MailBody{
		Greeting:    p.T("mail.greeting", "name", u.FirstName),
		Paragraphs:  []string{p.T("mail.reset.body")},
		ActionLabel: p.T("mail.reset.action"),
		ActionURL:   link,
		After:       []string{p.T("mail.reset.after")},
	}, mailLink{expires: a.clock().Add(resetTTL), token: token})
}

func (a *App) mailPasswordChanged(ctx context.Context, u store.User) error {
	ctx, p := a.mailFor(ctx, u)
	return a.accountMail(ctx, u.ID, u.Email, "password_changed", p.T("mail.password_changed.subject"), views.MailBody{
		Greeting:    p.T("mail.greeting", "name", u.FirstName),
		Paragraphs:  []string{p.T("mail.password_changed.body"), p.T("mail.password_changed.body_not_you")},
		ActionLabel: p.T("mail.password_changed.action"),
		ActionURL:   a.cfg.PublicURL() + "/password/forgot",
	})
}

// revertTTL is how long the old address can undo an address change.
const revertTTL = 7 * 24 * time.Hour

// mailEmailChangeNotice tells the current address that a change to another
// was asked for, with a link that puts this address back and logs every
// device out, should it not have been the owner.
func (a *App) mailEmailChangeNotice(ctx context.Context, u store.User) error {
	token, err := a.store.CreateEmailRevert(ctx, u.ID, u.Email, revertTTL)
	if err != nil {
		return err
	}
	ctx, p := a.mailFor(ctx, u)
	return a.accountMail(ctx, u.ID, u.Email, "email_change", p.T("mail.email_change.subject"), views.MailBody{
		Greeting:    p.T("mail.greeting", "name", u.FirstName),
		Paragraphs:  []string{p.T("mail.email_change.body")},
		ActionLabel: p.T("mail.email_change.action"),
		ActionURL:   a.cfg.PublicURL() + "/email/revert/" + token,
		After:       []string{p.T("mail.email_change.after"), p.T("mail.email_change.after_not_you")},
	})
}
