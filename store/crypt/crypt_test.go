package crypt

import (
	"bytes"
	"crypto/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newTestKeyring returns a keyring under a fresh random master key.
func newTestKeyring(tb testing.TB) *Keyring {
	tb.Helper()
	kr, err := NewKeyring(randomKey(tb))
	require.NoError(tb, err)
	return kr
}

func randomKey(tb testing.TB) []byte {
	tb.Helper()
	k := make([]byte, KeySize)
	_, err := rand.Read(k)
	require.NoError(tb, err)
	return k
}

func TestNewKeyringRejectsWrongLength(t *testing.T) {
	for _, n := range []int{0, 16, 31, 33, 64} {
		_, err := NewKeyring(make([]byte, n))
		assert.Error(t, err, "a %d-byte master key must be refused", n)
	}
	_, err := NewKeyring(make([]byte, KeySize))
	assert.NoError(t, err)
}

func TestNewDataKeyIsRandom(t *testing.T) {
	a, b := NewDataKey(), NewDataKey()
	assert.Len(t, a, KeySize)
	assert.Len(t, b, KeySize)
	assert.NotEqual(t, a, b)
	assert.NotEqual(t, make([]byte, KeySize), a)
}

func TestSealOpenRoundTrip(t *testing.T) {
	tests := []struct {
		name      string
		plaintext []byte
	}{
		{"empty", []byte{}},
		{"ascii", []byte("Zyxwvutsrq")},
		{"unicode", []byte("Nguyễn Thị Minh Khai — 山田")},
		{"binary", []byte{0, 1, 2, 255, 0}},
	}
	dk := NewDataKey()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sealed, err := Seal(dk, "users", "first_name", "row1", tt.plaintext)
			require.NoError(t, err)
			if len(tt.plaintext) > 0 {
				assert.False(t, bytes.Contains(sealed, tt.plaintext), "sealed value contains the plaintext")
			}
			got, err := Open(dk, "users", "first_name", "row1", sealed)
			require.NoError(t, err)
			assert.Equal(t, string(tt.plaintext), string(got))
		})
	}
}

func TestSealUsesFreshNonce(t *testing.T) {
	dk := NewDataKey()
	a, err := Seal(dk, "users", "email", "r", []byte("same@example.test"))
	require.NoError(t, err)
	b, err := Seal(dk, "users", "email", "r", []byte("same@example.test"))
	require.NoError(t, err)
	assert.NotEqual(t, a, b, "sealing the same value twice must not give the same bytes")
}

func TestSealRejectsBadKey(t *testing.T) {
	_, err := Seal(make([]byte, 16), "users", "email", "r", []byte("x"))
	assert.Error(t, err)
}

// TestOpenRefusesAnyOtherBinding is the heart of field sealing: a value only
// opens with the person's own key at its own table, column and row, and any
// change to its bytes is detected.
func TestOpenRefusesAnyOtherBinding(t *testing.T) {
	keyA, keyB := NewDataKey(), NewDataKey()
	const table, column, row = "users", "surname", "aaaaaaaaaaaaaaaaaaaaaaaaaa"
	sealed, err := Seal(keyA, table, column, row, []byte("Qwertyuiop"))
	require.NoError(t, err)

	flip := func(i int) []byte {
		b := bytes.Clone(sealed)
		b[i] ^= 0x01
		return b
	}
	tests := []struct {
		name   string
		key    []byte
		table  string
		column string
		row    string
		sealed []byte
	}{
		{"other person's data key", keyB, table, column, row, sealed},
		{"other table", keyA, "profiles", column, row, sealed},
		{"other column", keyA, table, "first_name", row, sealed},
		{"other row", keyA, table, column, "bbbbbbbbbbbbbbbbbbbbbbbbbb", sealed},
		{"binding fields shifted across separators", keyA, table + "\x00" + column, "", row, sealed},
		{"short key", keyA[:16], table, column, row, sealed},
		{"tampered version byte", keyA, table, column, row, flip(0)},
		{"tampered nonce", keyA, table, column, row, flip(5)},
		{"tampered ciphertext", keyA, table, column, row, flip(1 + 24 + 2)},
		{"tampered tag", keyA, table, column, row, flip(len(sealed) - 1)},
		{"truncated", keyA, table, column, row, sealed[:len(sealed)-1]},
		{"too short to hold a nonce", keyA, table, column, row, sealed[:10]},
		{"nil", keyA, table, column, row, nil},
		{"extra byte appended", keyA, table, column, row, append(bytes.Clone(sealed), 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pt, err := Open(tt.key, tt.table, tt.column, tt.row, tt.sealed)
			require.ErrorIs(t, err, ErrOpen)
			assert.Nil(t, pt)
		})
	}
	// The untouched value still opens: the failures above come from the
	// changed binding, not from a broken fixture.
	pt, err := Open(keyA, table, column, row, sealed)
	require.NoError(t, err)
	assert.Equal(t, "Qwertyuiop", string(pt))
}

