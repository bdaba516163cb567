// Package doctor checks an installation of kelas for `kelas doctor`: the
// master key, backups and their off-site copies, mail, retention, the
// scheduler, the audit chain, erasures, HTTPS certificates and disk space.
// The console shows some of the same judgements, so their limits live here.
package doctor

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"kelas/store"
	"kelas/store/offsite"
)

// Check outcomes of `kelas doctor`.
const (
	CheckOK   = "ok"
	CheckWarn = "warn"
	CheckFail = "fail"
)

// Check is one line of the doctor's report. Details carry counts, ages,
// file names and settings, never personal data or secrets.
type Check struct {
	Name   string
	Status string
	Detail string
}

// Input is what `kelas doctor` knows besides the store: where the
// master key came from and the mail configuration.
type Input struct {
	KeySource   string // "environment" or the key file's path
	KeyWarnings []string
	SMTPURL     string
	// SMTPRelay reads SMTPURL as kelas's mailer does (jobs.SMTPRelay) and
	// names the relay, host:port.
	SMTPRelay func(rawURL string) (relay string, err error)
	Domain    string // KELAS_DOMAIN: automatic HTTPS for this name
	// BackupTarget is KELAS_BACKUP_TARGET (a target set on the console
	// takes its place); BackupCredentials its secrets, never printed.
	BackupTarget      string
	BackupCredentials offsite.Credentials
}

// Limits the doctor measures against.
const (
	BackupMaxAge     = 26 * time.Hour // daily schedule plus slack
	retentionMaxAge  = 50 * time.Hour
	outboxMaxWait    = time.Hour
	DiskWarnFree     = 1 << 30
	DiskFailFree     = 100 << 20
	DiskWarnFraction = 0.05
	drillMaxAge      = 8 * 24 * time.Hour // weekly plus slack
	offsiteMaxWait   = 2 * time.Hour      // a backup not verified off-site after this is late
)

