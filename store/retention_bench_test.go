package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"
)

// fillExpiredActivity inserts n activity rows older than every retention
// period, with sealed-size address blobs, in large transactions.
func fillExpiredActivity(b *testing.B, s *Store, n int) {
	b.Helper()
	ctx := context.Background()
	old := s.Now().Add(-400 * 24 * time.Hour)
	ip := make([]byte, 49) // the size of a sealed IPv4 address
	rand.Read(ip)
	const perTx = 50000
	for done := 0; done < n; done += perTx {
		err := s.tx(ctx, func(tx *sql.Tx) error {
			stmt, err := tx.PrepareContext(ctx, `INSERT INTO activity_log (user_id, training_id, at, action, object_type, object_id, ip, ip_prefix)
				VALUES (?, ?, ?, 'view_material', 'material', ?, ?, ?)`)
			if err != nil {
				return err
			}
			defer stmt.Close()
			for i := done; i < min(done+perTx, n); i++ {
				at := ts(old.Add(time.Duration(i) * time.Second))
				if _, err := stmt.ExecContext(ctx, "benchuser"+string(rune('a'+i%26)), "training", at, "m", ip, ip); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// latencies collects read latencies from concurrent readers.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

func (l *latencies) quantile(q float64) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.d) == 0 {
		return 0
	}
	s := slices.Clone(l.d)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

// BenchmarkPurge1MExpiredRows purges 1,000,000 expired activity-log rows
// while a reader keeps loading a learner's activity page (the real read path:
// query plus opening the sealed addresses), and reports the purge rate and
// the reader's p99 latency, then lets the reader run alone as long again as a
// baseline of what the machine itself does to it. The data is built inside the benchmark, so plain
// `go test` never pays for it; run it with
//
//	go test ./store -run '^$' -bench Purge1M -benchtime 1x
func BenchmarkPurge1MExpiredRows(b *testing.B) {
	const rows = 1_000_000
	ctx := context.Background()
	var lat, alone latencies
	var purged int64
	var elapsed time.Duration
	for b.Loop() {
		b.StopTimer()
		s := openTestStore(b, b.TempDir(), newMasterKey(b), nil)
		fillExpiredActivity(b, s, rows)
		// Learners with recent activity for the reader.
		var users []User
		for i := range 20 {
			u := createUser(b, s, newUser("reader"+string(rune('a'+i))))
			var evs []ActivityEvent
			for j := range 50 {
				evs = append(evs, ActivityEvent{UserID: u.ID, Action: ActViewMaterial, At: s.Now().Add(-time.Duration(j) * time.Hour),
					IP: netip.MustParseAddr("198.51.100.7")})
			}
			if err := s.writeActivity(ctx, evs); err != nil {
				b.Fatal(err)
			}
			users = append(users, u)
		}
		read := func(stop <-chan struct{}, lat *latencies) {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				start := time.Now()
				got, err := s.Activity(ctx, users[i%len(users)].ID, 20)
				if err != nil || len(got) != 20 {
					b.Errorf("reader: %d rows, %v", len(got), err)
					return
				}
				lat.add(time.Since(start))
			}
		}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { defer wg.Done(); read(stop, &lat) }()
		b.StartTimer()
		start := time.Now()
		results, err := s.Purge(ctx, PurgeOptions{})
		took := time.Since(start)
		elapsed += took
		b.StopTimer()
		close(stop)
		wg.Wait()
		if err != nil {
			b.Fatal(err)
		}
		// Baseline: the same reader alone, as long again.
		stop = make(chan struct{})
		wg.Add(1)
		go func() { defer wg.Done(); read(stop, &alone) }()
		time.Sleep(took)
		close(stop)
		wg.Wait()
		for _, r := range results {
			if r.Category == RetActivity {
				purged += r.Rows
			}
		}
		if purged%rows != 0 {
			b.Fatalf("purged %d rows, want a multiple of %d", purged, rows)
		}
		s.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(purged)/elapsed.Seconds(), "rows/s")
	b.ReportMetric(ms(lat.quantile(0.99)), "read-p99-ms")
	b.ReportMetric(ms(lat.quantile(1)), "read-max-ms")
	b.ReportMetric(ms(alone.quantile(0.99)), "alone-read-p99-ms")
	b.ReportMetric(ms(alone.quantile(1)), "alone-read-max-ms")
}
