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
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"

	"filippo.io/age"

	"kelas/store/crypt"
)

// BackupsDir is the directory inside the data directory that holds backups.
const BackupsDir = "backups"

// Backup kinds: kelas.db (with a copy of the tombstones) or keys.db. They
// are separate files because keys backups are kept only a short time: once
// the last keys backup holding an erased person's key is gone, no backup can
// bring that person's data back.
const (
	BackupData = "data"
	BackupKeys = "keys"
)

// Where a backup came from.
const (
	OriginSchedule = "schedule"
	OriginConsole  = "console"
	OriginCLI      = "cli"
	OriginRestore  = "restore" // found on disk when reconciling after a restore
)

// backupFormat names the layout inside the encrypted file: a gzipped tar of
// manifest.json, tombstones.log and the database, in that order.
const backupFormat = "kelas-backup/1"

// Backup is one recorded backup attempt.
type Backup struct {
	ID        string
	File      string // name inside DATA/backups
	Kind      string
	Size      int64
	SHA256    string // of the encrypted file, as `sha256sum` prints it
	CreatedAt time.Time
	OK        bool
	Error     string
	Origin    string
	DeletedAt time.Time // set once pruning removed the file
}

// BackupOptions tune one backup.
type BackupOptions struct {
	Origin string
	// Actor is who asked, for the audit log (a user id on the console).
	Actor string
	// Recipients are extra age recipients, e.g. the offline recovery key
	// (KELAS_BACKUP_RECIPIENT). The server's own key is always included.
	Recipients []age.Recipient
	// maxBytes, for tests, makes writing the file fail like a full disk
	// after this many bytes.
	maxBytes int64
}

// backupManifest describes a backup's contents; restore checks all of it.
type backupManifest struct {
	Format    string    `json:"format"`
	Kind      string    `json:"kind"`
	CreatedAt time.Time `json:"created_at"`
	// Schema is the migration version of the database in the backup.
	Schema int `json:"schema_version"`
	// KeyCheck is the master key's public check value, so restore can tell
	// "made under another master key" apart from a damaged file.
	KeyCheck string         `json:"key_check"`
	Files    []manifestFile `json:"files"`
}

type manifestFile struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// backupName is kelas-KIND-STAMP-RUN.age; the data and keys files of one run
// share STAMP and RUN, so restore finds a data backup's keys.
var backupName = regexp.MustCompile(`^kelas-(data|keys)-(\d{8}T\d{6}Z)-([a-z2-7]{6})\.age$`)

const stampLayout = "20060102T150405Z"

// replacedName is an encrypted raw copy of databases a restore replaced
// when they could not be snapshotted as a regular backup (a damaged file).
// It holds keys.db, so it is pruned by the keys-backup rule.
var replacedName = regexp.MustCompile(`^kelas-replaced-(\d{8}T\d{6}Z)-([a-z2-7]{6})\.age$`)

// replacedFormat names the layout of a replaced-files archive.
const replacedFormat = "kelas-replaced/1"

func (s *Store) backupsDir() string { return filepath.Join(s.dir, BackupsDir) }

// BackupPath is where a recorded backup's file lives.
func (s *Store) BackupPath(b Backup) string {
	return filepath.Join(s.backupsDir(), filepath.Base(b.File))
}

// Backup takes a consistent, verified, encrypted backup of kelas.db and then
// of keys.db (see backupOne), records both, and prunes old backups by the
// retention rules. It returns the records of the files it wrote.
func (s *Store) Backup(ctx context.Context, o BackupOptions) ([]Backup, error) {
	if o.Origin == "" {
		o.Origin = OriginCLI
	}
	if o.Actor == "" {
		o.Actor = ActorCLI
		if o.Origin == OriginSchedule {
			o.Actor = ActorScheduler
		}
	}
	stamp := s.Now().Format(stampLayout)
	run := NewID()[:6]
	var out []Backup
	for _, kind := range []string{BackupData, BackupKeys} {
		b, err := s.backupOne(ctx, kind, stamp, run, o)
		if err != nil {
			return out, err
		}
		out = append(out, b)
	}
	fresh := map[string]bool{}
	for _, b := range out {
		fresh[b.File] = true
	}
	if _, err := s.pruneBackups(ctx, fresh); err != nil {
		return out, err
	}
	return out, nil
}

