package app

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"

	"kelas/store"
	"kelas/views"
)

// Portability export (GDPR Art. 20, SPEC §6): the rights portal calls
// startExport after re-authenticating the person, and serveExport for the
// download link. The ZIP is built in the background from store.PersonalData
// and handed to the store as a stream, which seals it chunk by chunk: no
// plaintext copy ever reaches the disk.

// startExport queues an export of userID's data and builds it in the
// background (package jobs); it returns the export id at once. While an
// export of the person is already being built it returns that one's id
// instead of starting a second. The caller must have re-authenticated the
// person.
func (a *App) startExport(ctx context.Context, userID string) (string, error) {
	return a.bg.StartExport(ctx, userID)
}

// serveExport streams a ready export of userID as a ZIP download. An
// unknown id, or another person's, is 404; an expired one 410 with a page
// that says what to do; one still being built 409.
func (a *App) serveExport(w http.ResponseWriter, r *http.Request, userID, exportID string) {
	if !store.ValidID(exportID) {
		a.fail(w, r, store.ErrNotFound)
		return
	}
	j, err := a.store.Export(r.Context(), userID, exportID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	rc, err := a.store.OpenExportFile(r.Context(), userID, exportID)
	switch {
	case errors.Is(err, store.ErrExpired):
		a.notice(w, r, http.StatusGone, views.Notice{Heading: "This download has expired",
			Message: "Exports can be downloaded for " + strconv.Itoa(a.exportDays(r)) + " days after they are ready, and are then " +
				"deleted. You can ask for a new export of your data at any time.",
			LinkURL: "/rights#portability", LinkLabel: "Ask for a new export"})
		return
	case errors.Is(err, store.ErrExportNotReady):
		a.notice(w, r, http.StatusConflict, views.Notice{Heading: "Your export is not ready",
			Message: "It is still being prepared, or preparing it failed. The rights page shows how far it has got.",
			LinkURL: "/rights#portability", LinkLabel: "Back to your rights"})
		return
	case err != nil:
		a.fail(w, r, err)
		return
	}
	defer rc.Close()
	h := w.Header()
	h.Set("Content-Type", "application/zip")
	h.Set("Content-Disposition", `attachment; filename="kelas-export-`+j.ReadyAt.UTC().Format("2006-01-02")+`.zip"`)
	h.Set("Content-Length", strconv.FormatInt(j.Size, 10))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	if _, err := io.Copy(w, rc); err != nil {
		// The status is sent; all that is left is to say so in the log.
		a.log.Warn("export download interrupted", "request_id", requestID(r.Context()), "export_id", exportID, "err", err)
	}
}

// exportDays is the download window, for the expired page.
func (a *App) exportDays(r *http.Request) int {
	if rule, err := a.store.RetentionRule(r.Context(), store.RetExports); err == nil && rule.Keep > 0 {
		return rule.Keep
	}
	return 7
}
