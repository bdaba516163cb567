package store

import (
	"sync"
	"sync/atomic"
	"time"
)

// readCacheMax bounds the entries kept; past it the cache starts over
// (catalogue searches are free text, so keys are not a closed set).
const readCacheMax = 512

// readCache keeps the results of a few hot reads of public data that every
// anonymous page needs (the catalogue, a training and its dates, the
// policy in force) until the next write. It holds nothing personal:
// trainings, Members' names and the published policy are shown to anyone.
//
// Correctness rests on one rule: every write transaction on kelas.db that
// may change a cached read bumps gen after it commits (Store.tx does so;
// only the log writers, whose tables no cached read touches, use
// Store.logTx instead). A reader takes gen before it queries and stores
// its result under that generation, so a result read before a commit is
// never served after it: at worst it is dropped.
type readCache struct {
	gen atomic.Uint64

	mu      sync.RWMutex
	at      uint64 // generation the entries belong to
	entries map[any]cacheEntry
}

// cacheEntry is a result and the interval of the store's clock in which it
// holds (zero bounds: no limit), for reads that depend on the time.
type cacheEntry struct {
	v           any
	from, until time.Time
}

// invalidate drops every entry; called after each commit.
func (c *readCache) invalidate() { c.gen.Add(1) }

// generation is what a reader takes before it queries.
func (c *readCache) generation() uint64 { return c.gen.Load() }

// get returns the entry for key if it belongs to the current generation and
// holds at now.
func (c *readCache) get(key any, now time.Time) (any, bool) {
	gen := c.gen.Load()
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.at != gen {
		return nil, false
	}
	e, ok := c.entries[key]
	if !ok || (!e.from.IsZero() && now.Before(e.from)) || (!e.until.IsZero() && !now.Before(e.until)) {
		return nil, false
	}
	return e.v, true
}

// put stores v for key, read at generation gen; a result read before the
// latest commit is not kept.
func (c *readCache) put(gen uint64, key any, e cacheEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen.Load() {
		return
	}
	if c.at != gen || c.entries == nil || len(c.entries) >= readCacheMax {
		c.entries = make(map[any]cacheEntry)
		c.at = gen
	}
	c.entries[key] = e
}
