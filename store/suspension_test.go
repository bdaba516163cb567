package store

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSuspendAndReinstate(t *testing.T) {
	s := newTestStore(t)
	ctx := t.Context()
	u, err := s.CreateUser(ctx, NewUser{Email: "misuse@example.org", FirstName: "M", PasswordHash: "x", Role: RoleLearner, Verified: true})
	require.NoError(t, err)
	require.NoError(t, s.SuspendUser(ctx, "op", u.ID, "Sent advertising to other learners"))
	got, err := s.User(ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, "disabled", got.Status)
	assert.Greater(t, got.SessionEpoch, u.SessionEpoch, "every session ends")
	sp, err := s.SuspensionOf(ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, "Sent advertising to other learners", sp.Reason)
	assert.Equal(t, "op", sp.SuspendedBy)
	require.ErrorIs(t, s.SuspendUser(ctx, "op", u.ID, "again"), ErrConflict)

	require.NoError(t, s.ReinstateUser(ctx, "op", u.ID))
	got, err = s.User(ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, "active", got.Status)
	_, err = s.SuspensionOf(ctx, u.ID)
	require.ErrorIs(t, err, ErrNotFound)
	require.ErrorIs(t, s.ReinstateUser(ctx, "op", u.ID), ErrConflict)

	log, err := s.AuditLog(ctx, 2)
	require.NoError(t, err)
	assert.Equal(t, AuditUserReinstate, log[0].Action)
	assert.Equal(t, AuditUserSuspend, log[1].Action)

	// Erasing the person destroys the reason with their key.
	require.NoError(t, s.SuspendUser(ctx, "op", u.ID, "again"))
	require.NoError(t, s.EraseUser(ctx, "op", u.ID))
	_, err = s.SuspensionOf(ctx, u.ID)
	assert.Error(t, err, "nothing readable is left")
}
