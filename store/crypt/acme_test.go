package crypt

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestACMEKeyIsItsOwn(t *testing.T) {
	master := NewDataKey()
	k, err := NewKeyring(master)
	require.NoError(t, err)
	a, err := k.ACMEKey()
	require.NoError(t, err)
	require.Len(t, a, KeySize)
	again, err := k.ACMEKey()
	require.NoError(t, err)
	assert.Equal(t, a, again, "derived, so nothing needs storing")
	assert.NotEqual(t, master, a)
	kek, err := k.kek(1)
	require.NoError(t, err)
	assert.NotEqual(t, kek, a, "not the key-wrapping key")

	other, err := NewKeyring(NewDataKey())
	require.NoError(t, err)
	b, err := other.ACMEKey()
	require.NoError(t, err)
	assert.NotEqual(t, a, b, "another master key, another ACME key")
}
