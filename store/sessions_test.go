package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// SessionStore must satisfy scs's Store and CtxStore interfaces (copied here
// so that store does not import scs).
var _ interface {
	Find(token string) ([]byte, bool, error)
	Commit(token string, b []byte, expiry time.Time) error
	Delete(token string) error
	FindCtx(ctx context.Context, token string) ([]byte, bool, error)
	CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error
	DeleteCtx(ctx context.Context, token string) error
} = SessionStore{}

func TestSessionStoreRoundTrip(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	s := openTestStore(t, t.TempDir(), newMasterKey(t), clock.Now)
	ss := s.Sessions()
	expiry := clock.Now().Add(time.Hour)

	_, found, err := ss.FindCtx(ctx, "tok-1")
	require.NoError(t, err)
	assert.False(t, found, "nothing committed yet")

	require.NoError(t, ss.CommitCtx(ctx, "tok-1", []byte("data one"), expiry))
	require.NoError(t, ss.CommitCtx(ctx, "tok-2", []byte("data two"), expiry))
	b, found, err := ss.FindCtx(ctx, "tok-1")
	require.NoError(t, err)
	require.True(t, found)
	assert.Equal(t, "data one", string(b))

	// Commit replaces data and expiry.
	require.NoError(t, ss.CommitCtx(ctx, "tok-1", []byte("data one v2"), expiry.Add(time.Hour)))
	b, found, err = ss.FindCtx(ctx, "tok-1")
	require.NoError(t, err)
	require.True(t, found)
	assert.Equal(t, "data one v2", string(b))
	assert.Equal(t, 2, count(t, s.rdb, "sessions"))

	// The new expiry counts: past the first one, tok-1 lives on and tok-2 is gone.
	clock.Advance(90 * time.Minute)
	_, found, err = ss.FindCtx(ctx, "tok-1")
	require.NoError(t, err)
	assert.True(t, found, "Commit must replace the expiry")
	_, found, err = ss.FindCtx(ctx, "tok-2")
	require.NoError(t, err)
	assert.False(t, found)
	require.NoError(t, ss.CommitCtx(ctx, "tok-2", []byte("data two"), clock.Now().Add(time.Hour)))

	require.NoError(t, ss.DeleteCtx(ctx, "tok-1"))
	_, found, err = ss.FindCtx(ctx, "tok-1")
	require.NoError(t, err)
	assert.False(t, found)
	b, found, err = ss.FindCtx(ctx, "tok-2")
	require.NoError(t, err)
	require.True(t, found, "deleting one session leaves the others")
	assert.Equal(t, "data two", string(b))

	assert.NoError(t, ss.DeleteCtx(ctx, "never-existed"))

	t.Run("context-free variants", func(t *testing.T) {
		require.NoError(t, ss.Commit("tok-3", []byte("three"), clock.Now().Add(time.Hour)))
		b, found, err := ss.Find("tok-3")
		require.NoError(t, err)
		require.True(t, found)
		assert.Equal(t, "three", string(b))
		require.NoError(t, ss.Delete("tok-3"))
		_, found, err = ss.Find("tok-3")
		require.NoError(t, err)
		assert.False(t, found)
	})
}

func TestSessionExpiry(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	s := openTestStore(t, t.TempDir(), newMasterKey(t), clock.Now)
	ss := s.Sessions()
	require.NoError(t, ss.CommitCtx(ctx, "tok", []byte("x"), clock.Now().Add(30*time.Minute)))

	tests := []struct {
		advance time.Duration
		found   bool
	}{
		{0, true},
		{30*time.Minute - time.Microsecond, true},
		{30 * time.Minute, false}, // expiry is exclusive
		{time.Hour, false},
	}
	start := clock.Now()
	for _, tt := range tests {
		t.Run(tt.advance.String(), func(t *testing.T) {
			clock.Advance(start.Add(tt.advance).Sub(clock.Now()))
			_, found, err := ss.FindCtx(ctx, "tok")
			require.NoError(t, err)
			assert.Equal(t, tt.found, found)
		})
	}
}

