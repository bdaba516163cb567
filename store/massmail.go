package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Kinds of mass mailing: the mail kinds they send.
const (
	MassBreachNotice = MailBreachNotice
	MassAnnouncement = MailAnnouncement
	MassFeedback     = MailFeedbackRequest
	MassPolicyUpdate = MailPolicyUpdate
)

// Mass mailing states.
const (
	MassRunning = "running"
	MassDone    = "done"
	MassFailed  = "failed"
)

func massMailTables() []table {
	return []table{systemTable(DBMain, "mass_mailings",
		"the progress of a mass mailing: what it is about, counts and times; the account id of who started it is kept for accountability",
		"id", "kind", "ref_id", "params", "created_by", "created_at", "status", "targeted", "processed", "queued", "finished_at", "last_error")}
}

// MassMailing is one mailing to many people and how far it got.
type MassMailing struct {
	ID, Kind, RefID, CreatedBy string
	Params                     map[string][]string // e.g. the countries of an announcement
	Status                     string
	Targeted, Processed        int // people to mail, people handled so far
	Queued                     int // mails queued by this mailing
	CreatedAt, FinishedAt      time.Time
	LastError                  string
}

// CreateMassMailing records a mailing to run in the background.
func (s *Store) CreateMassMailing(ctx context.Context, kind, refID, createdBy string, params map[string][]string) (MassMailing, error) {
	switch kind {
	case MassBreachNotice, MassAnnouncement, MassFeedback, MassPolicyUpdate:
	default:
		return MassMailing{}, fmt.Errorf("store: mass mailing: unknown kind %q", kind)
	}
	if params == nil {
		params = map[string][]string{}
	}
	b, err := json.Marshal(params)
	if err != nil {
		return MassMailing{}, err
	}
	id := NewID()
	if err := s.exec1(ctx, "create mass mailing", `INSERT INTO mass_mailings (id, kind, ref_id, params, created_by, created_at)
		VALUES (?, ?, ?, ?, ?, ?)`, id, kind, refID, string(b), createdBy, ts(s.Now())); err != nil {
		return MassMailing{}, err
	}
	return s.MassMailing(ctx, id)
}

const massColumns = `id, kind, ref_id, params, created_by, created_at, status, targeted, processed, queued, finished_at, COALESCE(last_error, '')`

func scanMass(sc interface{ Scan(...any) error }) (MassMailing, error) {
	var m MassMailing
	var params string
	if err := sc.Scan(&m.ID, &m.Kind, &m.RefID, &params, &m.CreatedBy, tsInto(&m.CreatedAt), &m.Status, &m.Targeted, &m.Processed, &m.Queued,
		tsInto(&m.FinishedAt), &m.LastError); err != nil {
		return m, err
	}
	if err := json.Unmarshal([]byte(params), &m.Params); err != nil {
		return m, err
	}
	return m, nil
}

