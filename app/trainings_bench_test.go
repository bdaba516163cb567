package app

import (
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"kelas/store"
)

// BenchmarkTrainingPage serves an enrolled learner's training page with the
// activity log on and with it off (events dropped before the writer), so
// the ratio shows what logging costs a request. Logging is asynchronous:
// the target is a ratio of at least 0.8.
func BenchmarkTrainingPage(b *testing.B) {
	ts := newTestServer(b)
	staffHash, _ := bcrypt.GenerateFromPassword([]byte("bench password"), bcrypt.MinCost)
	ctx := b.Context()
	m, err := ts.store.MemberByName(ctx, "SME Corporation Malaysia")
	if err != nil {
		b.Fatal(err)
	}
	tr, err := ts.store.CreateTraining(ctx, m.ID, "", store.TrainingInput{Title: "Bench", Summary: "s", Language: "en",
		Kind: store.KindSelfStudy, PassMark: 50, Published: true})
	if err != nil {
		b.Fatal(err)
	}
	for range 5 {
		if _, err := ts.store.AddMaterial(ctx, tr.ID, "", store.MaterialInput{Kind: store.MaterialPage, Title: "Page", BodyMD: "x", Required: true}); err != nil {
			b.Fatal(err)
		}
	}
	u, err := ts.store.CreateUser(ctx, store.NewUser{AcceptedPolicy: seededPolicy, Email: "bench@example.org", FirstName: "B", Surname: "M",
		PasswordHash: string(staffHash), Role: store.RoleLearner, Verified: true})
	if err != nil {
		b.Fatal(err)
	}
	if err := ts.store.Enrol(ctx, u.ID, tr.ID); err != nil {
		b.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.PostForm(ts.URL+"/login", url.Values{"email": {"bench@example.org"}, "password": {"bench password"}})
	if err != nil || res.StatusCode != http.StatusSeeOther {
		b.Fatalf("login: %v %v", err, res.StatusCode)
	}
	res.Body.Close()
	ts.app.limits.loginIP = newLimiter(1<<30, time.Hour, ts.clock.Now)

	run := func(b *testing.B) {
		for b.Loop() {
			res, err := c.Get(ts.URL + "/trainings/" + tr.ID)
			if err != nil {
				b.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				b.Fatalf("status %d", res.StatusCode)
			}
		}
	}
	// The ratio asked for is ns/op of no-logging ÷ ns/op of logging (target
	// at least 0.8); compare the two sub-benchmarks' figures.
	b.Run("logging", run)
	b.Run("no-logging", func(b *testing.B) {
		ts.app.activityOff.Store(true)
		defer ts.app.activityOff.Store(false)
		run(b)
	})
}

// BenchmarkCatalogueAnonymous serves GET /trainings to a visitor with no
// cookies, through every middleware, straight into the handler (no TCP), for
// profiling the page itself.
func BenchmarkCatalogueAnonymous(b *testing.B) {
	ts := newTestServer(b, func(c *Config) { c.Demo = true })
	h := ts.app.Handler()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest(http.MethodGet, ts.URL+"/trainings", nil)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Errorf("status %d", rec.Code)
				return
			}
		}
	})
}

// BenchmarkDashboardSignedIn serves GET /dashboard to a signed-in learner
// with one enrolment, through every middleware, straight into the handler
// (no TCP), for profiling the page itself.
func BenchmarkDashboardSignedIn(b *testing.B) {
	ts := newTestServer(b, func(c *Config) { c.Demo = true })
	ctx := b.Context()
	hash, _ := bcrypt.GenerateFromPassword([]byte("bench password"), bcrypt.MinCost)
	u, err := ts.store.CreateUser(ctx, store.NewUser{AcceptedPolicy: seededPolicy, Email: "dash@example.org", FirstName: "D", Surname: "B",
		PasswordHash: string(hash), Role: store.RoleLearner, Verified: true})
	if err != nil {
		b.Fatal(err)
	}
	trs, err := ts.store.Trainings(ctx, store.CatalogueFilter{})
	if err != nil || len(trs) == 0 {
		b.Fatalf("demo trainings: %v", err)
	}
	if err := ts.store.Enrol(ctx, u.ID, trs[0].ID); err != nil {
		b.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.PostForm(ts.URL+"/login", url.Values{"email": {"dash@example.org"}, "password": {"bench password"}})
	if err != nil || res.StatusCode != http.StatusSeeOther {
		b.Fatalf("login: %v %v", err, res.StatusCode)
	}
	res.Body.Close()
	base, _ := url.Parse(ts.URL)
	cookies := jar.Cookies(base)
	h := ts.app.Handler()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest(http.MethodGet, ts.URL+"/dashboard", nil)
			for _, ck := range cookies {
				req.AddCookie(ck)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Errorf("status %d", rec.Code)
				return
			}
		}
	})
}
