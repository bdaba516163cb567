package store

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestContentWritesStayInTheirTraining: moving, hiding, editing and
// deleting name the training in SQL, so a part of another training is
// ErrNotFound and left alone; moves stop at the ends.
func TestContentWritesStayInTheirTraining(t *testing.T) {
	s := newTestStore(t)
	ctx := t.Context()
	_, err := s.SeedMembers(ctx)
	require.NoError(t, err)
	m, err := s.MemberByName(ctx, "SME Corporation Malaysia")
	require.NoError(t, err)
	in := TrainingInput{Title: "T", Summary: "s", Language: "en", Kind: KindLive, PassMark: 50, Published: true}
	a, err := s.CreateTraining(ctx, m.ID, "", in)
	require.NoError(t, err)
	b, err := s.CreateTraining(ctx, m.ID, "", in)
	require.NoError(t, err)
	var ids []string
	for _, title := range []string{"one", "two", "three"} {
		mt, err := s.AddMaterial(ctx, a.ID, "", MaterialInput{Kind: MaterialPage, Title: title, BodyMD: "x", Required: true})
		require.NoError(t, err)
		ids = append(ids, mt.ID)
	}
	order := func() []string {
		ms, err := s.Materials(ctx, a.ID)
		require.NoError(t, err)
		var out []string
		for _, m := range ms {
			out = append(out, m.Title)
		}
		return out
	}
	moved, err := s.MoveMaterial(ctx, a.ID, ids[0], -1)
	require.NoError(t, err)
	assert.False(t, moved, "the first cannot move up")
	moved, err = s.MoveMaterial(ctx, a.ID, ids[2], -1)
	require.NoError(t, err)
	assert.True(t, moved)
	assert.Equal(t, []string{"one", "three", "two"}, order())
	moved, err = s.MoveMaterial(ctx, a.ID, ids[1], 1)
	require.NoError(t, err)
	assert.False(t, moved, "the last cannot move down")

	_, err = s.MoveMaterial(ctx, b.ID, ids[0], 1)
	assert.ErrorIs(t, err, ErrNotFound)
	assert.ErrorIs(t, s.SetMaterialHidden(ctx, b.ID, ids[0], true), ErrNotFound)
	assert.ErrorIs(t, s.UpdateMaterial(ctx, b.ID, ids[0], MaterialEdit{Title: "x"}), ErrNotFound)
	assert.ErrorIs(t, s.DeleteMaterial(ctx, b.ID, ids[0]), ErrNotFound)
	assert.Equal(t, []string{"one", "three", "two"}, order(), "nothing changed through another training")

	require.NoError(t, s.SetMaterialHidden(ctx, a.ID, ids[1], true))
	visible, err := s.StudyMaterials(ctx, a.ID)
	require.NoError(t, err)
	assert.Len(t, visible, 2)

	u, err := s.CreateUser(ctx, NewUser{Email: "l@example.org", FirstName: "L", Surname: "S", PasswordHash: "x", Role: RoleLearner,
		AcceptedPolicy: "2023-10-09"})
	require.NoError(t, err)
	require.NoError(t, s.Enrol(ctx, u.ID, a.ID))
	next, err := s.NextMaterials(ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, ids[0], next[a.ID].ID)
	require.NoError(t, s.RecordMaterialView(ctx, u.ID, ids[0]))
	next, err = s.NextMaterials(ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, ids[2], next[a.ID].ID, "the next one not done, in order, hidden ones skipped")

	se, err := s.AddSession(ctx, a.ID, time.Now().Add(time.Hour), time.Now().Add(2*time.Hour))
	require.NoError(t, err)
	require.NoError(t, s.MarkAttendance(ctx, se.ID, u.ID, "x"))
	assert.ErrorIs(t, s.DeleteSession(ctx, a.ID, se.ID), ErrAttended, "attendance records are not deleted with a session")
	assert.ErrorIs(t, s.DeleteSession(ctx, b.ID, se.ID), ErrNotFound, "another training's session")

	require.NoError(t, s.LeaveTraining(ctx, u.ID, a.ID))
	assert.ErrorIs(t, s.LeaveTraining(ctx, u.ID, a.ID), ErrNotFound)
	viewed, err := s.ViewedMaterials(ctx, u.ID, a.ID)
	require.NoError(t, err)
	assert.Empty(t, viewed)
	assert.Equal(t, "while the account exists", RetentionOf("quiz_attempts", "score"))
}
