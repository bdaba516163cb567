package store

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"kelas/store/crypt"
)

// Consent purposes a person opts in to or out of.
const (
	ConsentNotifyNew = "notify_new" // announcements of new trainings: opt-in
	ConsentFeedback  = "feedback"   // feedback requests: on unless opted out
)

// Token purposes of account_tokens.
const (
	TokenVerify = "verify"
	TokenReset  = "reset"
)

// ErrTokenInvalid means a verification or reset link is unknown, used or
// expired. The cases are not told apart.
var ErrTokenInvalid = errors.New("store: link not valid")

func accountTables() []table {
	consent := Field{Category: CatConsents, Personal: true, Purposes: []string{"prove what the person agreed to and when"},
		Basis: BasisLegal, Retention: "while the account exists", Export: ExportInclude, Erasure: EraseDelete}
	profile := Field{Category: CatProfile, Personal: true, Purposes: []string{"show the person's optional profile to the trainings they join"},
		Basis: BasisConsent, Retention: "until the person removes it or the account ends", Export: ExportInclude, Erasure: EraseDelete}
	token := Field{Category: CatSecurity, Personal: true, Purposes: purposeSecurity, Basis: BasisContract,
		Retention: "until used or expired (48 hours at most)", Export: ExportOmit, Erasure: EraseDelete,
		Why: "single-use secrets for confirming an address or resetting a password"}
	return []table{
		systemTable(DBMain, "policy_versions", "the published privacy-policy texts",
			"version", "summary", "body_md", "material", "effective_at", "published_at"),
		{db: DBMain, name: "policy_acceptances", base: consent,
			columns: []string{"id", "user_id", "policy_version", "accepted_at", "how"}},
		{db: DBMain, name: "user_consents", base: consent,
			columns: []string{"id", "user_id", "purpose", "granted", "at", "how"}},
		{db: DBMain, name: "profiles", base: profile,
			columns: []string{"user_id", "picture", "picture_type", "description", "additional_names", "interests", "id_number",
				"institution", "department", "phone", "mobile", "address", "updated_at"},
			sealed: []string{"picture", "description", "additional_names", "interests", "id_number", "institution",
				"department", "phone", "mobile", "address"}},
		{db: DBMain, name: "account_tokens", base: token, sealed: []string{"new_email"},
			columns: []string{"token_hash", "user_id", "purpose", "new_email", "new_email_index", "created_at", "expires_at", "used_at"}},
	}
}

// PolicyVersion is one published privacy-policy text.
type PolicyVersion struct {
	Version     string
	Summary     string
	BodyMD      string
	Material    bool
	EffectiveAt time.Time
	PublishedAt time.Time
}

// CurrentPolicy is the newest policy version in effect now.
// Every page asks for it (consent), so it is cached until the next write or
// until the next published version takes effect.
func (s *Store) CurrentPolicy(ctx context.Context) (PolicyVersion, error) {
	now := s.Now()
	if v, ok := s.cache.get(currentPolicyKey{}, now); ok {
		e := v.(currentPolicy)
		return e.p, e.err
	}
	gen := s.cache.generation()
	var p PolicyVersion
	var next time.Time
	err := s.readRow(ctx, `SELECT version, summary, body_md, material, effective_at, published_at,
		(SELECT MIN(effective_at) FROM policy_versions WHERE effective_at > ?1)
		FROM policy_versions WHERE effective_at <= ?1 ORDER BY effective_at DESC LIMIT 1`, ts(now)).
		Scan(&p.Version, &p.Summary, &p.BodyMD, &p.Material, tsInto(&p.EffectiveAt), tsInto(&p.PublishedAt), tsInto(&next))
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
		// None in effect yet: that holds until the first one takes effect.
		var first time.Time
		if s.readRow(ctx, "SELECT MIN(effective_at) FROM policy_versions").Scan(tsInto(&first)) != nil {
			return p, err
		}
		next = first
	} else if err != nil {
		return p, fmt.Errorf("store: current policy: %w", err)
	}
	e := cacheEntry{v: currentPolicy{p, err}, from: p.EffectiveAt}
	e.until = next
	s.cache.put(gen, currentPolicyKey{}, e)
	return p, err
}

