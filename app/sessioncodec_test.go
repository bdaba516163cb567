package app

import (
	"bytes"
	"encoding/gob"
	"slices"
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

func TestCompactSessionEncoding(t *testing.T) {
	deadline := time.Date(2026, 3, 1, 9, 0, 0, 123, time.UTC)
	values := map[string]any{"uid": "abc", "epoch": int64(-3), "flash": "", "reauth_at": int64(1 << 40), "ok": true, "no": false}
	b, err := stableCodec{}.Encode(deadline, values)
	require.NoError(t, err)
	require.Equal(t, []byte{0, compactVersion}, b[:2], "kelas's own session values use the compact encoding")
	d, v, err := stableCodec{}.Decode(b)
	require.NoError(t, err)
	assert.True(t, deadline.Equal(d))
	assert.Equal(t, values, v)

	// Sessions written by the gob encoding before still open, and a value
	// of another type still falls back to it.
	var buf bytes.Buffer
	require.NoError(t, gob.NewEncoder(&buf).Encode(&stableSession{Deadline: deadline, Keys: []string{"uid"}, Values: []any{"abc"}}))
	d, v, err = stableCodec{}.Decode(buf.Bytes())
	require.NoError(t, err)
	assert.True(t, deadline.Equal(d))
	assert.Equal(t, map[string]any{"uid": "abc"}, v)
	other := map[string]any{"uid": "abc", "n": 3.5}
	b, err = stableCodec{}.Encode(deadline, other)
	require.NoError(t, err)
	assert.NotEqual(t, byte(0), b[0])
	_, v, err = stableCodec{}.Decode(b)
	require.NoError(t, err)
	assert.Equal(t, other, v)

	// Truncated or padded data is refused, never half read.
	good, err := stableCodec{}.Encode(deadline, values)
	require.NoError(t, err)
	for i := 2; i < len(good); i++ {
		_, _, err := stableCodec{}.Decode(good[:i])
		assert.Error(t, err, "truncated at %d", i)
	}
	_, _, err = stableCodec{}.Decode(append(slices.Clone(good), 0))
	assert.Error(t, err)
}

func FuzzCompactSessionDecode(f *testing.F) {
	b, _ := stableCodec{}.Encode(time.Unix(1, 0), map[string]any{"uid": "abc", "epoch": int64(2), "ok": true})
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) < 2 || b[0] != 0 || b[1] != compactVersion {
			return
		}
		d, v, err := stableCodec{}.Decode(b)
		if err != nil {
			return
		}
		again, err := stableCodec{}.Encode(d, v)
		if err != nil {
			t.Fatal(err)
		}
		if _, v2, err := (stableCodec{}).Decode(again); err != nil || len(v2) != len(v) {
			t.Fatalf("round trip: %v", err)
		}
	})
}