// backupOne writes one backup file:
//
//  1. VACUUM INTO a snapshot from a connection of its own: one read
//     transaction, so the copy is consistent while writers go on (WAL);
//  2. PRAGMA integrity_check on the snapshot;
//  3. a gzipped tar of manifest, snapshot and tombstones, encrypted with age
//     to the server's key (and the offline recipient), written to a .tmp
//     file, fsynced and atomically renamed.
//
// Any failure removes what was half written and is recorded (and audited),
// so the console and `kelas doctor` show it.
func (s *Store) backupOne(ctx context.Context, kind, stamp, run string, o BackupOptions) (Backup, error) {
	b := Backup{ID: NewID(), Kind: kind, File: fmt.Sprintf("kelas-%s-%s-%s.age", kind, stamp, run), CreatedAt: s.Now(), Origin: o.Origin}
	final := filepath.Join(s.backupsDir(), b.File)
	err := s.writeBackup(ctx, kind, final, o, &b)
	if err != nil {
		b.Error = truncate(err.Error(), 500)
	} else {
		b.OK = true
	}
	record := context.WithoutCancel(ctx)
	if rerr := s.recordBackup(record, b, o.Actor); rerr != nil {
		err = errors.Join(err, rerr)
	}
	if err != nil {
		return b, fmt.Errorf("store: backup %s: %w", kind, err)
	}
	return b, nil
}

func (s *Store) writeBackup(ctx context.Context, kind, final string, o BackupOptions, b *Backup) (err error) {
	src := filepath.Join(s.dir, MainDBFile)
	if kind == BackupKeys {
		src = filepath.Join(s.dir, KeysDBFile)
	}
	serverID, err := s.kr.BackupIdentity()
	if err != nil {
		return err
	}
	recipients := append([]age.Recipient{serverID.Recipient()}, o.Recipients...)
	b.Size, b.SHA256, err = packDatabase(ctx, s.kr, s.dir, kind, src, final, b.CreatedAt, recipients, o.maxBytes)
	return err
}

// packDatabase writes the backup file final of one database: a VACUUM INTO
// snapshot of src (beside final, removed afterwards), its integrity check,
// then manifest, the data directory's tombstones and the snapshot, encrypted
// to recipients.
func packDatabase(ctx context.Context, kr *crypt.Keyring, dataDir, kind, src, final string, at time.Time, recipients []age.Recipient, maxBytes int64) (int64, string, error) {
	dbName := MainDBFile
	if kind == BackupKeys {
		dbName = KeysDBFile
	}
	if err := os.MkdirAll(filepath.Dir(final), 0o700); err != nil {
		return 0, "", err
	}
	snap := filepath.Join(filepath.Dir(final), ".snapshot-"+NewID()+".db")
	defer removeDB(snap)
	if err := vacuumInto(ctx, src, snap); err != nil {
		return 0, "", fmt.Errorf("snapshot: %w", err)
	}
	schema, err := checkDB(ctx, snap)
	if err != nil {
		return 0, "", err
	}
	snapSum, snapSize, err := fileSHA256(snap)
	if err != nil {
		return 0, "", err
	}
	stones, err := os.ReadFile(filepath.Join(dataDir, TombstonesFile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return 0, "", err
	}
	stoneSum := sha256.Sum256(stones)
	m := backupManifest{Format: backupFormat, Kind: kind, CreatedAt: at, Schema: schema,
		KeyCheck: hex.EncodeToString(kr.CheckValue()),
		Files: []manifestFile{{Name: dbName, Size: snapSize, SHA256: snapSum},
			{Name: TombstonesFile, Size: int64(len(stones)), SHA256: hex.EncodeToString(stoneSum[:])}}}
	manifest, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return 0, "", err
	}
	return writeArchive(ctx, final, recipients, maxBytes, func(tw *tar.Writer) error {
		if err := tarBytes(tw, "manifest.json", manifest, at); err != nil {
			return err
		}
		// Tombstones before the database: restore reads them from every
		// backup it can find without decrypting whole databases.
		if err := tarBytes(tw, TombstonesFile, stones, at); err != nil {
			return err
		}
		return tarFile(ctx, tw, dbName, snap, at)
	})
}

