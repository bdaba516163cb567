package app

import (
	"net/http"

	"kelas/store"
	"kelas/views"
)

// POST /rights/export
//
// The person confirms their password (re-authentication), then the export
// is built in the background; its page shows progress.
func (a *App) handleExportRequest(w http.ResponseWriter, r *http.Request) {
	u := a.requireUser(w, r)
	if u == nil {
		return
	}
	if !u.Verified() {
		a.redirect(w, r, "/rights#portability", "Confirm your email address first: exports go only to confirmed accounts.")
		return
	}
	f, err := parseForm(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	ok, err := a.confirmPassword(r, u, f, "export-password")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if !ok {
		a.rightsFormError(w, r, u, f, nil)
		return
	}
	if job, err := a.store.LatestExport(r.Context(), u.ID); err == nil && job.Active() {
		a.redirect(w, r, "/rights/export/"+job.ID, "Your export is already being prepared.")
		return
	}
	id, err := a.startExport(r.Context(), u.ID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if _, err := a.openCase(r, u, store.NewCase{Kind: store.CasePortability, Status: store.CaseCompleted,
		Note: "Export prepared on request; downloadable for 7 days."}); err != nil {
		a.fail(w, r, err)
		return
	}
	a.redirect(w, r, "/rights/export/"+id, "Your export is being prepared.")
}

// exportJob loads the person's own export named in the path.
func (a *App) exportJob(w http.ResponseWriter, r *http.Request) (*store.User, store.ExportJob, bool) {
	u := a.requireUser(w, r)
	if u == nil {
		return nil, store.ExportJob{}, false
	}
	id := r.PathValue("id")
	if !store.ValidID(id) {
		a.fail(w, r, store.ErrNotFound)
		return u, store.ExportJob{}, false
	}
	job, err := a.store.Export(r.Context(), u.ID, id)
	if err != nil {
		a.fail(w, r, err)
		return u, job, false
	}
	return u, job, true
}

// GET /rights/export/{id}
func (a *App) handleExportStatus(w http.ResponseWriter, r *http.Request) {
	u, job, ok := a.exportJob(w, r)
	if !ok {
		return
	}
	v := views.ExportStatus{Job: job, Expired: job.Expired(a.clock()), Confirmed: a.recentlyConfirmed(r), TwoFactor: u.TwoFactor, Errors: views.Errors{}}
	if job.Active() {
		// Progress without JavaScript: the browser reloads the page.
		w.Header().Set("Refresh", "3")
	}
	a.render(w, r, http.StatusOK, views.ExportStatusPage(a.page(r, "Your export"), v))
}

// GET /rights/export/{id}/download
//
// Downloads need a password confirmed in this session within 30 minutes;
// otherwise the status page asks for it.
func (a *App) handleExportDownload(w http.ResponseWriter, r *http.Request) {
	u, job, ok := a.exportJob(w, r)
	if !ok {
		return
	}
	if !a.recentlyConfirmed(r) {
		http.Redirect(w, r, "/rights/export/"+job.ID, http.StatusSeeOther)
		return
	}
	a.serveExport(w, r, u.ID, job.ID)
}

// POST /rights/export/{id}/download
func (a *App) handleExportConfirm(w http.ResponseWriter, r *http.Request) {
	u, job, ok := a.exportJob(w, r)
	if !ok {
		return
	}
	f, err := parseForm(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	confirmed, err := a.confirmPassword(r, u, f, "password")
	if err == nil && confirmed {
		// The export holds everything: the second factor too.
		if confirmed, err = a.stepUp(r.Context(), u, f); !confirmed {
			a.sessions.Remove(r.Context(), "reauth_at")
		}
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if !confirmed {
		v := views.ExportStatus{Job: job, Expired: job.Expired(a.clock()), TwoFactor: u.TwoFactor, Errors: f.Errors}
		a.render(w, r, http.StatusUnprocessableEntity, views.ExportStatusPage(a.page(r, "Your export"), v))
		return
	}
	a.serveExport(w, r, u.ID, job.ID)
}
