package app

import (
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"kelas/store"
)

// BenchmarkLoginThroughput measures successful logins per second through the
// whole HTTP stack at the configured bcrypt cost (KELAS_BCRYPT_COST, default
// 12), against the bound set by bcrypt itself: cores ÷ time per hash. The
// per-address throttle is lifted, since it would stop a single client long
// before hashing does.
func BenchmarkLoginThroughput(b *testing.B) {
	cost := 12
	if v := os.Getenv("KELAS_BCRYPT_COST"); v != "" {
		cost, _ = strconv.Atoi(v)
	}
	ts := newTestServer(b, func(c *Config) { c.BcryptCost = cost })
	ts.app.limits.loginIP = newLimiter(1<<30, time.Hour, ts.clock.Now)
	hash, err := bcrypt.GenerateFromPassword([]byte("benchmark passphrase"), cost)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := ts.store.CreateUser(b.Context(), store.NewUser{AcceptedPolicy: seededPolicy, Email: "bench@example.org", FirstName: "Bench",
		Surname: "Mark", PasswordHash: string(hash), Role: store.RoleLearner, Verified: true}); err != nil {
		b.Fatal(err)
	}
	// Time one hash comparison alone, on an otherwise idle process.
	const samples = 3
	start := time.Now()
	for range samples {
		bcrypt.CompareHashAndPassword(hash, []byte("benchmark passphrase"))
	}
	perHash := time.Since(start) / samples
	bound := float64(runtime.NumCPU()) / perHash.Seconds()

	form := url.Values{"email": {"bench@example.org"}, "password": {"benchmark passphrase"}}.Encode()
	b.SetParallelism(4) // more clients than cores, so the hashing slots stay full
	b.ResetTimer()
	start = time.Now()
	b.RunParallel(func(pb *testing.PB) {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		for pb.Next() {
			res, err := c.Post(ts.URL+"/login", "application/x-www-form-urlencoded", strings.NewReader(form))
			if err != nil {
				b.Error(err)
				return
			}
			res.Body.Close()
			if res.StatusCode != http.StatusSeeOther {
				b.Errorf("login: status %d", res.StatusCode)
				return
			}
		}
	})
	elapsed := time.Since(start)
	b.StopTimer()
	rate := float64(b.N) / elapsed.Seconds()
	b.ReportMetric(rate, "logins/s")
	b.ReportMetric(bound, "bound/s")
	b.ReportMetric(100*rate/bound, "%bound")
	b.ReportMetric(float64(perHash.Milliseconds()), "ms/hash")
}
