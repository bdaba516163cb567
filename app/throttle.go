package app

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// limiter is a fixed-window counter per key (a client address, an account).
// It lives in memory: a restart forgets it, which is acceptable for a single
// process. The map is bounded; expired windows are swept when it fills.
type limiter struct {
	mu      sync.Mutex
	limit   int
	window  time.Duration
	clock   func() time.Time
	maxKeys int
	hits    map[string]*window
}

type window struct {
	start time.Time
	n     int
}

func newLimiter(limit int, per time.Duration, clock func() time.Time) *limiter {
	return &limiter{limit: limit, window: per, clock: clock, maxKeys: 100_000, hits: map[string]*window{}}
}

// blocked reports whether key has used up its window, and how long until it
// may try again. It does not count an attempt.
func (l *limiter) blocked(key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock()
	w, ok := l.hits[key]
	if !ok || now.Sub(w.start) >= l.window {
		return false, 0
	}
	if w.n >= l.limit {
		return true, w.start.Add(l.window).Sub(now)
	}
	return false, 0
}

// hit counts one attempt for key.
func (l *limiter) hit(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock()
	w, ok := l.hits[key]
	if !ok || now.Sub(w.start) >= l.window {
		if len(l.hits) >= l.maxKeys {
			l.sweep(now)
		}
		if len(l.hits) >= l.maxKeys {
			return // full of live windows: stop tracking new keys rather than grow
		}
		w = &window{start: now}
		l.hits[key] = w
	}
	w.n++
}

// reset forgets key, e.g. an account's failures after a good login.
func (l *limiter) reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.hits, key)
}

func (l *limiter) sweep(now time.Time) {
	for k, w := range l.hits {
		if now.Sub(w.start) >= l.window {
			delete(l.hits, k)
		}
	}
}

// limiters are the throttles in front of every expensive or abusable form.
type limiters struct {
	loginIP      *limiter // every login attempt from one address
	loginAccount *limiter // failed logins against one account
	registerIP   *limiter
	mailIP       *limiter // forgot-password and verification re-sends per address
	mailAccount  *limiter // mails per account, so nobody is mail-bombed
	codeAccount  *limiter // wrong second-factor codes per account
}

func newLimiters(clock func() time.Time) limiters {
	return limiters{
		loginIP:      newLimiter(30, 15*time.Minute, clock),
		loginAccount: newLimiter(5, 15*time.Minute, clock),
		registerIP:   newLimiter(30, time.Hour, clock), // room for a class registering behind one NAT
		mailIP:       newLimiter(10, time.Hour, clock),
		mailAccount:  newLimiter(3, time.Hour, clock),
		codeAccount:  newLimiter(5, 15*time.Minute, clock),
	}
}

// errBusy means all password-hashing slots stayed taken too long.
var errBusy = errors.New("password hashing is saturated")

// hasher bounds concurrent bcrypt work to the number of cores, so a flood of
// logins queues instead of starving every other request, and counts the
// operations it performs.
type hasher struct {
	cost  int
	slots chan struct{}
	ops   sync.Mutex
	n     int64
	dummy []byte // a hash of the same cost, compared for unknown accounts
}

func newHasher(cost int) *hasher {
	// The dummy hash is made now, not at the first unknown address: made
	// then, that first answer would take twice as long and give it away.
	dummy, _ := bcrypt.GenerateFromPassword([]byte("kelas dummy password"), cost)
	return &hasher{cost: cost, slots: make(chan struct{}, runtime.NumCPU()), dummy: dummy}
}

func (h *hasher) acquire(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	select {
	case h.slots <- struct{}{}:
		h.ops.Lock()
		h.n++
		h.ops.Unlock()
		return nil
	case <-ctx.Done():
		return errBusy
	}
}

func (h *hasher) release() { <-h.slots }

// Ops is how many bcrypt operations ran (hashes and comparisons).
func (h *hasher) Ops() int64 {
	h.ops.Lock()
	defer h.ops.Unlock()
	return h.n
}

// hash computes a bcrypt hash of password: once per registration or change.
func (h *hasher) hash(ctx context.Context, password string) (string, error) {
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	b, err := bcrypt.GenerateFromPassword([]byte(password), h.cost)
	return string(b), err
}

// compare checks password against hash. An empty hash (unknown account)
// compares against a dummy hash of the same cost, so the answer takes as
// long as for a real account.
func (h *hasher) compare(ctx context.Context, hash, password string) (bool, error) {
	known := hash != ""
	if !known {
		hash = string(h.dummy)
	}
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	defer h.release()
	match := bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
	return known && match, nil
}
