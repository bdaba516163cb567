package store

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// TombstonesFile holds the ids of erased people. It lives beside kelas.db,
// not in it, so restoring an old database never rolls it back; it is
// append-only and every backup carries a copy, so the union of the live file
// and any backup's copy names everyone ever erased.
const TombstonesFile = "tombstones.log"

const tombstonesHeader = "# kelas tombstones v1: ids of erased accounts and when; append-only, never edit or remove lines\n"

// Tombstone records that an account was erased: its random id and when.
// Nothing else about the person is kept.
type Tombstone struct {
	UserID   string
	ErasedAt time.Time
}

// Tombstones reads the tombstones of this data directory.
func (s *Store) Tombstones() ([]Tombstone, error) {
	return readTombstones(filepath.Join(s.dir, TombstonesFile))
}

// readTombstones parses a tombstones file; a missing file is empty. A last
// line cut short by a crash is ignored (its erasure had not been confirmed
// and the caller retries it).
func readTombstones(path string) ([]Tombstone, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: tombstones: %w", err)
	}
	return parseTombstones(b), nil
}

func parseTombstones(b []byte) []Tombstone {
	var out []Tombstone
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		id, at, ok := strings.Cut(line, " ")
		if !ok || !ValidID(id) {
			continue
		}
		t, err := time.Parse(time.RFC3339, at)
		if err != nil {
			continue
		}
		out = append(out, Tombstone{UserID: id, ErasedAt: t.UTC()})
	}
	return out
}

// appendTombstones adds lines to the file and fsyncs it (and the directory
// when the file is new) before returning, so a recorded erasure survives a
// crash.
func appendTombstones(dir string, stones []Tombstone) error {
	if len(stones) == 0 {
		return nil
	}
	path := filepath.Join(dir, TombstonesFile)
	_, statErr := os.Stat(path)
	created := errors.Is(statErr, fs.ErrNotExist)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("store: tombstones: %w", err)
	}
	var buf bytes.Buffer
	if created {
		buf.WriteString(tombstonesHeader)
	} else if st, err := f.Stat(); err == nil && st.Size() > 0 {
		// Start on a fresh line even if the last write was cut short.
		buf.WriteByte('\n')
	}
	for _, t := range stones {
		fmt.Fprintf(&buf, "%s %s\n", t.UserID, t.ErasedAt.UTC().Format(time.RFC3339))
	}
	_, err = f.Write(buf.Bytes())
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && created {
		err = syncDir(dir)
	}
	if err != nil {
		return fmt.Errorf("store: tombstones: %w", err)
	}
	return nil
}

// mergeTombstones appends the stones the live file does not hold yet (from a
// backup's copy) and returns how many it added.
func mergeTombstones(dir string, stones []Tombstone) (int, error) {
	live, err := readTombstones(filepath.Join(dir, TombstonesFile))
	if err != nil {
		return 0, err
	}
	have := map[string]bool{}
	for _, t := range live {
		have[t.UserID] = true
	}
	var add []Tombstone
	for _, t := range stones {
		if !have[t.UserID] {
			have[t.UserID] = true
			add = append(add, t)
		}
	}
	return len(add), appendTombstones(dir, add)
}

// syncDir fsyncs a directory so a new or renamed entry in it is durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// personTables lists, from the data map, the kelas.db tables whose user_id
// column links rows to a person, with what erasure does to them.
func personTables() (del, anonymise []string) {
	for _, f := range DataMap() {
		if f.DB != DBMain || f.Column != "user_id" || f.Table == "users" {
			continue
		}
		switch f.Erasure {
		case EraseDelete:
			del = append(del, f.Table)
		case EraseAnonymise:
			anonymise = append(anonymise, f.Table)
		}
	}
	slices.Sort(del)
	slices.Sort(anonymise)
	return del, anonymise
}

// EraseUser erases an account (minimal version; the rights portal adds the
// grace period and its workflow). In order:
//
//  1. the tombstone is recorded (fsynced) first, so a crash part-way leaves
//     the intent on disk and ApplyTombstones finishes the job;
//  2. in one transaction, every row linked to the person is deleted or
//     unlinked as the data map says (tables with a user_id column), the
//     account row goes (cascading to the rest), and the erasure is audited;
//  3. the person's data key is destroyed, so every sealed copy of their data,
//     in backups too, becomes unreadable, and their export files are removed.
//
// Sessions cannot be found by person; they end because the account is gone
// (the session check in app/auth.go). Erasing an id that no longer exists is
// not an error: the steps are idempotent.
func (s *Store) EraseUser(ctx context.Context, actor, userID string) error {
	if !ValidID(userID) {
		return fmt.Errorf("store: erase user: invalid id %q", userID)
	}
	if err := appendTombstones(s.dir, []Tombstone{{UserID: userID, ErasedAt: s.Now()}}); err != nil {
		return err
	}
	return s.eraseRows(ctx, actor, AuditUserErase, userID)
}

// actorColumns are the data map's columns that name a person as the one who
// did something (viewer_id, *_by) rather than the one a row is about, and
// that the data map says erasure anonymises. Columns it keeps on purpose
// (the audit log's chain, the breach register's recorder) stay.
func actorColumns() []Field {
	var out []Field
	for _, f := range DataMap() {
		if f.DB == DBMain && f.Erasure == EraseAnonymise && (f.Column == "viewer_id" || strings.HasSuffix(f.Column, "_by")) {
			out = append(out, f)
		}
	}
	return out
}

