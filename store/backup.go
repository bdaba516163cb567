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
		if err := rows.Scan(&b.ID, &b.File, &b.Kind, &b.Size, &b.SHA256, tsInto(&b.CreatedAt), &b.OK, &b.Error, &b.Origin, tsInto(&b.DeletedAt)); err != nil {
			return nil, err
		}
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

// backupTables classifies the backups record for the data map.
func backupTables() []table {
	return []table{systemTable(DBMain, "backups", "record of backup files: names, sizes, checksums, outcomes",
		"id", "file", "kind", "size", "sha256", "created_at", "ok", "error", "origin", "deleted_at")}
}
