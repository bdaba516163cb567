package app

import (
	"net/http"
	"strings"

	"kelas/store/offsite"
	"kelas/views"
)

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
			v.Offsite.Error = tr(r, "operations.offsite.error", "reason", strings.TrimPrefix(err.Error(), offsite.ErrConfig.Error()+": "))
			return a.render(w, r, http.StatusUnprocessableEntity, views.Backups(a.page(r, tr(r, "operations.backups.title")), v))
		}
	}
	if err := a.store.SetOffsiteTarget(r.Context(), raw, u.ID); err != nil {
		return err
	}
	if raw == "" {
		a.redirect(w, r, "/console/backups", tr(r, "operations.offsite.flash.cleared"))
		return nil
	}
	a.redirect(w, r, "/console/backups", tr(r, "operations.offsite.flash.set", "target", offsite.Redact(raw)))
	return nil
}
