package store

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"filippo.io/age"

	"kelas/store/crypt"
)

// Restoring a backup made by backup.go: unpack and check it in a staging
// directory, re-apply the journal, keep what it replaces, swap it in.

// Restore errors callers may branch on. Each leaves the live data untouched.
var (
	ErrBackupUnreadable = errors.New("store: not a readable kelas backup")
	ErrBackupWrongKey   = errors.New("store: backup encrypted for another key")
)

// RestoreOptions say what to restore where.
type RestoreOptions struct {
	Dir       string
	MasterKey []byte
	// Identities are extra age identities to decrypt with, e.g. the offline
	// recovery key (KELAS_BACKUP_IDENTITY); the master key's own backup
	// identity is always tried.
	Identities []age.Identity
	// File is a data or keys backup. With a data backup, the keys backup of
	// the same run is restored too when it is found beside it (or named in
	// KeysFile); otherwise the live keys.db is kept.
	File     string
	KeysFile string
	Clock    func() time.Time
	// Recipients are extra age recipients (the offline recovery key) for
	// the encrypted copy of the databases the restore replaces.
	Recipients []age.Recipient
	// AcceptLoss restores even when compliance records of the current
	// state (made after the backup and not in the journal) would be lost;
	// the loss is reported and audited.
	AcceptLoss bool
}

// ErrRestoreLoss means a restore would lose compliance records; nothing was
// changed. The error's text is the report.
var ErrRestoreLoss = errors.New("store: the restore would lose compliance records")

// LossError carries the report of what a restore would lose.
type LossError struct {
	Replay JournalReplay
	Why    string
}

func (e *LossError) Error() string {
	return fmt.Sprintf("%v: %s\n%sNothing was changed. Restore anyway with --accept-loss (the loss is then recorded in the audit log).",
		ErrRestoreLoss, e.Why, e.Replay.Report())
}

func (e *LossError) Unwrap() error { return ErrRestoreLoss }

// RestoreResult says what a restore did.
type RestoreResult struct {
	Restored   []string // database files replaced (kelas.db, keys.db)
	KeysFile   string   // the keys backup used, if any
	Before     []string // encrypted backup files holding the replaced databases
	Tombstones int      // tombstones added from the backup's copy
	Reerased   int      // people erased again from the restored data
	// Journal says which compliance records made after the backup were
	// re-applied, and what was lost (only with AcceptLoss).
	Journal JournalReplay
	// KeysMerged counts data keys of the current keys.db (people and
	// records created after the keys backup) carried into the restored one.
	KeysMerged int
	// AuditRolledBack is the newest audit entry the log had before a
	// restore that lost entries (AcceptLoss); 0 when nothing was lost.
	AuditRolledBack int64
}

// staged is one verified database extracted from a backup.
type staged struct {
	m      backupManifest
	dbName string
	dbPath string
	stones []Tombstone
}

