package jobs

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"kelas/jobs/smtptest"
	"kelas/store"
)

func TestRetryDelay(t *testing.T) {
	for attempt, want := range map[int]time.Duration{0: time.Minute, 1: time.Minute, 2: 5 * time.Minute, 3: 30 * time.Minute,
		4: 2 * time.Hour, 5: 6 * time.Hour, 6: 12 * time.Hour, 7: 12 * time.Hour, 100: 12 * time.Hour} {
		assert.Equal(t, want, retryDelay(attempt), "attempt %d", attempt)
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
			assert.Equal(t, tt.want, m.from.String())
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
		smtpd := smtptest.New(t, smtptest.WithAuth("mailer", "Sup3rSecretPw"))
		m, err := NewSMTPMailer(smtpd.URL(), "")
		require.NoError(t, err)
		require.NoError(t, sendOne(t, m, "a@example.test"))
		assert.Equal(t, "mailer", smtpd.WaitFor(t, 1)[0].AuthUser)
	})
	t.Run("wrong password", func(t *testing.T) {
		smtpd := smtptest.New(t, smtptest.WithAuth("mailer", "Sup3rSecretPw"))
		m, err := NewSMTPMailer(strings.Replace(smtpd.URL(), "Sup3rSecretPw", "WrongPassw0rd", 1), "")
		require.NoError(t, err)
		err = sendOne(t, m, "a@example.test")
		se := requireSendError(t, err, "auth", false)
		assert.Equal(t, 535, se.code)
		assert.NotContains(t, err.Error(), "WrongPassw0rd")
		assert.Empty(t, smtpd.Messages())
	})
	t.Run("no credentials where the server wants them", func(t *testing.T) {
		smtpd := smtptest.New(t, smtptest.WithAuth("mailer", "pw"))
		m, err := NewSMTPMailer("smtp://"+smtpd.Addr, "")
		require.NoError(t, err)
		err = sendOne(t, m, "a@example.test")
		requireSendError(t, err, "sender", true)
	})
	t.Run("STARTTLS used when offered", func(t *testing.T) {
		smtpd := smtptest.New(t, smtptest.WithTLS(t), smtptest.WithAuth("mailer", "pw"))
		m, err := newSMTPMailer(smtpd.URL(), "", smtpd.Roots)
		require.NoError(t, err)
		require.NoError(t, sendOne(t, m, "a@example.test"))
		got := smtpd.WaitFor(t, 1)[0]
		assert.True(t, got.TLS)
		assert.Equal(t, "mailer", got.AuthUser)
	})
	t.Run("STARTTLS required and offered", func(t *testing.T) {
		smtpd := smtptest.New(t, smtptest.WithTLS(t))
		m, err := newSMTPMailer(smtpd.URL()+"?starttls=required", "", smtpd.Roots)
		require.NoError(t, err)
		require.NoError(t, sendOne(t, m, "a@example.test"))
		assert.True(t, smtpd.WaitFor(t, 1)[0].TLS)
	})
	t.Run("STARTTLS required but not offered", func(t *testing.T) {
		smtpd := smtptest.New(t)
		m, err := NewSMTPMailer(smtpd.URL()+"?starttls=required", "")
		require.NoError(t, err)
		requireSendError(t, sendOne(t, m, "a@example.test"), "tls", false)
		assert.Empty(t, smtpd.Messages())
	})
	t.Run("STARTTLS with an untrusted certificate is not downgraded", func(t *testing.T) {
		smtpd := smtptest.New(t, smtptest.WithTLS(t))
		m, err := NewSMTPMailer(smtpd.URL(), "")
		require.NoError(t, err)
		requireSendError(t, sendOne(t, m, "a@example.test"), "tls", false)
		assert.Empty(t, smtpd.Messages())
	})
	t.Run("smtps implicit TLS", func(t *testing.T) {
		smtpd := smtptest.New(t, smtptest.WithTLS(t), smtptest.WithAuth("mailer", "pw"))
		addr := smtpd.ServeImplicitTLS(t)
		m, err := newSMTPMailer("smtps://mailer:pw@"+addr, "", smtpd.Roots)
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

// TestSMTPMailerSenderName: a mail's FromName is the display name of the
// From header, encoded when it is not ASCII, with KELAS_MAIL_FROM's
// address; without one, KELAS_MAIL_FROM's own name stays.
func TestSMTPMailerSenderName(t *testing.T) {
	smtpd := smtptest.New(t)
	m, err := NewSMTPMailer(smtpd.URL(), "Kelas <noreply@kelas.example>")
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, m.Send(ctx, Mail{FromName: "Pelatihan UKM – Dinas Koperasi", To: "a@example.test", Subject: "s", Text: "t"}))
	require.NoError(t, m.Send(ctx, Mail{To: "b@example.test", Subject: "s", Text: "t"}))
	got := smtpd.WaitFor(t, 2)
	assert.Equal(t, "noreply@kelas.example", got[0].From, "the envelope keeps the address")
	raw := string(got[0].Raw)
	hdr, _, _ := strings.Cut(raw, "\r\n\r\n")
	assert.Contains(t, hdr, "From: =?utf-8?", "a non-ASCII name is encoded")
	assert.NotContains(t, hdr, "–", "no raw UTF-8 in the header")
	from, err := got[0].Header.AddressList("From")
	require.NoError(t, err)
	require.Len(t, from, 1)
	assert.Equal(t, "Pelatihan UKM – Dinas Koperasi", from[0].Name)
	assert.Equal(t, "noreply@kelas.example", from[0].Address)
	assert.Equal(t, `"Kelas" <noreply@kelas.example>`, got[1].Header.Get("From"))
}

func TestSMTPMailerRefusesBadMessages(t *testing.T) {
	smtpd := smtptest.New(t)
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

// TestSenderName: the sender name entered in the settings wins; left at
// its default, KELAS_MAIL_FROM's own name stays, else the site's name.
func TestSenderName(t *testing.T) {
	st := func(site, sender string) store.Settings {
		return store.Settings{Values: map[string]string{store.SettingSiteName: site, store.SettingMailSenderName: sender}}
	}
	def := store.SettingDefault(store.SettingMailSenderName)
	for _, tt := range []struct {
		name     string
		st       store.Settings
		mailFrom string
		want     string
	}{
		{"entered", st("Latihan UKM", "Tim Latihan"), "Kelas <noreply@kelas.example>", "Tim Latihan"},
		{"default, name in KELAS_MAIL_FROM", st("Latihan UKM", def), "Kelas <noreply@kelas.example>", ""},
		{"default, bare KELAS_MAIL_FROM", st("Latihan UKM", def), "noreply@kelas.example", "Latihan UKM"},
		{"default, no KELAS_MAIL_FROM", st("Latihan UKM", def), "", "Latihan UKM"},
	} {
		t.Run(tt.name, func(t *testing.T) { assert.Equal(t, tt.want, senderName(tt.st, tt.mailFrom)) })
	}
}
