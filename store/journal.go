package store

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// JournalFile is the compliance journal: every change to the records a
// restore must not lose, kept outside kelas.db like the tombstones. Each
// line is a JSON record and a MAC (keyed from the master key) chained to the
// line before, so a damaged, edited or cut journal is refused rather than
// half applied.
const JournalFile = "journal.log"

// journalTables are the journaled tables with their primary keys; the
// triggers of migration 0012 note every change to them. Restoring an older
// backup re-applies the journal, so these records survive a restore.
var journalTables = map[string][]string{
	"breaches":             {"id"},
	"breach_people":        {"breach_id", "user_id"},
	"breach_notifications": {"id"},
	"breach_events":        {"id"},
	"rights_cases":         {"id"},
	"rights_case_events":   {"id"},
	"legal_holds":          {"id"},
	"policy_versions":      {"version"},
	"policy_drafts":        {"id"},
	"disclosures":          {"id"},
	"audit_log":            {"seq"},
	"audit_anchor":         {"id"},
}

// journalKinds names the journaled tables for restore reports.
var journalKinds = map[string]string{
	"breaches": "breach records", "breach_people": "people affected by breaches", "breach_notifications": "breach notices",
	"breach_events": "breach timeline entries",
	"rights_cases":  "rights requests", "rights_case_events": "rights request history", "legal_holds": "legal holds",
	"policy_versions": "policy versions", "policy_drafts": "policy drafts", "disclosures": "disclosures",
	"audit_log": "audit entries", "audit_anchor": "audit retention anchor",
}

// journalValue is one column value, typed as SQLite stores it.
type journalValue struct {
	I *int64   `json:"i,omitempty"`
	F *float64 `json:"f,omitempty"`
	S *string  `json:"s,omitempty"`
	B []byte   `json:"b,omitempty"`
	N bool     `json:"n,omitempty"` // NULL
}

func toJournalValue(v any) journalValue {
	switch x := v.(type) {
	case nil:
		return journalValue{N: true}
	case int64:
		return journalValue{I: &x}
	case float64:
		return journalValue{F: &x}
	case string:
		return journalValue{S: &x}
	case []byte:
		if x == nil {
			x = []byte{}
		}
		return journalValue{B: x}
	case bool:
		n := int64(0)
		if x {
			n = 1
		}
		return journalValue{I: &n}
	case time.Time:
		s := ts(x)
		return journalValue{S: &s}
	}
	s := fmt.Sprint(v)
	return journalValue{S: &s}
}

func (v journalValue) value() any {
	switch {
	case v.N:
		return nil
	case v.I != nil:
		return *v.I
	case v.F != nil:
		return *v.F
	case v.S != nil:
		return *v.S
	default:
		if v.B == nil {
			return []byte{}
		}
		return v.B
	}
}

// journalRecord is one line of the journal.
type journalRecord struct {
	// Start records open a journal: it is complete from Since on.
	Start bool      `json:"start,omitempty"`
	Since time.Time `json:"since,omitzero"`

	At    time.Time      `json:"at,omitzero"`
	Table string         `json:"t,omitempty"`
	Op    string         `json:"op,omitempty"` // put (the row as it now is) or del
	Key   []journalValue `json:"k,omitempty"`
	Cols  []string       `json:"c,omitempty"`
	Vals  []journalValue `json:"v,omitempty"`
}

// ErrJournalDamaged means the journal does not verify: restore refuses it
// before touching any live file.
var ErrJournalDamaged = errors.New("store: the compliance journal is damaged")

func journalMAC(key []byte, prev string, line []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("kelas/journal/v1\x00"))
	m.Write([]byte(prev))
	m.Write([]byte{0})
	m.Write(line)
	return hex.EncodeToString(m.Sum(nil))
}