// Restore replaces the data directory's databases with a backup's, with
// kelas stopped (it takes the directory's lock exclusively). Everything is
// checked before any live file is touched: the file decrypts (with the master
// key's backup identity or opts.Identities), is complete, has the expected
// layout and checksums, was made under this master key, passes
// integrity_check and is not from a newer kelas. Then the files are swapped
// (the replaced ones kept as *.before-restore), the backup's tombstones are
// merged into the live ones, and every tombstone is applied again, so nobody
// erased since the backup comes back.
func Restore(ctx context.Context, o RestoreOptions) (RestoreResult, error) {
	var res RestoreResult
	unlock, err := LockDir(o.Dir, true)
	if err != nil {
		if errors.Is(err, ErrLocked) {
			return res, fmt.Errorf("%w: stop `kelas serve` (and any other kelas command) before restoring", err)
		}
		return res, err
	}
	defer unlock()
	kr, err := crypt.NewKeyring(o.MasterKey)
	if err != nil {
		return res, err
	}
	own, err := kr.BackupIdentity()
	if err != nil {
		return res, err
	}
	ids := append([]age.Identity{own}, o.Identities...)
	stage, err := os.MkdirTemp(o.Dir, ".restore-")
	if err != nil {
		return res, fmt.Errorf("store: restore: %w", err)
	}
	defer os.RemoveAll(stage)

	first, err := unpackBackup(ctx, o.File, stage, ids, kr)
	if err != nil {
		return res, err
	}
	parts := []staged{first}
	if first.m.Kind == BackupData {
		keysFile := o.KeysFile
		if keysFile == "" {
			keysFile = siblingKeysBackup(o.File)
		}
		switch {
		case keysFile != "":
			// A stage of its own: a data backup named as the keys backup
			// must be told apart, not collide with the first.
			keysStage := filepath.Join(stage, "keys")
			if err := os.Mkdir(keysStage, 0o700); err != nil {
				return res, fmt.Errorf("store: restore: %w", err)
			}
			k, err := unpackBackup(ctx, keysFile, keysStage, ids, kr)
			if err != nil {
				return res, err
			}
			if k.m.Kind != BackupKeys {
				return res, fmt.Errorf("%w: %s is not a keys backup", ErrBackupUnreadable, keysFile)
			}
			parts = append(parts, k)
			res.KeysFile = keysFile
		case !fileExists(filepath.Join(o.Dir, KeysDBFile)):
			return res, fmt.Errorf("store: restore: %s is missing in %s and no keys backup of the same run lies beside %s "+
				"(keys backups are kept only a few days); name one with --keys FILE", KeysDBFile, o.Dir, o.File)
		}
	}

	if err := reapplyJournal(ctx, o, kr, parts, &res); err != nil {
		return res, err
	}
	if res.KeysMerged, err = mergeLiveKeys(ctx, o.Dir, parts); err != nil {
		return res, fmt.Errorf("store: restore: keeping the current keys: %w (nothing was changed)", err)
	}

	// The state about to be replaced is kept, but only encrypted like any
	// backup (and pruned like one): a readable copy beside the live files
	// would keep erased people's rows and keys out of erasure's reach.
	clock := o.Clock
	if clock == nil {
		clock = time.Now
	}
	recipients := append([]age.Recipient{own.Recipient()}, o.Recipients...)
	if res.Before, err = keepReplaced(ctx, kr, o.Dir, parts, clock().UTC(), recipients); err != nil {
		return res, fmt.Errorf("store: restore: keeping the current databases: %w (nothing was changed)", err)
	}

	// Point of no return: swap the files.
	for _, p := range parts {
		if err := swapIn(o.Dir, p.dbName, p.dbPath); err != nil {
			return res, fmt.Errorf("store: restore %s: %w (the replaced state is kept in %s)", p.dbName, err, strings.Join(res.Before, ", "))
		}
		res.Restored = append(res.Restored, p.dbName)
	}
	if err := syncDir(o.Dir); err != nil {
		return res, fmt.Errorf("store: restore: %w", err)
	}
	stones := []Tombstone{}
	for _, p := range parts {
		stones = append(stones, p.stones...)
	}
	// The union of every backup's copy: if the live file was lost with the
	// disk, a newer backup lying beside the restored one still knows who was
	// erased after it was taken.
	for _, dir := range []string{filepath.Dir(o.File), filepath.Join(o.Dir, BackupsDir)} {
		stones = append(stones, tombstonesOfBackups(ctx, dir, ids)...)
	}
	if res.Tombstones, err = mergeTombstones(o.Dir, stones); err != nil {
		return res, err
	}

	s, err := Open(ctx, Options{Dir: o.Dir, MasterKey: o.MasterKey, Clock: o.Clock})
	if err != nil {
		return res, fmt.Errorf("store: restore: the restored files do not open: %w", err)
	}
	defer s.Close()
	if res.Reerased, err = s.ApplyTombstones(ctx, ActorCLI); err != nil {
		return res, err
	}
	if err := s.reconcileBackups(ctx); err != nil {
		return res, fmt.Errorf("store: restore: reconcile backups: %w", err)
	}
	if res.AuditRolledBack, err = s.realignAuditHead(ctx); err != nil {
		return res, fmt.Errorf("store: restore: %w", err)
	}
	details := map[string]any{"file": filepath.Base(o.File), "restored": res.Restored, "reerased": res.Reerased,
		"journal_applied": res.Journal.Applied}
	if lost := res.Journal.Lost() + len(res.Journal.Skipped); lost > 0 {
		details["records_lost"] = lost
		lostBy := map[string]int{}
		for t, ks := range res.Journal.Missing {
			lostBy[t] = len(ks)
		}
		details["records_lost_by_table"] = lostBy
	}
	if res.AuditRolledBack > 0 {
		details["audit_rolled_back_from"] = res.AuditRolledBack
	}
	if res.KeysFile != "" {
		details["keys_file"] = filepath.Base(res.KeysFile)
	}
	if err := s.Audit(ctx, AuditEntry{ActorID: ActorCLI, Action: AuditBackupRestore, TargetType: "backup", Details: details}); err != nil {
		return res, err
	}
	return res, nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// siblingKeysBackup is the keys backup of the same run as a data backup, if
// it is in the same directory.
func siblingKeysBackup(dataFile string) string {
	base := filepath.Base(dataFile)
	if !backupName.MatchString(base) || !strings.HasPrefix(base, "kelas-data-") {
		return ""
	}
	k := filepath.Join(filepath.Dir(dataFile), "kelas-keys-"+strings.TrimPrefix(base, "kelas-data-"))
	if !fileExists(k) {
		return ""
	}
	return k
}

// tombstonesOfBackups reads the tombstones of every backup in dir that ids
// can decrypt, reading each only as far as its tombstones entry. Files it
// cannot read are skipped: they add nothing to the union.
func tombstonesOfBackups(ctx context.Context, dir string, ids []age.Identity) []Tombstone {
	files, err := listBackupFiles(dir)
	if err != nil {
		return nil
	}
	var out []Tombstone
	for _, f := range files {
		if ctx.Err() != nil {
			break
		}
		out = append(out, backupTombstones(filepath.Join(dir, f.name), ids)...)
	}
	return out
}

func backupTombstones(path string, ids []age.Identity) []Tombstone {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	ar, err := age.Decrypt(f, ids...)
	if err != nil {
		return nil
	}
	gz, err := gzip.NewReader(ar)
	if err != nil {
		return nil
	}
	tr := tar.NewReader(gz)
	for range 2 {
		hdr, err := tr.Next()
		if err != nil {
			return nil
		}
		if hdr.Name == TombstonesFile {
			b, err := io.ReadAll(io.LimitReader(tr, 256<<20))
			if err != nil {
				return nil
			}
			return parseTombstones(b)
		}
	}
	return nil
}

// unpackBackup decrypts and extracts a backup into stage and verifies it.
func unpackBackup(ctx context.Context, path, stage string, ids []age.Identity, kr *crypt.Keyring) (staged, error) {
	var st staged
	f, err := os.Open(path)
	if err != nil {
		return st, fmt.Errorf("store: restore: %w", err)
	}
	defer f.Close()
	bad := func(why string, err error) error {
		if err != nil {
			return fmt.Errorf("%w: %s: %s: %v", ErrBackupUnreadable, path, why, err)
		}
		return fmt.Errorf("%w: %s: %s", ErrBackupUnreadable, path, why)
	}
	ar, err := age.Decrypt(f, ids...)
	if err != nil {
		var noMatch *age.NoIdentityMatchError
		if errors.As(err, &noMatch) {
			return st, fmt.Errorf("%w: %s was not encrypted to this server's master key; "+
				"to use the offline recovery key set KELAS_BACKUP_IDENTITY to its identity file", ErrBackupWrongKey, path)
		}
		return st, bad("not an age-encrypted kelas backup", err)
	}
	gz, err := gzip.NewReader(ar)
	if err != nil {
		return st, bad("damaged or truncated (no compressed stream inside)", err)
	}
	tr := tar.NewReader(gz)
	files := map[string]string{} // name → sha256 of what was extracted
	var tombstoneBytes []byte
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return st, bad("damaged or truncated", err)
		}
		switch hdr.Name {
		case "manifest.json":
			b, err := io.ReadAll(io.LimitReader(tr, 1<<20))
			if err != nil {
				return st, bad("damaged or truncated", err)
			}
			if err := json.Unmarshal(b, &st.m); err != nil || st.m.Format != backupFormat {
				return st, bad("unknown backup format", err)
			}
			files[hdr.Name] = ""
		case MainDBFile, KeysDBFile:
			if st.m.Format == "" {
				return st, bad("the manifest is missing", nil)
			}
			st.dbName = hdr.Name
			st.dbPath = filepath.Join(stage, hdr.Name)
			sum, err := extract(ctx, tr, st.dbPath)
			if err != nil {
				return st, bad("damaged or truncated", err)
			}
			files[hdr.Name] = sum
		case TombstonesFile:
			b, err := io.ReadAll(io.LimitReader(tr, 256<<20))
			if err != nil {
				return st, bad("damaged or truncated", err)
			}
			sum := sha256.Sum256(b)
			files[hdr.Name] = hex.EncodeToString(sum[:])
			tombstoneBytes = b
		default:
			return st, bad(fmt.Sprintf("unexpected entry %q", hdr.Name), nil)
		}
	}
	// Read to the very end: age authenticates the last chunk only there,
	// which is how a truncated file is told apart from a complete one.
	if _, err := io.Copy(io.Discard, gz); err != nil {
		return st, bad("damaged or truncated", err)
	}
	if err := gz.Close(); err != nil {
		return st, bad("damaged or truncated", err)
	}
	if _, ok := files["manifest.json"]; !ok || st.dbName == "" {
		return st, bad("incomplete: the manifest or the database is missing", nil)
	}
	if want := map[string]string{BackupData: MainDBFile, BackupKeys: KeysDBFile}[st.m.Kind]; want != st.dbName {
		return st, bad("the manifest does not match the contents", nil)
	}
	for _, mf := range st.m.Files {
		if got, ok := files[mf.Name]; !ok || got != mf.SHA256 {
			return st, bad(fmt.Sprintf("checksum of %s does not match the manifest", mf.Name), nil)
		}
	}
	if st.m.KeyCheck != hex.EncodeToString(kr.CheckValue()) {
		return st, fmt.Errorf("%w: %s was made by a kelas with a different master key; restore it with the master key "+
			"(KELAS_MASTER_KEY or KELAS_MASTER_KEY_FILE) it was made under", ErrBackupWrongKey, path)
	}
	schema, err := checkDB(ctx, st.dbPath)
	if err != nil {
		return st, bad("the database inside fails its check", err)
	}
	dir := "migrations"
	if st.dbName == KeysDBFile {
		dir = "migrations/keys"
	}
	if latest, err := latestMigration(dir); err == nil && schema > latest {
		return st, bad(fmt.Sprintf("made by a newer kelas (schema %d, this one knows up to %d); restore it with that version", schema, latest), nil)
	}
	if st.dbName == KeysDBFile {
		if err := checkKeysDB(ctx, st.dbPath, kr); err != nil {
			return st, err
		}
	}
	st.stones = parseTombstones(tombstoneBytes)
	return st, nil
}

