package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"filippo.io/age"

	"kelas/store/crypt"
)

// ErrSameMasterKey means the new master key is the one in use.
var ErrSameMasterKey = errors.New("store: the new master key is the current one; make a new key (head -c 32 /dev/urandom | base64 > FILE)")

// rotateStagePrefix names the staging directory of a master-key rotation
// inside the data directory; rotateReady marks one whose files are built
// and verified, so that moving them in may be finished after a crash.
const (
	rotateStagePrefix = ".rotate-"
	rotateReady       = "ready"
)

// RotateMasterOptions say which data directory moves from which master key
// to which.
type RotateMasterOptions struct {
	Dir    string
	OldKey []byte
	NewKey []byte
	// Recipients are extra age recipients (the offline recovery key) of
	// the backup of the state before the rotation.
	Recipients []age.Recipient
	Clock      func() time.Time

	// stopAfter ends the rotation with an error after the named step, as
	// a crash there would (tests only): "backup", "stage", "verify", or
	// "swap-keys" (keys.db moved in, kelas.db not yet).
	stopAfter string
}

// RotateMasterResult says what a master-key rotation did.
type RotateMasterResult struct {
	DataKeys       int // data keys re-wrapped
	KEKVersion     int // the key-wrapping version every data key now uses
	BlindIndexes   int // blind-index values recomputed
	Unopenable     int // blind indexes of values no key opens any more (erased people), replaced by random bytes
	AuditEntries   int // audit entries re-keyed (legacy unkeyed entries stay as they are)
	JournalRecords int // compliance journal records re-keyed
	ACMEFiles      int // ACME cache files re-sealed
	ACMEDropped    int // ACME cache files that did not open under the old key, left to be fetched again
	// RecoveryCodeUsers counts the people whose two-factor recovery codes
	// were removed: only a keyed hash of each code is kept, which cannot be
	// recomputed under the new key.
	RecoveryCodeUsers int
	// Before are the encrypted backups (to the old key's backup identity)
	// of the state before the rotation: restorable with the old key only.
	Before []string
	// OldKeyUntil is when retention will have pruned the last backup made
	// before the rotation (locally and off-site): until then the old key
	// is needed to restore one of them.
	OldKeyUntil time.Time
}

var errRotateStopped = errors.New("store: master-key rotation stopped (test)")

