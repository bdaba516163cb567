package crypt

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// writeKeyFile writes content to path with mode and returns path.
func writeKeyFile(t *testing.T, path, content string, mode os.FileMode) string {
	t.Helper()
	require.NoError(t, os.WriteFile(path, []byte(content), mode))
	require.NoError(t, os.Chmod(path, mode)) // WriteFile's mode is subject to umask
	return path
}

func TestLoadMasterKeyFromEnvironment(t *testing.T) {
	key := randomKey(t)
	tests := []struct {
		name    string
		value   string
		wantErr string
	}{
		{"valid", EncodeKey(key), ""},
		{"valid with surrounding space", "  " + EncodeKey(key) + "\n", ""},
		{"bad base64", "not*base64*at*all", "not valid base64"},
		{"url alphabet is not accepted", base64.URLEncoding.EncodeToString(append([]byte{0xfb, 0xff}, key[2:]...)), "not valid base64"},
		{"too short", base64.StdEncoding.EncodeToString(key[:16]), "must decode to 32 bytes, got 16"},
		{"too long", base64.StdEncoding.EncodeToString(append(key, 1)), "must decode to 32 bytes, got 33"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			mk, err := LoadMasterKey(MasterKeyOptions{Base64: tt.value, DataDir: dir, FreshData: true})
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), "KELAS_MASTER_KEY")
				assert.Contains(t, err.Error(), tt.wantErr)
				assert.NoFileExists(t, filepath.Join(dir, MasterKeyFile), "a bad environment key must not fall back to creating a file")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, key, mk.Key)
			assert.Equal(t, "environment", mk.Source)
			assert.False(t, mk.Created)
			assert.Empty(t, mk.Warnings)
			assert.NoFileExists(t, filepath.Join(dir, MasterKeyFile))
		})
	}
}

func TestLoadMasterKeyEnvironmentWinsOverFile(t *testing.T) {
	envKey, fileKey := randomKey(t), randomKey(t)
	path := writeKeyFile(t, filepath.Join(t.TempDir(), "k"), EncodeKey(fileKey), 0o600)
	mk, err := LoadMasterKey(MasterKeyOptions{Base64: EncodeKey(envKey), File: path, DataDir: t.TempDir()})
	require.NoError(t, err)
	assert.Equal(t, envKey, mk.Key)
}

func TestLoadMasterKeyFromFile(t *testing.T) {
	key := randomKey(t)
	tests := []struct {
		name         string
		content      string
		mode         os.FileMode
		inDataDir    bool
		wantErr      string
		wantWarnings []string // substrings, one per expected warning
	}{
		{"outside the data dir", EncodeKey(key) + "\n", 0o600, false, "", nil},
		{"no trailing newline", EncodeKey(key), 0o600, false, "", nil},
		{"readable by others", EncodeKey(key), 0o644, false, "", []string{"readable by other users"}},
		{"in the data dir", EncodeKey(key), 0o600, true, "", []string{"stored in the data directory"}},
		{"bad base64", "%%%%", 0o600, false, "not valid base64", nil},
		{"wrong length", base64.StdEncoding.EncodeToString(key[:31]), 0o600, false, "must decode to 32 bytes", nil},
		{"empty", "", 0o600, false, "must decode to 32 bytes, got 0", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dataDir := t.TempDir()
			keyDir := t.TempDir()
			if tt.inDataDir {
				keyDir = dataDir
			}
			path := writeKeyFile(t, filepath.Join(keyDir, "kelas.key"), tt.content, tt.mode)
			mk, err := LoadMasterKey(MasterKeyOptions{File: path, DataDir: dataDir})
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), path)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, key, mk.Key)
			assert.Equal(t, path, mk.Source)
			assert.False(t, mk.Created)
			require.Len(t, mk.Warnings, len(tt.wantWarnings), "warnings: %q", mk.Warnings)
			for i, w := range tt.wantWarnings {
				assert.Contains(t, mk.Warnings[i], w)
			}
		})
	}
}

func TestLoadMasterKeyCreatesOnFreshData(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "kelas-data") // does not exist yet
	mk, err := LoadMasterKey(MasterKeyOptions{DataDir: dataDir, FreshData: true})
	require.NoError(t, err)

	path := filepath.Join(dataDir, MasterKeyFile)
	assert.True(t, mk.Created)
	assert.Equal(t, path, mk.Source)
	require.Len(t, mk.Key, KeySize)

	st, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())

	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, EncodeKey(mk.Key)+"\n", string(b))

	require.Len(t, mk.Warnings, 1)
	assert.Contains(t, mk.Warnings[0], "data directory")
	assert.Contains(t, mk.Warnings[0], "KELAS_MASTER_KEY")
	assert.NotContains(t, mk.Warnings[0], EncodeKey(mk.Key), "a warning must not carry the key")

	// The next start reads the same key and creates nothing.
	again, err := LoadMasterKey(MasterKeyOptions{DataDir: dataDir, FreshData: false})
	require.NoError(t, err)
	assert.Equal(t, mk.Key, again.Key)
	assert.False(t, again.Created)
}

