package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Who a breach affects (breaches.scope).
const (
	BreachAll      = "all"      // every account
	BreachMember   = "member"   // the learners of one Member's trainings
	BreachTraining = "training" // the learners of one training
	BreachList     = "list"     // the people listed with the breach
)

// BreachDeadline is how long after detection the people affected must have
// been told (SPEC §4.8, the policy's 72 hours).
const BreachDeadline = 72 * time.Hour

// Audited actions of the breach register.
const (
	AuditBreachRecord = "breach.record"
	AuditBreachNotify = "breach.notify"
	AuditBreachExport = "breach.export"
)

func breachTables() []table {
	system := func(why string) Field {
		return Field{Category: CatSystem, Export: ExportOmit, Erasure: EraseNone, Why: why}
	}
	register := Field{Category: CatSecurity, Personal: true,
		Purposes:  []string{"document personal data breaches and what was done about them (GDPR Art. 33(5))"},
		Basis:     BasisLegal,
		Retention: "kept as the breach register",
		Export:    ExportOmit, Erasure: EraseKeep,
		Why: "the privacy officer's account of an incident, kept as the legally required register; " +
			"it is about the incident, not a record of one person"}
	affected := Field{Category: CatSecurity, Personal: true,
		Purposes:  []string{"tell the people affected by a personal data breach (GDPR Art. 34)"},
		Basis:     BasisLegal,
		Retention: "while the breach record is kept",
		Export:    ExportInclude, Erasure: EraseDelete}
	notified := affected
	notified.Erasure, notified.Why = EraseAnonymise,
		"the register keeps how many people were told; erasure removes the link to the person"
	recordedBy := register
	recordedBy.Category, recordedBy.Why = CatAccount,
		"the id of the privacy officer who recorded the incident, kept for accountability (GDPR Art. 5(2))"
	return []table{
		{db: DBMain, name: "breaches", base: system("facts about an incident: times, categories and scope"),
			columns: []string{"id", "title", "description", "measures", "advice", "contact", "categories", "occurred_at",
				"detected_at", "scope", "scope_id", "recorded_by", "recorded_at", "notified_at",
				"authority_notified_at", "authority_reference", "closed_at", "summary", "updated_at"},
			sealed: []string{"title", "description", "measures", "advice", "contact", "summary"},
			override: map[string]Field{"title": register, "description": register, "measures": register, "advice": register,
				"contact": register, "recorded_by": recordedBy, "summary": register}},
		{db: DBMain, name: "breach_events", base: system("the timeline of an incident: when what was learnt or done"),
			columns: []string{"id", "breach_id", "at", "actor_id", "kind", "note"}, sealed: []string{"note"},
			override: map[string]Field{"note": register, "actor_id": recordedBy}},
		{db: DBMain, name: "breach_people", base: affected, columns: []string{"breach_id", "user_id"}},
		{db: DBMain, name: "breach_notifications", base: notified,
			columns: []string{"id", "breach_id", "user_id", "outbox_id", "claimed_at", "queued_at"}},
	}
}

// BreachCategories are the data-map categories a breach can involve.
func BreachCategories() []Category {
	return []Category{CatRegistration, CatProfile, CatAccount, CatConsents, CatActivity, CatLearning,
		CatVisitorStats, CatAccessLog, CatDisclosures, CatSecurity}
}

// ValidBreachCategory reports whether c may be recorded on a breach.
func ValidBreachCategory(c string) bool { return slices.Contains(BreachCategories(), Category(c)) }

// NewBreach is an incident as the privacy officer records it.
type NewBreach struct {
	Title, Description, Measures, Advice, Contact string
	Categories                                    []string
	OccurredAt, DetectedAt                        time.Time
	Scope                                         string
	ScopeID                                       string   // member or training id
	People                                        []string // account ids, for BreachList
}

