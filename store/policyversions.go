package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Audited actions of policy versions.
const (
	AuditPolicyDraft   = "policy.draft"
	AuditPolicyPublish = "policy.publish"
	AuditPolicyNotify  = "policy.notify"
	// AuditPolicyTranslate: a translation of a published version was saved.
	AuditPolicyTranslate = "policy.translate"
	// AuditPolicyDecline: a person declined the version they were asked
	// to accept.
	AuditPolicyDecline = "policy.decline"
)

// How a policy version was accepted (policy_acceptances.how).
const (
	AcceptedAtRegistration = "registration"
	AcceptedAtLogin        = "login"
	AcceptedInProfile      = "profile"
)

// ErrPolicyUnchanged means a draft's text is the same as the version in
// force: publishing it would change nothing.
var ErrPolicyUnchanged = errors.New("store: the policy text is unchanged")

func policyTables() []table {
	return []table{systemTable(DBMain, "policy_drafts", "privacy-policy versions being written, before publication",
		"id", "version", "summary", "body_md", "material", "effective_at", "created_at", "updated_at"),
		systemTable(DBMain, "policy_translations", "translations of the published privacy-policy texts",
			"version", "language", "summary", "body_md", "updated_at"),
		{db: DBMain, name: "policy_declines", columns: []string{"id", "user_id", "policy_version", "declined_at"},
			// A decline is purged like an earlier consent record once a
			// later answer replaced it (store/retention.go).
			base: Field{Category: CatConsents, Personal: true, Purposes: []string{"prove what the person agreed to and when"},
				Basis: BasisLegal, Retention: "as long as the consent log retention rule keeps consent records",
				Export: ExportInclude, Erasure: EraseDelete}},
	}
}

// ValidPolicyVersion checks a version label: 1 to 40 letters, digits, dots,
// dashes and underscores, starting with a letter or digit. Labels appear in
// URLs and download file names, so nothing else is allowed.
func ValidPolicyVersion(v string) bool {
	if len(v) == 0 || len(v) > 40 {
		return false
	}
	for i, c := range v {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case i > 0 && (c == '.' || c == '-' || c == '_'):
		default:
			return false
		}
	}
	return true
}

