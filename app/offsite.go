package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"kelas/store"
	"kelas/store/offsite"
	"kelas/views"
)

// offsiteURL is the off-site target in force: the one set on the console,
// else KELAS_BACKUP_TARGET. Empty means backups stay on this server.
func (a *App) offsiteURL(ctx context.Context) (string, error) {
	u, set, err := a.store.OffsiteTarget(ctx)
	if err != nil {
		return "", err
	}
	if set {
		return u, nil
	}
	return a.cfg.BackupTarget, nil
}

// openOffsite opens the target in force; nil without one.
func (a *App) openOffsite(ctx context.Context) (offsite.Target, error) {
	u, err := a.offsiteURL(ctx)
	if err != nil || u == "" {
		return nil, err
	}
	return offsite.Open(u, a.cfg.BackupCredentials)
}

// runOffsite uploads and verifies every backup file not yet at the target
// (new ones and earlier failures) and applies the retention rules there.
// Errors name the file and the cause, never a credential.
func (a *App) runOffsite(ctx context.Context) error {
	t, err := a.openOffsite(ctx)
	if err != nil || t == nil {
		return err
	}
	defer t.Close()
	up, uerr := a.store.UploadOffsite(ctx, t, a.cfg.OffsiteRetry)
	for _, f := range up {
		if f.State == store.OffsiteVerified {
			a.log.Info("backup copied off-site", "file", f.File, "target", t.String())
		}
	}
	removed, perr := a.store.PruneOffsite(ctx, t)
	for _, n := range removed {
		a.log.Info("off-site backup removed by retention", "file", n, "target", t.String())
	}
	return errors.Join(uerr, perr)
}

// runDrill is the weekly restore drill. Its failure is mailed to every
// operator; without a target there is nothing to drill.
func (a *App) runDrill(ctx context.Context) error {
	t, err := a.openOffsite(ctx)
	if err != nil || t == nil {
		return err
	}
	defer t.Close()
	d, err := a.store.RestoreDrill(ctx, t)
	if err == nil {
		a.log.Info("restore drill passed", "drill_id", d.ID, "file", d.File, "people", d.People, "live_people", d.LivePeople)
		return nil
	}
	a.log.Error("restore drill failed", "drill_id", d.ID, "err", err)
	ops, oerr := a.store.Operators(ctx)
	if oerr != nil {
		return errors.Join(err, oerr)
	}
	text := fmt.Sprintf("Hello,\n\nThe weekly restore drill of kelas failed: the newest off-site backup at %s could not be restored and checked.\n\n"+
		"Reason: %s\n\nThe live data is not affected. See /console/backups and run `kelas doctor` on the server, then fix the cause "+
		"before a backup is needed.\n\n-- \nkelas\n", t.String(), d.Error)
	for _, op := range ops {
		if qerr := a.queueMail(ctx, store.NewMail{UserID: op.ID, To: op.Email, Kind: "restore_drill_failed",
			Subject: "kelas: the restore drill failed", Text: text}); qerr != nil {
			err = errors.Join(err, qerr)
		}
	}
	return err
}

// POST /console/backups/target
func (a *App) handleBackupTarget(w http.ResponseWriter, r *http.Request) error {
	u := currentUser(r.Context())
	raw := strings.TrimSpace(r.PostFormValue("target"))
	if raw != "" {
		if _, err := offsite.Open(raw, a.cfg.BackupCredentials); err != nil {
			v, verr := a.backupsView(r)
			if verr != nil {
				return verr
			}
			// The message never repeats the URL: it may hold a pasted secret.
			v.Offsite.Field = ""
			v.Offsite.Error = "Not changed: " + strings.TrimPrefix(err.Error(), offsite.ErrConfig.Error()+": ") + "."
			return a.render(w, r, http.StatusUnprocessableEntity, views.Backups(a.page(r, "Backups"), v))
		}
	}
	if err := a.store.SetOffsiteTarget(r.Context(), raw, u.ID); err != nil {
		return err
	}
	if raw == "" {
		a.redirect(w, r, "/console/backups", "The target set here is cleared: KELAS_BACKUP_TARGET applies, if set.")
		return nil
	}
	a.redirect(w, r, "/console/backups", "Off-site target set to "+offsite.Redact(raw)+". The next backup is copied there.")
	return nil
}
