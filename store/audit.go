package store

import (
	"context"
	"crypto/hmac"
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
	AuditKeysRotateMaster = "keys.rotate_master" // every key moved to a new master key
	AuditBackupCreate     = "backup.create"
	AuditBackupFail       = "backup.fail"
	AuditBackupDownload   = "backup.download"
	AuditBackupRestore    = "backup.restore"
	AuditBackupTarget     = "backup.target" // the off-site target changed on the console
	AuditBackupDrill      = "backup.drill"  // a restore drill ran
	AuditRetentionRule    = "retention.rule"
	AuditRetentionPurge   = "retention.purge"
	AuditHoldSet          = "hold.set"
	AuditHoldRelease      = "hold.release"
	AuditUserErase        = "user.erase"
	AuditTombstoneReapply = "tombstone.reapply"
	AuditSettingsChange   = "settings.change"
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
	err := s.tx(ctx, func(tx *sql.Tx) error { return s.appendAudit(ctx, tx, s.Now(), e) })
	if err != nil {
		return fmt.Errorf("store: audit %s: %w", e.Action, err)
	}
	return nil
}

// appendAudit adds e to the chain inside tx, so a change and its audit entry
// commit together. The write connection is the only writer and transactions
// are immediate, so reading the head and appending cannot interleave. The
// new head is anchored in keys.db once the transaction commits (s.tx).
func (s *Store) appendAudit(ctx context.Context, tx *sql.Tx, now time.Time, e AuditEntry) error {
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
	h := auditMAC(s.auditKey, seq, at, e.ActorID, e.Action, e.TargetType, e.TargetID, details, prev)
	_, err = tx.ExecContext(ctx, `INSERT INTO audit_log (seq, at, actor_id, action, target_type, target_id, details, prev_hash, hash)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, seq, at, e.ActorID, e.Action, e.TargetType, e.TargetID, details, prev, h)
	s.auditDirty.Store(true)
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

// auditFields is the unambiguous encoding both entry formats hash: a version
// label, then every field length-prefixed, the previous hash last.
func auditFields(write func([]byte), label string, seq int64, at, actor, action, targetType, targetID, details, prev string) {
	var buf []byte
	for _, f := range []string{label, strconv.FormatInt(seq, 10), at, actor, action, targetType, targetID, details, prev} {
		buf = binary.AppendUvarint(buf[:0], uint64(len(f)))
		write(buf)
		write([]byte(f))
	}
}

// auditHash is the plain SHA-256 of entries written before entries were
// keyed (seq below the anchor's mac_from). It is checked, never written.
func auditHash(seq int64, at, actor, action, targetType, targetID, details, prev string) string {
	h := sha256.New()
	auditFields(func(b []byte) { h.Write(b) }, "kelas/audit/v1", seq, at, actor, action, targetType, targetID, details, prev)
	return hex.EncodeToString(h.Sum(nil))
}

// auditMAC is HMAC-SHA256 under the audit key (derived from the master key)
// over the same encoding: whoever can write kelas.db but lacks the master
// key cannot rewrite an entry and recompute the chain.
func auditMAC(key []byte, seq int64, at, actor, action, targetType, targetID, details, prev string) string {
	m := hmac.New(sha256.New, key)
	auditFields(func(b []byte) { m.Write(b) }, "kelas/audit/v2", seq, at, actor, action, targetType, targetID, details, prev)
	return hex.EncodeToString(m.Sum(nil))
}

// auditHeadRow is the anchor of the chain kept in keys.db: the newest
// entry known to be written and the last entry retention removed.
type auditHeadRow struct {
	MacFrom    int64 // first seq written with a keyed MAC
	Seq        int64
	Hash       string
	PrunedSeq  int64
	PrunedHash string
}

func (h auditHeadRow) mac(key []byte) string {
	m := hmac.New(sha256.New, key)
	auditFields(func(b []byte) { m.Write(b) }, "kelas/audit-head/v1", h.MacFrom, strconv.FormatInt(h.Seq, 10), h.Hash,
		strconv.FormatInt(h.PrunedSeq, 10), h.PrunedHash, "", "", "")
	return hex.EncodeToString(m.Sum(nil))
}

// errNoAuditAnchor means keys.db holds no anchor for the audit log.
var errNoAuditAnchor = errors.New("the audit log's anchor in keys.db is missing")

// readAuditHead reads and authenticates the anchor.
func (s *Store) readAuditHead(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) (auditHeadRow, error) {
	var h auditHeadRow
	var mac string
	err := q.QueryRowContext(ctx, "SELECT mac_from, seq, hash, pruned_seq, pruned_hash, mac FROM audit_head WHERE id = 1").
		Scan(&h.MacFrom, &h.Seq, &h.Hash, &h.PrunedSeq, &h.PrunedHash, &mac)
	if errors.Is(err, sql.ErrNoRows) {
		return h, errNoAuditAnchor
	}
	if err != nil {
		return h, fmt.Errorf("store: audit anchor: %w", err)
	}
	if !hmac.Equal([]byte(mac), []byte(h.mac(s.auditKey))) {
		return h, errors.New("the audit log's anchor in keys.db has been altered (its MAC does not match)")
	}
	return h, nil
}

// writeAuditHead stores h as the anchor in its own keys.db transaction.
func (s *Store) writeAuditHead(ctx context.Context, h auditHeadRow) error {
	return inTx(ctx, s.kdb, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO audit_head (id, mac_from, seq, hash, pruned_seq, pruned_hash, updated_at, mac)
			VALUES (1, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET mac_from = excluded.mac_from, seq = excluded.seq,
			hash = excluded.hash, pruned_seq = excluded.pruned_seq, pruned_hash = excluded.pruned_hash,
			updated_at = excluded.updated_at, mac = excluded.mac`,
			h.MacFrom, h.Seq, h.Hash, h.PrunedSeq, h.PrunedHash, ts(s.Now()), h.mac(s.auditKey))
		return err
	})
}