// currentPolicyKey is CurrentPolicy's key in the read cache.
type currentPolicyKey struct{}

type currentPolicy struct {
	p   PolicyVersion
	err error
}

func acceptPolicy(ctx context.Context, tx *sql.Tx, userID, version, how string, now time.Time) error {
	_, err := tx.ExecContext(ctx, "INSERT INTO policy_acceptances (user_id, policy_version, accepted_at, how) VALUES (?, ?, ?, ?)",
		userID, version, ts(now), how)
	if err != nil {
		return fmt.Errorf("accept policy: %w", err)
	}
	return nil
}

func setConsent(ctx context.Context, tx *sql.Tx, userID, purpose string, granted bool, how string, now time.Time) error {
	_, err := tx.ExecContext(ctx, "INSERT INTO user_consents (user_id, purpose, granted, at, how) VALUES (?, ?, ?, ?, ?)",
		userID, purpose, granted, ts(now), how)
	if err != nil {
		return fmt.Errorf("set consent: %w", err)
	}
	return nil
}

// Consents is a person's current choices.
type Consents struct {
	NotifyNew      bool
	Feedback       bool
	PolicyVersion  string // the latest accepted version, "" if none
	PolicyAccepted time.Time
}

// Consents returns the person's current opt-ins and their latest policy
// acceptance. With no recorded choice, notifications are off and feedback
// requests on (the registration defaults).
func (s *Store) Consents(ctx context.Context, userID string) (Consents, error) {
	c, err := currentConsents(ctx, preparedReads{s}, userID)
	if err != nil {
		return c, fmt.Errorf("store: consents: %w", err)
	}
	err = s.readRow(ctx, `SELECT policy_version, accepted_at FROM policy_acceptances
		WHERE user_id = ? ORDER BY id DESC LIMIT 1`, userID).Scan(&c.PolicyVersion, tsInto(&c.PolicyAccepted))
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("store: policy acceptance: %w", err)
	}
	return c, nil
}

// currentConsents reads the latest choice per purpose (the defaults where
// none is recorded) through q: the read pool, or a write transaction.
func currentConsents(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, userID string) (Consents, error) {
	c := Consents{Feedback: true}
	rows, err := q.QueryContext(ctx, `SELECT purpose, granted FROM user_consents
		WHERE id IN (SELECT MAX(id) FROM user_consents WHERE user_id = ? GROUP BY purpose)`, userID)
	if err != nil {
		return c, err
	}
	defer rows.Close()
	for rows.Next() {
		var purpose string
		var granted bool
		if err := rows.Scan(&purpose, &granted); err != nil {
			return c, err
		}
		switch purpose {
		case ConsentNotifyNew:
			c.NotifyNew = granted
		case ConsentFeedback:
			c.Feedback = granted
		}
	}
	return c, rows.Err()
}

// SetConsents records the person's choices where they changed. What is
// current is read in the same transaction, so a choice recorded meanwhile
// is compared against, not overlooked.
func (s *Store) SetConsents(ctx context.Context, userID string, notifyNew, feedback bool, how string) error {
	now := s.Now()
	return s.tx(ctx, func(tx *sql.Tx) error {
		cur, err := currentConsents(ctx, tx, userID)
		if err != nil {
			return fmt.Errorf("store: set consents: %w", err)
		}
		if cur.NotifyNew != notifyNew {
			if err := setConsent(ctx, tx, userID, ConsentNotifyNew, notifyNew, how, now); err != nil {
				return err
			}
		}
		if cur.Feedback != feedback {
			return setConsent(ctx, tx, userID, ConsentFeedback, feedback, how, now)
		}
		return nil
	})
}

