package store

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"kelas/store/crypt"
)

func TestDestroyDataKeyMakesFieldsUnreadable(t *testing.T) {
	ctx := context.Background()
	dir, key := t.TempDir(), newMasterKey(t)
	s := openTestStore(t, dir, key, nil)
	gone := createUser(t, s, newUser("gone"))
	kept := createUser(t, s, newUser("kept"))

	// Keep the sealed bytes to prove below that they are still there, yet
	// unreadable.
	var sealed []byte
	require.NoError(t, s.db.QueryRow("SELECT first_name FROM users WHERE id = ?", gone.ID).Scan(&sealed))

	require.NoError(t, s.DestroyDataKey(ctx, gone.ID))
	assert.Zero(t, count(t, s.kdb, "data_keys", "subject = ?", gone.ID))

	check := func(t *testing.T, s *Store) {
		t.Helper()
		_, err := s.User(ctx, gone.ID)
		require.Error(t, err, "fields of a person whose key is destroyed must not open")
		_, err = s.UserByEmail(ctx, gone.Email)
		require.Error(t, err)
		_, err = s.dataKey(ctx, gone.ID)
		require.ErrorIs(t, err, ErrNotFound)

		got, err := s.User(ctx, kept.ID)
		require.NoError(t, err, "other people are unaffected")
		assert.Equal(t, kept.FirstName, got.FirstName)
	}
	t.Run("same process", func(t *testing.T) { check(t, s) })

	require.NoError(t, s.Close())
	s = openTestStore(t, dir, key, nil)
	t.Run("after reopen", func(t *testing.T) { check(t, s) })

	// The ciphertext is still in the row; nothing left can open it.
	var still []byte
	require.NoError(t, s.rdb.QueryRow("SELECT first_name FROM users WHERE id = ?", gone.ID).Scan(&still))
	assert.Equal(t, sealed, still)
	for _, dk := range [][]byte{crypt.NewDataKey(), key} {
		_, err := crypt.Open(dk, "users", "first_name", gone.ID, still)
		assert.ErrorIs(t, err, crypt.ErrOpen)
	}
}

func TestDestroyDataKeyOfUnknownSubject(t *testing.T) {
	s := newTestStore(t)
	assert.NoError(t, s.DestroyDataKey(context.Background(), NewID()))
}

func TestRotateKeysKeepsEverythingReadable(t *testing.T) {
	ctx := context.Background()
	dir, key := t.TempDir(), newMasterKey(t)
	s := openTestStore(t, dir, key, nil)

	var users []User
	for i := range 5 {
		users = append(users, createUser(t, s, newUser(fmt.Sprintf("rotate%d", i))))
	}
	ks, err := s.KeyStatus(ctx)
	require.NoError(t, err)
	assert.Equal(t, KeyStatus{CurrentVersion: 1, DataKeys: 5, OnOldVersions: 0}, ks)

	wrappedBefore := wrappedKeys(t, s)
	for _, want := range []int{2, 3} {
		version, rewrapped, err := s.RotateKeys(ctx)
		require.NoError(t, err)
		assert.Equal(t, want, version)
		assert.Equal(t, len(users), rewrapped)
	}
	wrappedAfter := wrappedKeys(t, s)
	for id, w := range wrappedBefore {
		assert.NotEqual(t, w, wrappedAfter[id], "key of %s was not re-wrapped", id)
	}
	require.NoError(t, s.Close())

	// A fresh process has no cached keys: every key must unwrap under the
	// new version.
	s = openTestStore(t, dir, key, nil)
	for _, u := range users {
		got, err := s.User(ctx, u.ID)
		require.NoError(t, err, u.ID)
		assert.Equal(t, u, got)
	}
	ks, err = s.KeyStatus(ctx)
	require.NoError(t, err)
	assert.Equal(t, KeyStatus{CurrentVersion: 3, DataKeys: 5, OnOldVersions: 0}, ks)
	assert.Equal(t, 5, count(t, s.krdb, "data_keys", "kek_version = 3"))

	// New people get keys under the current version.
	nu := createUser(t, s, newUser("afterrotate"))
	var v int
	require.NoError(t, s.krdb.QueryRow("SELECT kek_version FROM data_keys WHERE subject = ?", nu.ID).Scan(&v))
	assert.Equal(t, 3, v)
}

