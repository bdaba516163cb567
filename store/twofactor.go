package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"kelas/store/crypt"
)

// Audit actions of the second factor.
const (
	AuditTwoFactorEnable = "twofactor.enable"
	AuditTwoFactorRemove = "twofactor.remove"
	AuditTwoFactorReset  = "twofactor.reset" // removed by another operator
	AuditEmailRevert     = "email.revert"
)

// ErrCodeUsed means a second-factor code (a TOTP time step or a recovery
// code) was already accepted once.
var ErrCodeUsed = errors.New("store: code already used")

func twoFactorTables() []table {
	secret := Field{Category: CatSecurity, Personal: true, Purposes: purposeSecurity, Basis: BasisContract,
		Retention: "while the second factor is on; removed with it", Export: ExportOmit, Erasure: EraseDelete,
		Why: "a shared secret: exporting it would hand out the second factor"}
	revert := Field{Category: CatSecurity, Personal: true, Purposes: purposeSecurity, Basis: BasisContract,
		Retention: "until used or expired (7 days at most)", Export: ExportOmit, Erasure: EraseDelete,
		Why: "single-use links that undo an address change"}
	return []table{
		{db: DBMain, name: "user_totp", base: secret, sealed: []string{"secret"},
			columns: []string{"user_id", "secret", "created_at", "confirmed_at", "last_step"}},
		{db: DBMain, name: "recovery_codes", base: secret,
			columns: []string{"id", "user_id", "code_hash", "used_at"}},
		{db: DBMain, name: "email_reverts", base: revert, sealed: []string{"old_email"},
			columns: []string{"token_hash", "user_id", "old_email", "old_email_index", "created_at", "expires_at", "used_at"}},
	}
}

// TOTP is a person's second factor, opened.
type TOTP struct {
	Secret    string // base32, as authenticator apps take it
	Confirmed bool
	LastStep  int64 // the newest time step accepted
}

// TOTP returns userID's second factor, or ErrNotFound.
func (s *Store) TOTP(ctx context.Context, userID string) (TOTP, error) {
	var t TOTP
	var sealed []byte
	var confirmed sql.NullString
	err := s.rdb.QueryRowContext(ctx, "SELECT secret, confirmed_at, last_step FROM user_totp WHERE user_id = ?", userID).
		Scan(&sealed, &confirmed, &t.LastStep)
	if errors.Is(err, sql.ErrNoRows) {
		return t, ErrNotFound
	}
	if err != nil {
		return t, fmt.Errorf("store: totp: %w", err)
	}
	z, err := s.sealerFor(ctx, userID, "user_totp", userID)
	if err != nil {
		return t, err
	}
	if t.Secret, err = z.open("secret", sealed); err != nil {
		return t, err
	}
	t.Confirmed = confirmed.Valid
	return t, nil
}

// StartTOTP stores a new, unconfirmed secret for userID, replacing an
// unconfirmed one. A confirmed second factor is ErrConflict: it is removed
// first, with the code.
func (s *Store) StartTOTP(ctx context.Context, userID, secret string) error {
	z, err := s.sealerFor(ctx, userID, "user_totp", userID)
	if err != nil {
		return err
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO user_totp (user_id, secret, created_at) VALUES (?, ?, ?)
			ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, created_at = excluded.created_at
			WHERE user_totp.confirmed_at IS NULL`, userID, z.seal("secret", secret), ts(s.Now()))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrConflict
		}
		return nil
	})
	if errors.Is(err, ErrConflict) {
		return err
	}
	if err != nil {
		return fmt.Errorf("store: start totp: %w", err)
	}
	return nil
}

// recoveryIndex is the keyed hash under which a recovery code is kept.
func (s *Store) recoveryIndex(code string) []byte {
	return s.kr.BlindIndex("recovery_codes.code_hash", NormaliseRecoveryCode(code))
}

// NormaliseRecoveryCode drops spaces and dashes and lower-cases a code as
// typed.
func NormaliseRecoveryCode(code string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == ' ' || r == '-' || r == '\t':
			return -1
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		}
		return r
	}, code)
}

// ConfirmTOTP turns the pending secret on, records step as used and stores
// the recovery codes (replacing any earlier ones). Every other session of
// the person ends: whatever was logged in before the factor existed is not
// trusted with it.
func (s *Store) ConfirmTOTP(ctx context.Context, userID string, step int64, codes []string) error {
	now := s.Now()
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE user_totp SET confirmed_at = ?, last_step = ?
			WHERE user_id = ? AND confirmed_at IS NULL`, ts(now), step, userID)
		if err != nil {
			return err
		}
		if err := mustAffect(res); err != nil {
			return err
		}
		if err := s.replaceRecoveryCodes(ctx, tx, userID, codes); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE users SET session_epoch = session_epoch + 1 WHERE id = ?", userID); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, now, AuditEntry{ActorID: userID, Action: AuditTwoFactorEnable, TargetType: "user", TargetID: userID})
	})
	if errors.Is(err, ErrNotFound) {
		return err
	}
	if err != nil {
		return fmt.Errorf("store: confirm totp: %w", err)
	}
	return nil
}

