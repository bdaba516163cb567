// Package store is kelas's SQLite persistence: one write connection with
// immediate transactions, a read pool, embedded migrations, and the sealing of
// personal data at rest. Nothing outside this package builds SQL or sees
// ciphertext.
package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"embed"
	"encoding/base32"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"kelas/store/crypt"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// File names inside the data directory.
const (
	MainDBFile = "kelas.db"
	KeysDBFile = "keys.db"
)

// Sentinel errors callers branch on.
var (
	ErrNotFound = errors.New("store: not found")
	ErrConflict = errors.New("store: conflict")
)

//go:embed migrations
var migrationFS embed.FS

// Options configure Open.
type Options struct {
	Dir       string
	MasterKey []byte
	// Clock returns the current time; nil means time.Now. Tests move it.
	Clock func() time.Time
	// ReadConns bounds the read pool; 0 picks a default from the CPU count.
	ReadConns int
}

// Store is the handle every other package uses. It is safe for concurrent use.
type Store struct {
	dir   string
	db    *sql.DB // the single write connection of kelas.db
	rdb   *sql.DB // read pool of kelas.db
	kdb   *sql.DB // the single write connection of keys.db
	krdb  *sql.DB // read pool of keys.db
	kr    *crypt.Keyring
	keys  *keyCache
	clock func() time.Time
	// masterKey lets the restore drill open a restored copy like `kelas
	// restore` would; the keyring holds the same secret already.
	masterKey []byte

	auditKey   []byte      // MAC key of the audit chain
	auditMu    sync.Mutex  // serialises moving the anchor in keys.db
	auditDirty atomic.Bool // entries were appended since the anchor moved

	sessions sessionSeen  // what each session held when last read or written
	writes   atomic.Int64 // write transactions committed on kelas.db
	cache    readCache    // hot public reads, emptied by every write (cache.go)
	stmts    readStmts    // prepared read statements (stmts.go)

	journalKey []byte     // MAC key of the compliance journal
	journalMu  sync.Mutex // serialises copying notes to the journal file
	journalMAC string     // MAC of the journal's last line (guarded by journalMu)
}

// Exists reports whether dir already holds a kelas database, so callers know
// whether creating a new master key is safe.
func Exists(dir string) bool {
	for _, f := range []string{MainDBFile, KeysDBFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			return true
		}
	}
	return false
}

// Open opens (creating on first use) kelas.db and keys.db in o.Dir, checks
// that the master key matches the stored key check value, and applies pending
// migrations. A wrong key is refused before anything is written.
func Open(ctx context.Context, o Options) (*Store, error) {
	kr, err := crypt.NewKeyring(o.MasterKey)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: data dir: %w", err)
	}
	// A master-key rotation that was verified but stopped while moving its
	// files in is finished first: its files belong to the new key.
	rotated, err := finishRotation(o.Dir)
	if err != nil {
		return nil, err
	}
	mainPath := filepath.Join(o.Dir, MainDBFile)
	keysPath := filepath.Join(o.Dir, KeysDBFile)
	_, mainErr := os.Stat(mainPath)
	_, keysErr := os.Stat(keysPath)
	if mainErr == nil && errors.Is(keysErr, fs.ErrNotExist) {
		return nil, fmt.Errorf("store: %s exists but %s is missing: the wrapped data keys are gone; restore %s from a backup", mainPath, KeysDBFile, KeysDBFile)
	}
	s := &Store{dir: o.Dir, kr: kr, keys: newKeyCache(4096), clock: o.Clock, masterKey: slices.Clone(o.MasterKey)}
	if s.clock == nil {
		s.clock = time.Now
	}
	if s.auditKey, err = kr.AuditKey(); err != nil {
		return nil, err
	}
	if s.journalKey, err = kr.JournalKey(); err != nil {
		return nil, err
	}
	readConns := o.ReadConns
	if readConns <= 0 {
		readConns = max(4, runtime.NumCPU())
	}
	ok := false
	defer func() {
		if !ok {
			s.Close()
		}
	}()
	// keys.db is small and its writes are rare; FULL makes an acknowledged
	// key destruction durable across power loss, not only across crashes.
	if s.kdb, s.krdb, err = openPair(keysPath, 2, "FULL"); err != nil {
		return nil, err
	}
	// On an existing keys.db the key is checked before any migration
	// touches it; a fresh one gets its check value right after creation.
	if hasTable(ctx, s.kdb, "key_check") {
		if err := s.checkMasterKey(ctx); err != nil {
			if rotated && errors.Is(err, ErrWrongMasterKey) {
				err = fmt.Errorf("%w (an interrupted master-key rotation was just finished: start with the new key)", err)
			}
			return nil, err
		}
	}
	freshAuditHead := !hasTable(ctx, s.kdb, "audit_head")
	if err := migrate(ctx, s.kdb, "migrations/keys"); err != nil {
		return nil, fmt.Errorf("store: keys.db: %w", err)
	}
	if err := s.checkMasterKey(ctx); err != nil {
		return nil, err
	}
	if s.db, s.rdb, err = openPair(mainPath, readConns, "NORMAL"); err != nil {
		return nil, err
	}
	if err := migrate(ctx, s.db, "migrations"); err != nil {
		return nil, fmt.Errorf("store: kelas.db: %w", err)
	}
	if err := s.initAuditHead(ctx, freshAuditHead); err != nil {
		return nil, err
	}
	// Accounts made before name_tags existed get their search tags.
	if err := s.tagUntaggedNames(ctx); err != nil {
		return nil, err
	}
	// Changes a crash left noted but not yet copied to the journal. A
	// journal that cannot take them (damaged) does not stop kelas: the
	// notes wait in kelas.db and `kelas doctor` says what to do.
	_ = s.flushJournal(ctx)
	ok = true
	return s, nil
}

