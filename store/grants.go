package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"kelas/store/crypt"
)

func consoleTables() []table {
	grant := Field{Category: CatSystem, Export: ExportOmit, Erasure: EraseNone, Why: "access grants to Members: about organisations and trainings"}
	disclosure := Field{Category: CatDisclosures, Personal: true, Purposes: []string{"show the person who saw their data, and why"},
		Basis: BasisLegal, Retention: "while the account exists", Export: ExportInclude, Erasure: EraseDelete}
	invite := Field{Category: CatAccount, Personal: true, Purposes: []string{"invite staff and operators by email"},
		Basis: BasisLegitimate, Retention: "until used or expired", Export: ExportOmit, Erasure: EraseDelete,
		Why: "an invitation is not yet an account; it is deleted once used or expired"}
	return []table{
		{db: DBMain, name: "access_grants", base: grant,
			columns: []string{"id", "member_id", "purpose", "valid_from", "valid_until", "granted_by", "created_at", "revoked_at", "revoked_by",
				"recipient_id"},
			override: map[string]Field{"granted_by": actorField("know who granted access"), "revoked_by": actorField("know who ended access")}},
		{db: DBMain, name: "grant_trainings", base: grant, columns: []string{"grant_id", "training_id"}},
		{db: DBMain, name: "disclosures", base: disclosure, sealed: []string{"reason"},
			override: map[string]Field{"viewer_id": {Category: CatDisclosures, Personal: true,
				Purposes: []string{"show the person whose data was seen who saw it"}, Basis: BasisLegal,
				Retention: "while the row exists", Export: ExportInclude, Erasure: EraseAnonymise,
				Why: "when the viewer is erased, the record stays for the person seen, without the viewer's id"},
				"hidden_until": {Category: CatDisclosures, Personal: true, Purposes: []string{"keep a disclosure from the person while the law forbids telling them"},
					Basis: BasisLegal, Retention: "while the row exists", Export: ExportOmit, Erasure: EraseDelete,
					Why: "a date, not data about the person; rows it still hides are left out of the export"}},
			columns: []string{"id", "subject_id", "viewer_id", "viewer_role", "member_id", "at", "view", "grant_id", "reason", "hidden_until"}},
		{db: DBMain, name: "invitations", base: invite, sealed: []string{"email"},
			override: map[string]Field{"invited_by": actorField("know who invited whom")},
			columns:  []string{"token_hash", "id", "member_id", "role", "dpo", "email", "email_index", "invited_by", "created_at", "expires_at", "used_at"}},
	}
}

// Grant lets a Member's staff see the personal data of the learners of
// some of its trainings during a time window. A grant with a recipient
// (a contractor grant) lets the recipient Member's staff in instead: the
// granting Member's own staff gain nothing from it.
type Grant struct {
	ID         string
	MemberID   string // the granting Member, whose trainings these are
	MemberName string
	// RecipientID is the other Member whose staff use the grant, "" when
	// it is for the granting Member's own staff.
	RecipientID   string
	RecipientName string
	Purpose       string
	ValidFrom     time.Time
	ValidUntil    time.Time
	GrantedBy     string
	CreatedAt     time.Time
	RevokedAt     time.Time
	TrainingIDs   []string
	Trainings     []string // titles, in the order of TrainingIDs
}

// Beneficiary is the Member whose staff the grant lets in.
func (g Grant) Beneficiary() string {
	if g.RecipientID != "" {
		return g.RecipientID
	}
	return g.MemberID
}

// ActiveAt reports whether the grant allows access at t: from ≤ t < until,
// and not revoked.
func (g Grant) ActiveAt(t time.Time) bool {
	return g.RevokedAt.IsZero() && !t.Before(g.ValidFrom) && t.Before(g.ValidUntil)
}

// NewGrant is what an operator grants. RecipientID names another Member
// whose staff use the grant; "" (or the granting Member itself) means the
// granting Member's own staff.
type NewGrant struct {
	MemberID    string
	RecipientID string
	TrainingIDs []string
	Purpose     string
	ValidFrom   time.Time
	ValidUntil  time.Time
	GrantedBy   string
}