// Run checks the installation: the master key, backups, mail, retention,
// the scheduler, the audit chain, erasures, HTTPS certificates and disk
// space.
func Run(ctx context.Context, st *store.Store, in Input) []Check {
	now := st.Now()
	var out []Check
	add := func(name, status, format string, args ...any) {
		out = append(out, Check{Name: name, Status: status, Detail: fmt.Sprintf(format, args...)})
	}

	// Master key.
	switch {
	case len(in.KeyWarnings) > 0:
		add("master key", CheckWarn, "%s", strings.Join(in.KeyWarnings, "; "))
	case in.KeySource == "environment":
		add("master key", CheckOK, "from KELAS_MASTER_KEY")
	default:
		add("master key", CheckOK, "from %s, outside the data directory", in.KeySource)
	}
	if ks, err := st.KeyStatus(ctx); err != nil {
		add("key check", CheckFail, "%v", err)
	} else {
		add("key check", CheckOK, "the key matches this data; wrapping key version %d, %d data keys (%d on older versions)",
			ks.CurrentVersion, ks.DataKeys, ks.OnOldVersions)
	}

	// Backups.
	if bs, err := st.BackupStatus(ctx); err != nil {
		add("backups", CheckFail, "%v", err)
	} else {
		switch {
		case bs.Failing:
			add("backups", CheckFail, "the last backup attempt (%s) failed: %s", bs.LastFailure.CreatedAt.Format(time.RFC3339), bs.LastFailure.Error)
		case bs.LastGood.ID == "":
			add("backups", CheckWarn, "no backup has been taken yet: run `kelas backup`, or let `kelas serve` take one at 02:00 UTC")
		case now.Sub(bs.LastGood.CreatedAt) > BackupMaxAge:
			add("backups", CheckFail, "the last good backup is %s old (%s); backups are due daily", ago(now, bs.LastGood.CreatedAt), bs.LastGood.File)
		default:
			add("backups", CheckOK, "last good backup %s ago (%s); %d files, %s on disk", ago(now, bs.LastGood.CreatedAt),
				bs.LastGood.File, bs.FilesOnDisk, byteSize(bs.BytesOnDisk))
		}
		if bs.MissingOnDisk > 0 {
			add("backup files", CheckWarn, "%d recorded backups are missing from %s", bs.MissingOnDisk, filepath.Join(st.Dir(), store.BackupsDir))
		}
	}

	out = append(out, offsiteChecks(ctx, st, in)...)

	// Mail.
	if in.SMTPURL == "" {
		add("mail", CheckWarn, "KELAS_SMTP_URL is not set: mail waits in the outbox and links are printed on the console")
	} else if in.SMTPRelay == nil {
		add("mail", CheckWarn, "KELAS_SMTP_URL is set but was not checked")
	} else if relay, err := in.SMTPRelay(in.SMTPURL); err != nil {
		add("mail", CheckFail, "%v", err)
	} else {
		add("mail", CheckOK, "SMTP relay %s", relay)
	}
	if ob, err := st.OutboxStats(ctx); err != nil {
		add("outbox", CheckFail, "%v", err)
	} else {
		status, detail := CheckOK, fmt.Sprintf("%d queued, %d sent, %d failed", ob.Queued, ob.Sent, ob.Failed)
		if !ob.OldestQueued.IsZero() {
			detail += fmt.Sprintf("; the oldest queued mail waits for %s", ago(now, ob.OldestQueued))
			if now.Sub(ob.OldestQueued) > outboxMaxWait {
				status = CheckWarn
			}
		}
		if ob.Failed > 0 {
			status = CheckWarn
		}
		add("outbox", status, "%s", detail)
	}

	// Scheduler and retention.
	jobs, err := st.Jobs(ctx)
	if err != nil {
		add("scheduler", CheckFail, "%v", err)
	}
	byName := map[string]store.Job{}
	var failing []string
	for _, j := range jobs {
		byName[j.Name] = j
		if j.LastError != "" {
			failing = append(failing, j.Name+": "+j.LastError)
		}
	}
	switch {
	case err != nil:
	case len(jobs) == 0:
		add("scheduler", CheckWarn, "no job has been scheduled yet: `kelas serve` runs them")
	case len(failing) > 0:
		add("scheduler", CheckWarn, "last run failed: %s", strings.Join(failing, "; "))
	default:
		add("scheduler", CheckOK, "%d jobs, none failing", len(jobs))
	}
	if j, ok := byName["retention"]; !ok || j.LastOKAt.IsZero() {
		add("retention", CheckWarn, "retention has not run yet (daily at 03:00 UTC under `kelas serve`)")
	} else if now.Sub(j.LastOKAt) > retentionMaxAge {
		add("retention", CheckFail, "retention last succeeded %s ago; it is due daily", ago(now, j.LastOKAt))
	} else {
		detail := fmt.Sprintf("last run %s ago", ago(now, j.LastOKAt))
		if last, err := st.LastPurges(ctx); err == nil {
			var parts []string
			for _, c := range store.RetentionCategories() {
				if r, ok := last[c]; ok && (r.Rows > 0 || r.Held) {
					p := fmt.Sprintf("%s %d", c, r.Rows)
					if r.Held {
						p = c + " held"
					}
					parts = append(parts, p)
				}
			}
			if len(parts) > 0 {
				detail += "; purged " + strings.Join(parts, ", ")
			}
		}
		add("retention", CheckOK, "%s", detail)
	}

	// Audit chain and erasures.
	if bad, err := st.VerifyAudit(ctx); err != nil {
		add("audit log", CheckFail, "%v (first bad entry: %d)", err, bad)
	} else {
		add("audit log", CheckOK, "the hash chain verifies")
	}
	if head, anchored, err := st.AuditAnchorStatus(ctx); err != nil {
		add("audit anchor", CheckFail, "%v", err)
	} else if head > anchored {
		add("audit anchor", CheckFail, "audit entries %d to %d are not anchored in %s: they could be removed unnoticed; "+
			"run `kelas audit verify` to see why they do not verify", anchored+1, head, store.KeysDBFile)
	} else {
		add("audit anchor", CheckOK, "the newest entry (%d) is anchored in %s", head, store.KeysDBFile)
	}
	if js, err := st.JournalStatus(ctx); err != nil {
		add("journal", CheckFail, "%v: a restore would refuse it and new changes wait in the database; move %s out of the data "+
			"directory (keep it for investigation), then kelas starts a new journal at its next write; take a backup now",
			err, store.JournalFile)
	} else if js.Pending > 0 {
		add("journal", CheckWarn, "%d changes to compliance records wait to be copied to %s (they are, at the next write or start)",
			js.Pending, store.JournalFile)
	} else if js.Since.IsZero() {
		add("journal", CheckOK, "no compliance record changed yet")
	} else {
		add("journal", CheckOK, "%d changes to compliance records since %s, kept for restores", js.Records, js.Since.Format(time.DateTime))
	}
	if stray, err := store.StrayCopies(st.Dir()); err != nil {
		add("stray copies", CheckWarn, "%v", err)
	} else if len(stray) > 0 {
		var list []string
		for _, c := range stray {
			list = append(list, c.Path+" ("+c.Why+")")
		}
		add("stray copies", CheckFail, "readable database copies in the data directory escape erasure: %s; "+
			"delete them, or keep them only encrypted off the server", strings.Join(list, ", "))
	} else {
		add("stray copies", CheckOK, "no database copies besides kelas.db and keys.db")
	}
	if total, pending, err := st.TombstonesPending(ctx); err != nil {
		add("erasures", CheckFail, "%v", err)
	} else if pending > 0 {
		add("erasures", CheckFail, "%d of %d erased people still have data here: start `kelas serve` (it erases them again) or restore again", pending, total)
	} else {
		add("erasures", CheckOK, "%d erased people, none left in the data", total)
	}

	// HTTPS certificates in DATA/acme.
	if c, err := st.ACMECache(); err != nil {
		add("certificate", CheckFail, "%v", err)
	} else if state, err := c.State(ctx); err != nil {
		add("certificate", CheckFail, "%v", err)
	} else {
		for _, s := range CertStatuses(now, in.Domain, state) {
			add("certificate", s.Status, "%s", s.Detail)
		}
	}

	// Disk.
	free, total, err := DiskFree(st.Dir())
	switch {
	case err != nil:
		add("disk", CheckWarn, "cannot measure free space: %v", err)
	case free < DiskFailFree:
		add("disk", CheckFail, "only %s free on the data disk", byteSize(int64(free)))
	case free < DiskWarnFree || float64(free) < DiskWarnFraction*float64(total) || free < 2*uint64(DBSize(st.Dir())):
		add("disk", CheckWarn, "%s free of %s; backups need room for a copy of the database", byteSize(int64(free)), byteSize(int64(total)))
	default:
		add("disk", CheckOK, "%s free of %s", byteSize(int64(free)), byteSize(int64(total)))
	}
	return out
}