// Close closes every connection. It is safe to call on a partly opened store.
func (s *Store) Close() error {
	s.stmts.close()
	var errs []error
	for _, db := range []*sql.DB{s.db, s.rdb, s.kdb, s.krdb} {
		if db != nil {
			errs = append(errs, db.Close())
		}
	}
	return errors.Join(errs...)
}

// WriteTransactions counts the write transactions committed on kelas.db
// since Open (for tests and metrics: a page view that changes nothing
// commits none).
func (s *Store) WriteTransactions() int64 { return s.writes.Load() }

// Dir is the data directory.
func (s *Store) Dir() string { return s.dir }

// Now is the store's clock, in UTC.
func (s *Store) Now() time.Time { return s.clock().UTC() }

// Ping checks that both databases answer a query.
func (s *Store) Ping(ctx context.Context) error {
	var n int
	if err := s.rdb.QueryRowContext(ctx, "SELECT 1").Scan(&n); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	if err := s.krdb.QueryRowContext(ctx, "SELECT 1").Scan(&n); err != nil {
		return fmt.Errorf("store: ping keys: %w", err)
	}
	return nil
}

// openPair opens one write connection and a read pool on the same file. The
// writer begins every transaction IMMEDIATE, so writers queue on SQLite's lock
// instead of failing with SQLITE_BUSY when a read transaction upgrades.
func openPair(path string, readConns int, synchronous string) (w, r *sql.DB, err error) {
	pragmas := []string{
		"busy_timeout(10000)",
		"journal_mode(WAL)",
		"synchronous(" + synchronous + ")",
		"foreign_keys(1)",
		"secure_delete(1)",
		"trusted_schema(0)",
		// Statement journals (one per INSERT of a batch while foreign keys
		// are on) and temporary b-trees in memory, not in files: on disk
		// they cost a write() per page and most of an ingest batch's time.
		"temp_store(MEMORY)",
		// 32 MiB of page cache per connection (the default is 2 MiB): large
		// deletes and exports otherwise spend their time re-reading pages.
		"cache_size(-32768)",
		// Checkpoint the WAL every ~40 MiB instead of ~4 MiB: bursts of
		// writes (the activity log) then copy each page back fewer times.
		"wal_autocheckpoint(10000)",
	}
	q := url.Values{}
	for _, p := range pragmas {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	w, err = sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	// Create the file and switch it to WAL before readers attach.
	if err := w.Ping(); err != nil {
		w.Close()
		return nil, nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		w.Close()
		return nil, nil, fmt.Errorf("store: %w", err)
	}
	q.Set("_txlock", "deferred")
	q.Add("_pragma", "query_only(1)")
	// Readers map the database file instead of copying its pages into
	// their cache. Every commit by the writer makes each reader drop its
	// whole page cache at its next transaction, and freeing thousands of
	// cached pages cost a large read (an export) more than reading them.
	// 1 GiB of address space per reader; 64 MiB where addresses are 32 bits.
	mmap := 1 << 30
	if strconv.IntSize == 32 {
		mmap = 64 << 20
	}
	q.Add("_pragma", "mmap_size("+strconv.Itoa(mmap)+")")
	r, err = sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		w.Close()
		return nil, nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	r.SetMaxOpenConns(readConns)
	r.SetMaxIdleConns(readConns)
	return w, r, nil
}

func hasTable(ctx context.Context, db *sql.DB, name string) bool {
	var n int
	err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM sqlite_schema WHERE type = 'table' AND name = ?", name).Scan(&n)
	return err == nil && n == 1
}

// checkpointTruncate copies every WAL frame of db back into the database
// file and truncates the WAL to zero bytes, so that no older version of a
// page (a destroyed key, a deleted row) stays readable in the WAL. A reader
// still inside an older snapshot makes SQLite report the checkpoint busy; it
// is retried until readers have moved on, within a bound.
func checkpointTruncate(ctx context.Context, db *sql.DB) error {
	var busy, logFrames, done int
	for attempt := 0; ; attempt++ {
		err := db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logFrames, &done)
		if err != nil {
			return fmt.Errorf("store: checkpoint: %w", err)
		}
		if busy == 0 {
			return nil
		}
		if attempt == 100 {
			return fmt.Errorf("store: checkpoint: readers kept the write-ahead log busy (%d of %d frames copied)", done, logFrames)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// tx runs fn in one immediate write transaction on kelas.db. When fn
// appended to the audit log, the new head is anchored in keys.db after the
// commit; a failure there leaves the anchor behind (reported by `kelas
// doctor`, retried after the next write) but does not undo the commit.
func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	err := s.logTx(ctx, fn)
	// Also after a failed commit: whether it reached the file is unknown.
	s.cache.invalidate()
	return err
}

// logTx is tx for the writers of sessions, the access log and the activity
// log: no cached read (cache.go) reads those tables, so their frequent
// commits leave the cache alone. Anything else goes through tx.
func (s *Store) logTx(ctx context.Context, fn func(*sql.Tx) error) error {
	if err := inTx(ctx, s.db, fn); err != nil {
		return err
	}
	s.writes.Add(1)
	// The commit stands whatever happens below: the journal copy is
	// retried after the next write and at start-up; the anchor likewise.
	ctx = context.WithoutCancel(ctx)
	if s.journalPending(ctx) {
		s.flushJournal(ctx)
	}
	s.anchorAudit(ctx)
	return nil
}

func inTx(ctx context.Context, db *sql.DB, fn func(*sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// migrate applies the embedded *.sql files of dir whose number is above the
// recorded schema version, each in its own transaction.
func migrate(ctx context.Context, db *sql.DB, dir string) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL) STRICT`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	entries, err := fs.ReadDir(migrationFS, dir)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	type mig struct {
		version int
		name    string
	}
	var migs []mig
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		num, _, _ := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if err != nil {
			return fmt.Errorf("migrate: bad migration name %q", e.Name())
		}
		migs = append(migs, mig{v, e.Name()})
	}
	sort.Slice(migs, func(i, j int) bool { return migs[i].version < migs[j].version })
	// Apply every migration not applied yet, not merely those above the
	// newest applied one: a database created between two releases that
	// each added a migration must still get both.
	applied := map[int]bool{}
	rows, err := db.QueryContext(ctx, "SELECT version FROM schema_migrations")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return fmt.Errorf("migrate: %w", err)
		}
		applied[v] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for _, m := range migs {
		if applied[m.version] {
			continue
		}
		body, err := migrationFS.ReadFile(dir + "/" + m.name)
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		err = inTx(ctx, db, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
				m.version, m.name, ts(time.Now()))
			return err
		})
		if err != nil {
			return fmt.Errorf("migrate %s: %w", m.name, err)
		}
	}
	return nil
}

// timeLayout is fixed-width so that stored times sort as text.
const timeLayout = "2006-01-02T15:04:05.000000Z"

// ts formats a time for storage: UTC, fixed width.
func ts(t time.Time) string { return t.UTC().Format(timeLayout) }

// parseTS reads a stored time; the empty string is the zero time.
func parseTS(v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	return time.Parse(timeLayout, v)
}

// tsOrNull stores the zero time as NULL.
func tsOrNull(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return ts(t)
}

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewID returns a random, unguessable 26-character identifier. Ids are random
// rather than sequential so that guessing one reveals nothing.
func NewID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return idEncoding.EncodeToString(b)
}

// ValidID reports whether v has the shape of an id from NewID; handlers call
// it before a lookup so malformed path ids never reach SQL.
func ValidID(v string) bool {
	if len(v) != 26 {
		return false
	}
	// Check every byte: the base32 decoder would skip line breaks.
	for i := 0; i < len(v); i++ {
		if c := v[i]; !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return false
		}
	}
	// Canonical only: 26 characters carry 130 bits for 128, and a last
	// character with stray low bits would name the same bytes twice.
	b, err := idEncoding.DecodeString(v)
	return err == nil && idEncoding.EncodeToString(b) == v
}

// isConstraint reports whether err is a UNIQUE or PRIMARY KEY violation.
func isConstraint(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return true
		}
	}
	return false
}

// timeColumn scans a stored time column into *t: NULL and the empty string
// are the zero time, and a value that is not a stored time fails the Scan
// instead of reading as zero.
type timeColumn struct{ t *time.Time }

// tsInto scans a stored time column into t (see timeColumn).
func tsInto(t *time.Time) timeColumn { return timeColumn{t} }

func (c timeColumn) Scan(v any) error {
	var text string
	switch v := v.(type) {
	case nil:
		*c.t = time.Time{}
		return nil
	case string:
		text = v
	case []byte:
		text = string(v)
	default:
		return fmt.Errorf("store: a stored time is text, not %T", v)
	}
	t, err := parseTS(text)
	if err != nil {
		return fmt.Errorf("store: stored time %q: %w", text, err)
	}
	*c.t = t
	return nil
}
