package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newTestStore opens a store in a fresh temporary directory under a random
// master key; it is closed when the test ends.
func newTestStore(tb testing.TB) *Store {
	tb.Helper()
	return openTestStore(tb, tb.TempDir(), newMasterKey(tb), nil)
}

// openTestStore opens the store in dir with key and clock (nil: real time)
// and closes it at the end of the test. Closing it earlier is fine.
func openTestStore(tb testing.TB, dir string, key []byte, clock func() time.Time) *Store {
	tb.Helper()
	s, err := Open(context.Background(), Options{Dir: dir, MasterKey: key, Clock: clock})
	require.NoError(tb, err)
	tb.Cleanup(func() { assert.NoError(tb, s.Close(), "closing the store") })
	return s
}

func newMasterKey(tb testing.TB) []byte {
	tb.Helper()
	k := make([]byte, 32)
	_, err := rand.Read(k)
	require.NoError(tb, err)
	return k
}

// testClock is a clock tests move by hand.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func newTestClock() *testClock {
	return &testClock{now: time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// newUser is a valid NewUser whose email is derived from name.
func newUser(name string) NewUser {
	return NewUser{
		Email:        name + "@example.test",
		FirstName:    "First " + name,
		Surname:      "Surname " + name,
		Company:      "Company " + name,
		Gender:       "f",
		Country:      "MY",
		Industry:     "manufacturing",
		PasswordHash: "$2a$10$abcdefghijklmnopqrstuv",
		Role:         RoleLearner,
	}
}

func createUser(tb testing.TB, s *Store, nu NewUser) User {
	tb.Helper()
	u, err := s.CreateUser(context.Background(), nu)
	require.NoError(tb, err)
	return u
}

// count returns the number of rows of table in db (a connection of s).
func count(tb testing.TB, db *sql.DB, table string, where ...any) int {
	tb.Helper()
	q := "SELECT COUNT(*) FROM " + table
	var args []any
	if len(where) > 0 {
		q += " WHERE " + where[0].(string)
		args = where[1:]
	}
	var n int
	require.NoError(tb, db.QueryRow(q, args...).Scan(&n))
	return n
}

func TestOpenCreatesBothDatabases(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	require.False(t, Exists(dir))
	s := openTestStore(t, dir, newMasterKey(t), nil)
	require.NoError(t, s.Ping(context.Background()))
	assert.Equal(t, dir, s.Dir())
	for _, f := range []string{MainDBFile, KeysDBFile} {
		st, err := os.Stat(filepath.Join(dir, f))
		require.NoError(t, err, f)
		assert.Equal(t, os.FileMode(0o600), st.Mode().Perm(), "%s must be private", f)
	}
	st, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), st.Mode().Perm())
}

func TestOpenRejectsBadMasterKeyLength(t *testing.T) {
	dir := t.TempDir()
	_, err := Open(context.Background(), Options{Dir: dir, MasterKey: make([]byte, 16)})
	require.Error(t, err)
	assert.False(t, Exists(dir), "nothing may be created without a usable key")
}

func TestExists(t *testing.T) {
	tests := []struct {
		name  string
		files []string
		want  bool
	}{
		{"empty dir", nil, false},
		{"unrelated files", []string{"master.key", "notes.txt"}, false},
		{"main db only", []string{MainDBFile}, true},
		{"keys db only", []string{KeysDBFile}, true},
		{"both", []string{MainDBFile, KeysDBFile}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range tt.files {
				require.NoError(t, os.WriteFile(filepath.Join(dir, f), nil, 0o600))
			}
			assert.Equal(t, tt.want, Exists(dir))
		})
	}
	t.Run("missing dir", func(t *testing.T) {
		assert.False(t, Exists(filepath.Join(t.TempDir(), "nope")))
	})
	t.Run("after Open", func(t *testing.T) {
		s := newTestStore(t)
		assert.True(t, Exists(s.Dir()))
	})
}