func TestSessionExpiryInOtherTimeZone(t *testing.T) {
	// Expiry times arrive in whatever zone the caller uses; they are stored
	// as UTC so text comparison stays correct.
	ctx := context.Background()
	clock := newTestClock()
	s := openTestStore(t, t.TempDir(), newMasterKey(t), clock.Now)
	ss := s.Sessions()
	east := time.FixedZone("UTC+8", 8*3600)
	require.NoError(t, ss.CommitCtx(ctx, "tok", []byte("x"), clock.Now().Add(time.Hour).In(east)))
	clock.Advance(30 * time.Minute)
	_, found, err := ss.FindCtx(ctx, "tok")
	require.NoError(t, err)
	assert.True(t, found)
	clock.Advance(time.Hour)
	_, found, err = ss.FindCtx(ctx, "tok")
	require.NoError(t, err)
	assert.False(t, found)
}

func TestDeleteExpiredSessions(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		expired int
		live    int
	}{
		{"none", 0, 3},
		{"some", 3, 2},
		{"more than one batch", 1203, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newTestClock()
			s := openTestStore(t, t.TempDir(), newMasterKey(t), clock.Now)
			ss := s.Sessions()
			now := clock.Now()
			require.NoError(t, s.tx(ctx, func(tx *sql.Tx) error {
				for i := range tt.expired {
					expiry := now.Add(-time.Duration(i) * time.Second) // the last one expires exactly now
					if _, err := tx.Exec("INSERT INTO sessions (token_hash, data, expiry) VALUES (?, ?, ?)",
						tokenHash(fmt.Sprintf("old-%d", i)), []byte("x"), ts(expiry)); err != nil {
						return err
					}
				}
				return nil
			}))
			for i := range tt.live {
				require.NoError(t, ss.CommitCtx(ctx, fmt.Sprintf("live-%d", i), []byte("x"), now.Add(time.Duration(i+1)*time.Microsecond)))
			}

			n, err := s.DeleteExpiredSessions(ctx)
			require.NoError(t, err)
			assert.Equal(t, int64(tt.expired), n)
			assert.Equal(t, tt.live, count(t, s.rdb, "sessions"))
			for i := range tt.live {
				_, found, err := ss.FindCtx(ctx, fmt.Sprintf("live-%d", i))
				require.NoError(t, err)
				assert.True(t, found, "live session %d was removed", i)
			}

			n, err = s.DeleteExpiredSessions(ctx)
			require.NoError(t, err)
			assert.Zero(t, n, "a second pass finds nothing")
		})
	}
}

func TestSessionTokenIsNeverStored(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	token := NewToken()
	require.NoError(t, s.Sessions().CommitCtx(ctx, token, []byte("payload"), s.Now().Add(time.Hour)))

	var hash, data []byte
	var expiry string
	require.NoError(t, s.rdb.QueryRow("SELECT token_hash, data, expiry FROM sessions").Scan(&hash, &data, &expiry))
	want := sha256.Sum256([]byte(token))
	assert.Equal(t, want[:], hash, "only the SHA-256 of the token is kept")
	for _, v := range [][]byte{hash, data, []byte(expiry)} {
		assert.False(t, bytes.Contains(v, []byte(token)))
	}

	// Nor anywhere in the files, WAL included.
	for name, b := range readDataFiles(t, s.Dir()) {
		assert.False(t, bytes.Contains(b, []byte(token)), "%s contains the raw session token", name)
	}
}

func TestNewToken(t *testing.T) {
	a, b := NewToken(), NewToken()
	assert.Len(t, a, 43, "32 bytes in unpadded base64url")
	assert.NotEqual(t, a, b)
	assert.NotContains(t, a, "=")
	assert.NotContains(t, a, "+")
	assert.NotContains(t, a, "/")
}

// Setup tokens (store/setup.go).

func operatorUser(name string) NewUser {
	nu := newUser(name)
	nu.Role = RoleOperator
	return nu
}

func requireSetupValid(t *testing.T, s *Store, token string, want bool) {
	t.Helper()
	ok, err := s.SetupTokenValid(context.Background(), token)
	require.NoError(t, err)
	require.Equal(t, want, ok, "SetupTokenValid")
}

