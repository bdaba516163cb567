package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Actors that are not a person's account.
const (
	ActorCLI       = "cli"       // a command run on the server (kelas admin create, backup, ...)
	ActorScheduler = "scheduler" // a scheduled job
)

// Audited actions. Names are "object.verb"; the list grows with features.
const (
	AuditSetupComplete    = "setup.complete"
	AuditAdminCreate      = "admin.create"
	AuditKeysRotate       = "keys.rotate"
	AuditBackupCreate     = "backup.create"
	AuditBackupFail       = "backup.fail"
	AuditBackupDownload   = "backup.download"
	AuditBackupRestore    = "backup.restore"
	AuditRetentionRule    = "retention.rule"
	AuditRetentionPurge   = "retention.purge"
	AuditHoldSet          = "hold.set"
	AuditHoldRelease      = "hold.release"
	AuditUserErase        = "user.erase"
	AuditTombstoneReapply = "tombstone.reapply"
)

// AuditEntry is one entry of the tamper-evident audit log. Details hold ids
// and codes only, never personal data: the log is kept for years and is
// not erased with a person (their random id is all it holds).
type AuditEntry struct {
	Seq        int64
	At         time.Time
	ActorID    string // a user id, ActorCLI or ActorScheduler
	Action     string
	TargetType string
	TargetID   string
	Details    map[string]any
	PrevHash   string
	Hash       string
}

// ErrAuditBroken means the audit hash chain does not verify.
var ErrAuditBroken = errors.New("store: audit log does not verify")

// zeroHash is the prev_hash of the very first entry.
var zeroHash = strings.Repeat("0", 64)

// Audit appends e to the audit log in its own transaction. At, Seq and the
// hashes are filled in here.
func (s *Store) Audit(ctx context.Context, e AuditEntry) error {
	err := s.tx(ctx, func(tx *sql.Tx) error { return appendAudit(ctx, tx, s.Now(), e) })
	if err != nil {
		return fmt.Errorf("store: audit %s: %w", e.Action, err)
	}
	return nil
}

