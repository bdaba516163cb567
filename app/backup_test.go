package app

import (
	"bytes"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"kelas/doctor"
	"kelas/jobs"
	"kelas/store"
)

// TestBackupsConsoleRunListDownload: an operator backs up from the console,
// sees both files in the list, downloads one (audited, byte for byte the
// file on disk, encrypted also to the offline key) and gets 404 for ids
// that are not downloadable.
func TestBackupsConsoleRunListDownload(t *testing.T) {
	offline, err := age.GenerateX25519Identity()
	require.NoError(t, err)
	ts := newTestServer(t, func(c *Config) { c.BackupRecipients = []age.Recipient{offline.Recipient()} })
	op := loginAs(t, ts, "backups", store.RoleOperator)

	res, body := ts.get(t, "/console/backups")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, doc(t, body).Find(`[data-testid="backup-status"]`).Text(), "No backup has been taken yet")

	res, _ = ts.postForm(t, "/console/backups/run", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Contains(t, flashOf(t, ts, "/console/backups"), "Backup written: kelas-data-")

	bs, err := ts.store.Backups(t.Context(), 10)
	require.NoError(t, err)
	require.Len(t, bs, 2)
	res, body = ts.get(t, "/console/backups")
	require.Equal(t, http.StatusOK, res.StatusCode)
	d := doc(t, body)
	for _, b := range bs {
		row := d.Find(`[data-testid="backup-` + b.ID + `"]`)
		assert.Contains(t, row.Text(), b.SHA256)
		assert.Equal(t, "/console/backups/"+b.ID+"/download", row.Find("a").AttrOr("href", ""))
	}

	data := bs[0]
	if data.Kind != store.BackupData {
		data = bs[1]
	}
	res, body = ts.get(t, "/console/backups/"+data.ID+"/download")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, `attachment; filename="`+data.File+`"`, res.Header.Get("Content-Disposition"))
	onDisk, err := os.ReadFile(ts.store.BackupPath(data))
	require.NoError(t, err)
	assert.Equal(t, onDisk, []byte(body))
	sum := sha256.Sum256([]byte(body))
	assert.Equal(t, data.SHA256, hex.EncodeToString(sum[:]))
	_, err = age.Decrypt(bytes.NewReader([]byte(body)), offline)
	assert.NoError(t, err, "the offline recovery key decrypts it")

	log, err := ts.store.AuditLog(t.Context(), 1)
	require.NoError(t, err)
	assert.Equal(t, store.AuditBackupDownload, log[0].Action)
	assert.Equal(t, op.ID, log[0].ActorID)
	assert.Equal(t, data.ID, log[0].TargetID)

	res, _ = ts.get(t, "/console/backups/"+store.NewID()+"/download")
	assert.Equal(t, http.StatusNotFound, res.StatusCode)
	res, _ = ts.get(t, "/console/backups/..%2F..%2Fkelas.db/download")
	assert.Equal(t, http.StatusNotFound, res.StatusCode)
	require.NoError(t, os.Remove(ts.store.BackupPath(data)))
	res, _ = ts.get(t, "/console/backups/"+data.ID+"/download")
	assert.Equal(t, http.StatusNotFound, res.StatusCode, "a file gone from disk")
}

// TestBackupFailureIsVisible fills the backups directory's place with a
// file so the backup cannot be written: the console says so, the half-done
// files are gone, and the failure is recorded.
func TestBackupFailureIsVisible(t *testing.T) {
	ts := newTestServer(t)
	loginAs(t, ts, "failing", store.RoleOperator)
	require.NoError(t, os.WriteFile(filepath.Join(ts.store.Dir(), store.BackupsDir), []byte("not a directory"), 0o600))
	res, _ := ts.postForm(t, "/console/backups/run", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Contains(t, flashOf(t, ts, "/console/backups"), "The backup failed")
	assert.Contains(t, ts.logs.String(), "backup failed")
	res, body := ts.get(t, "/console/backups")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, doc(t, body).Find(`[data-testid="backup-status"]`).Text(), "The last backup failed")
	status, err := ts.store.BackupStatus(t.Context())
	require.NoError(t, err)
	assert.True(t, status.Failing)

	for _, c := range doctor.Run(t.Context(), ts.store, doctor.Input{KeySource: "environment"}) {
		if c.Name == "backups" {
			assert.Equal(t, doctor.CheckFail, c.Status, "doctor reports the failure")
			assert.Contains(t, c.Detail, "failed")
		}
	}

	require.NoError(t, os.Remove(filepath.Join(ts.store.Dir(), store.BackupsDir)))
	_, err = ts.jobs.Backup(t.Context(), store.OriginSchedule, store.ActorScheduler)
	require.NoError(t, err, "works again once the directory can be created")
}

