package store

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCardsCountAndMoveOnWithTime: a card counts the materials learners
// see, the sessions and the people enrolled; its next session is the next
// one to start, and a cached list moves on once that session has started.
// A duplicated training takes its cover along.
func TestCardsCountAndMoveOnWithTime(t *testing.T) {
	clock := newTestClock()
	s := openTestStore(t, t.TempDir(), newMasterKey(t), clock.Now)
	ctx := t.Context()
	_, err := s.SeedMembers(ctx)
	require.NoError(t, err)
	m, err := s.MemberByName(ctx, "SME Corporation Malaysia")
	require.NoError(t, err)
	tr, err := s.CreateTraining(ctx, m.ID, "", TrainingInput{Title: "T", Summary: "s", Language: "en", Kind: KindLive, PassMark: 50, Published: true})
	require.NoError(t, err)
	for _, title := range []string{"one", "two"} {
		_, err := s.AddMaterial(ctx, tr.ID, "", MaterialInput{Kind: MaterialPage, Title: title, BodyMD: "x", Required: true})
		require.NoError(t, err)
	}
	hidden, err := s.AddMaterial(ctx, tr.ID, "", MaterialInput{Kind: MaterialPage, Title: "hidden", BodyMD: "x", Required: true})
	require.NoError(t, err)
	require.NoError(t, s.SetMaterialHidden(ctx, tr.ID, hidden.ID, true))
	now := clock.Now()
	first, second := now.Add(time.Hour).Truncate(time.Second), now.Add(50*time.Hour).Truncate(time.Second)
	for _, at := range []time.Time{now.Add(-time.Hour), first, second} {
		_, err := s.AddSession(ctx, tr.ID, at, at.Add(time.Hour))
		require.NoError(t, err)
	}
	require.NoError(t, s.Enrol(ctx, createUser(t, s, newUser("a")).ID, tr.ID))
	require.NoError(t, s.SetTrainingCover(ctx, tr.ID, []byte("png"), "image/png"))

	cards, err := s.Cards(ctx, CatalogueFilter{})
	require.NoError(t, err)
	require.Len(t, cards, 1)
	c := cards[0]
	assert.Equal(t, 2, c.Materials, "the hidden material is not counted")
	assert.Equal(t, 3, c.Sessions)
	assert.Equal(t, 1, c.Followers)
	assert.True(t, c.NextStart.Equal(first), "next start %s", c.NextStart)
	assert.False(t, c.CoverAt.IsZero())

	clock.Advance(2 * time.Hour) // the first has started; nothing was written
	cards, err = s.Cards(ctx, CatalogueFilter{})
	require.NoError(t, err)
	assert.True(t, cards[0].NextStart.Equal(second), "next start %s", cards[0].NextStart)

	cp, _, err := s.DuplicateTraining(ctx, tr.ID, "", "Copy")
	require.NoError(t, err)
	cover, err := s.TrainingCover(ctx, cp.ID)
	require.NoError(t, err)
	assert.Equal(t, []byte("png"), cover.Image)

	require.NoError(t, s.RemoveTrainingCover(ctx, tr.ID))
	_, err = s.TrainingCover(ctx, tr.ID)
	assert.ErrorIs(t, err, ErrNotFound)
}