// eraseRows is steps 2 and 3 of EraseUser.
func (s *Store) eraseRows(ctx context.Context, actor, action, userID string) error {
	del, anonymise := personTables()
	now := s.Now()
	var exports []string
	err := s.tx(ctx, func(tx *sql.Tx) error {
		// What the person added to aggregate figures stays, unlinked.
		if err := keepAnonymousCounts(ctx, tx, userID); err != nil {
			return err
		}
		// The export rows go below; their files are removed after the
		// commit, while their ids are still known.
		var err error
		if exports, err = exportIDs(ctx, tx, userID); err != nil {
			return err
		}
		// Table names come from the data map in code, never from input.
		for _, t := range anonymise {
			if _, err := tx.ExecContext(ctx, "UPDATE "+t+" SET user_id = NULL WHERE user_id = ?", userID); err != nil {
				return fmt.Errorf("%s: %w", t, err)
			}
		}
		for _, t := range del {
			if _, err := tx.ExecContext(ctx, "DELETE FROM "+t+" WHERE user_id = ?", userID); err != nil {
				return fmt.Errorf("%s: %w", t, err)
			}
		}
		// Who saw the person's data: those records were theirs to see.
		if _, err := tx.ExecContext(ctx, "DELETE FROM disclosures WHERE subject_id = ?", userID); err != nil {
			return fmt.Errorf("disclosures: %w", err)
		}
		// Where the person acted on records that belong to others or to the
		// platform (viewed someone's data, granted access, marked
		// attendance...), the record stays and no longer names them.
		for _, c := range actorColumns() {
			if _, err := tx.ExecContext(ctx, "UPDATE "+c.Table+" SET "+c.Column+" = '' WHERE "+c.Column+" = ?", userID); err != nil {
				return fmt.Errorf("%s.%s: %w", c.Table, c.Column, err)
			}
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM users WHERE id = ?", userID); err != nil {
			return fmt.Errorf("users: %w", err)
		}
		return s.appendAudit(ctx, tx, now, AuditEntry{ActorID: actor, Action: action, TargetType: "user", TargetID: userID})
	})
	if err != nil {
		return fmt.Errorf("store: erase user: %w", err)
	}
	if err := s.DestroyDataKey(ctx, userID); err != nil {
		return err
	}
	// The deleted rows are zeroed in their new pages (secure_delete); move
	// those pages into kelas.db and empty its WAL so that older versions of
	// them (sealed, and now unreadable, but still the person's) do not linger.
	if err := checkpointTruncate(ctx, s.db); err != nil {
		return fmt.Errorf("store: erase user: %w", err)
	}
	// A file left by a crash here has no row any more: the exports
	// retention sweep removes it.
	for _, id := range exports {
		if err := removeIfExists(s.exportPath(id)); err != nil {
			return fmt.Errorf("store: erase user: export file: %w", err)
		}
	}
	return nil
}

// exportIDs lists the ids of userID's exports inside tx.
func exportIDs(ctx context.Context, tx *sql.Tx, userID string) ([]string, error) {
	rows, err := tx.QueryContext(ctx, "SELECT id FROM exports WHERE user_id = ?", userID)
	if err != nil {
		return nil, fmt.Errorf("exports: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("exports: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// ApplyTombstones erases again every tombstoned person of whom anything is
// left: an account row, a linked row or a data key (after a restore, or an
// erasure interrupted by a crash). It is idempotent and returns how many
// people it had to erase again.
func (s *Store) ApplyTombstones(ctx context.Context, actor string) (int, error) {
	stones, err := s.Tombstones()
	if err != nil {
		return 0, err
	}
	del, anonymise := personTables()
	n := 0
	for _, t := range stones {
		present, err := s.anythingLeft(ctx, t.UserID, append(del, anonymise...))
		if err != nil {
			return n, err
		}
		if !present {
			continue
		}
		if err := s.eraseRows(ctx, actor, AuditTombstoneReapply, t.UserID); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

func (s *Store) anythingLeft(ctx context.Context, userID string, tables []string) (bool, error) {
	var one int
	err := s.krdb.QueryRowContext(ctx, "SELECT 1 FROM data_keys WHERE subject = ?", userID).Scan(&one)
	if err == nil {
		return true, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return false, fmt.Errorf("store: tombstones: %w", err)
	}
	for _, t := range append([]string{"users"}, tables...) {
		col := "user_id"
		if t == "users" {
			col = "id"
		}
		err := s.rdb.QueryRowContext(ctx, "SELECT 1 FROM "+t+" WHERE "+col+" = ? LIMIT 1", userID).Scan(&one)
		if err == nil {
			return true, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return false, fmt.Errorf("store: tombstones: %s: %w", t, err)
		}
	}
	return false, nil
}

// TombstonesPending counts tombstoned people of whom something is still
// stored, without erasing anything (for `kelas doctor`).
func (s *Store) TombstonesPending(ctx context.Context) (total, pending int, err error) {
	stones, err := s.Tombstones()
	if err != nil {
		return 0, 0, err
	}
	del, anonymise := personTables()
	for _, t := range stones {
		left, err := s.anythingLeft(ctx, t.UserID, append(del, anonymise...))
		if err != nil {
			return len(stones), pending, err
		}
		if left {
			pending++
		}
	}
	return len(stones), pending, nil
}
