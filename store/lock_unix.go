//go:build unix

package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// LockFile is the lock every `kelas serve` holds shared on its data
// directory and `kelas restore` takes exclusively, so a restore never swaps
// files under a running server.
const LockFile = "kelas.lock"

// ErrLocked means another process holds the data directory's lock.
var ErrLocked = errors.New("store: another kelas process is using this data directory")

// LockDir takes the data directory's lock without waiting: shared for
// processes that use the data, exclusive for one that replaces it. The lock
// goes with the process, so a crash never leaves it behind.
func LockDir(dir string, exclusive bool) (unlock func() error, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: lock: %w", err)
	}
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: lock: %w", err)
	}
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	if err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w (it holds %s)", ErrLocked, path)
		}
		return nil, fmt.Errorf("store: lock %s: %w", path, err)
	}
	return f.Close, nil // closing the file releases the lock
}
