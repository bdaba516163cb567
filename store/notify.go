package store

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Kinds of mass mail (outbox.kind and notifications.kind).
const (
	MailAnnouncement    = "announcement"     // a new training, to people who opted in
	MailFeedbackRequest = "feedback_request" // feedback on a training, unless opted out
	MailPolicyUpdate    = "policy_update"    // a material change of the privacy policy
	MailBreachNotice    = "breach_notice"    // a personal data breach (GDPR Art. 34)
)

// Objection purposes that stop mail (user_objections.purpose). Objecting
// to direct marketing stops both kinds of optional mail.
const (
	ObjectDirectMarketing = "direct_marketing"
	ObjectNotifyNew       = "notify_new"
	ObjectFeedback        = "feedback"
)

// Audited actions of notifications.
const (
	AuditNotifyAnnounce = "notify.announce"
	AuditNotifyFeedback = "notify.feedback"
)

// SuppressedReason is the outbox error of optional mail dropped at send
// time because the person restricted processing or objected meanwhile.
const (
	SuppressedReason  = "suppressed: restriction/objection"
	SuppressedOptOut  = "suppressed: opted out"
	unsubscribeTTL    = 400 * 24 * time.Hour
	maxUnsubscribeLen = 100
)

func notifyTables() []table {
	log := Field{Category: CatAccount, Personal: true,
		Purposes:  []string{"send each announcement, feedback request or policy notice to a person at most once"},
		Basis:     BasisLegitimate,
		Retention: "while the account exists",
		Export:    ExportInclude, Erasure: EraseDelete}
	return []table{{db: DBMain, name: "notifications", base: log,
		columns: []string{"id", "kind", "ref_id", "user_id", "outbox_id", "queued_at"}}}
}

// OptionalMail reports whether kind is optional mail: announcements and
// feedback requests, which restriction, objection and opting out stop and
// which carry a one-click unsubscribe link.
func OptionalMail(kind string) bool { return kind == MailAnnouncement || kind == MailFeedbackRequest }

// consentOf is the consent purpose that governs an optional mail kind.
func consentOf(kind string) string {
	if kind == MailAnnouncement {
		return ConsentNotifyNew
	}
	return ConsentFeedback
}

// objectionsOf lists the objection purposes that stop a mail kind, quoted
// for SQL. They are constants, never input.
func objectionsOf(kind string) string {
	if kind == MailAnnouncement {
		return "'" + ObjectDirectMarketing + "', '" + ObjectNotifyNew + "'"
	}
	return "'" + ObjectDirectMarketing + "', '" + ObjectFeedback + "'"
}

// Restricted reports whether the processing of userID's data is restricted.
func (s *Store) Restricted(ctx context.Context, userID string) (bool, error) {
	var ok bool
	err := s.readRow(ctx, "SELECT EXISTS (SELECT 1 FROM user_restrictions WHERE user_id = ?)", userID).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("store: restricted: %w", err)
	}
	return ok, nil
}

// Objects reports whether userID objects to purpose.
func (s *Store) Objects(ctx context.Context, userID, purpose string) (bool, error) {
	var ok bool
	err := s.rdb.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM user_objections WHERE user_id = ? AND purpose = ?)",
		userID, purpose).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("store: objects: %w", err)
	}
	return ok, nil
}

// optionalMailAllowed is the SQL condition, on users u, under which an
// optional mail of kind may go to u: an active, confirmed account that
// wants it (the latest consent row; feedback is on by default,
// announcements off), is not restricted and does not object.
func optionalMailAllowed(kind string) string {
	def := "0"
	if kind == MailFeedbackRequest {
		def = "1"
	}
	return `u.status = 'active' AND u.verified_at IS NOT NULL
		AND COALESCE((SELECT c.granted FROM user_consents c WHERE c.user_id = u.id AND c.purpose = '` + consentOf(kind) + `'
			ORDER BY c.id DESC LIMIT 1), ` + def + `) = 1
		AND NOT EXISTS (SELECT 1 FROM user_restrictions r WHERE r.user_id = u.id)
		AND NOT EXISTS (SELECT 1 FROM user_objections o WHERE o.user_id = u.id AND o.purpose IN (` + objectionsOf(kind) + `))`
}

// MailSuppressed re-checks, just before sending, whether an optional mail
// of kind may still go to userID. It returns "" when it may, else the
// reason to record on the outbox row. Other kinds are never suppressed.
func (s *Store) MailSuppressed(ctx context.Context, userID, kind string) (string, error) {
	if !OptionalMail(kind) || userID == "" {
		return "", nil
	}
	var restricted, objects, wants bool
	err := s.rdb.QueryRowContext(ctx, `SELECT
		EXISTS (SELECT 1 FROM user_restrictions WHERE user_id = ?),
		EXISTS (SELECT 1 FROM user_objections WHERE user_id = ? AND purpose IN (`+objectionsOf(kind)+`)),
		EXISTS (SELECT 1 FROM users u WHERE u.id = ? AND `+optionalMailAllowed(kind)+`)`, userID, userID, userID).
		Scan(&restricted, &objects, &wants)
	if err != nil {
		return "", fmt.Errorf("store: mail suppressed: %w", err)
	}
	switch {
	case restricted || objects:
		return SuppressedReason, nil
	case !wants:
		return SuppressedOptOut, nil
	}
	return "", nil
}