// RotateMasterKey moves every key of the data directory from the old
// master key to a new one, with kelas stopped (it takes the directory's
// lock exclusively):
//
//  1. the old key is checked against the key check value and the audit log
//     must verify under it;
//  2. an encrypted backup of both databases is written to the old key's
//     backup identity (restorable with the old key, like every earlier one);
//  3. copies of kelas.db and keys.db are built in DATA/.rotate-*: every data
//     key re-wrapped (under the current version number, derived from the new
//     key), the new key check value, every blind index recomputed, the audit
//     chain re-keyed from mac_from on and its anchor re-written, the journal
//     and the ACME cache re-sealed;
//  4. the copies are opened with the new key: the audit log verifies, every
//     person reads and is found by email; the rotation is audited there;
//  5. the stage is marked ready and its files are renamed over the live
//     ones. A crash before the mark leaves the live files untouched (old key);
//     after it, the next Open finishes the moves (new key).
func RotateMasterKey(ctx context.Context, o RotateMasterOptions) (RotateMasterResult, error) {
	var res RotateMasterResult
	if bytes.Equal(o.OldKey, o.NewKey) {
		return res, ErrSameMasterKey
	}
	oldKr, err := crypt.NewKeyring(o.OldKey)
	if err != nil {
		return res, err
	}
	newKr, err := crypt.NewKeyring(o.NewKey)
	if err != nil {
		return res, err
	}
	if !Exists(o.Dir) {
		return res, fmt.Errorf("store: rotate master key: no kelas data in %s", o.Dir)
	}
	unlock, err := LockDir(o.Dir, true)
	if err != nil {
		if errors.Is(err, ErrLocked) {
			return res, fmt.Errorf("%w: stop `kelas serve` (and any other kelas command) before rotating the master key", err)
		}
		return res, err
	}
	defer unlock()
	clock := o.Clock
	if clock == nil {
		clock = time.Now
	}
	if finished, err := finishRotation(o.Dir); err != nil || finished {
		if err == nil {
			err = errors.New("store: rotate master key: an interrupted rotation was verified and has now been finished: " +
				"the data is under that rotation's new key; configure it and start kelas (nothing else was changed)")
		}
		return res, err
	}
	if err := removeRotateStages(o.Dir); err != nil {
		return res, err
	}

	// 1. The old key and the state it protects.
	old, err := Open(ctx, Options{Dir: o.Dir, MasterKey: o.OldKey, Clock: o.Clock})
	if err != nil {
		return res, err
	}
	defer func() {
		if old != nil {
			old.Close()
		}
	}()
	if _, err := old.VerifyAudit(ctx); err != nil {
		return res, fmt.Errorf("store: rotate master key: the audit log does not verify under the current key, so it cannot be re-keyed: %w", err)
	}
	rules, err := old.RetentionRules(ctx)
	if err != nil {
		return res, err
	}
	keep := map[string]int{}
	for _, r := range rules {
		keep[r.Category] = r.Keep
	}

	// 2. The state before, encrypted to the old key.
	bs, err := old.Backup(ctx, BackupOptions{Origin: OriginCLI, Actor: ActorCLI, Recipients: o.Recipients})
	if err != nil {
		return res, fmt.Errorf("store: rotate master key: backup of the current state: %w (nothing was changed)", err)
	}
	for _, b := range bs {
		res.Before = append(res.Before, old.BackupPath(b))
	}
	res.OldKeyUntil = oldKeyUntil(clock().UTC(), keep)
	head, err := old.readAuditHead(ctx, old.kdb)
	if err != nil {
		return res, fmt.Errorf("store: rotate master key: %w", err)
	}
	if err := old.Close(); err != nil {
		return res, err
	}
	old = nil
	if o.stopAfter == "backup" {
		return res, errRotateStopped
	}

	// 3. The new state, staged.
	stage, err := os.MkdirTemp(o.Dir, rotateStagePrefix)
	if err != nil {
		return res, fmt.Errorf("store: rotate master key: %w", err)
	}
	ready := false // once true, the stage is not removed on the way out
	defer func() {
		if !ready {
			os.RemoveAll(stage)
		}
	}()
	stagedMain, stagedKeys := filepath.Join(stage, MainDBFile), filepath.Join(stage, KeysDBFile)
	for _, f := range [][2]string{{MainDBFile, stagedMain}, {KeysDBFile, stagedKeys}} {
		if err := vacuumInto(ctx, filepath.Join(o.Dir, f[0]), f[1]); err != nil {
			return res, fmt.Errorf("store: rotate master key: copy %s: %w (nothing was changed)", f[0], err)
		}
	}
	if err := rekeyStaged(ctx, stagedMain, stagedKeys, oldKr, newKr, head, clock().UTC(), &res); err != nil {
		return res, fmt.Errorf("store: rotate master key: %w (nothing was changed)", err)
	}
	if err := rekeyJournal(o.Dir, stage, oldKr, newKr, &res); err != nil {
		return res, fmt.Errorf("store: rotate master key: %w (nothing was changed)", err)
	}
	if err := rekeyACME(o.Dir, stage, oldKr, newKr, &res); err != nil {
		return res, fmt.Errorf("store: rotate master key: %w (nothing was changed)", err)
	}
	if o.stopAfter == "stage" {
		ready = true // like a crash: the stage stays behind
		return res, errRotateStopped
	}

	// 4. The staged state must open with the new key.
	if err := verifyStaged(ctx, stage, o, &res); err != nil {
		return res, fmt.Errorf("store: rotate master key: the re-keyed copy does not verify: %w (nothing was changed)", err)
	}
	for _, p := range []string{stagedMain, stagedKeys} {
		if err := leaveWAL(ctx, p); err != nil {
			return res, fmt.Errorf("store: rotate master key: %w (nothing was changed)", err)
		}
	}
	if o.stopAfter == "verify" {
		ready = true // like a crash: the stage stays behind
		return res, errRotateStopped
	}

	// 5. Mark the stage ready, then move it in.
	if err := writeSynced(filepath.Join(stage, rotateReady), []byte("kelas master-key rotation: verified, move in\n")); err != nil {
		return res, fmt.Errorf("store: rotate master key: %w (nothing was changed)", err)
	}
	if err := syncDir(stage); err != nil {
		return res, fmt.Errorf("store: rotate master key: %w (nothing was changed)", err)
	}
	ready = true
	if o.stopAfter == "swap-keys" {
		if err := swapIn(o.Dir, KeysDBFile, stagedKeys); err != nil {
			return res, err
		}
		return res, errRotateStopped
	}
	if _, err := finishRotation(o.Dir); err != nil {
		return res, fmt.Errorf("%w (the next start with the new key finishes it)", err)
	}
	return res, nil
}