// extract writes r to path (0600), fsynced, and returns its sha256.
func extract(ctx context.Context, r io.Reader, path string) (string, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(f, h), &ctxReader{ctx: ctx, r: r})
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return hex.EncodeToString(h.Sum(nil)), err
}

// checkKeysDB confirms a restored keys.db belongs to this master key.
func checkKeysDB(ctx context.Context, path string, kr *crypt.Keyring) error {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		return err
	}
	defer db.Close()
	var cv []byte
	if err := db.QueryRowContext(ctx, "SELECT check_value FROM key_check WHERE id = 1").Scan(&cv); err != nil {
		return fmt.Errorf("%w: the keys database has no key check: %v", ErrBackupUnreadable, err)
	}
	if !kr.MatchesCheckValue(cv) {
		return fmt.Errorf("%w: the keys in this backup are wrapped under a different master key", ErrBackupWrongKey)
	}
	return nil
}

// latestMigration is the highest migration number embedded in dir.
func latestMigration(dir string) (int, error) {
	entries, err := fs.ReadDir(migrationFS, dir)
	if err != nil {
		return 0, err
	}
	latest := 0
	for _, e := range entries {
		var v int
		if _, err := fmt.Sscanf(e.Name(), "%d_", &v); err == nil && v > latest {
			latest = v
		}
	}
	return latest, nil
}

