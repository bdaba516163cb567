package jobs

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"kelas/store"
)

// TestHoldErasuresExcludesEraseNow: while the HTTP side holds the
// erasures (a person cancelling, an officer refusing), an erasure waits;
// once the case is closed meanwhile, it erases nothing.
func TestHoldErasuresExcludesEraseNow(t *testing.T) {
	ctx := context.Background()
	clock := &testClock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	st, r, _ := runnerOn(t, t.TempDir(), newKey(), clock, Config{}, io.Discard)
	u, err := st.CreateUser(ctx, store.NewUser{Email: "person@example.org", FirstName: "P", Surname: "Q", PasswordHash: "x", Role: store.RoleLearner})
	require.NoError(t, err)
	c, err := st.CreateCase(ctx, store.NewCase{UserID: u.ID, Kind: store.CaseErasure, ExecuteAfter: clock.Now()})
	require.NoError(t, err)

	unlock := r.HoldErasures()
	done := make(chan error, 1)
	go func() { done <- r.EraseNow(ctx, c, store.ActorScheduler) }()
	select {
	case err := <-done:
		t.Fatalf("the erasure ran while held: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	_, err = st.UpdateCase(ctx, c.ID, u.ID, store.CaseCancelled, "Cancelled by the person.")
	require.NoError(t, err)
	unlock()
	require.ErrorIs(t, <-done, store.ErrCaseClosed)
	_, err = st.User(ctx, u.ID)
	assert.NoError(t, err, "the account stays")

	// Not held, a due erasure is carried out.
	c, err = st.CreateCase(ctx, store.NewCase{UserID: u.ID, Kind: store.CaseErasure, ExecuteAfter: clock.Now()})
	require.NoError(t, err)
	require.NoError(t, r.RunNow(ctx, "erasures"))
	_, err = st.User(ctx, u.ID)
	assert.ErrorIs(t, err, store.ErrNotFound)
	c, err = st.Case(ctx, c.ID)
	require.NoError(t, err)
	assert.Equal(t, store.CaseCompleted, c.Status)
}
