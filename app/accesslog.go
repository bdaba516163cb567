package app

import (
	"context"
	"net/http"
	"sync"
	"time"

	"kelas/store"
)

// accessLogMax bounds the lines waiting in memory; past it lines are dropped
// (and counted) rather than slowing requests down.
const accessLogMax = 10000

// accessBuffer collects access-log lines off the request path.
type accessBuffer struct {
	mu      sync.Mutex
	lines   []store.AccessEntry
	dropped int
}

func (b *accessBuffer) add(e store.AccessEntry) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.lines) >= accessLogMax {
		b.dropped++
		return
	}
	b.lines = append(b.lines, e)
}

func (b *accessBuffer) take() ([]store.AccessEntry, int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	lines, dropped := b.lines, b.dropped
	b.lines, b.dropped = nil, 0
	return lines, dropped
}

// accessLog records one web access-log line per request (SPEC §2): the route
// pattern, never the raw path (paths carry tokens); the referrer's domain
// when it is another site; a browser family; the address, which the store
// seals with that day's key. Nothing links a line to an account. Static
// files and the health check are not logged.
func (a *App) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if r.Pattern == "GET /static/" || r.Pattern == "GET /healthz" {
			return
		}
		route := r.Pattern
		if route == "" {
			route = "-" // refused before routing (cross-origin) or no route
		}
		status := rec.status
		if status == 0 {
			status = http.StatusOK
		}
		a.access.add(store.AccessEntry{At: a.clock(), Method: r.Method, Route: route, Status: status,
			Duration: time.Since(start), Browser: accessBrowser(r.UserAgent()), Referrer: referrerDomain(r.Referer(), r.Host),
			IP: ClientIP(r.Context())})
	})
}

// flushAccessLog writes the waiting lines in one transaction.
func (a *App) flushAccessLog(ctx context.Context) error {
	lines, dropped := a.access.take()
	if dropped > 0 {
		a.log.Warn("access log lines dropped: the writer fell behind", "count", dropped)
	}
	return a.store.WriteAccessLog(ctx, lines)
}

// accessBrowser is the browser family for the access log, which, unlike the
// visitor statistics, keeps bots (as "Bot") to show what loads the server.
// The parsing is the statistics' own (stats.go).
func accessBrowser(ua string) string {
	switch {
	case ua == "":
		return ""
	case isBot(ua):
		return "Bot"
	}
	return browserFamily(ua)
}