func TestSetupTokenIsSingleUse(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	token, err := s.CreateSetupToken(ctx, time.Hour)
	require.NoError(t, err)
	requireSetupValid(t, s, token, true)

	u, err := s.CompleteSetup(ctx, token, operatorUser("first"))
	require.NoError(t, err)
	assert.Equal(t, RoleOperator, u.Role)
	requireSetupValid(t, s, token, false)
	assert.Equal(t, 1, count(t, s.rdb, "setup_tokens", "used_at IS NOT NULL"))

	// Even with no operator left, a spent token does nothing.
	_, err = s.db.Exec("DELETE FROM users")
	require.NoError(t, err)
	_, err = s.CompleteSetup(ctx, token, operatorUser("again"))
	require.ErrorIs(t, err, ErrNotFound)
	n, err := s.CountOperators(ctx)
	require.NoError(t, err)
	assert.Zero(t, n)
}

func TestSetupTokenExpires(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	s := openTestStore(t, t.TempDir(), newMasterKey(t), clock.Now)
	token, err := s.CreateSetupToken(ctx, time.Hour)
	require.NoError(t, err)

	clock.Advance(59 * time.Minute)
	requireSetupValid(t, s, token, true)
	clock.Advance(time.Minute)
	requireSetupValid(t, s, token, false)

	_, err = s.CompleteSetup(ctx, token, operatorUser("late"))
	require.ErrorIs(t, err, ErrNotFound)
	n, err := s.CountOperators(ctx)
	require.NoError(t, err)
	assert.Zero(t, n)
	assert.Zero(t, count(t, s.krdb, "data_keys"))
}

func TestNewSetupTokenWithdrawsOlder(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	old, err := s.CreateSetupToken(ctx, time.Hour)
	require.NoError(t, err)
	latest, err := s.CreateSetupToken(ctx, time.Hour)
	require.NoError(t, err)
	require.NotEqual(t, old, latest)

	requireSetupValid(t, s, old, false)
	requireSetupValid(t, s, latest, true)
	_, err = s.CompleteSetup(ctx, old, operatorUser("old"))
	require.ErrorIs(t, err, ErrNotFound)
	_, err = s.CompleteSetup(ctx, latest, operatorUser("latest"))
	require.NoError(t, err)

	// A spent token is history, not withdrawn by the next one.
	_, err = s.CreateSetupToken(ctx, time.Hour)
	require.NoError(t, err)
	assert.Equal(t, 1, count(t, s.rdb, "setup_tokens", "used_at IS NOT NULL"))
	assert.Equal(t, 2, count(t, s.rdb, "setup_tokens"))
}

