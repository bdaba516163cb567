package store

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDueDates(t *testing.T) {
	day := func(s string) time.Time {
		d, err := time.Parse("2006-01-02 15:04", s)
		require.NoError(t, err)
		return d
	}
	cases := []struct {
		received string
		extend   int
		due      string
	}{
		{"2026-01-15 10:00", 0, "2026-02-15 10:00"},
		{"2026-01-31 10:00", 0, "2026-02-28 10:00"}, // no 31 February: the month's last day
		{"2028-01-31 10:00", 0, "2028-02-29 10:00"}, // leap year
		{"2028-01-30 23:59", 0, "2028-02-29 23:59"},
		{"2026-03-31 08:00", 0, "2026-04-30 08:00"},
		{"2026-12-31 08:00", 0, "2027-01-31 08:00"}, // across the year end
		{"2026-02-28 08:00", 0, "2026-03-28 08:00"},
		{"2026-11-30 09:00", 2, "2027-02-28 09:00"}, // extended by two months
		{"2027-11-30 09:00", 2, "2028-02-29 09:00"},
		{"2026-10-31 09:00", 1, "2026-12-31 09:00"},
		{"2026-12-31 09:00", 1, "2027-02-28 09:00"},
	}
	for _, c := range cases {
		assert.Equal(t, day(c.due), DueDate(day(c.received), c.extend), "%s + %d", c.received, 1+c.extend)
	}
}

func TestCaseLifecycle(t *testing.T) {
	s := newTestStore(t)
	ctx := t.Context()
	u, err := s.CreateUser(ctx, NewUser{Email: "p@example.org", FirstName: "P", Surname: "Q", PasswordHash: "x", Role: RoleLearner})
	require.NoError(t, err)
	c, err := s.CreateCase(ctx, NewCase{UserID: u.ID, Kind: CaseRectification, Details: "my surname is misspelt on the certificate"})
	require.NoError(t, err)
	assert.True(t, c.Open())
	assert.Equal(t, DueDate(c.ReceivedAt, 0), c.DueAt)
	assert.Equal(t, "my surname is misspelt on the certificate", c.Details)

	c, err = s.ExtendCase(ctx, c.ID, "officer", 2, "many requests this month")
	require.NoError(t, err)
	assert.Equal(t, DueDate(c.ReceivedAt, 2), c.DueAt)
	_, err = s.ExtendCase(ctx, c.ID, "officer", 1, "again")
	assert.ErrorIs(t, err, ErrAlreadyExtended, "two months at most, once")
	_, err = s.ExtendCase(ctx, c.ID, "officer", 3, "too long")
	assert.Error(t, err)

	c, err = s.UpdateCase(ctx, c.ID, "officer", CaseCompleted, "corrected")
	require.NoError(t, err)
	assert.False(t, c.Open())
	_, err = s.UpdateCase(ctx, c.ID, "officer", CaseInProgress, "")
	assert.ErrorIs(t, err, ErrCaseClosed, "closed cases do not reopen")
	require.Len(t, c.Events, 3)
	assert.Contains(t, c.Events[1].Note, "Deadline extended by 2 month(s): many requests this month")

	_, err = s.UserCase(ctx, "someone-else", c.ID)
	assert.ErrorIs(t, err, ErrNotFound)
}

// TestExtendCaseOnce: a deadline is extended at most once, and a closed
// case not at all, even when another officer acts between ExtendCase's
// read of the case and its write (here: from the clock, which ExtendCase
// reads in between).
func TestExtendCaseOnce(t *testing.T) {
	var between func()
	s := openTestStore(t, t.TempDir(), newMasterKey(t), func() time.Time {
		if f := between; f != nil {
			between = nil
			f()
		}
		return time.Now()
	})
	ctx := t.Context()
	u := createUser(t, s, newUser("extend"))

	c, err := s.CreateCase(ctx, NewCase{UserID: u.ID, Kind: CaseAccess})
	require.NoError(t, err)
	between = func() {
		_, err := s.ExtendCase(ctx, c.ID, u.ID, 2, "first officer")
		require.NoError(t, err)
	}
	_, err = s.ExtendCase(ctx, c.ID, u.ID, 1, "second officer")
	assert.ErrorIs(t, err, ErrAlreadyExtended)
	got, err := s.Case(ctx, c.ID)
	require.NoError(t, err)
	assert.Equal(t, DueDate(got.ReceivedAt, 2), got.DueAt, "the first extension stands")
	assert.Len(t, got.Events, 2, "one entry for the request, one for the one extension")

	closed, err := s.CreateCase(ctx, NewCase{UserID: u.ID, Kind: CaseAccess})
	require.NoError(t, err)
	between = func() {
		_, err := s.UpdateCase(ctx, closed.ID, u.ID, CaseCompleted, "")
		require.NoError(t, err)
	}
	_, err = s.ExtendCase(ctx, closed.ID, u.ID, 1, "too late")
	assert.ErrorIs(t, err, ErrCaseClosed)
	got, err = s.Case(ctx, closed.ID)
	require.NoError(t, err)
	assert.False(t, got.Extended, "a closed case was extended")
}