func (s *Store) replaceRecoveryCodes(ctx context.Context, tx *sql.Tx, userID string, codes []string) error {
	if _, err := tx.ExecContext(ctx, "DELETE FROM recovery_codes WHERE user_id = ?", userID); err != nil {
		return err
	}
	for _, c := range codes {
		if _, err := tx.ExecContext(ctx, "INSERT INTO recovery_codes (user_id, code_hash) VALUES (?, ?)", userID, s.recoveryIndex(c)); err != nil {
			return err
		}
	}
	return nil
}

// UseTOTPStep records step as used when it is newer than every step used
// before; an older or equal step is ErrCodeUsed (a replayed code).
func (s *Store) UseTOTPStep(ctx context.Context, userID string, step int64) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE user_totp SET last_step = ?
			WHERE user_id = ? AND confirmed_at IS NOT NULL AND last_step < ?`, step, userID, step)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrCodeUsed
		}
		return nil
	})
	if errors.Is(err, ErrCodeUsed) {
		return err
	}
	if err != nil {
		return fmt.Errorf("store: use totp step: %w", err)
	}
	return nil
}

// UseRecoveryCode spends one of userID's recovery codes. An unknown or
// spent code is ErrNotFound.
func (s *Store) UseRecoveryCode(ctx context.Context, userID, code string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE recovery_codes SET used_at = ?
			WHERE user_id = ? AND code_hash = ? AND used_at IS NULL`, ts(s.Now()), userID, s.recoveryIndex(code))
		if err != nil {
			return err
		}
		return mustAffect(res)
	})
	if errors.Is(err, ErrNotFound) {
		return err
	}
	if err != nil {
		return fmt.Errorf("store: use recovery code: %w", err)
	}
	return nil
}

// RecoveryCodesLeft counts userID's unspent recovery codes.
func (s *Store) RecoveryCodesLeft(ctx context.Context, userID string) (int, error) {
	var n int
	err := s.rdb.QueryRowContext(ctx, "SELECT COUNT(*) FROM recovery_codes WHERE user_id = ? AND used_at IS NULL", userID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: recovery codes: %w", err)
	}
	return n, nil
}

// ReplaceRecoveryCodes gives userID a new set of recovery codes; the old
// ones stop working.
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, userID string, codes []string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error { return s.replaceRecoveryCodes(ctx, tx, userID, codes) })
	if err != nil {
		return fmt.Errorf("store: replace recovery codes: %w", err)
	}
	return nil
}

// RemoveTOTP removes userID's second factor and recovery codes, audited.
// actor is the person themselves, or the operator who recovered the
// account for them; either way every session of the person ends.
func (s *Store) RemoveTOTP(ctx context.Context, actor, userID string) error {
	now := s.Now()
	action := AuditTwoFactorRemove
	if actor != userID {
		action = AuditTwoFactorReset
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM recovery_codes WHERE user_id = ?", userID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, "DELETE FROM user_totp WHERE user_id = ?", userID)
		if err != nil {
			return err
		}
		if err := mustAffect(res); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE users SET session_epoch = session_epoch + 1 WHERE id = ?", userID); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, now, AuditEntry{ActorID: actor, Action: action, TargetType: "user", TargetID: userID})
	})
	if errors.Is(err, ErrNotFound) {
		return err
	}
	if err != nil {
		return fmt.Errorf("store: remove totp: %w", err)
	}
	return nil
}