// readJournal reads and verifies the journal at path. A missing file is an
// empty journal with no start. A last line cut short by a crash (no
// newline) is ignored: its rows are still noted in kelas.db and copied
// again at the next start.
func readJournal(path string, key []byte) (recs []journalRecord, lastMAC string, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("store: journal: %w", err)
	}
	if i := bytes.LastIndexByte(b, '\n'); i != len(b)-1 {
		b = b[:i+1]
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64<<10), 64<<20)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Bytes()
		tab := bytes.LastIndexByte(line, '\t')
		if tab < 0 {
			return nil, "", fmt.Errorf("%w: line %d has no MAC", ErrJournalDamaged, n)
		}
		body, mac := line[:tab], string(line[tab+1:])
		if !hmac.Equal([]byte(mac), []byte(journalMAC(key, lastMAC, body))) {
			return nil, "", fmt.Errorf("%w: line %d does not verify (changed, or a line before it was removed)", ErrJournalDamaged, n)
		}
		var r journalRecord
		if err := json.Unmarshal(body, &r); err != nil {
			return nil, "", fmt.Errorf("%w: line %d: %v", ErrJournalDamaged, n, err)
		}
		if n == 1 && !r.Start {
			return nil, "", fmt.Errorf("%w: it does not begin with its start record", ErrJournalDamaged)
		}
		recs = append(recs, r)
		lastMAC = mac
	}
	if err := sc.Err(); err != nil {
		return nil, "", fmt.Errorf("%w: %v", ErrJournalDamaged, err)
	}
	return recs, lastMAC, nil
}

// encodeJournal appends recs as MAC-chained lines to buf.
func encodeJournal(buf *bytes.Buffer, key []byte, prev string, recs []journalRecord) (string, error) {
	for _, r := range recs {
		body, err := json.Marshal(r)
		if err != nil {
			return prev, err
		}
		prev = journalMAC(key, prev, body)
		buf.Write(body)
		buf.WriteByte('\t')
		buf.WriteString(prev)
		buf.WriteByte('\n')
	}
	return prev, nil
}

// appendJournal adds recs to the journal file and fsyncs it. The caller
// holds s.journalMu.
func (s *Store) appendJournal(recs []journalRecord) error {
	path := filepath.Join(s.dir, JournalFile)
	if st, err := os.Stat(path); err != nil || st.Size() == 0 {
		s.journalMAC = "" // moved aside or never written: start a new journal
	}
	if s.journalMAC == "" {
		// First use in this process: find the chain's end (and check it).
		_, last, err := readJournal(path, s.journalKey)
		if err != nil {
			return err
		}
		if last == "" {
			recs = append([]journalRecord{{Start: true, Since: s.Now()}}, recs...)
			// Start on an empty file: a torn first line is dropped.
			if err := os.WriteFile(path, nil, 0o600); err != nil {
				return fmt.Errorf("store: journal: %w", err)
			}
		}
		s.journalMAC = last
	}
	var buf bytes.Buffer
	last, err := encodeJournal(&buf, s.journalKey, s.journalMAC, recs)
	if err != nil {
		return fmt.Errorf("store: journal: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("store: journal: %w", err)
	}
	if st, err := f.Stat(); err == nil && st.Size() > 0 {
		// A torn last line (a crash mid-write) is cut off first, so the
		// chain continues from the last whole line.
		if err := truncateToLastLine(f, st.Size()); err != nil {
			f.Close()
			return fmt.Errorf("store: journal: %w", err)
		}
	}
	_, err = f.Write(buf.Bytes())
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("store: journal: %w", err)
	}
	s.journalMAC = last
	return nil
}

func truncateToLastLine(f *os.File, size int64) error {
	const tail = 64 << 10
	start := max(0, size-tail)
	b := make([]byte, size-start)
	if _, err := f.ReadAt(b, start); err != nil {
		return err
	}
	if len(b) > 0 && b[len(b)-1] == '\n' {
		return nil
	}
	i := bytes.LastIndexByte(b, '\n')
	return f.Truncate(start + int64(i+1))
}