// Breach is one incident of the register, opened.
type Breach struct {
	ID                                            string
	Title, Description, Measures, Advice, Contact string
	Categories                                    []string
	OccurredAt, DetectedAt, RecordedAt            time.Time
	NotifiedAt                                    time.Time // zero until people were notified
	Scope, ScopeID                                string
	RecordedBy                                    string

	// The notification to the supervisory authority, which stops the
	// 72-hour clock, and its reference there.
	AuthorityNotifiedAt time.Time
	AuthorityReference  string
	ClosedAt            time.Time
	Summary             string // what the incident came to, written when closing it
	UpdatedAt           time.Time
	Events              []BreachEvent // the timeline; filled by Breach only
}

// Closed reports whether the incident is closed; the record stays.
func (b Breach) Closed() bool { return !b.ClosedAt.IsZero() }

// Breach timeline entry kinds.
const (
	BreachEventNote      = "note"
	BreachEventEdit      = "edit"
	BreachEventAuthority = "authority"
	BreachEventClose     = "close"
)

// BreachEvent is one entry of an incident's timeline.
type BreachEvent struct {
	At      time.Time
	ActorID string
	Kind    string
	Note    string
}

// Deadline is when the people affected must have been told.
func (b Breach) Deadline() time.Time { return b.DetectedAt.Add(BreachDeadline) }

// CreateBreach records an incident and audits it in the same transaction.
// People must be existing account ids (the app looks them up).
func (s *Store) CreateBreach(ctx context.Context, actor string, nb NewBreach) (Breach, error) {
	switch {
	case nb.DetectedAt.Before(nb.OccurredAt):
		return Breach{}, errors.New("store: create breach: detected before it occurred")
	case len(nb.Categories) == 0:
		return Breach{}, errors.New("store: create breach: no data category")
	}
	for _, c := range nb.Categories {
		if !ValidBreachCategory(c) {
			return Breach{}, fmt.Errorf("store: create breach: unknown category %q", c)
		}
	}
	id := NewID()
	z, err := s.systemSealer(ctx, "breaches", id)
	if err != nil {
		return Breach{}, err
	}
	now := s.Now()
	err = s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO breaches (id, title, description, measures, advice, contact, categories,
			occurred_at, detected_at, scope, scope_id, recorded_by, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			id, z.seal("title", nb.Title), z.seal("description", nb.Description), z.seal("measures", nb.Measures),
			z.seal("advice", nb.Advice), z.seal("contact", nb.Contact), strings.Join(nb.Categories, ","),
			ts(nb.OccurredAt), ts(nb.DetectedAt), nb.Scope, nullStr(nb.ScopeID), actor, ts(now))
		if err != nil {
			return err
		}
		for _, p := range nb.People {
			if _, err := tx.ExecContext(ctx, "INSERT INTO breach_people (breach_id, user_id) VALUES (?, ?) ON CONFLICT DO NOTHING", id, p); err != nil {
				return err
			}
		}
		return s.appendAudit(ctx, tx, now, AuditEntry{ActorID: actor, Action: AuditBreachRecord, TargetType: "breach", TargetID: id,
			Details: map[string]any{"scope": nb.Scope, "scope_id": nb.ScopeID, "people": len(nb.People),
				"categories": strings.Join(nb.Categories, ",")}})
	})
	if err != nil {
		return Breach{}, fmt.Errorf("store: create breach: %w", err)
	}
	return s.Breach(ctx, id)
}

// systemSealer seals rows that belong to no person with the shared system key.
func (s *Store) systemSealer(ctx context.Context, table, row string) (sealer, error) {
	dk, err := s.systemDataKey(ctx)
	if err != nil {
		return sealer{}, err
	}
	return sealer{dk: dk, table: table, row: row}, nil
}

const breachColumns = `id, title, description, measures, advice, contact, categories, occurred_at, detected_at,
	scope, COALESCE(scope_id, ''), recorded_by, recorded_at, notified_at,
	authority_notified_at, COALESCE(authority_reference, ''), closed_at, summary, updated_at`

