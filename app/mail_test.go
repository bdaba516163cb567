package app

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"kelas/jobs/smtptest"
	"kelas/store"
)

// newMailServer is a test server whose outbox delivers to a fresh loopback
// SMTP server.
func newMailServer(t *testing.T, mods ...func(*Config)) (*testServer, *smtptest.Server) {
	t.Helper()
	smtpd := smtptest.New(t)
	ts := newTestServer(t, append([]func(*Config){func(c *Config) { c.SMTPURL = smtpd.URL() }}, mods...)...)
	require.True(t, ts.app.mailOn)
	return ts, smtpd
}

func sampleMail(to string) store.NewMail {
	return store.NewMail{
		To:      to,
		Kind:    "verify",
		Subject: "Grüße from kelas — confirm your address",
		Text:    "Hello Siti,\n\nPlease confirm: https://kelas.test/verify/abc123\n\nTerima kasih — kelas\n",
		HTML:    `<p>Hello Siti,</p><p><a href="https://kelas.test/verify/abc123">Confirm</a> — terima kasih</p>`,
		Headers: map[string]string{
			"List-Unsubscribe":      "<https://kelas.test/unsubscribe/tok>",
			"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
		},
	}
}

// outboxMail reads one outbox row back.
func outboxMail(t *testing.T, ts *testServer, id string) store.OutboxMail {
	t.Helper()
	m, err := ts.store.OutboxMail(context.Background(), id)
	require.NoError(t, err)
	return m
}

// onlyMailID returns the id of the single mail in the outbox.
func onlyMailID(t *testing.T, ts *testServer) string {
	t.Helper()
	list, err := ts.store.OutboxMails(context.Background(), 10)
	require.NoError(t, err)
	require.Len(t, list, 1)
	return list[0].ID
}

func TestDeliverMailSendsBothParts(t *testing.T) {
	ctx := context.Background()
	ts, smtpd := newMailServer(t, func(c *Config) { c.MailFrom = "Kelas Portal <noreply@kelas.test>" })
	m := sampleMail("siti.rahayu@example.test")
	require.NoError(t, ts.app.queueMail(ctx, m))

	sent, err := ts.jobs.DeliverMail(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, sent)

	got := smtpd.WaitFor(t, 1)[0]
	assert.Equal(t, "noreply@kelas.test", got.From)
	assert.Equal(t, []string{m.To}, got.To)
	assert.Equal(t, m.Subject, got.Subject)
	assert.Equal(t, m.Text, got.Text)
	assert.Equal(t, m.HTML, got.HTML)
	assert.Contains(t, got.Header.Get("Content-Type"), "multipart/alternative")
	assert.Equal(t, `"Kelas Portal" <noreply@kelas.test>`, got.Header.Get("From"))
	assert.Equal(t, "<"+m.To+">", got.Header.Get("To"))
	assert.Equal(t, m.Headers["List-Unsubscribe"], got.Header.Get("List-Unsubscribe"))
	assert.Equal(t, m.Headers["List-Unsubscribe-Post"], got.Header.Get("List-Unsubscribe-Post"))
	assert.Regexp(t, `^<[a-z2-7]{26}@kelas\.test>$`, got.Header.Get("Message-Id"))
	date, err := got.Header.Date()
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now(), date, time.Minute)
	assert.Empty(t, got.Header.Get("User-Agent"), "no software banner")

	id := onlyMailID(t, ts)
	row := outboxMail(t, ts, id)
	assert.Equal(t, store.MailSent, row.Status)
	assert.Equal(t, 1, row.Attempts)
	assert.Equal(t, ts.clock.Now(), row.SentAt)

	// Nothing left to send.
	sent, err = ts.jobs.DeliverMail(ctx)
	require.NoError(t, err)
	assert.Zero(t, sent)
	assert.Len(t, smtpd.Messages(), 1)

	logs := ts.logs.String()
	assert.Contains(t, logs, "mail sent")
	assert.Contains(t, logs, id)
	assertNoMailContent(t, logs, m)
}

