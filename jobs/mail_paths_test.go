package jobs

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"kelas/jobs/smtptest"
	"kelas/store"
)

// runnerOn opens the store in dir with key and a runner on it, as
// `kelas serve` would after a restart, logging to logs; close closes both
// and reports their errors.
func runnerOn(t *testing.T, dir string, key []byte, clock *testClock, cfg Config, logs io.Writer) (st *store.Store, r *Runner, close func()) {
	t.Helper()
	st, err := store.Open(context.Background(), store.Options{Dir: dir, MasterKey: key, Clock: clock.Now})
	require.NoError(t, err)
	r, err = New(cfg, st, slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		st.Close()
	}
	require.NoError(t, err)
	var once sync.Once
	close = func() {
		once.Do(func() {
			assert.NoError(t, r.Close(context.Background()), "closing the background work")
			assert.NoError(t, st.Close(), "closing the store")
		})
	}
	t.Cleanup(close)
	return st, r, close
}

// shutdownAfter is the real SMTP mailer with a shutdown arriving right
// after the server accepted the n-th mail: the moment a careless loop would
// forget that the mail went.
type shutdownAfter struct {
	Mailer
	n      int
	cancel context.CancelFunc
	mu     sync.Mutex
	sent   int
}

func (s *shutdownAfter) Send(ctx context.Context, m Mail) error {
	err := s.Mailer.Send(ctx, m)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil {
		s.sent++
		if s.sent == s.n {
			s.cancel()
		}
	}
	return err
}

// logBuffer collects log lines written from several goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newKey() []byte {
	key := make([]byte, 32)
	rand.Read(key)
	return key
}

// TestMailShutdownMidBatchNeverResendsAccepted: a shutdown in the middle
// of a batch records the mail the server accepted as sent, leaves the rest
// queued, and after a restart the rest goes out and the accepted one never
// again.
func TestMailShutdownMidBatchNeverResendsAccepted(t *testing.T) {
	smtpd := smtptest.New(t)
	real, err := NewSMTPMailer(smtpd.URL(), "")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	mailer := &shutdownAfter{Mailer: real, n: 2, cancel: cancel}
	dir, key := t.TempDir(), newKey()
	clock := &testClock{now: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}

	st, r, closeFirst := runnerOn(t, dir, key, clock, Config{Mailer: mailer}, io.Discard)
	var ids []string
	for _, to := range []string{"first@example.test", "second@example.test", "third@example.test", "fourth@example.test"} {
		id, err := st.EnqueueMail(ctx, store.NewMail{To: to, Kind: "verify", Subject: "s", Text: "t"})
		require.NoError(t, err)
		ids = append(ids, id)
		clock.Add(time.Second) // oldest first
	}
	processed, sent, err := r.deliverBatch(ctx)
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, 2, processed)
	assert.Equal(t, 2, sent)
	got := smtpd.WaitFor(t, 2)
	assert.Equal(t, []string{"first@example.test"}, got[0].To)
	assert.Equal(t, []string{"second@example.test"}, got[1].To)
	for i, want := range []string{store.MailSent, store.MailSent, store.MailQueued, store.MailQueued} {
		m, err := st.OutboxMail(context.Background(), ids[i])
		require.NoError(t, err)
		assert.Equal(t, want, m.Status, "mail %d", i+1)
	}
	closeFirst()

	// The restart: the mail handed out before the shutdown waits for its
	// lease to run out, then goes; the accepted ones do not go again.
	st, r, _ = runnerOn(t, dir, key, clock, Config{Mailer: real}, io.Discard)
	clock.Add(5*time.Minute + time.Second)
	processed, sent, err = r.deliverBatch(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 2, processed)
	assert.Equal(t, 2, sent)
	got = smtpd.WaitFor(t, 4)
	assert.Equal(t, []string{"third@example.test"}, got[2].To)
	assert.Equal(t, []string{"fourth@example.test"}, got[3].To)
	stats, err := st.OutboxStats(context.Background())
	require.NoError(t, err)
	assert.Equal(t, store.OutboxStats{Sent: 4}, stats)
}

// TestMailServerStoppedFailuresRecorded: with the SMTP server stopped, each
// mail's failed attempt is recorded (a connection failure is temporary, so
// it is retried after a minute) without the address in the record or the
// log; once a server answers again at the same address every mail goes
// exactly once.
func TestMailServerStoppedFailuresRecorded(t *testing.T) {
	smtpd := smtptest.New(t)
	clock := &testClock{now: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	logs := &logBuffer{}
	st, r, _ := runnerOn(t, t.TempDir(), newKey(), clock, Config{SMTPURL: smtpd.URL()}, logs)
	var ids []string
	for _, to := range []string{"first@example.test", "second@example.test"} {
		id, err := st.EnqueueMail(t.Context(), store.NewMail{To: to, Kind: "verify", Subject: "s", Text: "t"})
		require.NoError(t, err)
		ids = append(ids, id)
	}
	require.NoError(t, smtpd.Close())

	processed, sent, err := r.deliverBatch(t.Context())
	require.NoError(t, err, "a failed delivery is recorded, not a failed pass")
	assert.Equal(t, 2, processed)
	assert.Zero(t, sent)
	for _, id := range ids {
		m, err := st.OutboxMail(t.Context(), id)
		require.NoError(t, err)
		assert.Equal(t, store.MailQueued, m.Status)
		assert.Equal(t, 1, m.Attempts)
		assert.Equal(t, "smtp connect (temporary)", m.LastError)
		assert.Equal(t, clock.Now().Add(time.Minute), m.NextAttemptAt)
	}
	out := logs.String()
	assert.Equal(t, 2, strings.Count(out, "mail retry scheduled"))
	assert.Contains(t, out, "err_class=connect")
	assert.NotContains(t, out, "example.test")

	// A server comes back at the same address.
	back := smtptest.New(t, smtptest.AtAddr(smtpd.Addr))

	clock.Add(time.Minute)
	processed, sent, err = r.deliverBatch(t.Context())
	require.NoError(t, err)
	assert.Equal(t, 2, processed)
	assert.Equal(t, 2, sent)
	back.WaitFor(t, 2)
	for _, id := range ids {
		m, err := st.OutboxMail(t.Context(), id)
		require.NoError(t, err)
		assert.Equal(t, store.MailSent, m.Status)
		assert.Equal(t, 2, m.Attempts)
	}
	clock.Add(time.Hour)
	processed, _, err = r.deliverBatch(t.Context())
	require.NoError(t, err)
	assert.Zero(t, processed)
	back.WaitFor(t, 2)
}