func (s *Store) scanBreach(ctx context.Context, sc interface{ Scan(...any) error }) (Breach, error) {
	var b Breach
	var sealed [5][]byte
	var summary []byte
	var cats string
	err := sc.Scan(&b.ID, &sealed[0], &sealed[1], &sealed[2], &sealed[3], &sealed[4], &cats, tsInto(&b.OccurredAt), tsInto(&b.DetectedAt),
		&b.Scope, &b.ScopeID, &b.RecordedBy, tsInto(&b.RecordedAt), tsInto(&b.NotifiedAt),
		tsInto(&b.AuthorityNotifiedAt), &b.AuthorityReference, tsInto(&b.ClosedAt), &summary, tsInto(&b.UpdatedAt))
	if err != nil {
		return b, err
	}
	b.Categories = strings.Split(cats, ",")
	z, err := s.systemSealer(ctx, "breaches", b.ID)
	if err != nil {
		return b, err
	}
	for i, f := range []struct {
		col string
		dst *string
	}{{"title", &b.Title}, {"description", &b.Description}, {"measures", &b.Measures}, {"advice", &b.Advice}, {"contact", &b.Contact}} {
		if *f.dst, err = z.open(f.col, sealed[i]); err != nil {
			return b, err
		}
	}
	if summary != nil {
		if b.Summary, err = z.open("summary", summary); err != nil {
			return b, err
		}
	}
	return b, nil
}

