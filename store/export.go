package store

import (
	"bufio"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"kelas/store/crypt"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Portability export, part one: gathering. PersonalData reads everything
// kelas holds about a person by walking the data map, so a column added to
// the map with Export: ExportInclude is exported without anyone touching
// this file. Only what the map cannot say is declared here: how a table's
// rows are found for a person when it has no user_id column, how its sealed
// columns are bound, and which columns are files.
//
// Part two: jobs and files. An export is built in the background (app),
// tracked in the exports table, and kept on disk only sealed: the ZIP is cut
// into 64 KiB chunks, each sealed with the person's data key and bound to the
// export id, its index and whether it is the last, so chunks cannot be
// reordered, dropped, truncated or moved to another export. Erasing the
// person destroys the key, which makes every copy unreadable.

// ExportSchemaVersion is the version of the export's layout (data.json's
// schema_version). Raise it when the shape of the export changes, not when a
// column is added.
const ExportSchemaVersion = 1

// PersonalData is everything kelas holds about one person, grouped by the
// data-map category of each column, with sealed values opened.
type PersonalData struct {
	SchemaVersion int
	// GeneratedAt is when the data was read (store clock, UTC).
	GeneratedAt time.Time
	// Categories holds one Dataset per table that has exportable columns
	// of that category, even when the person has no rows in it, so every
	// export has the same shape.
	Categories map[Category][]Dataset
}

// Dataset is the person's rows of one table, restricted to the columns of one
// category. Every cell is text: times are RFC 3339 in UTC, NULL is "", and a
// file column holds the file's name inside the export (see PictureFile).
type Dataset struct {
	Name    string // the table
	Columns []string
	Rows    [][]string
}

// CategoryOrder lists the categories present in pd in the data map's order
// (registration first), so every rendering of an export reads the same.
func (pd PersonalData) CategoryOrder() []Category {
	var out []Category
	for _, c := range categoryOrder() {
		if _, ok := pd.Categories[c]; ok {
			out = append(out, c)
		}
	}
	// Categories added to the map later but not to categoryOrder still go
	// out, after the known ones.
	var extra []Category
	for c := range pd.Categories {
		if !slices.Contains(out, c) {
			extra = append(extra, c)
		}
	}
	slices.Sort(extra)
	return append(out, extra...)
}

func categoryOrder() []Category {
	return []Category{CatRegistration, CatProfile, CatAccount, CatConsents, CatActivity, CatLearning,
		CatVisitorStats, CatAccessLog, CatDisclosures, CatSecurity, CatSystem}
}

// PictureFile is the name of the profile picture inside an export, by its
// content type; the picture column of the profile dataset holds this name.
func PictureFile(contentType string) string {
	switch contentType {
	case "image/jpeg":
		return "profile/picture.jpg"
	case "image/png":
		return "profile/picture.png"
	}
	return "profile/picture.bin"
}

// exportLink says how the rows of one table are found for a person and how
// its sealed columns are bound.
type exportLink struct {
	// where selects the person's rows, with one ? for their id. Empty
	// means "user_id = ?".
	where string
	// row is the column whose value is the row binding of the table's
	// sealed columns (the row argument of sealerFor). Empty means the
	// person's id.
	row string
	// order sorts the rows; empty means rowid. Large tables name the
	// order of their index, so the rows stream out without a sort.
	order string
}

// exportLinks declares the tables that do not follow the default link
// (user_id = the person, sealed values bound to the person's id). Every
// table whose exportable columns include a sealed one must be listed, even
// when it follows the default, so that a new sealed table is a conscious
// decision: TestExportCoversDataMap fails otherwise.
func exportLinks() map[string]exportLink {
	return map[string]exportLink{
		"users":        {where: `"id" = ?`},
		"profiles":     {},
		"activity_log": {order: `"at", "id"`}, // index activity_log_user (user_id, at)
		"disclosures":  {where: `"subject_id" = ?`, order: `"at", "id"`},
		"certificates": {row: "code"},
		// Mail sent to the person, not mail still waiting or failed: the
		// export lists what they received (subject and date).
		"outbox":             {where: `"user_id" = ? AND "status" = 'sent'`, row: "id"},
		"account_tokens":     {row: "token_hash"}, // hex of the hash; see exportRowValue
		"rights_cases":       {row: "id"},
		"rights_case_events": {where: `"case_id" IN (SELECT "id" FROM "rights_cases" WHERE "user_id" = ?)`, row: "case_id"},
	}
}

// exportFiles are binary columns exported as a file beside the data: the
// column maps to the column holding the file's content type.
func exportFiles() map[string]string {
	return map[string]string{"profiles.picture": "picture_type"}
}

// exportLookup adds a readable name beside an id column: the title of a
// training beside training_id, and so on. They are facts about kelas, not
// about the person, and make the export readable without kelas. query takes
// the id and returns the name.
type exportLookup struct {
	column, as, query string
}

func exportLookups() []exportLookup {
	return []exportLookup{
		{"training_id", "training_title", `SELECT "title" FROM "trainings" WHERE "id" = ?`},
		{"material_id", "material_title", `SELECT "title" FROM "materials" WHERE "id" = ?`},
		{"member_id", "member_name", `SELECT "name" FROM "members" WHERE "id" = ?`},
	}
}

// lookupCache remembers names already looked up during one export: a
// learner's 100,000 activity rows name a handful of trainings.
type lookupCache map[string]map[string]string

func (c lookupCache) name(ctx context.Context, tx *sql.Tx, lk *exportLookup, id string) (string, error) {
	if id == "" {
		return "", nil
	}
	m := c[lk.query]
	if m == nil {
		m = map[string]string{}
		c[lk.query] = m
	}
	if v, ok := m[id]; ok {
		return v, nil
	}
	var v sql.NullString
	if err := tx.QueryRowContext(ctx, lk.query, id).Scan(&v); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", err
	}
	m[id] = v.String
	return v.String, nil
}