func TestOpenWithWrongMasterKey(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	key := newMasterKey(t)
	s := openTestStore(t, dir, key, nil)
	u := createUser(t, s, newUser("wrongkey"))
	require.NoError(t, s.Close())

	before := map[string][]byte{}
	for _, f := range []string{MainDBFile, KeysDBFile} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		require.NoError(t, err)
		before[f] = b
	}

	bad, err := Open(ctx, Options{Dir: dir, MasterKey: newMasterKey(t)})
	require.ErrorIs(t, err, ErrWrongMasterKey)
	assert.Nil(t, bad)
	assert.Contains(t, err.Error(), "KELAS_MASTER_KEY")

	for f, b := range before {
		after, err := os.ReadFile(filepath.Join(dir, f))
		require.NoError(t, err)
		assert.True(t, bytes.Equal(b, after), "%s changed after opening with a wrong key", f)
	}

	// The right key still reads everything.
	s = openTestStore(t, dir, key, nil)
	got, err := s.User(ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, u, got)
}

func TestOpenRefusesMainWithoutKeysDB(t *testing.T) {
	dir := t.TempDir()
	key := newMasterKey(t)
	s := openTestStore(t, dir, key, nil)
	createUser(t, s, newUser("lostkeys"))
	require.NoError(t, s.Close())
	require.NoError(t, os.Remove(filepath.Join(dir, KeysDBFile)))

	_, err := Open(context.Background(), Options{Dir: dir, MasterKey: key})
	require.Error(t, err)
	assert.Contains(t, err.Error(), KeysDBFile)
	assert.NoFileExists(t, filepath.Join(dir, KeysDBFile), "an empty keys.db must not be created over existing data")
}

// TestNoPlaintextOnDisk greps every file kelas writes in the data directory
// for the personal data of a registered person, while the WAL is live and
// again after Close has checkpointed it.
func TestNoPlaintextOnDisk(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openTestStore(t, dir, newMasterKey(t), nil)
	nu := NewUser{
		Email:        "QwertyuiopAsdf@Example.test",
		FirstName:    "Zyxwvutsrq",
		Surname:      "Plokmijnuhb",
		Company:      "Mnbvcxzlkjh Sdn Bhd",
		Gender:       "Nonbinaryxq",
		Country:      "MY",
		Industry:     "plaintextindustrymarker", // plaintext by design: the control
		PasswordHash: "$2a$10$abcdefghijklmnopqrstuv",
		Role:         RoleLearner,
	}
	u := createUser(t, s, nu)
	// Read it back through both lookups so any caching or logging path runs.
	_, err := s.UserByEmail(ctx, nu.Email)
	require.NoError(t, err)
	_, err = s.User(ctx, u.ID)
	require.NoError(t, err)

	secrets := []string{"Zyxwvutsrq", "Plokmijnuhb", "Mnbvcxzlkjh", "Nonbinaryxq", "QwertyuiopAsdf", "qwertyuiopasdf@example.test"}

	check := func(t *testing.T, wantWAL bool) {
		t.Helper()
		files := readDataFiles(t, dir)
		_, hasWAL := files[MainDBFile+"-wal"]
		require.Equal(t, wantWAL, hasWAL, "kelas.db-wal present: files %v", keys(files))
		require.Contains(t, files, MainDBFile)
		require.Contains(t, files, KeysDBFile)

		// Control: the plaintext industry code must be found somewhere,
		// or this grep is not reading the bytes the data lives in.
		found := false
		for _, b := range files {
			found = found || bytes.Contains(b, []byte(nu.Industry))
		}
		require.True(t, found, "control value not found: the test does not see the written data")

		for name, b := range files {
			for _, secret := range secrets {
				for _, v := range []string{secret, strings.ToLower(secret), strings.ToUpper(secret)} {
					assert.False(t, bytes.Contains(b, []byte(v)), "%s contains %q in plaintext", name, v)
				}
			}
		}
	}
	t.Run("open with WAL", func(t *testing.T) { check(t, true) })
	require.NoError(t, s.Close())
	t.Run("after close", func(t *testing.T) { check(t, false) })
}