// DBSize is the size of kelas.db and its WAL.
func DBSize(dir string) int64 {
	var n int64
	for _, f := range []string{store.MainDBFile, store.MainDBFile + "-wal"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err == nil {
			n += st.Size()
		}
	}
	return n
}

// ago is a rough duration for people: "3h", "2d 4h".
func ago(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd %dh", int(d.Hours())/24, int(d.Hours())%24)
}

func byteSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// offsiteChecks report the off-site copies from the records (doctor does
// not contact the target): files failing to upload, remote copies the
// retention rules could not remove, and the last restore drill.
func offsiteChecks(ctx context.Context, st *store.Store, in Input) []Check {
	var out []Check
	add := func(name, status, format string, args ...any) {
		out = append(out, Check{Name: name, Status: status, Detail: fmt.Sprintf(format, args...)})
	}
	now := st.Now()
	raw := in.BackupTarget
	if u, set, err := st.OffsiteTarget(ctx); err != nil {
		add("off-site", CheckFail, "%v", err)
		return out
	} else if set {
		raw = u
	}
	if raw == "" {
		add("off-site", CheckWarn, "no off-site target: the backups exist only on this server; set KELAS_BACKUP_TARGET (s3://… or sftp://…)")
		return out
	}
	t, err := offsite.Open(raw, in.BackupCredentials)
	if err != nil {
		add("off-site", CheckFail, "%v", err)
		return out
	}
	t.Close()
	ofs, err := st.OffsiteStatus(ctx, t.String())
	if err != nil {
		add("off-site", CheckFail, "%v", err)
		return out
	}
	verified, late := 0, 0
	for _, f := range ofs.Files {
		switch {
		case f.State == store.OffsiteVerified:
			verified++
		case f.State != store.OffsiteFailed && now.Sub(f.Stamp) > offsiteMaxWait:
			late++
		}
	}
	switch {
	case len(ofs.Failing) > 0:
		add("off-site", CheckFail, "%d backup files could not be copied to %s (kept here, retried hourly); %s: %s",
			len(ofs.Failing), t, ofs.Failing[0].File, ofs.Failing[0].Error)
	case late > 0:
		add("off-site", CheckWarn, "%d backup files are not yet verified at %s", late, t)
	default:
		add("off-site", CheckOK, "%d backup files verified at %s", verified, t)
	}
	switch {
	case len(ofs.Overdue) > 0:
		add("off-site pruning", CheckFail, "%d keys backups at %s are past the keys window and not removed (%s): "+
			"erased people's keys outlive the documented window there", len(ofs.Overdue), t, ofs.Overdue[0].File)
	case len(ofs.DeleteFailing) > 0:
		add("off-site pruning", CheckFail, "%d copies at %s could not be removed by retention (retried hourly); %s: %s",
			len(ofs.DeleteFailing), t, ofs.DeleteFailing[0].File, ofs.DeleteFailing[0].DeleteError)
	default:
		add("off-site pruning", CheckOK, "the retention rules are applied at %s", t)
	}
	d := ofs.LastDrill
	switch {
	case d.ID == "":
		add("restore drill", CheckWarn, "no restore drill has run yet (weekly on Monday at 04:00 UTC under `kelas serve`)")
	case !d.OK:
		add("restore drill", CheckFail, "the restore drill of %s failed: %s", d.FinishedAt.Format(time.RFC3339), d.Error)
	case now.Sub(d.FinishedAt) > drillMaxAge:
		add("restore drill", CheckWarn, "the last restore drill passed %s ago; it is due weekly", ago(now, d.FinishedAt))
	default:
		add("restore drill", CheckOK, "passed %s ago: %s restored and checked, %d people in the copy, %d live",
			ago(now, d.FinishedAt), d.File, d.People, d.LivePeople)
	}
	return out
}