// flushJournal copies the changes noted in journal_pending to the journal
// file, oldest first, then removes the notes. It runs after every commit
// that noted something and at start-up (notes left by a crash).
func (s *Store) flushJournal(ctx context.Context) error {
	s.journalMu.Lock()
	defer s.journalMu.Unlock()
	for {
		type note struct {
			seq    int64
			tbl    string
			op     string
			k1, k2 any
		}
		rows, err := s.db.QueryContext(ctx, "SELECT seq, tbl, op, k1, k2 FROM journal_pending ORDER BY seq LIMIT 500")
		if err != nil {
			return fmt.Errorf("store: journal: %w", err)
		}
		var notes []note
		for rows.Next() {
			var n note
			if err := rows.Scan(&n.seq, &n.tbl, &n.op, &n.k1, &n.k2); err != nil {
				rows.Close()
				return fmt.Errorf("store: journal: %w", err)
			}
			notes = append(notes, n)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("store: journal: %w", err)
		}
		if len(notes) == 0 {
			return nil
		}
		now := s.Now()
		var recs []journalRecord
		for _, n := range notes {
			pk, ok := journalTables[n.tbl]
			if !ok {
				continue
			}
			key := []any{n.k1}
			if len(pk) > 1 {
				key = append(key, n.k2)
			}
			r := journalRecord{At: now, Table: n.tbl, Op: n.op}
			for _, k := range key {
				r.Key = append(r.Key, toJournalValue(k))
			}
			if n.op == "put" {
				cols, vals, err := rowImage(ctx, s.db, n.tbl, pk, key)
				if errors.Is(err, sql.ErrNoRows) {
					continue // gone again since; its deletion is noted after this
				}
				if err != nil {
					return fmt.Errorf("store: journal: %w", err)
				}
				r.Cols = cols
				for _, v := range vals {
					r.Vals = append(r.Vals, toJournalValue(v))
				}
			}
			recs = append(recs, r)
		}
		if len(recs) > 0 {
			if err := s.appendJournal(recs); err != nil {
				return err
			}
		}
		if _, err := s.db.ExecContext(ctx, "DELETE FROM journal_pending WHERE seq <= ?", notes[len(notes)-1].seq); err != nil {
			return fmt.Errorf("store: journal: %w", err)
		}
	}
}

// rowImage reads one row of table by its primary key, every column.
func rowImage(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, table string, pk []string, key []any) ([]string, []any, error) {
	var where []string
	for _, c := range pk {
		where = append(where, c+" = ?")
	}
	// Table and column names come from journalTables, never from input.
	rows, err := q.QueryContext(ctx, "SELECT * FROM "+table+" WHERE "+strings.Join(where, " AND "), key...)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, nil, err
	}
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, nil, err
		}
		return nil, nil, sql.ErrNoRows
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return nil, nil, err
	}
	return cols, vals, rows.Err()
}

// journalPending reports whether changes wait to be copied to the journal.
func (s *Store) journalPending(ctx context.Context) bool {
	var one int
	return s.db.QueryRowContext(ctx, "SELECT 1 FROM journal_pending LIMIT 1").Scan(&one) == nil
}

// JournalReplay says what re-applying the journal to a restored database
// did, and what the restored state still lacks compared with the state it
// replaces.
type JournalReplay struct {
	Since    time.Time // the journal is complete from here on (zero: no journal)
	Applied  int       // records re-applied
	Skipped  []string  // records that could not be applied, "table key: why"
	Complete bool      // the journal covers everything since the backup
	// Missing lists, per journaled table, the keys of rows the replaced
	// state had and the restored one lacks after the replay.
	Missing map[string][]string
}

// Lost counts the missing records.
func (r JournalReplay) Lost() int {
	n := 0
	for _, ks := range r.Missing {
		n += len(ks)
	}
	return n
}

// Report is a per-kind summary for people: counts and ids.
func (r JournalReplay) Report() string {
	var b strings.Builder
	tables := make([]string, 0, len(r.Missing))
	for t := range r.Missing {
		tables = append(tables, t)
	}
	slices.Sort(tables)
	for _, t := range tables {
		ids := r.Missing[t]
		shown := ids[:min(len(ids), 20)]
		fmt.Fprintf(&b, "  %s: %d missing (%s", journalKinds[t], len(ids), strings.Join(shown, ", "))
		if len(ids) > len(shown) {
			fmt.Fprintf(&b, ", and %d more", len(ids)-len(shown))
		}
		b.WriteString(")\n")
	}
	for _, sk := range r.Skipped {
		fmt.Fprintf(&b, "  not re-applied: %s\n", sk)
	}
	return b.String()
}

