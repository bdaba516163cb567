// Package crypt holds kelas's key hierarchy: a master key, HKDF-derived and
// versioned key-wrapping keys, random per-person data keys, AEAD field sealing
// bound to table/column/row, and a keyed blind index for lookups.
//
// Nothing here touches the disk except LoadMasterKey; the store decides where
// wrapped keys live.
package crypt

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/text/unicode/norm"
)

// KeySize is the size of every symmetric key in the hierarchy.
const KeySize = 32

// sealVersion prefixes every sealed value so the format can change later
// without guessing.
const sealVersion byte = 1

// ErrOpen is returned when a sealed value cannot be opened: wrong key, wrong
// table/column/row binding, a destroyed key or tampered bytes. The causes are
// deliberately not told apart.
var ErrOpen = errors.New("crypt: cannot open sealed value")

// Keyring derives every purpose-specific key from one master key. It holds no
// per-person state.
type Keyring struct {
	master   []byte
	blindKey []byte
	checkKey []byte
}

// NewKeyring derives the fixed sub-keys from a 32-byte master key.
func NewKeyring(master []byte) (*Keyring, error) {
	if len(master) != KeySize {
		return nil, fmt.Errorf("crypt: master key must be %d bytes, got %d", KeySize, len(master))
	}
	k := &Keyring{master: append([]byte(nil), master...)}
	var err error
	if k.blindKey, err = k.derive("kelas/blind-index/v1"); err != nil {
		return nil, err
	}
	if k.checkKey, err = k.derive("kelas/key-check/v1"); err != nil {
		return nil, err
	}
	return k, nil
}

func (k *Keyring) derive(info string) ([]byte, error) {
	key, err := hkdf.Key(sha256.New, k.master, nil, info, KeySize)
	if err != nil {
		return nil, fmt.Errorf("crypt: derive %s: %w", info, err)
	}
	return key, nil
}

// AuditKey is the key of the audit log's MACs: without the master key,
// nobody can write an entry (or recompute a chain) that verifies.
func (k *Keyring) AuditKey() ([]byte, error) { return k.derive("kelas/audit-mac/v1") }

// JournalKey is the key of the compliance journal's MACs.
func (k *Keyring) JournalKey() ([]byte, error) { return k.derive("kelas/journal-mac/v1") }

// CheckValue is a public fingerprint of the master key, stored beside the
// wrapped keys so that a wrong master key is detected before anything is
// written with it. It reveals nothing about the key itself.
func (k *Keyring) CheckValue() []byte {
	m := hmac.New(sha256.New, k.checkKey)
	m.Write([]byte("kelas key check value"))
	return m.Sum(nil)
}

// MatchesCheckValue reports whether v was produced by this master key.
func (k *Keyring) MatchesCheckValue(v []byte) bool {
	return subtle.ConstantTimeCompare(k.CheckValue(), v) == 1
}

// kek derives the key-wrapping key of a version. Versions let `keys rotate`
// re-wrap every data key without touching the master key or sealed fields.
func (k *Keyring) kek(version int) ([]byte, error) {
	if version < 1 {
		return nil, fmt.Errorf("crypt: invalid key-wrapping key version %d", version)
	}
	return k.derive("kelas/kek/v" + strconv.Itoa(version))
}

// Wrap seals a data key under the key-wrapping key of version, bound to the
// subject (the person's id) so a wrapped key cannot be moved to someone else.
func (k *Keyring) Wrap(version int, subject string, dataKey []byte) ([]byte, error) {
	kek, err := k.kek(version)
	if err != nil {
		return nil, err
	}
	return seal(kek, wrapAD(version, subject), dataKey)
}

// Unwrap opens a wrapped data key.
func (k *Keyring) Unwrap(version int, subject string, wrapped []byte) ([]byte, error) {
	kek, err := k.kek(version)
	if err != nil {
		return nil, err
	}
	dk, err := open(kek, wrapAD(version, subject), wrapped)
	if err != nil {
		return nil, err
	}
	if len(dk) != KeySize {
		return nil, ErrOpen
	}
	return dk, nil
}

func wrapAD(version int, subject string) []byte {
	return []byte("kelas/wrap\x00" + strconv.Itoa(version) + "\x00" + subject)
}

// BlindIndex returns a keyed hash of a normalised value (for example an email
// address) so the store can look it up and enforce uniqueness without keeping
// the value in plaintext. purpose separates indexes of different fields.
func (k *Keyring) BlindIndex(purpose, value string) []byte {
	m := hmac.New(sha256.New, k.blindKey)
	m.Write([]byte(purpose))
	m.Write([]byte{0})
	m.Write([]byte(value))
	return m.Sum(nil)
}

// NormaliseEmail is the canonical form used for the email blind index:
// Unicode NFC, surrounding space trimmed, lower-cased.
func NormaliseEmail(email string) string {
	return strings.ToLower(strings.TrimSpace(norm.NFC.String(email)))
}

// NewDataKey returns a fresh random data key for one person.
func NewDataKey() []byte {
	dk := make([]byte, KeySize)
	rand.Read(dk) // never fails since Go 1.24
	return dk
}

// Seal encrypts plaintext under a person's data key. The associated data binds
// the ciphertext to its table, column and row: a value copied to another row
// or column fails to open.
func Seal(dataKey []byte, table, column, row string, plaintext []byte) ([]byte, error) {
	return seal(dataKey, fieldAD(table, column, row), plaintext)
}

// Open decrypts a value sealed by Seal with the same binding.
func Open(dataKey []byte, table, column, row string, sealed []byte) ([]byte, error) {
	return open(dataKey, fieldAD(table, column, row), sealed)
}

func fieldAD(table, column, row string) []byte {
	return []byte("kelas/field\x00" + table + "\x00" + column + "\x00" + row)
}

func seal(key, ad, plaintext []byte) ([]byte, error) {
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, fmt.Errorf("crypt: %w", err)
	}
	out := make([]byte, 1+aead.NonceSize(), 1+aead.NonceSize()+len(plaintext)+aead.Overhead())
	out[0] = sealVersion
	rand.Read(out[1:])
	return aead.Seal(out, out[1:], plaintext, ad), nil
}

func open(key, ad, sealed []byte) ([]byte, error) {
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, ErrOpen
	}
	if len(sealed) < 1+aead.NonceSize()+aead.Overhead() || sealed[0] != sealVersion {
		return nil, ErrOpen
	}
	nonce := sealed[1 : 1+aead.NonceSize()]
	pt, err := aead.Open(nil, nonce, sealed[1+aead.NonceSize():], ad)
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}
