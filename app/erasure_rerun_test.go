package app

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"kelas/store"
)

// TestErasureRerunAfterCrashCompletesCase: kelas stopped after the account
// was erased but before the case was closed. The next run of the job finds
// the account gone, completes the case without an error and without mailing
// anyone, and the job does not keep failing on it.
func TestErasureRerunAfterCrashCompletesCase(t *testing.T) {
	fx := newRightsFixture(t)
	ctx := t.Context()
	id := fx.requestErasure(t)
	fx.ts.clock.Add(7 * 24 * time.Hour)
	require.NoError(t, fx.ts.store.EraseUser(ctx, store.ActorScheduler, fx.user.ID))
	c, err := fx.ts.store.Case(ctx, id)
	require.NoError(t, err)
	require.True(t, c.Open(), "the crash left the case open")

	require.NoError(t, fx.ts.jobs.RunNow(ctx, "erasures"))
	fx.assertErased(t, id)
	assert.NotContains(t, outboxKinds(t, fx.ts), "erasure_done", "nobody left to tell")
	require.NoError(t, fx.ts.jobs.RunNow(ctx, "erasures"), "nothing left to do")
}
