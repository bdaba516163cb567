package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

func legalTables() []table {
	entry := Field{Category: CatDisclosures, Personal: true, Purposes: []string{"keep a register of what was disclosed about a person on legal request"},
		Basis: BasisLegal, Retention: "while the account exists", Export: ExportOmit, Erasure: EraseDelete,
		Why: "the person sees each entry in their disclosure log once no legal bar forbids telling them; the register itself is the privacy officer's"}
	return []table{
		{db: DBMain, name: "legal_disclosures", base: entry, sealed: []string{"requester", "disclosed", "reference"},
			override: map[string]Field{"recorded_by": actorField("know who recorded a legal disclosure")},
			columns: []string{"id", "user_id", "disclosure_id", "basis", "requester", "disclosed", "reference", "disclosed_on", "bar_until",
				"recorded_by", "created_at"}},
	}
}

// ViewLegalDisclosure is the disclosure-log view of an entry of the legal
// disclosure register: the person's data given out on legal request.
const ViewLegalDisclosure = "legal_disclosure"

// Legal bases of a disclosure on legal request.
const (
	LegalSubpoena         = "subpoena"
	LegalCourtOrder       = "court_order"
	LegalAuthorityRequest = "authority_request"
	LegalOther            = "other"
)

// LegalBases lists the legal bases in the order forms offer them.
func LegalBases() []string {
	return []string{LegalSubpoena, LegalCourtOrder, LegalAuthorityRequest, LegalOther}
}

// ValidLegalBasis reports whether b is a known legal basis.
func ValidLegalBasis(b string) bool {
	for _, v := range LegalBases() {
		if v == b {
			return true
		}
	}
	return false
}

// LegalDisclosure is one entry of the legal disclosure register, opened.
type LegalDisclosure struct {
	ID        string
	UserID    string
	Basis     string
	Requester string // the authority or party that asked
	Disclosed string // what was disclosed
	Reference string // their reference (case number, letter), may be empty
	// DisclosedOn is the day of the disclosure (midnight UTC).
	DisclosedOn time.Time
	// BarUntil, when set, is the day until which the law forbids telling
	// the person; their disclosure log shows the entry from then on.
	BarUntil   time.Time
	RecordedBy string
	CreatedAt  time.Time
	// PersonName and PersonEmail are filled by the register's listing.
	PersonName, PersonEmail string
}

// Barred reports whether the person may not be told of the entry at now.
func (l LegalDisclosure) Barred(now time.Time) bool {
	return !l.BarUntil.IsZero() && now.Before(l.BarUntil)
}

// NewLegalDisclosure is what the privacy officer records. Summary is the
// text the person's disclosure log keeps as the reason (sealed too).
type NewLegalDisclosure struct {
	UserID, Basis, Requester, Disclosed, Reference string
	DisclosedOn, BarUntil                          time.Time
	RecordedBy, RecorderRole                       string
	Summary                                        string
}

