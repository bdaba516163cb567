package crypt

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// MasterKeyFile is the file name of a master key kept in the data directory.
const MasterKeyFile = "master.key"

// MasterKeyOptions say where a master key may come from, in order of
// precedence: the base64 value itself, a key file, then the data directory.
type MasterKeyOptions struct {
	Base64    string // KELAS_MASTER_KEY
	File      string // KELAS_MASTER_KEY_FILE
	DataDir   string
	FreshData bool // no database exists yet, so creating a key is safe
}

// MasterKey is a loaded key and where it came from.
type MasterKey struct {
	Key     []byte
	Source  string // "environment" or the file path
	Created bool
	// Warnings are operator-facing notes (no secrets), e.g. that the key
	// sits on the same disk as the data it protects.
	Warnings []string
}

// LoadMasterKey resolves the master key. It creates one (mode 0600) only when
// the data directory holds no database yet; over existing data a missing key
// is an error, never a fresh key.
func LoadMasterKey(o MasterKeyOptions) (MasterKey, error) {
	if o.Base64 != "" {
		k, err := decodeKey(o.Base64)
		if err != nil {
			return MasterKey{}, fmt.Errorf("KELAS_MASTER_KEY: %w", err)
		}
		return MasterKey{Key: k, Source: "environment"}, nil
	}
	path := o.File
	if path == "" {
		path = filepath.Join(o.DataDir, MasterKeyFile)
	}
	mk, err := readKeyFile(path)
	switch {
	case err == nil:
	case errors.Is(err, fs.ErrNotExist) && o.FreshData:
		if mk, err = createKeyFile(path); err != nil {
			return MasterKey{}, err
		}
	case errors.Is(err, fs.ErrNotExist):
		return MasterKey{}, fmt.Errorf("master key missing: %s holds a kelas database but the key file %s does not exist; "+
			"set KELAS_MASTER_KEY or KELAS_MASTER_KEY_FILE to the key this data was written with (kelas never creates a new key over existing data)",
			o.DataDir, path)
	default:
		return MasterKey{}, err
	}
	if besideData(path, o.DataDir) {
		mk.Warnings = append(mk.Warnings, "the master key is stored in the data directory: anyone who copies that directory can read it; "+
			"keep a copy of the key somewhere safe (without it the data cannot be read) and move it off this disk with KELAS_MASTER_KEY_FILE or KELAS_MASTER_KEY")
	}
	return mk, nil
}

func readKeyFile(path string) (MasterKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return MasterKey{}, err
		}
		return MasterKey{}, fmt.Errorf("master key file %s: %w", path, err)
	}
	k, err := decodeKey(string(bytes.TrimSpace(b)))
	if err != nil {
		return MasterKey{}, fmt.Errorf("master key file %s: %w", path, err)
	}
	mk := MasterKey{Key: k, Source: path}
	if st, err := os.Stat(path); err == nil && st.Mode().Perm()&0o077 != 0 {
		mk.Warnings = append(mk.Warnings, fmt.Sprintf("master key file %s is readable by other users (mode %v); chmod 600 it", path, st.Mode().Perm()))
	}
	return mk, nil
}

func createKeyFile(path string) (MasterKey, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return MasterKey{}, fmt.Errorf("create master key: %w", err)
	}
	k := make([]byte, KeySize)
	rand.Read(k)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return MasterKey{}, fmt.Errorf("create master key: %w", err)
	}
	_, err = f.WriteString(base64.StdEncoding.EncodeToString(k) + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return MasterKey{}, fmt.Errorf("create master key: %w", err)
	}
	return MasterKey{Key: k, Source: path, Created: true}, nil
}

func decodeKey(s string) ([]byte, error) {
	k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, errors.New("not valid base64")
	}
	if len(k) != KeySize {
		return nil, fmt.Errorf("must decode to %d bytes, got %d", KeySize, len(k))
	}
	return k, nil
}

// EncodeKey is the text form of a key, as accepted by KELAS_MASTER_KEY.
func EncodeKey(k []byte) string { return base64.StdEncoding.EncodeToString(k) }

func besideData(keyPath, dataDir string) bool {
	kp, err1 := filepath.Abs(keyPath)
	dd, err2 := filepath.Abs(dataDir)
	if err1 != nil || err2 != nil {
		return false
	}
	rel, err := filepath.Rel(dd, kp)
	return err == nil && !strings.HasPrefix(rel, "..")
}

// ReadNewKeyFile reads the key file of a master-key rotation. Unlike
// LoadMasterKey, which only warns, it refuses a file other users can read:
// the key is about to protect everything, so it starts out private.
func ReadNewKeyFile(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("new master key file: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("new master key file %s is not a regular file", path)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("new master key file %s is readable by other users (mode %v); chmod 600 it first", path, st.Mode().Perm())
	}
	mk, err := readKeyFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("new master key file: %w", err)
		}
		return nil, err
	}
	return mk.Key, nil
}