func TestDoctorReport(t *testing.T) {
	ts := newTestServer(t)
	checks := doctor.Run(t.Context(), ts.store, doctor.Input{KeySource: "environment"})
	byName := map[string]doctor.Check{}
	for _, c := range checks {
		byName[c.Name] = c
		assert.NotContains(t, c.Detail, "@", "no addresses in the report")
	}
	assert.Equal(t, doctor.CheckOK, byName["master key"].Status)
	assert.Equal(t, doctor.CheckOK, byName["key check"].Status)
	assert.Equal(t, doctor.CheckWarn, byName["backups"].Status, "no backup yet")
	assert.Equal(t, doctor.CheckWarn, byName["mail"].Status, "no SMTP")
	assert.Equal(t, doctor.CheckWarn, byName["retention"].Status, "not run yet")
	assert.Equal(t, doctor.CheckOK, byName["audit log"].Status)
	assert.Equal(t, doctor.CheckOK, byName["erasures"].Status)
	assert.Contains(t, []string{doctor.CheckOK, doctor.CheckWarn}, byName["disk"].Status)

	_, err := ts.jobs.Backup(t.Context(), store.OriginCLI, store.ActorCLI)
	require.NoError(t, err)
	require.NoError(t, ts.jobs.RunNow(t.Context(), "retention"))
	checks = doctor.Run(t.Context(), ts.store, doctor.Input{KeySource: "/etc/kelas/key", SMTPURL: "smtp://user:s3cret@mail.example.test:2525", SMTPRelay: jobs.SMTPRelay})
	byName = map[string]doctor.Check{}
	for _, c := range checks {
		byName[c.Name] = c
		assert.NotContains(t, c.Detail, "s3cret")
	}
	assert.Equal(t, doctor.CheckOK, byName["backups"].Status, byName["backups"].Detail)
	assert.Equal(t, doctor.CheckOK, byName["mail"].Status)
	assert.Contains(t, byName["mail"].Detail, "mail.example.test:2525")
	// The retention job never ran under the scheduler, so it still warns.
	assert.Equal(t, doctor.CheckWarn, byName["retention"].Status)

	ts.clock.Add(27 * time.Hour)
	checks = doctor.Run(t.Context(), ts.store, doctor.Input{KeySource: "environment"})
	for _, c := range checks {
		if c.Name == "backups" {
			assert.Equal(t, doctor.CheckFail, c.Status)
			assert.True(t, strings.Contains(c.Detail, "old"), c.Detail)
		}
	}
}

// TestDoctorReportsStrayCopiesAndUnanchoredAudit: a readable database copy
// in the data directory (whatever its name) and audit entries the anchor in
// keys.db does not cover are both failures of `kelas doctor`.
func TestDoctorReportsStrayCopiesAndUnanchoredAudit(t *testing.T) {
	ts := newTestServer(t)
	check := func(name string) doctor.Check {
		t.Helper()
		for _, c := range doctor.Run(t.Context(), ts.store, doctor.Input{KeySource: "environment"}) {
			if c.Name == name {
				return c
			}
		}
		t.Fatalf("no %q check", name)
		return doctor.Check{}
	}
	require.NoError(t, ts.store.Audit(t.Context(), store.AuditEntry{ActorID: store.ActorCLI, Action: "test.entry"}))
	assert.Equal(t, doctor.CheckOK, check("stray copies").Status, "control: nothing stray yet")
	assert.Equal(t, doctor.CheckOK, check("audit anchor").Status, "control: the head is anchored")
	assert.Equal(t, doctor.CheckOK, check("journal").Status)

	dir := ts.store.Dir()
	db, err := os.ReadFile(filepath.Join(dir, store.KeysDBFile))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "keys-copy.bak"), db, 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, store.MainDBFile+".before-restore"), []byte("old"), 0o600))
	c := check("stray copies")
	assert.Equal(t, doctor.CheckFail, c.Status)
	assert.Contains(t, c.Detail, "keys-copy.bak (unencrypted SQLite database)")
	assert.Contains(t, c.Detail, "kelas.db.before-restore")

	// An entry written behind the store's back (no anchor update).
	raw, err := sql.Open("sqlite", "file:"+filepath.Join(dir, store.MainDBFile))
	require.NoError(t, err)
	defer raw.Close()
	_, err = raw.Exec(`INSERT INTO audit_log (seq, at, actor_id, action, target_type, target_id, details, prev_hash, hash)
		SELECT seq + 1, at, actor_id, 'forged', target_type, target_id, details, hash, hash FROM audit_log ORDER BY seq DESC LIMIT 1`)
	require.NoError(t, err)
	c = check("audit anchor")
	assert.Equal(t, doctor.CheckFail, c.Status)
	assert.Contains(t, c.Detail, "not anchored")
	assert.Equal(t, doctor.CheckFail, check("audit log").Status)
}