// AnnouncementFilter targets an announcement: empty lists mean everyone.
type AnnouncementFilter struct {
	Countries  []string
	Industries []string
}

// AnnouncementRecipients lists the accounts an announcement may go to:
// opted in, confirmed, active, not restricted, not objecting, and in one
// of the countries and industries asked for.
func (s *Store) AnnouncementRecipients(ctx context.Context, f AnnouncementFilter) ([]string, error) {
	q := "SELECT u.id FROM users u WHERE " + optionalMailAllowed(MailAnnouncement)
	var args []any
	for _, in := range []struct {
		col  string
		vals []string
	}{{"u.country", f.Countries}, {"u.industry", f.Industries}} {
		if len(in.vals) == 0 {
			continue
		}
		q += " AND " + in.col + " IN (" + strings.TrimSuffix(strings.Repeat("?, ", len(in.vals)), ", ") + ")"
		for _, v := range in.vals {
			args = append(args, v)
		}
	}
	ids, err := s.ids(ctx, q+" ORDER BY u.id", args...)
	if err != nil {
		return nil, fmt.Errorf("store: announcement recipients: %w", err)
	}
	return ids, nil
}

// FeedbackRecipients lists the learners of a training (enrolled or done)
// who may be asked for feedback.
func (s *Store) FeedbackRecipients(ctx context.Context, trainingID string) ([]string, error) {
	ids, err := s.ids(ctx, `SELECT u.id FROM enrolments e JOIN users u ON u.id = e.user_id
		WHERE e.training_id = ? AND `+optionalMailAllowed(MailFeedbackRequest)+` ORDER BY u.id`, trainingID)
	if err != nil {
		return nil, fmt.Errorf("store: feedback recipients: %w", err)
	}
	return ids, nil
}