// CreateAccountToken issues a single-use link token for userID and returns
// it; only its hash is stored. Earlier unused tokens of the same purpose are
// withdrawn. newEmail, for verify tokens, is the changed address to confirm.
func (s *Store) CreateAccountToken(ctx context.Context, userID, purpose string, ttl time.Duration, newEmail string) (string, error) {
	if purpose != TokenVerify && purpose != TokenReset {
		return "", fmt.Errorf("store: account token: unknown purpose %q", purpose)
	}
	token := NewToken()
	h := tokenHash(token)
	var sealed, index any
	if newEmail != "" {
		z, err := s.sealerFor(ctx, userID, "account_tokens", hex.EncodeToString(h))
		if err != nil {
			return "", err
		}
		sealed, index = z.seal("new_email", crypt.NormaliseEmail(newEmail)), s.emailIndex(newEmail)
	}
	now := s.Now()
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM account_tokens WHERE user_id = ? AND purpose = ? AND used_at IS NULL", userID, purpose); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO account_tokens (token_hash, user_id, purpose, new_email, new_email_index, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, h, userID, purpose, sealed, index, ts(now), ts(now.Add(ttl)))
		return err
	})
	if err != nil {
		return "", fmt.Errorf("store: create account token: %w", err)
	}
	return token, nil
}

// spendToken marks a live token used inside tx and returns its owner and,
// for address changes, the new address's sealed value and index.
func (s *Store) spendToken(ctx context.Context, tx *sql.Tx, token, purpose string) (userID string, newEmail, newIndex []byte, err error) {
	h := tokenHash(token)
	now := ts(s.Now())
	err = tx.QueryRowContext(ctx, `UPDATE account_tokens SET used_at = ?
		WHERE token_hash = ? AND purpose = ? AND used_at IS NULL AND expires_at > ?
		RETURNING user_id, new_email, new_email_index`, now, h, purpose, now).Scan(&userID, &newEmail, &newIndex)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil, nil, ErrTokenInvalid
	}
	return userID, newEmail, newIndex, err
}

// AccountTokenValid reports whether a token is live, without spending it
// (the reset form shows only for a live link).
func (s *Store) AccountTokenValid(ctx context.Context, token, purpose string) (bool, error) {
	var n int
	err := s.rdb.QueryRowContext(ctx, `SELECT COUNT(*) FROM account_tokens
		WHERE token_hash = ? AND purpose = ? AND used_at IS NULL AND expires_at > ?`, tokenHash(token), purpose, ts(s.Now())).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("store: account token: %w", err)
	}
	return n == 1, nil
}

// AccountTokenOwner returns the account a live token belongs to, without
// spending it; a dead token is ErrTokenInvalid.
func (s *Store) AccountTokenOwner(ctx context.Context, token, purpose string) (User, error) {
	var userID string
	err := s.rdb.QueryRowContext(ctx, `SELECT user_id FROM account_tokens
		WHERE token_hash = ? AND purpose = ? AND used_at IS NULL AND expires_at > ?`, tokenHash(token), purpose, ts(s.Now())).Scan(&userID)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, ErrTokenInvalid
	}
	if err != nil {
		return User{}, fmt.Errorf("store: account token owner: %w", err)
	}
	return s.User(ctx, userID)
}

// VerifyEmail spends a verification token: the account's address counts as
// confirmed, and a pending changed address replaces the old one. A changed
// address that another account took meanwhile is ErrConflict.
func (s *Store) VerifyEmail(ctx context.Context, token string) (User, error) {
	var userID string
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var newEmail, newIndex []byte
		var err error
		userID, newEmail, newIndex, err = s.spendToken(ctx, tx, token, TokenVerify)
		if err != nil {
			return err
		}
		now := ts(s.Now())
		if newEmail != nil {
			// Re-seal the address for the users row: the binding differs.
			addr, err := s.openTokenEmail(ctx, userID, token, newEmail)
			if err != nil {
				return err
			}
			z, err := s.sealerFor(ctx, userID, "users", userID)
			if err != nil {
				return err
			}
			// Every session ends with the change; the one confirming it
			// may continue (app.handleVerify logs it in again).
			_, err = tx.ExecContext(ctx, `UPDATE users SET email = ?, email_index = ?, verified_at = ?,
				session_epoch = session_epoch + 1 WHERE id = ?`, z.seal("email", addr), newIndex, now, userID)
			if isConstraint(err) {
				return ErrConflict
			}
			return err
		}
		_, err = tx.ExecContext(ctx, "UPDATE users SET verified_at = COALESCE(verified_at, ?) WHERE id = ?", now, userID)
		return err
	})
	if err != nil {
		if errors.Is(err, ErrTokenInvalid) || errors.Is(err, ErrConflict) {
			return User{}, err
		}
		return User{}, fmt.Errorf("store: verify email: %w", err)
	}
	return s.User(ctx, userID)
}

