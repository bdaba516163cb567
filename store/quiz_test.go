package store

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestShortAnswersCompareNormalised(t *testing.T) {
	q := Question{Kind: QuestionShort, Choices: []Choice{{ID: "a", Label: "Café", Correct: true}, {ID: "b", Label: "kedai  kopi", Correct: true}}}
	for typed, want := range map[string]bool{
		"café": true, "  CAFÉ ": true, "Cafe\u0301": true, "KEDAI KOPI": true, "kedai kopi": true,
		"cafe": false, "": false, "   ": false, "kedaikopi": false,
	} {
		assert.Equal(t, want, grade(q, Response{Text: typed}), "%q", typed)
	}
}

func TestChoiceGrading(t *testing.T) {
	single := Question{Kind: QuestionSingle, Choices: []Choice{{ID: "a", Correct: true}, {ID: "b"}, {ID: "c"}}}
	multi := Question{Kind: QuestionMultiple, Choices: []Choice{{ID: "a", Correct: true}, {ID: "b", Correct: true}, {ID: "c"}}}
	for name, tc := range map[string]struct {
		q      Question
		picked []string
		want   bool
	}{
		"single right":          {single, []string{"a"}, true},
		"single wrong":          {single, []string{"b"}, false},
		"single two picked":     {single, []string{"a", "b"}, false},
		"multiple all right":    {multi, []string{"b", "a"}, true},
		"multiple one missing":  {multi, []string{"a"}, false},
		"multiple one too many": {multi, []string{"a", "b", "c"}, false},
		"nothing picked":        {multi, nil, false},
	} {
		assert.Equal(t, tc.want, grade(tc.q, Response{Choices: tc.picked}), name)
	}
}

// TestQuizAttemptLimit: an attempt can start while the limit allows, an
// open one is reused, answers outside the attempt are refused, and the
// limit counts graded attempts.
func TestQuizAttemptLimit(t *testing.T) {
	s := newTestStore(t)
	ctx := t.Context()
	_, err := s.SeedMembers(ctx)
	require.NoError(t, err)
	m, err := s.MemberByName(ctx, "SME Corporation Malaysia")
	require.NoError(t, err)
	tr, err := s.CreateTraining(ctx, m.ID, "", TrainingInput{Title: "T", Summary: "s", Language: "en", Kind: KindSelfStudy, PassMark: 50, MaxAttempts: 1, Published: true})
	require.NoError(t, err)
	require.Equal(t, 1, tr.MaxAttempts)
	q, err := s.AddQuizQuestion(ctx, tr.ID, QuestionInput{Kind: QuestionTrueFalse, Prompt: "p",
		Choices: []Choice{{Label: ChoiceTrue}, {Label: ChoiceFalse, Correct: true}}})
	require.NoError(t, err)
	_, err = s.AddQuizQuestion(ctx, tr.ID, QuestionInput{Kind: QuestionTrueFalse, Prompt: "p",
		Choices: []Choice{{Label: ChoiceFalse}, {Label: ChoiceTrue, Correct: true}}})
	assert.ErrorIs(t, err, ErrBadQuestion, "true comes first")
	u, err := s.CreateUser(ctx, NewUser{Email: "a@example.org", FirstName: "F", Surname: "S", PasswordHash: "x",
		Role: RoleLearner, Country: "MY", Industry: "C", AcceptedPolicy: "2023-10-09"})
	require.NoError(t, err)
	require.NoError(t, s.Enrol(ctx, u.ID, tr.ID))

	st, err := s.StartSitting(ctx, u.ID, tr)
	require.NoError(t, err)
	again, err := s.StartSitting(ctx, u.ID, tr)
	require.NoError(t, err)
	assert.Equal(t, st.ID, again.ID, "the open attempt, not a new one")
	assert.Equal(t, st.Layout, again.Layout)
	assert.Equal(t, []string{q.Choices[0].ID, q.Choices[1].ID}, st.Layout[0].Choices, "true, then false")

	_, err = s.SubmitAttempt(ctx, u.ID, tr, st.ID, map[string]Response{NewID(): {Choices: []string{q.Choices[1].ID}}})
	assert.ErrorIs(t, err, ErrUnknownAnswer)
	_, err = s.SubmitAttempt(ctx, u.ID, tr, NewID(), map[string]Response{q.ID: {Choices: []string{q.Choices[1].ID}}})
	assert.ErrorIs(t, err, ErrNotFound)
	a, err := s.SubmitAttempt(ctx, u.ID, tr, st.ID, map[string]Response{q.ID: {Choices: []string{q.Choices[1].ID}}})
	require.NoError(t, err)
	assert.Equal(t, 100, a.Score)
	assert.True(t, a.Passed)
	_, err = s.SubmitAttempt(ctx, u.ID, tr, st.ID, map[string]Response{q.ID: {Choices: []string{q.Choices[1].ID}}})
	assert.ErrorIs(t, err, ErrNotFound, "an attempt is graded once")

	_, err = s.StartSitting(ctx, u.ID, tr)
	assert.ErrorIs(t, err, ErrNoAttemptsLeft)
	got, err := s.GradedAttempt(ctx, u.ID, tr.ID, a.ID)
	require.NoError(t, err)
	require.Len(t, got.Results, 1)
	assert.True(t, got.Results[0].Correct)
	assert.True(t, got.Results[0].Picked[q.Choices[1].ID])
}
