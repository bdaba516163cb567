package app

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"

	"kelas/store"
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
func (a *App) serveExport(w http.ResponseWriter, r *http.Request, userID, exportID string) error {
	if !store.ValidID(exportID) {
		return store.ErrNotFound
	}
	j, err := a.store.Export(r.Context(), userID, exportID)
	if err != nil {
		return err
	}
	rc, err := a.store.OpenExportFile(r.Context(), userID, exportID)
	switch {
	case errors.Is(err, store.ErrExpired):
		return &Error{Status: http.StatusGone, Key: "error.export_expired", Args: []any{"days", plural{"duration.days", a.exportDays(r)}}, Cause: err}
	case errors.Is(err, store.ErrExportNotReady):
		return &Error{Status: http.StatusConflict, Key: "error.export_not_ready", Cause: err}
	case err != nil:
		return err
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
		return nil
	}
	if _, err := io.Copy(w, rc); err != nil {
		// The status is sent; all that is left is to say so in the log.
		a.log.Warn("export download interrupted", "request_id", requestID(r.Context()), "export_id", exportID, "err", err)
	}
	return nil
}

// exportDays is the download window, for the expired page.
func (a *App) exportDays(r *http.Request) int {
	if rule, err := a.store.RetentionRule(r.Context(), store.RetExports); err == nil && rule.Keep > 0 {
		return rule.Keep
	}
	return 7
}
