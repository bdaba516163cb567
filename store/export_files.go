package store

import (
	"bufio"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"kelas/store/crypt"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Portability export, part two: jobs and files (part one, gathering, is in
// export.go). An export is built in the background (app), tracked in the
// exports table, and kept on disk only sealed: the ZIP is cut into 64 KiB
// chunks, each sealed with the person's data key and bound to the export id,
// its index and whether it is the last, so chunks cannot be reordered,
// dropped, truncated or moved to another export. Erasing the person destroys
// the key, which makes every copy unreadable.

// Export job statuses.
const (
	ExportQueued   = "queued"
	ExportBuilding = "building"
	ExportReady    = "ready"
	ExportFailed   = "failed"
)

// ExportsDir is the directory inside the data directory that holds the
// sealed export files.
const ExportsDir = "exports"

var (
	// ErrExpired means an export is past its expiry: its link answers 410.
	ErrExpired = errors.New("store: export expired")
	// ErrExportNotReady means the export is still being built, or failed.
	ErrExportNotReady = errors.New("store: export not ready")
	// ErrExportDamaged means the sealed file does not open: it was
	// tampered with, truncated or written under another key.
	ErrExportDamaged = errors.New("store: export file damaged")
)

const (
	// exportChunk is the plaintext size of one sealed chunk: large enough
	// that the per-chunk overhead (41 bytes) is negligible, small enough to
	// stream.
	exportChunk = 64 << 10
	// exportStale is how long a build may stay queued or building before it
	// counts as interrupted (the process stopped mid-way): builds take
	// seconds, so this is generous even behind a queue.
	exportStale = 10 * time.Minute
	// defaultExportDays applies when the retention rule cannot be read.
	defaultExportDays = 7
	// exportInterrupted is the error recorded for such a build.
	exportInterrupted = "interrupted"
	// exportMagic starts every sealed export file (name and format version).
	exportMagic = "kelas-export\x00\x01"
)

// ExportJob is one portability export: its build progress and, once ready,
// the size and SHA-256 of the ZIP and when the download expires.
type ExportJob struct {
	ID        string
	UserID    string
	Status    string
	Progress  int // percent
	CreatedAt time.Time
	ReadyAt   time.Time
	ExpiresAt time.Time
	Size      int64
	SHA256    string // hex, of the plaintext ZIP
	Error     string // a fixed phrase, never data
}

// Expired reports whether a ready export can no longer be downloaded at now.
func (j ExportJob) Expired(now time.Time) bool {
	return j.Status == ExportReady && !now.Before(j.ExpiresAt)
}

// Active reports whether the export is still being built.
func (j ExportJob) Active() bool { return j.Status == ExportQueued || j.Status == ExportBuilding }

// exportTables classifies the export job table for the data map.
func exportTables() []table {
	return []table{{
		db: DBMain, name: "exports",
		columns: []string{"id", "user_id", "status", "progress", "created_at", "ready_at", "expires_at", "size", "sha256", "error"},
		base: Field{Category: CatAccount, Personal: true,
			Purposes:  []string{"build the person's data export and let them download it for a short time (GDPR Art. 20)"},
			Basis:     BasisLegal,
			Retention: "deleted with the export file by the export retention rule (default 7 days after it is ready)",
			Export:    ExportOmit, Erasure: EraseDelete,
			Why: "bookkeeping of the export itself (ids, times, progress, checksum), shown in the rights portal; the export is the file it describes"},
	}}
}

const exportColumns = `id, user_id, status, progress, created_at, ready_at, expires_at, COALESCE(size, 0), COALESCE(sha256, ''), COALESCE(error, '')`

func scanExport(sc interface{ Scan(...any) error }) (ExportJob, error) {
	var j ExportJob
	if err := sc.Scan(&j.ID, &j.UserID, &j.Status, &j.Progress, tsInto(&j.CreatedAt), tsInto(&j.ReadyAt), tsInto(&j.ExpiresAt), &j.Size, &j.SHA256, &j.Error); err != nil {
		return j, err
	}
	return j, nil
}

// CreateExport queues a new export for userID and returns its id. While one
// is already queued or being built it is ErrConflict (one at a time per
// person); a build left unfinished for longer than exportStale is marked
// failed first, so a crash never blocks the person. An unknown person is
// ErrNotFound.
func (s *Store) CreateExport(ctx context.Context, userID string) (string, error) {
	id := NewID()
	now := s.Now()
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE exports SET status = 'failed', error = ?
			WHERE user_id = ? AND status IN ('queued', 'building') AND created_at < ?`,
			exportInterrupted, userID, ts(now.Add(-exportStale))); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "INSERT INTO exports (id, user_id, status, progress, created_at) VALUES (?, ?, 'queued', 0, ?)",
			id, userID, ts(now))
		return err
	})
	switch {
	case isConstraint(err):
		return "", ErrConflict
	case isForeignKey(err):
		return "", ErrNotFound
	case err != nil:
		return "", fmt.Errorf("store: create export: %w", err)
	}
	return id, nil
}

// interrupted reports a build left queued or building for longer than
// exportStale as failed: the process that ran it stopped, and nothing will
// finish it. The row itself is marked by the next CreateExport or
// InterruptExports.
func (s *Store) interrupted(j ExportJob) ExportJob {
	if j.Active() && s.Now().Sub(j.CreatedAt) > exportStale {
		j.Status, j.Error = ExportFailed, exportInterrupted
	}
	return j
}

// InterruptExports marks every build still queued or building as failed.
// Builds run inside the kelas process, so at start-up none of them is
// running any more; call it before serving.
func (s *Store) InterruptExports(ctx context.Context) (int, error) {
	var n int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE exports SET status = 'failed', error = ? WHERE status IN ('queued', 'building')", exportInterrupted)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: interrupt exports: %w", err)
	}
	return int(n), nil
}

// Export returns the export id of userID; another person's export is
// ErrNotFound, exactly like one that does not exist.
func (s *Store) Export(ctx context.Context, userID, id string) (ExportJob, error) {
	j, err := scanExport(s.rdb.QueryRowContext(ctx, "SELECT "+exportColumns+" FROM exports WHERE id = ? AND user_id = ?", id, userID))
	if errors.Is(err, sql.ErrNoRows) {
		return j, ErrNotFound
	}
	if err != nil {
		return j, fmt.Errorf("store: export: %w", err)
	}
	return s.interrupted(j), nil
}

// LatestExport returns the person's newest export, or ErrNotFound.
func (s *Store) LatestExport(ctx context.Context, userID string) (ExportJob, error) {
	j, err := scanExport(s.rdb.QueryRowContext(ctx, "SELECT "+exportColumns+` FROM exports WHERE user_id = ?
		ORDER BY created_at DESC, rowid DESC LIMIT 1`, userID))
	if errors.Is(err, sql.ErrNoRows) {
		return j, ErrNotFound
	}
	if err != nil {
		return j, fmt.Errorf("store: latest export: %w", err)
	}
	return s.interrupted(j), nil
}

// Exports lists the person's exports, newest first.
func (s *Store) Exports(ctx context.Context, userID string) ([]ExportJob, error) {
	rows, err := s.rdb.QueryContext(ctx, "SELECT "+exportColumns+" FROM exports WHERE user_id = ? ORDER BY created_at DESC, rowid DESC", userID)
	if err != nil {
		return nil, fmt.Errorf("store: exports: %w", err)
	}
	defer rows.Close()
	var out []ExportJob
	for rows.Next() {
		j, err := scanExport(rows)
		if err != nil {
			return nil, fmt.Errorf("store: exports: %w", err)
		}
		out = append(out, s.interrupted(j))
	}
	return out, rows.Err()
}

// SetExportProgress marks the export as building at percent (0-100; it
// never goes down). An export that is no longer queued or building (it
// failed, or was purged) is ErrNotFound, which tells the builder to stop.
func (s *Store) SetExportProgress(ctx context.Context, id string, percent int) error {
	percent = min(max(percent, 0), 100)
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE exports SET status = 'building', progress = MAX(progress, ?)
			WHERE id = ? AND status IN ('queued', 'building')`, percent, id)
		if err != nil {
			return err
		}
		return mustAffect(res)
	})
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("store: export progress: %w", err)
	}
	return err
}