func TestCompleteSetupRefusesSecondOperator(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	first, err := s.CreateSetupToken(ctx, time.Hour)
	require.NoError(t, err)
	_, err = s.CompleteSetup(ctx, first, operatorUser("first"))
	require.NoError(t, err)

	second, err := s.CreateSetupToken(ctx, time.Hour)
	require.NoError(t, err)
	_, err = s.CompleteSetup(ctx, second, operatorUser("second"))
	require.ErrorIs(t, err, ErrConflict)
	n, err := s.CountOperators(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	requireSetupValid(t, s, second, true) // refused, not spent
}

func TestCompleteSetupRefusesNonOperatorRole(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	token, err := s.CreateSetupToken(ctx, time.Hour)
	require.NoError(t, err)
	for _, r := range []Role{RoleLearner, RoleMemberAdmin, RoleMemberStaff} {
		nu := newUser("notop")
		nu.Role = r
		_, err := s.CompleteSetup(ctx, token, nu)
		assert.Error(t, err, r)
	}
	requireSetupValid(t, s, token, true)
	assert.Zero(t, count(t, s.rdb, "users"))
}

func TestCompleteSetupKeepsTokenWhenAccountFails(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	createUser(t, s, newUser("taken")) // a learner already owns the address
	token, err := s.CreateSetupToken(ctx, time.Hour)
	require.NoError(t, err)

	_, err = s.CompleteSetup(ctx, token, operatorUser("taken"))
	require.ErrorIs(t, err, ErrConflict)
	requireSetupValid(t, s, token, true)

	_, err = s.CompleteSetup(ctx, token, operatorUser("free"))
	require.NoError(t, err)
	requireSetupValid(t, s, token, false)
}

func TestCompleteSetupUnknownToken(t *testing.T) {
	s := newTestStore(t)
	_, err := s.CompleteSetup(context.Background(), NewToken(), operatorUser("nobody"))
	require.ErrorIs(t, err, ErrNotFound)
	assert.Zero(t, count(t, s.rdb, "users"))
}

func TestSetupTokenIsNeverStored(t *testing.T) {
	s := newTestStore(t)
	token, err := s.CreateSetupToken(context.Background(), time.Hour)
	require.NoError(t, err)
	want := sha256.Sum256([]byte(token))
	assert.Equal(t, 1, count(t, s.rdb, "setup_tokens", "token_hash = ?", want[:]))
	for name, b := range readDataFiles(t, s.Dir()) {
		assert.False(t, bytes.Contains(b, []byte(token)), "%s contains the raw setup token", name)
	}
}

// TestSessionCommitSkipsWhatChangesNothing: committing the same data with
// an idle deadline moved by less than sessionRefresh writes nothing; new
// data, or a deadline moved further, is written.
func TestSessionCommitSkipsWhatChangesNothing(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	ss := s.Sessions()
	exp := s.Now().Add(4 * time.Hour)
	require.NoError(t, ss.CommitCtx(ctx, "tok", []byte("data"), exp))
	_, found, err := ss.FindCtx(ctx, "tok")
	require.NoError(t, err)
	require.True(t, found)
	n := s.WriteTransactions()
	require.NoError(t, ss.CommitCtx(ctx, "tok", []byte("data"), exp.Add(time.Minute)))
	assert.Equal(t, n, s.WriteTransactions(), "an unchanged session is not written again")
	require.NoError(t, ss.CommitCtx(ctx, "tok", []byte("data"), exp.Add(sessionRefresh+time.Second)))
	assert.Equal(t, n+1, s.WriteTransactions(), "the idle deadline is pushed every few minutes")
	require.NoError(t, ss.CommitCtx(ctx, "tok", []byte("changed"), exp.Add(sessionRefresh+2*time.Second)))
	assert.Equal(t, n+2, s.WriteTransactions(), "changed data is written")
	b, found, err := ss.FindCtx(ctx, "tok")
	require.NoError(t, err)
	require.True(t, found)
	assert.Equal(t, "changed", string(b))
	require.NoError(t, ss.DeleteCtx(ctx, "tok"))
	require.NoError(t, ss.CommitCtx(ctx, "tok", []byte("changed"), exp.Add(sessionRefresh+2*time.Second)))
	_, found, err = ss.FindCtx(ctx, "tok")
	require.NoError(t, err)
	assert.True(t, found, "after a delete the same commit is written again")
}

// TestCompleteSetupWithSettings: the settings asked for at setup are stored
// in the account's transaction, by the new operator; when the account
// cannot be created, neither are they.
func TestCompleteSetupWithSettings(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	createUser(t, s, newUser("taken"))
	token, err := s.CreateSetupToken(ctx, time.Hour)
	require.NoError(t, err)
	settings := map[string]string{SettingSiteName: "Pelatihan UMKM", SettingControllerName: "Lembaga Pelatihan UMKM",
		SettingControllerEmail: "privasi@example.org"}

	_, err = s.CompleteSetupWithSettings(ctx, token, operatorUser("taken"), settings)
	require.ErrorIs(t, err, ErrConflict)
	st, err := s.Settings(ctx)
	require.NoError(t, err)
	assert.Equal(t, "kelas", st.Get(SettingSiteName), "nothing stored without the account")
	assert.Zero(t, st.Revision)

	_, err = s.CompleteSetupWithSettings(ctx, token, operatorUser("first"), map[string]string{"no_such_key": "x"})
	require.Error(t, err)
	requireSetupValid(t, s, token, true)

	u, err := s.CompleteSetupWithSettings(ctx, token, operatorUser("first"), settings)
	require.NoError(t, err)
	st, err = s.Settings(ctx)
	require.NoError(t, err)
	assert.Equal(t, "Pelatihan UMKM", st.Get(SettingSiteName))
	assert.Equal(t, "Lembaga Pelatihan UMKM", st.Get(SettingControllerName))
	assert.Equal(t, "privasi@example.org", st.Get(SettingControllerEmail))
	assert.Equal(t, int64(1), st.Revision)
	var by string
	require.NoError(t, s.rdb.QueryRowContext(ctx, "SELECT updated_by FROM settings WHERE key = ?", SettingSiteName).Scan(&by))
	assert.Equal(t, u.ID, by)
	log, err := s.AuditLog(ctx, 5)
	require.NoError(t, err)
	require.NotEmpty(t, log)
	assert.Equal(t, AuditSettingsChange, log[0].Action)
	assert.Equal(t, u.ID, log[0].ActorID)
}