func (s *Store) openTokenEmail(ctx context.Context, userID, token string, sealed []byte) (string, error) {
	z, err := s.sealerFor(ctx, userID, "account_tokens", hex.EncodeToString(tokenHash(token)))
	if err != nil {
		return "", err
	}
	return z.open("new_email", sealed)
}

// PendingEmail returns the changed address awaiting confirmation, if any.
func (s *Store) PendingEmail(ctx context.Context, userID string) (string, error) {
	var h, sealed []byte
	err := s.readRow(ctx, `SELECT token_hash, new_email FROM account_tokens
		WHERE user_id = ? AND purpose = 'verify' AND new_email IS NOT NULL AND used_at IS NULL AND expires_at > ?
		ORDER BY created_at DESC LIMIT 1`, userID, ts(s.Now())).Scan(&h, &sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("store: pending email: %w", err)
	}
	z, err := s.sealerFor(ctx, userID, "account_tokens", hex.EncodeToString(h))
	if err != nil {
		return "", err
	}
	return z.open("new_email", sealed)
}

// ResetPassword spends a reset token and sets a new password hash. Every
// session of the person ends (the session epoch moves). Proving control of
// the mailbox also confirms the address.
func (s *Store) ResetPassword(ctx context.Context, token, passwordHash string) (User, error) {
	var userID string
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		if userID, _, _, err = s.spendToken(ctx, tx, token, TokenReset); err != nil {
			return err
		}
		now := ts(s.Now())
		_, err = tx.ExecContext(ctx, `UPDATE users SET password_hash = ?, session_epoch = session_epoch + 1,
			verified_at = COALESCE(verified_at, ?) WHERE id = ?`, passwordHash, now, userID)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, "DELETE FROM account_tokens WHERE user_id = ? AND purpose = 'reset' AND used_at IS NULL", userID)
		return err
	})
	if errors.Is(err, ErrTokenInvalid) {
		return User{}, err
	}
	if err != nil {
		return User{}, fmt.Errorf("store: reset password: %w", err)
	}
	return s.User(ctx, userID)
}

// SetPassword stores a new password hash and ends every session of the
// person by moving the session epoch.
func (s *Store) SetPassword(ctx context.Context, userID, passwordHash string) (User, error) {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE users SET password_hash = ?, session_epoch = session_epoch + 1 WHERE id = ?", passwordHash, userID)
		if err != nil {
			return err
		}
		return mustAffect(res)
	})
	if err != nil {
		return User{}, fmt.Errorf("store: set password: %w", err)
	}
	return s.User(ctx, userID)
}

// Details are the registration fields a person edits in their profile
// (the email address changes only through verification).
type Details struct {
	FirstName, Surname, Company, Gender, Country, Industry string
}

// Profile is the optional profile of a person, opened.
type Profile struct {
	Picture         []byte
	PictureType     string
	Description     string
	AdditionalNames string
	Interests       string
	IDNumber        string
	Institution     string
	Department      string
	Phone           string
	Mobile          string
	Address         string
	UpdatedAt       time.Time
}

