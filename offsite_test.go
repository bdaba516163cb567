package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"kelas/store"
	"kelas/store/crypt"
	"kelas/store/offsite/offsitetest"
)

// TestRestoreFromOffsiteCommand: `kelas backup` copies the pair to
// KELAS_BACKUP_TARGET and verifies it; on a new server (the old one lost)
// `kelas restore --from TARGET_URL` brings the data back; `--at` picks a
// pair by its stamp and names the ones there when it does not exist.
func TestRestoreFromOffsiteCommand(t *testing.T) {
	target := offsitetest.StartS3(t).URL
	secret := offsitetest.S3SecretKey
	dir := t.TempDir()
	getenv := env("KELAS_DATA", dir, "KELAS_BACKUP_TARGET", target,
		"KELAS_BACKUP_S3_ACCESS_KEY", offsitetest.S3AccessKey, "KELAS_BACKUP_S3_SECRET_KEY", secret)
	out, _, err := runCmd(t, getenv, "a strong passphrase\n", "admin", "create", "--email", "first@example.org")
	require.NoError(t, err)
	firstID := strings.Fields(out)[3]

	out, errOut, err := runCmd(t, getenv, "", "backup")
	require.NoError(t, err, errOut)
	assert.Regexp(t, `kelas-data-\S+\.age: verified at s3://kelas-backups/nightly`, out)
	assert.Regexp(t, `kelas-keys-\S+\.age: verified at s3://kelas-backups/nightly`, out)
	assert.NotContains(t, out+errOut, secret)
	stamp := regexpStamp.FindString(out)
	require.NotEmpty(t, stamp)

	doctorOut, _, _ := runCmd(t, getenv, "", "doctor")
	assert.Regexp(t, `ok\s+off-site\s+2 backup files verified at s3://kelas-backups/nightly`, doctorOut)
	assert.NotContains(t, doctorOut, secret)

	// A new server: an empty data directory with the master key put back.
	fresh := t.TempDir()
	key, err := os.ReadFile(filepath.Join(dir, crypt.MasterKeyFile))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(fresh, crypt.MasterKeyFile), key, 0o600))
	newEnv := env("KELAS_DATA", fresh,
		"KELAS_BACKUP_S3_ACCESS_KEY", offsitetest.S3AccessKey, "KELAS_BACKUP_S3_SECRET_KEY", secret)

	_, _, err = runCmd(t, newEnv, "", "restore", "--from", target, "--at", "20010101T000000Z")
	require.ErrorContains(t, err, "holds no data backup of 20010101T000000Z (it has: "+stamp+")")
	assert.NoFileExists(t, filepath.Join(fresh, store.MainDBFile))

	out, errOut, err = runCmd(t, newEnv, "", "restore", "--from", target, "--at", stamp)
	require.NoError(t, err, errOut)
	assert.Contains(t, out, "restored kelas.db and keys.db from s3://kelas-backups/nightly")
	assert.Contains(t, out, "keys from kelas-keys-"+stamp)

	st := openCLIStore(t, fresh)
	u, err := st.User(t.Context(), firstID)
	require.NoError(t, err)
	assert.Equal(t, "first@example.org", u.Email)
	require.NoError(t, st.Close())

	_, _, err = runCmd(t, newEnv, "", "restore", "--from", target, "a.age")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "either a backup FILE or --from")
}

var regexpStamp = regexp.MustCompile(`\d{8}T\d{6}Z`)

// TestRestoreFromSFTPCommand: the same through a real sshd: `kelas backup`
// copies the pair, `kelas restore --from sftp://…` brings it back on a new
// server, and a server whose host key changed is refused with the backup
// kept here.
func TestRestoreFromSFTPCommand(t *testing.T) {
	srv := offsitetest.StartSSHD(t)
	dir := t.TempDir()
	sftpEnv := []string{"KELAS_BACKUP_SFTP_KEY", srv.Creds.SFTPKeyFile, "KELAS_BACKUP_SFTP_KNOWN_HOSTS", srv.Creds.SFTPKnownHosts}
	getenv := env(append([]string{"KELAS_DATA", dir, "KELAS_BACKUP_TARGET", srv.URL}, sftpEnv...)...)
	out, _, err := runCmd(t, getenv, "a strong passphrase\n", "admin", "create", "--email", "first@example.org")
	require.NoError(t, err)
	firstID := strings.Fields(out)[3]
	out, errOut, err := runCmd(t, getenv, "", "backup")
	require.NoError(t, err, errOut)
	assert.Regexp(t, `kelas-keys-\S+\.age: verified at sftp://`, out)

	fresh := t.TempDir()
	key, err := os.ReadFile(filepath.Join(dir, crypt.MasterKeyFile))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(fresh, crypt.MasterKeyFile), key, 0o600))
	out, errOut, err = runCmd(t, env(append([]string{"KELAS_DATA", fresh}, sftpEnv...)...), "", "restore", "--from", srv.URL)
	require.NoError(t, err, errOut)
	assert.Contains(t, out, "restored kelas.db and keys.db from "+srv.URL)
	st := openCLIStore(t, fresh)
	_, err = st.User(t.Context(), firstID)
	require.NoError(t, err)
	require.NoError(t, st.Close())

	// Another host key at the same address: refused, the new backup kept.
	_, other := offsitetest.WriteSSHKey(t, filepath.Join(t.TempDir(), "other"))
	line := strings.SplitN(string(mustRead(t, srv.Creds.SFTPKnownHosts)), " ", 2)[0] + " " + string(ssh.MarshalAuthorizedKey(other))
	require.NoError(t, os.WriteFile(srv.Creds.SFTPKnownHosts, []byte(line), 0o600))
	out, _, err = runCmd(t, getenv, "", "backup")
	require.ErrorContains(t, err, "does not match KELAS_BACKUP_SFTP_KNOWN_HOSTS")
	paths := regexp.MustCompile(`\S+/backups/kelas-\S+\.age`).FindAllString(out, -1)
	require.Len(t, paths, 2, out)
	for _, p := range paths {
		assert.FileExists(t, p)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}
