package app

import (
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"kelas/store"
)

// BenchmarkLearningPages measures one request at a time, through every
// middleware and straight into the handler (no TCP), for the two pages the
// learning side promises to render in under 20 ms: the catalogue holding
// 500 published trainings, and the dashboard of a learner enrolled in 50
// trainings with some progress. "healthz" is the baseline measured in the
// same run: the cheapest answer kelas gives, through the same middleware,
// so a figure can be read as a ratio on another machine.
func BenchmarkLearningPages(b *testing.B) {
	ts := newTestServer(b)
	ctx := b.Context()
	members, err := ts.store.Members(ctx)
	if err != nil || len(members) == 0 {
		b.Fatalf("members: %v", err)
	}
	var ids []string
	for i := range 500 {
		m := members[i%len(members)]
		kind := store.KindSelfStudy
		if i%5 == 0 {
			kind = store.KindLive
		}
		tr, err := ts.store.CreateTraining(ctx, m.ID, "", store.TrainingInput{Title: fmt.Sprintf("Training %03d for small businesses", i),
			Summary: "What a small business needs to know, in short lessons.", Language: []string{"en", "id", "ms", "th"}[i%4],
			Kind: kind, PassMark: 50, Published: true})
		if err != nil {
			b.Fatal(err)
		}
		ids = append(ids, tr.ID)
		if i < 50 {
			for range 4 {
				if _, err := ts.store.AddMaterial(ctx, tr.ID, "", store.MaterialInput{Kind: store.MaterialPage, Title: "Lesson", BodyMD: "Text.", Required: true}); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	hash, _ := bcrypt.GenerateFromPassword([]byte("bench password"), bcrypt.MinCost)
	u, err := ts.store.CreateUser(ctx, store.NewUser{AcceptedPolicy: seededPolicy, Email: "learner@example.org", FirstName: "L", Surname: "B",
		PasswordHash: string(hash), Role: store.RoleLearner, Verified: true})
	if err != nil {
		b.Fatal(err)
	}
	for _, id := range ids[:50] {
		if err := ts.store.Enrol(ctx, u.ID, id); err != nil {
			b.Fatal(err)
		}
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.PostForm(ts.URL+"/login", url.Values{"email": {"learner@example.org"}, "password": {"bench password"}})
	if err != nil || res.StatusCode != http.StatusSeeOther {
		b.Fatalf("login: %v %v", err, res.StatusCode)
	}
	res.Body.Close()
	base, _ := url.Parse(ts.URL)
	cookies := jar.Cookies(base)
	h := ts.app.Handler()
	get := func(b *testing.B, path string, signedIn bool) {
		for b.Loop() {
			req := httptest.NewRequest(http.MethodGet, ts.URL+path, nil)
			if signedIn {
				for _, ck := range cookies {
					req.AddCookie(ck)
				}
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("%s: status %d", path, rec.Code)
			}
		}
	}
	// afterAWrite is get with a write before each request (not timed): the
	// read cache is cleared by every write, so these figures are the pages
	// built from the database each time.
	writes := 0
	afterAWrite := func(b *testing.B, path string, signedIn bool) {
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			writes++
			if _, err := ts.store.CreateUser(ctx, store.NewUser{AcceptedPolicy: seededPolicy, Email: fmt.Sprintf("w%d@example.org", writes),
				FirstName: "W", PasswordHash: "x", Role: store.RoleLearner}); err != nil {
				b.Fatal(err)
			}
			req := httptest.NewRequest(http.MethodGet, ts.URL+path, nil)
			if signedIn {
				for _, ck := range cookies {
					req.AddCookie(ck)
				}
			}
			rec := httptest.NewRecorder()
			b.StartTimer()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("%s: status %d", path, rec.Code)
			}
		}
	}
	b.Run("healthz", func(b *testing.B) { get(b, "/healthz", false) })
	b.Run("catalogue-500", func(b *testing.B) { get(b, "/trainings", false) })
	b.Run("dashboard-50", func(b *testing.B) { get(b, "/dashboard", true) })
	b.Run("catalogue-500-after-a-write", func(b *testing.B) { afterAWrite(b, "/trainings", false) })
	b.Run("dashboard-50-after-a-write", func(b *testing.B) { afterAWrite(b, "/dashboard", true) })
}