// assertNoMailContent checks that s holds none of the personal parts of m.
func assertNoMailContent(t *testing.T, s string, m store.NewMail) {
	t.Helper()
	local, _, _ := strings.Cut(m.To, "@")
	for _, v := range []string{m.To, local, m.Subject, "Siti", "abc123"} {
		assert.NotContains(t, s, v)
	}
}

func TestDeliverMailDefaultSender(t *testing.T) {
	ts, smtpd := newMailServer(t)
	require.NoError(t, ts.app.queueMail(context.Background(), sampleMail("a@example.test")))
	_, err := ts.jobs.DeliverMail(context.Background())
	require.NoError(t, err)
	got := smtpd.WaitFor(t, 1)[0]
	assert.Equal(t, "kelas@localhost", got.From, "a relay named by IP gives kelas@localhost")
}

func TestDeliverMailTemporaryFailureRetriesLater(t *testing.T) {
	ctx := context.Background()
	ts, smtpd := newMailServer(t)
	m := sampleMail("temp.fail@example.test")
	require.NoError(t, ts.app.queueMail(ctx, m))
	id := onlyMailID(t, ts)

	smtpd.Reject(451)
	sent, err := ts.jobs.DeliverMail(ctx)
	require.NoError(t, err)
	assert.Zero(t, sent)
	assert.Empty(t, smtpd.Messages())

	row := outboxMail(t, ts, id)
	assert.Equal(t, store.MailQueued, row.Status)
	assert.Equal(t, 1, row.Attempts)
	assert.Equal(t, ts.clock.Now().Add(time.Minute), row.NextAttemptAt, "first retry after a minute")
	assert.Contains(t, row.LastError, "451")
	assert.Contains(t, row.LastError, "recipient")
	assertNoMailContent(t, row.LastError, m)

	// Not due yet: the server is not even asked.
	smtpd.Reject(0)
	ts.clock.Add(59 * time.Second)
	sent, err = ts.jobs.DeliverMail(ctx)
	require.NoError(t, err)
	assert.Zero(t, sent)
	assert.Empty(t, smtpd.Messages())

	ts.clock.Add(time.Second)
	sent, err = ts.jobs.DeliverMail(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, sent)
	smtpd.WaitFor(t, 1)
	row = outboxMail(t, ts, id)
	assert.Equal(t, store.MailSent, row.Status)
	assert.Equal(t, 2, row.Attempts)
	assert.Empty(t, row.LastError)

	logs := ts.logs.String()
	assert.Contains(t, logs, "mail retry scheduled")
	assert.Contains(t, logs, "err_class=recipient")
	assert.Contains(t, logs, "smtp_code=451")
	assertNoMailContent(t, logs, m)
}

func TestDeliverMailPermanentFailureFailsAtOnce(t *testing.T) {
	ctx := context.Background()
	ts, smtpd := newMailServer(t)
	m := sampleMail("no.such.user@example.test")
	require.NoError(t, ts.app.queueMail(ctx, m))
	id := onlyMailID(t, ts)

	smtpd.Reject(550)
	sent, err := ts.jobs.DeliverMail(ctx)
	require.NoError(t, err)
	assert.Zero(t, sent)

	row := outboxMail(t, ts, id)
	assert.Equal(t, store.MailFailed, row.Status)
	assert.Equal(t, 1, row.Attempts)
	assert.Equal(t, "smtp recipient: 550 5.1.1 (permanent)", row.LastError)

	smtpd.Reject(0)
	ts.clock.Add(24 * time.Hour)
	sent, err = ts.jobs.DeliverMail(ctx)
	require.NoError(t, err)
	assert.Zero(t, sent, "a failed mail is never retried")
	assert.Empty(t, smtpd.Messages())

	logs := ts.logs.String()
	assert.Contains(t, logs, "mail failed")
	assert.Contains(t, logs, "permanent=true")
	assertNoMailContent(t, logs, m)
}

