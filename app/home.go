package app

import (
	"bytes"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"kelas/views"
)

// GET /{$}
func (a *App) handleHome(w http.ResponseWriter, r *http.Request) {
	a.render(w, r, http.StatusOK, views.Home(a.page(r, "")))
}

// GET /healthz
func (a *App) handleHealth(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := a.store.Ping(r.Context()); err != nil {
		a.log.Error("health check failed", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("unavailable\n"))
		return
	}
	w.Write([]byte("ok\n"))
}

// handleNotFound answers every path no route claims.
func (a *App) handleNotFound(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		a.errorPage(w, r, http.StatusMethodNotAllowed)
		return
	}
	a.errorPage(w, r, http.StatusNotFound)
}

// GET /static/
// handleStatic serves the embedded static files. URLs carry a content hash
// (see asset), so a matching one may be cached for a year.
func (a *App) handleStatic(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(path.Clean(r.URL.Path), "/static/")
	hash, ok := a.assets[name]
	if !ok {
		a.errorPage(w, r, http.StatusNotFound)
		return
	}
	b, err := fs.ReadFile(a.static, name)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if r.URL.Query().Get("v") == hash {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	w.Header().Set("ETag", `"`+hash+`"`)
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(b))
}
