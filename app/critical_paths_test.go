package app

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"kelas/store"
)

// Password change (POST /profile/password).

// passwordChange is the form that changes the test password of person().
func passwordChange(current, next string) url.Values {
	return url.Values{"current_password": {current}, "password": {next}}
}

// TestPasswordChangeEndsOtherSessionsAndMailsNotice: a successful change
// keeps the device that made it, logs out every other one, makes the old
// password useless and mails the owner a notice through the real SMTP
// server.
func TestPasswordChangeEndsOtherSessionsAndMailsNotice(t *testing.T) {
	ts, smtpd := newMailTestServer(t)
	laptop, u := ts.person(t, "siti@example.org", store.RoleLearner, "")
	phone := ts.newClient(t)
	require.Equal(t, http.StatusSeeOther, phone.signIn(t, u.Email, "a long test password").StatusCode)
	res, _ := phone.get(t, "/profile")
	require.Equal(t, http.StatusOK, res.StatusCode, "the second device is logged in")
	ts.deliver(t)
	before := len(smtpd.Messages())

	res, _ = laptop.postForm(t, "/profile/password", passwordChange("a long test password", "tenun songket emas merah"))
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Equal(t, "/profile", res.Header.Get("Location"))

	res, _ = laptop.get(t, "/profile")
	assert.Equal(t, http.StatusOK, res.StatusCode, "the device that changed it stays logged in")
	res, _ = phone.get(t, "/profile")
	require.Equal(t, http.StatusSeeOther, res.StatusCode, "every other device is logged out")
	assert.True(t, strings.HasPrefix(res.Header.Get("Location"), "/login"), res.Header.Get("Location"))

	after, err := ts.store.User(t.Context(), u.ID)
	require.NoError(t, err)
	assert.NoError(t, bcrypt.CompareHashAndPassword([]byte(after.PasswordHash), []byte("tenun songket emas merah")))
	res, _ = ts.newClient(t).postForm(t, "/login", url.Values{"email": {u.Email}, "password": {"a long test password"}})
	assert.Equal(t, http.StatusUnprocessableEntity, res.StatusCode, "the old password no longer logs in")
	require.Equal(t, http.StatusSeeOther, ts.newClient(t).signIn(t, u.Email, "tenun songket emas merah").StatusCode)

	ts.deliver(t)
	msgs := smtpd.WaitFor(t, before+1)
	notice := msgs[len(msgs)-1]
	assert.Equal(t, []string{u.Email}, notice.To)
	assert.Equal(t, "Your kelas password was changed", notice.Subject)
	assert.Contains(t, notice.Text, "/password/forgot", "the notice says how to take the account back")
	assert.NotContains(t, notice.Text, "tenun songket", "never the password")
}

// TestPasswordChangeRefusesWrongCurrentPassword: the wrong current
// password changes nothing, ends no session and sends no mail.
func TestPasswordChangeRefusesWrongCurrentPassword(t *testing.T) {
	ts := newTestServer(t)
	c, u := ts.person(t, "siti@example.org", store.RoleLearner, "")
	other := ts.newClient(t)
	require.Equal(t, http.StatusSeeOther, other.signIn(t, u.Email, "a long test password").StatusCode)

	for _, v := range []url.Values{
		passwordChange("not my password at all", "tenun songket emas merah"),
		passwordChange("", "tenun songket emas merah"),
	} {
		res, body := c.postForm(t, "/profile/password", v)
		require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
		assert.NotEmpty(t, doc(t, body).Find(`[data-testid="error-current_password"]`).Text())
	}
	after, err := ts.store.User(t.Context(), u.ID)
	require.NoError(t, err)
	assert.Equal(t, u.PasswordHash, after.PasswordHash, "unchanged")
	assert.Equal(t, u.SessionEpoch, after.SessionEpoch, "no session ended")
	res, _ := other.get(t, "/profile")
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.NotContains(t, outboxKinds(t, ts), "password_changed")
}

// TestPasswordChangeThrottled: five wrong current passwords block the form
// for the account, even with the right one, until the window passes; so a
// stolen session cannot be used to guess the password.
func TestPasswordChangeThrottled(t *testing.T) {
	ts := newTestServer(t)
	c, u := ts.person(t, "siti@example.org", store.RoleLearner, "")
	for i := range 5 {
		res, _ := c.postForm(t, "/profile/password", passwordChange("guess number "+string(rune('a'+i)), "tenun songket emas merah"))
		require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode, "attempt %d", i+1)
	}
	res, _ := c.postForm(t, "/profile/password", passwordChange("a long test password", "tenun songket emas merah"))
	require.Equal(t, http.StatusTooManyRequests, res.StatusCode, "blocked, even with the right password")
	assert.NotEmpty(t, res.Header.Get("Retry-After"))
	after, err := ts.store.User(t.Context(), u.ID)
	require.NoError(t, err)
	assert.Equal(t, u.PasswordHash, after.PasswordHash, "unchanged while blocked")

	ts.clock.Add(15 * time.Minute)
	res, _ = c.postForm(t, "/profile/password", passwordChange("a long test password", "tenun songket emas merah"))
	assert.Equal(t, http.StatusSeeOther, res.StatusCode, "allowed again after the window")
}