func TestDeliverMailGivesUpAfterEightAttempts(t *testing.T) {
	ctx := context.Background()
	ts, smtpd := newMailServer(t)
	require.NoError(t, ts.app.queueMail(ctx, sampleMail("flaky@example.test")))
	id := onlyMailID(t, ts)
	smtpd.Reject(450)

	want := []time.Duration{time.Minute, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 6 * time.Hour, 12 * time.Hour, 12 * time.Hour}
	for attempt := 1; attempt <= 8; attempt++ {
		sent, err := ts.jobs.DeliverMail(ctx)
		require.NoError(t, err)
		require.Zero(t, sent)
		row := outboxMail(t, ts, id)
		require.Equal(t, attempt, row.Attempts)
		if attempt < 8 {
			require.Equal(t, store.MailQueued, row.Status, "attempt %d", attempt)
			require.Equal(t, want[attempt-1], row.NextAttemptAt.Sub(ts.clock.Now()), "backoff after attempt %d", attempt)
			ts.clock.Add(want[attempt-1])
			continue
		}
		require.Equal(t, store.MailFailed, row.Status)
		assert.Contains(t, row.LastError, "450")
		assert.Contains(t, row.LastError, "gave up after 8 attempts")
	}
	ts.clock.Add(24 * time.Hour)
	smtpd.Reject(0)
	sent, err := ts.jobs.DeliverMail(ctx)
	require.NoError(t, err)
	assert.Zero(t, sent)
	assert.Empty(t, smtpd.Messages())
}

func TestDeliverMailSkipsErasedRecipient(t *testing.T) {
	ctx := context.Background()
	ts, smtpd := newMailServer(t)
	u, err := ts.store.CreateUser(ctx, store.NewUser{AcceptedPolicy: seededPolicy, Email: "erased.person@example.test", FirstName: "Erased", Surname: "Person",
		PasswordHash: "$2a$04$abcdefghijklmnopqrstuv", Role: store.RoleLearner})
	require.NoError(t, err)
	m := sampleMail(u.Email)
	m.UserID = u.ID
	require.NoError(t, ts.app.queueMail(ctx, m))
	id := onlyMailID(t, ts)

	require.NoError(t, ts.store.DestroyDataKey(ctx, u.ID))
	sent, err := ts.jobs.DeliverMail(ctx)
	require.NoError(t, err)
	assert.Zero(t, sent)
	assert.Empty(t, smtpd.Messages())

	row := outboxMail(t, ts, id)
	assert.Equal(t, store.MailFailed, row.Status)
	assert.Equal(t, store.MailErased, row.LastError)
	assert.Empty(t, row.To)
}

func TestQueueMailWithoutMailer(t *testing.T) {
	ctx := context.Background()
	ts := newTestServer(t)
	require.False(t, ts.app.mailOn)
	m := sampleMail("waiting.person@example.test")
	require.NoError(t, ts.app.queueMail(ctx, m))
	id := onlyMailID(t, ts)

	logs := ts.logs.String()
	assert.Contains(t, logs, "mail waiting in outbox")
	assert.Contains(t, logs, "mail_id="+id)
	assert.Contains(t, logs, "kind=verify")
	assertNoMailContent(t, logs, m)

	sent, err := ts.jobs.DeliverMail(ctx)
	require.NoError(t, err)
	assert.Zero(t, sent)
	assert.Equal(t, store.MailQueued, outboxMail(t, ts, id).Status, "it waits for a mailer")
}