// exportTable is one table of the data map as the export reads it.
type exportTable struct {
	name    string
	columns []string        // every column the map lists, in order
	include []Field         // the exportable columns, in map order
	sealed  map[string]bool // sealed columns
}

// exportSources folds the data map into the kelas.db tables that have at
// least one exportable column.
func exportSources() []exportTable {
	var out []exportTable
	idx := map[string]int{}
	for _, f := range DataMap() {
		if f.DB != DBMain {
			continue
		}
		i, ok := idx[f.Table]
		if !ok {
			i = len(out)
			idx[f.Table] = i
			out = append(out, exportTable{name: f.Table, sealed: map[string]bool{}})
		}
		t := &out[i]
		t.columns = append(t.columns, f.Column)
		if f.Encrypted {
			t.sealed[f.Column] = true
		}
		if f.Export == ExportInclude {
			t.include = append(t.include, f)
		}
	}
	return slices.DeleteFunc(out, func(t exportTable) bool { return len(t.include) == 0 })
}

// link resolves how t's rows are found for a person; ok is false when the
// table has no way to name a person (a data-map error that the export
// tests catch).
func (t exportTable) link() (exportLink, bool) {
	if l, ok := exportLinks()[t.name]; ok {
		if l.where == "" {
			l.where = `"user_id" = ?`
		}
		return l, true
	}
	for _, c := range []string{"user_id", "subject_id"} {
		if slices.Contains(t.columns, c) {
			return exportLink{where: `"` + c + `" = ?`}, true
		}
	}
	return exportLink{}, false
}

// needsBinding reports whether one of t's exportable columns is sealed.
func (t exportTable) needsBinding() bool {
	for _, f := range t.include {
		if t.sealed[f.Column] {
			return true
		}
	}
	return false
}