// readDataFiles returns the bytes of every regular file in dir, by name.
func readDataFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		out[e.Name()] = b
	}
	return out
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestMigrationsApplyOnce(t *testing.T) {
	dir := t.TempDir()
	key := newMasterKey(t)
	want := map[string]int{"migrations": 0, "migrations/keys": 0}
	for d := range want {
		entries, err := fs.ReadDir(migrationFS, d)
		require.NoError(t, err)
		for _, e := range entries {
			if !e.IsDir() && strings.HasSuffix(e.Name(), ".sql") {
				want[d]++
			}
		}
		require.NotZero(t, want[d], d)
	}

	type snapshot struct{ main, keys []string }
	applied := func(s *Store) snapshot {
		t.Helper()
		read := func(db *sql.DB) []string {
			rows, err := db.Query("SELECT version || ' ' || name || ' ' || applied_at FROM schema_migrations ORDER BY version")
			require.NoError(t, err)
			defer rows.Close()
			var out []string
			for rows.Next() {
				var v string
				require.NoError(t, rows.Scan(&v))
				out = append(out, v)
			}
			require.NoError(t, rows.Err())
			return out
		}
		return snapshot{read(s.db), read(s.kdb)}
	}

	s := openTestStore(t, dir, key, nil)
	first := applied(s)
	assert.Len(t, first.main, want["migrations"])
	assert.Len(t, first.keys, want["migrations/keys"])
	require.NoError(t, s.Close())

	for i := range 2 {
		s = openTestStore(t, dir, key, nil)
		assert.Equal(t, first, applied(s), "reopen %d changed schema_migrations", i+1)
		require.NoError(t, s.Close())
	}
}

func TestMigrationFileNames(t *testing.T) {
	for _, d := range []string{"migrations", "migrations/keys"} {
		t.Run(d, func(t *testing.T) {
			entries, err := fs.ReadDir(migrationFS, d)
			require.NoError(t, err)
			seen := map[string]string{}
			for _, e := range entries {
				if e.IsDir() {
					continue
				}
				name := e.Name()
				require.True(t, strings.HasSuffix(name, ".sql"), "%s/%s: only .sql files belong in a migrations dir", d, name)
				num, rest, ok := strings.Cut(name, "_")
				require.True(t, ok && len(num) == 4 && rest != ".sql", "%s/%s: want NNNN_name.sql", d, name)
				for _, r := range num {
					require.True(t, r >= '0' && r <= '9', "%s/%s: want NNNN_name.sql", d, name)
				}
				prev, dup := seen[num]
				require.False(t, dup, "%s: %s and %s share version %s", d, prev, name, num)
				seen[num] = name
			}
		})
	}
}

// userTables lists the non-internal tables of db with their STRICT flag.
func userTables(t *testing.T, db *sql.DB) map[string]bool {
	t.Helper()
	rows, err := db.Query(`SELECT name, strict FROM pragma_table_list
		WHERE schema = 'main' AND type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\'`)
	require.NoError(t, err)
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var name string
		var strict bool
		require.NoError(t, rows.Scan(&name, &strict))
		out[name] = strict
	}
	require.NoError(t, rows.Err())
	return out
}

func TestTablesAreStrict(t *testing.T) {
	s := newTestStore(t)
	for _, db := range []struct {
		name string
		db   *sql.DB
	}{{MainDBFile, s.db}, {KeysDBFile, s.kdb}} {
		t.Run(db.name, func(t *testing.T) {
			tables := userTables(t, db.db)
			require.Contains(t, tables, "schema_migrations")
			require.Greater(t, len(tables), 1)
			for name, strict := range tables {
				assert.True(t, strict, "%s: table %s is not STRICT", db.name, name)
			}
		})
	}
}

func TestConnectionPragmas(t *testing.T) {
	s := newTestStore(t)
	conns := []struct {
		name string
		db   *sql.DB
	}{
		{"kelas.db writer", s.db},
		{"kelas.db reader", s.rdb},
		{"keys.db writer", s.kdb},
		{"keys.db reader", s.krdb},
	}
	want := map[string]string{
		"journal_mode":  "wal",
		"foreign_keys":  "1",
		"secure_delete": "1",
		"busy_timeout":  "10000",
	}
	for _, c := range conns {
		t.Run(c.name, func(t *testing.T) {
			for pragma, v := range want {
				var got string
				require.NoError(t, c.db.QueryRow("PRAGMA "+pragma).Scan(&got), pragma)
				assert.Equal(t, v, got, "PRAGMA %s", pragma)
			}
		})
	}
}