// RecordLegalDisclosure adds an entry to the register and to the person's
// disclosure log, in one transaction. An unknown person is ErrNotFound.
func (s *Store) RecordLegalDisclosure(ctx context.Context, n NewLegalDisclosure) (LegalDisclosure, error) {
	if !ValidLegalBasis(n.Basis) || n.Requester == "" || n.Disclosed == "" || n.DisclosedOn.IsZero() {
		return LegalDisclosure{}, fmt.Errorf("store: record legal disclosure: incomplete entry")
	}
	if !n.BarUntil.IsZero() && !n.BarUntil.After(n.DisclosedOn) {
		return LegalDisclosure{}, fmt.Errorf("store: record legal disclosure: the bar ends before the disclosure")
	}
	id := NewID()
	z, err := s.sealerFor(ctx, n.UserID, "legal_disclosures", id)
	if err != nil {
		return LegalDisclosure{}, err
	}
	dz, err := s.sealerFor(ctx, n.UserID, "disclosures", n.UserID)
	if err != nil {
		return LegalDisclosure{}, err
	}
	var bar any
	if !n.BarUntil.IsZero() {
		bar = ts(n.BarUntil)
	}
	now := s.Now()
	err = s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO disclosures (subject_id, viewer_id, viewer_role, at, view, reason, hidden_until)
			SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7 WHERE EXISTS (SELECT 1 FROM users WHERE id = ?1)`,
			n.UserID, n.RecordedBy, n.RecorderRole, ts(n.DisclosedOn), ViewLegalDisclosure, dz.seal("reason", n.Summary), bar)
		if err != nil {
			return err
		}
		if err := mustAffect(res); err != nil {
			return err
		}
		did, err := res.LastInsertId()
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO legal_disclosures (id, user_id, disclosure_id, basis, requester, disclosed, reference,
			disclosed_on, bar_until, recorded_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			id, n.UserID, did, n.Basis, z.seal("requester", n.Requester), z.seal("disclosed", n.Disclosed), z.sealOpt("reference", n.Reference),
			ts(n.DisclosedOn), bar, n.RecordedBy, ts(now))
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return LegalDisclosure{}, err
	}
	if err != nil {
		return LegalDisclosure{}, fmt.Errorf("store: record legal disclosure: %w", err)
	}
	return LegalDisclosure{ID: id, UserID: n.UserID, Basis: n.Basis, Requester: n.Requester, Disclosed: n.Disclosed, Reference: n.Reference,
		DisclosedOn: n.DisclosedOn, BarUntil: n.BarUntil, RecordedBy: n.RecordedBy, CreatedAt: now}, nil
}

const legalColumns = `l.id, l.user_id, l.basis, l.requester, l.disclosed, l.reference, l.disclosed_on, COALESCE(l.bar_until, ''),
	l.recorded_by, l.created_at`

// scanLegal reads one row of legalColumns (plus extra destinations) and
// opens its sealed texts.
func (s *Store) scanLegal(ctx context.Context, rows *sql.Rows, extra ...any) (LegalDisclosure, error) {
	var l LegalDisclosure
	var requester, disclosed, reference []byte
	dest := append([]any{&l.ID, &l.UserID, &l.Basis, &requester, &disclosed, &reference, tsInto(&l.DisclosedOn), tsInto(&l.BarUntil),
		&l.RecordedBy, tsInto(&l.CreatedAt)}, extra...)
	if err := rows.Scan(dest...); err != nil {
		return l, err
	}
	z, err := s.sealerFor(ctx, l.UserID, "legal_disclosures", l.ID)
	if err != nil {
		return l, err
	}
	if l.Requester, err = z.open("requester", requester); err != nil {
		return l, err
	}
	if l.Disclosed, err = z.open("disclosed", disclosed); err != nil {
		return l, err
	}
	l.Reference, err = z.open("reference", reference)
	return l, err
}

// LegalDisclosures lists the register, newest first (at most limit
// entries), with each person's name and address opened.
func (s *Store) LegalDisclosures(ctx context.Context, limit int) ([]LegalDisclosure, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+legalColumns+` FROM legal_disclosures l
		ORDER BY l.disclosed_on DESC, l.created_at DESC, l.id LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("store: legal disclosures: %w", err)
	}
	var out []LegalDisclosure
	for rows.Next() {
		l, err := s.scanLegal(ctx, rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: legal disclosures: %w", err)
		}
		out = append(out, l)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: legal disclosures: %w", err)
	}
	for i := range out {
		u, err := s.User(ctx, out[i].UserID)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out[i].PersonName = strings.TrimSpace(u.FirstName + " " + u.Surname)
		out[i].PersonEmail = u.Email
	}
	return out, nil
}

// legalByDisclosure returns the register entries behind the disclosure-log
// rows ids, by disclosure id.
func (s *Store) legalByDisclosure(ctx context.Context, ids []int64) (map[int64]*LegalDisclosure, error) {
	out := map[int64]*LegalDisclosure{}
	if len(ids) == 0 {
		return out, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+legalColumns+`, l.disclosure_id FROM legal_disclosures l
		WHERE l.disclosure_id IN (?`+strings.Repeat(", ?", len(ids)-1)+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: legal disclosures: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var did int64
		l, err := s.scanLegal(ctx, rows, &did)
		if err != nil {
			return nil, fmt.Errorf("store: legal disclosures: %w", err)
		}
		out[did] = &l
	}
	return out, rows.Err()
}
