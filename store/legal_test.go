package store

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLegalDisclosureBarHidesItFromThePerson: an entry is in the register
// at once, and in the person's disclosure log and export only once its
// legal bar has ended.
func TestLegalDisclosureBarHidesItFromThePerson(t *testing.T) {
	clock := newTestClock()
	s := openTestStore(t, t.TempDir(), newMasterKey(t), clock.Now)
	ctx := t.Context()
	u, err := s.CreateUser(ctx, newUser("subject"))
	require.NoError(t, err)
	dpo, err := s.CreateUser(ctx, NewUser{Email: "dpo@example.test", FirstName: "D", Surname: "P", PasswordHash: "x", Role: RoleOperator, DPO: true})
	require.NoError(t, err)
	day := clock.Now().Truncate(24 * time.Hour)
	l, err := s.RecordLegalDisclosure(ctx, NewLegalDisclosure{UserID: u.ID, Basis: LegalCourtOrder, Requester: "High Court",
		Disclosed: "name and email", Reference: "HC-1", DisclosedOn: day, BarUntil: day.AddDate(0, 0, 30),
		RecordedBy: dpo.ID, RecorderRole: string(RoleOperator), Summary: "court order HC-1"})
	require.NoError(t, err)
	assert.True(t, l.Barred(clock.Now()))

	reg, err := s.LegalDisclosures(ctx, 10)
	require.NoError(t, err)
	require.Len(t, reg, 1)
	assert.Equal(t, "High Court", reg[0].Requester)
	assert.Equal(t, "HC-1", reg[0].Reference)
	assert.Equal(t, "subject@example.test", reg[0].PersonEmail)

	exported := func() int {
		pd, err := s.PersonalData(ctx, u.ID)
		require.NoError(t, err)
		n := 0
		for _, ds := range pd.Categories[CatDisclosures] {
			if ds.Name == "disclosures" {
				n += len(ds.Rows)
			}
		}
		return n
	}
	ds, err := s.Disclosures(ctx, u.ID)
	require.NoError(t, err)
	assert.Empty(t, ds, "barred: not in the person's log")
	assert.Zero(t, exported(), "barred: not in the export")
	all, err := s.AllDisclosures(ctx, DisclosureFilter{SubjectID: u.ID})
	require.NoError(t, err)
	assert.Len(t, all, 1, "the officer's review shows it")

	clock.Advance(31 * 24 * time.Hour)
	ds, err = s.Disclosures(ctx, u.ID)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	assert.Equal(t, ViewLegalDisclosure, ds[0].View)
	assert.Equal(t, "court order HC-1", ds[0].Reason)
	require.NotNil(t, ds[0].Legal)
	assert.Equal(t, "name and email", ds[0].Legal.Disclosed)
	assert.Equal(t, 1, exported())

	// Unknown person, or a bar ending before the disclosure: refused.
	_, err = s.RecordLegalDisclosure(ctx, NewLegalDisclosure{UserID: NewID(), Basis: LegalSubpoena, Requester: "x", Disclosed: "y",
		DisclosedOn: day, RecordedBy: dpo.ID, RecorderRole: "operator"})
	assert.ErrorIs(t, err, ErrNotFound)
	_, err = s.RecordLegalDisclosure(ctx, NewLegalDisclosure{UserID: u.ID, Basis: LegalSubpoena, Requester: "x", Disclosed: "y",
		DisclosedOn: day, BarUntil: day.AddDate(0, 0, -1), RecordedBy: dpo.ID, RecorderRole: "operator"})
	assert.Error(t, err)

	// Erasure takes the register entry and the log row with the person.
	require.NoError(t, s.EraseUser(ctx, "test", u.ID))
	reg, err = s.LegalDisclosures(ctx, 10)
	require.NoError(t, err)
	assert.Empty(t, reg)
}

// TestUndertakingVersions: acceptance is per version of the text.
func TestUndertakingVersions(t *testing.T) {
	s := newTestStore(t)
	ctx := t.Context()
	u, err := s.CreateUser(ctx, newUser("staff"))
	require.NoError(t, err)
	v1, v2 := UndertakingVersion("text one"), UndertakingVersion("text two")
	assert.NotEqual(t, v1, v2)
	assert.Len(t, v1, 12)
	_, err = s.LatestUndertaking(ctx, u.ID)
	assert.ErrorIs(t, err, ErrNotFound)
	ok, err := s.AcceptedUndertaking(ctx, u.ID, v1)
	require.NoError(t, err)
	assert.False(t, ok)
	_, err = s.AcceptUndertaking(ctx, u.ID, v1)
	require.NoError(t, err)
	ok, err = s.AcceptedUndertaking(ctx, u.ID, v1)
	require.NoError(t, err)
	assert.True(t, ok)
	ok, err = s.AcceptedUndertaking(ctx, u.ID, v2)
	require.NoError(t, err)
	assert.False(t, ok, "a changed text must be accepted again")
	last, err := s.LatestUndertaking(ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, v1, last.Version)
	_, err = s.AcceptUndertaking(ctx, NewID(), v1)
	assert.ErrorIs(t, err, ErrNotFound)
}
