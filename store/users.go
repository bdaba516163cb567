package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"kelas/store/crypt"
)

// Role is a person's platform role (SPEC §1).
type Role string

// The roles. Operator, consultant and backoffice are the all-data operator
// roles; the dpo flag is separate.
const (
	RoleLearner     Role = "learner"
	RoleMemberStaff Role = "member_staff"
	RoleMemberAdmin Role = "member_admin"
	RoleOperator    Role = "operator"
	RoleConsultant  Role = "consultant"
	RoleBackoffice  Role = "backoffice"
)

// OperatorRoles are the platform-wide roles with all-data access.
var OperatorRoles = []Role{RoleOperator, RoleConsultant, RoleBackoffice}

// IsOperator reports whether r is one of the platform-wide operator roles.
func (r Role) IsOperator() bool {
	for _, o := range OperatorRoles {
		if r == o {
			return true
		}
	}
	return false
}

// ParseRole validates a role name from outside.
func ParseRole(v string) (Role, bool) {
	switch r := Role(v); r {
	case RoleLearner, RoleMemberStaff, RoleMemberAdmin, RoleOperator, RoleConsultant, RoleBackoffice:
		return r, true
	}
	return "", false
}

// User is an account with its personal fields opened.
type User struct {
	ID           string
	Email        string
	FirstName    string
	Surname      string
	Company      string
	Gender       string
	Country      string
	Industry     string
	PasswordHash string
	Role         Role
	DPO          bool
	Status       string
	SessionEpoch int64
	Language     string
	CreatedAt    time.Time
	VerifiedAt   time.Time
	LastLoginAt  time.Time
	// TwoFactor is set once a TOTP second factor is confirmed.
	TwoFactor bool

	// TimeZone is an IANA zone name ("" until chosen: the site's zone);
	// NameOrder is NameGivenFirst or NameFamilyFirst.
	TimeZone, NameOrder string
}

// Privileged reports whether the account sees other people's personal data
// (operators, privacy officers, Member staff and admins): such accounts
// must use a second factor.
func (u User) Privileged() bool { return u.Role != RoleLearner || u.DPO }

// Verified reports whether the email address has been confirmed.
func (u User) Verified() bool { return !u.VerifiedAt.IsZero() }

// NewUser is what CreateUser needs. PasswordHash is computed by the caller
// (bcrypt) exactly once.
type NewUser struct {
	Email        string
	FirstName    string
	Surname      string
	Company      string
	Gender       string
	Country      string
	Industry     string
	PasswordHash string
	Role         Role
	DPO          bool
	Language     string
	Verified     bool
	// Registration consents; AcceptedPolicy empty means none are recorded
	// (operators created from the CLI or setup link).
	AdultConfirmed bool
	AcceptedPolicy string
	NotifyNew      bool
	Feedback       bool

	// TimeZone and NameOrder are preferences; empty means the site's zone
	// and given name first.
	TimeZone, NameOrder string
}

func (s *Store) emailIndex(email string) []byte {
	return s.kr.BlindIndex("users.email", crypt.NormaliseEmail(email))
}

// CreateUser stores a new account with its own data key. An email already in
// use (case-insensitively) is ErrConflict.
func (s *Store) CreateUser(ctx context.Context, nu NewUser) (User, error) {
	return s.createUser(ctx, nu, nil)
}