// Breach returns one incident, or ErrNotFound.
func (s *Store) Breach(ctx context.Context, id string) (Breach, error) {
	b, err := s.scanBreach(ctx, s.rdb.QueryRowContext(ctx, "SELECT "+breachColumns+" FROM breaches WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return b, ErrNotFound
	}
	if err != nil {
		return b, fmt.Errorf("store: breach: %w", err)
	}
	rows, err := s.rdb.QueryContext(ctx, "SELECT id, at, actor_id, kind, note FROM breach_events WHERE breach_id = ? ORDER BY at, rowid", id)
	if err != nil {
		return b, fmt.Errorf("store: breach events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e BreachEvent
		var eid string
		var note []byte
		if err := rows.Scan(&eid, tsInto(&e.At), &e.ActorID, &e.Kind, &note); err != nil {
			return b, fmt.Errorf("store: breach events: %w", err)
		}
		if note != nil {
			z, err := s.systemSealer(ctx, "breach_events", eid)
			if err != nil {
				return b, err
			}
			if e.Note, err = z.open("note", note); err != nil {
				return b, err
			}
		}
		b.Events = append(b.Events, e)
	}
	return b, rows.Err()
}

// Breaches lists the whole register, most recently detected first.
func (s *Store) Breaches(ctx context.Context) ([]Breach, error) {
	rows, err := s.rdb.QueryContext(ctx, "SELECT "+breachColumns+" FROM breaches ORDER BY detected_at DESC, id")
	if err != nil {
		return nil, fmt.Errorf("store: breaches: %w", err)
	}
	defer rows.Close()
	var out []Breach
	for rows.Next() {
		b, err := s.scanBreach(ctx, rows)
		if err != nil {
			return nil, fmt.Errorf("store: breaches: %w", err)
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// BreachAffected lists the account ids a breach affects now. Restriction
// does not matter here: people must be told of a breach of their data
// whatever else they asked us to stop. Every account counts, whatever its
// status: a disabled account's data was breached too.
func (s *Store) BreachAffected(ctx context.Context, b Breach) ([]string, error) {
	var q string
	var args []any
	switch b.Scope {
	case BreachAll:
		q = "SELECT id FROM users ORDER BY id"
	case BreachMember:
		q = `SELECT DISTINCT e.user_id FROM enrolments e JOIN trainings t ON t.id = e.training_id
			WHERE t.member_id = ? ORDER BY e.user_id`
		args = []any{b.ScopeID}
	case BreachTraining:
		q, args = "SELECT user_id FROM enrolments WHERE training_id = ? ORDER BY user_id", []any{b.ScopeID}
	case BreachList:
		q, args = "SELECT user_id FROM breach_people WHERE breach_id = ? ORDER BY user_id", []any{b.ID}
	default:
		return nil, fmt.Errorf("store: breach affected: unknown scope %q", b.Scope)
	}
	ids, err := s.ids(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: breach affected: %w", err)
	}
	return ids, nil
}

// ids runs a query returning one text column.
func (s *Store) ids(ctx context.Context, q string, args ...any) ([]string, error) {
	rows, err := s.rdb.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// breachClaimStale is how long a claim may wait for its mail before another
// notify action may take it over (the first one died between claiming and
// queueing).
const breachClaimStale = 10 * time.Minute

// ClaimBreachNotices reserves the people of userIDs who have not been told
// of the breach yet and returns them; each returned id must then get its
// mail and LinkBreachNotice. A person already notified, or claimed by an
// action still in progress, is not returned again: this is what makes
// notifying twice (or two clicks at once) send one mail per person.
func (s *Store) ClaimBreachNotices(ctx context.Context, breachID string, userIDs []string) ([]string, error) {
	now := s.Now()
	var claimed []string
	err := s.tx(ctx, func(tx *sql.Tx) error {
		claimed = claimed[:0]
		ins, err := tx.PrepareContext(ctx, `INSERT INTO breach_notifications (breach_id, user_id, claimed_at) VALUES (?, ?, ?)
			ON CONFLICT (breach_id, user_id) DO UPDATE SET claimed_at = excluded.claimed_at
			WHERE outbox_id IS NULL AND claimed_at < ? RETURNING user_id`)
		if err != nil {
			return err
		}
		defer ins.Close()
		for _, id := range userIDs {
			var got string
			err := ins.QueryRowContext(ctx, breachID, id, ts(now), ts(now.Add(-breachClaimStale))).Scan(&got)
			switch {
			case errors.Is(err, sql.ErrNoRows):
			case err != nil:
				return err
			default:
				claimed = append(claimed, got)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: claim breach notices: %w", err)
	}
	return claimed, nil
}

// LinkBreachNotice records the outbox mail that tells userID of the breach
// and stamps the breach as notified the first time.
func (s *Store) LinkBreachNotice(ctx context.Context, breachID, userID, outboxID string) error {
	now := ts(s.Now())
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE breach_notifications SET outbox_id = ?, queued_at = ?
			WHERE breach_id = ? AND user_id = ? AND outbox_id IS NULL`, outboxID, now, breachID, userID)
		if err != nil {
			return err
		}
		if err := mustAffect(res); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, "UPDATE breaches SET notified_at = ? WHERE id = ? AND notified_at IS NULL", now, breachID)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: link breach notice: %w", err)
	}
	return nil
}

// ReleaseBreachNotice drops a claim whose mail could not be queued, so the
// next notify action tries that person again.
func (s *Store) ReleaseBreachNotice(ctx context.Context, breachID, userID string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "DELETE FROM breach_notifications WHERE breach_id = ? AND user_id = ? AND outbox_id IS NULL",
			breachID, userID)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: release breach notice: %w", err)
	}
	return nil
}

// Delivery states of a breach notice, beyond the outbox statuses.
const (
	NoticeClaimed = "claimed" // reserved, mail not queued (yet)
	NoticeGone    = "gone"    // the mail no longer exists (the person was erased)
)

// BreachNotice is the delivery record of one person's notice.
type BreachNotice struct {
	UserID   string // "" once the person was erased
	OutboxID string
	QueuedAt time.Time
	Status   string // MailQueued, MailSent, MailFailed, NoticeClaimed or NoticeGone
	SentAt   time.Time
	Error    string // the outbox's sanitised last error
}

// NoticeCounts sums a breach's notices by delivery state.
type NoticeCounts struct {
	Claimed, Queued, Sent, Failed, Gone int
}

// Total is every person a notice was claimed or queued for.
func (c NoticeCounts) Total() int { return c.Claimed + c.Queued + c.Sent + c.Failed + c.Gone }

// BreachNotices lists the delivery state of each person's notice (up to
// limit rows) and the counts over all of them. The state is the outbox
// row's status, read in the same query.
func (s *Store) BreachNotices(ctx context.Context, breachID string, limit int) ([]BreachNotice, NoticeCounts, error) {
	var c NoticeCounts
	rows, err := s.rdb.QueryContext(ctx, `SELECT COALESCE(n.user_id, ''), COALESCE(n.outbox_id, ''), n.queued_at,
		o.status, o.sent_at, COALESCE(o.last_error, '')
		FROM breach_notifications n LEFT JOIN outbox o ON o.id = n.outbox_id
		WHERE n.breach_id = ? ORDER BY n.id`, breachID)
	if err != nil {
		return nil, c, fmt.Errorf("store: breach notices: %w", err)
	}
	defer rows.Close()
	var out []BreachNotice
	for rows.Next() {
		var n BreachNotice
		var status sql.NullString
		if err := rows.Scan(&n.UserID, &n.OutboxID, tsInto(&n.QueuedAt), &status, tsInto(&n.SentAt), &n.Error); err != nil {
			return nil, c, fmt.Errorf("store: breach notices: %w", err)
		}
		switch {
		case n.OutboxID == "":
			n.Status = NoticeClaimed
			c.Claimed++
		case !status.Valid:
			n.Status = NoticeGone
			c.Gone++
		default:
			n.Status = status.String
			switch n.Status {
			case MailQueued:
				c.Queued++
			case MailSent:
				c.Sent++
			case MailFailed:
				c.Failed++
			}
		}
		if len(out) < limit {
			out = append(out, n)
		}
	}
	return out, c, rows.Err()
}

// ErrBreachClosed means a closed incident no longer changes.
var ErrBreachClosed = errors.New("store: the incident is closed")

// ErrAuthorityNotified means the authority notification is recorded already.
var ErrAuthorityNotified = errors.New("store: the authority notification is recorded already")

// breachStep changes an open incident in one transaction with its timeline
// entry and its audit entry: do returns the audit details.
func (s *Store) breachStep(ctx context.Context, actor, id, kind, note, action string, do func(tx *sql.Tx, now time.Time) (map[string]any, error)) error {
	now := s.Now()
	eid := NewID()
	var sealed any
	if note != "" {
		z, err := s.systemSealer(ctx, "breach_events", eid)
		if err != nil {
			return err
		}
		sealed = z.seal("note", note)
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var closed sql.NullString
		err := tx.QueryRowContext(ctx, "SELECT closed_at FROM breaches WHERE id = ?", id).Scan(&closed)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if closed.Valid {
			return ErrBreachClosed
		}
		details, err := do(tx, now)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE breaches SET updated_at = ? WHERE id = ?", ts(now), id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO breach_events (id, breach_id, at, actor_id, kind, note) VALUES (?, ?, ?, ?, ?, ?)",
			eid, id, ts(now), actor, kind, sealed); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, now, AuditEntry{ActorID: actor, Action: action, TargetType: "breach", TargetID: id, Details: details})
	})
	switch {
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrBreachClosed), errors.Is(err, ErrAuthorityNotified):
		return err
	case err != nil:
		return fmt.Errorf("store: %s: %w", action, err)
	}
	return nil
}

// Audited actions of the breach lifecycle.
const (
	AuditBreachEdit      = "breach.edit"
	AuditBreachNote      = "breach.note"
	AuditBreachAuthority = "breach.authority"
	AuditBreachClose     = "breach.close"
)

// UpdateBreach corrects the facts of an open incident as more is learnt;
// who affected it (its scope) stays as recorded, since notices went out on
// it. The timeline names the fields changed.
func (s *Store) UpdateBreach(ctx context.Context, actor, id string, nb NewBreach) error {
	switch {
	case nb.DetectedAt.Before(nb.OccurredAt):
		return errors.New("store: update breach: detected before it occurred")
	case len(nb.Categories) == 0:
		return errors.New("store: update breach: no data category")
	}
	for _, c := range nb.Categories {
		if !ValidBreachCategory(c) {
			return fmt.Errorf("store: update breach: unknown category %q", c)
		}
	}
	old, err := s.Breach(ctx, id)
	if err != nil {
		return err
	}
	var changed []string
	for _, f := range []struct {
		name     string
		old, new string
	}{{"title", old.Title, nb.Title}, {"description", old.Description, nb.Description}, {"measures", old.Measures, nb.Measures},
		{"advice", old.Advice, nb.Advice}, {"contact", old.Contact, nb.Contact},
		{"categories", strings.Join(old.Categories, ","), strings.Join(nb.Categories, ",")},
		{"occurred_at", ts(old.OccurredAt), ts(nb.OccurredAt)}, {"detected_at", ts(old.DetectedAt), ts(nb.DetectedAt)}} {
		if f.old != f.new {
			changed = append(changed, f.name)
		}
	}
	if len(changed) == 0 {
		return nil
	}
	z, err := s.systemSealer(ctx, "breaches", id)
	if err != nil {
		return err
	}
	note := "Changed: " + strings.Join(changed, ", ") + "."
	return s.breachStep(ctx, actor, id, BreachEventEdit, note, AuditBreachEdit, func(tx *sql.Tx, _ time.Time) (map[string]any, error) {
		_, err := tx.ExecContext(ctx, `UPDATE breaches SET title = ?, description = ?, measures = ?, advice = ?, contact = ?,
			categories = ?, occurred_at = ?, detected_at = ? WHERE id = ?`,
			z.seal("title", nb.Title), z.seal("description", nb.Description), z.seal("measures", nb.Measures),
			z.seal("advice", nb.Advice), z.seal("contact", nb.Contact), strings.Join(nb.Categories, ","),
			ts(nb.OccurredAt), ts(nb.DetectedAt), id)
		return map[string]any{"fields": strings.Join(changed, ",")}, err
	})
}

// AddBreachNote adds an entry to an open incident's timeline.
func (s *Store) AddBreachNote(ctx context.Context, actor, id, note string) error {
	return s.breachStep(ctx, actor, id, BreachEventNote, note, AuditBreachNote, func(*sql.Tx, time.Time) (map[string]any, error) {
		return nil, nil
	})
}

// RecordAuthorityNotification records when the supervisory authority was
// notified and under which reference: that stops the 72-hour clock. It is
// recorded once.
func (s *Store) RecordAuthorityNotification(ctx context.Context, actor, id string, at time.Time, reference string) error {
	note := "Supervisory authority notified on " + at.UTC().Format("2 Jan 2006 15:04 UTC") + ", reference " + reference + "."
	return s.breachStep(ctx, actor, id, BreachEventAuthority, note, AuditBreachAuthority, func(tx *sql.Tx, _ time.Time) (map[string]any, error) {
		res, err := tx.ExecContext(ctx, `UPDATE breaches SET authority_notified_at = ?, authority_reference = ?
			WHERE id = ? AND authority_notified_at IS NULL`, ts(at), reference, id)
		if err != nil {
			return nil, err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil, ErrAuthorityNotified
		}
		return map[string]any{"notified_at": ts(at)}, nil
	})
}

// CloseBreach closes an incident with a summary of what it came to. The
// record is kept; it no longer changes.
func (s *Store) CloseBreach(ctx context.Context, actor, id, summary string) error {
	z, err := s.systemSealer(ctx, "breaches", id)
	if err != nil {
		return err
	}
	return s.breachStep(ctx, actor, id, BreachEventClose, "Closed.", AuditBreachClose, func(tx *sql.Tx, now time.Time) (map[string]any, error) {
		_, err := tx.ExecContext(ctx, "UPDATE breaches SET closed_at = ?, summary = ? WHERE id = ?", ts(now), z.seal("summary", summary), id)
		return nil, err
	})
}

// RunningBreaches lists the incidents whose 72-hour clock still runs (the
// authority not notified, not closed), the nearest deadline first.
func (s *Store) RunningBreaches(ctx context.Context) ([]Breach, error) {
	rows, err := s.rdb.QueryContext(ctx, "SELECT "+breachColumns+` FROM breaches
		WHERE authority_notified_at IS NULL AND closed_at IS NULL ORDER BY detected_at, id`)
	if err != nil {
		return nil, fmt.Errorf("store: running breaches: %w", err)
	}
	defer rows.Close()
	var out []Breach
	for rows.Next() {
		b, err := s.scanBreach(ctx, rows)
		if err != nil {
			return nil, fmt.Errorf("store: running breaches: %w", err)
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// RunningBreachCount counts the incidents whose clock still runs.
func (s *Store) RunningBreachCount(ctx context.Context) (int, error) {
	var n int
	if err := s.rdb.QueryRowContext(ctx, `SELECT COUNT(*) FROM breaches WHERE authority_notified_at IS NULL AND closed_at IS NULL`).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: running breaches: %w", err)
	}
	return n, nil
}
