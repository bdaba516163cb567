package app

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"kelas/store"
)

// maxMaterialFileBytes bounds a training file upload.
const maxMaterialFileBytes = 20 << 20

// allowedFiles maps accepted file extensions to the type their content must
// sniff as, and the type they are served with. Anything else is refused.
var allowedFiles = map[string]struct{ sniff, serve string }{
	".pdf":  {"application/pdf", "application/pdf"},
	".png":  {"image/png", "image/png"},
	".jpg":  {"image/jpeg", "image/jpeg"},
	".jpeg": {"image/jpeg", "image/jpeg"},
	".txt":  {"text/plain; charset=utf-8", "text/plain; charset=utf-8"},
	".csv":  {"text/plain; charset=utf-8", "text/csv; charset=utf-8"},
	".docx": {"application/zip", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
	".xlsx": {"application/zip", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
	".pptx": {"application/zip", "application/vnd.openxmlformats-officedocument.presentationml.presentation"},
}

var (
	errFileName = &Error{Status: http.StatusUnprocessableEntity, Key: "file.name"}
	errFileType = &Error{Status: http.StatusUnprocessableEntity, Key: "file.type"}
)

// checkUpload validates a training file by name and by content: the
// extension must be allowed and the bytes must sniff as that kind.
func checkUpload(name string, data []byte) (cleanName, serveType string, err error) {
	if name == "" || !utf8.ValidString(name) || strings.ContainsAny(name, "/\\\x00") || name != filepath.Base(name) ||
		strings.HasPrefix(name, ".") || len(name) > 200 {
		return "", "", errFileName
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || r == '"' {
			return "", "", errFileName
		}
	}
	kind, ok := allowedFiles[strings.ToLower(filepath.Ext(name))]
	if !ok {
		return "", "", errFileName
	}
	sniffed := http.DetectContentType(data)
	if kind.sniff == "text/plain; charset=utf-8" {
		if !strings.HasPrefix(sniffed, "text/plain") || !utf8.Valid(data) {
			return "", "", errFileType
		}
	} else if sniffed != kind.sniff {
		return "", "", errFileType
	}
	return name, kind.serve, nil
}

// materialPath is where a material's file lives: under the data directory,
// named by the material's random id, never by anything a person typed.
func (a *App) materialPath(id string) string {
	return filepath.Join(a.cfg.DataDir, "files", id)
}

// saveMaterialFile writes an upload atomically and returns its checksum.
func (a *App) saveMaterialFile(id string, data []byte) (string, error) {
	dir := filepath.Join(a.cfg.DataDir, "files")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(dir, ".upload-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	if err := os.Rename(tmp.Name(), a.materialPath(id)); err != nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]), nil
}

func (a *App) openMaterialFile(m store.Material) (*os.File, error) {
	if !store.ValidID(m.ID) {
		return nil, store.ErrNotFound
	}
	f, err := os.Open(a.materialPath(m.ID))
	if errors.Is(err, os.ErrNotExist) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("open material file: %w", err)
	}
	return f, nil
}

// serveFile sends a material file with safe headers: images and PDFs may
// show inline, everything else downloads; nothing is sniffed and the file
// runs no script even if opened directly.
func serveFile(w http.ResponseWriter, r *http.Request, f io.ReadSeeker, m store.Material) {
	h := w.Header()
	h.Set("Content-Type", m.FileType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Cache-Control", "private, no-store")
	disposition := "attachment"
	if strings.HasPrefix(m.FileType, "image/") || m.FileType == "application/pdf" {
		disposition = "inline"
	}
	h.Set("Content-Disposition", mime.FormatMediaType(disposition, map[string]string{"filename": m.FileName}))
	http.ServeContent(w, r, "", time.Time{}, f)
}