// writeArchive writes a gzipped tar, encrypted with age to recipients, to a
// .tmp file beside final, fsyncs it and renames it into place atomically. It
// returns the encrypted file's size and sha256. On failure nothing is left.
func writeArchive(ctx context.Context, final string, recipients []age.Recipient, maxBytes int64, fill func(*tar.Writer) error) (size int64, sum string, err error) {
	tmp := final + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, "", err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	h := sha256.New()
	cw := &countingWriter{w: io.MultiWriter(f, h), limit: maxBytes}
	aw, err := age.Encrypt(cw, recipients...)
	if err != nil {
		return 0, "", err
	}
	gz, err := gzip.NewWriterLevel(aw, gzip.BestSpeed)
	if err != nil {
		return 0, "", err
	}
	tw := tar.NewWriter(gz)
	if err := fill(tw); err != nil {
		return 0, "", err
	}
	for _, c := range []io.Closer{tw, gz, aw} {
		if err := c.Close(); err != nil {
			return 0, "", err
		}
	}
	if err := f.Sync(); err != nil {
		return 0, "", err
	}
	if err := f.Close(); err != nil {
		return 0, "", err
	}
	if err := os.Rename(tmp, final); err != nil {
		return 0, "", err
	}
	if err := syncDir(filepath.Dir(final)); err != nil {
		return 0, "", err
	}
	return cw.n, hex.EncodeToString(h.Sum(nil)), nil
}

// countingWriter counts bytes and, for tests, fails like a full disk.
type countingWriter struct {
	w     io.Writer
	n     int64
	limit int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	if c.limit > 0 && c.n+int64(len(p)) > c.limit {
		return 0, &fs.PathError{Op: "write", Path: "backup", Err: syscall.ENOSPC}
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func tarBytes(tw *tar.Writer, name string, b []byte, at time.Time) error {
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: int64(len(b)), ModTime: at, Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	_, err := tw.Write(b)
	return err
}

func tarFile(ctx context.Context, tw *tar.Writer, name, path string, at time.Time) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: st.Size(), ModTime: at, Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	_, err = io.Copy(tw, &ctxReader{ctx: ctx, r: f})
	return err
}

// ctxReader stops a long copy when ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// vacuumInto writes a consistent copy of the database at src to dst from a
// connection of its own (the read pool is query_only, which VACUUM INTO
// refuses). It only reads src, so in WAL mode writers are not blocked.
func vacuumInto(ctx context.Context, src, dst string) error {
	// VACUUM INTO wants a new or empty file; creating it first sets 0600.
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	f.Close()
	// synchronous(OFF): the snapshot is a temporary file; fsyncing it would
	// only add a burst of disk writes. The encrypted result is fsynced.
	db, err := sql.Open("sqlite", "file:"+src+"?_pragma=busy_timeout(10000)&_pragma=trusted_schema(0)&_pragma=synchronous(OFF)&_txlock=deferred")
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	_, err = db.ExecContext(ctx, "VACUUM INTO ?", dst)
	return err
}

// checkDB runs PRAGMA integrity_check on a database file (read-only) and
// returns its migration version.
func checkDB(ctx context.Context, path string) (schema int, err error) {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=trusted_schema(0)")
	if err != nil {
		return 0, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	rows, err := db.QueryContext(ctx, "PRAGMA integrity_check")
	if err != nil {
		return 0, fmt.Errorf("integrity check: %w", err)
	}
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			rows.Close()
			return 0, fmt.Errorf("integrity check: %w", err)
		}
		if line != "ok" {
			problems = append(problems, line)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("integrity check: %w", err)
	}
	if len(problems) > 0 {
		return 0, fmt.Errorf("integrity check failed: %s", truncate(strings.Join(problems, "; "), 300))
	}
	if err := db.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&schema); err != nil {
		return 0, fmt.Errorf("not a kelas database: %w", err)
	}
	return schema, nil
}

