package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Case kinds: one per right of the rights portal.
const (
	CaseAccess          = "access"
	CaseRectification   = "rectification"
	CaseErasure         = "erasure"
	CaseRestriction     = "restriction"
	CasePortability     = "portability"
	CaseObjection       = "objection"
	CaseWithdrawConsent = "withdraw_consent"
	CaseReview          = "review_decision"
)

// Case statuses.
const (
	CaseOpen       = "open"
	CaseInProgress = "in_progress"
	CaseCompleted  = "completed"
	CaseCancelled  = "cancelled"
	CaseRejected   = "rejected"
)

// ValidCaseKind reports whether k is a case kind.
func ValidCaseKind(k string) bool {
	switch k {
	case CaseAccess, CaseRectification, CaseErasure, CaseRestriction, CasePortability, CaseObjection, CaseWithdrawConsent, CaseReview:
		return true
	}
	return false
}

// ValidCaseStatus reports whether s is a case status.
func ValidCaseStatus(s string) bool {
	switch s {
	case CaseOpen, CaseInProgress, CaseCompleted, CaseCancelled, CaseRejected:
		return true
	}
	return false
}

func rightsTables() []table {
	c := Field{Category: CatConsents, Personal: true, Purposes: []string{"handle the person's requests about their data within the legal deadlines"},
		Basis: BasisLegal, Retention: "kept as proof of how each request was handled", Export: ExportInclude, Erasure: EraseKeep,
		Why: "proof that a request, erasure included, was handled; after erasure only the random id and dates remain, sealed text is unreadable"}
	return []table{
		{db: DBMain, name: "rights_cases", base: c, sealed: []string{"details", "identity_check"},
			columns: []string{"id", "user_id", "kind", "status", "received_at", "due_at", "extended", "details", "execute_after", "closed_at", "reminder_sent_at",
				"channel", "recorded_by", "identity_check"}},
		{db: DBMain, name: "rights_case_events", base: c, sealed: []string{"note"},
			columns: []string{"id", "case_id", "at", "actor_id", "status", "note"}},
	}
}

// AddMonths adds n calendar months the way deadlines count them: the same
// day of the month, or the month's last day when it has no such day
// (31 January + 1 month = 28 or 29 February).
func AddMonths(t time.Time, n int) time.Time {
	y, m, d := t.Date()
	first := time.Date(y, m+time.Month(n), 1, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), t.Location())
	last := first.AddDate(0, 1, -1).Day()
	return first.AddDate(0, 0, min(d, last)-1)
}

// DueDate is when a request received at t must be answered: one calendar
// month later, plus up to two more when extended.
func DueDate(received time.Time, extendedMonths int) time.Time {
	return AddMonths(received, 1+extendedMonths)
}

// Channels a request can arrive by: the portal itself, or from outside it,
// recorded by the privacy officer on the person's behalf.
const (
	ChannelPortal = "portal"
	ChannelEmail  = "email"
	ChannelLetter = "letter"
	ChannelPhone  = "phone"
)

// ValidOutsideChannel reports whether ch is a channel outside the portal.
func ValidOutsideChannel(ch string) bool {
	return ch == ChannelEmail || ch == ChannelLetter || ch == ChannelPhone
}

// Case is one rights request.
type Case struct {
	ID            string
	UserID        string
	Kind          string
	Status        string
	ReceivedAt    time.Time
	DueAt         time.Time
	Extended      bool
	Details       string // the person's words; "" once their key is gone
	ExecuteAfter  time.Time
	ClosedAt      time.Time
	Channel       string // ChannelPortal unless recorded by an officer
	RecordedBy    string // the officer who recorded a request from outside
	IdentityCheck string // how the person's identity was verified
	Events        []CaseEvent
}

// Open reports whether the case still needs an answer.
func (c Case) Open() bool { return c.Status == CaseOpen || c.Status == CaseInProgress }

// Overdue reports whether an open case is past its due date at now.
func (c Case) Overdue(now time.Time) bool { return c.Open() && now.After(c.DueAt) }

