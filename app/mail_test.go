package app

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"kelas/store"
)

// newMailServer is a test server whose outbox delivers to a fresh loopback
// SMTP server.
func newMailServer(t *testing.T, mods ...func(*Config)) (*testServer, *testSMTP) {
	t.Helper()
	smtpd := newTestSMTP(t)
	ts := newTestServer(t, append([]func(*Config){func(c *Config) { c.SMTPURL = smtpd.URL() }}, mods...)...)
	require.NotNil(t, ts.app.mailer)
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

	sent, err := ts.app.deliverMail(ctx)
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
	sent, err = ts.app.deliverMail(ctx)
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
	_, err := ts.app.deliverMail(context.Background())
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
	sent, err := ts.app.deliverMail(ctx)
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
	sent, err = ts.app.deliverMail(ctx)
	require.NoError(t, err)
	assert.Zero(t, sent)
	assert.Empty(t, smtpd.Messages())

	ts.clock.Add(time.Second)
	sent, err = ts.app.deliverMail(ctx)
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
	sent, err := ts.app.deliverMail(ctx)
	require.NoError(t, err)
	assert.Zero(t, sent)

	row := outboxMail(t, ts, id)
	assert.Equal(t, store.MailFailed, row.Status)
	assert.Equal(t, 1, row.Attempts)
	assert.Equal(t, "smtp recipient: 550 5.1.1 (permanent)", row.LastError)

	smtpd.Reject(0)
	ts.clock.Add(24 * time.Hour)
	sent, err = ts.app.deliverMail(ctx)
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
	for attempt := 1; attempt <= maxMailAttempts; attempt++ {
		sent, err := ts.app.deliverMail(ctx)
		require.NoError(t, err)
		require.Zero(t, sent)
		row := outboxMail(t, ts, id)
		require.Equal(t, attempt, row.Attempts)
		if attempt < maxMailAttempts {
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
	sent, err := ts.app.deliverMail(ctx)
	require.NoError(t, err)
	assert.Zero(t, sent)
	assert.Empty(t, smtpd.Messages())
}

func TestRetryDelay(t *testing.T) {
	for attempt, want := range map[int]time.Duration{0: time.Minute, 1: time.Minute, 2: 5 * time.Minute, 3: 30 * time.Minute,
		4: 2 * time.Hour, 5: 6 * time.Hour, 6: 12 * time.Hour, 7: 12 * time.Hour, 100: 12 * time.Hour} {
		assert.Equal(t, want, retryDelay(attempt), "attempt %d", attempt)
	}
}

func TestDeliverMailSkipsErasedRecipient(t *testing.T) {
	ctx := context.Background()
	ts, smtpd := newMailServer(t)
	u, err := ts.store.CreateUser(ctx, store.NewUser{Email: "erased.person@example.test", FirstName: "Erased", Surname: "Person",
		PasswordHash: "$2a$04$abcdefghijklmnopqrstuv", Role: store.RoleLearner})
	require.NoError(t, err)
	m := sampleMail(u.Email)
	m.UserID = u.ID
	require.NoError(t, ts.app.queueMail(ctx, m))
	id := onlyMailID(t, ts)

	require.NoError(t, ts.store.DestroyDataKey(ctx, u.ID))
	sent, err := ts.app.deliverMail(ctx)
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
	require.Nil(t, ts.app.mailer)
	m := sampleMail("waiting.person@example.test")
	require.NoError(t, ts.app.queueMail(ctx, m))
	id := onlyMailID(t, ts)

	logs := ts.logs.String()
	assert.Contains(t, logs, "mail waiting in outbox")
	assert.Contains(t, logs, "mail_id="+id)
	assert.Contains(t, logs, "kind=verify")
	assertNoMailContent(t, logs, m)

	sent, err := ts.app.deliverMail(ctx)
	require.NoError(t, err)
	assert.Zero(t, sent)
	assert.Equal(t, store.MailQueued, outboxMail(t, ts, id).Status, "it waits for a mailer")
}

// TestDrainOutboxDeliversMoreThanOneBatch: the scheduler's outbox job
// keeps going while full batches are due.
func TestDrainOutboxDeliversMoreThanOneBatch(t *testing.T) {
	ts, smtpd := newMailServer(t)
	n := mailBatch + 5
	for i := range n {
		require.NoError(t, ts.app.queueMail(context.Background(), sampleMail(strings.Repeat("x", i+1)+"@example.test")))
	}
	require.NoError(t, ts.app.drainOutbox(context.Background()))
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

func TestParseSMTPURL(t *testing.T) {
	good := []struct {
		raw  string
		want smtpConfig
	}{
		{"smtp://mail.example.org", smtpConfig{host: "mail.example.org", port: 587}},
		{"smtp://mail.example.org:25", smtpConfig{host: "mail.example.org", port: 25}},
		{"smtp://u:p@mail.example.org:2525", smtpConfig{host: "mail.example.org", port: 2525, user: "u", pass: "p"}},
		{"smtp://kelas%40example.org:p%40ss%3Aw@mail.example.org", smtpConfig{host: "mail.example.org", port: 587, user: "kelas@example.org", pass: "p@ss:w"}},
		{"smtp://apikey@mail.example.org", smtpConfig{host: "mail.example.org", port: 587, user: "apikey"}},
		{"smtp://mail.example.org?starttls=required", smtpConfig{host: "mail.example.org", port: 587, requireTLS: true}},
		{"smtp://mail.example.org/?starttls=opportunistic", smtpConfig{host: "mail.example.org", port: 587}},
		{"SMTP://Mail.Example.org", smtpConfig{host: "Mail.Example.org", port: 587}},
		{"smtps://mail.example.org", smtpConfig{host: "mail.example.org", port: 465, implicitTLS: true}},
		{"smtps://u:p@mail.example.org:4650", smtpConfig{host: "mail.example.org", port: 4650, implicitTLS: true, user: "u", pass: "p"}},
		{"smtp://[::1]:25", smtpConfig{host: "::1", port: 25}},
		{"smtp://127.0.0.1:1025", smtpConfig{host: "127.0.0.1", port: 1025}},
	}
	for _, tt := range good {
		t.Run(tt.raw, func(t *testing.T) {
			got, err := parseSMTPURL(tt.raw)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			_, err = NewSMTPMailer(tt.raw, "")
			require.NoError(t, err)
		})
	}

	const pw = "Sup3rSecretPw"
	bad := []struct{ raw, want string }{
		{"", "no scheme"},
		{"mail.example.org:587", "not supported"},
		{"http://u:" + pw + "@mail.example.org", `scheme "http" is not supported`},
		{"smtp://", "no host"},
		{"smtp://u:" + pw + "@", "no host"},
		{"smtp:u:" + pw + "@mail.example.org", "no host"},
		{"smtp://u:" + pw + "@mail.example.org:notaport", "does not parse"},
		{"smtp://u:" + pw + "@mail.example.org:70000", "port"},
		{"smtp://u:" + pw + "@mail.example.org:0", "port"},
		{"smtp://u:" + pw + "@mail.example.org?starttls=maybe", "starttls must be"},
		{"smtp://u:" + pw + "@mail.example.org?starttls=required&starttls=required", "starttls must be"},
		{"smtp://u:" + pw + "@mail.example.org?tls=1", `unknown SMTP URL option "tls"`},
		{"smtp://u:" + pw + "@mail.example.org?a=%zz", "query does not parse"},
		{"smtps://u:" + pw + "@mail.example.org?starttls=required", "does not apply"},
		{"smtp://u:" + pw + "@mail.example.org/inbox", "path"},
		{"smtp://u:" + pw + "@mail.example.org#frag", "fragment"},
		{"smtp://:" + pw + "@mail.example.org", "no user name"},
		{"smtp://u:" + pw + "%zz@mail.example.org", "does not parse"},
		{"smtp://u:" + pw + " x@mail.example.org", "does not parse"},
		{"smtp://u:" + pw + "@mail.exa mple.org", "does not parse"},
		{"smtp://u:" + pw + "@mail.example.org\n", "does not parse"},
	}
	for _, tt := range bad {
		t.Run(tt.raw, func(t *testing.T) {
			_, err := parseSMTPURL(tt.raw)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, err.Error(), pw, "the password must never be echoed")
			_, err = NewSMTPMailer(tt.raw, "")
			require.Error(t, err)
			assert.NotContains(t, err.Error(), pw)
		})
	}
}

func TestNewSMTPMailerSender(t *testing.T) {
	tests := []struct{ url, from, want string }{
		{"smtp://mail.example.org", "", "<kelas@mail.example.org>"},
		{"smtp://127.0.0.1:25", "", "<kelas@localhost>"},
		{"smtp://localhost:25", "", "<kelas@localhost>"},
		{"smtp://kelas%40example.org:pw@mail.example.org", "", "<kelas@example.org>"},
		{"smtp://apikey:pw@mail.example.org", "", "<kelas@mail.example.org>"},
		{"smtp://mail.example.org", "noreply@kelas.example", "<noreply@kelas.example>"},
		{"smtp://mail.example.org", "Kelas <noreply@kelas.example>", `"Kelas" <noreply@kelas.example>`},
	}
	for _, tt := range tests {
		t.Run(tt.url+" "+tt.from, func(t *testing.T) {
			m, err := newSMTPMailer(tt.url, tt.from, nil)
			require.NoError(t, err)
			assert.Equal(t, tt.want, m.from)
		})
	}
	_, err := NewSMTPMailer("smtp://u:Sup3rSecretPw@mail.example.org", "not an address")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "KELAS_MAIL_FROM")
	assert.NotContains(t, err.Error(), "Sup3rSecretPw")
}

func sendOne(t *testing.T, m Mailer, to string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return m.Send(ctx, Mail{To: to, Subject: "s", Text: "t", HTML: "<p>h</p>"})
}

func requireSendError(t *testing.T, err error, stage string, permanent bool) *sendError {
	t.Helper()
	var se *sendError
	require.True(t, errors.As(err, &se), "want *sendError, got %T %v", err, err)
	assert.Equal(t, stage, se.stage, "%v", err)
	assert.Equal(t, permanent, se.permanent, "%v", err)
	return se
}

func TestSMTPMailerAuthAndTLS(t *testing.T) {
	t.Run("auth PLAIN", func(t *testing.T) {
		smtpd := newTestSMTP(t, withSMTPAuth("mailer", "Sup3rSecretPw"))
		m, err := NewSMTPMailer(smtpd.URL(), "")
		require.NoError(t, err)
		require.NoError(t, sendOne(t, m, "a@example.test"))
		assert.Equal(t, "mailer", smtpd.WaitFor(t, 1)[0].AuthUser)
	})
	t.Run("wrong password", func(t *testing.T) {
		smtpd := newTestSMTP(t, withSMTPAuth("mailer", "Sup3rSecretPw"))
		m, err := NewSMTPMailer(strings.Replace(smtpd.URL(), "Sup3rSecretPw", "WrongPassw0rd", 1), "")
		require.NoError(t, err)
		err = sendOne(t, m, "a@example.test")
		se := requireSendError(t, err, "auth", false)
		assert.Equal(t, 535, se.code)
		assert.NotContains(t, err.Error(), "WrongPassw0rd")
		assert.Empty(t, smtpd.Messages())
	})
	t.Run("no credentials where the server wants them", func(t *testing.T) {
		smtpd := newTestSMTP(t, withSMTPAuth("mailer", "pw"))
		m, err := NewSMTPMailer("smtp://"+smtpd.addr, "")
		require.NoError(t, err)
		err = sendOne(t, m, "a@example.test")
		requireSendError(t, err, "sender", true)
	})
	t.Run("STARTTLS used when offered", func(t *testing.T) {
		smtpd := newTestSMTP(t, withSMTPTLS(t), withSMTPAuth("mailer", "pw"))
		m, err := newSMTPMailer(smtpd.URL(), "", smtpd.roots)
		require.NoError(t, err)
		require.NoError(t, sendOne(t, m, "a@example.test"))
		got := smtpd.WaitFor(t, 1)[0]
		assert.True(t, got.TLS)
		assert.Equal(t, "mailer", got.AuthUser)
	})
	t.Run("STARTTLS required and offered", func(t *testing.T) {
		smtpd := newTestSMTP(t, withSMTPTLS(t))
		m, err := newSMTPMailer(smtpd.URL()+"?starttls=required", "", smtpd.roots)
		require.NoError(t, err)
		require.NoError(t, sendOne(t, m, "a@example.test"))
		assert.True(t, smtpd.WaitFor(t, 1)[0].TLS)
	})
	t.Run("STARTTLS required but not offered", func(t *testing.T) {
		smtpd := newTestSMTP(t)
		m, err := NewSMTPMailer(smtpd.URL()+"?starttls=required", "")
		require.NoError(t, err)
		requireSendError(t, sendOne(t, m, "a@example.test"), "tls", false)
		assert.Empty(t, smtpd.Messages())
	})
	t.Run("STARTTLS with an untrusted certificate is not downgraded", func(t *testing.T) {
		smtpd := newTestSMTP(t, withSMTPTLS(t))
		m, err := NewSMTPMailer(smtpd.URL(), "")
		require.NoError(t, err)
		requireSendError(t, sendOne(t, m, "a@example.test"), "tls", false)
		assert.Empty(t, smtpd.Messages())
	})
	t.Run("smtps implicit TLS", func(t *testing.T) {
		smtpd := newTestSMTP(t, withSMTPTLS(t), withSMTPAuth("mailer", "pw"))
		addr := smtpd.serveImplicitTLS(t)
		m, err := newSMTPMailer("smtps://mailer:pw@"+addr, "", smtpd.roots)
		require.NoError(t, err)
		require.NoError(t, sendOne(t, m, "a@example.test"))
		got := smtpd.WaitFor(t, 1)[0]
		assert.True(t, got.TLS)
		assert.Equal(t, "mailer", got.AuthUser)
	})
	t.Run("connection refused", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := ln.Addr().String()
		require.NoError(t, ln.Close())
		m, err := NewSMTPMailer("smtp://"+addr, "")
		require.NoError(t, err)
		requireSendError(t, sendOne(t, m, "a@example.test"), "connect", false)
	})
}