// oldKeyUntil is when the retention rules will have pruned every data and
// keys backup taken up to now: the newest of them survives as the newest
// of its week for weekly_backups weeks, or of its day for daily_backups
// days, whichever is longer; a week is added for the ISO week boundary.
func oldKeyUntil(now time.Time, keep map[string]int) time.Time {
	days := max(keep[RetKeysBackups], keep[RetDailyBackups], 7*(keep[RetWeeklyBackups]+1))
	return now.Add(time.Duration(days) * 24 * time.Hour).Truncate(24 * time.Hour)
}

// rekeyStaged rewrites the staged copies: blind indexes, recovery codes and
// the audit chain of kelas.db, then data keys, key check value and audit
// anchor of keys.db. Both run with secure_delete and are vacuumed, so no
// page of either holds a value under the old key.
func rekeyStaged(ctx context.Context, mainPath, keysPath string, oldKr, newKr *crypt.Keyring, head auditHeadRow, now time.Time, res *RotateMasterResult) error {
	kdb, err := openStaged(keysPath)
	if err != nil {
		return err
	}
	defer kdb.Close()
	mdb, err := openStaged(mainPath)
	if err != nil {
		return err
	}
	defer mdb.Close()

	type wrapped struct {
		subject string
		version int
		dk      []byte
	}
	var keys []wrapped
	dks := map[string][]byte{}
	rows, err := kdb.QueryContext(ctx, "SELECT subject, kek_version, wrapped FROM data_keys ORDER BY subject")
	if err != nil {
		return err
	}
	for rows.Next() {
		var w wrapped
		var b []byte
		if err := rows.Scan(&w.subject, &w.version, &b); err != nil {
			rows.Close()
			return err
		}
		if w.dk, err = oldKr.Unwrap(w.version, w.subject, b); err != nil {
			rows.Close()
			return fmt.Errorf("unwrap the data key of %s: %w", w.subject, err)
		}
		keys = append(keys, w)
		dks[w.subject] = w.dk
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}

	newAuditKey, err := newKr.AuditKey()
	if err != nil {
		return err
	}
	err = inTx(ctx, mdb, func(tx *sql.Tx) error {
		if err := rekeyBlindIndexes(ctx, tx, dks, newKr, res); err != nil {
			return err
		}
		if err := rekeyNameTags(ctx, tx, dks, newKr); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(DISTINCT user_id) FROM recovery_codes").Scan(&res.RecoveryCodeUsers); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM recovery_codes"); err != nil {
			return err
		}
		return rekeyAudit(ctx, tx, &head, newAuditKey, res)
	})
	if err != nil {
		return fmt.Errorf("re-key kelas.db: %w", err)
	}
	err = inTx(ctx, kdb, func(tx *sql.Tx) error {
		v, err := currentKEK(ctx, tx)
		if err != nil {
			return err
		}
		res.KEKVersion = v
		for _, w := range keys {
			b, err := newKr.Wrap(v, w.subject, w.dk)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, "UPDATE data_keys SET kek_version = ?, wrapped = ? WHERE subject = ?", v, b, w.subject); err != nil {
				return err
			}
		}
		res.DataKeys = len(keys)
		if _, err := tx.ExecContext(ctx, "UPDATE key_check SET check_value = ?, created_at = ? WHERE id = 1", newKr.CheckValue(), ts(now)); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, "UPDATE audit_head SET hash = ?, updated_at = ?, mac = ? WHERE id = 1",
			head.Hash, ts(now), head.mac(newAuditKey))
		return err
	})
	if err != nil {
		return fmt.Errorf("re-key keys.db: %w", err)
	}
	for _, db := range []*sql.DB{mdb, kdb} {
		if _, err := db.ExecContext(ctx, "VACUUM"); err != nil {
			return fmt.Errorf("vacuum: %w", err)
		}
	}
	return nil
}

