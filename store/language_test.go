package store

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSetLanguage(t *testing.T) {
	s := newTestStore(t)
	ctx := t.Context()
	nu := newUser("speaker")
	nu.Language = "th"
	u, err := s.CreateUser(ctx, nu)
	require.NoError(t, err)
	assert.Equal(t, "th", u.Language, "registration stores the language given")

	require.NoError(t, s.SetLanguage(ctx, u.ID, "vi"))
	got, err := s.User(ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, "vi", got.Language)

	assert.ErrorIs(t, s.SetLanguage(ctx, "no-such-user", "id"), ErrNotFound)
}
