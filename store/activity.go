package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"
)

// Activity actions (SPEC §2, activity log).
const (
	ActViewTraining     = "view_training"
	ActEnrol            = "enrol"
	ActViewMaterial     = "view_material"
	ActDownloadFile     = "download_file"
	ActStartQuiz        = "start_quiz"
	ActSubmitQuiz       = "submit_quiz"
	ActComplete         = "complete"
	ActCertificateIssue = "certificate_issued"
	ActAttendance       = "attendance"
	ActLeave            = "leave_training"
)

// ActivityEvent is one learner action.
type ActivityEvent struct {
	UserID     string
	TrainingID string
	Action     string
	ObjectType string
	ObjectID   string
	At         time.Time
	IP         netip.Addr

	synced chan struct{} // a Sync marker, not an event: closed once what came before it is committed
}

// ErrWriterClosed is returned by Record after Close.
var ErrWriterClosed = errors.New("store: activity writer closed")

// ActivityWriter takes activity events off the request path and commits
// them in batches: a request only hands its event over. The queue is
// bounded; when it is full Record waits (back-pressure) instead of growing
// memory or dropping events. Close commits everything queued.
type ActivityWriter struct {
	s       *Store
	ch      chan ActivityEvent
	mu      sync.RWMutex // held for reading while sending, for writing by Close
	closed  bool
	done    chan struct{}
	onError func(error)
}

// maxActivityBatch bounds one transaction so a burst never holds the write
// lock for long.
const maxActivityBatch = 2000

// activityLinger is how long the writer waits to fill a batch: short enough
// that the log is current, long enough to amortise a commit.
const activityLinger = 5 * time.Millisecond

// NewActivityWriter starts a writer with a queue of size events. onError,
// if set, hears about batches that could not be committed.
func (s *Store) NewActivityWriter(size int, onError func(error)) *ActivityWriter {
	w := &ActivityWriter{s: s, ch: make(chan ActivityEvent, size), done: make(chan struct{}), onError: onError}
	go w.run()
	return w
}