func TestWriterAndReaderRoles(t *testing.T) {
	s := newTestStore(t)
	t.Run("one writer connection per file", func(t *testing.T) {
		assert.Equal(t, 1, s.db.Stats().MaxOpenConnections)
		assert.Equal(t, 1, s.kdb.Stats().MaxOpenConnections)
	})
	t.Run("read pools are read-only", func(t *testing.T) {
		for _, db := range []*sql.DB{s.rdb, s.krdb} {
			_, err := db.Exec("CREATE TABLE nope (x INTEGER) STRICT")
			assert.Error(t, err)
		}
	})
	t.Run("foreign keys are enforced", func(t *testing.T) {
		_, err := s.kdb.Exec("INSERT INTO data_keys (subject, kek_version, wrapped, created_at) VALUES ('x', 99, x'00', '')")
		assert.ErrorContains(t, err, "FOREIGN KEY")
	})
}

func TestNewID(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		id := NewID()
		require.Len(t, id, 26)
		require.True(t, ValidID(id), id)
		require.False(t, seen[id], "duplicate id")
		seen[id] = true
	}
}

func TestValidID(t *testing.T) {
	tests := []struct {
		id   string
		want bool
	}{
		{"abcdefghijklmnopqrstuvwxya", true},
		{"aaaaaaaaaaaaaaaaaaaaaaaaaa", true},
		{"abcdefghijklmnopqrstuvwxyz", false}, // z sets bits past the 128: not how NewID spells these bytes
		{"aaaaaaaaaaaaaaaaaaaaaaaaab", false},
		{"", false},
		{"abcdefghijklmnopqrstuvwxy", false},   // 25
		{"abcdefghijklmnopqrstuvwxyza", false}, // 27
		{"ABCDEFGHIJKLMNOPQRSTUVWXYZ", false},  // upper case
		{"abcdefghijklmnopqrstuvwxy1", false},  // 1 is not in the alphabet
		{"abcdefghijklmnopqrstuvwx'-", false},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			assert.Equal(t, tt.want, ValidID(tt.id))
		})
	}
}

func TestTimeStorage(t *testing.T) {
	loc := time.FixedZone("WIB", 7*3600)
	tm := time.Date(2025, 1, 2, 10, 4, 5, 123456789, loc)
	v := ts(tm)
	assert.Equal(t, "2025-01-02T03:04:05.123456Z", v, "stored times are UTC, fixed width")
	got, err := parseTS(v)
	require.NoError(t, err)
	assert.True(t, got.Equal(tm.Truncate(time.Microsecond)))
	zero, err := parseTS("")
	require.NoError(t, err)
	assert.True(t, zero.IsZero())
	assert.Nil(t, tsOrNull(time.Time{}))
	assert.Equal(t, v, tsOrNull(tm))
	// Fixed width makes text order equal time order.
	assert.Less(t, ts(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)), ts(time.Date(2025, 1, 2, 3, 4, 5, 1000, time.UTC)))
}

func TestStoreNowIsUTC(t *testing.T) {
	c := newTestClock()
	c.now = c.now.In(time.FixedZone("ICT", 7*3600))
	s := openTestStore(t, t.TempDir(), newMasterKey(t), c.Now)
	assert.Equal(t, time.UTC, s.Now().Location())
	assert.True(t, s.Now().Equal(c.Now()))
}

// TestTimeColumnRefusesWhatIsNotAStoredTime: a stored time reads back
// exactly, NULL and "" read as the zero time, and anything else fails the
// Scan instead of passing for "no time".
func TestTimeColumnRefusesWhatIsNotAStoredTime(t *testing.T) {
	s := newTestStore(t)
	at := time.Date(2026, 3, 1, 9, 30, 15, 123456000, time.UTC)
	for _, tc := range []struct {
		in   any
		want time.Time
		bad  bool
	}{
		{ts(at), at, false},
		{nil, time.Time{}, false},
		{"", time.Time{}, false},
		{"yesterday", time.Time{}, true},
		{"2026-03-01 09:30:15", time.Time{}, true},
		{int64(1772357415), time.Time{}, true},
	} {
		got := time.Unix(1, 0)
		err := s.rdb.QueryRow("SELECT ?", tc.in).Scan(tsInto(&got))
		if tc.bad {
			assert.Error(t, err, "%v", tc.in)
			continue
		}
		require.NoError(t, err, "%v", tc.in)
		assert.True(t, tc.want.Equal(got), "%v: got %v", tc.in, got)
	}
}
