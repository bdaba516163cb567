package app

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"

	"kelas/store"
	"kelas/store/offsite"
	"kelas/views"
)

// backupsPageSize is how many records the console lists.
const backupsPageSize = 60

// GET /console/backups
func (a *App) handleBackups(w http.ResponseWriter, r *http.Request) error {

	v, err := a.backupsView(r)
	if err != nil {
		return err
	}
	return a.render(w, r, http.StatusOK, views.Backups(a.page(r, tr(r, "operations.backups.title")), v))
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
	bs, err := a.bg.Backup(context.WithoutCancel(r.Context()), store.OriginConsole, u.ID)
	if err != nil {
		a.redirect(w, r, "/console/backups", tr(r, "operations.backups.flash.failed"))
		return nil
	}
	names := make([]string, len(bs))
	for i, b := range bs {
		names[i] = b.File
	}
	a.redirect(w, r, "/console/backups", tr(r, "operations.backups.flash.written", "files", strings.Join(names, ", ")))
	return nil
}

// GET /console/backups/{id}/download
func (a *App) handleBackupDownload(w http.ResponseWriter, r *http.Request) error {
	u := currentUser(r.Context())
	id, err := pathID(r, "id")
	if err != nil {
		return err
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