// appendAudit adds e to the chain inside tx, so a change and its audit entry
// commit together. The write connection is the only writer and transactions
// are immediate, so reading the head and appending cannot interleave.
func appendAudit(ctx context.Context, tx *sql.Tx, now time.Time, e AuditEntry) error {
	if e.Action == "" || e.ActorID == "" {
		return errors.New("audit entry needs an actor and an action")
	}
	details := "{}"
	if len(e.Details) > 0 {
		b, err := json.Marshal(e.Details) // map keys are sorted: canonical
		if err != nil {
			return fmt.Errorf("audit details: %w", err)
		}
		details = string(b)
	}
	seq, prev, err := auditHead(ctx, tx)
	if err != nil {
		return err
	}
	seq++
	at := ts(now)
	h := auditHash(seq, at, e.ActorID, e.Action, e.TargetType, e.TargetID, details, prev)
	_, err = tx.ExecContext(ctx, `INSERT INTO audit_log (seq, at, actor_id, action, target_type, target_id, details, prev_hash, hash)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, seq, at, e.ActorID, e.Action, e.TargetType, e.TargetID, details, prev, h)
	return err
}

// auditHead is the seq and hash the next entry chains to: the newest entry,
// else the anchor left by pruning, else zero.
func auditHead(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) (int64, string, error) {
	var seq int64
	var h string
	err := q.QueryRowContext(ctx, "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").Scan(&seq, &h)
	if errors.Is(err, sql.ErrNoRows) {
		return auditAnchor(ctx, q)
	}
	return seq, h, err
}

func auditAnchor(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) (int64, string, error) {
	var seq int64
	var h string
	err := q.QueryRowContext(ctx, "SELECT seq, hash FROM audit_anchor WHERE id = 1").Scan(&seq, &h)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, zeroHash, nil
	}
	return seq, h, err
}

// auditHash is SHA-256 over an unambiguous encoding of the entry: a version
// label, then every field length-prefixed, the previous hash last.
func auditHash(seq int64, at, actor, action, targetType, targetID, details, prev string) string {
	h := sha256.New()
	var buf []byte
	for _, f := range []string{"kelas/audit/v1", strconv.FormatInt(seq, 10), at, actor, action, targetType, targetID, details, prev} {
		buf = binary.AppendUvarint(buf[:0], uint64(len(f)))
		h.Write(buf)
		h.Write([]byte(f))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// VerifyAudit walks the whole chain from the anchor (or the start) and
// returns the seq of the first entry that does not verify, with an
// ErrAuditBroken error saying why. badSeq is 0 when the chain is intact or
// could not be read.
//
// The chain proves that no entry was altered, inserted or removed before
// the newest one; removing the newest entries leaves a shorter valid chain,
// which the chain alone cannot tell.
func (s *Store) VerifyAudit(ctx context.Context) (badSeq int64, err error) {
	tx, err := s.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return 0, fmt.Errorf("store: verify audit: %w", err)
	}
	defer tx.Rollback()
	prevSeq, prev, err := auditAnchor(ctx, tx)
	if err != nil {
		return 0, fmt.Errorf("store: verify audit: %w", err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT seq, at, actor_id, action, target_type, target_id, details, prev_hash, hash
		FROM audit_log ORDER BY seq`)
	if err != nil {
		return 0, fmt.Errorf("store: verify audit: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var seq int64
		var at, actor, action, tt, tid, details, ph, h string
		if err := rows.Scan(&seq, &at, &actor, &action, &tt, &tid, &details, &ph, &h); err != nil {
			return 0, fmt.Errorf("store: verify audit: %w", err)
		}
		switch {
		case seq != prevSeq+1 || ph != prev:
			return seq, fmt.Errorf("%w: entry %d does not follow entry %d (an entry before it was removed or changed)", ErrAuditBroken, seq, prevSeq)
		case auditHash(seq, at, actor, action, tt, tid, details, ph) != h:
			return seq, fmt.Errorf("%w: entry %d has been altered (its hash does not match its contents)", ErrAuditBroken, seq)
		}
		prevSeq, prev = seq, h
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("store: verify audit: %w", err)
	}
	return 0, nil
}

// AuditLog returns up to limit entries, newest first.
func (s *Store) AuditLog(ctx context.Context, limit int) ([]AuditEntry, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT seq, at, actor_id, action, target_type, target_id, details, prev_hash, hash
		FROM audit_log ORDER BY seq DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("store: audit log: %w", err)
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		var at, details string
		if err := rows.Scan(&e.Seq, &at, &e.ActorID, &e.Action, &e.TargetType, &e.TargetID, &details, &e.PrevHash, &e.Hash); err != nil {
			return nil, fmt.Errorf("store: audit log: %w", err)
		}
		e.At, _ = parseTS(at)
		if err := json.Unmarshal([]byte(details), &e.Details); err != nil {
			return nil, fmt.Errorf("store: audit log entry %d: %w", e.Seq, err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// pruneAuditBatch removes up to limit of the oldest entries written before
// cutoff, stopping at the first entry that involves a held person (the
// chain can only lose its head). The last removed entry becomes the anchor,
// so the rest still verifies.
func pruneAuditBatch(ctx context.Context, tx *sql.Tx, cutoff string, held map[string]bool, limit int, now string) (int64, error) {
	rows, err := tx.QueryContext(ctx, "SELECT seq, at, actor_id, target_id, hash FROM audit_log ORDER BY seq LIMIT ?", limit)
	if err != nil {
		return 0, err
	}
	var n, lastSeq int64
	var lastHash string
	for rows.Next() {
		var seq int64
		var at, actor, target, h string
		if err := rows.Scan(&seq, &at, &actor, &target, &h); err != nil {
			rows.Close()
			return 0, err
		}
		if at >= cutoff || held[actor] || held[target] {
			break
		}
		lastSeq, lastHash = seq, h
		n++
	}
	if err := rows.Close(); err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, nil
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM audit_log WHERE seq <= ?", lastSeq); err != nil {
		return 0, err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO audit_anchor (id, seq, hash, pruned_at) VALUES (1, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, pruned_at = excluded.pruned_at`,
		lastSeq, lastHash, now)
	if err != nil {
		return 0, err
	}
	return n, nil
}

// auditTables classifies the audit log for the data map.
func auditTables() []table {
	return []table{
		{
			db: DBMain, name: "audit_log",
			columns: []string{"seq", "at", "actor_id", "action", "target_type", "target_id", "details", "prev_hash", "hash"},
			base: Field{Category: CatSecurity, Personal: true,
				Purposes:  []string{"account for every administrative and privacy action (who did what, when)"},
				Basis:     BasisLegal,
				Retention: "audit log retention rule (default 6 years)",
				Export:    ExportOmit, Erasure: EraseKeep,
				Why: "a tamper-evident record of administrative actions; it holds random ids and codes only, " +
					"so after erasure nothing in it leads back to the person"},
		},
		systemTable(DBMain, "audit_anchor", "hash of the last audit entry removed by retention", "id", "seq", "hash", "pruned_at"),
	}
}
