package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

func suspensionTables() []table {
	f := Field{Category: CatAccount, Personal: true, Purposes: []string{"stop misuse of the portal, and tell the person why"},
		Basis: BasisLegitimate, Retention: "while the suspension lasts", Export: ExportInclude, Erasure: EraseDelete}
	return []table{{db: DBMain, name: "suspensions", columns: []string{"user_id", "reason", "suspended_at", "suspended_by"},
		sealed: []string{"reason"}, base: f}}
}

// Audited suspension actions.
const (
	AuditUserSuspend   = "user.suspend"
	AuditUserReinstate = "user.reinstate"
)

// Suspension is why and since when an account is suspended.
type Suspension struct {
	Reason      string
	At          time.Time
	SuspendedBy string
}

// SuspendUser suspends userID's account for reason: it can no longer log
// in, every session of it ends (the epoch moves), and the change is
// audited (without the reason, which is the person's data). Suspending a
// suspended account is ErrConflict.
func (s *Store) SuspendUser(ctx context.Context, actorID, userID, reason string) error {
	z, err := s.sealerFor(ctx, userID, "suspensions", userID)
	if err != nil {
		return fmt.Errorf("store: suspend: %w", err)
	}
	now := s.Now()
	err = s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET status = 'disabled', session_epoch = session_epoch + 1
			WHERE id = ? AND status = 'active'`, userID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrConflict
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO suspensions (user_id, reason, suspended_at, suspended_by) VALUES (?, ?, ?, ?)`,
			userID, z.seal("reason", reason), ts(now), actorID); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, now, AuditEntry{ActorID: actorID, Action: AuditUserSuspend, TargetType: "user", TargetID: userID})
	})
	if errors.Is(err, ErrConflict) {
		return err
	}
	if err != nil {
		return fmt.Errorf("store: suspend: %w", err)
	}
	return nil
}

// ReinstateUser lifts userID's suspension, audited. An account that is not
// suspended is ErrConflict.
func (s *Store) ReinstateUser(ctx context.Context, actorID, userID string) error {
	now := s.Now()
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM suspensions WHERE user_id = ?", userID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrConflict
		}
		if _, err := tx.ExecContext(ctx, "UPDATE users SET status = 'active' WHERE id = ?", userID); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, now, AuditEntry{ActorID: actorID, Action: AuditUserReinstate, TargetType: "user", TargetID: userID})
	})
	if errors.Is(err, ErrConflict) {
		return err
	}
	if err != nil {
		return fmt.Errorf("store: reinstate: %w", err)
	}
	return nil
}

// SuspensionOf is userID's suspension, ErrNotFound when there is none.
func (s *Store) SuspensionOf(ctx context.Context, userID string) (Suspension, error) {
	var sp Suspension
	var reason []byte
	err := s.rdb.QueryRowContext(ctx, "SELECT reason, suspended_at, suspended_by FROM suspensions WHERE user_id = ?", userID).
		Scan(&reason, tsInto(&sp.At), &sp.SuspendedBy)
	if errors.Is(err, sql.ErrNoRows) {
		return sp, ErrNotFound
	}
	if err != nil {
		return sp, fmt.Errorf("store: suspension: %w", err)
	}
	z, err := s.sealerFor(ctx, userID, "suspensions", userID)
	if err != nil {
		return sp, fmt.Errorf("store: suspension: %w", err)
	}
	if sp.Reason, err = z.open("reason", reason); err != nil {
		return sp, err
	}
	return sp, nil
}