func TestLoadMasterKeyCreatesAtExplicitFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secrets", "kelas.key")
	mk, err := LoadMasterKey(MasterKeyOptions{File: path, DataDir: t.TempDir(), FreshData: true})
	require.NoError(t, err)
	assert.True(t, mk.Created)
	assert.Equal(t, path, mk.Source)
	assert.Empty(t, mk.Warnings, "a key kept off the data directory needs no warning")
	st, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
}

func TestLoadMasterKeyRefusesToCreateOverExistingData(t *testing.T) {
	tests := []struct {
		name string
		file string // "" means the default in the data dir
	}{
		{"default location", ""},
		{"explicit file", "elsewhere.key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dataDir := t.TempDir()
			path := filepath.Join(dataDir, MasterKeyFile)
			if tt.file != "" {
				path = filepath.Join(t.TempDir(), tt.file)
			}
			o := MasterKeyOptions{DataDir: dataDir, FreshData: false}
			if tt.file != "" {
				o.File = path
			}
			mk, err := LoadMasterKey(o)
			require.Error(t, err)
			assert.Nil(t, mk.Key)
			assert.Contains(t, err.Error(), "master key missing")
			assert.Contains(t, err.Error(), path)
			assert.Contains(t, err.Error(), "KELAS_MASTER_KEY")
			assert.NoFileExists(t, path, "no key may be created over existing data")
		})
	}
}

func TestLoadMasterKeyNeverOverwritesAFile(t *testing.T) {
	tests := []struct {
		name    string
		content string
		wantErr bool
	}{
		{"valid key", EncodeKey(make([]byte, KeySize)), false},
		{"corrupt key", "this is not a key", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dataDir := t.TempDir()
			path := writeKeyFile(t, filepath.Join(dataDir, MasterKeyFile), tt.content, 0o600)
			mk, err := LoadMasterKey(MasterKeyOptions{DataDir: dataDir, FreshData: true})
			if tt.wantErr {
				require.Error(t, err)
			} else {
				require.NoError(t, err)
				assert.False(t, mk.Created)
				assert.Equal(t, make([]byte, KeySize), mk.Key)
			}
			b, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.Equal(t, tt.content, string(b), "the key file was changed")
		})
	}
}

func TestCreateKeyFileRefusesExisting(t *testing.T) {
	// createKeyFile is the only writer; O_EXCL keeps it from replacing a key
	// that appeared between the read and the create.
	path := writeKeyFile(t, filepath.Join(t.TempDir(), MasterKeyFile), "existing", 0o600)
	_, err := createKeyFile(path)
	require.Error(t, err)
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "existing", string(b))
}

func TestEncodeKeyRoundTrip(t *testing.T) {
	key := randomKey(t)
	got, err := decodeKey(EncodeKey(key))
	require.NoError(t, err)
	assert.Equal(t, key, got)
}

// FuzzDecodeKey: an accepted key is 32 bytes and is what its own text form
// decodes to.
func FuzzDecodeKey(f *testing.F) {
	f.Add(EncodeKey(make([]byte, KeySize)))
	f.Add(" " + EncodeKey(NewDataKey()) + "\n")
	f.Add("not base64!")
	f.Add(EncodeKey(make([]byte, 31)))
	f.Fuzz(func(t *testing.T, s string) {
		k, err := decodeKey(s)
		if err != nil {
			return
		}
		if len(k) != KeySize {
			t.Fatalf("accepted a %d-byte key", len(k))
		}
		again, err := decodeKey(EncodeKey(k))
		if err != nil || !bytes.Equal(again, k) {
			t.Fatal("the key does not round-trip through its text form")
		}
	})
}

func TestReadNewKeyFile(t *testing.T) {
	dir := t.TempDir()
	key := bytes.Repeat([]byte{7}, KeySize)
	path := filepath.Join(dir, "new.key")
	require.NoError(t, os.WriteFile(path, []byte(EncodeKey(key)+"\n"), 0o600))
	got, err := ReadNewKeyFile(path)
	require.NoError(t, err)
	assert.Equal(t, key, got)

	require.NoError(t, os.Chmod(path, 0o640))
	_, err = ReadNewKeyFile(path)
	require.ErrorContains(t, err, "readable by other users")

	short := filepath.Join(dir, "short.key")
	require.NoError(t, os.WriteFile(short, []byte(EncodeKey(key[:16])), 0o600))
	_, err = ReadNewKeyFile(short)
	require.ErrorContains(t, err, "must decode to 32 bytes")

	_, err = ReadNewKeyFile(filepath.Join(dir, "missing.key"))
	require.Error(t, err)
}