// ErrGrantTraining means a listed training does not exist or belongs to
// another Member.
var ErrGrantTraining = errors.New("store: grant names a training of another Member or none")

// ErrGrantRecipient means the recipient Member does not exist or is not
// active.
var ErrGrantRecipient = errors.New("store: grant names an unknown or inactive recipient")

// CreateGrant records a grant. Every training must belong to the Member;
// a recipient must be an active Member (naming the granting Member itself
// is the same as naming none).
func (s *Store) CreateGrant(ctx context.Context, g NewGrant) (Grant, error) {
	if !g.ValidUntil.After(g.ValidFrom) || len(g.TrainingIDs) == 0 {
		return Grant{}, fmt.Errorf("store: create grant: empty window or no trainings")
	}
	if g.RecipientID == g.MemberID {
		g.RecipientID = ""
	}
	id := NewID()
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if g.RecipientID != "" {
			var n int
			if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM members WHERE id = ? AND active = 1", g.RecipientID).Scan(&n); err != nil {
				return err
			}
			if n != 1 {
				return ErrGrantRecipient
			}
		}
		for _, t := range g.TrainingIDs {
			var n int
			if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM trainings WHERE id = ? AND member_id = ?", t, g.MemberID).Scan(&n); err != nil {
				return err
			}
			if n != 1 {
				return ErrGrantTraining
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO access_grants (id, member_id, recipient_id, purpose, valid_from, valid_until, granted_by, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, id, g.MemberID, nullStr(g.RecipientID), g.Purpose, ts(g.ValidFrom), ts(g.ValidUntil), g.GrantedBy,
			ts(s.Now())); err != nil {
			return err
		}
		for _, t := range g.TrainingIDs {
			if _, err := tx.ExecContext(ctx, "INSERT OR IGNORE INTO grant_trainings (grant_id, training_id) VALUES (?, ?)", id, t); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, ErrGrantTraining) || errors.Is(err, ErrGrantRecipient) {
		return Grant{}, err
	}
	if err != nil {
		return Grant{}, fmt.Errorf("store: create grant: %w", err)
	}
	return s.Grant(ctx, id)
}

// RevokeGrant ends a grant now.
func (s *Store) RevokeGrant(ctx context.Context, id, by string) error {
	return s.exec1(ctx, "revoke grant", "UPDATE access_grants SET revoked_at = ?, revoked_by = ? WHERE id = ? AND revoked_at IS NULL",
		ts(s.Now()), by, id)
}

// Grant returns one grant with its trainings.
func (s *Store) Grant(ctx context.Context, id string) (Grant, error) {
	gs, err := s.grants(ctx, "g.id = ?", id)
	if err != nil {
		return Grant{}, err
	}
	if len(gs) == 0 {
		return Grant{}, ErrNotFound
	}
	return gs[0], nil
}

// Grants lists grants, newest first: those memberID gave and those it
// received as a contractor; memberID "" lists all.
func (s *Store) Grants(ctx context.Context, memberID string) ([]Grant, error) {
	if memberID == "" {
		return s.grants(ctx, "1 = 1")
	}
	return s.grants(ctx, "(g.member_id = ?1 OR g.recipient_id = ?1)", memberID)
}

