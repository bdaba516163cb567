package app

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkPageInLanguage serves text-heavy pages to a visitor in English
// and in Thai, through every middleware, straight into the handler. The
// target: a page in th costs at most 1.1 × the same page in en. Run with
// -count so the two alternate: go test ./app -run '^$' -bench PageInLanguage -count 6
func BenchmarkPageInLanguage(b *testing.B) {
	ts := newTestServer(b, func(c *Config) { c.Demo = true })
	h := ts.app.Handler()
	pages := func(b *testing.B, lang string) {
		for _, path := range []string{"/trainings", "/privacy", "/cookies", "/register", "/stats"} {
			req := httptest.NewRequest(http.MethodGet, ts.URL+path+"?lang="+lang, nil)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("%s: status %d", path, rec.Code)
			}
		}
	}
	// Warm both languages up first (caches, pools, lazily built names),
	// so neither sub-benchmark pays for the other's first requests.
	for range 50 {
		pages(b, "en")
		pages(b, "th")
	}
	for _, lang := range []string{"en", "th"} {
		b.Run(lang, func(b *testing.B) {
			for b.Loop() {
				pages(b, lang)
			}
		})
	}
}
