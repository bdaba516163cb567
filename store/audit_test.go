package store

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func audit(t *testing.T, s *Store, action, target string) {
	t.Helper()
	require.NoError(t, s.Audit(context.Background(), AuditEntry{ActorID: ActorCLI, Action: action, TargetType: "user", TargetID: target,
		Details: map[string]any{"n": 1, "code": "x"}}))
}

func TestAuditChainVerifies(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	bad, err := s.VerifyAudit(ctx)
	require.NoError(t, err, "an empty log verifies")
	assert.Zero(t, bad)
	for i := range 5 {
		audit(t, s, "test.action", NewID()[:i+1])
	}
	bad, err = s.VerifyAudit(ctx)
	require.NoError(t, err)
	assert.Zero(t, bad)

	log, err := s.AuditLog(ctx, 10)
	require.NoError(t, err)
	require.Len(t, log, 5)
	assert.Equal(t, int64(5), log[0].Seq, "newest first")
	assert.Equal(t, log[1].Hash, log[0].PrevHash)
	assert.Equal(t, zeroHash, log[4].PrevHash)
	assert.Equal(t, map[string]any{"code": "x", "n": float64(1)}, log[0].Details)

	assert.Error(t, s.Audit(ctx, AuditEntry{ActorID: ActorCLI}), "an action is required")
	assert.Error(t, s.Audit(ctx, AuditEntry{Action: "x"}), "an actor is required")
}

func TestAuditIsAppendOnly(t *testing.T) {
	s := newTestStore(t)
	audit(t, s, "test.action", "a")
	_, err := s.db.Exec("UPDATE audit_log SET action = 'other' WHERE seq = 1")
	assert.ErrorContains(t, err, "append-only")
}

// TestAuditTamperingIsNamed changes, and then removes, entries behind the
// store's back (dropping the append-only trigger first, as someone with the
// file could): verification names the first bad entry.
func TestAuditTamperingIsNamed(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		tamper  string
		wantSeq int64
		wantMsg string
	}{
		{"changed details", `UPDATE audit_log SET details = '{"n":2}' WHERE seq = 3`, 3, "entry 3 has been altered"},
		{"changed actor", `UPDATE audit_log SET actor_id = 'someone' WHERE seq = 2`, 2, "entry 2 has been altered"},
		{"changed and rehashed", `UPDATE audit_log SET action = 'x', hash = prev_hash WHERE seq = 4`, 4, "entry 4"},
		{"removed entry", `DELETE FROM audit_log WHERE seq = 2`, 3, "entry 3 does not follow entry 1"},
		{"removed first entry", `DELETE FROM audit_log WHERE seq = 1`, 2, "entry 2 does not follow entry 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestStore(t)
			for range 5 {
				audit(t, s, "test.action", "t")
			}
			_, err := s.db.Exec("DROP TRIGGER audit_log_append_only")
			require.NoError(t, err)
			_, err = s.db.Exec(tc.tamper)
			require.NoError(t, err)
			bad, err := s.VerifyAudit(ctx)
			require.ErrorIs(t, err, ErrAuditBroken)
			assert.Equal(t, tc.wantSeq, bad)
			assert.Contains(t, err.Error(), tc.wantMsg)
		})
	}
}

func TestAuditPruneKeepsChainVerifiable(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	s := openTestStore(t, t.TempDir(), newMasterKey(t), clock.Now)
	held := createUser(t, s, newUser("held"))
	for i := range 10 {
		target := "t"
		if i == 6 {
			target = held.ID
		}
		audit(t, s, "test.action", target)
		clock.Advance(24 * time.Hour)
	}
	prune := func(cutoff time.Time, held map[string]bool, limit int) int64 {
		t.Helper()
		var n int64
		require.NoError(t, s.tx(ctx, func(tx *sql.Tx) error {
			var err error
			n, err = pruneAuditBatch(ctx, tx, ts(cutoff), held, limit, ts(s.Now()))
			return err
		}))
		return n
	}
	start := clock.Now().Add(-10 * 24 * time.Hour)
	// Entries 1..4 were written before start+4 days; a batch of 3 takes 1..3.
	assert.Equal(t, int64(3), prune(start.Add(4*24*time.Hour), nil, 3))
	assert.Equal(t, int64(1), prune(start.Add(4*24*time.Hour), nil, 3))
	assert.Equal(t, int64(0), prune(start.Add(4*24*time.Hour), nil, 3))
	bad, err := s.VerifyAudit(ctx)
	require.NoError(t, err, "the remaining chain verifies from the anchor")
	assert.Zero(t, bad)

	// A held person's entry (7) stops pruning before it.
	assert.Equal(t, int64(2), prune(clock.Now(), map[string]bool{held.ID: true}, 100))
	log, err := s.AuditLog(ctx, 100)
	require.NoError(t, err)
	assert.Equal(t, int64(7), log[len(log)-1].Seq)

	// Everything pruned: the next entry continues the numbering and chain.
	assert.Equal(t, int64(4), prune(clock.Now(), nil, 100))
	audit(t, s, "after.prune", "t")
	log, err = s.AuditLog(ctx, 100)
	require.NoError(t, err)
	require.Len(t, log, 1)
	assert.Equal(t, int64(11), log[0].Seq)
	bad, err = s.VerifyAudit(ctx)
	require.NoError(t, err)
	assert.Zero(t, bad)

	// Removing the anchor is caught too.
	_, err = s.db.Exec("DELETE FROM audit_anchor")
	require.NoError(t, err)
	bad, err = s.VerifyAudit(ctx)
	assert.ErrorIs(t, err, ErrAuditBroken)
	assert.Equal(t, int64(11), bad)
}