// CaseEvent is one step of a case's history.
type CaseEvent struct {
	At      time.Time
	ActorID string
	Status  string
	Note    string
}

// NewCase is what opening a case needs.
type NewCase struct {
	UserID       string
	Kind         string
	Status       string // usually CaseOpen; self-service rights complete at once
	Details      string
	ExecuteAfter time.Time
	Note         string // first history entry

	// A request from outside the portal: when it was received (the
	// deadline counts from then), by which channel, recorded by whom,
	// and how the person's identity was verified.
	ReceivedAt    time.Time
	Channel       string
	RecordedBy    string
	IdentityCheck string
}

// CreateCase opens a case received now (or at nc.ReceivedAt, for a request
// from outside the portal), due one calendar month after receipt.
func (s *Store) CreateCase(ctx context.Context, nc NewCase) (Case, error) {
	if !ValidCaseKind(nc.Kind) {
		return Case{}, fmt.Errorf("store: create case: unknown kind %q", nc.Kind)
	}
	if nc.Channel == "" {
		nc.Channel = ChannelPortal
	}
	if nc.Channel != ChannelPortal && !ValidOutsideChannel(nc.Channel) {
		return Case{}, fmt.Errorf("store: create case: unknown channel %q", nc.Channel)
	}
	if nc.Status == "" {
		nc.Status = CaseOpen
	}
	if nc.Kind == CaseErasure && nc.Status == CaseCompleted {
		return Case{}, ErrErasureNotCarriedOut
	}
	id := NewID()
	now := s.Now()
	received := now
	if !nc.ReceivedAt.IsZero() {
		if nc.ReceivedAt.After(now) {
			return Case{}, fmt.Errorf("store: create case: received in the future")
		}
		received = nc.ReceivedAt.UTC()
	}
	z, err := s.sealerFor(ctx, nc.UserID, "rights_cases", id)
	if err != nil {
		return Case{}, err
	}
	var closed any
	if nc.Status == CaseCompleted || nc.Status == CaseCancelled || nc.Status == CaseRejected {
		closed = ts(now)
	}
	actorID := nc.UserID
	if nc.RecordedBy != "" {
		actorID = nc.RecordedBy
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO rights_cases (id, user_id, kind, status, received_at, due_at, details, execute_after, closed_at,
			channel, recorded_by, identity_check)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, id, nc.UserID, nc.Kind, nc.Status, ts(received), ts(DueDate(received, 0)),
			z.sealOpt("details", nc.Details), tsOrNull(nc.ExecuteAfter), closed,
			nc.Channel, nullStr(nc.RecordedBy), z.sealOpt("identity_check", nc.IdentityCheck)); err != nil {
			return err
		}
		return s.addCaseEvent(ctx, tx, id, nc.UserID, actorID, nc.Status, nc.Note, now)
	})
	if err != nil {
		return Case{}, fmt.Errorf("store: create case: %w", err)
	}
	return s.Case(ctx, id)
}

func (s *Store) addCaseEvent(ctx context.Context, tx *sql.Tx, caseID, subjectID, actorID, status, note string, now time.Time) error {
	var sealed any
	if note != "" {
		z, err := s.sealerFor(ctx, subjectID, "rights_case_events", caseID)
		if err != nil {
			return err
		}
		sealed = z.seal("note", note)
	}
	_, err := tx.ExecContext(ctx, "INSERT INTO rights_case_events (case_id, at, actor_id, status, note) VALUES (?, ?, ?, ?, ?)",
		caseID, ts(now), actorID, status, sealed)
	return err
}

// ErrCaseClosed means the case no longer accepts that change.
var ErrCaseClosed = errors.New("store: the case is closed")

// ErrErasureNotCarriedOut means an erasure case was to be marked done
// while the account still exists: only the erasure itself completes it.
var ErrErasureNotCarriedOut = errors.New("store: the erasure has not been carried out")

