// Package offsite sends backup files to storage off the server: S3-compatible
// object storage and SFTP. A target is named by a URL (KELAS_BACKUP_TARGET);
// its secrets come from the environment, never from the URL, so the URL can
// be shown on the console and in `kelas doctor`.
package offsite

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
)

// partialSuffix marks an upload in progress. A file with it is never
// listed as a backup; it becomes one only by the final rename or copy.
const partialSuffix = ".partial"

// Credentials are a target's secrets, from the environment.
type Credentials struct {
	S3AccessKey     string // KELAS_BACKUP_S3_ACCESS_KEY
	S3SecretKey     string // KELAS_BACKUP_S3_SECRET_KEY
	SFTPKeyFile     string // KELAS_BACKUP_SFTP_KEY: private key file
	SFTPKnownHosts  string // KELAS_BACKUP_SFTP_KNOWN_HOSTS: known_hosts file pinning the host key
	S3MaxRetries    int    // retries of one request inside the S3 client; 0 means 2
	DialTimeoutSecs int    // connection timeout; 0 means 15
}

// Target is one off-site location for backup files. Names are plain file
// names (kelas-data-STAMP-RUN.age); the target puts them under its prefix
// or directory. Put never leaves a half-written file under the final name.
type Target interface {
	// Put stores size bytes from r as name: written under a temporary name
	// first and then renamed (SFTP) or copied (S3) into place.
	Put(ctx context.Context, name string, r io.Reader, size int64) error
	// Get writes the stored file name to w.
	Get(ctx context.Context, name string, w io.Writer) error
	// List returns the names stored, including leftovers of interrupted
	// uploads (ending in .partial).
	List(ctx context.Context) ([]string, error)
	// Delete removes name; a missing file is not an error.
	Delete(ctx context.Context, name string) error
	// String is the target's URL without secrets.
	String() string
	Close() error
}

// IsPartial reports whether a listed name is a leftover upload.
func IsPartial(name string) bool { return strings.HasSuffix(name, partialSuffix) }

// PartialName is the temporary name name is uploaded under.
func PartialName(name string) string { return name + partialSuffix }

// ErrConfig means the target URL or its credentials are unusable as given.
var ErrConfig = errors.New("off-site target")

// ErrRefused marks errors that trying again will not mend: the target
// refused the credentials or the host key, or the bucket or directory does
// not exist. Callers skip their retries on it.
var ErrRefused = errors.New("refused by the target")

// refusedError keeps its message as written and matches ErrRefused.
type refusedError struct{ msg string }

func (e *refusedError) Error() string        { return e.msg }
func (e *refusedError) Is(target error) bool { return target == ErrRefused }

func refused(format string, args ...any) error {
	return &refusedError{msg: fmt.Sprintf(format, args...)}
}

// Redact returns raw without a password in its user part or query
// parameters that could hold secrets, for display. An unparsable URL is
// shown by its scheme only.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return "(unparsable URL)"
	}
	if u.User != nil {
		u.User = url.User(u.User.Username())
	}
	// Keep the known parameters as written; drop anything else.
	var keep []string
	for _, kv := range strings.Split(u.RawQuery, "&") {
		k, _, _ := strings.Cut(kv, "=")
		if k, err := url.QueryUnescape(k); err == nil && (k == "endpoint" || k == "region") {
			keep = append(keep, kv)
		}
	}
	u.RawQuery = strings.Join(keep, "&")
	return u.String()
}

// Open returns the target raw names (s3://… or sftp://…). It checks the
// URL and the credentials' presence, not the connection: the first
// operation connects and reports a problem as a clear error.
func Open(raw string, c Credentials) (Target, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: KELAS_BACKUP_TARGET is not a URL", ErrConfig)
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			return nil, fmt.Errorf("%w: put no password in KELAS_BACKUP_TARGET; credentials come from their own variables", ErrConfig)
		}
	}
	switch u.Scheme {
	case "s3":
		return newS3(u, c)
	case "sftp":
		return newSFTP(u, c)
	}
	return nil, fmt.Errorf("%w: KELAS_BACKUP_TARGET must start with s3:// or sftp://", ErrConfig)
}