func fileSHA256(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	return hex.EncodeToString(h.Sum(nil)), n, err
}

// removeDB removes a database file and its journal companions.
func removeDB(path string) {
	for _, suffix := range []string{"", "-journal", "-wal", "-shm"} {
		os.Remove(path + suffix)
	}
}

func (s *Store) recordBackup(ctx context.Context, b Backup, actor string) error {
	action := AuditBackupCreate
	details := map[string]any{"kind": b.Kind, "file": b.File, "origin": b.Origin}
	if b.OK {
		details["sha256"], details["size"] = b.SHA256, b.Size
	} else {
		action = AuditBackupFail
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO backups (id, file, kind, size, sha256, created_at, ok, error, origin)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, b.ID, b.File, b.Kind, b.Size, nullStr(b.SHA256), ts(b.CreatedAt), b.OK,
			nullStr(b.Error), b.Origin)
		if err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, s.Now(), AuditEntry{ActorID: actor, Action: action, TargetType: "backup", TargetID: b.ID, Details: details})
	})
}

const backupColumns = "id, file, kind, size, COALESCE(sha256, ''), created_at, ok, COALESCE(error, ''), origin, deleted_at"

func scanBackups(rows *sql.Rows) ([]Backup, error) {
	defer rows.Close()
	var out []Backup
	for rows.Next() {
		var b Backup
		var created string
		var deleted sql.NullString
		if err := rows.Scan(&b.ID, &b.File, &b.Kind, &b.Size, &b.SHA256, &created, &b.OK, &b.Error, &b.Origin, &deleted); err != nil {
			return nil, err
		}
		b.CreatedAt, _ = parseTS(created)
		b.DeletedAt = nullTS(deleted)
		out = append(out, b)
	}
	return out, rows.Err()
}

// Backups lists up to limit recorded backups, newest first.
func (s *Store) Backups(ctx context.Context, limit int) ([]Backup, error) {
	rows, err := s.rdb.QueryContext(ctx, "SELECT "+backupColumns+" FROM backups ORDER BY created_at DESC, kind, id LIMIT ?", limit)
	if err != nil {
		return nil, fmt.Errorf("store: backups: %w", err)
	}
	out, err := scanBackups(rows)
	if err != nil {
		return nil, fmt.Errorf("store: backups: %w", err)
	}
	return out, nil
}

// BackupByID returns one recorded backup, or ErrNotFound.
func (s *Store) BackupByID(ctx context.Context, id string) (Backup, error) {
	rows, err := s.rdb.QueryContext(ctx, "SELECT "+backupColumns+" FROM backups WHERE id = ?", id)
	if err != nil {
		return Backup{}, fmt.Errorf("store: backup: %w", err)
	}
	out, err := scanBackups(rows)
	if err != nil {
		return Backup{}, fmt.Errorf("store: backup: %w", err)
	}
	if len(out) == 0 {
		return Backup{}, ErrNotFound
	}
	return out[0], nil
}

// BackupStatus summarises backups for the console and `kelas doctor`.
type BackupStatus struct {
	LastGood      Backup // newest successful data backup; zero ID if none
	LastGoodKeys  Backup
	LastFailure   Backup // newest failed attempt; zero ID if none
	Failing       bool   // the newest attempt failed
	FilesOnDisk   int
	BytesOnDisk   int64
	MissingOnDisk int // successful, not pruned, but the file is gone
}

