package crypt

// ACMEKey is the key that seals the ACME account key and the TLS
// certificates with their private keys in DATA/acme. It is derived from the
// master key (HKDF, "kelas/acme/v1"), so a copy of the data directory
// without the master key holds no usable TLS key, and nothing else needs
// storing.
func (k *Keyring) ACMEKey() ([]byte, error) {
	return k.derive("kelas/acme/v1")
}
