package store

import (
	"context"
	"database/sql"
	"fmt"
)

// SetLanguage stores the language a person chose to be spoken to in (a
// code of i18n.Languages; callers check it).
func (s *Store) SetLanguage(ctx context.Context, userID, code string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE users SET language = ? WHERE id = ?", code, userID)
		if err != nil {
			return err
		}
		return mustAffect(res)
	})
	if err != nil {
		return fmt.Errorf("store: set language: %w", err)
	}
	return nil
}