// ClaimNotification reserves the mail of kind about refID for userID. It
// returns false when that person already has it (or it is being sent).
func (s *Store) ClaimNotification(ctx context.Context, kind, refID, userID string) (bool, error) {
	var claimed bool
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO notifications (kind, ref_id, user_id, queued_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (kind, ref_id, user_id) DO NOTHING`, kind, refID, userID, ts(s.Now()))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		claimed = n == 1
		return err
	})
	if err != nil {
		return false, fmt.Errorf("store: claim notification: %w", err)
	}
	return claimed, nil
}

// LinkNotification records the outbox mail of a claimed notification;
// with outboxID "" it drops the claim (the mail could not be queued).
func (s *Store) LinkNotification(ctx context.Context, kind, refID, userID, outboxID string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if outboxID == "" {
			_, err := tx.ExecContext(ctx, "DELETE FROM notifications WHERE kind = ? AND ref_id = ? AND user_id = ? AND outbox_id IS NULL",
				kind, refID, userID)
			return err
		}
		_, err := tx.ExecContext(ctx, "UPDATE notifications SET outbox_id = ? WHERE kind = ? AND ref_id = ? AND user_id = ?",
			outboxID, kind, refID, userID)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: link notification: %w", err)
	}
	return nil
}

// NotificationCount is how many people were sent the mail of kind about refID.
func (s *Store) NotificationCount(ctx context.Context, kind, refID string) (int, error) {
	var n int
	err := s.rdb.QueryRowContext(ctx, "SELECT COUNT(*) FROM notifications WHERE kind = ? AND ref_id = ? AND outbox_id IS NOT NULL",
		kind, refID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: notification count: %w", err)
	}
	return n, nil
}

// Unsubscribe tokens.
//
// A token names the account, the mail purpose and an expiry, and carries an
// HMAC over them under a key derived from the master key, so nobody can
// make one for someone else or change what it does. Format (URL-safe, no
// padding):
//
//	<user id>.<purpose code>.<expiry, unix seconds in base 36>.<base64url HMAC-SHA256, first 16 bytes>

var unsubscribeCodes = map[string]string{ConsentNotifyNew: "n", ConsentFeedback: "f"}

// unsubscribeKey derives the token key from the keyring's blind-index key
// with its own label: a PRF output under a distinct label is an
// independent key, and nothing else uses this label.
func (s *Store) unsubscribeKey() []byte {
	return s.kr.BlindIndex("kelas/unsubscribe-key/v1", "")
}

func unsubscribeMAC(key []byte, userID, code, expiry string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("kelas/unsubscribe/v1\x00" + userID + "\x00" + code + "\x00" + expiry))
	return m.Sum(nil)[:16]
}

// SignUnsubscribe makes the one-click unsubscribe token of userID for a
// consent purpose (ConsentNotifyNew or ConsentFeedback).
func (s *Store) SignUnsubscribe(userID, purpose string) (string, error) {
	code, ok := unsubscribeCodes[purpose]
	if !ok || !ValidID(userID) {
		return "", fmt.Errorf("store: sign unsubscribe: invalid purpose %q or user id", purpose)
	}
	expiry := strconv.FormatInt(s.Now().Add(unsubscribeTTL).Unix(), 36)
	mac := unsubscribeMAC(s.unsubscribeKey(), userID, code, expiry)
	return userID + "." + code + "." + expiry + "." + base64.RawURLEncoding.EncodeToString(mac), nil
}

// Why an unsubscribe token is refused.
var (
	ErrTokenMalformed = errors.New("store: unsubscribe token malformed or tampered with")
	ErrTokenExpired   = errors.New("store: unsubscribe token expired")
)

// UnsubscribeToken is a parsed token, not yet verified.
type UnsubscribeToken struct {
	UserID  string
	Purpose string
	Expiry  time.Time
	code    string
	expiry  string
	mac     []byte
}

// ParseUnsubscribeToken splits a token from a URL into its parts, checking
// only their shape. It never panics, whatever it is given.
func ParseUnsubscribeToken(token string) (UnsubscribeToken, bool) {
	var t UnsubscribeToken
	if len(token) > maxUnsubscribeLen {
		return t, false
	}
	parts := strings.Split(token, ".")
	if len(parts) != 4 || !ValidID(parts[0]) || len(parts[2]) == 0 || len(parts[2]) > 13 || len(parts[3]) != 22 {
		return t, false
	}
	for p, c := range unsubscribeCodes {
		if c == parts[1] {
			t.Purpose = p
		}
	}
	if t.Purpose == "" {
		return t, false
	}
	for _, c := range parts[2] {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z') {
			return t, false
		}
	}
	secs, err := strconv.ParseInt(parts[2], 36, 64)
	if err != nil || secs <= 0 || strconv.FormatInt(secs, 36) != parts[2] {
		return t, false
	}
	mac, err := base64.RawURLEncoding.Strict().DecodeString(parts[3])
	if err != nil || len(mac) != 16 {
		return t, false
	}
	t.UserID, t.code, t.expiry, t.mac, t.Expiry = parts[0], parts[1], parts[2], mac, time.Unix(secs, 0).UTC()
	return t, true
}

// VerifyUnsubscribe checks a token's MAC and expiry and returns the account
// and consent purpose it unsubscribes. A token whose MAC does not match is
// ErrTokenMalformed, one past its expiry ErrTokenExpired.
func (s *Store) VerifyUnsubscribe(token string) (userID, purpose string, err error) {
	t, ok := ParseUnsubscribeToken(token)
	if !ok || !hmac.Equal(t.mac, unsubscribeMAC(s.unsubscribeKey(), t.UserID, t.code, t.expiry)) {
		return "", "", ErrTokenMalformed
	}
	if !s.Now().Before(t.Expiry) {
		return "", "", ErrTokenExpired
	}
	return t.UserID, t.Purpose, nil
}

// Unsubscribe records that userID no longer wants mail of the consent
// purpose (how 'unsubscribe'). Unsubscribing twice changes nothing more.
// An account that no longer exists is ErrNotFound.
func (s *Store) Unsubscribe(ctx context.Context, userID, purpose string) error {
	var exists bool
	if err := s.rdb.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM users WHERE id = ?)", userID).Scan(&exists); err != nil {
		return fmt.Errorf("store: unsubscribe: %w", err)
	}
	if !exists {
		return ErrNotFound
	}
	if purpose != ConsentNotifyNew && purpose != ConsentFeedback {
		return fmt.Errorf("store: unsubscribe: unknown purpose %q", purpose)
	}
	// Only this purpose is touched, and it is read in the transaction
	// that writes it: the other purpose's choice is never rewritten from
	// a stale read.
	now := s.Now()
	err := s.tx(ctx, func(tx *sql.Tx) error {
		cur, err := currentConsents(ctx, tx, userID)
		if err != nil {
			return err
		}
		if on := map[string]bool{ConsentNotifyNew: cur.NotifyNew, ConsentFeedback: cur.Feedback}[purpose]; !on {
			return nil
		}
		return setConsent(ctx, tx, userID, purpose, false, "unsubscribe", now)
	})
	if err != nil {
		return fmt.Errorf("store: unsubscribe: %w", err)
	}
	return nil
}
