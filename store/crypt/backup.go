package crypt

import (
	"fmt"
	"strings"

	"filippo.io/age"
)

// BackupIdentity is the age X25519 identity backups are encrypted to. It is
// derived from the master key (HKDF, "kelas/backup/v1"), so whoever holds
// the master key can always decrypt the server's backups, and nothing else
// needs storing.
func (k *Keyring) BackupIdentity() (*age.X25519Identity, error) {
	scalar, err := k.derive("kelas/backup/v1")
	if err != nil {
		return nil, err
	}
	id, err := age.ParseX25519Identity(strings.ToUpper(bech32Encode("age-secret-key-", scalar)))
	if err != nil {
		return nil, fmt.Errorf("crypt: backup identity: %w", err)
	}
	return id, nil
}

// bech32Encode is BIP 173 Bech32, the text form age uses for keys. age keeps
// its encoder internal, and going through the text form keeps the identity
// exactly what `age-keygen` would print for this scalar.
func bech32Encode(hrp string, data []byte) string {
	const charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
	// Regroup 8-bit bytes into 5-bit values, padding the last.
	var values []byte
	acc, bits := uint32(0), 0
	for _, b := range data {
		acc = acc<<8 | uint32(b)
		bits += 8
		for bits >= 5 {
			bits -= 5
			values = append(values, byte(acc>>bits)&31)
		}
	}
	if bits > 0 {
		values = append(values, byte(acc<<(5-bits))&31)
	}
	var exp []byte
	for _, c := range []byte(hrp) {
		exp = append(exp, c>>5)
	}
	exp = append(exp, 0)
	for _, c := range []byte(hrp) {
		exp = append(exp, c&31)
	}
	poly := bech32Polymod(append(append(exp, values...), 0, 0, 0, 0, 0, 0)) ^ 1
	var sb strings.Builder
	sb.WriteString(hrp)
	sb.WriteByte('1')
	for _, v := range values {
		sb.WriteByte(charset[v])
	}
	for i := range 6 {
		sb.WriteByte(charset[(poly>>(5*(5-i)))&31])
	}
	return sb.String()
}

func bech32Polymod(values []byte) uint32 {
	gen := [5]uint32{0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3}
	chk := uint32(1)
	for _, v := range values {
		top := chk >> 25
		chk = (chk&0x1ffffff)<<5 ^ uint32(v)
		for i := range 5 {
			if (top>>i)&1 == 1 {
				chk ^= gen[i]
			}
		}
	}
	return chk
}