func TestSMTPMailerRefusesBadMessages(t *testing.T) {
	smtpd := newTestSMTP(t)
	m, err := NewSMTPMailer(smtpd.URL(), "")
	require.NoError(t, err)
	ctx := context.Background()
	tests := []struct {
		name  string
		mail  Mail
		stage string
	}{
		{"bad recipient", Mail{To: "not an address secretlocal", Text: "t"}, "address"},
		{"two recipients", Mail{To: "a@example.test, b@example.test", Text: "t"}, "address"},
		{"reserved header", Mail{To: "a@example.test", Headers: map[string]string{"Bcc": "spy@example.test"}}, "header"},
		{"reserved header any case", Mail{To: "a@example.test", Headers: map[string]string{"message-id": "<x@y>"}}, "header"},
		{"header injection", Mail{To: "a@example.test", Headers: map[string]string{"X-A": "v\r\nBcc: spy@example.test"}}, "header"},
		{"bad header name", Mail{To: "a@example.test", Headers: map[string]string{"X A:": "v"}}, "header"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := m.Send(ctx, tt.mail)
			requireSendError(t, err, tt.stage, true)
			assert.NotContains(t, err.Error(), "secretlocal")
			assert.NotContains(t, err.Error(), "spy")
		})
	}
	assert.Empty(t, smtpd.Messages())

	t.Run("html only and text only", func(t *testing.T) {
		require.NoError(t, m.Send(ctx, Mail{To: "html@example.test", Subject: "h", HTML: "<p>only html</p>"}))
		require.NoError(t, m.Send(ctx, Mail{To: "text@example.test", Subject: "t", Text: "only text"}))
		got := smtpd.WaitFor(t, 2)
		assert.Equal(t, "<p>only html</p>", got[0].HTML)
		assert.Empty(t, got[0].Text)
		assert.Equal(t, "only text", got[1].Text)
		assert.Empty(t, got[1].HTML)
	})
}