// replayJournal re-applies the journal records made from `from` on to the
// database at path (a restored copy, before it is swapped in), in one
// transaction; its own changes are not noted again. Rows that cannot be
// applied (their person's account is not in the restored state) are
// skipped and reported.
func replayJournal(ctx context.Context, path string, recs []journalRecord, from time.Time) (JournalReplay, error) {
	var res JournalReplay
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)&_pragma=busy_timeout(10000)&_pragma=trusted_schema(0)&_txlock=immediate")
	if err != nil {
		return res, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if !hasTable(ctx, db, "journal_pending") {
		// A backup from before the journal existed: bring its schema up
		// first so the replayed rows fit.
		if err := migrate(ctx, db, "migrations"); err != nil {
			return res, err
		}
	}
	err = inTx(ctx, db, func(tx *sql.Tx) error {
		// Notes pending at snapshot time were copied by the live store.
		if _, err := tx.ExecContext(ctx, "DELETE FROM journal_pending"); err != nil {
			return err
		}
		for i, r := range recs {
			if r.Start || r.At.Before(from) {
				continue
			}
			pk, ok := journalTables[r.Table]
			if !ok || len(r.Key) != len(pk) {
				return fmt.Errorf("%w: record %d names an unknown table or key", ErrJournalDamaged, i+1)
			}
			sp := fmt.Sprintf("SAVEPOINT r%d", i)
			if _, err := tx.ExecContext(ctx, sp); err != nil {
				return err
			}
			err := applyJournalRecord(ctx, tx, r, pk)
			if err != nil {
				res.Skipped = append(res.Skipped, fmt.Sprintf("%s %s: %v", journalKinds[r.Table], keyString(r.Key), err))
				if _, err := tx.ExecContext(ctx, fmt.Sprintf("ROLLBACK TO r%d", i)); err != nil {
					return err
				}
			} else {
				res.Applied++
			}
			if _, err := tx.ExecContext(ctx, fmt.Sprintf("RELEASE r%d", i)); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, "DELETE FROM journal_pending")
		return err
	})
	return res, err
}

func applyJournalRecord(ctx context.Context, tx *sql.Tx, r journalRecord, pk []string) error {
	var where []string
	var key []any
	for i, c := range pk {
		where = append(where, c+" = ?")
		key = append(key, r.Key[i].value())
	}
	if r.Op == "del" {
		_, err := tx.ExecContext(ctx, "DELETE FROM "+r.Table+" WHERE "+strings.Join(where, " AND "), key...)
		return err
	}
	if r.Op != "put" || len(r.Cols) == 0 || len(r.Cols) != len(r.Vals) {
		return errors.New("malformed record")
	}
	var cols, marks, sets []string
	var vals []any
	for i, c := range r.Cols {
		if !validColumnName(c) {
			return fmt.Errorf("bad column name %q", c)
		}
		cols = append(cols, `"`+c+`"`)
		marks = append(marks, "?")
		sets = append(sets, `"`+c+`" = excluded."`+c+`"`)
		vals = append(vals, r.Vals[i].value())
	}
	conflict := "DO UPDATE SET " + strings.Join(sets, ", ")
	if r.Table == "audit_log" {
		conflict = "DO NOTHING" // append-only: an entry is never rewritten
	}
	q := "INSERT INTO " + r.Table + " (" + strings.Join(cols, ", ") + ") VALUES (" + strings.Join(marks, ", ") + ") ON CONFLICT (" +
		strings.Join(pk, ", ") + ") " + conflict
	_, err := tx.ExecContext(ctx, q, vals...)
	return err
}

func validColumnName(c string) bool {
	if c == "" || len(c) > 64 {
		return false
	}
	for i := 0; i < len(c); i++ {
		if ch := c[i]; !(ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '_') {
			return false
		}
	}
	return true
}

func keyString(k []journalValue) string {
	var parts []string
	for _, v := range k {
		parts = append(parts, fmt.Sprint(v.value()))
	}
	return strings.Join(parts, "/")
}

