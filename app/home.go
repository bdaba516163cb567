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
func (a *App) handleHome(w http.ResponseWriter, r *http.Request) error {
	v, err := a.homeView(r)
	if err != nil {
		return err
	}
	return a.render(w, r, http.StatusOK, views.Home(a.page(r, ""), v))
}

// GET /healthz
func (a *App) handleHealth(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := a.store.Ping(r.Context()); err != nil {
		a.log.Error("health check failed", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("unavailable\n"))
		return nil
	}
	w.Write([]byte("ok\n"))
	return nil
}

// handleNotFound answers every path no route claims.
func (a *App) handleNotFound(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return &Error{Status: http.StatusMethodNotAllowed, Key: "error.not_allowed"}
	}
	return errNotFound
}

// GET /favicon.ico
//
// Browsers ask for it at this fixed address whatever the pages link, so it
// is served here too, cached for a day (its hashed address in /static/ is
// cached for a year).
func (a *App) handleFavicon(w http.ResponseWriter, r *http.Request) error {
	b, err := fs.ReadFile(a.static, "favicon.ico")
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "image/x-icon")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	w.Header().Set("ETag", `"`+a.assets["favicon.ico"]+`"`)
	http.ServeContent(w, r, "favicon.ico", time.Time{}, bytes.NewReader(b))
	return nil
}

// GET /static/
// handleStatic serves the embedded static files. URLs carry a content hash
// (see asset), so a matching one may be cached for a year.
func (a *App) handleStatic(w http.ResponseWriter, r *http.Request) error {
	name := strings.TrimPrefix(path.Clean(r.URL.Path), "/static/")
	hash, ok := a.assets[name]
	if !ok {
		return errNotFound
	}
	b, err := fs.ReadFile(a.static, name)
	if err != nil {
		return err
	}
	if r.URL.Query().Get("v") == hash {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	w.Header().Set("ETag", `"`+hash+`"`)
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(b))
	return nil
}
