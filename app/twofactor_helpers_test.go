package app

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/pquerna/otp/totp"
	"github.com/stretchr/testify/require"

	"kelas/store"
)

// enrolTOTP turns on a second factor for uid straight in the store, as if
// they had set it up, and returns its secret.
func enrolTOTP(t testing.TB, ts *testServer, uid string) string {
	t.Helper()
	secret := newTOTPSecret()
	require.NoError(t, ts.store.StartTOTP(t.Context(), uid, secret))
	require.NoError(t, ts.store.ConfirmTOTP(t.Context(), uid, 0, nil))
	return secret
}

// totpCode is a code of uid's second factor that has not been used yet: the
// current step's, else the next one's (accepted as drift); only when both
// were spent does the test clock move on, as a person would wait.
func totpCode(t testing.TB, ts *testServer, uid string) string {
	t.Helper()
	f, err := ts.store.TOTP(t.Context(), uid)
	require.NoError(t, err)
	// The next step is accepted too (clock drift): use it before moving
	// the clock, so tests keep their times.
	for f.LastStep > ts.clock.Now().Unix()/totpPeriod {
		ts.clock.Add(totpPeriod * time.Second)
	}
	at := ts.clock.Now()
	if f.LastStep == at.Unix()/totpPeriod {
		at = at.Add(totpPeriod * time.Second)
	}
	code, err := totp.GenerateCodeCustom(f.Secret, at, totpOpts)
	require.NoError(t, err)
	return code
}

// signIn logs c in with email and password, and with a code when the
// account has a second factor. An account whose role needs a second factor
// gets one first (tests of the setup itself log in by hand). It returns
// the final answer.
func (c *testServer) signIn(t testing.TB, email, password string, extra ...url.Values) *http.Response {
	t.Helper()
	if u, err := c.store.UserByEmail(t.Context(), email); err == nil && u.Privileged() && !u.TwoFactor {
		enrolTOTP(t, c, u.ID)
	}
	// Staff and operators have accepted the confidentiality undertaking
	// (tests of the undertaking itself log in by hand).
	if u, err := c.store.UserByEmail(t.Context(), email); err == nil && u.Role != store.RoleLearner {
		acceptUndertaking(t, c, u.ID)
	}
	v := url.Values{"email": {email}, "password": {password}}
	for _, e := range extra {
		for k, vs := range e {
			v[k] = vs
		}
	}
	res, _ := c.postForm(t, "/login", v)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login/2fa" {
		return res
	}
	u, err := c.store.UserByEmail(t.Context(), email)
	require.NoError(t, err)
	res, _ = c.postForm(t, "/login/2fa", url.Values{"code": {totpCode(t, c, u.ID)}})
	c.uid = u.ID
	return res
}

// code is a fresh second-factor code of whoever signIn logged in on c.
func (c *testServer) code(t testing.TB) string {
	t.Helper()
	require.NotEmpty(t, c.uid, "log in with signIn first")
	return totpCode(t, c, c.uid)
}

// enrolOverHTTP sets up the second factor through /profile/2fa as a person
// would, from the key shown as text, and returns the recovery codes.
func enrolOverHTTP(t testing.TB, c *testServer) []string {
	t.Helper()
	res, body := c.get(t, "/profile/2fa")
	require.Equal(t, http.StatusOK, res.StatusCode)
	secret := strings.ReplaceAll(doc(t, body).Find(`[data-testid="totp-secret"]`).Text(), " ", "")
	require.NotEmpty(t, secret)
	code, err := totp.GenerateCodeCustom(secret, c.clock.Now(), totpOpts)
	require.NoError(t, err)
	res, body = c.postForm(t, "/profile/2fa", url.Values{"action": {"enable"}, "code": {code}})
	require.Equal(t, http.StatusOK, res.StatusCode)
	var codes []string
	doc(t, body).Find(`[data-testid="recovery-code"]`).Each(func(_ int, s *goquery.Selection) { codes = append(codes, s.Text()) })
	require.Len(t, codes, recoveryCodeCount)
	return codes
}
