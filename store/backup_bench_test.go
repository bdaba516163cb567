package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// fillBytes grows kelas.db to about size bytes of activity rows carrying
// random (incompressible, like sealed data) blobs.
func fillBytes(b *testing.B, s *Store, size int64) {
	b.Helper()
	ctx := context.Background()
	blob := make([]byte, 1000)
	const perTx = 20000
	rows := int(size / 1450)
	at := ts(s.Now())
	for done := 0; done < rows; done += perTx {
		err := s.tx(ctx, func(tx *sql.Tx) error {
			stmt, err := tx.PrepareContext(ctx, `INSERT INTO activity_log (user_id, at, action, ip) VALUES ('filler', ?, 'view_training', ?)`)
			if err != nil {
				return err
			}
			defer stmt.Close()
			for range min(perTx, rows-done) {
				rand.Read(blob)
				if _, err := stmt.ExecContext(ctx, at, blob); err != nil {
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

// writeLoop commits one access-log line every 2 ms until stop closes and
// records each commit's duration.
func writeLoop(b *testing.B, s *Store, stop <-chan struct{}, lat *latencies) {
	ctx := context.Background()
	t := time.NewTicker(2 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		start := time.Now()
		err := s.WriteAccessLog(ctx, []AccessEntry{{At: s.Now(), Method: "GET", Route: "GET /", Status: 200,
			IP: netip.MustParseAddr("192.0.2.9")}})
		if err != nil {
			b.Errorf("writer: %v", err)
			return
		}
		lat.add(time.Since(start))
	}
}

// BenchmarkBackup500MBWhileWriting backs up a ~500 MB database while a
// writer commits a small transaction (one access-log line) every 2 ms, and
// reports the backup's throughput and the writer's longest stall. The same
// writer first runs alone for as long as the backup took, as a baseline of
// what the machine itself does to it. The database is built inside the
// benchmark; run it with
//
//	go test ./store -run '^$' -bench Backup500MB -benchtime 1x
func BenchmarkBackup500MBWhileWriting(b *testing.B) {
	ctx := context.Background()
	var during, alone latencies
	var total time.Duration
	var size int64
	for b.Loop() {
		b.StopTimer()
		s := openTestStore(b, b.TempDir(), newMasterKey(b), nil)
		fillBytes(b, s, 500<<20)
		st, err := os.Stat(filepath.Join(s.Dir(), MainDBFile))
		if err != nil {
			b.Fatal(err)
		}
		size = st.Size()

		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { defer wg.Done(); writeLoop(b, s, stop, &during) }()
		time.Sleep(50 * time.Millisecond) // the writer is going
		b.StartTimer()
		start := time.Now()
		bs, err := s.Backup(ctx, BackupOptions{})
		took := time.Since(start)
		total += took
		b.StopTimer()
		close(stop)
		wg.Wait()
		if err != nil || len(bs) != 2 {
			b.Fatalf("backup: %d files, %v", len(bs), err)
		}

		stop = make(chan struct{})
		wg.Add(1)
		go func() { defer wg.Done(); writeLoop(b, s, stop, &alone) }()
		time.Sleep(took)
		close(stop)
		wg.Wait()
		s.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(size)/(1<<20), "db-MB")
	b.ReportMetric(float64(size)/(1<<20)/(total.Seconds()/float64(b.N)), "MB/s")
	b.ReportMetric(ms(during.quantile(1)), "write-max-ms")
	b.ReportMetric(ms(during.quantile(0.99)), "write-p99-ms")
	b.ReportMetric(ms(alone.quantile(1)), "alone-write-max-ms")
	b.ReportMetric(ms(alone.quantile(0.99)), "alone-write-p99-ms")
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
