package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Job is the stored state of one scheduled job.
type Job struct {
	Name      string
	NextRunAt time.Time
	LastRunAt time.Time // when the last run started; zero if never
	LastOKAt  time.Time // when the last successful run finished
	LastError string    // of the last run; "" when it succeeded
	// LeaseOwner and LeaseUntil name the process running the job now, if
	// any. A lease that ran out belongs to nobody.
	LeaseOwner string
	LeaseUntil time.Time
}

// Running reports whether a live lease is held on the job at now.
func (j Job) Running(now time.Time) bool {
	return j.LeaseOwner != "" && j.LeaseUntil.After(now)
}

// EnsureJob records a job the first time a process registers it, due at
// firstRun. An existing job keeps its state: that is what makes a restart
// neither skip nor repeat a run.
func (s *Store) EnsureJob(ctx context.Context, name string, firstRun time.Time) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO jobs (name, next_run_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
			name, ts(firstRun))
		return err
	})
	if err != nil {
		return fmt.Errorf("store: ensure job %s: %w", name, err)
	}
	return nil
}

// ClaimJob takes the lease on a job for owner until now+lease, if the job is
// due (or force is set) and no live lease is held. The check and the take are
// one UPDATE in an immediate transaction, so of two processes racing for the
// same job exactly one wins. claimed=false is not an error: the job is not
// due, or another process runs it.
func (s *Store) ClaimJob(ctx context.Context, name, owner string, lease time.Duration, force bool) (claimed bool, err error) {
	if owner == "" || lease <= 0 {
		return false, errors.New("store: claim job: owner and lease are required")
	}
	now := s.Now()
	err = s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE jobs SET lease_owner = ?, lease_until = ?
			WHERE name = ? AND (lease_until IS NULL OR lease_until <= ?) AND (? OR next_run_at <= ?)`,
			owner, ts(now.Add(lease)), name, ts(now), force, ts(now))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		claimed = n == 1
		return err
	})
	if err != nil {
		return false, fmt.Errorf("store: claim job %s: %w", name, err)
	}
	return claimed, nil
}

// RenewJobLease extends owner's lease on a running job. It fails with
// ErrNotFound when owner no longer holds it (the lease ran out and another
// process took the job), and the caller should stop.
func (s *Store) RenewJobLease(ctx context.Context, name, owner string, lease time.Duration) error {
	now := s.Now()
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE jobs SET lease_until = ? WHERE name = ? AND lease_owner = ? AND lease_until > ?",
			ts(now.Add(lease)), name, owner, ts(now))
		if err != nil {
			return err
		}
		return mustAffect(res)
	})
	if errors.Is(err, ErrNotFound) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("store: renew job lease %s: %w", name, err)
	}
	return nil
}

// FinishJob records the end of owner's run that started at startedAt, sets
// when the job is due next and releases the lease. The next run is computed
// by the caller from the time the run finished, so a job that missed several
// periods while kelas was down runs once, not once per missed period. When
// owner's lease was lost meanwhile nothing is recorded and ErrNotFound is
// returned.
func (s *Store) FinishJob(ctx context.Context, name, owner string, startedAt, next time.Time, runErr error) error {
	now := s.Now()
	var lastErr any
	if runErr != nil {
		lastErr = truncate(runErr.Error(), 500)
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE jobs SET next_run_at = ?, last_run_at = ?, last_error = ?,
			last_ok_at = CASE WHEN ? IS NULL THEN ? ELSE last_ok_at END, lease_owner = NULL, lease_until = NULL
			WHERE name = ? AND lease_owner = ?`,
			ts(next), ts(startedAt), lastErr, lastErr, ts(now), name, owner)
		if err != nil {
			return err
		}
		return mustAffect(res)
	})
	if errors.Is(err, ErrNotFound) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("store: finish job %s: %w", name, err)
	}
	return nil
}

// SetJobNextRun moves a job's next run, e.g. to run it as soon as possible.
func (s *Store) SetJobNextRun(ctx context.Context, name string, next time.Time) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE jobs SET next_run_at = ? WHERE name = ?", ts(next), name)
		if err != nil {
			return err
		}
		return mustAffect(res)
	})
	if errors.Is(err, ErrNotFound) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("store: set job next run %s: %w", name, err)
	}
	return nil
}

// Jobs lists every job's state by name, for the console and `kelas doctor`.
func (s *Store) Jobs(ctx context.Context) ([]Job, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT name, next_run_at, last_run_at, last_ok_at, last_error, lease_owner, lease_until
		FROM jobs ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("store: jobs: %w", err)
	}
	defer rows.Close()
	var out []Job
	for rows.Next() {
		var j Job
		var lastErr, owner sql.NullString
		if err := rows.Scan(&j.Name, tsInto(&j.NextRunAt), tsInto(&j.LastRunAt), tsInto(&j.LastOKAt), &lastErr, &owner, tsInto(&j.LeaseUntil)); err != nil {
			return nil, fmt.Errorf("store: jobs: %w", err)
		}
		j.LastError, j.LeaseOwner = lastErr.String, owner.String
		out = append(out, j)
	}
	return out, rows.Err()
}

// Job returns one job's state, or ErrNotFound.
func (s *Store) Job(ctx context.Context, name string) (Job, error) {
	jobs, err := s.Jobs(ctx)
	if err != nil {
		return Job{}, err
	}
	for _, j := range jobs {
		if j.Name == name {
			return j, nil
		}
	}
	return Job{}, ErrNotFound
}

// truncate bounds a stored text at n bytes without splitting a character.
func truncate(v string, n int) string {
	if len(v) <= n {
		return v
	}
	for n > 0 && v[n]&0xC0 == 0x80 {
		n--
	}
	return v[:n] + "…"
}

// schedulerTables classifies the scheduler's table for the data map.
func schedulerTables() []table {
	return []table{systemTable(DBMain, "jobs", "state of scheduled jobs (ids and times only)",
		"name", "next_run_at", "last_run_at", "last_ok_at", "last_error", "lease_owner", "lease_until")}
}