// openStaged opens a staged database with one connection and
// secure_delete, so rewritten values leave no old bytes in free pages.
func openStaged(path string) (*sql.DB, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=secure_delete(1)&_pragma=trusted_schema(0)&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

// blindIndexed lists every blind-index column: the sealed value it indexes,
// whose data key seals it and the row binding of the seal.
var blindIndexed = []struct {
	table, column, index, key, subject, row string
}{
	{"users", "email", "email_index", "id", "id", "id"},
	{"account_tokens", "new_email", "new_email_index", "token_hash", "user_id", "hex(token_hash)"},
	{"invitations", "email", "email_index", "token_hash", "'" + systemKeySubject + "'", "id"},
	{"email_reverts", "old_email", "old_email_index", "token_hash", "user_id", "lower(hex(token_hash))"},
}

func rekeyBlindIndexes(ctx context.Context, tx *sql.Tx, dks map[string][]byte, newKr *crypt.Keyring, res *RotateMasterResult) error {
	for _, b := range blindIndexed {
		type update struct {
			key   any
			index []byte
		}
		var ups []update
		rows, err := tx.QueryContext(ctx, fmt.Sprintf("SELECT %s, %s, lower(%s), %s FROM %s WHERE %s IS NOT NULL",
			b.key, b.subject, b.row, b.column, b.table, b.index))
		if err != nil {
			return fmt.Errorf("%s.%s: %w", b.table, b.index, err)
		}
		for rows.Next() {
			var key any
			var subject, row string
			var sealed []byte
			if err := rows.Scan(&key, &subject, &row, &sealed); err != nil {
				rows.Close()
				return err
			}
			var index []byte
			pt, err := crypt.Open(dks[subject], b.table, b.column, row, sealed)
			if dks[subject] == nil || err != nil {
				// Nobody can read the value any more (its key was
				// destroyed): an index under the old key would still let
				// the old key test guesses, so it becomes random.
				index = make([]byte, 32)
				rand.Read(index)
				res.Unopenable++
			} else {
				index = newKr.BlindIndex("users.email", crypt.NormaliseEmail(string(pt)))
			}
			ups = append(ups, update{key, index})
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, u := range ups {
			if _, err := tx.ExecContext(ctx, fmt.Sprintf("UPDATE %s SET %s = ? WHERE %s = ?", b.table, b.index, b.key), u.index, u.key); err != nil {
				return fmt.Errorf("%s.%s: %w", b.table, b.index, err)
			}
		}
		res.BlindIndexes += len(ups)
	}
	return nil
}

// rekeyAudit recomputes the MAC of every keyed entry (seq from mac_from on)
// under the new audit key, each chained to its predecessor's new MAC.
// Legacy entries keep their plain SHA-256, so the first keyed entry still
// follows them; the first entry after a retention prune still follows the
// pruned hash anchored in both databases. The anchor's head moves to the
// re-keyed hash of the same entry.
func rekeyAudit(ctx context.Context, tx *sql.Tx, head *auditHeadRow, key []byte, res *RotateMasterResult) error {
	rows, err := tx.QueryContext(ctx, `SELECT seq, at, actor_id, action, target_type, target_id, details, prev_hash, hash
		FROM audit_log WHERE seq >= ? ORDER BY seq`, head.MacFrom)
	if err != nil {
		return err
	}
	var es []auditRow
	for rows.Next() {
		var e auditRow
		if err := rows.Scan(&e.seq, &e.at, &e.actor, &e.action, &e.tt, &e.tid, &e.details, &e.prev, &e.hash); err != nil {
			rows.Close()
			return err
		}
		es = append(es, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	// The trigger that keeps entries from being changed is lifted for
	// this transaction only: the re-keyed chain is the same log.
	var trigger string
	if err := tx.QueryRowContext(ctx, "SELECT sql FROM sqlite_schema WHERE type = 'trigger' AND name = 'audit_log_append_only'").Scan(&trigger); err != nil {
		return fmt.Errorf("audit trigger: %w", err)
	}
	if _, err := tx.ExecContext(ctx, "DROP TRIGGER audit_log_append_only"); err != nil {
		return err
	}
	renamed := map[string]string{}
	for _, e := range es {
		prev := e.prev
		if p, ok := renamed[e.prev]; ok {
			prev = p
		}
		h := auditMAC(key, e.seq, e.at, e.actor, e.action, e.tt, e.tid, e.details, prev)
		renamed[e.hash] = h
		if _, err := tx.ExecContext(ctx, "UPDATE audit_log SET prev_hash = ?, hash = ? WHERE seq = ?", prev, h, e.seq); err != nil {
			return fmt.Errorf("audit entry %d: %w", e.seq, err)
		}
	}
	if _, err := tx.ExecContext(ctx, trigger); err != nil {
		return fmt.Errorf("audit trigger: %w", err)
	}
	if h, ok := renamed[head.Hash]; ok {
		head.Hash = h
	}
	res.AuditEntries = len(es)
	return nil
}

// rekeyJournal writes the journal's records, MAC-chained under the new
// journal key, into the stage.
func rekeyJournal(dir, stage string, oldKr, newKr *crypt.Keyring, res *RotateMasterResult) error {
	oldKey, err := oldKr.JournalKey()
	if err != nil {
		return err
	}
	newKey, err := newKr.JournalKey()
	if err != nil {
		return err
	}
	path := filepath.Join(dir, JournalFile)
	if !fileExists(path) {
		return nil
	}
	recs, _, err := readJournal(path, oldKey)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if _, err := encodeJournal(&buf, newKey, "", recs); err != nil {
		return err
	}
	res.JournalRecords = len(recs)
	return writeSynced(filepath.Join(stage, JournalFile), buf.Bytes())
}

// rekeyACME re-seals the ACME cache files into the stage. A file that does
// not open under the old key is of no use under either: it is left out and
// the certificate is fetched again.
func rekeyACME(dir, stage string, oldKr, newKr *crypt.Keyring, res *RotateMasterResult) error {
	entries, err := os.ReadDir(filepath.Join(dir, ACMEDir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("acme cache: %w", err)
	}
	oldKey, err := oldKr.ACMEKey()
	if err != nil {
		return err
	}
	newKey, err := newKr.ACMEKey()
	if err != nil {
		return err
	}
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || !validACMEName(name) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, ACMEDir, name))
		if err != nil {
			return fmt.Errorf("acme cache: %w", err)
		}
		pt, err := crypt.Open(oldKey, ACMEDir, "file", name, b)
		if err != nil {
			res.ACMEDropped++
			continue
		}
		sealed, err := crypt.Seal(newKey, ACMEDir, "file", name, pt)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Join(stage, ACMEDir), 0o700); err != nil {
			return fmt.Errorf("acme cache: %w", err)
		}
		if err := writeSynced(filepath.Join(stage, ACMEDir, name), sealed); err != nil {
			return fmt.Errorf("acme cache: %w", err)
		}
		res.ACMEFiles++
	}
	return nil
}

// verifyStaged opens the staged copy with the new key: the audit log must
// verify, every person must read and be found by their email. The rotation
// is audited there, under the new key.
func verifyStaged(ctx context.Context, stage string, o RotateMasterOptions, res *RotateMasterResult) error {
	s, err := Open(ctx, Options{Dir: stage, MasterKey: o.NewKey, Clock: o.Clock})
	if err != nil {
		return err
	}
	defer s.Close()
	if _, err := s.VerifyAudit(ctx); err != nil {
		return err
	}
	n, err := s.checkEveryPerson(ctx)
	if err != nil {
		return err
	}
	before := make([]string, len(res.Before))
	for i, p := range res.Before {
		before[i] = filepath.Base(p)
	}
	err = s.Audit(ctx, AuditEntry{ActorID: ActorCLI, Action: AuditKeysRotateMaster, TargetType: "keys", Details: map[string]any{
		"data_keys": res.DataKeys, "kek_version": res.KEKVersion, "blind_indexes": res.BlindIndexes, "unopenable": res.Unopenable,
		"audit_entries": res.AuditEntries, "journal_records": res.JournalRecords, "acme_files": res.ACMEFiles,
		"acme_dropped": res.ACMEDropped, "recovery_code_users": res.RecoveryCodeUsers, "people_checked": n,
		"backups_before": before}})
	if err != nil {
		return err
	}
	_, err = s.VerifyAudit(ctx)
	return err
}

// checkEveryPerson reads every account whose data key exists and looks it
// up again by its email through the blind index.
func (s *Store) checkEveryPerson(ctx context.Context) (int, error) {
	rows, err := s.rdb.QueryContext(ctx, "SELECT id FROM users ORDER BY id")
	if err != nil {
		return 0, err
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		if _, err := s.dataKey(ctx, id); errors.Is(err, ErrNotFound) {
			continue // erased: nothing of theirs is readable under any key
		}
		u, err := s.User(ctx, id)
		if err != nil {
			return n, fmt.Errorf("person %s: %w", id, err)
		}
		byEmail, err := s.UserByEmail(ctx, u.Email)
		if err != nil || byEmail.ID != id {
			return n, fmt.Errorf("person %s is not found by email under the new key: %v", id, err)
		}
		n++
	}
	return n, nil
}

// leaveWAL checkpoints a staged database back into one file, so that the
// move is a single rename.
func leaveWAL(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	var mode string
	if err := db.QueryRowContext(ctx, "PRAGMA journal_mode=DELETE").Scan(&mode); err != nil {
		return fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	if mode != "delete" {
		return fmt.Errorf("%s: journal mode stays %s", filepath.Base(path), mode)
	}
	return nil
}

func writeSynced(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// finishRotation moves the files of a rotation marked ready into place:
// keys.db, then kelas.db, the journal and the ACME cache files, each by
// rename, so it can run again after a crash until the stage is gone. It
// reports whether it found one.
func finishRotation(dir string) (bool, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		return false, err
	}
	found := false
	for _, e := range entries {
		stage := filepath.Join(dir, e.Name())
		if !e.IsDir() || !strings.HasPrefix(e.Name(), rotateStagePrefix) || !fileExists(filepath.Join(stage, rotateReady)) {
			continue
		}
		found = true
		for _, name := range []string{KeysDBFile, MainDBFile} {
			if fileExists(filepath.Join(stage, name)) {
				if err := swapIn(dir, name, filepath.Join(stage, name)); err != nil {
					return found, fmt.Errorf("store: finish master-key rotation: %w", err)
				}
			}
		}
		if fileExists(filepath.Join(stage, JournalFile)) {
			if err := os.Rename(filepath.Join(stage, JournalFile), filepath.Join(dir, JournalFile)); err != nil {
				return found, fmt.Errorf("store: finish master-key rotation: %w", err)
			}
		}
		if acme, err := os.ReadDir(filepath.Join(stage, ACMEDir)); err == nil {
			if err := os.MkdirAll(filepath.Join(dir, ACMEDir), 0o700); err != nil {
				return found, fmt.Errorf("store: finish master-key rotation: %w", err)
			}
			for _, a := range acme {
				if err := os.Rename(filepath.Join(stage, ACMEDir, a.Name()), filepath.Join(dir, ACMEDir, a.Name())); err != nil {
					return found, fmt.Errorf("store: finish master-key rotation: %w", err)
				}
			}
			if err := syncDir(filepath.Join(dir, ACMEDir)); err != nil {
				return found, fmt.Errorf("store: finish master-key rotation: %w", err)
			}
		}
		if err := syncDir(dir); err != nil {
			return found, fmt.Errorf("store: finish master-key rotation: %w", err)
		}
		if err := os.RemoveAll(stage); err != nil {
			return found, fmt.Errorf("store: finish master-key rotation: %w", err)
		}
	}
	return found, nil
}

// removeRotateStages removes the stages of rotations that stopped before
// they were verified: the live files were never touched.
func removeRotateStages(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.IsDir() && strings.HasPrefix(e.Name(), rotateStagePrefix) {
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				return fmt.Errorf("store: remove the stage of an interrupted master-key rotation: %w", err)
			}
		}
	}
	return nil
}
