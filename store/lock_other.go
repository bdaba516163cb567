//go:build !unix

package store

import "errors"

// LockFile is the data directory's lock file (unix only).
const LockFile = "kelas.lock"

// ErrLocked means another process holds the data directory's lock.
var ErrLocked = errors.New("store: another kelas process is using this data directory")

// LockDir is a no-op where flock(2) does not exist; stop the server before
// `kelas restore` by hand there.
func LockDir(dir string, exclusive bool) (unlock func() error, err error) {
	return func() error { return nil }, nil
}