// PolicyDraft is a policy version being written.
type PolicyDraft struct {
	ID          string
	Version     string
	Summary     string
	BodyMD      string
	Material    bool
	EffectiveAt time.Time
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// SavePolicyDraft inserts a draft (empty ID) or updates one, and audits it.
func (s *Store) SavePolicyDraft(ctx context.Context, actor string, d PolicyDraft) (PolicyDraft, error) {
	now := s.Now()
	created := d.ID == ""
	if created {
		d.ID = NewID()
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var res sql.Result
		var err error
		if created {
			res, err = tx.ExecContext(ctx, `INSERT INTO policy_drafts (id, version, summary, body_md, material, effective_at,
				created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
				d.ID, d.Version, d.Summary, d.BodyMD, d.Material, ts(d.EffectiveAt), ts(now), ts(now))
		} else {
			res, err = tx.ExecContext(ctx, `UPDATE policy_drafts SET version = ?, summary = ?, body_md = ?, material = ?,
				effective_at = ?, updated_at = ? WHERE id = ?`, d.Version, d.Summary, d.BodyMD, d.Material, ts(d.EffectiveAt), ts(now), d.ID)
		}
		if err != nil {
			return err
		}
		if err := mustAffect(res); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, now, AuditEntry{ActorID: actor, Action: AuditPolicyDraft, TargetType: "policy_draft",
			TargetID: d.ID, Details: map[string]any{"version": d.Version, "material": d.Material, "new": created}})
	})
	if errors.Is(err, ErrNotFound) {
		return d, ErrNotFound
	}
	if err != nil {
		return d, fmt.Errorf("store: save policy draft: %w", err)
	}
	return s.PolicyDraft(ctx, d.ID)
}

const draftColumns = "id, version, summary, body_md, material, effective_at, created_at, updated_at"

func scanDraft(sc interface{ Scan(...any) error }) (PolicyDraft, error) {
	var d PolicyDraft
	err := sc.Scan(&d.ID, &d.Version, &d.Summary, &d.BodyMD, &d.Material, tsInto(&d.EffectiveAt), tsInto(&d.CreatedAt), tsInto(&d.UpdatedAt))
	return d, err
}

// PolicyDraft returns one draft, or ErrNotFound.
func (s *Store) PolicyDraft(ctx context.Context, id string) (PolicyDraft, error) {
	d, err := scanDraft(s.rdb.QueryRowContext(ctx, "SELECT "+draftColumns+" FROM policy_drafts WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return d, ErrNotFound
	}
	if err != nil {
		return d, fmt.Errorf("store: policy draft: %w", err)
	}
	return d, nil
}

// PolicyDrafts lists the drafts, most recently edited first.
func (s *Store) PolicyDrafts(ctx context.Context) ([]PolicyDraft, error) {
	rows, err := s.rdb.QueryContext(ctx, "SELECT "+draftColumns+" FROM policy_drafts ORDER BY updated_at DESC, id")
	if err != nil {
		return nil, fmt.Errorf("store: policy drafts: %w", err)
	}
	defer rows.Close()
	var out []PolicyDraft
	for rows.Next() {
		d, err := scanDraft(rows)
		if err != nil {
			return nil, fmt.Errorf("store: policy drafts: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// normalisePolicy is what "unchanged" compares: line ends and the spaces
// around the text do not count as a change.
func normalisePolicy(body string) string {
	return strings.TrimSpace(strings.ReplaceAll(body, "\r\n", "\n"))
}

// PublishPolicy turns a draft into a published version, in one transaction
// with its audit entry: the version is inserted into policy_versions and
// the draft removed. A label already published is ErrConflict; a text equal
// to the latest published one is ErrPolicyUnchanged.
func (s *Store) PublishPolicy(ctx context.Context, actor, draftID string) (PolicyVersion, error) {
	now := s.Now()
	var d PolicyDraft
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		d, err = scanDraft(tx.QueryRowContext(ctx, "SELECT "+draftColumns+" FROM policy_drafts WHERE id = ?", draftID))
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		var latest string
		err = tx.QueryRowContext(ctx, "SELECT body_md FROM policy_versions ORDER BY effective_at DESC, published_at DESC LIMIT 1").Scan(&latest)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if normalisePolicy(d.BodyMD) == "" || normalisePolicy(d.BodyMD) == normalisePolicy(latest) {
			return ErrPolicyUnchanged
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO policy_versions (version, summary, body_md, material, effective_at, published_at)
			VALUES (?, ?, ?, ?, ?, ?)`, d.Version, d.Summary, d.BodyMD, d.Material, ts(d.EffectiveAt), ts(now))
		if isConstraint(err) {
			return ErrConflict
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM policy_drafts WHERE id = ?", draftID); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, now, AuditEntry{ActorID: actor, Action: AuditPolicyPublish, TargetType: "policy_version",
			TargetID: d.Version, Details: map[string]any{"material": d.Material, "effective_at": ts(d.EffectiveAt)}})
	})
	switch {
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrConflict), errors.Is(err, ErrPolicyUnchanged):
		return PolicyVersion{}, err
	case err != nil:
		return PolicyVersion{}, fmt.Errorf("store: publish policy: %w", err)
	}
	return s.PolicyVersionByLabel(ctx, d.Version)
}

const policyColumns = "version, summary, body_md, material, effective_at, published_at"

func scanPolicy(sc interface{ Scan(...any) error }) (PolicyVersion, error) {
	var p PolicyVersion
	err := sc.Scan(&p.Version, &p.Summary, &p.BodyMD, &p.Material, tsInto(&p.EffectiveAt), tsInto(&p.PublishedAt))
	return p, err
}

// PolicyVersionByLabel returns one published version, or ErrNotFound.
func (s *Store) PolicyVersionByLabel(ctx context.Context, version string) (PolicyVersion, error) {
	p, err := scanPolicy(s.rdb.QueryRowContext(ctx, "SELECT "+policyColumns+" FROM policy_versions WHERE version = ?", version))
	if errors.Is(err, sql.ErrNoRows) {
		return p, ErrNotFound
	}
	if err != nil {
		return p, fmt.Errorf("store: policy version: %w", err)
	}
	return p, nil
}