// UpdateCase moves a case to status with a note in its history. Closed
// cases do not reopen, and an erasure case is never completed this way
// (see CompleteErasure).
func (s *Store) UpdateCase(ctx context.Context, id, actorID, status, note string) (Case, error) {
	if !ValidCaseStatus(status) {
		return Case{}, fmt.Errorf("store: update case: unknown status %q", status)
	}
	c, err := s.Case(ctx, id)
	if err != nil {
		return c, err
	}
	if !c.Open() {
		return c, ErrCaseClosed
	}
	if c.Kind == CaseErasure && status == CaseCompleted {
		return c, ErrErasureNotCarriedOut
	}
	now := s.Now()
	err = s.tx(ctx, func(tx *sql.Tx) error {
		closed := any(nil)
		if status != CaseOpen && status != CaseInProgress {
			closed = ts(now)
		}
		res, err := tx.ExecContext(ctx, "UPDATE rights_cases SET status = ?, closed_at = ? WHERE id = ? AND status IN ('open', 'in_progress')",
			status, closed, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrCaseClosed
		}
		return s.addCaseEvent(ctx, tx, id, c.UserID, actorID, status, note, now)
	})
	if errors.Is(err, ErrCaseClosed) {
		return c, err
	}
	if err != nil {
		return c, fmt.Errorf("store: update case: %w", err)
	}
	return s.Case(ctx, id)
}

