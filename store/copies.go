package store

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// StrayCopy is a database copy in the data directory that kelas does not
// use: readable by anyone who can read the disk and, holding wrapped keys or
// rows of erased people, outside the reach of erasure.
type StrayCopy struct {
	Path string // relative to the data directory
	Why  string
}

// liveFiles are the database files kelas itself keeps open.
var liveFiles = map[string]bool{
	MainDBFile: true, MainDBFile + "-wal": true, MainDBFile + "-shm": true, MainDBFile + "-journal": true,
	KeysDBFile: true, KeysDBFile + "-wal": true, KeysDBFile + "-shm": true, KeysDBFile + "-journal": true,
}

var (
	sqliteMagic = []byte("SQLite format 3\x00")
	walMagicLE  = []byte{0x37, 0x7f, 0x06, 0x82}
	walMagicBE  = []byte{0x37, 0x7f, 0x06, 0x83}
)

// StrayCopies walks the data directory for unencrypted database copies:
// files that start like a SQLite database or WAL (whatever their name),
// *.before-restore files left by older versions, and staging directories of
// an interrupted restore. Encrypted backups, export files and the live
// databases are not copies in this sense.
func StrayCopies(dir string) ([]StrayCopy, error) {
	var out []StrayCopy
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		if rel == "." {
			return nil
		}
		name := d.Name()
		if d.IsDir() {
			if strings.HasPrefix(name, ".restore-") {
				out = append(out, StrayCopy{Path: rel, Why: "staging directory of an interrupted restore"})
				return fs.SkipDir
			}
			if strings.HasPrefix(name, rotateStagePrefix) {
				out = append(out, StrayCopy{Path: rel, Why: "staging directory of an interrupted master-key rotation (the next `kelas keys rotate` removes or finishes it)"})
				return fs.SkipDir
			}
			if strings.HasPrefix(name, ".drill-") {
				out = append(out, StrayCopy{Path: rel, Why: "copy restored by an interrupted restore drill (the next drill removes it)"})
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || (filepath.Dir(rel) == "." && liveFiles[name]) {
			return nil
		}
		if strings.Contains(name, ".before-restore") {
			out = append(out, StrayCopy{Path: rel, Why: "unencrypted copy of a database replaced by a restore"})
			return nil
		}
		head, err := readHead(path, len(sqliteMagic))
		if err != nil {
			return err
		}
		switch {
		case bytes.Equal(head, sqliteMagic):
			out = append(out, StrayCopy{Path: rel, Why: "unencrypted SQLite database"})
		case len(head) >= 4 && (bytes.Equal(head[:4], walMagicLE) || bytes.Equal(head[:4], walMagicBE)):
			out = append(out, StrayCopy{Path: rel, Why: "unencrypted SQLite write-ahead log"})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: stray copies: %w", err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

func readHead(path string, n int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := make([]byte, n)
	m, err := io.ReadFull(f, b)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return b[:m], nil
}