func TestWrapUnwrap(t *testing.T) {
	kr := newTestKeyring(t)
	dk := NewDataKey()
	wrapped, err := kr.Wrap(1, "subject-a", dk)
	require.NoError(t, err)
	assert.False(t, bytes.Contains(wrapped, dk), "wrapped key contains the data key")

	got, err := kr.Unwrap(1, "subject-a", wrapped)
	require.NoError(t, err)
	assert.Equal(t, dk, got)

	tampered := bytes.Clone(wrapped)
	tampered[len(tampered)-3] ^= 0x80
	tests := []struct {
		name    string
		kr      *Keyring
		version int
		subject string
		wrapped []byte
	}{
		{"other subject", kr, 1, "subject-b", wrapped},
		{"other version", kr, 2, "subject-a", wrapped},
		{"other master key", newTestKeyring(t), 1, "subject-a", wrapped},
		{"tampered", kr, 1, "subject-a", tampered},
		{"truncated", kr, 1, "subject-a", wrapped[:len(wrapped)-1]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dk, err := tt.kr.Unwrap(tt.version, tt.subject, tt.wrapped)
			require.ErrorIs(t, err, ErrOpen)
			assert.Nil(t, dk)
		})
	}
}

func TestWrapVersionsUseDifferentKeys(t *testing.T) {
	kr := newTestKeyring(t)
	dk := NewDataKey()
	w1, err := kr.Wrap(1, "s", dk)
	require.NoError(t, err)
	w2, err := kr.Wrap(2, "s", dk)
	require.NoError(t, err)
	got, err := kr.Unwrap(2, "s", w2)
	require.NoError(t, err)
	assert.Equal(t, dk, got)
	_, err = kr.Unwrap(2, "s", w1)
	assert.ErrorIs(t, err, ErrOpen)
	_, err = kr.Unwrap(1, "s", w2)
	assert.ErrorIs(t, err, ErrOpen)
}

func TestWrapRejectsInvalidVersion(t *testing.T) {
	kr := newTestKeyring(t)
	for _, v := range []int{0, -1} {
		_, err := kr.Wrap(v, "s", NewDataKey())
		assert.Error(t, err, "version %d", v)
		_, err = kr.Unwrap(v, "s", []byte("anything"))
		assert.Error(t, err, "version %d", v)
	}
}

func TestUnwrapRefusesWrongSizedKey(t *testing.T) {
	// A value wrapped correctly but not of key size is not a data key.
	kr := newTestKeyring(t)
	w, err := kr.Wrap(1, "s", []byte("short"))
	require.NoError(t, err)
	_, err = kr.Unwrap(1, "s", w)
	assert.ErrorIs(t, err, ErrOpen)
}

func TestNormaliseEmail(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"alice@example.test", "alice@example.test"},
		{"Alice@Example.TEST", "alice@example.test"},
		{"  alice@example.test\t\n", "alice@example.test"},
		{"ALICE@EXAMPLE.TEST ", "alice@example.test"},
		{"jose\u0301@example.test", "jos\u00e9@example.test"}, // decomposed é becomes composed
		{"JOS\u00c9@example.test", "jos\u00e9@example.test"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			assert.Equal(t, tt.want, NormaliseEmail(tt.in))
		})
	}
}

