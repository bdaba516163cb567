package main

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"filippo.io/age"
	"golang.org/x/crypto/bcrypt"

	"kelas/store/offsite"
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

// erasureGrace reads KELAS_ERASURE_GRACE: a Go duration ("168h") or a
// number of days ("7"). Unset is nil, the default; 0 is no grace period at
// all (the erasure job's next run), which is why the two are kept apart.
func erasureGrace(getenv func(string) string) (*time.Duration, error) {
	v := getenv("KELAS_ERASURE_GRACE")
	if v == "" {
		return nil, nil
	}
	d, err := time.ParseDuration(v)
	if n, nerr := strconv.Atoi(v); nerr == nil {
		d, err = time.Duration(n)*24*time.Hour, nil
	}
	if err != nil || d < 0 || d > 90*24*time.Hour {
		return nil, fmt.Errorf("KELAS_ERASURE_GRACE must be a number of days (0 to 90) or a duration like 168h")
	}
	return &d, nil
}

func bcryptCost(getenv func(string) string) (int, error) {
	v := getenv("KELAS_BCRYPT_COST")
	if v == "" {
		return 12, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < bcrypt.MinCost || n > bcrypt.MaxCost {
		return 0, fmt.Errorf("KELAS_BCRYPT_COST must be a number from %d to %d", bcrypt.MinCost, bcrypt.MaxCost)
	}
	return n, nil
}

// offsiteCredentials reads the off-site target's secrets.
func offsiteCredentials(getenv func(string) string) offsite.Credentials {
	return offsite.Credentials{S3AccessKey: getenv("KELAS_BACKUP_S3_ACCESS_KEY"), S3SecretKey: getenv("KELAS_BACKUP_S3_SECRET_KEY"),
		SFTPKeyFile: getenv("KELAS_BACKUP_SFTP_KEY"), SFTPKnownHosts: getenv("KELAS_BACKUP_SFTP_KNOWN_HOSTS")}
}