// createUser makes the person's data key, then inserts the account in one
// transaction, after check (if any) ran in that same transaction with the
// new account's id.
func (s *Store) createUser(ctx context.Context, nu NewUser, check func(tx *sql.Tx, id string) error) (User, error) {
	if _, ok := ParseRole(string(nu.Role)); !ok {
		return User{}, fmt.Errorf("store: create user: invalid role %q", nu.Role)
	}
	id := NewID()
	if _, err := s.createDataKey(ctx, id); err != nil {
		return User{}, err
	}
	z, err := s.sealerFor(ctx, id, "users", id)
	if err != nil {
		return User{}, err
	}
	now := s.Now()
	if nu.Language == "" {
		nu.Language = "en"
	}
	if !ValidZone(nu.TimeZone) {
		nu.TimeZone = ""
	}
	if !ValidNameOrder(nu.NameOrder) {
		nu.NameOrder = NameGivenFirst
	}
	var verified, adult any
	if nu.Verified {
		verified = ts(now)
	}
	if nu.AdultConfirmed {
		adult = ts(now)
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		if check != nil {
			if err := check(tx, id); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO users (id, email_index, email, first_name, surname, company, gender,
			country, industry, password_hash, role, dpo, language, time_zone, name_order, created_at, verified_at, adult_confirmed_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			id, s.emailIndex(nu.Email), z.seal("email", crypt.NormaliseEmail(nu.Email)), z.seal("first_name", nu.FirstName),
			z.seal("surname", nu.Surname), z.sealOpt("company", nu.Company), z.sealOpt("gender", nu.Gender),
			nullStr(nu.Country), nullStr(nu.Industry), nu.PasswordHash, string(nu.Role), nu.DPO, nu.Language, nu.TimeZone, nu.NameOrder, ts(now), verified, adult)
		if err != nil {
			return err
		}
		if err := setNameTags(ctx, tx, s.kr, id, nu.FirstName, nu.Surname); err != nil {
			return err
		}
		if nu.AcceptedPolicy == "" {
			return nil
		}
		if err := acceptPolicy(ctx, tx, id, nu.AcceptedPolicy, "registration", now); err != nil {
			return err
		}
		if err := setConsent(ctx, tx, id, ConsentNotifyNew, nu.NotifyNew, "registration", now); err != nil {
			return err
		}
		return setConsent(ctx, tx, id, ConsentFeedback, nu.Feedback, "registration", now)
	})
	if err != nil {
		// The key was never used for a stored row; remove it, even when the
		// request that asked has gone.
		_ = s.DestroyDataKey(context.WithoutCancel(ctx), id)
		if isConstraint(err) {
			return User{}, ErrConflict
		}
		if errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) {
			return User{}, err
		}
		return User{}, fmt.Errorf("store: create user: %w", err)
	}
	return s.User(ctx, id)
}

const userColumns = `id, email, first_name, surname, company, gender, country, industry, password_hash,
	role, dpo, status, session_epoch, language, time_zone, name_order, created_at, verified_at, last_login_at,
	EXISTS (SELECT 1 FROM user_totp t WHERE t.user_id = users.id AND t.confirmed_at IS NOT NULL)`

// User returns the account with id, or ErrNotFound.
func (s *Store) User(ctx context.Context, id string) (User, error) {
	return s.scanUser(ctx, s.readRow(ctx, "SELECT "+userColumns+" FROM users WHERE id = ?", id))
}

// UserByEmail finds an account by email through the blind index, so the
// lookup is case-insensitive without any plaintext address on disk.
func (s *Store) UserByEmail(ctx context.Context, email string) (User, error) {
	return s.scanUser(ctx, s.readRow(ctx, "SELECT "+userColumns+" FROM users WHERE email_index = ?", s.emailIndex(email)))
}

func (s *Store) scanUser(ctx context.Context, row *sql.Row) (User, error) {
	var u User
	var email, first, surname, company, gender []byte
	var country, industry sql.NullString
	var role string
	err := row.Scan(&u.ID, &email, &first, &surname, &company, &gender, &country, &industry, &u.PasswordHash,
		&role, &u.DPO, &u.Status, &u.SessionEpoch, &u.Language, &u.TimeZone, &u.NameOrder, tsInto(&u.CreatedAt), tsInto(&u.VerifiedAt), tsInto(&u.LastLoginAt), &u.TwoFactor)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, ErrNotFound
	}
	if err != nil {
		return User{}, fmt.Errorf("store: user: %w", err)
	}
	u.Role = Role(role)
	u.Country, u.Industry = country.String, industry.String
	z, err := s.sealerFor(ctx, u.ID, "users", u.ID)
	if err != nil {
		return User{}, fmt.Errorf("store: user %s: %w", u.ID, err)
	}
	for _, f := range []struct {
		col string
		b   []byte
		dst *string
	}{{"email", email, &u.Email}, {"first_name", first, &u.FirstName}, {"surname", surname, &u.Surname},
		{"company", company, &u.Company}, {"gender", gender, &u.Gender}} {
		if *f.dst, err = z.open(f.col, f.b); err != nil {
			return User{}, err
		}
	}
	return u, nil
}

// CountOperators counts accounts with an operator role.
func (s *Store) CountOperators(ctx context.Context) (int, error) {
	var n int
	err := s.rdb.QueryRowContext(ctx, "SELECT COUNT(*) FROM users WHERE role IN ('operator', 'consultant', 'backoffice')").Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: count operators: %w", err)
	}
	return n, nil
}

// RecordLogin stamps the last login time.
func (s *Store) RecordLogin(ctx context.Context, id string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE users SET last_login_at = ? WHERE id = ?", ts(s.Now()), id)
		if err != nil {
			return fmt.Errorf("store: record login: %w", err)
		}
		return mustAffect(res)
	})
}

func mustAffect(res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

func nullStr(v string) any {
	if v == "" {
		return nil
	}
	return v
}
