package store

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestContractorGrant: a grant naming a recipient lets the recipient's
// staff see the granting Member's listed trainings' learners inside the
// window, and nobody else: not the granting Member's own staff, not for
// other trainings, not after the window, revocation or a deactivation.
func TestContractorGrant(t *testing.T) {
	c := newTestClock()
	s := openTestStore(t, t.TempDir(), newMasterKey(t), c.Now)
	ctx := t.Context()
	owner, err := s.CreateMember(ctx, MemberInput{Name: "Ministry of Cooperatives", Country: "MY", Kind: "government", Active: true})
	require.NoError(t, err)
	contractor, err := s.CreateMember(ctx, MemberInput{Name: "Nusantara Tech Support", Country: "MY", Kind: "private", Active: true})
	require.NoError(t, err)
	dormant, err := s.CreateMember(ctx, MemberInput{Name: "Dormant Support", Kind: "private", Active: false})
	require.NoError(t, err)
	in := TrainingInput{Summary: "s", Language: "en", Kind: KindSelfStudy, Published: true}
	in.Title = "Granted"
	granted, err := s.CreateTraining(ctx, owner.ID, "", in)
	require.NoError(t, err)
	in.Title = "Not granted"
	other, err := s.CreateTraining(ctx, owner.ID, "", in)
	require.NoError(t, err)
	ayu, err := s.CreateUser(ctx, newUser("ayu"))
	require.NoError(t, err)
	budi, err := s.CreateUser(ctx, newUser("budi"))
	require.NoError(t, err)
	require.NoError(t, s.Enrol(ctx, ayu.ID, granted.ID))
	require.NoError(t, s.Enrol(ctx, ayu.ID, other.ID))
	require.NoError(t, s.Enrol(ctx, budi.ID, other.ID))

	now := s.Now()
	ng := NewGrant{MemberID: owner.ID, RecipientID: contractor.ID, TrainingIDs: []string{granted.ID}, Purpose: "run the certificate system",
		ValidFrom: now, ValidUntil: now.Add(time.Hour), GrantedBy: "op"}

	t.Run("bad recipients", func(t *testing.T) {
		for name, id := range map[string]string{"unknown": NewID(), "inactive": dormant.ID} {
			bad := ng
			bad.RecipientID = id
			_, err := s.CreateGrant(ctx, bad)
			assert.ErrorIs(t, err, ErrGrantRecipient, name)
		}
		gs, err := s.Grants(ctx, "")
		require.NoError(t, err)
		assert.Empty(t, gs, "nothing stored")
	})
	t.Run("the owner named as recipient is no contractor", func(t *testing.T) {
		self := ng
		self.RecipientID = owner.ID
		g, err := s.CreateGrant(ctx, self)
		require.NoError(t, err)
		assert.Empty(t, g.RecipientID)
		assert.Equal(t, owner.ID, g.Beneficiary())
		require.NoError(t, s.RevokeGrant(ctx, g.ID, "op"))
	})

	g, err := s.CreateGrant(ctx, ng)
	require.NoError(t, err)
	assert.Equal(t, contractor.ID, g.RecipientID)
	assert.Equal(t, "Nusantara Tech Support", g.RecipientName)
	assert.Equal(t, "Ministry of Cooperatives", g.MemberName)
	assert.Equal(t, contractor.ID, g.Beneficiary())
	for _, m := range []string{owner.ID, contractor.ID} {
		gs, err := s.Grants(ctx, m)
		require.NoError(t, err)
		assert.True(t, slices.ContainsFunc(gs, func(x Grant) bool { return x.ID == g.ID }), "both Members list the grant")
	}
	gs, err := s.Grants(ctx, dormant.ID)
	require.NoError(t, err)
	assert.Empty(t, gs)

	id, err := s.ActiveGrantFor(ctx, contractor.ID, granted.ID)
	require.NoError(t, err)
	assert.Equal(t, g.ID, id)
	_, err = s.ActiveGrantFor(ctx, owner.ID, granted.ID)
	assert.ErrorIs(t, err, ErrNotFound, "the owner's own staff gain nothing from a contractor grant")
	_, err = s.ActiveGrantFor(ctx, contractor.ID, other.ID)
	assert.ErrorIs(t, err, ErrNotFound, "a training the grant does not list")

	gid, trainings, err := s.GrantedLearner(ctx, contractor.ID, ayu.ID)
	require.NoError(t, err)
	assert.Equal(t, g.ID, gid)
	assert.Equal(t, []string{granted.ID}, trainings, "only the listed training of hers")
	_, _, err = s.GrantedLearner(ctx, contractor.ID, budi.ID)
	assert.ErrorIs(t, err, ErrNotFound, "a learner of other trainings only")
	_, _, err = s.GrantedLearner(ctx, owner.ID, ayu.ID)
	assert.ErrorIs(t, err, ErrNotFound)

	// A deactivated contractor loses access while inactive.
	require.NoError(t, s.UpdateMember(ctx, contractor.ID, MemberInput{Name: contractor.Name, Country: "MY", Kind: "private", Active: false}))
	_, err = s.ActiveGrantFor(ctx, contractor.ID, granted.ID)
	assert.ErrorIs(t, err, ErrNotFound, "inactive contractor")
	require.NoError(t, s.UpdateMember(ctx, contractor.ID, MemberInput{Name: contractor.Name, Country: "MY", Kind: "private", Active: true}))

	// The disclosure names the contractor as the viewer's Member and the
	// owner as the grant's.
	require.NoError(t, s.RecordDisclosures(ctx, Disclosure{ViewerID: "v", ViewerRole: string(RoleMemberStaff), MemberID: contractor.ID,
		View: ViewLearnerRecord, GrantID: g.ID}, ayu.ID))
	ds, err := s.Disclosures(ctx, ayu.ID)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	assert.Equal(t, contractor.ID, ds[0].MemberID)
	assert.Equal(t, "Nusantara Tech Support", ds[0].MemberName)
	assert.Equal(t, owner.ID, ds[0].GrantMemberID)
	assert.Equal(t, "Ministry of Cooperatives", ds[0].GrantMemberName)
	assert.True(t, ds[0].Contractor())
	assert.Contains(t, ds[0].Under, "working for Ministry of Cooperatives")

	c.Advance(time.Hour) // the end of the window is exclusive
	_, err = s.ActiveGrantFor(ctx, contractor.ID, granted.ID)
	assert.ErrorIs(t, err, ErrNotFound, "after the window")
	_, _, err = s.GrantedLearner(ctx, contractor.ID, ayu.ID)
	assert.ErrorIs(t, err, ErrNotFound, "after the window")

	ng.ValidFrom, ng.ValidUntil = s.Now(), s.Now().Add(time.Hour)
	g2, err := s.CreateGrant(ctx, ng)
	require.NoError(t, err)
	_, err = s.ActiveGrantFor(ctx, contractor.ID, granted.ID)
	require.NoError(t, err)
	require.NoError(t, s.RevokeGrant(ctx, g2.ID, "op"))
	_, err = s.ActiveGrantFor(ctx, contractor.ID, granted.ID)
	assert.ErrorIs(t, err, ErrNotFound, "after revocation")
}
