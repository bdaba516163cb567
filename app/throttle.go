package app

import (
	"container/list"
	"context"
	"errors"
	"net/netip"
	"runtime"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// limiter is a fixed-window counter per key (a client network, an
// account). It lives in memory: a restart forgets it, which is acceptable
// for a single process. The map is bounded: when it is full, expired
// windows are swept and then the oldest windows are evicted, so a flood of
// new keys never stops the limiter from tracking (it never fails open).
type limiter struct {
	mu      sync.Mutex
	limit   int
	window  time.Duration
	clock   func() time.Time
	maxKeys int
	hits    map[string]*list.Element // of *window, oldest start first
	order   *list.List
}

type window struct {
	key   string
	start time.Time
	n     int
}

func newLimiter(limit int, per time.Duration, clock func() time.Time) *limiter {
	return &limiter{limit: limit, window: per, clock: clock, maxKeys: 100_000, hits: map[string]*list.Element{}, order: list.New()}
}

// live returns key's window when it has not expired.
func (l *limiter) live(key string, now time.Time) *window {
	e, ok := l.hits[key]
	if !ok {
		return nil
	}
	w := e.Value.(*window)
	if now.Sub(w.start) >= l.window {
		return nil
	}
	return w
}

// blocked reports whether key has used up its window, and how long until it
// may try again. It does not count an attempt.
func (l *limiter) blocked(key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock()
	w := l.live(key, now)
	if w != nil && w.n >= l.limit {
		return true, w.start.Add(l.window).Sub(now)
	}
	return false, 0
}

// seen reports whether key was counted within the window.
func (l *limiter) seen(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.live(key, l.clock()) != nil
}

// hit counts one attempt for key.
func (l *limiter) hit(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock()
	if w := l.live(key, now); w != nil {
		w.n++
		return
	}
	if e, ok := l.hits[key]; ok {
		l.order.Remove(e)
		delete(l.hits, key)
	}
	if len(l.hits) >= l.maxKeys {
		l.sweep(now)
	}
	for len(l.hits) >= l.maxKeys {
		oldest := l.order.Front()
		l.order.Remove(oldest)
		delete(l.hits, oldest.Value.(*window).key)
	}
	l.hits[key] = l.order.PushBack(&window{key: key, start: now, n: 1})
}

// reset forgets key, e.g. an account's failures after a good login.
func (l *limiter) reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e, ok := l.hits[key]; ok {
		l.order.Remove(e)
		delete(l.hits, key)
	}
}

// sweep drops expired windows: they are at the front, in start order.
func (l *limiter) sweep(now time.Time) {
	for e := l.order.Front(); e != nil; e = l.order.Front() {
		w := e.Value.(*window)
		if now.Sub(w.start) < l.window {
			return
		}
		l.order.Remove(e)
		delete(l.hits, w.key)
	}
}

// clientNetwork is the throttling key of a client address: the address for
// IPv4, the /64 for IPv6, since one subscriber gets a whole /64 and could
// otherwise count as 2^64 clients.
func clientNetwork(ip netip.Addr) string {
	if ip.Is6() && !ip.Is4In6() {
		p, err := ip.Prefix(64)
		if err == nil {
			return p.String()
		}
	}
	return ip.String()
}

// limiters are the throttles in front of every expensive or abusable form.
type limiters struct {
	loginIP      *limiter // every login attempt from one client network
	loginAccount *limiter // failed logins against one account from one client network
	// loginGlobal is the slower ceiling of failed logins against one
	// account from everywhere; networks the owner logged in from before
	// (knownNets) are not held by it, so strangers cannot lock them out.
	loginGlobal *limiter
	knownNets   *limiter
	registerIP  *limiter
	mailIP      *limiter // forgot-password and verification re-sends per address
	mailAccount *limiter // mails per account, so nobody is mail-bombed
	codeAccount *limiter // wrong second-factor codes per account
}

func newLimiters(clock func() time.Time) limiters {
	return limiters{
		loginIP:      newLimiter(30, 15*time.Minute, clock),
		loginAccount: newLimiter(5, 15*time.Minute, clock),
		loginGlobal:  newLimiter(50, time.Hour, clock),
		knownNets:    newLimiter(1<<30, 30*24*time.Hour, clock),
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
	// dummyReady is closed once dummy is made.
	dummyReady chan struct{}
}

func newHasher(cost int) *hasher {
	return &hasher{cost: cost, slots: make(chan struct{}, runtime.NumCPU()), dummyReady: make(chan struct{})}
}

// makeDummy makes the dummy hash. New has it run at start, not at the
// first unknown address (that first answer would take twice as long and
// give it away), but in the background: kelas listens at once, and a login
// that arrives before it is ready waits for it.
func (h *hasher) makeDummy() {
	h.dummy, _ = bcrypt.GenerateFromPassword([]byte("kelas dummy password"), h.cost)
	close(h.dummyReady)
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
		select {
		case <-h.dummyReady:
		case <-ctx.Done():
			return false, ctx.Err()
		}
		hash = string(h.dummy)
	}
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	defer h.release()
	match := bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
	return known && match, nil
}