// Profile returns the person's optional profile; an empty one when none
// was saved.
func (s *Store) Profile(ctx context.Context, userID string) (Profile, error) {
	var p Profile
	var pictureType sql.NullString
	var picture []byte
	sealed := make([][]byte, 9)
	err := s.readRow(ctx, `SELECT picture, picture_type, description, additional_names, interests, id_number,
		institution, department, phone, mobile, address, updated_at FROM profiles WHERE user_id = ?`, userID).
		Scan(&picture, &pictureType, &sealed[0], &sealed[1], &sealed[2], &sealed[3], &sealed[4], &sealed[5], &sealed[6], &sealed[7], &sealed[8], tsInto(&p.UpdatedAt))
	if errors.Is(err, sql.ErrNoRows) {
		return p, nil
	}
	if err != nil {
		return p, fmt.Errorf("store: profile: %w", err)
	}
	z, err := s.sealerFor(ctx, userID, "profiles", userID)
	if err != nil {
		return p, err
	}
	if picture != nil {
		pic, err := z.open("picture", picture)
		if err != nil {
			return p, err
		}
		p.Picture, p.PictureType = []byte(pic), pictureType.String
	}
	dst := p.textFields()
	for i, col := range profileTextColumns {
		if *dst[i], err = z.open(col, sealed[i]); err != nil {
			return p, err
		}
	}
	return p, nil
}

var profileTextColumns = [...]string{"description", "additional_names", "interests", "id_number", "institution",
	"department", "phone", "mobile", "address"}

func (p *Profile) textFields() []*string {
	return []*string{&p.Description, &p.AdditionalNames, &p.Interests, &p.IDNumber, &p.Institution,
		&p.Department, &p.Phone, &p.Mobile, &p.Address}
}

// PictureChange says what UpdateProfile does with the picture.
type PictureChange int

// Picture changes.
const (
	PictureKeep PictureChange = iota
	PictureReplace
	PictureRemove
)

// UpdateProfile saves the registration details and the optional profile
// in one transaction. The picture must already be re-encoded.
func (s *Store) UpdateProfile(ctx context.Context, userID string, d Details, p Profile, pic PictureChange) error {
	zu, err := s.sealerFor(ctx, userID, "users", userID)
	if err != nil {
		return err
	}
	zp, err := s.sealerFor(ctx, userID, "profiles", userID)
	if err != nil {
		return err
	}
	vals := []any{userID}
	for i, f := range p.textFields() {
		vals = append(vals, zp.sealOpt(profileTextColumns[i], *f))
	}
	now := ts(s.Now())
	err = s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET first_name = ?, surname = ?, company = ?, gender = ?, country = ?, industry = ?
			WHERE id = ?`, zu.seal("first_name", d.FirstName), zu.seal("surname", d.Surname), zu.sealOpt("company", d.Company),
			zu.sealOpt("gender", d.Gender), nullStr(d.Country), nullStr(d.Industry), userID)
		if err != nil {
			return err
		}
		if err := mustAffect(res); err != nil {
			return err
		}
		if err := setNameTags(ctx, tx, s.kr, userID, d.FirstName, d.Surname); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO profiles (user_id, description, additional_names, interests, id_number,
			institution, department, phone, mobile, address, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (user_id) DO UPDATE SET description = excluded.description, additional_names = excluded.additional_names,
			interests = excluded.interests, id_number = excluded.id_number, institution = excluded.institution,
			department = excluded.department, phone = excluded.phone, mobile = excluded.mobile, address = excluded.address,
			updated_at = excluded.updated_at`, append(vals, now)...)
		if err != nil {
			return err
		}
		switch pic {
		case PictureReplace:
			_, err = tx.ExecContext(ctx, "UPDATE profiles SET picture = ?, picture_type = ? WHERE user_id = ?",
				zp.seal("picture", string(p.Picture)), p.PictureType, userID)
		case PictureRemove:
			_, err = tx.ExecContext(ctx, "UPDATE profiles SET picture = NULL, picture_type = NULL WHERE user_id = ?", userID)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("store: update profile: %w", err)
	}
	return nil
}
