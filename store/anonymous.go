package store

import (
	"context"
	"database/sql"
	"fmt"
)

// Kinds of anonymous counts, and what their keys hold.
const (
	AnonRegistration = "registration" // k1 month (YYYY-MM), k2 country, k3 industry
	AnonEnrolment    = "enrolment"    // k1 training id, k2 month enrolled
	AnonCompletion   = "completion"   // k1 training id, k2 month completed
	AnonActivity     = "activity"     // k1 training id, k2 action, k3 day (YYYY-MM-DD)
)

func anonymousTables() []table {
	return []table{{db: DBMain, name: "anonymous_counts", columns: []string{"kind", "k1", "k2", "k3", "n"},
		base: Field{Category: CatSystem, Export: ExportOmit, Erasure: EraseNone,
			Why: "counters left by erased people: months, countries, industries, training ids and counts, no person"}}}
}

// keepAnonymousCounts moves an erased person's contribution to the
// aggregate figures into anonymous_counts, inside the erasure's transaction
// and before their rows go. Everything is summed in SQL: the months,
// country and industry codes and training ids are already plaintext. Only
// someone the reports count (reportIncluded) contributes: staff, restricted
// and objecting people are left out of the figures, and erasing them must
// not add them.
func keepAnonymousCounts(ctx context.Context, tx *sql.Tx, userID string) error {
	const counted = `EXISTS (SELECT 1 FROM users u WHERE u.id = ?1 AND ` + reportIncluded + `)`
	stmts := []string{
		`INSERT INTO anonymous_counts (kind, k1, k2, k3, n)
		 SELECT 'registration', substr(created_at, 1, 7), COALESCE(country, ''), COALESCE(industry, ''), 1 FROM users
		 WHERE id = ?1 AND ` + counted + `
		 ON CONFLICT (kind, k1, k2, k3) DO UPDATE SET n = n + excluded.n`,
		`INSERT INTO anonymous_counts (kind, k1, k2, k3, n)
		 SELECT 'enrolment', training_id, substr(enrolled_at, 1, 7), '', COUNT(*) FROM enrolments WHERE user_id = ?1 AND ` + counted + `
		 GROUP BY training_id, substr(enrolled_at, 1, 7)
		 ON CONFLICT (kind, k1, k2, k3) DO UPDATE SET n = n + excluded.n`,
		`INSERT INTO anonymous_counts (kind, k1, k2, k3, n)
		 SELECT 'completion', training_id, substr(completed_at, 1, 7), '', COUNT(*) FROM enrolments
		 WHERE user_id = ?1 AND completed_at IS NOT NULL AND ` + counted + `
		 GROUP BY training_id, substr(completed_at, 1, 7)
		 ON CONFLICT (kind, k1, k2, k3) DO UPDATE SET n = n + excluded.n`,
		`INSERT INTO anonymous_counts (kind, k1, k2, k3, n)
		 SELECT 'activity', COALESCE(training_id, ''), action, substr(at, 1, 10), COUNT(*) FROM activity_log WHERE user_id = ?1 AND ` + counted + `
		 GROUP BY training_id, action, substr(at, 1, 10)
		 ON CONFLICT (kind, k1, k2, k3) DO UPDATE SET n = n + excluded.n`,
	}
	for _, q := range stmts {
		if _, err := tx.ExecContext(ctx, q, userID); err != nil {
			return fmt.Errorf("anonymous counts: %w", err)
		}
	}
	return nil
}

// AnonymousCount sums anonymous counts of a kind whose keys match the
// given prefixes ("" matches any). Reports add it to the live figures.
func (s *Store) AnonymousCount(ctx context.Context, kind, k1, k2, k3 string) (int, error) {
	var n int
	err := s.rdb.QueryRowContext(ctx, `SELECT COALESCE(SUM(n), 0) FROM anonymous_counts WHERE kind = ?
		AND (? = '' OR k1 = ?) AND (? = '' OR k2 = ?) AND (? = '' OR k3 = ?)`, kind, k1, k1, k2, k2, k3, k3).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: anonymous count: %w", err)
	}
	return n, nil
}