func (s *Store) grants(ctx context.Context, where string, args ...any) ([]Grant, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT g.id, g.member_id, m.name, COALESCE(g.recipient_id, ''), COALESCE(rm.name, ''), g.purpose,
		g.valid_from, g.valid_until, g.granted_by, g.created_at, COALESCE(g.revoked_at, ''), gt.training_id, t.title
		FROM access_grants g JOIN members m ON m.id = g.member_id LEFT JOIN members rm ON rm.id = g.recipient_id
		JOIN grant_trainings gt ON gt.grant_id = g.id JOIN trainings t ON t.id = gt.training_id
		WHERE `+where+` ORDER BY g.created_at DESC, g.id, t.title`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: grants: %w", err)
	}
	defer rows.Close()
	var out []Grant
	for rows.Next() {
		var g Grant
		var tid, title string
		if err := rows.Scan(&g.ID, &g.MemberID, &g.MemberName, &g.RecipientID, &g.RecipientName, &g.Purpose, tsInto(&g.ValidFrom), tsInto(&g.ValidUntil), &g.GrantedBy, tsInto(&g.CreatedAt), tsInto(&g.RevokedAt), &tid, &title); err != nil {
			return nil, fmt.Errorf("store: grants: %w", err)
		}
		if n := len(out); n == 0 || out[n-1].ID != g.ID {
			out = append(out, g)
		}
		last := &out[len(out)-1]
		last.TrainingIDs = append(last.TrainingIDs, tid)
		last.Trainings = append(last.Trainings, title)
	}
	return out, rows.Err()
}

// grantLetsIn is the condition under which the grant g lets the staff of
// the Member ?1 in at the time ?2: that Member is the grant's beneficiary
// (its recipient, or the granting Member when it names none), the window
// holds, the grant is not revoked, and both the granting Member and the
// beneficiary are active. A query using it joins the grant's trainings as
// t, and only the granting Member's own trainings count.
const grantLetsIn = `(g.recipient_id = ?1 OR (g.recipient_id IS NULL AND g.member_id = ?1))
		AND t.member_id = g.member_id
		AND g.revoked_at IS NULL AND g.valid_from <= ?2 AND g.valid_until > ?2
		AND EXISTS (SELECT 1 FROM members m WHERE m.id = g.member_id AND m.active = 1)
		AND EXISTS (SELECT 1 FROM members m WHERE m.id = ?1 AND m.active = 1)`

// ActiveGrantFor returns the id of a grant that lets memberID's staff see
// the learners of trainingID now, or ErrNotFound: a grant of the
// training's Member to its own staff, or to memberID as its contractor.
func (s *Store) ActiveGrantFor(ctx context.Context, memberID, trainingID string) (string, error) {
	var id string
	err := s.rdb.QueryRowContext(ctx, `SELECT g.id FROM access_grants g JOIN grant_trainings gt ON gt.grant_id = g.id
		JOIN trainings t ON t.id = gt.training_id
		WHERE gt.training_id = ?3 AND `+grantLetsIn+`
		ORDER BY g.valid_until DESC LIMIT 1`, memberID, ts(s.Now()), trainingID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("store: active grant: %w", err)
	}
	return id, nil
}

// GrantedLearner finds a grant under which memberID's staff may see userID
// now: the person is enrolled in a granted training and not restricted.
// trainingIDs are the person's trainings that memberID's grants cover.
func (s *Store) GrantedLearner(ctx context.Context, memberID, userID string) (grantID string, trainingIDs []string, err error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT g.id, e.training_id FROM access_grants g
		JOIN grant_trainings gt ON gt.grant_id = g.id
		JOIN trainings t ON t.id = gt.training_id
		JOIN enrolments e ON e.training_id = gt.training_id AND e.user_id = ?3
		WHERE `+grantLetsIn+`
		AND NOT EXISTS (SELECT 1 FROM user_restrictions r WHERE r.user_id = e.user_id)
		ORDER BY g.valid_until DESC`, memberID, ts(s.Now()), userID)
	if err != nil {
		return "", nil, fmt.Errorf("store: granted learner: %w", err)
	}
	defer rows.Close()
	seen := map[string]bool{}
	for rows.Next() {
		var g, t string
		if err := rows.Scan(&g, &t); err != nil {
			return "", nil, fmt.Errorf("store: granted learner: %w", err)
		}
		if grantID == "" {
			grantID = g
		}
		if !seen[t] {
			seen[t] = true
			trainingIDs = append(trainingIDs, t)
		}
	}
	if err := rows.Err(); err != nil {
		return "", nil, err
	}
	if grantID == "" {
		return "", nil, ErrNotFound
	}
	return grantID, trainingIDs, nil
}

// Disclosure views.
const (
	ViewLearnerRecord  = "learner_record"
	ViewLearnerList    = "learner_list"
	ViewAttendanceList = "attendance_list"
	ViewExport         = "export"
	ViewOutbox         = "outbox_message"
	ViewRightsCase     = "rights_case"
	ViewStaffList      = "staff_list"
)