// PersonalData gathers everything kelas holds about userID for an export,
// in one read transaction so the export is a consistent snapshot. Cookie
// consent records (consent_records) and disclosures are data-map tables like
// any other and come out in their categories; disclosures gain the Member's
// name. The profile picture is not inlined: its cell names the file
// (PictureFile) that the caller adds from Profile. An unknown person is
// ErrNotFound.
func (s *Store) PersonalData(ctx context.Context, userID string) (PersonalData, error) {
	pd := PersonalData{SchemaVersion: ExportSchemaVersion, GeneratedAt: s.Now(), Categories: map[Category][]Dataset{}}
	tx, err := s.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return pd, fmt.Errorf("store: personal data: %w", err)
	}
	defer tx.Rollback()
	var one int
	err = tx.QueryRowContext(ctx, "SELECT 1 FROM users WHERE id = ?", userID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return pd, ErrNotFound
	}
	if err != nil {
		return pd, fmt.Errorf("store: personal data: %w", err)
	}
	dk, err := s.dataKey(ctx, userID)
	if err != nil {
		return pd, fmt.Errorf("store: personal data: %w", err)
	}
	names := lookupCache{}
	for _, t := range exportSources() {
		sets, err := s.exportTable(ctx, tx, t, userID, dk, names)
		if err != nil {
			return pd, fmt.Errorf("store: personal data: %s: %w", t.name, err)
		}
		for _, c := range categoryOrderOf(t) {
			pd.Categories[c] = append(pd.Categories[c], sets[c])
		}
	}
	return pd, nil
}

// categoryOrderOf lists the categories of t's exportable columns in the
// order they first appear.
func categoryOrderOf(t exportTable) []Category {
	var out []Category
	for _, f := range t.include {
		if !slices.Contains(out, f.Category) {
			out = append(out, f.Category)
		}
	}
	return out
}

