package store

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// reportRate adds an operations-per-second metric named unit.
func reportRate(b *testing.B, n int, unit string) {
	b.Helper()
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(n)/s, unit)
	}
}

// BenchmarkWriteTx measures committed write transactions through the single
// writer connection: one session upsert per transaction, as every request
// that touches its session does.
func BenchmarkWriteTx(b *testing.B) {
	ctx := context.Background()
	s := newTestStore(b)
	ss := s.Sessions()
	data := []byte(`{"deadline":"2025-01-01T00:00:00Z","values":{"user_id":"aaaaaaaaaaaaaaaaaaaaaaaaaa"}}`)
	expiry := time.Now().Add(time.Hour)
	n := 0
	for b.Loop() {
		if err := ss.CommitCtx(ctx, "token-"+strconv.Itoa(n%1000), data, expiry); err != nil {
			b.Fatal(err)
		}
		n++
	}
	reportRate(b, n, "tx/s")
}

// BenchmarkCreateUser is one registration without bcrypt: a new data key
// wrapped into keys.db, five sealed fields and a blind index into kelas.db,
// then the read-back.
func BenchmarkCreateUser(b *testing.B) {
	ctx := context.Background()
	s := newTestStore(b)
	n := 0
	for b.Loop() {
		nu := newUser(fmt.Sprintf("bench%d", n))
		if _, err := s.CreateUser(ctx, nu); err != nil {
			b.Fatal(err)
		}
		n++
	}
	reportRate(b, n, "users/s")
}

// benchUsers creates n users and returns their ids with the key cache warm.
func benchUsers(b *testing.B, s *Store, n int) []string {
	b.Helper()
	ids := make([]string, n)
	for i := range ids {
		u, err := s.CreateUser(context.Background(), newUser(fmt.Sprintf("reader%d", i)))
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = u.ID
	}
	return ids
}

// BenchmarkUserRead reads one person (a query plus five field opens) with
// their data key already cached, as on every authenticated request.
func BenchmarkUserRead(b *testing.B) {
	ctx := context.Background()
	s := newTestStore(b)
	id := benchUsers(b, s, 1)[0]
	for b.Loop() {
		if _, err := s.User(ctx, id); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b, b.N, "reads/s")
}

// BenchmarkUserReadColdKey is the same read after the key cache lost the
// person: a keys.db query and an unwrap come on top.
func BenchmarkUserReadColdKey(b *testing.B) {
	ctx := context.Background()
	s := newTestStore(b)
	id := benchUsers(b, s, 1)[0]
	for b.Loop() {
		s.keys.drop(id)
		if _, err := s.User(ctx, id); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b, b.N, "reads/s")
}

// BenchmarkUserByEmail is the login lookup: blind index, query, opens.
func BenchmarkUserByEmail(b *testing.B) {
	ctx := context.Background()
	s := newTestStore(b)
	benchUsers(b, s, 100)
	for b.Loop() {
		if _, err := s.UserByEmail(ctx, " Reader42@Example.TEST"); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b, b.N, "reads/s")
}

// BenchmarkUserReadParallel reads many people from all goroutines at once
// through the read pool, keys cached.
func BenchmarkUserReadParallel(b *testing.B) {
	ctx := context.Background()
	s := newTestStore(b)
	ids := benchUsers(b, s, 256)
	var next atomic.Uint64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := ids[next.Add(1)%uint64(len(ids))]
			if _, err := s.User(ctx, id); err != nil {
				b.Error(err)
				return
			}
		}
	})
	reportRate(b, b.N, "reads/s")
}