// MassMailing returns one mailing.
func (s *Store) MassMailing(ctx context.Context, id string) (MassMailing, error) {
	m, err := scanMass(s.rdb.QueryRowContext(ctx, "SELECT "+massColumns+" FROM mass_mailings WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return m, ErrNotFound
	}
	if err != nil {
		return m, fmt.Errorf("store: mass mailing: %w", err)
	}
	return m, nil
}

func (s *Store) massMailings(ctx context.Context, where string, args ...any) ([]MassMailing, error) {
	rows, err := s.rdb.QueryContext(ctx, "SELECT "+massColumns+" FROM mass_mailings WHERE "+where+" ORDER BY created_at, id", args...)
	if err != nil {
		return nil, fmt.Errorf("store: mass mailings: %w", err)
	}
	defer rows.Close()
	var out []MassMailing
	for rows.Next() {
		m, err := scanMass(rows)
		if err != nil {
			return nil, fmt.Errorf("store: mass mailings: %w", err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// RunningMassMailings lists the mailings still to finish, oldest first.
func (s *Store) RunningMassMailings(ctx context.Context) ([]MassMailing, error) {
	return s.massMailings(ctx, "status = 'running'")
}

// MassMailingsFor lists the mailings of kind about refID, oldest first.
func (s *Store) MassMailingsFor(ctx context.Context, kind, refID string) ([]MassMailing, error) {
	return s.massMailings(ctx, "kind = ? AND ref_id = ?", kind, refID)
}

// MassMailingProgress records how far a mailing got.
func (s *Store) MassMailingProgress(ctx context.Context, id string, targeted, processed, queued int) error {
	return s.exec1(ctx, "mass mailing progress", "UPDATE mass_mailings SET targeted = ?, processed = ?, queued = ? WHERE id = ?",
		targeted, processed, queued, id)
}

// FinishMassMailing closes a mailing, failed when lastError is set.
func (s *Store) FinishMassMailing(ctx context.Context, id, lastError string) error {
	status := MassDone
	if lastError != "" {
		status = MassFailed
	}
	return s.exec1(ctx, "finish mass mailing", "UPDATE mass_mailings SET status = ?, finished_at = ?, last_error = ? WHERE id = ?",
		status, ts(s.Now()), nullStr(lastError), id)
}

// QueueMassMails queues one batch of a mailing about refID: for each mail,
// in one transaction, the person's claim (notifications, or
// breach_notifications for breach notices), the outbox row and the link
// between them. A person claimed already is skipped, so however often a
// mailing is resumed nobody gets its mail twice, and a crash leaves no
// claim without its mail. It returns how many mails were queued.
func (s *Store) QueueMassMails(ctx context.Context, kind, refID string, mails []NewMail) (int, error) {
	prepared := make([]preparedMail, len(mails))
	for i, m := range mails {
		if m.Kind != kind || m.UserID == "" {
			return 0, fmt.Errorf("store: queue mass mails: mail %d is not a %s to an account", i, kind)
		}
		p, err := s.prepareMail(ctx, m)
		if err != nil {
			return 0, err
		}
		prepared[i] = p
	}
	now := ts(s.Now())
	queued := 0
	err := s.tx(ctx, func(tx *sql.Tx) error {
		queued = 0
		claim := `INSERT INTO notifications (kind, ref_id, user_id, queued_at, outbox_id) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (kind, ref_id, user_id) DO NOTHING`
		args := func(m NewMail, p preparedMail) []any { return []any{kind, refID, m.UserID, now, p.id} }
		if kind == MassBreachNotice {
			// A stale claim of an older notify action without its mail is
			// taken over, as ClaimBreachNotices does.
			claim = `INSERT INTO breach_notifications (breach_id, user_id, claimed_at, queued_at, outbox_id) VALUES (?, ?, ?, ?, ?)
				ON CONFLICT (breach_id, user_id) DO UPDATE SET claimed_at = excluded.claimed_at, queued_at = excluded.queued_at,
				outbox_id = excluded.outbox_id WHERE outbox_id IS NULL`
			args = func(m NewMail, p preparedMail) []any { return []any{refID, m.UserID, now, now, p.id} }
		}
		stmt, err := tx.PrepareContext(ctx, claim)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for i, m := range mails {
			res, err := stmt.ExecContext(ctx, args(m, prepared[i])...)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				continue // told already
			}
			if err := prepared[i].insert(ctx, tx); err != nil {
				return err
			}
			queued++
		}
		if kind == MassBreachNotice && queued > 0 {
			_, err = tx.ExecContext(ctx, "UPDATE breaches SET notified_at = ? WHERE id = ? AND notified_at IS NULL", now, refID)
		}
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: queue mass mails: %w", err)
	}
	return queued, nil
}

// MassDelivery counts the mails of a mailing's kind about refID by outbox
// status: what the console shows as sent, waiting and failed.
func (s *Store) MassDelivery(ctx context.Context, kind, refID string) (sent, waiting, failed int, err error) {
	q := `SELECT COALESCE(SUM(o.status = 'sent'), 0), COALESCE(SUM(o.status = 'queued'), 0), COALESCE(SUM(o.status = 'failed'), 0)
		FROM notifications n JOIN outbox o ON o.id = n.outbox_id WHERE n.kind = ? AND n.ref_id = ?`
	args := []any{kind, refID}
	if kind == MassBreachNotice {
		q = `SELECT COALESCE(SUM(o.status = 'sent'), 0), COALESCE(SUM(o.status = 'queued'), 0), COALESCE(SUM(o.status = 'failed'), 0)
			FROM breach_notifications n JOIN outbox o ON o.id = n.outbox_id WHERE n.breach_id = ?`
		args = []any{refID}
	}
	if err = s.rdb.QueryRowContext(ctx, q, args...).Scan(&sent, &waiting, &failed); err != nil {
		err = fmt.Errorf("store: mass delivery: %w", err)
	}
	return
}

// MailsPerPerson counts the outbox mails of kind per account, for checks
// that a mailing reached each person once.
func (s *Store) MailsPerPerson(ctx context.Context, kind string) (map[string]int, error) {
	rows, err := s.rdb.QueryContext(ctx, "SELECT user_id, COUNT(*) FROM outbox WHERE kind = ? AND user_id IS NOT NULL GROUP BY user_id", kind)
	if err != nil {
		return nil, fmt.Errorf("store: mails per person: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, fmt.Errorf("store: mails per person: %w", err)
		}
		out[id] = n
	}
	return out, rows.Err()
}