// initAuditHead anchors the chain when keys.db has just gained the anchor
// table: the entries written so far (plain SHA-256 before this version)
// are pinned by their head's hash, and entries from the next one on are
// keyed. An anchor that is missing from an existing table is left missing:
// VerifyAudit reports it rather than trusting whatever kelas.db now holds.
func (s *Store) initAuditHead(ctx context.Context, fresh bool) error {
	if _, err := s.readAuditHead(ctx, s.kdb); !errors.Is(err, errNoAuditAnchor) || !fresh {
		s.auditDirty.Store(true) // catch up with entries a crash left unanchored
		return s.anchorAudit(ctx)
	}
	seq, h, err := auditHead(ctx, s.db)
	if err != nil {
		return fmt.Errorf("store: audit anchor: %w", err)
	}
	pseq, phash, err := auditAnchor(ctx, s.db)
	if err != nil {
		return fmt.Errorf("store: audit anchor: %w", err)
	}
	return s.writeAuditHead(ctx, auditHeadRow{MacFrom: seq + 1, Seq: seq, Hash: h, PrunedSeq: pseq, PrunedHash: phash})
}

// anchorAudit moves the anchor in keys.db forward to the chain's newest
// entry after a commit that appended to it. It never moves backwards (only
// a restore does, explicitly) and anchors only entries that verify.
func (s *Store) anchorAudit(ctx context.Context) error {
	if !s.auditDirty.Load() {
		return nil
	}
	s.auditMu.Lock()
	defer s.auditMu.Unlock()
	if !s.auditDirty.Swap(false) {
		return nil
	}
	err := s.advanceAuditHead(ctx)
	if err != nil {
		s.auditDirty.Store(true) // try again after the next write
	}
	return err
}

