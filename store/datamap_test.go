package store

import (
	"database/sql"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// schemaColumn is one column as the migrated database has it.
type schemaColumn struct {
	DB     DB
	Table  string
	Column string
	Type   string
}

func (c schemaColumn) key() string { return fmt.Sprintf("%s.db %s.%s", c.DB, c.Table, c.Column) }

func fieldKey(f Field) string { return fmt.Sprintf("%s.db %s.%s", f.DB, f.Table, f.Column) }

// schemaColumns lists every column of every non-internal table of both
// databases after all migrations ran.
func schemaColumns(t *testing.T, s *Store) []schemaColumn {
	t.Helper()
	var out []schemaColumn
	for _, d := range []struct {
		name DB
		db   *sql.DB
	}{{DBMain, s.db}, {DBKeys, s.kdb}} {
		rows, err := d.db.Query(`SELECT m.name, p.name, p.type
			FROM sqlite_schema AS m, pragma_table_info(m.name) AS p
			WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\_%' ESCAPE '\'
			ORDER BY m.name, p.cid`)
		require.NoError(t, err)
		for rows.Next() {
			c := schemaColumn{DB: d.name}
			require.NoError(t, rows.Scan(&c.Table, &c.Column, &c.Type))
			out = append(out, c)
		}
		require.NoError(t, rows.Err())
		require.NoError(t, rows.Close())
	}
	return out
}

// TestDataMapCoversSchema is the gate of SPEC §2: a migration that adds a
// column fails here until store/datamap.go classifies it.
func TestDataMapCoversSchema(t *testing.T) {
	s := newTestStore(t)
	cols := schemaColumns(t, s)
	require.NotEmpty(t, cols)
	tables := map[DB]map[string]bool{}
	for _, c := range cols {
		if tables[c.DB] == nil {
			tables[c.DB] = map[string]bool{}
		}
		tables[c.DB][c.Table] = true
	}
	require.Contains(t, tables[DBMain], "users", "the schema query found no users table")
	require.Contains(t, tables[DBKeys], "data_keys", "the schema query found no data_keys table")

	entries := map[string]int{}
	for _, f := range DataMap() {
		entries[fieldKey(f)]++
	}

	t.Run("every column classified exactly once", func(t *testing.T) {
		var missing []string
		for _, c := range cols {
			switch n := entries[c.key()]; n {
			case 1:
			case 0:
				missing = append(missing, c.key())
			default:
				t.Errorf("%s has %d entries in store.DataMap(); keep exactly one", c.key(), n)
			}
		}
		if len(missing) > 0 {
			t.Errorf("columns not classified in store.DataMap(): add each to store/datamap.go with its category, "+
				"purposes, lawful basis, retention, encryption, export and erasure rules:\n  %s", strings.Join(missing, "\n  "))
		}
	})

	t.Run("no stale entries", func(t *testing.T) {
		inSchema := map[string]bool{}
		for _, c := range cols {
			inSchema[c.key()] = true
		}
		var stale []string
		for k := range entries {
			if !inSchema[k] {
				stale = append(stale, k)
			}
		}
		sort.Strings(stale)
		assert.Empty(t, stale, "store.DataMap() lists columns that no migration creates; remove or fix them")
	})
}

func TestDataMapEntriesAreComplete(t *testing.T) {
	validExport := []ExportRule{ExportInclude, ExportOmit}
	validErasure := []ErasureRule{EraseDelete, EraseAnonymise, EraseKeep, EraseNone}
	for _, f := range DataMap() {
		t.Run(fieldKey(f), func(t *testing.T) {
			assert.Contains(t, []DB{DBMain, DBKeys}, f.DB)
			assert.NotEmpty(t, f.Table)
			assert.NotEmpty(t, f.Column)
			assert.NotEmpty(t, f.Category, "category")
			assert.True(t, slices.Contains(validExport, f.Export), "export rule %q", f.Export)
			assert.True(t, slices.Contains(validErasure, f.Erasure), "erasure rule %q", f.Erasure)
			if f.Personal {
				assert.NotEmpty(t, f.Basis, "personal data needs a lawful basis")
				assert.NotEmpty(t, f.Retention, "personal data needs a retention rule")
				assert.NotEmpty(t, f.Purposes, "personal data needs at least one purpose")
				for _, p := range f.Purposes {
					assert.NotEmpty(t, strings.TrimSpace(p), "empty purpose")
				}
				assert.NotEqual(t, CatSystem, f.Category, "personal data cannot be a system column")
				assert.NotEqual(t, EraseNone, f.Erasure, "erasure must do something with personal data")
			} else {
				assert.Equal(t, CatSystem, f.Category, "non-personal columns are system columns")
				assert.False(t, f.Encrypted, "a sealed column is personal data")
			}
			if f.Export == ExportOmit {
				assert.NotEmpty(t, f.Why, "an export omission needs a reason (Why)")
			}
			if f.Erasure == EraseKeep {
				assert.NotEmpty(t, f.Why, "keeping data at erasure needs a reason (Why)")
			}
		})
	}
}

// TestDataMapSealedColumns checks the encryption flags against the schema:
// the registration fields of users are sealed, a column the map calls
// encrypted holds bytes (a sealed value cannot be TEXT in a STRICT table),
// and every BLOB of personal data in users is sealed unless it is a keyed
// hash.
func TestDataMapSealedColumns(t *testing.T) {
	s := newTestStore(t)
	types := map[string]string{}
	for _, c := range schemaColumns(t, s) {
		types[c.key()] = c.Type
	}
	byKey := map[string]Field{}
	for _, f := range DataMap() {
		byKey[fieldKey(f)] = f
	}

	for _, col := range []string{"email", "first_name", "surname", "company", "gender"} {
		k := fmt.Sprintf("%s.db users.%s", DBMain, col)
		t.Run(k, func(t *testing.T) {
			f, ok := byKey[k]
			require.True(t, ok, "%s missing from store.DataMap()", k)
			assert.True(t, f.Personal)
			assert.True(t, f.Encrypted, "%s holds registration data and must be sealed", k)
			assert.Equal(t, "BLOB", types[k])
		})
	}

	keyedHashes := map[string]bool{"kelas.db users.email_index": true}
	for k, f := range byKey {
		if f.Encrypted {
			assert.Equal(t, "BLOB", types[k], "%s is marked encrypted but is not a BLOB column", k)
		}
		if f.DB == DBMain && f.Table == "users" && f.Personal && types[k] == "BLOB" && !keyedHashes[k] {
			assert.True(t, f.Encrypted, "%s is a BLOB of personal data in users but is not marked encrypted", k)
		}
	}
	// country and industry stay plaintext codes for statistics (SPEC §2).
	for _, col := range []string{"country", "industry"} {
		assert.False(t, byKey["kelas.db users."+col].Encrypted, col)
	}
}
