package store

import (
	"context"
	"database/sql"
	"path/filepath"
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
			n, err = s.pruneAuditBatch(ctx, tx, ts(cutoff), held, limit, ts(s.Now()))
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

// rechainPlain rewrites every entry from seq on the way someone with write
// access to kelas.db but without the master key could: change what they
// like and recompute the chain with plain SHA-256.
func rechainPlain(t *testing.T, s *Store, from int64, change func(seq int64, actor, action string) (string, string)) {
	t.Helper()
	_, err := s.db.Exec("DROP TRIGGER audit_log_append_only")
	require.NoError(t, err)
	rows, err := s.db.Query("SELECT seq, at, actor_id, action, target_type, target_id, details, prev_hash FROM audit_log ORDER BY seq")
	require.NoError(t, err)
	type entry struct {
		seq                                           int64
		at, actor, action, tt, tid, details, prevHash string
	}
	var all []entry
	for rows.Next() {
		var e entry
		require.NoError(t, rows.Scan(&e.seq, &e.at, &e.actor, &e.action, &e.tt, &e.tid, &e.details, &e.prevHash))
		all = append(all, e)
	}
	require.NoError(t, rows.Close())
	prev := zeroHash
	for _, e := range all {
		if e.seq < from {
			require.NoError(t, s.db.QueryRow("SELECT hash FROM audit_log WHERE seq = ?", e.seq).Scan(&prev))
			continue
		}
		e.actor, e.action = change(e.seq, e.actor, e.action)
		h := auditHash(e.seq, e.at, e.actor, e.action, e.tt, e.tid, e.details, prev)
		_, err := s.db.Exec("UPDATE audit_log SET actor_id = ?, action = ?, prev_hash = ?, hash = ? WHERE seq = ?", e.actor, e.action, prev, h, e.seq)
		require.NoError(t, err)
		prev = h
	}
}

// TestAuditResistsSomeoneWhoCanWriteTheDatabase: entries are MACed with a
// key derived from the master key and the head is anchored in keys.db, so
// re-attributing entries and recomputing the chain, deleting the newest
// entries, or faking a retention prune all fail verification, naming where.
func TestAuditResistsSomeoneWhoCanWriteTheDatabase(t *testing.T) {
	ctx := context.Background()
	setup := func(t *testing.T) *Store {
		s := newTestStore(t)
		for i := range 6 {
			audit(t, s, "test.action", NewID()[:i+1])
		}
		bad, err := s.VerifyAudit(ctx)
		require.NoError(t, err, "control: the untouched log verifies")
		require.Zero(t, bad)
		return s
	}
	t.Run("re-attributed and rechained with SHA-256", func(t *testing.T) {
		s := setup(t)
		rechainPlain(t, s, 3, func(seq int64, actor, action string) (string, string) {
			if seq == 3 {
				return "someone-else", action
			}
			return actor, action
		})
		bad, err := s.VerifyAudit(ctx)
		require.ErrorIs(t, err, ErrAuditBroken)
		assert.Equal(t, int64(3), bad)
		assert.Contains(t, err.Error(), "entry 3 has been altered")
	})
	t.Run("whole chain rechained", func(t *testing.T) {
		s := setup(t)
		rechainPlain(t, s, 1, func(_ int64, actor, action string) (string, string) { return actor, action })
		bad, err := s.VerifyAudit(ctx)
		require.ErrorIs(t, err, ErrAuditBroken)
		assert.Equal(t, int64(1), bad)
	})
	t.Run("newest entries deleted", func(t *testing.T) {
		s := setup(t)
		_, err := s.db.Exec("DELETE FROM audit_log WHERE seq > 4")
		require.NoError(t, err)
		bad, err := s.VerifyAudit(ctx)
		require.ErrorIs(t, err, ErrAuditBroken)
		assert.Equal(t, int64(5), bad)
		assert.Contains(t, err.Error(), "the log was truncated after entry 4 (entries up to 6 were written)")
	})
	t.Run("every entry deleted", func(t *testing.T) {
		s := setup(t)
		_, err := s.db.Exec("DELETE FROM audit_log")
		require.NoError(t, err)
		_, err = s.VerifyAudit(ctx)
		require.ErrorIs(t, err, ErrAuditBroken)
		assert.Contains(t, err.Error(), "truncated after entry 0")
	})
	t.Run("a prune nobody recorded", func(t *testing.T) {
		s := setup(t)
		var h string
		require.NoError(t, s.db.QueryRow("SELECT hash FROM audit_log WHERE seq = 2").Scan(&h))
		_, err := s.db.Exec("DELETE FROM audit_log WHERE seq <= 2")
		require.NoError(t, err)
		_, err = s.db.Exec("INSERT INTO audit_anchor (id, seq, hash, pruned_at) VALUES (1, 2, ?, '2025-01-01T00:00:00.000000Z')", h)
		require.NoError(t, err)
		_, err = s.VerifyAudit(ctx)
		require.ErrorIs(t, err, ErrAuditBroken)
		assert.Contains(t, err.Error(), "removed without retention recording it")
	})
	t.Run("the anchor in keys.db edited", func(t *testing.T) {
		s := setup(t)
		_, err := s.kdb.Exec("UPDATE audit_head SET seq = 4, hash = (SELECT hash FROM audit_head)")
		require.NoError(t, err)
		_, err = s.VerifyAudit(ctx)
		require.ErrorIs(t, err, ErrAuditBroken)
		assert.Contains(t, err.Error(), "anchor in keys.db has been altered")
	})
	t.Run("the anchor in keys.db removed", func(t *testing.T) {
		s := setup(t)
		_, err := s.kdb.Exec("DELETE FROM audit_head")
		require.NoError(t, err)
		_, err = s.VerifyAudit(ctx)
		require.ErrorIs(t, err, ErrAuditBroken)
		assert.Contains(t, err.Error(), "anchor in keys.db is missing")
	})
}

// TestAuditVerifiesAfterRotationAndRestore: a correct log still verifies
// after the key-wrapping keys rotate and after a restore.
func TestAuditVerifiesAfterRotationAndRestore(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	dir, key := t.TempDir(), newMasterKey(t)
	s := openTestStore(t, dir, key, clock.Now)
	audit(t, s, "test.before", "t")
	backups, err := s.Backup(ctx, BackupOptions{})
	require.NoError(t, err)
	_, _, err = s.RotateKeys(ctx)
	require.NoError(t, err)
	require.NoError(t, s.Audit(ctx, AuditEntry{ActorID: ActorCLI, Action: AuditKeysRotate}))
	bad, err := s.VerifyAudit(ctx)
	require.NoError(t, err)
	assert.Zero(t, bad)
	head, anchored, err := s.AuditAnchorStatus(ctx)
	require.NoError(t, err)
	assert.Equal(t, head, anchored, "every entry is anchored")
	require.NoError(t, s.Close())

	clock.Advance(day)
	_, err = Restore(ctx, RestoreOptions{Dir: dir, MasterKey: key, File: filepath.Join(dir, BackupsDir, backups[0].File), Clock: clock.Now})
	require.NoError(t, err)
	s = openTestStore(t, dir, key, clock.Now)
	bad, err = s.VerifyAudit(ctx)
	require.NoError(t, err)
	assert.Zero(t, bad)
	log, err := s.AuditLog(ctx, 100)
	require.NoError(t, err)
	var actions []string
	for _, e := range log {
		actions = append(actions, e.Action)
	}
	assert.Contains(t, actions, AuditKeysRotate, "the entry made after the backup is back")
	assert.Equal(t, AuditBackupRestore, actions[0])
}

// TestAuditUpgradeKeepsOlderEntriesVerifiable: a log written before
// entries were keyed keeps verifying after the upgrade, and its entries
// are pinned: rewriting one (with plain SHA-256) fails.
func TestAuditUpgradeKeepsOlderEntriesVerifiable(t *testing.T) {
	ctx := context.Background()
	dir, key := t.TempDir(), newMasterKey(t)
	s := openTestStore(t, dir, key, nil)
	// Simulate an older kelas: plain-SHA entries, no anchor table in keys.db.
	_, err := s.kdb.Exec("DROP TABLE audit_head; DELETE FROM schema_migrations WHERE version = 2")
	require.NoError(t, err)
	prev := zeroHash
	for seq := int64(1); seq <= 3; seq++ {
		at := ts(s.Now())
		h := auditHash(seq, at, ActorCLI, "old.action", "", "", "{}", prev)
		_, err := s.db.Exec(`INSERT INTO audit_log (seq, at, actor_id, action, target_type, target_id, details, prev_hash, hash)
			VALUES (?, ?, ?, 'old.action', '', '', '{}', ?, ?)`, seq, at, ActorCLI, prev, h)
		require.NoError(t, err)
		prev = h
	}
	require.NoError(t, s.Close())
	s = openTestStore(t, dir, key, nil)
	audit(t, s, "new.action", "t")
	bad, err := s.VerifyAudit(ctx)
	require.NoError(t, err)
	assert.Zero(t, bad)

	rechainPlain(t, s, 2, func(seq int64, actor, action string) (string, string) {
		if seq == 2 {
			return "someone-else", action
		}
		return actor, action
	})
	_, err = s.VerifyAudit(ctx)
	require.ErrorIs(t, err, ErrAuditBroken, "rewriting a pre-upgrade entry breaks the first keyed entry's link")
}
