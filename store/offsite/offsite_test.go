package offsite

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRedact(t *testing.T) {
	cases := map[string]string{
		"s3://b/p?endpoint=http://127.0.0.1:9000&region=eu-1": "s3://b/p?endpoint=http://127.0.0.1:9000&region=eu-1",
		"s3://b/p?region=eu-1&secret=abc":                     "s3://b/p?region=eu-1",
		"sftp://user:pw@host:2222/backups":                    "sftp://user@host:2222/backups",
		"::":                                                  "(unparsable URL)",
	}
	for in, want := range cases {
		assert.Equal(t, want, Redact(in), in)
	}
}

func TestOpenRefusesUnusableTargets(t *testing.T) {
	s3 := Credentials{S3AccessKey: "a", S3SecretKey: "s"}
	cases := []struct {
		url   string
		creds Credentials
		want  string
	}{
		{"s3:///prefix", s3, "without a bucket"},
		{"s3://bucket/prefix", Credentials{}, "KELAS_BACKUP_S3_ACCESS_KEY"},
		{"sftp://host/path", Credentials{SFTPKeyFile: "k", SFTPKnownHosts: "h"}, "sftp://USER@HOST"},
		{"sftp://u@host/path", Credentials{SFTPKnownHosts: "h"}, "KELAS_BACKUP_SFTP_KEY"},
		{"sftp://u@host/path", Credentials{SFTPKeyFile: "k"}, "KELAS_BACKUP_SFTP_KNOWN_HOSTS"},
		{"sftp://u:secretpw@host/path", Credentials{}, "put no password"},
		{"https://example.test/", s3, "must start with s3:// or sftp://"},
	}
	for _, c := range cases {
		_, err := Open(c.url, c.creds)
		require.ErrorIs(t, err, ErrConfig, c.url)
		assert.Contains(t, err.Error(), c.want)
		assert.NotContains(t, err.Error(), "secretpw")
	}
	tg, err := Open("s3://bucket/a/b/?endpoint=https://objects.example.test&region=x", s3)
	require.NoError(t, err)
	assert.Equal(t, "s3://bucket/a/b/?endpoint=https://objects.example.test&region=x", tg.String())
}

// FuzzOpen: no target URL makes Open panic, and an error never repeats a
// password given in the URL.
func FuzzOpen(f *testing.F) {
	for _, s := range []string{"s3://b/p?endpoint=http://h:1", "sftp://u:pw@h/p", "sftp://u@h:22/", "%", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		tg, err := Open(raw, Credentials{S3AccessKey: "a", S3SecretKey: "s"})
		if err == nil {
			tg.Close()
			assert.NotContains(t, tg.String(), "\x00")
			return
		}
		if i := strings.Index(raw, ":pw@"); i >= 0 {
			assert.NotContains(t, err.Error(), ":pw@")
		}
	})
}