// CreateEmailRevert issues a "this was not me" token that puts oldEmail
// back on userID's account within ttl.
func (s *Store) CreateEmailRevert(ctx context.Context, userID, oldEmail string, ttl time.Duration) (string, error) {
	token := NewToken()
	h := tokenHash(token)
	z, err := s.sealerFor(ctx, userID, "email_reverts", fmt.Sprintf("%x", h))
	if err != nil {
		return "", err
	}
	now := s.Now()
	err = s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO email_reverts (token_hash, user_id, old_email, old_email_index, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?)`, h, userID, z.seal("old_email", crypt.NormaliseEmail(oldEmail)), s.emailIndex(oldEmail),
			ts(now), ts(now.Add(ttl)))
		return err
	})
	if err != nil {
		return "", fmt.Errorf("store: create email revert: %w", err)
	}
	return token, nil
}

// EmailRevertValid reports whether a "this was not me" token is live.
func (s *Store) EmailRevertValid(ctx context.Context, token string) (bool, error) {
	var n int
	err := s.rdb.QueryRowContext(ctx, `SELECT COUNT(*) FROM email_reverts
		WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?`, tokenHash(token), ts(s.Now())).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("store: email revert: %w", err)
	}
	return n == 1, nil
}

// RevertEmail spends a "this was not me" token: the old address is put
// back (and counts as confirmed: its owner just followed a link mailed to
// it), pending address changes are withdrawn, and every session of the
// person ends. An address another account took meanwhile is ErrConflict.
func (s *Store) RevertEmail(ctx context.Context, token string) (User, error) {
	h := tokenHash(token)
	var userID string
	err := s.tx(ctx, func(tx *sql.Tx) error {
		now := ts(s.Now())
		var sealed, index []byte
		err := tx.QueryRowContext(ctx, `UPDATE email_reverts SET used_at = ?
			WHERE token_hash = ? AND used_at IS NULL AND expires_at > ? RETURNING user_id, old_email, old_email_index`,
			now, h, now).Scan(&userID, &sealed, &index)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrTokenInvalid
		}
		if err != nil {
			return err
		}
		zr, err := s.sealerFor(ctx, userID, "email_reverts", fmt.Sprintf("%x", h))
		if err != nil {
			return err
		}
		addr, err := zr.open("old_email", sealed)
		if err != nil {
			return err
		}
		zu, err := s.sealerFor(ctx, userID, "users", userID)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE users SET email = ?, email_index = ?, verified_at = COALESCE(verified_at, ?),
			session_epoch = session_epoch + 1 WHERE id = ?`, zu.seal("email", addr), index, now, userID)
		if isConstraint(err) {
			return ErrConflict
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM account_tokens WHERE user_id = ? AND used_at IS NULL", userID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE email_reverts SET used_at = ? WHERE user_id = ? AND used_at IS NULL", now, userID); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, s.Now(), AuditEntry{ActorID: userID, Action: AuditEmailRevert, TargetType: "user", TargetID: userID})
	})
	if errors.Is(err, ErrTokenInvalid) || errors.Is(err, ErrConflict) {
		return User{}, err
	}
	if err != nil {
		return User{}, fmt.Errorf("store: revert email: %w", err)
	}
	return s.User(ctx, userID)
}

// DuplicateNoticeDue reports whether the owner of userID may be told of
// another registration attempt now (at most once a day), and if so records
// that they are being told.
func (s *Store) DuplicateNoticeDue(ctx context.Context, userID string) (bool, error) {
	now := s.Now()
	var due bool
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET duplicate_notice_at = ?
			WHERE id = ? AND (duplicate_notice_at IS NULL OR duplicate_notice_at <= ?)`, ts(now), userID, ts(now.Add(-24*time.Hour)))
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		due = n == 1
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("store: duplicate notice: %w", err)
	}
	return due, nil
}
