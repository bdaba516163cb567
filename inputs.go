package main

import (
	"fmt"
	"net/netip"
	"strings"

	"filippo.io/age"
)

// Parsing of command-line and environment inputs shared by several
// commands.

// parseBackupRecipients reads KELAS_BACKUP_RECIPIENT: age public keys
// (age1...), comma- or space-separated, that backups are also encrypted to,
// such as an offline recovery key whose secret never touches the server.
func parseBackupRecipients(v string) ([]age.Recipient, error) {
	var out []age.Recipient
	for i, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' }) {
		// Errors never repeat the value: it may be a secret key pasted by
		// mistake.
		if strings.HasPrefix(strings.ToUpper(f), "AGE-SECRET-KEY-") {
			return nil, fmt.Errorf("backup recipient %d is a secret key: give its public key (age-keygen -y) and keep the secret offline", i+1)
		}
		r, err := age.ParseX25519Recipient(f)
		if err != nil {
			return nil, fmt.Errorf("backup recipient %d is not an age public key (age1...)", i+1)
		}
		out = append(out, r)
	}
	return out, nil
}

// parseTrustedProxies reads KELAS_TRUSTED_PROXIES: comma-separated CIDRs or
// single addresses.
func parseTrustedProxies(v string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(v, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			ip, err := netip.ParseAddr(f)
			if err != nil {
				return nil, fmt.Errorf("trusted proxy %q: not an address or CIDR", f)
			}
			out = append(out, netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: not an address or CIDR", f)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}
