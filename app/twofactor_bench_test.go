package app

import (
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
	"golang.org/x/crypto/bcrypt"

	"kelas/store"
)

// BenchmarkLoginWithTOTP compares successful logins per second with the
// second step (password, then a TOTP code on /login/2fa) against password
// only, through the whole HTTP stack at the configured bcrypt cost, on one
// server. The two variants alternate in rounds of 16 logins, in ABBA order,
// so load from elsewhere on the machine falls on both alike. Every login uses an account of its own,
// so each TOTP code is fresh (a code is accepted once) without moving the
// clock. Target: the TOTP variant keeps at least 95 % of the password rate.
func BenchmarkLoginWithTOTP(b *testing.B) {
	cost := 12
	if v := os.Getenv("KELAS_BCRYPT_COST"); v != "" {
		cost, _ = strconv.Atoi(v)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte("benchmark passphrase"), cost)
	if err != nil {
		b.Fatal(err)
	}
	ts := newTestServer(b, func(c *Config) { c.BcryptCost = cost })
	ts.app.limits.loginIP = newLimiter(1<<30, time.Hour, ts.clock.Now)
	type account struct{ email, secret string }
	made := 0
	accounts := func(n int, withTOTP bool) []account {
		out := make([]account, n)
		for i := range out {
			made++
			u, err := ts.store.CreateUser(b.Context(), store.NewUser{Email: "bench" + strconv.Itoa(made) + "@example.org",
				FirstName: "Bench", Surname: "Mark", PasswordHash: string(hash), Role: store.RoleLearner, Verified: true})
			if err != nil {
				b.Fatal(err)
			}
			out[i].email = u.Email
			if withTOTP {
				out[i].secret = enrolTOTP(b, ts, u.ID)
			}
		}
		return out
	}
	login := func(a account) bool {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		post := func(path string, v url.Values) (*http.Response, error) {
			res, err := c.Post(ts.URL+path, "application/x-www-form-urlencoded", strings.NewReader(v.Encode()))
			if err == nil {
				res.Body.Close()
			}
			return res, err
		}
		res, err := post("/login", url.Values{"email": {a.email}, "password": {"benchmark passphrase"}})
		if err != nil || res.StatusCode != http.StatusSeeOther {
			return false
		}
		if a.secret == "" {
			return true
		}
		code, _ := totp.GenerateCodeCustom(a.secret, ts.clock.Now(), totpOpts)
		res, err = post("/login/2fa", url.Values{"code": {code}})
		return err == nil && res.StatusCode == http.StatusSeeOther && res.Header.Get("Location") != "/login"
	}
	// run logs every account in, 8 at a time (more clients than cores, so
	// the hashing slots stay full), and returns how long that took.
	run := func(as []account) time.Duration {
		start := time.Now()
		var wg sync.WaitGroup
		work := make(chan account)
		for range 8 {
			wg.Go(func() {
				for a := range work {
					if !login(a) {
						b.Error("login failed")
					}
				}
			})
		}
		for _, a := range as {
			work <- a
		}
		close(work)
		wg.Wait()
		return time.Since(start)
	}
	const round = 16
	rounds := max(1, b.N/round)
	plain, second := make([][]account, rounds), make([][]account, rounds)
	for i := range rounds {
		plain[i], second[i] = accounts(round, false), accounts(round, true)
	}
	b.ResetTimer()
	var tPlain, tSecond time.Duration
	for i := range rounds {
		// Which variant goes first alternates too (ABBA), so neither
		// always meets a warmer or a busier machine.
		if i%2 == 0 {
			tPlain += run(plain[i])
			tSecond += run(second[i])
		} else {
			tSecond += run(second[i])
			tPlain += run(plain[i])
		}
	}
	b.StopTimer()
	n := float64(rounds * round)
	b.ReportMetric(n/tPlain.Seconds(), "password-logins/s")
	b.ReportMetric(n/tSecond.Seconds(), "totp-logins/s")
	b.ReportMetric(tPlain.Seconds()/tSecond.Seconds(), "totp/password")
}