// exportTable reads the person's rows of t and splits their columns by
// category: one Dataset per category, each with the lookups that belong to
// its columns.
func (s *Store) exportTable(ctx context.Context, tx *sql.Tx, t exportTable, userID string, dk []byte, names lookupCache) (map[Category]Dataset, error) {
	link, ok := t.link()
	if !ok {
		return nil, errors.New("exportable columns but no link to a person (declare it in exportLinks)")
	}
	if t.needsBinding() {
		if _, declared := exportLinks()[t.name]; !declared {
			return nil, errors.New("sealed exportable columns without a declared row binding (declare it in exportLinks)")
		}
	}
	files := exportFiles()

	// One output cell per selected expression, except the hidden ones at
	// the end (the row binding, a file's type) that only help decode.
	type cell struct {
		category Category
		column   string
		expr     int // index of its expression in the SELECT (for a lookup: of the id)
		lookup   *exportLookup
		sealed   bool
		fileType int // for a file column: index of its type expression; -1 otherwise
	}
	var exprs []string
	var cells []cell
	selected := map[string]int{}
	for _, f := range t.include {
		expr := quoteIdent(f.Column)
		if _, ok := files[t.name+"."+f.Column]; ok {
			expr = "(" + expr + " IS NOT NULL)"
		}
		selected[f.Column] = len(exprs)
		cells = append(cells, cell{category: f.Category, column: f.Column, expr: len(exprs), sealed: t.sealed[f.Column], fileType: -1})
		exprs = append(exprs, expr)
	}
	for _, lk := range exportLookups() {
		i, ok := selected[lk.column]
		if !ok {
			continue
		}
		cells = append(cells, cell{category: cells[i].category, column: lk.as, expr: i, lookup: &lk, fileType: -1})
	}
	// Expressions only needed to decode (the row binding, a file's type)
	// are added after the visible ones, unless already selected as is.
	hidden := func(col string) int {
		if i, ok := selected[col]; ok && !strings.HasPrefix(exprs[i], "(") {
			return i
		}
		exprs = append(exprs, quoteIdent(col))
		selected[col] = len(exprs) - 1
		return len(exprs) - 1
	}
	bindAt := -1
	if link.row != "" {
		bindAt = hidden(link.row)
	}
	for i := range cells {
		if typeCol, ok := files[t.name+"."+cells[i].column]; ok {
			cells[i].fileType = hidden(typeCol)
		}
	}

	// Group the cells by category, keeping their order within each, so a
	// row is one allocation cut into one slice per category.
	cats := categoryOrderOf(t)
	slices.SortStableFunc(cells, func(a, b cell) int {
		return slices.Index(cats, a.category) - slices.Index(cats, b.category)
	})
	type segment struct {
		category Category
		from, to int
	}
	var segs []segment
	out := map[Category]Dataset{}
	for i, c := range cells {
		if len(segs) == 0 || segs[len(segs)-1].category != c.category {
			segs = append(segs, segment{category: c.category, from: i})
		}
		segs[len(segs)-1].to = i + 1
		d := out[c.category]
		d.Name = t.name
		d.Columns = append(d.Columns, c.column)
		out[c.category] = d
	}

	order := link.order
	if order == "" {
		order = "rowid"
	}
	rows, err := tx.QueryContext(ctx, "SELECT "+strings.Join(exprs, ", ")+" FROM "+quoteIdent(t.name)+
		" WHERE "+link.where+" ORDER BY "+order, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	// Sealed values are scanned as RawBytes: they are opened before the
	// next row, so copying them first would be wasted.
	vals := make([]any, len(exprs))
	raw := make([]sql.RawBytes, len(exprs))
	ptrs := make([]any, len(exprs))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for _, c := range cells {
		if c.sealed && c.fileType < 0 {
			ptrs[c.expr] = &raw[c.expr]
		}
	}
	z := sealer{dk: dk, table: t.name, row: userID}
	perCat := make([][][]string, len(segs)) // the rows of each segment
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		if bindAt >= 0 {
			z.row = exportRowValue(vals[bindAt])
		}
		row := make([]string, len(cells))
		for i, c := range cells {
			v := vals[c.expr]
			switch {
			case c.lookup != nil:
				if row[i], err = names.name(ctx, tx, c.lookup, exportText(v)); err != nil {
					return nil, err
				}
			case c.fileType >= 0:
				if exportText(v) == "1" {
					row[i] = PictureFile(exportText(vals[c.fileType]))
				}
			case c.sealed:
				if row[i], err = z.open(c.column, raw[c.expr]); err != nil {
					return nil, err
				}
			default:
				row[i] = exportText(v)
			}
		}
		for i, sg := range segs {
			perCat[i] = append(perCat[i], row[sg.from:sg.to:sg.to])
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i, sg := range segs {
		d := out[sg.category]
		d.Rows = perCat[i]
		out[sg.category] = d
	}
	return out, nil
}

// exportRowValue is a row binding as the sealing code passes it: text as
// is, a BLOB (a token hash) as lower-case hex.
func exportRowValue(v any) string {
	if b, ok := v.([]byte); ok {
		return fmt.Sprintf("%x", b)
	}
	return exportText(v)
}

// exportText renders a plaintext stored value as export text.
func exportText(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case bool:
		if v {
			return "1"
		}
		return "0"
	case string:
		if t, ok := storedTime(v); ok {
			return t.Format(time.RFC3339)
		}
		return v
	case []byte:
		return base64.StdEncoding.EncodeToString(v)
	case time.Time:
		return v.UTC().Format(time.RFC3339)
	}
	return fmt.Sprint(v)
}

// storedTime recognises a time in the store's fixed-width layout.
func storedTime(v string) (time.Time, bool) {
	if len(v) != len(timeLayout) || v[4] != '-' || v[10] != 'T' || v[len(v)-1] != 'Z' {
		return time.Time{}, false
	}
	t, err := time.Parse(timeLayout, v)
	return t.UTC(), err == nil
}

// quoteIdent quotes an SQL identifier from the data map.
func quoteIdent(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

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
	var created string
	var ready, expires sql.NullString
	if err := sc.Scan(&j.ID, &j.UserID, &j.Status, &j.Progress, &created, &ready, &expires, &j.Size, &j.SHA256, &j.Error); err != nil {
		return j, err
	}
	j.CreatedAt, _ = parseTS(created)
	j.ReadyAt, j.ExpiresAt = nullTS(ready), nullTS(expires)
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
