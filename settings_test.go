package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"kelas/store"
)

// TestSettingsCommand: `kelas settings set` checks a value as the settings
// page does, saves it with an audit entry, and `show` lists it.
func TestSettingsCommand(t *testing.T) {
	dir := t.TempDir()
	getenv := env("KELAS_DATA", dir)
	_, _, err := runCmd(t, getenv, "a strong passphrase\n", "admin", "create", "--email", "ops@example.org")
	require.NoError(t, err, "creates the installation")

	out, _, err := runCmd(t, getenv, "", "settings", "set", "site_name", "Latihan UKM")
	require.NoError(t, err)
	assert.Contains(t, out, `site_name = "Latihan UKM"`)
	_, _, err = runCmd(t, getenv, "", "settings", "set", "controller_email", "not an address")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Enter an email address like name@example.org.")
	_, _, err = runCmd(t, getenv, "", "settings", "set", "accent_color", "#ffff00")
	require.ErrorContains(t, err, "contrast of only 1.0 to 1")
	_, stderr, err := runCmd(t, getenv, "", "settings", "set", "no_such", "x")
	var ue usageError
	require.ErrorAs(t, err, &ue)
	assert.Contains(t, stderr, "unknown setting")
	_, _, err = runCmd(t, getenv, "", "settings", "set", "logo", "x")
	require.ErrorContains(t, err, "upload it on /console/settings")

	out, _, err = runCmd(t, getenv, "", "settings", "show")
	require.NoError(t, err)
	assert.Regexp(t, `site_name\s+"Latihan UKM"`, out)
	assert.Regexp(t, `controller_email\s+""`, out, "the refused value was not saved")
	assert.Regexp(t, `default_language\s+"en"`, out, "defaults are listed")

	st := openCLIStore(t, dir)
	log, err := st.AuditLog(t.Context(), 3)
	require.NoError(t, err)
	require.Equal(t, store.AuditSettingsChange, log[0].Action)
	assert.Equal(t, store.ActorCLI, log[0].ActorID)
}
