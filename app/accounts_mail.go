package app

import (
	"context"
	"fmt"
	"strings"
	"time"

	"kelas/store"
	"kelas/views"
)

// mailLink describes the link a mail carries when it stops working: the
// mail is dropped rather than sent after that (see store.NewMail).
type mailLink struct {
	expires time.Time
	token   string // the account token, when the link spends one
}

// accountMail renders body into text and HTML and queues it for one person.
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
	return a.accountMail(ctx, u.ID, address, "verify", "Confirm your email address for kelas", views.MailBody{
		Greeting:    "Hello " + u.FirstName + ",",
		Paragraphs:  []string{"Please confirm that this email address belongs to your kelas account. The link works once, for 48 hours."},
		ActionLabel: "Confirm my email address",
		ActionURL:   link,
		After:       []string{"If you did not ask for this, ignore this message: nothing changes without the link."},
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
	return a.accountMail(ctx, u.ID, u.Email, "duplicate_notice", "Someone tried to register with your email address", views.MailBody{
		Greeting: "Hello " + u.FirstName + ",",
		Paragraphs: []string{"Someone, perhaps you, tried to create a new kelas account with this email address. " +
			"You already have an account, so no second one was created."},
		ActionLabel: "Reset my password",
		ActionURL:   a.cfg.PublicURL() + "/password/forgot",
		After:       []string{"If you forgot your password, you can choose a new one with the link above. If it was not you, you can ignore this message."},
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
	return a.accountMail(ctx, u.ID, u.Email, "reset", "Choose a new kelas password", views.MailBody{
		Greeting:    "Hello " + u.FirstName + ",",
		Paragraphs:  []string{"Someone asked to reset the password of your kelas account. The link works once, for one hour."},
		ActionLabel: "Choose a new password",
		ActionURL:   link,
		After:       []string{"If it was not you, ignore this message: your password stays as it is."},
	}, mailLink{expires: a.clock().Add(resetTTL), token: token})
}

func (a *App) mailPasswordChanged(ctx context.Context, u store.User) error {
	return a.accountMail(ctx, u.ID, u.Email, "password_changed", "Your kelas password was changed", views.MailBody{
		Greeting: "Hello " + u.FirstName + ",",
		Paragraphs: []string{"The password of your kelas account was just changed, and every device where you were logged in was logged out.",
			"If you did not do this, reset your password now and tell the operator of this portal."},
		ActionLabel: "Reset my password",
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
	return a.accountMail(ctx, u.ID, u.Email, "email_change", "The email address of your kelas account is being changed", views.MailBody{
		Greeting: "Hello " + u.FirstName + ",",
		Paragraphs: []string{"Someone logged in to your kelas account asked to change its email address to another one. " +
			"The change happens when the new address is confirmed."},
		ActionLabel: "This was not me: keep my address and log everyone out",
		ActionURL:   a.cfg.PublicURL() + "/email/revert/" + token,
		After: []string{"The link works for 7 days, also after the change. If it was you, you need not do anything.",
			"If it was not you, follow the link, then choose a new password."},
	})
}
