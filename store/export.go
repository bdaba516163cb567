package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Portability export, part one: gathering. PersonalData reads everything
// kelas holds about a person by walking the data map, so a column added to
// the map with Export: ExportInclude is exported without anyone touching
// this file. Only what the map cannot say is declared here: how a table's
// rows are found for a person when it has no user_id column, how its sealed
// columns are bound, and which columns are files. Part two, the jobs and the
// sealed files, is in export_files.go.

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
	// asOf means where has a second ? for the time of the export.
	asOf bool
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
		// A disclosure a legal bar still hides is not told yet, here either.
		"disclosures":  {where: `"subject_id" = ? AND ("hidden_until" IS NULL OR "hidden_until" <= ?)`, order: `"at", "id"`, asOf: true},
		"certificates": {row: "code"},
		// Mail sent to the person, not mail still waiting or failed: the
		// export lists what they received (subject and date).
		"outbox":             {where: `"user_id" = ? AND "status" = 'sent'`, row: "id"},
		"account_tokens":     {row: "token_hash"}, // hex of the hash; see exportRowValue
		"rights_cases":       {row: "id"},
		"rights_case_events": {where: `"case_id" IN (SELECT "id" FROM "rights_cases" WHERE "user_id" = ?)`, row: "case_id"},
		"suspensions":        {row: "user_id"},
		"quiz_attempts":      {row: "id"}, // typed short answers
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
	args := []any{userID}
	if link.asOf {
		args = append(args, ts(s.Now()))
	}
	rows, err := tx.QueryContext(ctx, "SELECT "+strings.Join(exprs, ", ")+" FROM "+quoteIdent(t.name)+
		" WHERE "+link.where+" ORDER BY "+order, args...)
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
		if t, ok := storedRFC3339(v); ok {
			return t
		}
		return v
	case []byte:
		return base64.StdEncoding.EncodeToString(v)
	case time.Time:
		return v.UTC().Format(time.RFC3339)
	}
	return fmt.Sprint(v)
}

// storedRFC3339 rewrites a time in the store's fixed-width layout
// (2006-01-02T15:04:05.000000Z, always UTC) as RFC 3339 to the second, as
// time.Format(time.RFC3339) would, without parsing: an export formats
// hundreds of thousands of them. Anything else is not a stored time.
func storedRFC3339(v string) (string, bool) {
	if len(v) != len(timeLayout) || v[4] != '-' || v[7] != '-' || v[10] != 'T' || v[13] != ':' || v[16] != ':' ||
		v[19] != '.' || v[len(v)-1] != 'Z' {
		return "", false
	}
	for i := 0; i < len(v)-1; i++ {
		switch i {
		case 4, 7, 10, 13, 16, 19:
			continue
		}
		if v[i] < '0' || v[i] > '9' {
			return "", false
		}
	}
	// The digits may still not be a valid time (month 13): leave those to
	// the parser, which refuses them.
	if v[5:7] > "12" || v[5:7] == "00" || v[8:10] > "31" || v[8:10] == "00" || v[11:13] > "23" || v[14:16] > "59" || v[17:19] > "59" {
		return "", false
	}
	if v[8:10] > "28" {
		if _, ok := storedTime(v); !ok {
			return "", false
		}
	}
	return v[:19] + "Z", true
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
