package store

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"kelas/store/crypt"
)

// FuzzValidID: an accepted id has the shape NewID gives it, and encodes
// back to itself; every NewID is accepted.
func FuzzValidID(f *testing.F) {
	for _, s := range []string{NewID(), "", "aaaaaaaaaaaaaaaaaaaaaaaaaa", "aaaaaaaaaaaaaaaaaaaaaaaaa\n", "AAAAAAAAAAAAAAAAAAAAAAAAAA", strings.Repeat("7", 26)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !ValidID(NewID()) {
			t.Fatal("NewID not valid")
		}
		if !ValidID(s) {
			return
		}
		if len(s) != 26 {
			t.Fatalf("accepted %q of length %d", s, len(s))
		}
		b, err := idEncoding.DecodeString(s)
		if err != nil || idEncoding.EncodeToString(b) != s {
			t.Fatalf("accepted %q, which does not round-trip", s)
		}
	})
}

// FuzzParseTombstones: every tombstone read names a valid id, and writing
// what was read and reading it again gives the same list.
func FuzzParseTombstones(f *testing.F) {
	f.Add([]byte(tombstonesHeader + NewID() + " 2026-01-02T03:04:05Z\n"))
	f.Add([]byte("garbage\n" + NewID() + " not-a-time\n" + NewID()))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		got := parseTombstones(b)
		var buf bytes.Buffer
		for _, s := range got {
			if !ValidID(s.UserID) {
				t.Fatalf("invalid id %q read", s.UserID)
			}
			buf.WriteString(s.UserID + " " + s.ErasedAt.Format(time.RFC3339) + "\n")
		}
		again := parseTombstones(buf.Bytes())
		if len(again) != len(got) {
			t.Fatalf("re-reading gives %d stones, not %d", len(again), len(got))
		}
		for i := range got {
			if again[i].UserID != got[i].UserID || !again[i].ErasedAt.Equal(got[i].ErasedAt) {
				t.Fatalf("stone %d changed on re-reading", i)
			}
		}
	})
}

// FuzzReadJournal: a journal file of any content is either refused as
// damaged or read; what is read re-encodes to exactly the complete lines
// it came from (nothing accepted that the MAC chain does not cover).
func FuzzReadJournal(f *testing.F) {
	key := bytes.Repeat([]byte{7}, 32)
	var good bytes.Buffer
	one := int64(1)
	id := "abc"
	_, err := encodeJournal(&good, key, "", []journalRecord{{Start: true, Since: time.Unix(0, 0).UTC()},
		{At: time.Unix(1, 0).UTC(), Table: "legal_holds", Op: "put", Key: []journalValue{{S: &id}}, Cols: []string{"id", "n"},
			Vals: []journalValue{{S: &id}, {I: &one}}}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good.Bytes())
	f.Add(good.Bytes()[:good.Len()-5])
	f.Add([]byte("{}\tdeadbeef\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(t.TempDir(), JournalFile)
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		recs, _, err := readJournal(path, key)
		if err != nil {
			if !errors.Is(err, ErrJournalDamaged) {
				t.Fatalf("error not marked as damage: %v", err)
			}
			return
		}
		complete := b
		if i := bytes.LastIndexByte(b, '\n'); i != len(b)-1 {
			complete = b[:i+1]
		}
		var again bytes.Buffer
		if _, err := encodeJournal(&again, key, "", recs); err != nil {
			t.Fatal(err)
		}
		// JSON re-encoding may differ in spelling; the records must not.
		recs2, _, err := readJournal(writeTemp(t, again.Bytes()), key)
		if err != nil || len(recs2) != len(recs) {
			t.Fatalf("accepted records do not survive re-encoding: %v", err)
		}
		if len(recs) > 0 && len(complete) == 0 {
			t.Fatal("records read from no complete line")
		}
	})
}

func writeTemp(t *testing.T, b []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// FuzzUnpackBackup: a backup file of any content, even one that decrypts
// (encrypted to this server's key), is either accepted as a whole kelas
// backup or refused with one of the two restore errors; it never panics
// and never writes outside its stage.
func FuzzUnpackBackup(f *testing.F) {
	key := bytes.Repeat([]byte{9}, 32)
	kr, err := crypt.NewKeyring(key)
	if err != nil {
		f.Fatal(err)
	}
	id, err := kr.BackupIdentity()
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte("not age"), false)
	f.Add([]byte("hello"), true)
	f.Add([]byte{}, true)
	f.Fuzz(func(t *testing.T, b []byte, encrypt bool) {
		content := b
		if encrypt {
			var buf bytes.Buffer
			w, err := age.Encrypt(&buf, id.Recipient())
			if err != nil {
				t.Fatal(err)
			}
			w.Write(b)
			w.Close()
			content = buf.Bytes()
		}
		dir := t.TempDir()
		path := filepath.Join(dir, "kelas-data-20260101T000000Z-abcdef.age")
		if err := os.WriteFile(path, content, 0o600); err != nil {
			t.Fatal(err)
		}
		stage := filepath.Join(dir, "stage")
		if err := os.Mkdir(stage, 0o700); err != nil {
			t.Fatal(err)
		}
		_, err := unpackBackup(context.Background(), path, stage, []age.Identity{id}, kr)
		if err != nil && !errors.Is(err, ErrBackupUnreadable) && !errors.Is(err, ErrBackupWrongKey) {
			t.Fatalf("unexpected error kind: %v", err)
		}
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if e.Name() != "stage" && e.Name() != filepath.Base(path) {
				t.Fatalf("wrote %s outside its stage", e.Name())
			}
		}
	})
}