// PolicyVersions lists every published version, newest first (including
// those not in effect yet).
func (s *Store) PolicyVersions(ctx context.Context) ([]PolicyVersion, error) {
	rows, err := s.rdb.QueryContext(ctx, "SELECT "+policyColumns+" FROM policy_versions ORDER BY effective_at DESC, published_at DESC")
	if err != nil {
		return nil, fmt.Errorf("store: policy versions: %w", err)
	}
	defer rows.Close()
	var out []PolicyVersion
	for rows.Next() {
		p, err := scanPolicy(rows)
		if err != nil {
			return nil, fmt.Errorf("store: policy versions: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// PolicyAcceptance is what a person must still accept at login: the
// version in force, and the version they accepted last ("" if none), for
// showing what changed since.
type PolicyAcceptance struct {
	Needed       bool
	Current      PolicyVersion
	LastAccepted string
	// DeclinedVersion and DeclinedAt are the person's latest decline of a
	// version that asks for their answer now ("" and zero when they have
	// not declined it): they are told so, and may still accept.
	DeclinedVersion string
	DeclinedAt      time.Time
}

// PolicyToAccept answers whether userID must accept the policy before
// continuing. They must when a material version is in force and they have
// accepted no version at least as recent as it; a minor version never asks
// again. Current is the version in force, which is what they accept.
func (s *Store) PolicyToAccept(ctx context.Context, userID string) (PolicyAcceptance, error) {
	var pa PolicyAcceptance
	now := ts(s.Now())
	cur, err := scanPolicy(s.rdb.QueryRowContext(ctx, "SELECT "+policyColumns+
		" FROM policy_versions WHERE effective_at <= ? ORDER BY effective_at DESC, published_at DESC LIMIT 1", now))
	if errors.Is(err, sql.ErrNoRows) {
		return pa, nil // nothing published: nothing to accept
	}
	if err != nil {
		return pa, fmt.Errorf("store: policy to accept: %w", err)
	}
	pa.Current = cur
	var materialAt sql.NullString
	if err := s.rdb.QueryRowContext(ctx, `SELECT MAX(effective_at) FROM policy_versions WHERE material = 1 AND effective_at <= ?`,
		now).Scan(&materialAt); err != nil {
		return pa, fmt.Errorf("store: policy to accept: %w", err)
	}
	err = s.rdb.QueryRowContext(ctx, `SELECT a.policy_version FROM policy_acceptances a
		WHERE a.user_id = ? ORDER BY a.id DESC LIMIT 1`, userID).Scan(&pa.LastAccepted)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return pa, fmt.Errorf("store: policy to accept: %w", err)
	}
	if !materialAt.Valid {
		return pa, nil
	}
	var ok bool
	err = s.rdb.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM policy_acceptances a
		JOIN policy_versions v ON v.version = a.policy_version WHERE a.user_id = ? AND v.effective_at >= ?)`,
		userID, materialAt.String).Scan(&ok)
	if err != nil {
		return pa, fmt.Errorf("store: policy to accept: %w", err)
	}
	pa.Needed = !ok
	if !pa.Needed {
		return pa, nil
	}
	err = s.rdb.QueryRowContext(ctx, `SELECT d.policy_version, d.declined_at FROM policy_declines d
		JOIN policy_versions v ON v.version = d.policy_version WHERE d.user_id = ? AND v.effective_at >= ?
		ORDER BY d.id DESC LIMIT 1`, userID, materialAt.String).Scan(&pa.DeclinedVersion, tsInto(&pa.DeclinedAt))
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return pa, fmt.Errorf("store: policy to accept: %w", err)
	}
	return pa, nil
}

// DeclinePolicy records that userID declined version, now, with its audit
// entry. They keep their account and their rights; the policy gate keeps
// asking until they accept (PolicyToAccept then reports the decline).
func (s *Store) DeclinePolicy(ctx context.Context, userID, version string) error {
	now := s.Now()
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "INSERT INTO policy_declines (user_id, policy_version, declined_at) VALUES (?, ?, ?)",
			userID, version, ts(now)); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, now, AuditEntry{ActorID: userID, Action: AuditPolicyDecline, TargetType: "policy", TargetID: version})
	})
	if err != nil {
		return fmt.Errorf("store: decline policy: %w", err)
	}
	return nil
}

// AcceptPolicy records that userID accepted version, now.
func (s *Store) AcceptPolicy(ctx context.Context, userID, version, how string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error { return acceptPolicy(ctx, tx, userID, version, how, s.Now()) })
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

// PolicyAcceptances lists userID's acceptances, oldest first.
func (s *Store) PolicyAcceptances(ctx context.Context, userID string) ([]Acceptance, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT policy_version, accepted_at, how FROM policy_acceptances
		WHERE user_id = ? ORDER BY id`, userID)
	if err != nil {
		return nil, fmt.Errorf("store: policy acceptances: %w", err)
	}
	defer rows.Close()
	var out []Acceptance
	for rows.Next() {
		var a Acceptance
		if err := rows.Scan(&a.Version, tsInto(&a.AcceptedAt), &a.How); err != nil {
			return nil, fmt.Errorf("store: policy acceptances: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// Acceptance is one recorded acceptance of a policy version.
type Acceptance struct {
	Version    string
	AcceptedAt time.Time
	How        string
}

// PolicyNotice is the latest material version with the version before it,
// for the site-wide banner; ok is false when there is none.
func (s *Store) PolicyNotice(ctx context.Context) (latest PolicyVersion, previous string, ok bool, err error) {
	latest, err = scanPolicy(s.rdb.QueryRowContext(ctx, "SELECT "+policyColumns+
		" FROM policy_versions WHERE material = 1 ORDER BY effective_at DESC, published_at DESC LIMIT 1"))
	if errors.Is(err, sql.ErrNoRows) {
		return latest, "", false, nil
	}
	if err != nil {
		return latest, "", false, fmt.Errorf("store: policy notice: %w", err)
	}
	err = s.rdb.QueryRowContext(ctx, `SELECT version FROM policy_versions WHERE effective_at < ? OR (effective_at = ? AND published_at < ?)
		ORDER BY effective_at DESC, published_at DESC LIMIT 1`, ts(latest.EffectiveAt), ts(latest.EffectiveAt), ts(latest.PublishedAt)).Scan(&previous)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return latest, "", false, fmt.Errorf("store: policy notice: %w", err)
	}
	return latest, previous, true, nil
}

// ActiveAccountIDs lists every active account: who is told of a material
// policy change.
func (s *Store) ActiveAccountIDs(ctx context.Context) ([]string, error) {
	ids, err := s.ids(ctx, "SELECT id FROM users WHERE status = 'active' ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("store: active accounts: %w", err)
	}
	return ids, nil
}

// PolicyTranslation is a published version's text in another language.
type PolicyTranslation struct {
	Version   string
	Language  string
	Summary   string
	BodyMD    string
	UpdatedAt time.Time
}

// SavePolicyTranslation adds or replaces the translation of a published
// version into one language, and audits it. A version that is not
// published is ErrNotFound.
func (s *Store) SavePolicyTranslation(ctx context.Context, actor string, t PolicyTranslation) (PolicyTranslation, error) {
	now := s.Now()
	var replaced bool
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM policy_versions WHERE version = ?", t.Version).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return ErrNotFound
		}
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM policy_translations WHERE version = ? AND language = ?",
			t.Version, t.Language).Scan(&n); err != nil {
			return err
		}
		replaced = n > 0
		if _, err := tx.ExecContext(ctx, `INSERT INTO policy_translations (version, language, summary, body_md, updated_at)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT (version, language) DO UPDATE SET summary = excluded.summary,
			body_md = excluded.body_md, updated_at = excluded.updated_at`,
			t.Version, t.Language, t.Summary, t.BodyMD, ts(now)); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, now, AuditEntry{ActorID: actor, Action: AuditPolicyTranslate, TargetType: "policy_version",
			TargetID: t.Version, Details: map[string]any{"language": t.Language, "new": !replaced}})
	})
	if errors.Is(err, ErrNotFound) {
		return t, ErrNotFound
	}
	if err != nil {
		return t, fmt.Errorf("store: save policy translation: %w", err)
	}
	return s.PolicyTranslation(ctx, t.Version, t.Language)
}

