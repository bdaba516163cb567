package store

import (
	"context"
	"database/sql"
	"net/netip"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestActivityWriterCommitsEverythingAtClose(t *testing.T) {
	s := newTestStore(t)
	u, err := s.CreateUser(t.Context(), NewUser{Email: "learner@example.org", FirstName: "A", Surname: "B", PasswordHash: "x", Role: RoleLearner})
	require.NoError(t, err)
	// A small queue forces back-pressure on the producers.
	w := s.NewActivityWriter(64, func(err error) { t.Errorf("writer: %v", err) })
	const n = 5000
	for range n {
		require.NoError(t, w.Record(t.Context(), ActivityEvent{UserID: u.ID, TrainingID: "t", Action: ActViewMaterial,
			ObjectType: "material", ObjectID: "m", IP: netip.MustParseAddr("203.0.113.9")}))
	}
	require.NoError(t, w.Close(t.Context()))
	var got int
	require.NoError(t, s.rdb.QueryRow("SELECT COUNT(*) FROM activity_log").Scan(&got))
	assert.Equal(t, n, got, "every queued event is committed at close")
	assert.ErrorIs(t, w.Record(t.Context(), ActivityEvent{UserID: u.ID, Action: ActEnrol}), ErrWriterClosed)

	entries, err := s.Activity(t.Context(), u.ID, 1)
	require.NoError(t, err)
	require.Len(t, entries, 1)
	assert.Equal(t, "203.0.113.9", entries[0].IP)
	assert.Equal(t, "203.0.113.0/24", entries[0].IPPrefix)
}

func TestActivityWriterSkipsErasedPeople(t *testing.T) {
	s := newTestStore(t)
	u, err := s.CreateUser(t.Context(), NewUser{Email: "gone@example.org", FirstName: "A", Surname: "B", PasswordHash: "x", Role: RoleLearner})
	require.NoError(t, err)
	require.NoError(t, s.DestroyDataKey(t.Context(), u.ID))
	w := s.NewActivityWriter(16, nil)
	require.NoError(t, w.Record(t.Context(), ActivityEvent{UserID: u.ID, Action: ActEnrol, IP: netip.MustParseAddr("::1")}))
	require.NoError(t, w.Close(t.Context()))
	var got int
	require.NoError(t, s.rdb.QueryRow("SELECT COUNT(*) FROM activity_log").Scan(&got))
	assert.Zero(t, got)
}

func TestIPPrefix(t *testing.T) {
	assert.Equal(t, "198.51.100.0/24", ipPrefix(netip.MustParseAddr("198.51.100.77")))
	assert.Equal(t, "2001:db8:1234::/48", ipPrefix(netip.MustParseAddr("2001:db8:1234:5678::1")))
}

// BenchmarkActivityIngest measures events committed per second through the
// writer: producers on every core, sealing, batching and commits included.
func BenchmarkActivityIngest(b *testing.B) {
	s := newTestStore(b)
	var users []string
	for i := range 100 {
		u, err := s.CreateUser(context.Background(), NewUser{Email: "u" + strconv.Itoa(i) + "@example.org", FirstName: "A", Surname: "B",
			PasswordHash: "x", Role: RoleLearner})
		if err != nil {
			b.Fatal(err)
		}
		users = append(users, u.ID)
	}
	w := s.NewActivityWriter(1<<16, func(err error) { b.Error(err) })
	ip := netip.MustParseAddr("203.0.113.9")
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			if err := w.Record(context.Background(), ActivityEvent{UserID: users[i%len(users)], TrainingID: "training",
				Action: ActViewMaterial, ObjectType: "material", ObjectID: "material", IP: ip}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	if err := w.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
}

// BenchmarkActivityIngestRawBaseline is the bound BenchmarkActivityIngest is
// compared with in the same run: plain modernc batched INSERTs of rows of
// the same shape (IP fields as already-sealed bytes of the same size) into
// the same table, in transactions of the writer's batch size, with no
// foreign keys, no sealing, no queue and no existence check.
func BenchmarkActivityIngestRawBaseline(b *testing.B) {
	path := filepath.Join(b.TempDir(), "raw.db")
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE TABLE activity_log (id INTEGER PRIMARY KEY, user_id TEXT NOT NULL, training_id TEXT, at TEXT NOT NULL,
		action TEXT NOT NULL, object_type TEXT, object_id TEXT, ip BLOB, ip_prefix BLOB) STRICT;
		CREATE INDEX activity_log_at ON activity_log (at);
		CREATE INDEX activity_log_user ON activity_log (user_id, at);
		CREATE INDEX activity_log_training ON activity_log (training_id, at);`); err != nil {
		b.Fatal(err)
	}
	ip, pref := make([]byte, 52), make([]byte, 54) // the sealed sizes of an IPv4 address and its /24
	users := make([]string, 100)
	for i := range users {
		users[i] = NewID()
	}
	b.ResetTimer()
	start := time.Now()
	for done := 0; done < b.N; {
		n := min(maxActivityBatch, b.N-done)
		tx, err := db.Begin()
		if err != nil {
			b.Fatal(err)
		}
		stmt, err := tx.Prepare(`INSERT INTO activity_log (user_id, training_id, at, action, object_type, object_id, ip, ip_prefix)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			b.Fatal(err)
		}
		for i := range n {
			if _, err := stmt.Exec(users[(done+i)%len(users)], "training", ts(time.Now()), ActViewMaterial, "material", "material", ip, pref); err != nil {
				b.Fatal(err)
			}
		}
		stmt.Close()
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
		done += n
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
}

// TestActivityWriterSync: after Sync, every event recorded before it can be
// read, however the batches fell; a Sync with nothing queued returns too.
func TestActivityWriterSync(t *testing.T) {
	s := newTestStore(t)
	u, err := s.CreateUser(t.Context(), NewUser{Email: "learner@example.org", FirstName: "A", Surname: "B", PasswordHash: "x", Role: RoleLearner})
	require.NoError(t, err)
	w := s.NewActivityWriter(64, func(err error) { t.Errorf("writer: %v", err) })
	require.NoError(t, w.Sync(t.Context()), "nothing queued")
	count := func() (n int) {
		require.NoError(t, s.rdb.QueryRow("SELECT COUNT(*) FROM activity_log").Scan(&n))
		return n
	}
	total := 0
	for _, n := range []int{1, 3, 500} {
		for range n {
			require.NoError(t, w.Record(t.Context(), ActivityEvent{UserID: u.ID, Action: ActEnrol}))
		}
		total += n
		require.NoError(t, w.Sync(t.Context()))
		assert.Equal(t, total, count(), "committed before Sync returned")
	}
	require.NoError(t, w.Close(t.Context()))
	require.NoError(t, w.Sync(t.Context()), "after Close there is nothing left to wait for")
}