// Disclosure is one view of a person's data by someone else.
type Disclosure struct {
	SubjectID  string
	ViewerID   string
	ViewerRole string
	MemberID   string
	MemberName string
	At         time.Time
	View       string
	GrantID    string
	Reason     string
	// Under names what the view came under: the grant's purpose and the
	// trainings it covers, filled by the listings (in English; pages write
	// GrantPurpose and GrantTrainings in the reader's language).
	Under          string
	GrantPurpose   string
	GrantTrainings string
	// GrantMemberID and GrantMemberName name the Member that gave the
	// grant. When it is not the viewer's Member (MemberID), the viewer
	// worked for it as a contractor.
	GrantMemberID   string
	GrantMemberName string
	// ID is the row's id; HiddenUntil, when set, is when the person may
	// be told of it (a legal bar); Legal is the legal disclosure register's
	// entry behind a ViewLegalDisclosure row.
	ID          int64
	HiddenUntil time.Time
	Legal       *LegalDisclosure
}

// Contractor reports whether the viewer worked for another Member: their
// own Member is not the one that gave the grant the view came under.
func (d Disclosure) Contractor() bool {
	return d.GrantMemberID != "" && d.MemberID != "" && d.GrantMemberID != d.MemberID
}

// RecordDisclosures notes that viewer saw the data of each subject. The
// viewer's own data is never a disclosure and is skipped.
func (s *Store) RecordDisclosures(ctx context.Context, d Disclosure, subjects ...string) error {
	now := s.Now()
	type row struct {
		subject string
		reason  any
	}
	var rows []row
	for _, subj := range subjects {
		if subj == d.ViewerID {
			continue
		}
		r := row{subject: subj}
		if d.Reason != "" {
			z, err := s.sealerFor(ctx, subj, "disclosures", subj)
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			r.reason = z.seal("reason", d.Reason)
		}
		rows = append(rows, r)
	}
	if len(rows) == 0 {
		return nil
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		// disclosures has no foreign key: a subject erased meanwhile gets
		// no new record, which nothing would ever remove.
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO disclosures (subject_id, viewer_id, viewer_role, member_id, at, view, grant_id, reason)
			SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8 WHERE EXISTS (SELECT 1 FROM users WHERE id = ?1)`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, r := range rows {
			if _, err := stmt.ExecContext(ctx, r.subject, d.ViewerID, d.ViewerRole, nullStr(d.MemberID), ts(now), d.View,
				nullStr(d.GrantID), r.reason); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: record disclosures: %w", err)
	}
	return nil
}

// Disclosures lists who saw the person's data, newest first: the rights
// portal shows this to the person. Rows a legal bar still hides are left
// out until it ends.
func (s *Store) Disclosures(ctx context.Context, subjectID string) ([]Disclosure, error) {
	return s.disclosures(ctx, DisclosureFilter{SubjectID: subjectID, Shown: true})
}

// DisclosureFilter narrows the privacy officer's review of disclosures.
// Empty fields do not filter; Until is exclusive.
type DisclosureFilter struct {
	ViewerID, MemberID, GrantID, SubjectID string
	From, Until                            time.Time
	Limit                                  int
	// Shown keeps only the rows the person may be told of now.
	Shown bool
}

// AllDisclosures lists the disclosures matching f, newest first, with the
// reasons opened: the privacy officer's review.
func (s *Store) AllDisclosures(ctx context.Context, f DisclosureFilter) ([]Disclosure, error) {
	return s.disclosures(ctx, f)
}

func (s *Store) disclosures(ctx context.Context, f DisclosureFilter) ([]Disclosure, error) {
	q := `SELECT d.subject_id, d.viewer_id, d.viewer_role, COALESCE(d.member_id, ''),
		COALESCE(m.name, ''), d.at, d.view, COALESCE(d.grant_id, ''), d.reason, COALESCE(g.purpose, ''), d.id, COALESCE(d.hidden_until, ''),
		COALESCE((SELECT group_concat(t.title, '; ') FROM grant_trainings gt JOIN trainings t ON t.id = gt.training_id
			WHERE gt.grant_id = d.grant_id), ''), COALESCE(g.member_id, ''), COALESCE(gm.name, '')
		FROM disclosures d LEFT JOIN members m ON m.id = d.member_id LEFT JOIN access_grants g ON g.id = d.grant_id
		LEFT JOIN members gm ON gm.id = g.member_id WHERE 1 = 1`
	var args []any
	for _, c := range []struct{ col, v string }{{"d.viewer_id", f.ViewerID}, {"d.member_id", f.MemberID}, {"d.grant_id", f.GrantID},
		{"d.subject_id", f.SubjectID}} {
		if c.v != "" {
			q += " AND " + c.col + " = ?"
			args = append(args, c.v)
		}
	}
	if !f.From.IsZero() {
		q += " AND d.at >= ?"
		args = append(args, ts(f.From))
	}
	if !f.Until.IsZero() {
		q += " AND d.at < ?"
		args = append(args, ts(f.Until))
	}
	if f.Shown {
		q += " AND (d.hidden_until IS NULL OR d.hidden_until <= ?)"
		args = append(args, ts(s.Now()))
	}
	q += " ORDER BY d.at DESC, d.id DESC"
	if f.Limit > 0 {
		q += " LIMIT ?"
		args = append(args, f.Limit)
	}
	rows, err := s.rdb.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: disclosures: %w", err)
	}
	defer rows.Close()
	var out []Disclosure
	sealers := map[string]*sealer{}
	for rows.Next() {
		var d Disclosure
		var purpose, titles string
		var reason []byte
		if err := rows.Scan(&d.SubjectID, &d.ViewerID, &d.ViewerRole, &d.MemberID, &d.MemberName, tsInto(&d.At), &d.View, &d.GrantID, &reason,
			&purpose, &d.ID, tsInto(&d.HiddenUntil), &titles, &d.GrantMemberID, &d.GrantMemberName); err != nil {
			return nil, fmt.Errorf("store: disclosures: %w", err)
		}
		if d.GrantID != "" {
			d.GrantPurpose, d.GrantTrainings = purpose, titles
			d.Under = "access grant \"" + purpose + "\""
			if titles != "" {
				d.Under += " for " + titles
			}
			if d.Contractor() {
				d.Under += ", working for " + d.GrantMemberName
			}
		}
		if reason != nil {
			z := sealers[d.SubjectID]
			if z == nil {
				zz, err := s.sealerFor(ctx, d.SubjectID, "disclosures", d.SubjectID)
				if errors.Is(err, ErrNotFound) {
					d.Reason = "(unreadable: the person was erased)"
					out = append(out, d)
					continue
				}
				if err != nil {
					return nil, err
				}
				z = &zz
				sealers[d.SubjectID] = z
			}
			if d.Reason, err = z.open("reason", reason); err != nil {
				return nil, err
			}
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, s.attachLegal(ctx, out)
}

// attachLegal fills Legal on the rows of the legal disclosure register.
func (s *Store) attachLegal(ctx context.Context, ds []Disclosure) error {
	var ids []int64
	for _, d := range ds {
		if d.View == ViewLegalDisclosure {
			ids = append(ids, d.ID)
		}
	}
	legal, err := s.legalByDisclosure(ctx, ids)
	if err != nil {
		return err
	}
	for i := range ds {
		ds[i].Legal = legal[ds[i].ID]
	}
	return nil
}

// LearnerSummary is a learner as the console lists them.
type LearnerSummary struct {
	ID, Name, Email string
	Country         string
	Restricted      bool
}

// VisibleLearners lists the enrolled learners of a training for the people
// running it, restricted learners excluded (restriction freezes Member
// access).
func (s *Store) VisibleLearners(ctx context.Context, trainingID string) ([]LearnerSummary, error) {
	ls, err := s.TrainingLearners(ctx, trainingID)
	if err != nil {
		return nil, err
	}
	out := make([]LearnerSummary, 0, len(ls))
	for _, l := range ls {
		u, err := s.User(ctx, l.UserID)
		if err != nil {
			return nil, err
		}
		out = append(out, LearnerSummary{ID: u.ID, Name: l.Name, Email: u.Email, Country: u.Country})
	}
	return out, nil
}

// Invitation is a pending invitation, opened.
type Invitation struct {
	ID        string
	MemberID  string
	Role      Role
	DPO       bool
	Email     string
	InvitedBy string
	ExpiresAt time.Time
}

// CreateInvitation issues a single-use invitation token for email to join
// memberID ("" for operator roles) in role.
func (s *Store) CreateInvitation(ctx context.Context, inv Invitation, ttl time.Duration) (string, error) {
	if inv.Role.IsOperator() != (inv.MemberID == "") {
		return "", fmt.Errorf("store: invitation: role %q and Member do not fit", inv.Role)
	}
	token := NewToken()
	id := NewID()
	dk, err := s.systemDataKey(ctx)
	if err != nil {
		return "", err
	}
	z := sealer{dk: dk, table: "invitations", row: id}
	now := s.Now()
	err = s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO invitations (token_hash, id, member_id, role, dpo, email, email_index, invited_by,
			created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, tokenHash(token), id, nullStr(inv.MemberID), string(inv.Role),
			inv.DPO, z.seal("email", crypt.NormaliseEmail(inv.Email)), s.emailIndex(inv.Email), inv.InvitedBy, ts(now), ts(now.Add(ttl)))
		return err
	})
	if err != nil {
		return "", fmt.Errorf("store: create invitation: %w", err)
	}
	return token, nil
}

// InvitationByToken returns a live invitation, or ErrTokenInvalid.
func (s *Store) InvitationByToken(ctx context.Context, token string) (Invitation, error) {
	var inv Invitation
	var member sql.NullString
	var role string
	var email []byte
	now := ts(s.Now())
	err := s.rdb.QueryRowContext(ctx, `SELECT id, member_id, role, dpo, email, invited_by, expires_at FROM invitations
		WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?`, tokenHash(token), now).
		Scan(&inv.ID, &member, &role, &inv.DPO, &email, &inv.InvitedBy, tsInto(&inv.ExpiresAt))
	if errors.Is(err, sql.ErrNoRows) {
		return inv, ErrTokenInvalid
	}
	if err != nil {
		return inv, fmt.Errorf("store: invitation: %w", err)
	}
	dk, err := s.systemDataKey(ctx)
	if err != nil {
		return inv, err
	}
	if inv.Email, err = (sealer{dk: dk, table: "invitations", row: inv.ID}).open("email", email); err != nil {
		return inv, err
	}
	inv.MemberID, inv.Role = member.String, Role(role)
	return inv, nil
}

// AcceptInvitation spends the token and gives userID the invited role (and
// Member). The person's session epoch moves, so they log in afresh with
// the new privileges.
func (s *Store) AcceptInvitation(ctx context.Context, token, userID string) error {
	inv, err := s.InvitationByToken(ctx, token)
	if err != nil {
		return err
	}
	now := ts(s.Now())
	err = s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE invitations SET used_at = ? WHERE token_hash = ? AND used_at IS NULL", now, tokenHash(token))
		if err != nil {
			return err
		}
		if err := mustAffect(res); err != nil {
			return ErrTokenInvalid
		}
		if inv.MemberID != "" {
			if _, err := tx.ExecContext(ctx, `INSERT INTO member_staff (user_id, member_id, role, added_at) VALUES (?, ?, ?, ?)
				ON CONFLICT (user_id) DO UPDATE SET member_id = excluded.member_id, role = excluded.role`, userID, inv.MemberID, string(inv.Role), now); err != nil {
				return err
			}
		}
		res, err = tx.ExecContext(ctx, "UPDATE users SET role = ?, dpo = ?, session_epoch = session_epoch + 1, verified_at = COALESCE(verified_at, ?) WHERE id = ?",
			string(inv.Role), inv.DPO, now, userID)
		if err != nil {
			return err
		}
		return mustAffect(res)
	})
	if errors.Is(err, ErrTokenInvalid) || errors.Is(err, ErrNotFound) {
		return err
	}
	if err != nil {
		return fmt.Errorf("store: accept invitation: %w", err)
	}
	return nil
}

// PendingInvitations counts unused, unexpired invitations (of a Member, or
// all when memberID is "").
func (s *Store) PendingInvitations(ctx context.Context, memberID string) (int, error) {
	var n int
	q := "SELECT COUNT(*) FROM invitations WHERE used_at IS NULL AND expires_at > ?"
	args := []any{ts(s.Now())}
	if memberID != "" {
		q += " AND member_id = ?"
		args = append(args, memberID)
	}
	if err := s.rdb.QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: pending invitations: %w", err)
	}
	return n, nil
}

// MemberInput is what operators edit about a Member.
type MemberInput struct {
	Name, Country, Kind string
	Active              bool
}

// CreateMember adds a Member; a duplicate name is ErrConflict.
func (s *Store) CreateMember(ctx context.Context, in MemberInput) (Member, error) {
	id := NewID()
	err := s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO members (id, name, country, kind, active, created_at) VALUES (?, ?, ?, ?, ?, ?)",
			id, in.Name, nullStr(in.Country), in.Kind, in.Active, ts(s.Now()))
		return err
	})
	if isConstraint(err) {
		return Member{}, ErrConflict
	}
	if err != nil {
		return Member{}, fmt.Errorf("store: create member: %w", err)
	}
	return s.Member(ctx, id)
}

// UpdateMember edits a Member; a duplicate name is ErrConflict.
func (s *Store) UpdateMember(ctx context.Context, id string, in MemberInput) error {
	err := s.exec1(ctx, "update member", "UPDATE members SET name = ?, country = ?, kind = ?, active = ? WHERE id = ?",
		in.Name, nullStr(in.Country), in.Kind, in.Active, id)
	if isConstraint(err) {
		return ErrConflict
	}
	return err
}

// StaffMember is one person working for a Member.
type StaffMember struct {
	UserID, Name, Email string
	Role                Role
}

// MemberStaff lists a Member's staff with their names opened.
func (s *Store) MemberStaff(ctx context.Context, memberID string) ([]StaffMember, error) {
	rows, err := s.rdb.QueryContext(ctx, "SELECT user_id, role FROM member_staff WHERE member_id = ? ORDER BY added_at", memberID)
	if err != nil {
		return nil, fmt.Errorf("store: member staff: %w", err)
	}
	type pair struct{ id, role string }
	var ps []pair
	for rows.Next() {
		var p pair
		if err := rows.Scan(&p.id, &p.role); err != nil {
			rows.Close()
			return nil, err
		}
		ps = append(ps, p)
	}
	rows.Close()
	var out []StaffMember
	for _, p := range ps {
		u, err := s.User(ctx, p.id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, StaffMember{UserID: u.ID, Name: u.DisplayName(), Email: u.Email, Role: Role(p.role)})
	}
	return out, nil
}

// RemoveStaff ends userID's work for memberID: they become a learner again
// and every session of theirs ends.
func (s *Store) RemoveStaff(ctx context.Context, memberID, userID string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM member_staff WHERE user_id = ? AND member_id = ?", userID, memberID)
		if err != nil {
			return err
		}
		if err := mustAffect(res); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, "UPDATE users SET role = 'learner', session_epoch = session_epoch + 1 WHERE id = ?", userID)
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return err
	}
	if err != nil {
		return fmt.Errorf("store: remove staff: %w", err)
	}
	return nil
}

// Operators lists the accounts with operator roles.
func (s *Store) Operators(ctx context.Context) ([]User, error) {
	rows, err := s.rdb.QueryContext(ctx, "SELECT id FROM users WHERE role IN ('operator', 'consultant', 'backoffice') ORDER BY created_at")
	if err != nil {
		return nil, fmt.Errorf("store: operators: %w", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	var out []User
	for _, id := range ids {
		u, err := s.User(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, nil
}

// SetOperatorRole changes an operator's role and privacy-officer flag; their
// sessions end so the change applies at once.
func (s *Store) SetOperatorRole(ctx context.Context, userID string, role Role, dpo bool) error {
	if !role.IsOperator() {
		return fmt.Errorf("store: set operator role: %q is not an operator role", role)
	}
	return s.exec1(ctx, "set operator role", `UPDATE users SET role = ?, dpo = ?, session_epoch = session_epoch + 1
		WHERE id = ? AND role IN ('operator', 'consultant', 'backoffice')`, string(role), dpo, userID)
}