// TestDrainOutboxDeliversMoreThanOneBatch: the scheduler's outbox job
// keeps going while full batches are due.
func TestDrainOutboxDeliversMoreThanOneBatch(t *testing.T) {
	ts, smtpd := newMailServer(t)
	n := 25 // more than one pass of the outbox job (20 mails)
	for i := range n {
		require.NoError(t, ts.app.queueMail(context.Background(), sampleMail(strings.Repeat("x", i+1)+"@example.test")))
	}
	require.NoError(t, ts.jobs.RunNow(context.Background(), "outbox"))
	smtpd.WaitFor(t, n)
}

// TestMailNeverOnDiskInPlaintext greps the raw database files and the log
// for a queued mail's address, subject and bodies.
func TestMailNeverOnDiskInPlaintext(t *testing.T) {
	ctx := context.Background()
	ts := newTestServer(t)
	m := store.NewMail{To: "Zqxjkvbw.Mailbox@Plokmij.test", Kind: "kindcontrolmarker", Subject: "Subjectzqxjmarker",
		Text: "Textbodyzqxjmarker", HTML: "<p>Htmlbodyzqxjmarker</p>", Headers: map[string]string{"X-Marker": "Headerzqxjmarker"}}
	require.NoError(t, ts.app.queueMail(ctx, m))
	secrets := []string{m.To, "Zqxjkvbw", "Plokmij", m.Subject, "Textbodyzqxjmarker", "Htmlbodyzqxjmarker", "Headerzqxjmarker"}

	dir := ts.store.Dir()
	files := map[string][]byte{}
	for _, name := range []string{store.MainDBFile, store.MainDBFile + "-wal", store.KeysDBFile} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err, name)
		files[name] = b
	}
	control := false
	for _, b := range files {
		control = control || bytes.Contains(b, []byte(m.Kind))
	}
	require.True(t, control, "the plaintext kind must be found, or this test does not read the written bytes")
	files["log"] = []byte(ts.logs.String())
	for name, b := range files {
		for _, s := range secrets {
			for _, v := range []string{s, strings.ToLower(s)} {
				assert.False(t, bytes.Contains(b, []byte(v)), "%s contains %q", name, v)
			}
		}
	}
}

// TestWithoutSMTPAResetIsNoDeadEnd: without a relay the reset link is
// printed for the operator, as confirmation links are, and the outbox page
// says how to reach the person; once the link has expired the mail is
// dropped, never sent late when a relay is configured.
func TestWithoutSMTPAResetIsNoDeadEnd(t *testing.T) {
	ts := newTestServer(t)
	ctx := t.Context()
	_, u := ts.person(t, "ayu@example.org", store.RoleLearner, "")
	op, _ := ts.person(t, "ops@example.org", store.RoleOperator, "")
	visitor := ts.newClient(t)
	res, _ := visitor.postForm(t, "/password/forgot", url.Values{"email": {u.Email}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Contains(t, ts.stdout.String(), "password reset link for account "+u.ID)
	assert.Contains(t, ts.stdout.String(), "/password/reset/")
	assert.NotContains(t, ts.stdout.String(), u.Email, "ids, never addresses")

	res, body := op.get(t, "/console/outbox")
	require.Equal(t, http.StatusOK, res.StatusCode)
	d := doc(t, body)
	assert.Contains(t, d.Find(`[data-testid="no-smtp"]`).Text(), "standard output")
	assert.Equal(t, "/console/learners/"+u.ID, d.Find(`[data-testid="reach-person"]`).AttrOr("href", ""))

	// A relay configured two hours later never sends the dead link.
	ts.clock.Add(2 * time.Hour)
	due, err := ts.store.DueMail(ctx, 10)
	require.NoError(t, err)
	assert.Empty(t, due)
	mails, err := ts.store.OutboxMails(ctx, 10)
	require.NoError(t, err)
	require.Len(t, mails, 1)
	assert.Equal(t, store.MailLinkDead, mails[0].LastError)
	st, err := ts.store.OutboxStats(ctx)
	require.NoError(t, err)
	assert.Zero(t, st.Failed, "a dropped mail is no delivery failure to act on")
	assert.Equal(t, 1, st.Dropped)
}
