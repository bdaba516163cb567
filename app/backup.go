package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"

	"filippo.io/age"

	"kelas/store"
	"kelas/store/offsite"
	"kelas/views"
)

// ParseBackupRecipients reads KELAS_BACKUP_RECIPIENT: age public keys
// (age1...), comma- or space-separated, that backups are also encrypted to,
// such as an offline recovery key whose secret never touches the server.
func ParseBackupRecipients(v string) ([]age.Recipient, error) {
	var out []age.Recipient
	for i, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' }) {
		// Errors never repeat the value: it may be a secret key pasted by
		// mistake.
		if strings.HasPrefix(strings.ToUpper(f), "AGE-SECRET-KEY-") {
			return nil, fmt.Errorf("backup recipient %d is a secret key: give its public key (age-keygen -y) and keep the secret offline", i+1)
		}
		r, err := age.ParseX25519Recipient(f)
		if err != nil {
			return nil, fmt.Errorf("backup recipient %d is not an age public key (age1...)", i+1)
		}
		out = append(out, r)
	}
	return out, nil
}

// runBackup takes a backup now (data and keys) and prunes old ones.
func (a *App) runBackup(ctx context.Context, origin, actor string) ([]store.Backup, error) {
	bs, err := a.store.Backup(ctx, store.BackupOptions{Origin: origin, Actor: actor, Recipients: a.cfg.BackupRecipients})
	for _, b := range bs {
		a.log.Info("backup written", "backup_id", b.ID, "kind", b.Kind, "file", b.File, "bytes", b.Size)
	}
	if err != nil {
		a.log.Error("backup failed", "origin", origin, "err", err)
		return bs, err
	}
	// The copy off the server follows at once: inside the scheduled job,
	// or, for a backup asked for on the console, by waking the off-site
	// job so nobody waits on a slow or unreachable target. Its failure
	// does not fail the backup: the local files stay, the state shows on
	// the console and in `kelas doctor`, and the hourly job tries again.
	if origin != store.OriginSchedule {
		select {
		case a.offsiteWake <- struct{}{}:
		default:
		}
		return bs, nil
	}
	if oerr := a.runOffsite(ctx); oerr != nil {
		a.log.Error("off-site copy failed", "err", oerr)
	}
	return bs, nil
}

// backupsPageSize is how many records the console lists.
const backupsPageSize = 60

// GET /console/backups
func (a *App) handleBackups(w http.ResponseWriter, r *http.Request) error {

	v, err := a.backupsView(r)
	if err != nil {
		return err
	}
	return a.render(w, r, http.StatusOK, views.Backups(a.page(r, "Backups"), v))
}

// backupsView gathers the backups page: records, status, the off-site
// target with each file's state there, and the last restore drill.
func (a *App) backupsView(r *http.Request) (views.BackupsView, error) {
	ctx := r.Context()
	v := views.BackupsView{Nav: a.consoleNav(ctx, actorFrom(ctx))}
	var err error
	if v.Backups, err = a.store.Backups(ctx, backupsPageSize); err != nil {
		return v, err
	}
	if v.Status, err = a.store.BackupStatus(ctx); err != nil {
		return v, err
	}
	if j, err := a.store.Job(ctx, "backup"); err == nil {
		v.Job = &j
	}
	v.Offline = len(a.cfg.BackupRecipients) > 0
	set, fromConsole, err := a.store.OffsiteTarget(ctx)
	if err != nil {
		return v, err
	}
	target := a.cfg.BackupTarget
	if fromConsole {
		target, v.Offsite.Field = set, set
	}
	v.Offsite.FromConsole = fromConsole
	if target != "" {
		v.Offsite.Target = offsite.Redact(target)
		if t, err := offsite.Open(target, a.cfg.BackupCredentials); err != nil {
			v.Offsite.Unusable = err.Error()
		} else {
			t.Close()
		}
	}
	if v.Offsite.Status, err = a.store.OffsiteStatus(ctx, v.Offsite.Target); err != nil {
		return v, err
	}
	v.Offsite.States = map[string]store.OffsiteFile{}
	for _, f := range v.Offsite.Status.Files {
		v.Offsite.States[f.File] = f
	}
	if j, err := a.store.Job(ctx, "restore_drill"); err == nil {
		v.Offsite.DrillJob = &j
	}
	return v, nil
}

// POST /console/backups/run
func (a *App) handleBackupRun(w http.ResponseWriter, r *http.Request) error {
	u := currentUser(r.Context())
	// The backup finishes even if the browser gives up waiting.
	bs, err := a.runBackup(context.WithoutCancel(r.Context()), store.OriginConsole, u.ID)
	if err != nil {
		a.redirect(w, r, "/console/backups", "The backup failed. The reason is in the list below.")
		return nil
	}
	names := make([]string, len(bs))
	for i, b := range bs {
		names[i] = b.File
	}
	a.redirect(w, r, "/console/backups", "Backup written: "+strings.Join(names, ", ")+".")
	return nil
}

// GET /console/backups/{id}/download
func (a *App) handleBackupDownload(w http.ResponseWriter, r *http.Request) error {
	u := currentUser(r.Context())
	id := r.PathValue("id")
	if !store.ValidID(id) {
		return store.ErrNotFound
	}
	b, err := a.store.BackupByID(r.Context(), id)
	if err != nil {
		return err
	}
	if !b.OK || !b.DeletedAt.IsZero() {
		return store.ErrNotFound
	}
	f, err := os.Open(a.store.BackupPath(b))
	if errors.Is(err, os.ErrNotExist) {
		return store.ErrNotFound
	}
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	// Every download is audited before a byte leaves; no audit, no download.
	if err := a.store.Audit(r.Context(), store.AuditEntry{ActorID: u.ID, Action: store.AuditBackupDownload, TargetType: "backup",
		TargetID: b.ID, Details: map[string]any{"file": b.File, "kind": b.Kind}}); err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Disposition", `attachment; filename="`+b.File+`"`)
	h.Set("Content-Length", strconv.FormatInt(st.Size(), 10))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		if _, err := io.Copy(w, f); err != nil {
			a.log.Warn("backup download interrupted", "backup_id", b.ID, "request_id", requestID(r.Context()))
		}
	}
	return nil
}
