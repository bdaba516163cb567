//go:build !linux

package doctor

import "errors"

// DiskFree is only implemented on Linux, where kelas runs in production.
func DiskFree(dir string) (free, total uint64, err error) {
	return 0, 0, errors.New("free space is only checked on Linux")
}