// Mail delivery across a shutdown and a restart.

// appOn opens the store in dir with key and an app on it, as `kelas serve`
// would after a restart; close closes both and reports their errors.
func appOn(t *testing.T, dir string, key []byte, clock *testClock, mailer Mailer) (st *store.Store, a *App, close func()) {
	t.Helper()
	st, err := store.Open(context.Background(), store.Options{Dir: dir, MasterKey: key, Clock: clock.Now})
	require.NoError(t, err)
	a, err = New(Config{Addr: "127.0.0.1:0", DataDir: dir, BcryptCost: 4},
		Deps{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Store: st, Static: os.DirFS("../static"), Mailer: mailer})
	require.NoError(t, err)
	var once sync.Once
	close = func() {
		once.Do(func() {
			assert.NoError(t, a.Close(context.Background()), "closing the app")
			assert.NoError(t, st.Close(), "closing the store")
		})
	}
	t.Cleanup(close)
	return st, a, close
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

// TestMailShutdownMidBatchNeverResendsAccepted: a shutdown in the middle
// of a batch records the mail the server accepted as sent, leaves the rest
// queued, and after a restart the rest goes out and the accepted one never
// again.
func TestMailShutdownMidBatchNeverResendsAccepted(t *testing.T) {
	smtpd := newTestSMTP(t)
	real, err := NewSMTPMailer(smtpd.URL(), "")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	mailer := &shutdownAfter{Mailer: real, n: 2, cancel: cancel}
	dir, key := t.TempDir(), make([]byte, 32)
	rand.Read(key)
	clock := &testClock{now: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}

	st, a, closeFirst := appOn(t, dir, key, clock, mailer)
	var ids []string
	for _, to := range []string{"first@example.test", "second@example.test", "third@example.test", "fourth@example.test"} {
		id, err := st.EnqueueMail(ctx, store.NewMail{To: to, Kind: "verify", Subject: "s", Text: "t"})
		require.NoError(t, err)
		ids = append(ids, id)
		clock.Add(time.Second) // oldest first
	}
	processed, sent, err := a.deliverBatch(ctx)
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
	st, a, _ = appOn(t, dir, key, clock, real)
	clock.Add(5*time.Minute + time.Second)
	processed, sent, err = a.deliverBatch(context.Background())
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
	smtpd := newTestSMTP(t)
	ts := newTestServer(t, func(c *Config) { c.SMTPURL = smtpd.URL() })
	var ids []string
	for _, to := range []string{"first@example.test", "second@example.test"} {
		id, err := ts.store.EnqueueMail(t.Context(), store.NewMail{To: to, Kind: "verify", Subject: "s", Text: "t"})
		require.NoError(t, err)
		ids = append(ids, id)
	}
	require.NoError(t, smtpd.srv.Close())

	processed, sent, err := ts.app.deliverBatch(t.Context())
	require.NoError(t, err, "a failed delivery is recorded, not a failed pass")
	assert.Equal(t, 2, processed)
	assert.Zero(t, sent)
	for _, id := range ids {
		m := outboxMail(t, ts, id)
		assert.Equal(t, store.MailQueued, m.Status)
		assert.Equal(t, 1, m.Attempts)
		assert.Equal(t, "smtp connect (temporary)", m.LastError)
		assert.Equal(t, ts.clock.Now().Add(time.Minute), m.NextAttemptAt)
	}
	logs := ts.logs.String()
	assert.Equal(t, 2, strings.Count(logs, "mail retry scheduled"))
	assert.Contains(t, logs, "err_class=connect")
	assert.NotContains(t, logs, "example.test")

	// A server comes back at the same address.
	back := newTestSMTP(t, atSMTPAddr(smtpd.addr))

	ts.clock.Add(time.Minute)
	processed, sent, err = ts.app.deliverBatch(t.Context())
	require.NoError(t, err)
	assert.Equal(t, 2, processed)
	assert.Equal(t, 2, sent)
	back.WaitFor(t, 2)
	for _, id := range ids {
		m := outboxMail(t, ts, id)
		assert.Equal(t, store.MailSent, m.Status)
		assert.Equal(t, 2, m.Attempts)
	}
	ts.clock.Add(time.Hour)
	processed, _, err = ts.app.deliverBatch(t.Context())
	require.NoError(t, err)
	assert.Zero(t, processed)
	back.WaitFor(t, 2)
}