// CompleteErasure marks an open erasure case done once the erasure has run:
// the check that the account is gone is part of the same statement, so no
// caller can close the case while the person's data lives on. closed_at is
// the time the erasure was carried out.
func (s *Store) CompleteErasure(ctx context.Context, id, actorID string) (Case, error) {
	c, err := s.Case(ctx, id)
	if err != nil {
		return c, err
	}
	if c.Kind != CaseErasure || !c.Open() {
		return c, ErrCaseClosed
	}
	now := s.Now()
	err = s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE rights_cases SET status = 'completed', closed_at = ?
			WHERE id = ? AND kind = 'erasure' AND status IN ('open', 'in_progress')
			AND NOT EXISTS (SELECT 1 FROM users WHERE users.id = rights_cases.user_id)`, ts(now), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			var open bool
			if err := tx.QueryRowContext(ctx, "SELECT status IN ('open', 'in_progress') FROM rights_cases WHERE id = ?", id).Scan(&open); err != nil {
				return err
			}
			if !open {
				return ErrCaseClosed
			}
			return ErrErasureNotCarriedOut
		}
		// No note: the person's key, which would seal it, is destroyed.
		return s.addCaseEvent(ctx, tx, id, c.UserID, actorID, CaseCompleted, "", now)
	})
	if errors.Is(err, ErrCaseClosed) || errors.Is(err, ErrErasureNotCarriedOut) {
		return c, err
	}
	if err != nil {
		return c, fmt.Errorf("store: complete erasure: %w", err)
	}
	return s.Case(ctx, id)
}

// ErrAlreadyExtended means a case's deadline was extended once already.
var ErrAlreadyExtended = errors.New("store: the deadline was extended already")

// ExtendCase moves the due date by months (1 or 2) from the original
// deadline: at most three calendar months after receipt in all.
func (s *Store) ExtendCase(ctx context.Context, id, actorID string, months int, reason string) (Case, error) {
	if months < 1 || months > 2 {
		return Case{}, fmt.Errorf("store: extend case: %d months", months)
	}
	c, err := s.Case(ctx, id)
	if err != nil {
		return c, err
	}
	if !c.Open() {
		return c, ErrCaseClosed
	}
	if c.Extended {
		return c, ErrAlreadyExtended
	}
	now := s.Now()
	err = s.tx(ctx, func(tx *sql.Tx) error {
		// The checks above read outside this transaction; repeat them here
		// so that an extension or a closing in between is not overridden.
		res, err := tx.ExecContext(ctx, `UPDATE rights_cases SET due_at = ?, extended = 1, reminder_sent_at = NULL
			WHERE id = ? AND extended = 0 AND status IN ('open', 'in_progress')`, ts(DueDate(c.ReceivedAt, months)), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			var open bool
			if err := tx.QueryRowContext(ctx, "SELECT status IN ('open', 'in_progress') FROM rights_cases WHERE id = ?", id).Scan(&open); err != nil {
				return err
			}
			if !open {
				return ErrCaseClosed
			}
			return ErrAlreadyExtended
		}
		return s.addCaseEvent(ctx, tx, id, c.UserID, actorID, c.Status, fmt.Sprintf("Deadline extended by %d month(s): %s", months, reason), now)
	})
	if errors.Is(err, ErrAlreadyExtended) || errors.Is(err, ErrCaseClosed) {
		return c, err
	}
	if err != nil {
		return c, fmt.Errorf("store: extend case: %w", err)
	}
	return s.Case(ctx, id)
}

const caseColumns = `id, user_id, kind, status, received_at, due_at, extended, details, COALESCE(execute_after, ''), COALESCE(closed_at, ''),
	channel, COALESCE(recorded_by, ''), identity_check`

func (s *Store) scanCase(ctx context.Context, sc interface{ Scan(...any) error }) (Case, error) {
	var c Case
	var details, identity []byte
	if err := sc.Scan(&c.ID, &c.UserID, &c.Kind, &c.Status, tsInto(&c.ReceivedAt), tsInto(&c.DueAt), &c.Extended, &details, tsInto(&c.ExecuteAfter), tsInto(&c.ClosedAt),
		&c.Channel, &c.RecordedBy, &identity); err != nil {
		return c, err
	}
	if details != nil || identity != nil {
		z, err := s.sealerFor(ctx, c.UserID, "rights_cases", c.ID)
		if err == nil {
			if details != nil {
				c.Details, _ = z.open("details", details)
			}
			if identity != nil {
				c.IdentityCheck, _ = z.open("identity_check", identity)
			}
		} else if !errors.Is(err, ErrNotFound) {
			return c, err
		}
	}
	return c, nil
}

// Case returns one case with its history.
func (s *Store) Case(ctx context.Context, id string) (Case, error) {
	c, err := s.scanCase(ctx, s.rdb.QueryRowContext(ctx, "SELECT "+caseColumns+" FROM rights_cases WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return c, ErrNotFound
	}
	if err != nil {
		return c, fmt.Errorf("store: case: %w", err)
	}
	rows, err := s.rdb.QueryContext(ctx, "SELECT at, actor_id, status, note FROM rights_case_events WHERE case_id = ? ORDER BY id", id)
	if err != nil {
		return c, fmt.Errorf("store: case events: %w", err)
	}
	defer rows.Close()
	var z *sealer
	for rows.Next() {
		var e CaseEvent
		var note []byte
		if err := rows.Scan(tsInto(&e.At), &e.ActorID, &e.Status, &note); err != nil {
			return c, fmt.Errorf("store: case events: %w", err)
		}
		if note != nil {
			if z == nil {
				if zz, err := s.sealerFor(ctx, c.UserID, "rights_case_events", id); err == nil {
					z = &zz
				}
			}
			if z != nil {
				e.Note, _ = z.open("note", note)
			}
		}
		c.Events = append(c.Events, e)
	}
	return c, rows.Err()
}

// UserCase returns a case of userID; another person's case is ErrNotFound.
func (s *Store) UserCase(ctx context.Context, userID, id string) (Case, error) {
	c, err := s.Case(ctx, id)
	if err != nil {
		return Case{}, err
	}
	if c.UserID != userID {
		return Case{}, ErrNotFound
	}
	return c, nil
}

// CaseFilter narrows the privacy officer's queue.
type CaseFilter struct {
	Kind    string
	Status  string // "" all, "open" for open and in progress
	Overdue bool
	UserID  string
	Limit   int
}

// Cases lists cases, oldest due first for open queues.
func (s *Store) Cases(ctx context.Context, f CaseFilter) ([]Case, error) {
	q := "SELECT " + caseColumns + " FROM rights_cases WHERE 1 = 1"
	var args []any
	if f.Kind != "" {
		q += " AND kind = ?"
		args = append(args, f.Kind)
	}
	switch f.Status {
	case "":
	case CaseOpen:
		q += " AND status IN ('open', 'in_progress')"
	default:
		q += " AND status = ?"
		args = append(args, f.Status)
	}
	if f.Overdue {
		q += " AND status IN ('open', 'in_progress') AND due_at < ?"
		args = append(args, ts(s.Now()))
	}
	if f.UserID != "" {
		q += " AND user_id = ?"
		args = append(args, f.UserID)
	}
	q += " ORDER BY status IN ('open', 'in_progress') DESC, due_at, received_at DESC"
	if f.Limit > 0 {
		q += " LIMIT ?"
		args = append(args, f.Limit)
	}
	rows, err := s.readQuery(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: cases: %w", err)
	}
	defer rows.Close()
	var out []Case
	for rows.Next() {
		c, err := s.scanCase(ctx, rows)
		if err != nil {
			return nil, fmt.Errorf("store: cases: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// OpenCase returns the person's open case of a kind, or ErrNotFound: a
// second erasure request shows the first instead of opening another.
func (s *Store) OpenCase(ctx context.Context, userID, kind string) (Case, error) {
	cs, err := s.Cases(ctx, CaseFilter{UserID: userID, Kind: kind, Status: CaseOpen, Limit: 1})
	if err != nil {
		return Case{}, err
	}
	if len(cs) == 0 {
		return Case{}, ErrNotFound
	}
	return cs[0], nil
}

// ErasuresDue lists open erasure cases whose grace period has ended.
func (s *Store) ErasuresDue(ctx context.Context) ([]Case, error) {
	rows, err := s.rdb.QueryContext(ctx, "SELECT "+caseColumns+` FROM rights_cases
		WHERE kind = 'erasure' AND status IN ('open', 'in_progress') AND execute_after IS NOT NULL AND execute_after <= ?`, ts(s.Now()))
	if err != nil {
		return nil, fmt.Errorf("store: erasures due: %w", err)
	}
	defer rows.Close()
	var out []Case
	for rows.Next() {
		c, err := s.scanCase(ctx, rows)
		if err != nil {
			return nil, fmt.Errorf("store: erasures due: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// CasesNeedingReminder lists open cases due within `within` that have not
// had a reminder yet.
func (s *Store) CasesNeedingReminder(ctx context.Context, within time.Duration) ([]Case, error) {
	now := s.Now()
	rows, err := s.rdb.QueryContext(ctx, "SELECT "+caseColumns+` FROM rights_cases
		WHERE status IN ('open', 'in_progress') AND reminder_sent_at IS NULL AND due_at <= ?`, ts(now.Add(within)))
	if err != nil {
		return nil, fmt.Errorf("store: reminders: %w", err)
	}
	defer rows.Close()
	var out []Case
	for rows.Next() {
		c, err := s.scanCase(ctx, rows)
		if err != nil {
			return nil, fmt.Errorf("store: reminders: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// MarkReminded records that the reminder for a case went out.
func (s *Store) MarkReminded(ctx context.Context, id string) error {
	return s.exec1(ctx, "mark reminded", "UPDATE rights_cases SET reminder_sent_at = ? WHERE id = ?", ts(s.Now()), id)
}

// Objections returns the purposes the person objects to.
func (s *Store) Objections(ctx context.Context, userID string) (map[string]bool, error) {
	rows, err := s.readQuery(ctx, "SELECT purpose FROM user_objections WHERE user_id = ?", userID)
	if err != nil {
		return nil, fmt.Errorf("store: objections: %w", err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return nil, err
		}
		out[p] = true
	}
	return out, rows.Err()
}

// DPOs lists the privacy officers (operators with the DPO flag).
func (s *Store) DPOs(ctx context.Context) ([]User, error) {
	ops, err := s.Operators(ctx)
	if err != nil {
		return nil, err
	}
	var out []User
	for _, o := range ops {
		if o.DPO && o.Status == "active" {
			out = append(out, o)
		}
	}
	return out, nil
}

// actOnCase carries out one action of the privacy officer on an open case,
// in one transaction: do changes the person's data and returns the note for
// the case history (before and after, in the person's words), then the
// case moves to status. A case closed meanwhile is ErrCaseClosed, and
// nothing changes.
func (s *Store) actOnCase(ctx context.Context, id, actorID, status, what string, do func(tx *sql.Tx, c Case) (string, error)) (Case, error) {
	c, err := s.Case(ctx, id)
	if err != nil {
		return c, err
	}
	if !c.Open() {
		return c, ErrCaseClosed
	}
	if c.Kind == CaseErasure && status == CaseCompleted {
		return c, ErrErasureNotCarriedOut
	}
	now := s.Now()
	err = s.tx(ctx, func(tx *sql.Tx) error {
		closed := any(nil)
		if status != CaseOpen && status != CaseInProgress {
			closed = ts(now)
		}
		res, err := tx.ExecContext(ctx, "UPDATE rights_cases SET status = ?, closed_at = ? WHERE id = ? AND status IN ('open', 'in_progress')",
			status, closed, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrCaseClosed
		}
		note, err := do(tx, c)
		if err != nil {
			return err
		}
		return s.addCaseEvent(ctx, tx, id, c.UserID, actorID, status, note, now)
	})
	switch {
	case errors.Is(err, ErrCaseClosed), errors.Is(err, ErrNotFound), errors.Is(err, ErrConflict):
		return c, err
	case err != nil:
		return c, fmt.Errorf("store: %s: %w", what, err)
	}
	return s.Case(ctx, id)
}

// RecordIdentityCheck records how the person's identity was verified for a
// request (a request from outside the portal is acted on only then); the
// case moves on to in progress.
func (s *Store) RecordIdentityCheck(ctx context.Context, id, actorID, how string) (Case, error) {
	return s.actOnCase(ctx, id, actorID, CaseInProgress, "identity check", func(tx *sql.Tx, c Case) (string, error) {
		z, err := s.sealerFor(ctx, c.UserID, "rights_cases", c.ID)
		if err != nil {
			return "", err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE rights_cases SET identity_check = ? WHERE id = ?", z.seal("identity_check", how), c.ID); err != nil {
			return "", err
		}
		return "Identity verified: " + how, nil
	})
}

// UserCertificates lists the certificates issued to a person, newest first.
func (s *Store) UserCertificates(ctx context.Context, userID string) ([]Certificate, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT c.code, c.training_id, t.title, m.name, c.holder_name, c.issued_at
		FROM certificates c JOIN trainings t ON t.id = c.training_id JOIN members m ON m.id = t.member_id
		WHERE c.user_id = ? ORDER BY c.issued_at DESC`, userID)
	if err != nil {
		return nil, fmt.Errorf("store: certificates: %w", err)
	}
	defer rows.Close()
	var out []Certificate
	for rows.Next() {
		var c Certificate
		var holder []byte
		if err := rows.Scan(&c.Code, &c.TrainingID, &c.TrainingTitle, &c.MemberName, &holder, tsInto(&c.IssuedAt)); err != nil {
			return nil, fmt.Errorf("store: certificates: %w", err)
		}
		z, err := s.sealerFor(ctx, userID, "certificates", c.Code)
		if err != nil {
			return nil, err
		}
		if c.HolderName, err = z.open("holder_name", holder); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// RectifyCertificateName corrects the holder's name on one of the case's
// person's certificates, a field the person cannot edit themselves. The
// names before and after go into the case history, sealed with the
// person's key; the case stays in progress until the officer closes it.
// A certificate of someone else is ErrNotFound.
func (s *Store) RectifyCertificateName(ctx context.Context, id, actorID, code, name string) (Case, error) {
	return s.actOnCase(ctx, id, actorID, CaseInProgress, "rectify certificate", func(tx *sql.Tx, c Case) (string, error) {
		var sealed []byte
		err := tx.QueryRowContext(ctx, "SELECT holder_name FROM certificates WHERE code = ? AND user_id = ?", code, c.UserID).Scan(&sealed)
		if errors.Is(err, sql.ErrNoRows) {
			return "", ErrNotFound
		}
		if err != nil {
			return "", err
		}
		z, err := s.sealerFor(ctx, c.UserID, "certificates", code)
		if err != nil {
			return "", err
		}
		before, err := z.open("holder_name", sealed)
		if err != nil {
			return "", err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE certificates SET holder_name = ? WHERE code = ? AND user_id = ?",
			z.seal("holder_name", name), code, c.UserID); err != nil {
			return "", err
		}
		return fmt.Sprintf("Name on certificate %s corrected from %q to %q.", code, before, name), nil
	})
}

// GradeDecision is the privacy officer's answer to a request for human
// review of an automatic grade: keep it, or change it to Score.
type GradeDecision struct {
	AttemptID string
	Change    bool
	Score     int // 0 to 100, when Change
	Reason    string
}

// ReviewGrade records the human review of one of the person's quiz grades
// and closes the case: the grade is kept or changed (pass or fail follows
// the training's pass mark), with the grade before and after and the
// reason in the case history. An attempt of someone else is ErrNotFound.
func (s *Store) ReviewGrade(ctx context.Context, id, actorID string, d GradeDecision) (Case, error) {
	if d.Change && (d.Score < 0 || d.Score > 100) {
		return Case{}, fmt.Errorf("store: review grade: score %d", d.Score)
	}
	return s.actOnCase(ctx, id, actorID, CaseCompleted, "review grade", func(tx *sql.Tx, c Case) (string, error) {
		var before, passMark int
		var title string
		err := tx.QueryRowContext(ctx, `SELECT a.score, t.pass_mark, t.title FROM quiz_attempts a JOIN trainings t ON t.id = a.training_id
			WHERE a.id = ? AND a.user_id = ?`, d.AttemptID, c.UserID).Scan(&before, &passMark, &title)
		if errors.Is(err, sql.ErrNoRows) {
			return "", ErrNotFound
		}
		if err != nil {
			return "", err
		}
		if !d.Change || d.Score == before {
			return fmt.Sprintf("Grade %d%% in %q reviewed by a person and kept. Reason: %s", before, title, d.Reason), nil
		}
		if _, err := tx.ExecContext(ctx, "UPDATE quiz_attempts SET score = ?, passed = ? WHERE id = ? AND user_id = ?",
			d.Score, d.Score >= passMark, d.AttemptID, c.UserID); err != nil {
			return "", err
		}
		result := "not passed"
		if d.Score >= passMark {
			result = "passed"
		}
		return fmt.Sprintf("Grade in %q reviewed by a person and changed from %d%% to %d%% (%s). Reason: %s", title, before, d.Score, result, d.Reason), nil
	})
}

// CaseCounts counts the open cases, those due within `within` (not yet
// overdue) and those overdue, for the console's navigation and home.
func (s *Store) CaseCounts(ctx context.Context, within time.Duration) (open, dueSoon, overdue int, err error) {
	now := s.Now()
	err = s.rdb.QueryRowContext(ctx, `SELECT COUNT(*),
		COALESCE(SUM(due_at >= ? AND due_at <= ?), 0), COALESCE(SUM(due_at < ?), 0)
		FROM rights_cases WHERE status IN ('open', 'in_progress')`, ts(now), ts(now.Add(within)), ts(now)).Scan(&open, &dueSoon, &overdue)
	if err != nil {
		err = fmt.Errorf("store: case counts: %w", err)
	}
	return
}

// CasesDueBy lists the open cases due by t (overdue ones included), the
// soonest first.
func (s *Store) CasesDueBy(ctx context.Context, t time.Time) ([]Case, error) {
	rows, err := s.rdb.QueryContext(ctx, "SELECT "+caseColumns+` FROM rights_cases
		WHERE status IN ('open', 'in_progress') AND due_at <= ? ORDER BY due_at, id`, ts(t))
	if err != nil {
		return nil, fmt.Errorf("store: cases due: %w", err)
	}
	defer rows.Close()
	var out []Case
	for rows.Next() {
		c, err := s.scanCase(ctx, rows)
		if err != nil {
			return nil, fmt.Errorf("store: cases due: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