// TestErasureCompletesOnlyWhenCarriedOut: an erasure case is done only
// because the erasure ran. No status change, by anyone, marks it done while
// the account lives on; CompleteErasure does so once the account is gone.
func TestErasureCompletesOnlyWhenCarriedOut(t *testing.T) {
	clock := newTestClock()
	s := openTestStore(t, t.TempDir(), newMasterKey(t), clock.Now)
	ctx := t.Context()
	u := createUser(t, s, newUser("erase-case"))

	_, err := s.CreateCase(ctx, NewCase{UserID: u.ID, Kind: CaseErasure, Status: CaseCompleted})
	assert.ErrorIs(t, err, ErrErasureNotCarriedOut, "an erasure case cannot be created done")
	c, err := s.CreateCase(ctx, NewCase{UserID: u.ID, Kind: CaseErasure, ExecuteAfter: s.Now()})
	require.NoError(t, err)

	_, err = s.UpdateCase(ctx, c.ID, "officer", CaseCompleted, "done")
	assert.ErrorIs(t, err, ErrErasureNotCarriedOut)
	_, err = s.CompleteErasure(ctx, c.ID, "officer")
	assert.ErrorIs(t, err, ErrErasureNotCarriedOut, "the account still exists")
	got, err := s.Case(ctx, c.ID)
	require.NoError(t, err)
	assert.Equal(t, CaseOpen, got.Status)
	assert.Len(t, got.Events, 1, "nothing was recorded")

	// Other kinds still complete by hand.
	other, err := s.CreateCase(ctx, NewCase{UserID: u.ID, Kind: CaseAccess})
	require.NoError(t, err)
	_, err = s.UpdateCase(ctx, other.ID, "officer", CaseCompleted, "")
	require.NoError(t, err)

	clock.Advance(time.Hour)
	require.NoError(t, s.EraseUser(ctx, "officer", u.ID))
	done, err := s.CompleteErasure(ctx, c.ID, "officer")
	require.NoError(t, err)
	assert.Equal(t, CaseCompleted, done.Status)
	assert.Equal(t, s.Now(), done.ClosedAt, "the time it was carried out")
	_, err = s.CompleteErasure(ctx, c.ID, "officer")
	assert.ErrorIs(t, err, ErrCaseClosed)

	_, err = s.CompleteErasure(ctx, other.ID, "officer")
	assert.ErrorIs(t, err, ErrCaseClosed, "not an open erasure case")
	_, err = s.CompleteErasure(ctx, NewID(), "officer")
	assert.ErrorIs(t, err, ErrNotFound)
}

func TestValidCaseStatusAndCertificateCode(t *testing.T) {
	for _, st := range []string{CaseOpen, CaseInProgress, CaseCompleted, CaseCancelled, CaseRejected} {
		assert.True(t, ValidCaseStatus(st), st)
	}
	assert.False(t, ValidCaseStatus("closed"))
	assert.False(t, ValidCaseStatus(""))
	assert.True(t, ValidCertificateCode("ABCDE-FGHIJ-KLMNO-PQR27"))
	for _, bad := range []string{"", "ABCDE-FGHIJ-KLMNO-PQR2", "ABCDE_FGHIJ-KLMNO-PQR27", "abcde-FGHIJ-KLMNO-PQR27", "ABCDE-FGHIJ-KLMNO-PQR18"} {
		assert.False(t, ValidCertificateCode(bad), bad)
	}
}
