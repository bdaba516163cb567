package app

import (
	"bytes"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStableCodec(t *testing.T) {
	deadline := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	values := map[string]any{"uid": "abc", "epoch": int64(3), "flash": "hi", "reauth_at": int64(99), "ok": true, "z": "last"}
	first, err := stableCodec{}.Encode(deadline, values)
	require.NoError(t, err)
	for range 50 {
		again, err := stableCodec{}.Encode(deadline, values)
		require.NoError(t, err)
		require.True(t, bytes.Equal(first, again), "the same session encodes to the same bytes")
	}
	d, v, err := stableCodec{}.Decode(first)
	require.NoError(t, err)
	assert.True(t, deadline.Equal(d))
	assert.Equal(t, values, v)

	// Sessions written by scs's own codec before still open.
	old, err := scs.GobCodec{}.Encode(deadline, values)
	require.NoError(t, err)
	d, v, err = stableCodec{}.Decode(old)
	require.NoError(t, err)
	assert.True(t, deadline.Equal(d))
	assert.Equal(t, values, v)

	_, _, err = stableCodec{}.Decode([]byte("not gob"))
	assert.Error(t, err)
}