// FinishExport marks the export ready once its file is written: size and
// sha256 (hex) are those WriteExportFile returned. It expires after the
// 'exports' retention rule (default 7 days).
func (s *Store) FinishExport(ctx context.Context, id string, size int64, sha256hex string) error {
	if len(sha256hex) != 64 || size < 0 {
		return fmt.Errorf("store: finish export: invalid size or checksum")
	}
	if _, err := os.Stat(s.exportPath(id)); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("store: finish export: no file written: %w", ErrNotFound)
	} else if err != nil {
		return fmt.Errorf("store: finish export: %w", err)
	}
	now := s.Now()
	expires := now.AddDate(0, 0, s.exportDays(ctx))
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE exports SET status = 'ready', progress = 100, ready_at = ?, expires_at = ?,
			size = ?, sha256 = ?, error = NULL WHERE id = ? AND status IN ('queued', 'building')`,
			ts(now), ts(expires), size, strings.ToLower(sha256hex), id)
		if err != nil {
			return err
		}
		return mustAffect(res)
	})
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("store: finish export: %w", err)
	}
	return err
}

// FailExport records that the build failed and removes any file it left.
// reason is shown to the person: a fixed phrase, never an error message.
func (s *Store) FailExport(ctx context.Context, id, reason string) error {
	if reason == "" {
		reason = "failed"
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE exports SET status = 'failed', error = ? WHERE id = ? AND status IN ('queued', 'building')`,
			truncate(reason, 200), id)
		if err != nil {
			return err
		}
		return mustAffect(res)
	})
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("store: fail export: %w", err)
	}
	if rerr := removeIfExists(s.exportPath(id)); rerr != nil && err == nil {
		err = fmt.Errorf("store: fail export: %w", rerr)
	}
	return err
}

