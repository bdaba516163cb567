package app

import (
	"context"
	"net/http"

	"kelas/store"
	"kelas/views"
)

// POST /rights/export
//
// The person confirms their password (re-authentication), then the export
// is built in the background; its page shows progress.
func (a *App) handleExportRequest(w http.ResponseWriter, r *http.Request) error {
	u := currentUser(r.Context())
	if !u.Verified() {
		a.redirect(w, r, "/rights#portability", tr(r, "rights.portability.unverified"))
		return nil
	}
	f, err := parseForm(r)
	if err != nil {
		return err
	}
	ok, err := a.confirmPassword(r, u, f, "export-password")
	if err != nil {
		return err
	}
	if !ok {
		return a.rightsFormError(w, r, u, f, nil)
	}
	if job, err := a.store.LatestExport(r.Context(), u.ID); err == nil && job.Active() {
		a.redirect(w, r, "/rights/export/"+job.ID, tr(r, "export.flash.already"))
		return nil
	}
	id, err := a.startExport(r.Context(), u.ID)
	if err != nil {
		return err
	}
	if _, err := a.openCase(r, u, store.NewCase{Kind: store.CasePortability, Status: store.CaseCompleted,
		Note: "Export prepared on request; downloadable for 7 days."}); err != nil {
		return err
	}
	a.redirect(w, r, "/rights/export/"+id, tr(r, "export.flash.started"))
	return nil
}

// exportJob loads the person's own export named in the path.
func (a *App) exportJob(r *http.Request) (*store.User, store.ExportJob, error) {
	u := currentUser(r.Context())
	job, err := load(r, "id", func(ctx context.Context, id string) (store.ExportJob, error) { return a.store.Export(ctx, u.ID, id) })
	return u, job, err
}

// GET /rights/export/{id}
func (a *App) handleExportStatus(w http.ResponseWriter, r *http.Request) error {
	u, job, err := a.exportJob(r)
	if err != nil {
		return err
	}
	v := views.ExportStatus{Job: job, Expired: job.Expired(a.clock()), Confirmed: a.recentlyConfirmed(r), TwoFactor: u.TwoFactor, Errors: views.Errors{}}
	if job.Active() {
		// Progress without JavaScript: the browser reloads the page.
		w.Header().Set("Refresh", "3")
	}
	return a.render(w, r, http.StatusOK, views.ExportStatusPage(a.page(r, tr(r, "export.page_title")), v))
}

// GET /rights/export/{id}/download
//
// Downloads need a password confirmed in this session within 30 minutes;
// otherwise the status page asks for it.
func (a *App) handleExportDownload(w http.ResponseWriter, r *http.Request) error {
	u, job, err := a.exportJob(r)
	if err != nil {
		return err
	}
	if !a.recentlyConfirmed(r) {
		http.Redirect(w, r, "/rights/export/"+job.ID, http.StatusSeeOther)
		return nil
	}
	return a.serveExport(w, r, u.ID, job.ID)
}

// POST /rights/export/{id}/download
func (a *App) handleExportConfirm(w http.ResponseWriter, r *http.Request) error {
	u, job, err := a.exportJob(r)
	if err != nil {
		return err
	}
	f, err := parseForm(r)
	if err != nil {
		return err
	}
	confirmed, err := a.confirmPassword(r, u, f, "password")
	if err == nil && confirmed {
		// The export holds everything: the second factor too.
		if confirmed, err = a.stepUp(r.Context(), u, f); !confirmed {
			a.sessions.Remove(r.Context(), "reauth_at")
		}
	}
	if err != nil {
		return err
	}
	if !confirmed {
		v := views.ExportStatus{Job: job, Expired: job.Expired(a.clock()), TwoFactor: u.TwoFactor, Errors: f.Errors}
		return a.render(w, r, http.StatusUnprocessableEntity, views.ExportStatusPage(a.page(r, tr(r, "export.page_title")), v))
	}
	return a.serveExport(w, r, u.ID, job.ID)
}
