package app

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"kelas/doctor"
	"kelas/store"
	"kelas/store/offsite/offsitetest"
)

func offsiteServer(t *testing.T) (*testServer, *offsitetest.S3Server) {
	t.Helper()
	s3 := offsitetest.StartS3(t)
	ts := newTestServer(t, func(c *Config) {
		c.BackupCredentials = offsitetest.S3Creds()
		c.OffsiteRetry = store.OffsiteOptions{Attempts: 2, Backoff: 10 * time.Millisecond}
	})
	return ts, s3
}

func doctorCheck(t *testing.T, ts *testServer, name string) doctor.Check {
	t.Helper()
	for _, c := range doctor.Run(t.Context(), ts.store, doctor.Input{KeySource: "environment", BackupCredentials: ts.app.cfg.BackupCredentials,
		BackupTarget: ts.app.cfg.BackupTarget}) {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no doctor check %q", name)
	return doctor.Check{}
}

// TestBackupsConsoleOffsite: an operator sets the target on the console
// (refused with a reason when unusable, never echoing a secret; audited
// when set); a backup is then copied and verified, each file's state shows
// beside it, and doctor agrees.
func TestBackupsConsoleOffsite(t *testing.T) {
	ts, s3 := offsiteServer(t)
	op := loginAs(t, ts, "offsite", store.RoleOperator)

	res, body := ts.get(t, "/console/backups")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, doc(t, body).Find(`[data-testid="offsite"]`).Text(), "No off-site target is set")
	assert.Equal(t, doctor.CheckWarn, doctorCheck(t, ts, "off-site").Status)

	for _, bad := range []struct{ url, want string }{
		{"sftp://backup:hunter2@example.test/kelas", "put no password in KELAS_BACKUP_TARGET"},
		{"sftp://backup@example.test/kelas", "set KELAS_BACKUP_SFTP_KEY"},
		{"ftp://example.test/kelas", "must start with s3:// or sftp://"},
	} {
		res, body = ts.postForm(t, "/console/backups/target", url.Values{"target": {bad.url}})
		require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode, bad.url)
		assert.Contains(t, doc(t, body).Find(`[data-testid="error-target"]`).Text(), bad.want)
		assert.NotContains(t, body, "hunter2")
	}
	_, set, err := ts.store.OffsiteTarget(t.Context())
	require.NoError(t, err)
	assert.False(t, set, "a refused target is not saved")

	res, _ = ts.postForm(t, "/console/backups/target", url.Values{"target": {s3.URL}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	log, err := ts.store.AuditLog(t.Context(), 1)
	require.NoError(t, err)
	assert.Equal(t, store.AuditBackupTarget, log[0].Action)
	assert.Equal(t, op.ID, log[0].ActorID)

	res, _ = ts.postForm(t, "/console/backups/run", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	res, body = ts.get(t, "/console/backups")
	require.Equal(t, http.StatusOK, res.StatusCode)
	d := doc(t, body)
	bs, err := ts.store.Backups(t.Context(), 10)
	require.NoError(t, err)
	require.Len(t, bs, 2)
	for _, b := range bs {
		assert.Equal(t, "local", strings.TrimSpace(d.Find(`[data-testid="offsite-`+b.ID+`"]`).Text()), b.File)
	}
	// The console woke the off-site job; the scheduler runs it.
	require.True(t, ts.jobs.TakeWake("offsite"), "the off-site job was not woken")
	require.NoError(t, ts.jobs.RunNow(t.Context(), "offsite"))
	_, body = ts.get(t, "/console/backups")
	d = doc(t, body)
	assert.Equal(t, s3.URL, strings.TrimSpace(d.Find(`[data-testid="offsite-target"]`).Text()))
	for _, b := range bs {
		assert.Equal(t, "verified", strings.TrimSpace(d.Find(`[data-testid="offsite-`+b.ID+`"]`).Text()), b.File)
	}
	c := doctorCheck(t, ts, "off-site")
	assert.Equal(t, doctor.CheckOK, c.Status, c.Detail)
	assert.Contains(t, c.Detail, "2 backup files verified")
	assert.NotContains(t, ts.logs.String(), offsitetest.S3SecretKey)

	// The drill passes and says so.
	require.NoError(t, ts.jobs.RunNow(t.Context(), "restore_drill"))
	c = doctorCheck(t, ts, "restore drill")
	assert.Equal(t, doctor.CheckOK, c.Status, c.Detail)
	_, body = ts.get(t, "/console/backups")
	assert.Contains(t, doc(t, body).Find(`[data-testid="drill"]`).Text(), "passed")
}

// TestOffsiteFailureKeepsBackup: with wrong credentials the backup is
// still written and kept, the copy is marked failed with the reason on the
// console and in doctor, the secret appears nowhere, and the hourly job
// copies it once the credentials are right.
func TestOffsiteFailureKeepsBackup(t *testing.T) {
	s3 := offsitetest.StartS3(t)
	creds := offsitetest.S3Creds()
	creds.S3AccessKey = "AKIAWRONG"
	ts := newTestServer(t, func(c *Config) {
		c.BackupTarget, c.BackupCredentials = s3.URL, creds
		c.OffsiteRetry = store.OffsiteOptions{Attempts: 2, Backoff: 10 * time.Millisecond}
	})
	loginAs(t, ts, "offsite", store.RoleOperator)
	// The scheduled backup copies its pair at once.
	_, err := ts.jobs.Backup(t.Context(), store.OriginSchedule, store.ActorScheduler)
	require.NoError(t, err, "the backup itself succeeds")
	bs, err := ts.store.Backups(t.Context(), 10)
	require.NoError(t, err)
	require.Len(t, bs, 2)
	_, body := ts.get(t, "/console/backups")
	d := doc(t, body)
	assert.Contains(t, d.Find(`[data-testid="offsite-status"]`).Text(), "2 backup files could not be copied off-site")
	for _, b := range bs {
		assert.FileExists(t, ts.store.BackupPath(b))
		assert.Contains(t, d.Find(`[data-testid="offsite-`+b.ID+`"]`).Text(), "refused the credentials")
	}
	c := doctorCheck(t, ts, "off-site")
	assert.Equal(t, doctor.CheckFail, c.Status)
	assert.Contains(t, c.Detail, "refused the credentials")
	for _, out := range []string{ts.logs.String(), body, c.Detail} {
		assert.NotContains(t, out, offsitetest.S3SecretKey)
	}

	// The drill fails too, and every operator is mailed.
	require.Error(t, ts.jobs.RunNow(t.Context(), "restore_drill"))
	mails, err := ts.store.OutboxMails(t.Context(), 10)
	require.NoError(t, err)
	var drillMails int
	for _, m := range mails {
		if m.Kind == "restore_drill_failed" {
			drillMails++
			assert.Equal(t, "offsite@example.test", m.To)
		}
	}
	assert.Equal(t, 1, drillMails)
	assert.Equal(t, doctor.CheckFail, doctorCheck(t, ts, "restore drill").Status)

	// Fixed credentials: the next hourly run copies what failed.
	ts.app.cfg.BackupCredentials = offsitetest.S3Creds()
	_, fixed := newApp(t, ts.app.cfg, ts.store, ts.logs, ts.stdout) // a restart with them
	require.NoError(t, fixed.RunNow(t.Context(), "offsite"))
	c = doctorCheck(t, ts, "off-site")
	assert.Equal(t, doctor.CheckOK, c.Status, c.Detail)
}

// TestOffsiteUnusableTargetIsShown: a KELAS_BACKUP_TARGET whose credentials
// are missing is named on the console and failed by doctor; backups go on
// locally.
func TestOffsiteUnusableTargetIsShown(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.BackupTarget = "sftp://backup@192.0.2.1/srv/kelas" })
	loginAs(t, ts, "offsite", store.RoleOperator)
	bs, err := ts.jobs.Backup(t.Context(), store.OriginSchedule, store.ActorScheduler)
	require.NoError(t, err)
	require.Len(t, bs, 2)
	_, body := ts.get(t, "/console/backups")
	assert.Contains(t, doc(t, body).Find(`[data-testid="offsite-status"]`).Text(), "set KELAS_BACKUP_SFTP_KEY")
	c := doctorCheck(t, ts, "off-site")
	assert.Equal(t, doctor.CheckFail, c.Status)
	assert.Contains(t, c.Detail, "KELAS_BACKUP_SFTP_KEY")
}