func (s *Store) advanceAuditHead(ctx context.Context) error {
	h, err := s.readAuditHead(ctx, s.kdb)
	if err != nil {
		if errors.Is(err, errNoAuditAnchor) {
			return nil // reported by VerifyAudit; nothing to advance from
		}
		return err
	}
	// The read pool, not the write connection: a writer inside a
	// transaction may be waiting for auditMu (pruneAuditBatch).
	rows, err := s.rdb.QueryContext(ctx, `SELECT seq, at, actor_id, action, target_type, target_id, details, prev_hash, hash
		FROM audit_log WHERE seq > ? ORDER BY seq`, h.Seq)
	if err != nil {
		return fmt.Errorf("store: audit anchor: %w", err)
	}
	defer rows.Close()
	seq, prev := h.Seq, h.Hash
	for rows.Next() {
		var e auditRow
		if err := rows.Scan(&e.seq, &e.at, &e.actor, &e.action, &e.tt, &e.tid, &e.details, &e.prev, &e.hash); err != nil {
			return fmt.Errorf("store: audit anchor: %w", err)
		}
		if e.seq != seq+1 || e.prev != prev || e.hash != s.expectedHash(h, e) {
			break // not ours: leave it to VerifyAudit
		}
		seq, prev = e.seq, e.hash
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: audit anchor: %w", err)
	}
	rows.Close()
	if seq == h.Seq {
		return nil
	}
	h.Seq, h.Hash = seq, prev
	if err := s.writeAuditHead(ctx, h); err != nil {
		return fmt.Errorf("store: audit anchor: %w", err)
	}
	return nil
}

type auditRow struct {
	seq                                             int64
	at, actor, action, tt, tid, details, prev, hash string
}

func (s *Store) expectedHash(h auditHeadRow, e auditRow) string {
	if e.seq < h.MacFrom {
		return auditHash(e.seq, e.at, e.actor, e.action, e.tt, e.tid, e.details, e.prev)
	}
	return auditMAC(s.auditKey, e.seq, e.at, e.actor, e.action, e.tt, e.tid, e.details, e.prev)
}

// realignAuditHead runs after a restore: the chain must reach the anchor
// (the journal re-applied every entry). When a restore accepted losing
// entries, the anchor is moved back to the chain's actual head and the
// former head is returned, for the restore's audit entry to record.
func (s *Store) realignAuditHead(ctx context.Context) (rolledBackFrom int64, err error) {
	s.auditMu.Lock()
	defer s.auditMu.Unlock()
	h, err := s.readAuditHead(ctx, s.kdb)
	if err != nil {
		return 0, err
	}
	seq, hash, err := auditHead(ctx, s.rdb)
	if err != nil {
		return 0, err
	}
	pseq, phash, err := auditAnchor(ctx, s.rdb)
	if err != nil {
		return 0, err
	}
	if seq > h.Seq {
		s.auditDirty.Store(true)
		return 0, nil
	}
	if seq == h.Seq && hash == h.Hash && pseq == h.PrunedSeq && phash == h.PrunedHash {
		return 0, nil
	}
	from := h.Seq
	h.Seq, h.Hash, h.PrunedSeq, h.PrunedHash = seq, hash, pseq, phash
	if err := s.writeAuditHead(ctx, h); err != nil {
		return 0, err
	}
	return from, nil
}

// AuditAnchorStatus reports the chain's newest entry and the newest entry
// anchored in keys.db; a chain ahead of its anchor has entries that could
// still be removed unnoticed (a crash right after writing them).
func (s *Store) AuditAnchorStatus(ctx context.Context) (head, anchored int64, err error) {
	head, _, err = auditHead(ctx, s.rdb)
	if err != nil {
		return 0, 0, fmt.Errorf("store: audit anchor: %w", err)
	}
	h, err := s.readAuditHead(ctx, s.krdb)
	if err != nil {
		return head, 0, err
	}
	return head, h.Seq, nil
}

