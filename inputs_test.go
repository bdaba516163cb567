package main

import (
	"net/netip"
	"strings"
	"testing"

	"filippo.io/age"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseBackupRecipients(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	require.NoError(t, err)
	id2, err := age.GenerateX25519Identity()
	require.NoError(t, err)
	got, err := parseBackupRecipients(" " + id.Recipient().String() + ", " + id2.Recipient().String())
	require.NoError(t, err)
	assert.Len(t, got, 2)
	got, err = parseBackupRecipients("")
	require.NoError(t, err)
	assert.Empty(t, got)
	_, err = parseBackupRecipients("age1notakey")
	assert.ErrorContains(t, err, "not an age public key")
	_, err = parseBackupRecipients(id.String())
	require.ErrorContains(t, err, "is a secret key")
	assert.NotContains(t, err.Error(), id.String()[16:30], "the error does not repeat the secret")
	_, err = parseBackupRecipients(strings.ToLower(id.String()))
	require.ErrorContains(t, err, "is a secret key")
}

func TestParseTrustedProxies(t *testing.T) {
	got, err := parseTrustedProxies("10.0.0.0/8, 192.0.2.7")
	require.NoError(t, err)
	assert.Equal(t, []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.7/32")}, got)
	_, err = parseTrustedProxies("10.0.0.0/8,nonsense")
	assert.Error(t, err)
}

// FuzzParseBackupRecipients: accepted recipients are age public keys whose
// text form parses back to the same key; a pasted secret key is refused
// without its text in the error.
func FuzzParseBackupRecipients(f *testing.F) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(id.Recipient().String())
	f.Add(id.Recipient().String() + ", " + id.Recipient().String())
	f.Add(id.String())
	f.Add("age1 nonsense,,")
	f.Fuzz(func(t *testing.T, v string) {
		rs, err := parseBackupRecipients(v)
		if err != nil {
			for _, field := range strings.Fields(v) {
				if len(field) > 20 && strings.Contains(err.Error(), field) {
					t.Fatalf("the error repeats the input %q", field)
				}
			}
			return
		}
		for _, r := range rs {
			x, ok := r.(*age.X25519Recipient)
			if !ok {
				t.Fatalf("unexpected recipient type %T", r)
			}
			again, err := age.ParseX25519Recipient(x.String())
			if err != nil || again.String() != x.String() {
				t.Fatal("recipient does not round-trip")
			}
		}
	})
}

func FuzzParseTrustedProxies(f *testing.F) {
	f.Add("10.0.0.0/8, 192.0.2.1")
	f.Add("::1/128,fe80::/10")
	f.Fuzz(func(t *testing.T, v string) {
		ps, err := parseTrustedProxies(v)
		if err != nil {
			return
		}
		for _, p := range ps {
			if !p.IsValid() {
				t.Fatalf("invalid prefix accepted from %q", v)
			}
		}
	})
}