// Record queues an event. It blocks only while the queue is full.
func (w *ActivityWriter) Record(ctx context.Context, ev ActivityEvent) error {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		return ErrWriterClosed
	}
	if ev.At.IsZero() {
		ev.At = w.s.Now()
	}
	select {
	case w.ch <- ev:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Sync returns once every event recorded before it is committed (or ctx
// ends): for those who must read the log right after writing it.
func (w *ActivityWriter) Sync(ctx context.Context) error {
	done := make(chan struct{})
	w.mu.RLock()
	if w.closed {
		w.mu.RUnlock()
		return nil // Close commits everything queued
	}
	select {
	case w.ch <- ActivityEvent{synced: done}:
	case <-ctx.Done():
		w.mu.RUnlock()
		return ctx.Err()
	}
	w.mu.RUnlock()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops accepting events and returns once every queued event is
// committed, or ctx ends.
func (w *ActivityWriter) Close(ctx context.Context) error {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.ch)
	}
	w.mu.Unlock()
	select {
	case <-w.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (w *ActivityWriter) run() {
	defer close(w.done)
	batch := make([]ActivityEvent, 0, maxActivityBatch)
	linger := time.NewTimer(0)
	<-linger.C
	for ev := range w.ch {
		if ev.synced != nil {
			close(ev.synced) // everything before it is committed already
			continue
		}
		batch = append(batch[:0], ev)
		var synced []chan struct{}
		// Wait briefly for more events so that a steady stream is committed
		// in large batches (one commit and fsync per batch), not one by one.
		linger.Reset(activityLinger)
	fill:
		for len(batch) < maxActivityBatch {
			select {
			case ev, ok := <-w.ch:
				if !ok {
					break fill
				}
				if ev.synced != nil {
					synced = append(synced, ev.synced)
					break fill
				}
				batch = append(batch, ev)
			case <-linger.C:
				break fill
			}
		}
		if !linger.Stop() {
			select {
			case <-linger.C:
			default:
			}
		}
		if err := w.s.writeActivity(context.Background(), batch); err != nil {
			// One retry covers a transient lock timeout; a second failure is
			// reported rather than retried forever.
			time.Sleep(100 * time.Millisecond)
			if err := w.s.writeActivity(context.Background(), batch); err != nil && w.onError != nil {
				w.onError(fmt.Errorf("activity batch of %d lost: %w", len(batch), err))
			}
		}
		for _, c := range synced {
			close(c)
		}
	}
}

// ipPrefix truncates an address to its network: /24 for IPv4, /48 for IPv6.
func ipPrefix(ip netip.Addr) string {
	bits := 48
	if ip.Is4() {
		bits = 24
	}
	p, err := ip.Prefix(bits)
	if err != nil {
		return ""
	}
	return p.String()
}

func (s *Store) writeActivity(ctx context.Context, batch []ActivityEvent) error {
	type row struct {
		ev       ActivityEvent
		ip, pref any
	}
	rows := make([]row, 0, len(batch))
	for _, ev := range batch {
		r := row{ev: ev}
		if ev.IP.IsValid() {
			z, err := s.sealerFor(ctx, ev.UserID, "activity_log", ev.UserID)
			if errors.Is(err, ErrNotFound) {
				continue // the person was erased meanwhile
			}
			if err != nil {
				return err
			}
			r.ip, r.pref = z.seal("ip", ev.IP.String()), z.seal("ip_prefix", ipPrefix(ev.IP))
		}
		rows = append(rows, r)
	}
	return s.logTx(ctx, func(tx *sql.Tx) error {
		// activity_log has no foreign key: an event of a person erased
		// since it was recorded is dropped here, in the writer's
		// transaction, or nothing would ever remove it.
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO activity_log (user_id, training_id, at, action, object_type, object_id, ip, ip_prefix)
			SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8 WHERE EXISTS (SELECT 1 FROM users WHERE id = ?1)`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		// The reports' per-day counts (activity_days) grow with the log,
		// in the same transaction and under the same condition.
		type dayKey struct{ training, day, user string }
		days := map[dayKey]int{}
		var order []dayKey
		for _, r := range rows {
			at := ts(r.ev.At)
			if _, err := stmt.ExecContext(ctx, r.ev.UserID, nullStr(r.ev.TrainingID), at, r.ev.Action,
				nullStr(r.ev.ObjectType), nullStr(r.ev.ObjectID), r.ip, r.pref); err != nil {
				return err
			}
			k := dayKey{r.ev.TrainingID, at[:len("2006-01-02")], r.ev.UserID}
			if days[k] == 0 {
				order = append(order, k)
			}
			days[k]++
		}
		if len(order) == 0 {
			return nil
		}
		add, err := tx.PrepareContext(ctx, `INSERT INTO activity_days (training_id, day, user_id, n)
			SELECT ?1, ?2, ?3, ?4 WHERE EXISTS (SELECT 1 FROM users WHERE id = ?3)
			ON CONFLICT (training_id, day, user_id) DO UPDATE SET n = n + excluded.n`)
		if err != nil {
			return err
		}
		defer add.Close()
		for _, k := range order {
			if _, err := add.ExecContext(ctx, k.training, k.day, k.user, days[k]); err != nil {
				return err
			}
		}
		return nil
	})
}

// ActivityEntry is a stored event with its address opened.
type ActivityEntry struct {
	ID         int64
	TrainingID string
	At         time.Time
	Action     string
	ObjectType string
	ObjectID   string
	IP         string // full address, "" once retention dropped it
	IPPrefix   string // truncated address, "" once dropped
}

// Activity returns a person's activity log, newest first, at most limit rows
// (0 for all).
func (s *Store) Activity(ctx context.Context, userID string, limit int) ([]ActivityEntry, error) {
	q := `SELECT id, COALESCE(training_id, ''), at, action, COALESCE(object_type, ''), COALESCE(object_id, ''), ip, ip_prefix
		FROM activity_log WHERE user_id = ? ORDER BY at DESC, id DESC`
	args := []any{userID}
	if limit > 0 {
		q += " LIMIT ?"
		args = append(args, limit)
	}
	rows, err := s.rdb.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: activity: %w", err)
	}
	defer rows.Close()
	var z *sealer
	var out []ActivityEntry
	for rows.Next() {
		var e ActivityEntry
		var ip, pref []byte
		if err := rows.Scan(&e.ID, &e.TrainingID, tsInto(&e.At), &e.Action, &e.ObjectType, &e.ObjectID, &ip, &pref); err != nil {
			return nil, fmt.Errorf("store: activity: %w", err)
		}
		if ip != nil || pref != nil {
			if z == nil {
				zz, err := s.sealerFor(ctx, userID, "activity_log", userID)
				if err != nil {
					return nil, err
				}
				z = &zz
			}
			if e.IP, err = z.open("ip", ip); err != nil {
				return nil, err
			}
			if e.IPPrefix, err = z.open("ip_prefix", pref); err != nil {
				return nil, err
			}
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