// reapplyJournal brings the staged kelas.db up to date with the compliance
// journal (records made after the backup) and compares it with the state it
// will replace. When records would still be lost it refuses, unless
// o.AcceptLoss, before any live file changes. A damaged journal is refused
// the same way.
func reapplyJournal(ctx context.Context, o RestoreOptions, kr *crypt.Keyring, parts []staged, res *RestoreResult) error {
	var main *staged
	for i := range parts {
		if parts[i].dbName == MainDBFile {
			main = &parts[i]
		}
	}
	if main == nil {
		return nil // a keys backup alone: no records to re-apply
	}
	live := filepath.Join(o.Dir, MainDBFile)
	liveReadable := false
	if fileExists(live) {
		// Opening the live store copies changes still noted in it (a crash
		// before they reached the journal) to the journal.
		if ls, err := Open(ctx, Options{Dir: o.Dir, MasterKey: o.MasterKey, Clock: o.Clock}); err == nil {
			ls.Close()
			liveReadable = true
		}
	}
	key, err := kr.JournalKey()
	if err != nil {
		return err
	}
	recs, _, err := readJournal(filepath.Join(o.Dir, JournalFile), key)
	if err != nil {
		return fmt.Errorf("store: restore refused, nothing was changed: %w", err)
	}
	if len(recs) > 0 {
		res.Journal.Since = recs[0].Since
	}
	backupAt := main.m.CreatedAt
	res.Journal.Complete = len(recs) > 0 && !res.Journal.Since.After(backupAt)
	// Records from a little before the backup too: re-applying a record
	// the backup already holds changes nothing.
	replay, err := replayJournal(ctx, main.dbPath, recs, backupAt.Add(-5*time.Minute))
	if err != nil {
		return fmt.Errorf("store: restore: re-applying the journal: %w (nothing was changed)", err)
	}
	replay.Since, replay.Complete = res.Journal.Since, res.Journal.Complete
	res.Journal = replay
	why := ""
	switch {
	case liveReadable:
		if res.Journal.Missing, err = missingRecords(ctx, live, main.dbPath); err != nil {
			return fmt.Errorf("store: restore: comparing with the current state: %w (nothing was changed)", err)
		}
		if res.Journal.Lost()+len(res.Journal.Skipped) > 0 {
			why = "records of the current state are not in the backup and could not be re-applied from the journal"
		}
	case fileExists(live) || (len(recs) > 0 && !res.Journal.Complete):
		// Nothing to compare with, and the journal may not cover the gap.
		if !res.Journal.Complete {
			why = "the current database cannot be read and the journal does not reach back to the backup, so records made after it may be lost"
		}
	}
	if why != "" && !o.AcceptLoss {
		return &LossError{Replay: res.Journal, Why: why}
	}
	if _, err := checkDB(ctx, main.dbPath); err != nil {
		return fmt.Errorf("store: restore: the database fails its check after re-applying the journal: %w (nothing was changed)", err)
	}
	return nil
}