const translationColumns = "version, language, summary, body_md, updated_at"

func scanTranslation(sc interface{ Scan(...any) error }) (PolicyTranslation, error) {
	var t PolicyTranslation
	err := sc.Scan(&t.Version, &t.Language, &t.Summary, &t.BodyMD, tsInto(&t.UpdatedAt))
	return t, err
}

// PolicyTranslation returns the translation of a version into language,
// or ErrNotFound when there is none.
func (s *Store) PolicyTranslation(ctx context.Context, version, language string) (PolicyTranslation, error) {
	t, err := scanTranslation(s.rdb.QueryRowContext(ctx, "SELECT "+translationColumns+
		" FROM policy_translations WHERE version = ? AND language = ?", version, language))
	if errors.Is(err, sql.ErrNoRows) {
		return t, ErrNotFound
	}
	if err != nil {
		return t, fmt.Errorf("store: policy translation: %w", err)
	}
	return t, nil
}

// PolicyTranslations lists the translations of a version by language.
func (s *Store) PolicyTranslations(ctx context.Context, version string) ([]PolicyTranslation, error) {
	rows, err := s.rdb.QueryContext(ctx, "SELECT "+translationColumns+
		" FROM policy_translations WHERE version = ? ORDER BY language", version)
	if err != nil {
		return nil, fmt.Errorf("store: policy translations: %w", err)
	}
	defer rows.Close()
	var out []PolicyTranslation
	for rows.Next() {
		t, err := scanTranslation(rows)
		if err != nil {
			return nil, fmt.Errorf("store: policy translations: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}