// VerifyAudit walks the whole chain from the retention anchor (or the
// start) and returns the seq of the first entry that does not verify, with
// an ErrAuditBroken error saying why. badSeq is 0 when the chain is intact
// or could not be read.
//
// Entries are keyed with a MAC derived from the master key, and the chain's
// head and retention anchor are kept in keys.db, so rewriting entries,
// removing the newest ones or forging a retention prune are all caught.
func (s *Store) VerifyAudit(ctx context.Context) (badSeq int64, err error) {
	head, err := s.readAuditHead(ctx, s.krdb)
	if err != nil {
		if errors.Is(err, errNoAuditAnchor) || !strings.HasPrefix(err.Error(), "store:") {
			return 1, fmt.Errorf("%w: %v", ErrAuditBroken, err)
		}
		return 0, fmt.Errorf("store: verify audit: %w", err)
	}
	tx, err := s.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return 0, fmt.Errorf("store: verify audit: %w", err)
	}
	defer tx.Rollback()
	prevSeq, prev, err := auditAnchor(ctx, tx)
	if err != nil {
		return 0, fmt.Errorf("store: verify audit: %w", err)
	}
	// Retention records in keys.db how far it pruned before it prunes, so
	// the anchor in kelas.db may lag behind that record but never lead it.
	if prevSeq > head.PrunedSeq || (prevSeq == head.PrunedSeq && prev != head.PrunedHash) {
		return head.PrunedSeq + 1, fmt.Errorf("%w: entries up to %d were removed without retention recording it (retention removed up to %d)",
			ErrAuditBroken, prevSeq, head.PrunedSeq)
	}
	rows, err := tx.QueryContext(ctx, `SELECT seq, at, actor_id, action, target_type, target_id, details, prev_hash, hash
		FROM audit_log ORDER BY seq`)
	if err != nil {
		return 0, fmt.Errorf("store: verify audit: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e auditRow
		if err := rows.Scan(&e.seq, &e.at, &e.actor, &e.action, &e.tt, &e.tid, &e.details, &e.prev, &e.hash); err != nil {
			return 0, fmt.Errorf("store: verify audit: %w", err)
		}
		switch {
		case e.seq != prevSeq+1 || e.prev != prev:
			return e.seq, fmt.Errorf("%w: entry %d does not follow entry %d (an entry before it was removed or changed)", ErrAuditBroken, e.seq, prevSeq)
		case e.hash != s.expectedHash(head, e):
			return e.seq, fmt.Errorf("%w: entry %d has been altered (its MAC does not match its contents)", ErrAuditBroken, e.seq)
		case e.seq == head.Seq && e.hash != head.Hash:
			return e.seq, fmt.Errorf("%w: entry %d is not the entry anchored in keys.db", ErrAuditBroken, e.seq)
		case e.seq == head.PrunedSeq && e.hash != head.PrunedHash:
			return e.seq, fmt.Errorf("%w: entry %d is not the entry retention anchored in keys.db", ErrAuditBroken, e.seq)
		}
		prevSeq, prev = e.seq, e.hash
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("store: verify audit: %w", err)
	}
	if prevSeq < head.Seq {
		return prevSeq + 1, fmt.Errorf("%w: the log was truncated after entry %d (entries up to %d were written)", ErrAuditBroken, prevSeq, head.Seq)
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
		var details string
		if err := rows.Scan(&e.Seq, tsInto(&e.At), &e.ActorID, &e.Action, &e.TargetType, &e.TargetID, &details, &e.PrevHash, &e.Hash); err != nil {
			return nil, fmt.Errorf("store: audit log: %w", err)
		}
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
//
// keys.db records how far retention pruned before the entries go, so a
// prune nobody recorded (entries removed by hand) fails verification.
func (s *Store) pruneAuditBatch(ctx context.Context, tx *sql.Tx, cutoff string, held map[string]bool, limit int, now string) (int64, error) {
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
	s.auditMu.Lock()
	defer s.auditMu.Unlock()
	h, err := s.readAuditHead(ctx, s.kdb)
	if err != nil {
		return 0, err
	}
	if lastSeq > h.PrunedSeq {
		h.PrunedSeq, h.PrunedHash = lastSeq, lastHash
		if err := s.writeAuditHead(ctx, h); err != nil {
			return 0, err
		}
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
