package store

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func searchNames(t *testing.T, s *Store, q string) []string {
	t.Helper()
	ls, err := s.SearchLearners(context.Background(), q, 50)
	require.NoError(t, err)
	var out []string
	for _, l := range ls {
		out = append(out, l.Name)
	}
	return out
}

func TestSearchLearners(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	dir, key := t.TempDir(), newMasterKey(t)
	s := openTestStore(t, dir, key, clock.Now)
	mk := func(email, first, surname string) User {
		nu := newUser(email)
		nu.Email, nu.FirstName, nu.Surname = email, first, surname
		clock.Advance(time.Minute)
		return createUser(t, s, nu)
	}
	jose := mk("jose@example.test", "José", "García-López")
	ayu := mk("ayu@example.test", "Siti Ayu", "Lestari")
	mk("ayu.w@example.test", "Ayu", "Wulandari")
	op := operatorUser("ayuop")
	op.FirstName = "Ayu"
	createUser(t, s, op)

	assert.Equal(t, []string{"José García-López"}, searchNames(t, s, "jose"), "accents and case do not matter")
	assert.Equal(t, []string{"José García-López"}, searchNames(t, s, "GARCIA lópez"), "every word must match")
	assert.Empty(t, searchNames(t, s, "garc"), "whole words only")
	assert.Equal(t, []string{"Ayu Wulandari", "Siti Ayu Lestari"}, searchNames(t, s, "ayu"), "learners only, newest first")
	assert.Equal(t, []string{"Siti Ayu Lestari"}, searchNames(t, s, "ayu siti"))
	assert.Equal(t, []string{"Siti Ayu Lestari"}, searchNames(t, s, " AYU@example.test "), "exact email through the blind index")
	assert.Empty(t, searchNames(t, s, "ayu@example"), "no partial email")
	assert.Empty(t, searchNames(t, s, "!!"))
	assert.Len(t, searchNames(t, s, ""), 3, "no query: the newest learners")

	// Every account has a multiple of four tags, whatever its name.
	rows, err := s.rdb.QueryContext(ctx, "SELECT COUNT(*) FROM name_tags GROUP BY user_id")
	require.NoError(t, err)
	for rows.Next() {
		var n int
		require.NoError(t, rows.Scan(&n))
		assert.Zero(t, n%nameTagsPerAccount)
	}
	require.NoError(t, rows.Close())

	// Renaming moves the tags; restriction shows; erasure removes them.
	require.NoError(t, s.UpdateProfile(ctx, jose.ID, Details{FirstName: "Joseph", Surname: "Garcia", Country: "MY", Industry: "retail"}, Profile{}, PictureKeep))
	assert.Empty(t, searchNames(t, s, "jose"))
	assert.Equal(t, []string{"Joseph Garcia"}, searchNames(t, s, "joseph garcia"))
	require.NoError(t, s.SetRestricted(ctx, ayu.ID, true))
	ls, err := s.SearchLearners(ctx, "lestari", 50)
	require.NoError(t, err)
	require.Len(t, ls, 1)
	assert.True(t, ls[0].Restricted)
	require.NoError(t, s.EraseUser(ctx, "op", ayu.ID))
	assert.Equal(t, []string{"Ayu Wulandari"}, searchNames(t, s, "ayu"))
	assert.Zero(t, count(t, s.rdb, "name_tags", "user_id = ?", ayu.ID))

	// Accounts without tags (made before name_tags) get them at start-up.
	_, err = s.db.ExecContext(ctx, "DELETE FROM name_tags")
	require.NoError(t, err)
	assert.Empty(t, searchNames(t, s, "ayu"))
	require.NoError(t, s.Close())
	s = openTestStore(t, dir, key, clock.Now)
	assert.Equal(t, []string{"Ayu Wulandari"}, searchNames(t, s, "ayu"))
	require.NoError(t, s.Close())

	// A new master key computes new tags.
	newKey := newMasterKey(t)
	_, err = RotateMasterKey(ctx, RotateMasterOptions{Dir: dir, OldKey: key, NewKey: newKey, Clock: clock.Now})
	require.NoError(t, err)
	s = openTestStore(t, dir, newKey, clock.Now)
	assert.Equal(t, []string{"Joseph Garcia"}, searchNames(t, s, "garcia"))
	assert.Equal(t, []string{"Ayu Wulandari"}, searchNames(t, s, "wulandari"))
}

// TestNameWordsAtOnce: accounts are created and searched from many
// requests at once, so folding a name must not share state between calls
// (a shared transform chain panicked or mixed two names' letters).
func TestNameWordsAtOnce(t *testing.T) {
	names := []string{"Nguyễn Thị Ánh", "Đặng Văn Lâm", "Siti Nurhaliza", "José María Ñúñez", "Somchai Jaidee"}
	want := make([][]string, len(names))
	for i, n := range names {
		want[i] = nameWords(n)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				k := (g + i) % len(names)
				if got := nameWords(names[k]); !slices.Equal(got, want[k]) {
					t.Errorf("%q folded to %q, want %q", names[k], got, want[k])
					return
				}
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, []string{"anh", "nguyen", "thi"}, want[0])
}