// BackupStatus reports the newest good backups and failures.
func (s *Store) BackupStatus(ctx context.Context) (BackupStatus, error) {
	var st BackupStatus
	q := func(where string) (Backup, error) {
		rows, err := s.rdb.QueryContext(ctx, "SELECT "+backupColumns+" FROM backups WHERE "+where+" ORDER BY created_at DESC LIMIT 1")
		if err != nil {
			return Backup{}, err
		}
		out, err := scanBackups(rows)
		if err != nil || len(out) == 0 {
			return Backup{}, err
		}
		return out[0], nil
	}
	var err error
	if st.LastGood, err = q("ok = 1 AND kind = 'data'"); err != nil {
		return st, fmt.Errorf("store: backup status: %w", err)
	}
	if st.LastGoodKeys, err = q("ok = 1 AND kind = 'keys'"); err != nil {
		return st, fmt.Errorf("store: backup status: %w", err)
	}
	if st.LastFailure, err = q("ok = 0"); err != nil {
		return st, fmt.Errorf("store: backup status: %w", err)
	}
	st.Failing = st.LastFailure.ID != "" && !st.LastFailure.CreatedAt.Before(st.LastGood.CreatedAt)
	rows, err := s.rdb.QueryContext(ctx, "SELECT "+backupColumns+" FROM backups WHERE ok = 1 AND deleted_at IS NULL")
	if err != nil {
		return st, fmt.Errorf("store: backup status: %w", err)
	}
	live, err := scanBackups(rows)
	if err != nil {
		return st, fmt.Errorf("store: backup status: %w", err)
	}
	for _, b := range live {
		if fi, err := os.Stat(s.BackupPath(b)); err == nil {
			st.FilesOnDisk++
			st.BytesOnDisk += fi.Size()
		} else {
			st.MissingOnDisk++
		}
	}
	return st, nil
}

// backupFile is a backup file found on disk.
type backupFile struct {
	name string
	kind string
	at   time.Time
}

func listBackupFiles(dir string) ([]backupFile, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	return parseBackupNames(names), nil
}

// parseBackupNames keeps the backup files among names, newest first.
func parseBackupNames(names []string) []backupFile {
	var out []backupFile
	for _, n := range names {
		m := backupName.FindStringSubmatch(n)
		if m == nil {
			continue
		}
		at, err := time.Parse(stampLayout, m[2])
		if err != nil {
			continue
		}
		out = append(out, backupFile{name: n, kind: m[1], at: at})
	}
	// Newest first.
	slices.SortFunc(out, func(a, b backupFile) int {
		if c := b.at.Compare(a.at); c != 0 {
			return c
		}
		return strings.Compare(b.name, a.name)
	})
	return out
}

// PruneBackups deletes backup files the retention rules no longer keep:
// keys backups older than the keys rule, and data backups other than the
// newest of each of the last N days and M weeks (the newest backup is always
// kept). It works from the files on disk, not the records, so files the
// records do not know (after a restore) are pruned too. Leftovers of
// interrupted backups older than a day go as well.
func (s *Store) PruneBackups(ctx context.Context) ([]string, error) {
	return s.pruneBackups(ctx, nil)
}