func TestBlindIndex(t *testing.T) {
	kr := newTestKeyring(t)
	base := kr.BlindIndex("users.email", NormaliseEmail("qwertyuiopasdf@example.test"))
	require.Len(t, base, 32)

	t.Run("case and space insensitive through NormaliseEmail", func(t *testing.T) {
		for _, v := range []string{"QWERTYUIOPASDF@EXAMPLE.TEST", " QwertyuiopAsdf@Example.Test ", "qwertyuiopasdf@example.test\n"} {
			assert.Equal(t, base, kr.BlindIndex("users.email", NormaliseEmail(v)), v)
		}
	})
	t.Run("different value differs", func(t *testing.T) {
		assert.NotEqual(t, base, kr.BlindIndex("users.email", NormaliseEmail("qwertyuiopasdg@example.test")))
	})
	t.Run("purposes are separated", func(t *testing.T) {
		assert.NotEqual(t, base, kr.BlindIndex("users.phone", NormaliseEmail("qwertyuiopasdf@example.test")))
		// The separator keeps purpose and value from running together.
		assert.NotEqual(t, kr.BlindIndex("ab", "c"), kr.BlindIndex("a", "bc"))
	})
	t.Run("master keys are separated", func(t *testing.T) {
		other := newTestKeyring(t)
		assert.NotEqual(t, base, other.BlindIndex("users.email", NormaliseEmail("qwertyuiopasdf@example.test")))
	})
	t.Run("same master key gives the same index", func(t *testing.T) {
		again, err := NewKeyring(kr.master)
		require.NoError(t, err)
		assert.Equal(t, base, again.BlindIndex("users.email", NormaliseEmail("QWERTYUIOPASDF@example.test")))
	})
	t.Run("not the plain hash of the value", func(t *testing.T) {
		assert.False(t, bytes.Contains(base, []byte("qwertyuiopasdf")))
	})
}

func TestCheckValue(t *testing.T) {
	master := randomKey(t)
	kr, err := NewKeyring(master)
	require.NoError(t, err)
	same, err := NewKeyring(bytes.Clone(master))
	require.NoError(t, err)
	other := newTestKeyring(t)

	cv := kr.CheckValue()
	require.Len(t, cv, 32)
	assert.False(t, bytes.Contains(cv, master), "check value reveals the master key")

	tampered := bytes.Clone(cv)
	tampered[0] ^= 1
	tests := []struct {
		name  string
		kr    *Keyring
		value []byte
		want  bool
	}{
		{"own key", kr, cv, true},
		{"same master key, new keyring", same, cv, true},
		{"other master key", other, cv, false},
		{"tampered value", kr, tampered, false},
		{"empty value", kr, nil, false},
		{"truncated value", kr, cv[:16], false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.kr.MatchesCheckValue(tt.value))
		})
	}
}

func TestDerivedKeysAreDistinct(t *testing.T) {
	kr := newTestKeyring(t)
	k1, err := kr.kek(1)
	require.NoError(t, err)
	k2, err := kr.kek(2)
	require.NoError(t, err)
	keys := map[string][]byte{"master": kr.master, "blind": kr.blindKey, "check": kr.checkKey, "kek1": k1, "kek2": k2}
	for a, ka := range keys {
		for b, kb := range keys {
			if a < b {
				assert.NotEqual(t, ka, kb, "%s and %s keys are equal", a, b)
			}
		}
	}
}

// fieldPlaintext is a typical sealed field: a ~40-byte email address.
var fieldPlaintext = []byte("nguyen.thi.minh.khai@example-company.vn")

func BenchmarkSeal(b *testing.B) {
	dk := NewDataKey()
	b.SetBytes(int64(len(fieldPlaintext)))
	for b.Loop() {
		if _, err := Seal(dk, "users", "email", "aaaaaaaaaaaaaaaaaaaaaaaaaa", fieldPlaintext); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	dk := NewDataKey()
	sealed, err := Seal(dk, "users", "email", "aaaaaaaaaaaaaaaaaaaaaaaaaa", fieldPlaintext)
	require.NoError(b, err)
	b.SetBytes(int64(len(fieldPlaintext)))
	for b.Loop() {
		if _, err := Open(dk, "users", "email", "aaaaaaaaaaaaaaaaaaaaaaaaaa", sealed); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBlindIndex includes normalisation, as every email lookup does.
func BenchmarkBlindIndex(b *testing.B) {
	kr := newTestKeyring(b)
	for b.Loop() {
		kr.BlindIndex("users.email", NormaliseEmail(" Nguyen.Thi.Minh.Khai@Example-Company.VN "))
	}
}

// BenchmarkUnwrap is the cost of a data-key cache miss, once per person
// per process.
func BenchmarkUnwrap(b *testing.B) {
	kr := newTestKeyring(b)
	w, err := kr.Wrap(1, "aaaaaaaaaaaaaaaaaaaaaaaaaa", NewDataKey())
	require.NoError(b, err)
	for b.Loop() {
		if _, err := kr.Unwrap(1, "aaaaaaaaaaaaaaaaaaaaaaaaaa", w); err != nil {
			b.Fatal(err)
		}
	}
}