// mergeLiveKeys carries into a staged keys.db what the current keys.db has
// and the backup lacks: data keys made after the backup (the system key,
// people who registered since: records sealed with them were re-applied
// from the journal), newer key-wrapping versions, and the audit anchor when
// it is newer. Keys of tombstoned people are never carried over; restoring
// keys.db alone thus cannot resurrect anyone. It does nothing when no keys
// backup is restored or the current keys.db cannot be read.
func mergeLiveKeys(ctx context.Context, dir string, parts []staged) (int, error) {
	var stagedKeys string
	for _, p := range parts {
		if p.dbName == KeysDBFile {
			stagedKeys = p.dbPath
		}
	}
	live := filepath.Join(dir, KeysDBFile)
	if stagedKeys == "" || !fileExists(live) {
		return 0, nil
	}
	if _, err := checkDB(ctx, live); err != nil {
		return 0, nil // damaged: the backup's keys are all there is
	}
	stones, err := readTombstones(filepath.Join(dir, TombstonesFile))
	if err != nil {
		return 0, err
	}
	for _, p := range parts {
		stones = append(stones, p.stones...)
	}
	erased := map[string]bool{}
	for _, t := range stones {
		erased[t.UserID] = true
	}
	db, err := sql.Open("sqlite", "file:"+stagedKeys+"?_pragma=busy_timeout(10000)&_pragma=trusted_schema(0)&_txlock=immediate")
	if err != nil {
		return 0, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if err := migrate(ctx, db, "migrations/keys"); err != nil {
		return 0, err
	}
	if _, err := db.ExecContext(ctx, "ATTACH DATABASE ? AS live", "file:"+live+"?mode=ro"); err != nil {
		return 0, err
	}
	n := 0
	err = inTx(ctx, db, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "INSERT OR IGNORE INTO main.kek_versions SELECT version, created_at FROM live.kek_versions"); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT subject, kek_version, wrapped, created_at FROM live.data_keys
			WHERE subject NOT IN (SELECT subject FROM main.data_keys)`)
		if err != nil {
			return err
		}
		type key struct {
			subject string
			version int
			wrapped []byte
			created string
		}
		var add []key
		for rows.Next() {
			var k key
			if err := rows.Scan(&k.subject, &k.version, &k.wrapped, &k.created); err != nil {
				rows.Close()
				return err
			}
			if !erased[k.subject] {
				add = append(add, k)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, k := range add {
			if _, err := tx.ExecContext(ctx, "INSERT INTO main.data_keys (subject, kek_version, wrapped, created_at) VALUES (?, ?, ?, ?)",
				k.subject, k.version, k.wrapped, k.created); err != nil {
				return err
			}
		}
		n = len(add)
		if hasTableIn(ctx, tx, "live", "audit_head") {
			_, err = tx.ExecContext(ctx, `INSERT INTO main.audit_head SELECT * FROM live.audit_head l WHERE true
				ON CONFLICT (id) DO UPDATE SET mac_from = excluded.mac_from, seq = excluded.seq, hash = excluded.hash,
				pruned_seq = excluded.pruned_seq, pruned_hash = excluded.pruned_hash, updated_at = excluded.updated_at, mac = excluded.mac
				WHERE excluded.seq > main.audit_head.seq OR excluded.pruned_seq > main.audit_head.pruned_seq`)
		}
		return err
	})
	if err != nil {
		return 0, err
	}
	if _, err := db.ExecContext(ctx, "DETACH DATABASE live"); err != nil {
		return 0, err
	}
	return n, nil
}

func hasTableIn(ctx context.Context, tx *sql.Tx, schema, name string) bool {
	var n int
	err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+schema+".sqlite_schema WHERE type = 'table' AND name = ?", name).Scan(&n)
	return err == nil && n == 1
}

// keepReplaced writes the live databases that parts will replace into
// DATA/backups as encrypted backups of one run (restorable with `kelas
// restore` like any other), and seals any *.before-restore copy an older
// kelas left in plaintext. A database that cannot be snapshotted (it is
// damaged: often why one restores) is kept as an encrypted raw copy
// instead. It returns the files written.
func keepReplaced(ctx context.Context, kr *crypt.Keyring, dir string, parts []staged, now time.Time, recipients []age.Recipient) ([]string, error) {
	stamp, run := now.Format(stampLayout), NewID()[:6]
	backups := filepath.Join(dir, BackupsDir)
	var written []string
	var raw []string // live files to keep as raw copies
	for _, p := range parts {
		live := filepath.Join(dir, p.dbName)
		if !fileExists(live) {
			continue
		}
		kind := BackupData
		if p.dbName == KeysDBFile {
			kind = BackupKeys
		}
		final := filepath.Join(backups, fmt.Sprintf("kelas-%s-%s-%s.age", kind, stamp, run))
		if _, _, err := packDatabase(ctx, kr, dir, kind, live, final, now, recipients, 0); err != nil {
			raw = append(raw, live, live+"-wal")
			continue
		}
		written = append(written, final)
	}
	// Copies left in plaintext by earlier versions go into the raw archive.
	entries, err := os.ReadDir(dir)
	if err != nil {
		return written, err
	}
	var legacy []string
	for _, e := range entries {
		if e.Type().IsRegular() && strings.Contains(e.Name(), ".before-restore") {
			legacy = append(legacy, filepath.Join(dir, e.Name()))
		}
	}
	raw = append(raw, legacy...)
	if len(raw) > 0 {
		final := filepath.Join(backups, fmt.Sprintf("kelas-replaced-%s-%s.age", stamp, NewID()[:6]))
		if err := os.MkdirAll(backups, 0o700); err != nil {
			return written, err
		}
		manifest, err := json.Marshal(map[string]any{"format": replacedFormat, "created_at": now,
			"key_check": hex.EncodeToString(kr.CheckValue())})
		if err != nil {
			return written, err
		}
		_, _, err = writeArchive(ctx, final, recipients, 0, func(tw *tar.Writer) error {
			if err := tarBytes(tw, "manifest.json", manifest, now); err != nil {
				return err
			}
			for _, path := range raw {
				if !fileExists(path) {
					continue
				}
				if err := tarFile(ctx, tw, filepath.Base(path), path, now); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return written, err
		}
		written = append(written, final)
	}
	for _, path := range legacy {
		if err := os.Remove(path); err != nil {
			return written, err
		}
	}
	return written, nil
}

// swapIn replaces dir/name (with its WAL and shared memory) by the staged
// file. The replaced state was kept, encrypted, by keepReplaced.
func swapIn(dir, name, stagedPath string) error {
	live := filepath.Join(dir, name)
	for _, suffix := range []string{"-wal", "-shm", "-journal"} {
		if err := os.Remove(live + suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return os.Rename(stagedPath, live)
}
