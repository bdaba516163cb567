package store

import (
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// Outbox statuses.
const (
	MailQueued = "queued"
	MailSent   = "sent"
	MailFailed = "failed"
)

// MailErased is the reason recorded for mail whose recipient was erased
// before it could be delivered.
const MailErased = "recipient erased"

// systemKeySubject names the shared data key that seals data belonging to no
// account (mail to an address without an account). It lives in keys.db with
// the per-person keys, so key rotation re-wraps it too.
const systemKeySubject = "system"

// mailLease is how long DueMail reserves the mail it hands out. A second
// delivery pass started meanwhile does not send it again, and mail claimed by
// a process that died mid-send is retried once the lease runs out.
const mailLease = 5 * time.Minute

// errUnreadable marks a sealed field that exists but cannot be opened.
var errUnreadable = errors.New("sealed field cannot be opened")

// NewMail is a message to put in the outbox. UserID is the recipient's
// account when there is one: the mail is then sealed with that person's key
// and disappears with them at erasure.
type NewMail struct {
	UserID  string
	To      string
	Kind    string // what the mail is for: "verify", "reset", "duplicate_notice", ...
	Subject string
	Text    string
	HTML    string
	Headers map[string]string // extra headers, e.g. List-Unsubscribe

	// LinkExpires is when the link in the mail stops working; LinkToken the
	// account token it carries, if any. Once the link is dead (expired or
	// used) the mail is dropped unsent.
	LinkExpires time.Time
	LinkToken   string
}

// MailLinkDead is the recorded reason for mail dropped because its link
// no longer works.
const MailLinkDead = "dropped unsent: the link in it had expired or was used"

// OutboxMail is an outbox row with its sealed fields opened. For a row
// whose key is gone (the person was erased) the sealed fields are empty.
type OutboxMail struct {
	ID            string
	UserID        string
	To            string
	Kind          string
	Subject       string
	Text          string
	HTML          string
	Headers       map[string]string
	Status        string
	Attempts      int
	NextAttemptAt time.Time
	CreatedAt     time.Time
	SentAt        time.Time
	LastError     string
}

// EnqueueMail seals m and queues it for immediate delivery. It returns the
// outbox id, which is what logs may mention instead of the address.
func (s *Store) EnqueueMail(ctx context.Context, m NewMail) (string, error) {
	p, err := s.prepareMail(ctx, m)
	if err != nil {
		return "", err
	}
	err = s.tx(ctx, func(tx *sql.Tx) error { return p.insert(ctx, tx) })
	if err != nil {
		return "", fmt.Errorf("store: enqueue mail: %w", err)
	}
	return p.id, nil
}

// preparedMail is a mail sealed and ready to insert, so that sealing (key
// lookups in keys.db) happens outside the write transaction.
type preparedMail struct {
	id   string
	args []any
}

func (s *Store) prepareMail(ctx context.Context, m NewMail) (preparedMail, error) {
	if strings.TrimSpace(m.To) == "" {
		return preparedMail{}, errors.New("store: enqueue mail: no recipient")
	}
	if m.Kind == "" {
		return preparedMail{}, errors.New("store: enqueue mail: no kind")
	}
	id := NewID()
	z, err := s.outboxSealer(ctx, m.UserID, id)
	if err != nil {
		return preparedMail{}, fmt.Errorf("store: enqueue mail: %w", err)
	}
	var headers any
	if len(m.Headers) > 0 {
		b, err := json.Marshal(m.Headers)
		if err != nil {
			return preparedMail{}, fmt.Errorf("store: enqueue mail: %w", err)
		}
		headers = z.seal("headers", string(b))
	}
	now := ts(s.Now())
	var linkHash any
	if m.LinkToken != "" {
		linkHash = hex.EncodeToString(tokenHash(m.LinkToken))
	}
	return preparedMail{id: id, args: []any{id, nullStr(m.UserID), z.seal("recipient", m.To), z.sealOpt("subject", m.Subject),
		z.sealOpt("body_text", m.Text), z.sealOpt("body_html", m.HTML), headers, m.Kind, now, now, tsOrNull(m.LinkExpires), linkHash}}, nil
}

func (p preparedMail) insert(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO outbox (id, user_id, recipient, subject, body_text, body_html, headers,
		kind, status, attempts, next_attempt_at, created_at, link_expires_at, link_token_hash)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'queued', 0, ?, ?, ?, ?)`, p.args...)
	return err
}

// outboxSealer picks the key of a mail: the recipient's own, or the shared
// system key for mail to someone without an account.
func (s *Store) outboxSealer(ctx context.Context, userID, id string) (sealer, error) {
	if userID != "" {
		return s.sealerFor(ctx, userID, "outbox", id)
	}
	dk, err := s.systemDataKey(ctx)
	if err != nil {
		return sealer{}, err
	}
	return sealer{dk: dk, table: "outbox", row: id}, nil
}

// systemDataKey returns the shared system key, creating it on first use.
func (s *Store) systemDataKey(ctx context.Context) ([]byte, error) {
	dk, err := s.dataKey(ctx, systemKeySubject)
	if errors.Is(err, ErrNotFound) {
		dk, err = s.createDataKey(ctx, systemKeySubject)
		if errors.Is(err, ErrConflict) {
			// Created concurrently by another caller: use theirs.
			dk, err = s.dataKey(ctx, systemKeySubject)
		}
	}
	return dk, err
}

const outboxColumns = `id, user_id, recipient, subject, body_text, body_html, headers, kind, status, attempts,
	next_attempt_at, last_error, created_at, sent_at`

// outboxRow is an outbox row as stored, still sealed.
type outboxRow struct {
	m                                         OutboxMail
	recipient, subject, text, html, headerVal []byte
}

func scanOutbox(rows *sql.Rows) ([]outboxRow, error) {
	defer rows.Close()
	var out []outboxRow
	for rows.Next() {
		var r outboxRow
		var userID, lastError sql.NullString
		if err := rows.Scan(&r.m.ID, &userID, &r.recipient, &r.subject, &r.text, &r.html, &r.headerVal, &r.m.Kind,
			&r.m.Status, &r.m.Attempts, tsInto(&r.m.NextAttemptAt), &lastError, tsInto(&r.m.CreatedAt), tsInto(&r.m.SentAt)); err != nil {
			return nil, err
		}
		r.m.UserID, r.m.LastError = userID.String, lastError.String
		out = append(out, r)
	}
	return out, rows.Err()
}

// open returns the mail with its sealed fields opened. A destroyed key is
// ErrNotFound; a field that does not open is errUnreadable.
func (s *Store) openOutbox(ctx context.Context, r outboxRow) (OutboxMail, error) {
	m := r.m
	var z sealer
	var err error
	if m.UserID != "" {
		z, err = s.sealerFor(ctx, m.UserID, "outbox", m.ID)
	} else {
		var dk []byte
		dk, err = s.dataKey(ctx, systemKeySubject)
		z = sealer{dk: dk, table: "outbox", row: m.ID}
	}
	if err != nil {
		return m, err
	}
	var headers string
	for _, f := range []struct {
		col string
		b   []byte
		dst *string
	}{{"recipient", r.recipient, &m.To}, {"subject", r.subject, &m.Subject}, {"body_text", r.text, &m.Text},
		{"body_html", r.html, &m.HTML}, {"headers", r.headerVal, &headers}} {
		if *f.dst, err = z.open(f.col, f.b); err != nil {
			return r.m, fmt.Errorf("%w: %w", errUnreadable, err)
		}
	}
	if headers != "" {
		if err := json.Unmarshal([]byte(headers), &m.Headers); err != nil {
			return r.m, fmt.Errorf("%w: headers: %w", errUnreadable, err)
		}
	}
	return m, nil
}

// DueMail hands out up to limit queued mails whose next attempt is due,
// oldest first, and reserves them for a short lease (see mailLease). Mail
// whose key is gone (the recipient was erased) cannot be sent any more: it
// is skipped and marked failed with MailErased, and its ciphertext dropped.
func (s *Store) DueMail(ctx context.Context, limit int) ([]OutboxMail, error) {
	if limit <= 0 {
		return nil, nil
	}
	now := s.Now()
	var out []OutboxMail
	err := s.tx(ctx, func(tx *sql.Tx) error {
		out = nil
		rows, err := tx.QueryContext(ctx, "SELECT "+outboxColumns+` FROM outbox
			WHERE status = 'queued' AND next_attempt_at <= ? ORDER BY created_at, id LIMIT ?`, ts(now), limit)
		if err != nil {
			return err
		}
		raw, err := scanOutbox(rows)
		if err != nil {
			return err
		}
		for _, r := range raw {
			dead, err := linkDead(ctx, tx, r.m.ID, now)
			if err != nil {
				return err
			}
			m, err := s.openOutbox(ctx, r)
			var reason string
			switch {
			case dead:
				reason = MailLinkDead
			case err == nil:
				m.NextAttemptAt = now.Add(mailLease)
				if _, err := tx.ExecContext(ctx, "UPDATE outbox SET next_attempt_at = ? WHERE id = ?", ts(m.NextAttemptAt), m.ID); err != nil {
					return err
				}
				out = append(out, m)
				continue
			case errors.Is(err, ErrNotFound) && r.m.UserID != "":
				reason = MailErased
			case errors.Is(err, ErrNotFound):
				reason = "system data key missing"
			case errors.Is(err, errUnreadable):
				reason = "sealed fields could not be opened"
			default:
				return err
			}
			_, err = tx.ExecContext(ctx, `UPDATE outbox SET status = 'failed', last_error = ?, recipient = NULL, subject = NULL,
				body_text = NULL, body_html = NULL, headers = NULL WHERE id = ?`, reason, r.m.ID)
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: due mail: %w", err)
	}
	return out, nil
}

// linkDead reports whether the link in a queued mail no longer works: it
// expired, or its one-time account token was used. (A token replaced by a
// newer one before it was used is not counted: its mail still goes, as
// before, and says nothing the newer one does not.)
func linkDead(ctx context.Context, tx *sql.Tx, id string, now time.Time) (bool, error) {
	var expires, hash sql.NullString
	if err := tx.QueryRowContext(ctx, "SELECT link_expires_at, link_token_hash FROM outbox WHERE id = ?", id).Scan(&expires, &hash); err != nil {
		return false, err
	}
	if expires.Valid && expires.String <= ts(now) {
		return true, nil
	}
	if !hash.Valid {
		return false, nil
	}
	h, err := hex.DecodeString(hash.String)
	if err != nil {
		return true, nil
	}
	var used int
	err = tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM account_tokens WHERE token_hash = ? AND used_at IS NOT NULL", h).Scan(&used)
	return used > 0, err
}

// MarkMailSent records a delivery. Only queued mail can be marked; anything
// else (deleted, already failed) is ErrNotFound. Mail to someone without an
// account here (an invitation, the confirmation of an erasure) is sealed
// under the system key, not theirs: its contents go as soon as it is sent,
// so their address is not kept for the mail-contents retention period.
func (s *Store) MarkMailSent(ctx context.Context, id string) error {
	return s.markMail(ctx, "sent", `UPDATE outbox SET status = 'sent', attempts = attempts + 1, sent_at = ?, last_error = NULL,
		recipient = CASE WHEN user_id IS NULL THEN NULL ELSE recipient END,
		subject = CASE WHEN user_id IS NULL THEN NULL ELSE subject END,
		body_text = CASE WHEN user_id IS NULL THEN NULL ELSE body_text END,
		body_html = CASE WHEN user_id IS NULL THEN NULL ELSE body_html END,
		headers = CASE WHEN user_id IS NULL THEN NULL ELSE headers END
		WHERE id = ? AND status = 'queued'`, ts(s.Now()), id)
}

// MarkMailRetry records a failed attempt and when to try again. reason is
// stored sanitised: anything that looks like an address is removed.
func (s *Store) MarkMailRetry(ctx context.Context, id, reason string, next time.Time) error {
	return s.markMail(ctx, "retry", `UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?
		WHERE id = ? AND status = 'queued'`, sanitiseMailError(reason), ts(next), id)
}

// MarkMailFailed records a final failed attempt: the mail will not be sent.
func (s *Store) MarkMailFailed(ctx context.Context, id, reason string) error {
	return s.markMail(ctx, "failed", `UPDATE outbox SET status = 'failed', attempts = attempts + 1, last_error = ?
		WHERE id = ? AND status = 'queued'`, sanitiseMailError(reason), id)
}

func (s *Store) markMail(ctx context.Context, what, query string, args ...any) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, query, args...)
		if err != nil {
			return err
		}
		return mustAffect(res)
	})
	if errors.Is(err, ErrNotFound) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("store: mark mail %s: %w", what, err)
	}
	return nil
}

var addressLike = regexp.MustCompile(`\S*@\S*`)

// maxMailError bounds the stored error text.
const maxMailError = 200

// sanitiseMailError makes an error text safe to store and show: every token
// containing "@" (an address, whatever the server wrapped it in) becomes
// "<address>", control characters become spaces and the text is bounded.
func sanitiseMailError(reason string) string {
	reason = addressLike.ReplaceAllString(reason, "<address>")
	reason = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, reason)
	reason = strings.Join(strings.Fields(reason), " ")
	if len(reason) > maxMailError {
		cut := maxMailError
		for cut > 0 && !utf8.RuneStart(reason[cut]) {
			cut--
		}
		reason = reason[:cut] + "…"
	}
	if reason == "" {
		reason = "unknown error"
	}
	return reason
}

// OutboxStats summarises the outbox for the console and `kelas doctor`.
type OutboxStats struct {
	Queued, Sent, Failed int
	// Dropped counts mail dropped unsent because its link was dead: not a
	// delivery failure anyone must act on, so not in Failed.
	Dropped int
	// OldestQueued is when the oldest mail still waiting was queued; zero
	// when nothing waits.
	OldestQueued time.Time
}

// OutboxStats counts mail by status.
func (s *Store) OutboxStats(ctx context.Context) (OutboxStats, error) {
	var st OutboxStats
	err := s.rdb.QueryRowContext(ctx, `SELECT
		COUNT(*) FILTER (WHERE status = 'queued'),
		COUNT(*) FILTER (WHERE status = 'sent'),
		COUNT(*) FILTER (WHERE status = 'failed' AND last_error IS NOT ?1),
		COUNT(*) FILTER (WHERE status = 'failed' AND last_error IS ?1),
		MIN(created_at) FILTER (WHERE status = 'queued')
		FROM outbox`, MailLinkDead).Scan(&st.Queued, &st.Sent, &st.Failed, &st.Dropped, tsInto(&st.OldestQueued))
	if err != nil {
		return st, fmt.Errorf("store: outbox stats: %w", err)
	}
	return st, nil
}

// OutboxMails lists up to limit mails, newest first, opened. Mail whose key
// is gone is listed with its sealed fields empty.
func (s *Store) OutboxMails(ctx context.Context, limit int) ([]OutboxMail, error) {
	rows, err := s.rdb.QueryContext(ctx, "SELECT "+outboxColumns+" FROM outbox ORDER BY created_at DESC, id DESC LIMIT ?", limit)
	if err != nil {
		return nil, fmt.Errorf("store: outbox mails: %w", err)
	}
	raw, err := scanOutbox(rows)
	if err != nil {
		return nil, fmt.Errorf("store: outbox mails: %w", err)
	}
	out := make([]OutboxMail, 0, len(raw))
	for _, r := range raw {
		m, err := s.openOutbox(ctx, r)
		if err != nil && !errors.Is(err, ErrNotFound) && !errors.Is(err, errUnreadable) {
			return nil, fmt.Errorf("store: outbox mails: %w", err)
		}
		out = append(out, m)
	}
	return out, nil
}

// OutboxMail returns one mail, opened, or ErrNotFound.
func (s *Store) OutboxMail(ctx context.Context, id string) (OutboxMail, error) {
	rows, err := s.rdb.QueryContext(ctx, "SELECT "+outboxColumns+" FROM outbox WHERE id = ?", id)
	if err != nil {
		return OutboxMail{}, fmt.Errorf("store: outbox mail: %w", err)
	}
	raw, err := scanOutbox(rows)
	if err != nil {
		return OutboxMail{}, fmt.Errorf("store: outbox mail: %w", err)
	}
	if len(raw) == 0 {
		return OutboxMail{}, ErrNotFound
	}
	m, err := s.openOutbox(ctx, raw[0])
	if err != nil && !errors.Is(err, ErrNotFound) && !errors.Is(err, errUnreadable) {
		return OutboxMail{}, fmt.Errorf("store: outbox mail: %w", err)
	}
	return m, nil
}

// DeleteUserMail deletes every outbox row addressed to userID's account, sent
// or not; erasure calls it before destroying the person's key.
func (s *Store) DeleteUserMail(ctx context.Context, userID string) error {
	if userID == "" {
		return errors.New("store: delete user mail: no user id")
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "DELETE FROM outbox WHERE user_id = ?", userID)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: delete user mail: %w", err)
	}
	return nil
}

var purposeMail = []string{"send the messages the person asked for or must receive"}

// outboxTables classifies the outbox's columns for the data map.
func outboxTables() []table {
	const retention = "bodies purged after delivery retention (see retention rules)"
	base := Field{Category: CatAccount, Personal: true, Purposes: purposeMail, Basis: BasisContract,
		Retention: retention, Export: ExportInclude, Erasure: EraseDelete}
	omit := func(why string) Field {
		f := base
		f.Export, f.Why = ExportOmit, why
		return f
	}
	return []table{{
		db: DBMain, name: "outbox",
		columns: []string{"id", "user_id", "recipient", "subject", "body_text", "body_html", "headers", "kind", "status",
			"attempts", "next_attempt_at", "last_error", "created_at", "sent_at", "link_expires_at", "link_token_hash"},
		sealed: []string{"recipient", "subject", "body_text", "body_html", "headers"},
		base:   base,
		override: map[string]Field{
			"headers":         omit("transport headers, including one-click unsubscribe links that act as secrets"),
			"body_text":       omit("mail bodies carry links that act as secrets (confirmation, password reset, downloads); the export lists each mail sent by subject and date"),
			"body_html":       omit("mail bodies carry links that act as secrets (confirmation, password reset, downloads); the export lists each mail sent by subject and date"),
			"link_expires_at": omit("internal delivery scheduling: when the link in the mail stops working"),
			"link_token_hash": omit("the hash of the one-time link in the mail, to drop it once the link is dead"),
			"next_attempt_at": omit("internal delivery scheduling"),
		},
	}}
}