func TestKeyStatusCountsKeysOnOldVersions(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	for i := range 3 {
		createUser(t, s, newUser(fmt.Sprintf("old%d", i)))
	}
	// A newer version without re-wrapped keys, as after a keys.db restored
	// from before a rotation finished elsewhere.
	_, err := s.kdb.Exec("INSERT INTO kek_versions (version, created_at) VALUES (2, ?)", ts(s.Now()))
	require.NoError(t, err)
	ks, err := s.KeyStatus(ctx)
	require.NoError(t, err)
	assert.Equal(t, KeyStatus{CurrentVersion: 2, DataKeys: 3, OnOldVersions: 3}, ks)

	version, rewrapped, err := s.RotateKeys(ctx)
	require.NoError(t, err)
	assert.Equal(t, 3, version)
	assert.Equal(t, 3, rewrapped)
	ks, err = s.KeyStatus(ctx)
	require.NoError(t, err)
	assert.Equal(t, KeyStatus{CurrentVersion: 3, DataKeys: 3, OnOldVersions: 0}, ks)
}

func TestRotateKeysWithNoDataKeys(t *testing.T) {
	s := newTestStore(t)
	version, rewrapped, err := s.RotateKeys(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 2, version)
	assert.Zero(t, rewrapped)
}

func TestRotateKeysIsAllOrNothing(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	good := createUser(t, s, newUser("good"))
	bad := createUser(t, s, newUser("bad"))
	// A wrapped key that cannot be opened makes the rotation fail as a whole.
	_, err := s.kdb.Exec("UPDATE data_keys SET wrapped = x'00' WHERE subject = ?", bad.ID)
	require.NoError(t, err)

	_, _, err = s.RotateKeys(ctx)
	require.Error(t, err)
	ks, err := s.KeyStatus(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, ks.CurrentVersion, "a failed rotation must not leave a new version behind")
	assert.Equal(t, 2, count(t, s.krdb, "data_keys", "kek_version = 1"))
	s.keys.drop(good.ID)
	_, err = s.User(ctx, good.ID)
	assert.NoError(t, err)
}

// TestWrappedKeyBoundToSubject swaps two people's wrapped keys in keys.db:
// neither may then open, because a wrapped key names its owner.
func TestWrappedKeyBoundToSubject(t *testing.T) {
	ctx := context.Background()
	dir, key := t.TempDir(), newMasterKey(t)
	s := openTestStore(t, dir, key, nil)
	a := createUser(t, s, newUser("alice"))
	b := createUser(t, s, newUser("bob"))
	w := wrappedKeys(t, s)
	for id, other := range map[string]string{a.ID: b.ID, b.ID: a.ID} {
		_, err := s.kdb.Exec("UPDATE data_keys SET wrapped = ? WHERE subject = ?", w[other], id)
		require.NoError(t, err)
	}
	require.NoError(t, s.Close())

	s = openTestStore(t, dir, key, nil)
	for _, id := range []string{a.ID, b.ID} {
		_, err := s.dataKey(ctx, id)
		assert.ErrorIs(t, err, crypt.ErrOpen, "a wrapped key moved to another subject must not unwrap")
		_, err = s.User(ctx, id)
		assert.ErrorIs(t, err, crypt.ErrOpen)
	}
}

func TestCheckValueStoredOnce(t *testing.T) {
	dir, key := t.TempDir(), newMasterKey(t)
	s := openTestStore(t, dir, key, nil)
	var cv []byte
	require.NoError(t, s.kdb.QueryRow("SELECT check_value FROM key_check").Scan(&cv))
	require.NoError(t, s.Close())
	s = openTestStore(t, dir, key, nil)
	assert.Equal(t, 1, count(t, s.kdb, "key_check"))
	var again []byte
	require.NoError(t, s.kdb.QueryRow("SELECT check_value FROM key_check").Scan(&again))
	assert.Equal(t, cv, again)
	assert.Equal(t, 1, count(t, s.kdb, "kek_versions"))
}

func TestKeyCache(t *testing.T) {
	c := newKeyCache(2)
	c.put("a", []byte("1"))
	c.put("b", []byte("2"))
	c.put("c", []byte("3"))
	assert.Len(t, c.m, 2, "the cache is bounded")
	v, ok := c.get("c")
	require.True(t, ok, "the newest entry survives eviction")
	assert.Equal(t, []byte("3"), v)
	c.drop("c")
	_, ok = c.get("c")
	assert.False(t, ok)
}

// wrappedKeys returns every wrapped data key by subject.
func wrappedKeys(t *testing.T, s *Store) map[string][]byte {
	t.Helper()
	rows, err := s.kdb.Query("SELECT subject, wrapped FROM data_keys")
	require.NoError(t, err)
	defer rows.Close()
	out := map[string][]byte{}
	for rows.Next() {
		var subject string
		var w []byte
		require.NoError(t, rows.Scan(&subject, &w))
		out[subject] = w
	}
	require.NoError(t, rows.Err())
	return out
}