// FuzzParseSMTPURL feeds URLs holding a password marked "Zq9": whatever the
// rest, parsing must not panic and an error must never contain it.
func FuzzParseSMTPURL(f *testing.F) {
	for _, s := range [][4]string{
		{"smtp", "u", "pw", "mail.example.org:587"},
		{"smtps", "kelas%40example.org", "p%40ss", "[::1]:465"},
		{"smtp", "u", "pw", "host:port?starttls=required"},
		{"http", "", "x", "host/path#frag"},
		{"smtp", "u@v", "p:q", "h?x=%zz"},
	} {
		f.Add(s[0], s[1], s[2], s[3])
	}
	f.Fuzz(func(t *testing.T, scheme, user, pass, rest string) {
		if strings.Contains(strings.ToLower(scheme+user+rest), "zq9") {
			t.Skip()
		}
		raw := scheme + "://" + user + ":Zq9" + pass + "@" + rest
		_, err := parseSMTPURL(raw)
		if err != nil && strings.Contains(strings.ToLower(err.Error()), "zq9") {
			t.Fatalf("error echoes the password: %v", err)
		}
		if _, err := NewSMTPMailer(raw, ""); err != nil && strings.Contains(strings.ToLower(err.Error()), "zq9") {
			t.Fatalf("error echoes the password: %v", err)
		}
	})
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
