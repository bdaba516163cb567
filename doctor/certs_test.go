package doctor

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"kelas/store"
)

const certDomain = "learn.example.org"

func TestCertStatuses(t *testing.T) {
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	cert := func(name string, lifetime, left time.Duration) store.ACMECert {
		return store.ACMECert{File: name, Names: []string{name}, Issuer: "Test CA", NotBefore: now.Add(left - lifetime), NotAfter: now.Add(left)}
	}
	for _, tc := range []struct {
		name   string
		domain string
		certs  []store.ACMECert
		want   []string // statuses
		detail string   // in the first detail
	}{
		{"no domain, no certificate", "", nil, nil, ""},
		{"domain without a certificate yet", certDomain, nil, []string{CheckWarn}, "no certificate for learn.example.org yet"},
		{"fresh 90-day certificate", certDomain, []store.ACMECert{cert(certDomain, 90*day, 80*day)}, []string{CheckOK},
			"learn.example.org (issued by Test CA) expires on 2026-05-20T09:00:00Z, in 80d 0h"},
		{"due for renewal, not yet failed", certDomain, []store.ACMECert{cert(certDomain, 90*day, 20*day)}, []string{CheckOK}, "in 20d"},
		{"14 days left: renewal has failed", certDomain, []store.ACMECert{cert(certDomain, 90*day, 13*day)}, []string{CheckWarn}, "renewal has failed"},
		{"expired", certDomain, []store.ACMECert{cert(certDomain, 90*day, -time.Hour)}, []string{CheckFail}, "expired on"},
		{"6-day certificate, renewal not due", certDomain, []store.ACMECert{cert(certDomain, 6*day, 3*day)}, []string{CheckOK}, "in 3d"},
		{"6-day certificate, renewal overdue", certDomain, []store.ACMECert{cert(certDomain, 6*day, day)}, []string{CheckWarn}, "renewal has failed"},
		{"a former domain's certificate is not judged", certDomain, []store.ACMECert{cert("old.example.org", 90*day, -day)},
			[]string{CheckWarn}, "no certificate for learn.example.org yet"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := CertStatuses(now, tc.domain, store.ACMEState{Certs: tc.certs})
			var statuses []string
			for _, s := range got {
				statuses = append(statuses, s.Status)
			}
			assert.Equal(t, tc.want, statuses)
			if tc.detail != "" {
				assert.Contains(t, got[0].Detail, tc.detail)
			}
		})
	}
}