// missingRecords compares the journaled tables of the replaced database
// (live) with the restored one: keys present in live and absent after the
// replay, per table.
func missingRecords(ctx context.Context, livePath, restoredPath string) (map[string][]string, error) {
	live, err := sql.Open("sqlite", "file:"+livePath+"?mode=ro&_pragma=trusted_schema(0)")
	if err != nil {
		return nil, err
	}
	defer live.Close()
	got, err := sql.Open("sqlite", "file:"+restoredPath+"?mode=ro&_pragma=trusted_schema(0)")
	if err != nil {
		return nil, err
	}
	defer got.Close()
	out := map[string][]string{}
	for t, pk := range journalTables {
		keys := func(db *sql.DB) (map[string]bool, error) {
			m := map[string]bool{}
			if !hasTable(ctx, db, t) {
				return m, nil
			}
			rows, err := db.QueryContext(ctx, "SELECT CAST("+strings.Join(pk, " AS TEXT) || '/' || CAST(")+" AS TEXT) FROM "+t)
			if err != nil {
				return nil, err
			}
			defer rows.Close()
			for rows.Next() {
				var k sql.NullString
				if err := rows.Scan(&k); err != nil {
					return nil, err
				}
				m[k.String] = true
			}
			return m, rows.Err()
		}
		have, err := keys(live)
		if err != nil {
			return nil, fmt.Errorf("the current %s: %w", t, err)
		}
		after, err := keys(got)
		if err != nil {
			return nil, fmt.Errorf("the restored %s: %w", t, err)
		}
		for k := range have {
			if !after[k] {
				out[t] = append(out[t], k)
			}
		}
		slices.Sort(out[t])
	}
	for t, ks := range out {
		if len(ks) == 0 {
			delete(out, t)
		}
	}
	return out, nil
}

// compactJournal rewrites the journal without the records older than
// cutoff (the oldest data backup kept): no restore can need them. The new
// file starts with a start record at cutoff.
func (s *Store) compactJournal(cutoff time.Time) error {
	s.journalMu.Lock()
	defer s.journalMu.Unlock()
	path := filepath.Join(s.dir, JournalFile)
	recs, _, err := readJournal(path, s.journalKey)
	if err != nil || len(recs) == 0 {
		return err
	}
	if !recs[0].Since.Before(cutoff) {
		return nil
	}
	keep := []journalRecord{{Start: true, Since: cutoff}}
	for _, r := range recs {
		if !r.Start && !r.At.Before(cutoff) {
			keep = append(keep, r)
		}
	}
	var buf bytes.Buffer
	last, err := encodeJournal(&buf, s.journalKey, "", keep)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o600); err != nil {
		return fmt.Errorf("store: journal: %w", err)
	}
	f, err := os.Open(tmp)
	if err == nil {
		err = f.Sync()
		f.Close()
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		err = syncDir(s.dir)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("store: journal: %w", err)
	}
	s.journalMAC = last
	return nil
}

// journalTablesForMap classifies the pending-notes table for the data map.
func journalTablesForMap() []table {
	return []table{systemTable(DBMain, "journal_pending",
		"changes to compliance records waiting to be copied to the journal outside the database (moments at most)",
		"seq", "tbl", "op", "k1", "k2")}
}

// JournalStatus summarises the journal for `kelas doctor`.
type JournalStatus struct {
	Records int       // change records in the file
	Since   time.Time // complete from here on; zero when there is no journal yet
	Pending int       // changes noted in kelas.db, not yet copied
}

// JournalStatus reads and verifies the journal; a damaged one is an error
// wrapping ErrJournalDamaged.
func (s *Store) JournalStatus(ctx context.Context) (JournalStatus, error) {
	var st JournalStatus
	if err := s.rdb.QueryRowContext(ctx, "SELECT COUNT(*) FROM journal_pending").Scan(&st.Pending); err != nil {
		return st, fmt.Errorf("store: journal: %w", err)
	}
	s.journalMu.Lock()
	recs, _, err := readJournal(filepath.Join(s.dir, JournalFile), s.journalKey)
	s.journalMu.Unlock()
	if err != nil {
		return st, err
	}
	if len(recs) > 0 {
		st.Since, st.Records = recs[0].Since, len(recs)-1
	}
	return st, nil
}