// exportDays is how long a ready export can be downloaded: the 'exports'
// retention rule.
func (s *Store) exportDays(ctx context.Context) int {
	r, err := s.RetentionRule(ctx, RetExports)
	if err != nil || r.Keep <= 0 {
		return defaultExportDays
	}
	return r.Keep
}

func (s *Store) exportsDir() string { return filepath.Join(s.dir, ExportsDir) }

func (s *Store) exportPath(id string) string {
	return filepath.Join(s.exportsDir(), filepath.Base(id)+".sealed")
}

// WriteExportFile seals the ZIP read from r into the export's file, chunk by
// chunk, so no plaintext ever reaches the disk: a temporary file, fsynced,
// then renamed into place. It returns the size and SHA-256 (hex) of the
// plaintext for FinishExport. The export must be userID's and still queued
// or building.
func (s *Store) WriteExportFile(ctx context.Context, userID, id string, r io.Reader) (size int64, sha256hex string, err error) {
	j, err := s.Export(ctx, userID, id)
	if err != nil {
		return 0, "", err
	}
	if !j.Active() {
		return 0, "", fmt.Errorf("store: write export: %w", ErrConflict)
	}
	dk, err := s.dataKey(ctx, userID)
	if err != nil {
		return 0, "", fmt.Errorf("store: write export: %w", err)
	}
	if err := os.MkdirAll(s.exportsDir(), 0o700); err != nil {
		return 0, "", fmt.Errorf("store: write export: %w", err)
	}
	f, err := os.CreateTemp(s.exportsDir(), "."+id+"-*.tmp")
	if err != nil {
		return 0, "", fmt.Errorf("store: write export: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<17)
	h := sha256.New()
	size, err = sealExport(ctx, bw, io.TeeReader(r, h), dk, id)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = f.Close()
	}
	if err == nil {
		err = os.Rename(tmp, s.exportPath(id))
	}
	if err == nil {
		err = syncDir(s.exportsDir())
	}
	if err != nil {
		return 0, "", fmt.Errorf("store: write export: %w", err)
	}
	return size, hex.EncodeToString(h.Sum(nil)), nil
}

// chunkBinding is the row binding of one sealed chunk: the export, the
// chunk's place and whether it is the last. Opening with any other binding
// fails, which is what detects reordering, dropping and truncation.
func chunkBinding(id string, index uint64, last bool) string {
	flag := "more"
	if last {
		flag = "last"
	}
	return id + "/" + strconv.FormatUint(index, 10) + "/" + flag
}

// sealExport writes the magic and then r as sealed chunks, each framed by
// its length (4 bytes, big-endian). It reads one chunk ahead so it knows
// which chunk is the last; an empty r is one empty last chunk.
func sealExport(ctx context.Context, w io.Writer, r io.Reader, dk []byte, id string) (int64, error) {
	if _, err := io.WriteString(w, exportMagic); err != nil {
		return 0, err
	}
	cur, next := make([]byte, exportChunk), make([]byte, exportChunk)
	n, rerr := io.ReadFull(r, cur)
	var total int64
	for i := uint64(0); ; i++ {
		if rerr != nil && rerr != io.EOF && rerr != io.ErrUnexpectedEOF {
			return total, rerr
		}
		if err := ctx.Err(); err != nil {
			return total, err
		}
		last := rerr != nil // a short read: nothing follows
		var nn int
		var nerr error
		if !last {
			nn, nerr = io.ReadFull(r, next)
			last = nerr == io.EOF // nothing at all follows cur
		}
		sealed, err := crypt.Seal(dk, "exports", "chunk", chunkBinding(id, i, last), cur[:n])
		if err != nil {
			return total, err
		}
		var hdr [4]byte
		binary.BigEndian.PutUint32(hdr[:], uint32(len(sealed)))
		if _, err := w.Write(hdr[:]); err != nil {
			return total, err
		}
		if _, err := w.Write(sealed); err != nil {
			return total, err
		}
		total += int64(n)
		if last {
			return total, nil
		}
		cur, next = next, cur
		n, rerr = nn, nerr
	}
}

// maxSealedChunk bounds a frame: version byte, nonce, a full chunk, tag.
const maxSealedChunk = 1 + 24 + exportChunk + 16

// exportReader opens a sealed export as a stream, one chunk at a time,
// reading one frame ahead to know which chunk must be the last.
type exportReader struct {
	r       *bufio.Reader
	dk      []byte
	id      string
	index   uint64
	pending []byte // the next sealed chunk, read ahead
	plain   []byte // opened bytes not yet returned
	done    bool
	err     error
}

func newExportReader(r io.Reader, dk []byte, id string) (*exportReader, error) {
	br := bufio.NewReaderSize(r, 1<<17)
	magic := make([]byte, len(exportMagic))
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != exportMagic {
		return nil, ErrExportDamaged
	}
	return &exportReader{r: br, dk: dk, id: id}, nil
}

// frame reads one length-framed sealed chunk; io.EOF only at a clean end.
func (x *exportReader) frame() ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(x.r, hdr[:]); err != nil {
		if err == io.EOF {
			return nil, io.EOF
		}
		return nil, ErrExportDamaged
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n < 1+24+16 || n > maxSealedChunk {
		return nil, ErrExportDamaged
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(x.r, b); err != nil {
		return nil, ErrExportDamaged
	}
	return b, nil
}

func (x *exportReader) next() error {
	if x.pending == nil {
		f, err := x.frame()
		if err == io.EOF {
			return ErrExportDamaged // not even one chunk
		}
		if err != nil {
			return err
		}
		x.pending = f
	}
	following, err := x.frame()
	last := err == io.EOF
	if err != nil && !last {
		return err
	}
	pt, err := crypt.Open(x.dk, "exports", "chunk", chunkBinding(x.id, x.index, last), x.pending)
	if err != nil {
		return ErrExportDamaged
	}
	x.index++
	x.pending, x.plain, x.done = following, pt, last
	return nil
}

func (x *exportReader) Read(p []byte) (int, error) {
	for len(x.plain) == 0 {
		switch {
		case x.err != nil:
			return 0, x.err
		case x.done:
			return 0, io.EOF
		}
		x.err = x.next()
	}
	n := copy(p, x.plain)
	x.plain = x.plain[n:]
	return n, nil
}

// exportFile is the stream OpenExportFile returns.
type exportFile struct {
	*exportReader
	f *os.File
}

func (e exportFile) Close() error { return e.f.Close() }

// OpenExportFile returns the decrypted ZIP of a ready export of userID. The
// whole file is checked first (every chunk opens, and size and SHA-256 match
// the job), so a damaged file fails here, before the caller has sent a byte,
// with ErrExportDamaged. Another person's export is ErrNotFound, an expired
// one ErrExpired, one not built yet ErrExportNotReady.
func (s *Store) OpenExportFile(ctx context.Context, userID, id string) (io.ReadCloser, error) {
	j, err := s.Export(ctx, userID, id)
	if err != nil {
		return nil, err
	}
	switch {
	case j.Status != ExportReady:
		return nil, ErrExportNotReady
	case j.Expired(s.Now()):
		return nil, ErrExpired
	}
	dk, err := s.dataKey(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("store: open export: %w", err)
	}
	f, err := os.Open(s.exportPath(id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("store: open export: file missing: %w", ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: open export: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
		}
	}()
	x, err := newExportReader(f, dk, id)
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	n, err := io.Copy(h, x)
	if err != nil {
		return nil, err
	}
	if n != j.Size || hex.EncodeToString(h.Sum(nil)) != j.SHA256 {
		return nil, ErrExportDamaged
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("store: open export: %w", err)
	}
	if x, err = newExportReader(f, dk, id); err != nil {
		return nil, err
	}
	ok = true
	return exportFile{exportReader: x, f: f}, nil
}

// purgeExportsStep deletes, in tx, up to limit export rows that are over:
// ready ones past their expiry (or ready before cutoff, when the rule was
// shortened), and failed or abandoned ones created before cutoff. People
// under a legal hold keep theirs. Files go afterwards (sweepExportFiles).
func (s *Store) purgeExportsStep(ctx context.Context, tx *sql.Tx, cutoff string, limit int) (int64, error) {
	res, err := tx.ExecContext(ctx, `DELETE FROM exports WHERE id IN (SELECT id FROM exports
		WHERE ((status = 'ready' AND (expires_at <= ?1 OR ready_at < ?2)) OR (status <> 'ready' AND created_at < ?2))
		AND user_id NOT IN (`+heldUsers+`) LIMIT ?3)`, ts(s.Now()), cutoff, limit)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// sweepExportFiles removes export files whose row is gone (purged, or the
// person erased) and temporary files left by an interrupted write.
func (s *Store) sweepExportFiles(ctx context.Context, _ time.Time) (int, error) {
	entries, err := os.ReadDir(s.exportsDir())
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	removed := 0
	for _, e := range entries {
		name := e.Name()
		path := filepath.Join(s.exportsDir(), name)
		if strings.HasSuffix(name, ".tmp") {
			// A write in progress is younger than a build may take.
			if info, err := e.Info(); err == nil && s.Now().Sub(info.ModTime()) > exportStale {
				if err := removeIfExists(path); err != nil {
					return removed, err
				}
				removed++
			}
			continue
		}
		id, ok := strings.CutSuffix(name, ".sealed")
		if !ok {
			continue
		}
		var one int
		err := s.rdb.QueryRowContext(ctx, "SELECT 1 FROM exports WHERE id = ?", id).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			if err := removeIfExists(path); err != nil {
				return removed, err
			}
			removed++
			continue
		}
		if err != nil {
			return removed, err
		}
	}
	return removed, nil
}

// PurgeExpiredExports deletes export rows and files that are over (see
// purgeExportsStep) and returns how many rows went. Retention runs the same
// purge under the 'exports' rule; this is for callers that want it now.
func (s *Store) PurgeExpiredExports(ctx context.Context) (int, error) {
	cutoff := ts(s.Now().AddDate(0, 0, -s.exportDays(ctx)))
	total := 0
	for {
		var n int64
		err := s.tx(ctx, func(tx *sql.Tx) error {
			var err error
			n, err = s.purgeExportsStep(ctx, tx, cutoff, 500)
			return err
		})
		if err != nil {
			return total, fmt.Errorf("store: purge exports: %w", err)
		}
		total += int(n)
		if n < 500 {
			break
		}
	}
	if _, err := s.sweepExportFiles(ctx, time.Time{}); err != nil {
		return total, fmt.Errorf("store: purge exports: %w", err)
	}
	return total, nil
}

// DeleteExports removes every export of userID, rows and files: erasure
// calls it (the files are unreadable once the key is destroyed anyway, but
// they should not wait for retention).
func (s *Store) DeleteExports(ctx context.Context, userID string) error {
	var ids []string
	err := s.tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, "DELETE FROM exports WHERE user_id = ? RETURNING id", userID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return rows.Err()
	})
	if err != nil {
		return fmt.Errorf("store: delete exports: %w", err)
	}
	for _, id := range ids {
		if err := removeIfExists(s.exportPath(id)); err != nil {
			return fmt.Errorf("store: delete exports: %w", err)
		}
	}
	return nil
}

func removeIfExists(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// isForeignKey reports whether err is a FOREIGN KEY violation.
func isForeignKey(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}
