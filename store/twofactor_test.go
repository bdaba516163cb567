package store

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTOTPLifecycle(t *testing.T) {
	s := newTestStore(t)
	ctx := t.Context()
	u, err := s.CreateUser(ctx, newUser("totp"))
	require.NoError(t, err)
	_, err = s.TOTP(ctx, u.ID)
	require.ErrorIs(t, err, ErrNotFound)

	const secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
	require.NoError(t, s.StartTOTP(ctx, u.ID, secret))
	got, err := s.TOTP(ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, secret, got.Secret)
	assert.False(t, got.Confirmed)
	u, err = s.User(ctx, u.ID)
	require.NoError(t, err)
	assert.False(t, u.TwoFactor, "not before it is confirmed")

	require.NoError(t, s.ConfirmTOTP(ctx, u.ID, 100, []string{"abcde-fghij", "q7zv2-mk4pw"}))
	u2, err := s.User(ctx, u.ID)
	require.NoError(t, err)
	assert.True(t, u2.TwoFactor)
	assert.Equal(t, u.SessionEpoch+1, u2.SessionEpoch, "older sessions end")
	require.ErrorIs(t, s.StartTOTP(ctx, u.ID, secret), ErrConflict, "a confirmed factor is not replaced silently")

	// A time step is accepted once, and never an older one.
	require.ErrorIs(t, s.UseTOTPStep(ctx, u.ID, 100), ErrCodeUsed)
	require.NoError(t, s.UseTOTPStep(ctx, u.ID, 101))
	require.ErrorIs(t, s.UseTOTPStep(ctx, u.ID, 101), ErrCodeUsed)
	require.ErrorIs(t, s.UseTOTPStep(ctx, u.ID, 99), ErrCodeUsed)

	// Recovery codes work once, however they are typed.
	require.NoError(t, s.UseRecoveryCode(ctx, u.ID, "ABCDE FGHIJ"))
	require.ErrorIs(t, s.UseRecoveryCode(ctx, u.ID, "abcde-fghij"), ErrNotFound)
	n, err := s.RecoveryCodesLeft(ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, 1, n)

	// The secret is sealed: not in the database file in any form.
	require.NoError(t, s.Close())
	for _, name := range []string{"kelas.db", "kelas.db-wal"} {
		b, err := os.ReadFile(filepath.Join(s.dir, name))
		if os.IsNotExist(err) {
			continue
		}
		require.NoError(t, err)
		assert.False(t, strings.Contains(string(b), secret), "%s holds the TOTP secret in plaintext", name)
		assert.False(t, strings.Contains(string(b), "q7zv2mk4pw"), "%s holds a recovery code", name)
	}
}

func TestRemoveTOTPByAnotherOperatorIsAudited(t *testing.T) {
	s := newTestStore(t)
	ctx := t.Context()
	u, err := s.CreateUser(ctx, newUser("locked"))
	require.NoError(t, err)
	require.NoError(t, s.StartTOTP(ctx, u.ID, "JBSWY3DPEHPK3PXP"))
	require.NoError(t, s.ConfirmTOTP(ctx, u.ID, 1, []string{"x"}))
	require.NoError(t, s.RemoveTOTP(ctx, "operator-id", u.ID))
	u2, err := s.User(ctx, u.ID)
	require.NoError(t, err)
	assert.False(t, u2.TwoFactor)
	log, err := s.AuditLog(ctx, 5)
	require.NoError(t, err)
	require.NotEmpty(t, log)
	assert.Equal(t, AuditTwoFactorReset, log[0].Action)
	assert.Equal(t, "operator-id", log[0].ActorID)
	require.ErrorIs(t, s.RemoveTOTP(ctx, "operator-id", u.ID), ErrNotFound)
}

func TestRevertEmailRestoresAndEndsSessions(t *testing.T) {
	s := newTestStore(t)
	ctx := t.Context()
	u, err := s.CreateUser(ctx, newUser("revert"))
	require.NoError(t, err)
	old := u.Email
	token, err := s.CreateEmailRevert(ctx, u.ID, old, 7*24*time.Hour)
	require.NoError(t, err)
	vt, err := s.CreateAccountToken(ctx, u.ID, TokenVerify, time.Hour, "thief@example.test")
	require.NoError(t, err)
	_, err = s.VerifyEmail(ctx, vt)
	require.NoError(t, err)
	changed, err := s.UserByEmail(ctx, "thief@example.test")
	require.NoError(t, err)

	back, err := s.RevertEmail(ctx, token)
	require.NoError(t, err)
	assert.Equal(t, old, back.Email)
	assert.Greater(t, back.SessionEpoch, changed.SessionEpoch, "every session ends")
	_, err = s.UserByEmail(ctx, "thief@example.test")
	require.ErrorIs(t, err, ErrNotFound)
	_, err = s.RevertEmail(ctx, token)
	require.ErrorIs(t, err, ErrTokenInvalid, "single use")
}

func TestDuplicateNoticeAtMostDaily(t *testing.T) {
	s := newTestStore(t)
	ctx := t.Context()
	u, err := s.CreateUser(ctx, newUser("dup"))
	require.NoError(t, err)
	due, err := s.DuplicateNoticeDue(ctx, u.ID)
	require.NoError(t, err)
	assert.True(t, due)
	due, err = s.DuplicateNoticeDue(ctx, u.ID)
	require.NoError(t, err)
	assert.False(t, due)
}