// pruneBackups is PruneBackups never removing the files in protect (those a
// backup just wrote, which may share their second with an older one).
func (s *Store) pruneBackups(ctx context.Context, protect map[string]bool) ([]string, error) {
	rules, err := s.RetentionRules(ctx)
	if err != nil {
		return nil, err
	}
	keep := map[string]int{}
	for _, r := range rules {
		keep[r.Category] = r.Keep
	}
	files, err := listBackupFiles(s.backupsDir())
	if err != nil {
		return nil, fmt.Errorf("store: prune backups: %w", err)
	}
	now := s.Now()
	remove := selectPrune(files, keep, now, protect)
	if entries, err := os.ReadDir(s.backupsDir()); err == nil {
		for _, e := range entries {
			m := replacedName.FindStringSubmatch(e.Name())
			if m == nil {
				continue
			}
			if at, err := time.Parse(stampLayout, m[1]); err == nil && !at.After(now.Add(-time.Duration(keep[RetKeysBackups])*24*time.Hour)) {
				if err := os.Remove(filepath.Join(s.backupsDir(), e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
					return nil, fmt.Errorf("store: prune backups: %w", err)
				}
			}
		}
	}
	var errs []error
	var removed []string
	for _, name := range remove {
		if err := os.Remove(filepath.Join(s.backupsDir(), name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, name)
	}
	// Leftovers of a backup that crashed part-way.
	if entries, err := os.ReadDir(s.backupsDir()); err == nil {
		for _, e := range entries {
			n := e.Name()
			if !strings.HasSuffix(n, ".tmp") && !strings.HasPrefix(n, ".snapshot-") {
				continue
			}
			if fi, err := e.Info(); err == nil && fi.ModTime().Before(time.Now().Add(-24*time.Hour)) {
				os.Remove(filepath.Join(s.backupsDir(), n))
			}
		}
	}
	if len(removed) > 0 {
		err := s.tx(ctx, func(tx *sql.Tx) error {
			for _, name := range removed {
				if _, err := tx.ExecContext(ctx, "UPDATE backups SET deleted_at = ? WHERE file = ? AND deleted_at IS NULL", ts(now), name); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			errs = append(errs, err)
		}
	}
	// The journal only needs what a kept data backup lacks.
	if files, err := listBackupFiles(s.backupsDir()); err == nil {
		var oldest time.Time
		for _, f := range files {
			if f.kind == BackupData && !slices.Contains(removed, f.name) {
				oldest = f.at
			}
		}
		if !oldest.IsZero() {
			if err := s.compactJournal(oldest.Add(-time.Hour)); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return removed, fmt.Errorf("store: prune backups: %w", err)
	}
	return removed, nil
}

// selectPrune returns the names of files (newest first) the retention rules
// no longer keep: keys backups older than the keys window, and data backups
// other than the newest of each of the last N days and M weeks (the newest
// is always kept). Local pruning and off-site pruning share it, so a copy
// off the server lives no longer than the one on it.
func selectPrune(files []backupFile, keep map[string]int, now time.Time, protect map[string]bool) []string {
	var remove []string
	days, weeks := map[string]bool{}, map[string]bool{}
	newestData := true
	for _, f := range files {
		switch f.kind {
		case BackupKeys:
			if !f.at.After(now.Add(-time.Duration(keep[RetKeysBackups])*24*time.Hour)) && !protect[f.name] {
				remove = append(remove, f.name)
			}
		case BackupData:
			kept := newestData || protect[f.name]
			newestData = false
			day := f.at.Format(time.DateOnly)
			if !days[day] && len(days) < keep[RetDailyBackups] {
				days[day], kept = true, true
			}
			y, w := f.at.ISOWeek()
			week := fmt.Sprintf("%d-W%02d", y, w)
			if !weeks[week] && len(weeks) < keep[RetWeeklyBackups] {
				weeks[week], kept = true, true
			}
			if !kept {
				remove = append(remove, f.name)
			}
		}
	}
	return remove
}

// reconcileBackups makes the records match the files on disk after a
// restore brought back an older backups table: files it does not know are
// recorded, and records whose file is gone are marked deleted.
func (s *Store) reconcileBackups(ctx context.Context) error {
	files, err := listBackupFiles(s.backupsDir())
	if err != nil {
		return err
	}
	rows, err := s.rdb.QueryContext(ctx, "SELECT "+backupColumns+" FROM backups WHERE ok = 1")
	if err != nil {
		return err
	}
	known, err := scanBackups(rows)
	if err != nil {
		return err
	}
	byName := map[string]Backup{}
	for _, b := range known {
		byName[b.File] = b
	}
	now := s.Now()
	return s.tx(ctx, func(tx *sql.Tx) error {
		onDisk := map[string]bool{}
		for _, f := range files {
			onDisk[f.name] = true
			if _, ok := byName[f.name]; ok {
				continue
			}
			sum, size, err := fileSHA256(filepath.Join(s.backupsDir(), f.name))
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO backups (id, file, kind, size, sha256, created_at, ok, origin)
				VALUES (?, ?, ?, ?, ?, ?, 1, ?)`, NewID(), f.name, f.kind, size, sum, ts(f.at), OriginRestore); err != nil {
				return err
			}
		}
		for name, b := range byName {
			if !onDisk[name] && b.DeletedAt.IsZero() {
				if _, err := tx.ExecContext(ctx, "UPDATE backups SET deleted_at = ? WHERE id = ?", ts(now), b.ID); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

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

// backupTables classifies the backups record for the data map.
func backupTables() []table {
	return []table{systemTable(DBMain, "backups", "record of backup files: names, sizes, checksums, outcomes",
		"id", "file", "kind", "size", "sha256", "created_at", "ok", "error", "origin", "deleted_at")}
}
