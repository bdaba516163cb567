package store

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSettingsDefaultsSaveAndAudit(t *testing.T) {
	s := newTestStore(t)
	ctx := t.Context()
	st, err := s.Settings(ctx)
	require.NoError(t, err)
	assert.Equal(t, "kelas", st.Get(SettingSiteName), "a fresh install's name")
	assert.Equal(t, "UTC", st.Get(SettingDefaultTimezone))
	assert.False(t, st.ControllerComplete(), "no controller yet")
	assert.Zero(t, st.Revision)

	st, err = s.SaveSettings(ctx, "op1", 0, map[string]string{
		SettingSiteName: "Latihan UKM", SettingControllerName: "Programme Office", SettingControllerAddress: "Jl. Merdeka 1, Jakarta",
		SettingControllerEmail: "office@example.org", SettingDPOName: "Dewi Privacy-Officer-Marker",
	})
	require.NoError(t, err)
	assert.Equal(t, "Latihan UKM", st.Get(SettingSiteName))
	assert.True(t, st.ControllerComplete())
	assert.EqualValues(t, 1, st.Revision)

	// A form from the page before that save is refused and changes nothing.
	_, err = s.SaveSettings(ctx, "op2", 0, map[string]string{SettingSiteName: "Other"})
	require.ErrorIs(t, err, ErrStaleSettings)
	st, err = s.Settings(ctx)
	require.NoError(t, err)
	assert.Equal(t, "Latihan UKM", st.Get(SettingSiteName))

	// Saving the same values is no change: no new revision, no audit.
	st, err = s.SaveSettings(ctx, "op1", 1, map[string]string{SettingSiteName: "Latihan UKM"})
	require.NoError(t, err)
	assert.EqualValues(t, 1, st.Revision)

	// An empty value returns a key to its default.
	st, err = s.SaveSettings(ctx, "op1", 1, map[string]string{SettingSiteName: ""})
	require.NoError(t, err)
	assert.Equal(t, "kelas", st.Get(SettingSiteName))

	_, err = s.SaveSettings(ctx, "op1", st.Revision, map[string]string{"no_such_key": "x"})
	require.Error(t, err)

	st, err = s.SaveLogo(ctx, "op1", st.Revision, []byte("\x89PNG fake"))
	require.NoError(t, err)
	assert.Equal(t, []byte("\x89PNG fake"), st.Logo)

	log, err := s.AuditLog(ctx, 10)
	require.NoError(t, err)
	var changes []AuditEntry
	for _, e := range log {
		if e.Action == AuditSettingsChange {
			changes = append(changes, e)
		}
	}
	require.Len(t, changes, 3, "one entry per save that changed something")
	_, err = s.VerifyAudit(ctx)
	require.NoError(t, err)

	// The values are sealed: the officer's name is in no file.
	require.NoError(t, s.Close())
	files, err := filepath.Glob(filepath.Join(s.dir, "*"))
	require.NoError(t, err)
	found := false
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		assert.False(t, bytes.Contains(b, []byte("Privacy-Officer-Marker")), "%s holds a setting in plaintext", f)
		found = found || bytes.Contains(b, []byte("settings_revision"))
	}
	assert.True(t, found, "the grep reads the database files")
}
