package store

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// oldAccessLog writes n access-log lines 30 days old and returns the store.
func oldAccessLog(t *testing.T, n int) *Store {
	t.Helper()
	clock := newTestClock()
	s := openTestStore(t, t.TempDir(), newMasterKey(t), clock.Now)
	var entries []AccessEntry
	for i := range n {
		entries = append(entries, AccessEntry{At: clock.Now().Add(-30 * day).Add(time.Duration(i) * time.Second), Method: "GET",
			Route: "old", IP: netip.MustParseAddr("198.51.100.7")})
	}
	require.NoError(t, s.WriteAccessLog(context.Background(), entries))
	return s
}

// failInserts makes every insert into table fail, as a full or failing
// disk would, with a trigger in the real database file.
func failInserts(t *testing.T, s *Store, table string) {
	t.Helper()
	_, err := s.db.Exec(`CREATE TRIGGER fail_` + table + ` BEFORE INSERT ON ` + table + ` BEGIN SELECT RAISE(ABORT, 'injected write failure'); END`)
	require.NoError(t, err)
}

// TestPurgeReportsMissingTable: a category whose table is gone (a damaged
// or hand-edited database) is not skipped in silence: its purge-log line
// and the pass's error say so, so the scheduler and the doctor show it,
// and the other categories are still purged.
func TestPurgeReportsMissingTable(t *testing.T) {
	ctx := context.Background()
	s := oldAccessLog(t, 3)
	_, err := s.db.Exec("DROP TABLE sessions")
	require.NoError(t, err)

	results, err := s.Purge(ctx, PurgeOptions{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "sessions")
	byCat := map[string]PurgeResult{}
	for _, r := range results {
		byCat[r.Category] = r
	}
	require.Contains(t, byCat, RetSessions, "the category is in the results, not skipped")
	assert.Error(t, byCat[RetSessions].Err)
	assert.NoError(t, byCat[RetAccessLog].Err)
	assert.Equal(t, int64(3), byCat[RetAccessLog].Rows, "the others are purged all the same")
	last, err := s.LastPurges(ctx)
	require.NoError(t, err)
	require.Contains(t, last, RetSessions)
	assert.Contains(t, last[RetSessions].Error, "sessions")
}

// TestPurgeReportsPurgeLogFailure: when the purge log cannot be written the
// purge still happens and is audited, and the pass fails so the failure is
// seen.
func TestPurgeReportsPurgeLogFailure(t *testing.T) {
	ctx := context.Background()
	s := oldAccessLog(t, 4)
	failInserts(t, s, "retention_runs")

	results, err := s.Purge(ctx, PurgeOptions{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "injected write failure")
	for _, r := range results {
		assert.NoError(t, r.Err, r.Category)
	}
	assert.Zero(t, count(t, s.db, "access_log"), "the purge itself went through")
	assert.Zero(t, count(t, s.db, "retention_runs"))
	log, err := s.AuditLog(ctx, 1)
	require.NoError(t, err)
	require.Equal(t, AuditRetentionPurge, log[0].Action, "still audited")
	assert.EqualValues(t, 4, log[0].Details[RetAccessLog])
}

// TestPurgeReportsAuditFailure: when the audit entry cannot be written the
// pass fails (the scheduler records the failure), the purge log is
// complete and the chain still verifies.
func TestPurgeReportsAuditFailure(t *testing.T) {
	ctx := context.Background()
	s := oldAccessLog(t, 2)
	failInserts(t, s, "audit_log")

	_, err := s.Purge(ctx, PurgeOptions{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "audit")
	assert.Contains(t, err.Error(), "injected write failure")
	assert.Zero(t, count(t, s.db, "access_log"))
	last, err := s.LastPurges(ctx)
	require.NoError(t, err)
	assert.Len(t, last, len(s.purgers()), "every category is in the purge log")
	assert.EqualValues(t, 2, last[RetAccessLog].Rows)
	_, err = s.VerifyAudit(ctx)
	assert.NoError(t, err)
}

// TestPurgeCancelledBetweenBatchesIsStillRecorded: a shutdown between two
// batches stops the pass after the category it was in (later categories
// are not started), yet the committed batch is in the purge log and the
// audit log, written after the cancellation.
func TestPurgeCancelledBetweenBatchesIsStillRecorded(t *testing.T) {
	s := oldAccessLog(t, 25)
	ctx, cancel := context.WithCancel(context.Background())
	results, err := s.Purge(ctx, PurgeOptions{BatchSize: 10, Pause: time.Hour, afterBatch: func(category string, rows int64) {
		if category == RetAccessLog {
			cancel()
		}
	}})
	require.True(t, errors.Is(err, context.Canceled), "%v", err)
	require.NotEmpty(t, results)
	lastResult := results[len(results)-1]
	assert.Equal(t, RetAccessLog, lastResult.Category, "nothing after the cancelled category ran")
	assert.EqualValues(t, 10, lastResult.Rows)
	assert.Equal(t, 15, count(t, s.db, "access_log"), "one batch of 10 committed, the pause was cut short")

	bg := context.Background()
	last, err := s.LastPurges(bg)
	require.NoError(t, err)
	assert.EqualValues(t, 10, last[RetAccessLog].Rows)
	assert.Contains(t, last[RetAccessLog].Error, "canceled")
	assert.NotContains(t, last, RetSessions)
	log, err := s.AuditLog(bg, 1)
	require.NoError(t, err)
	require.Equal(t, AuditRetentionPurge, log[0].Action, "audited although cancelled")
	assert.EqualValues(t, 10, log[0].Details[RetAccessLog])
}
