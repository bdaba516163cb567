package doctor

import (
	"fmt"
	"strings"
	"time"

	"kelas/store"
)

// certRenewalWarn is how long before expiry a certificate that has not been
// renewed is reported.
const certRenewalWarn = 14 * 24 * time.Hour

// CertStatus is the state of one HTTPS certificate, for the doctor and the
// console.
type CertStatus struct {
	Status   string // CheckOK, CheckWarn, CheckFail
	Detail   string
	DaysLeft int
}

// CertStatuses judges the certificates in DATA/acme for domain (may be
// empty when kelas runs without automatic HTTPS). A certificate is renewed
// when a third of its lifetime (at most 30 days) is left, as autocert does;
// one still unrenewed an hour past that and within 14 days of expiry means
// renewal has failed.
func CertStatuses(now time.Time, domain string, st store.ACMEState) []CertStatus {
	var out []CertStatus
	covered := false
	for _, c := range st.Certs {
		if domain != "" && !containsFold(c.Names, domain) {
			continue // left from an earlier domain; never served again
		}
		covered = true
		left := c.NotAfter.Sub(now)
		days := int(left.Hours() / 24)
		names := strings.Join(c.Names, ", ")
		renewAt := c.NotAfter.Add(-min(c.NotAfter.Sub(c.NotBefore)/3, 30*24*time.Hour))
		s := CertStatus{DaysLeft: max(days, 0)}
		switch {
		case left <= 0:
			s.Status = CheckFail
			s.Detail = fmt.Sprintf("%s (issued by %s) expired on %s: renewal has failed; check that ports 80 and 443 reach kelas and that the ACME directory answers",
				names, c.Issuer, c.NotAfter.Format(time.RFC3339))
		case left < certRenewalWarn && now.After(renewAt.Add(time.Hour)):
			s.Status = CheckWarn
			s.Detail = fmt.Sprintf("%s (issued by %s) expires on %s, in %s, and renewal has failed; check that ports 80 and 443 reach kelas and that the ACME directory answers",
				names, c.Issuer, c.NotAfter.Format(time.RFC3339), ago(c.NotAfter, now))
		default:
			s.Status = CheckOK
			s.Detail = fmt.Sprintf("%s (issued by %s) expires on %s, in %s", names, c.Issuer, c.NotAfter.Format(time.RFC3339), ago(c.NotAfter, now))
		}
		out = append(out, s)
	}
	if domain != "" && !covered {
		out = append(out, CertStatus{Status: CheckWarn,
			Detail: fmt.Sprintf("no certificate for %s yet: `kelas serve --domain %s` obtains one at the first HTTPS request", domain, domain)})
	}
	if st.Unreadable > 0 {
		out = append(out, CertStatus{Status: CheckWarn,
			Detail: fmt.Sprintf("%d files in %s do not open under this master key: `kelas serve` seals files left in the clear and replaces the rest", st.Unreadable, store.ACMEDir)})
	}
	return out
}

func containsFold(names []string, name string) bool {
	for _, n := range names {
		if strings.EqualFold(n, name) {
			return true
		}
	}
	return false
}
