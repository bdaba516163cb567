package store

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newMail(to, kind string) NewMail {
	return NewMail{To: to, Kind: kind, Subject: "Subject for " + to, Text: "Text for " + to, HTML: "<p>HTML for " + to + "</p>",
		Headers: map[string]string{"List-Unsubscribe": "<https://kelas.test/u/1>", "X-Kelas-Kind": kind}}
}

func enqueue(t *testing.T, s *Store, m NewMail) string {
	t.Helper()
	id, err := s.EnqueueMail(context.Background(), m)
	require.NoError(t, err)
	require.True(t, ValidID(id), id)
	return id
}

func TestEnqueueAndDueMailRoundTrip(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	s := openTestStore(t, t.TempDir(), newMasterKey(t), clock.Now)
	u := createUser(t, s, newUser("outboxrt"))

	sys := newMail("nobody@example.test", "duplicate_notice")
	sysID := enqueue(t, s, sys)
	clock.Advance(time.Second)
	mine := newMail(u.Email, "verify")
	mine.UserID = u.ID
	mine.HTML = "" // text only
	mine.Headers = nil
	userID := enqueue(t, s, mine)

	due, err := s.DueMail(ctx, 10)
	require.NoError(t, err)
	require.Len(t, due, 2)

	got := due[0]
	assert.Equal(t, sysID, got.ID, "oldest first")
	assert.Empty(t, got.UserID)
	assert.Equal(t, sys.To, got.To)
	assert.Equal(t, sys.Kind, got.Kind)
	assert.Equal(t, sys.Subject, got.Subject)
	assert.Equal(t, sys.Text, got.Text)
	assert.Equal(t, sys.HTML, got.HTML)
	assert.Equal(t, sys.Headers, got.Headers)
	assert.Equal(t, MailQueued, got.Status)
	assert.Zero(t, got.Attempts)
	assert.Equal(t, clock.Now().Add(-time.Second), got.CreatedAt)
	assert.True(t, got.SentAt.IsZero())

	got = due[1]
	assert.Equal(t, userID, got.ID)
	assert.Equal(t, u.ID, got.UserID)
	assert.Equal(t, mine.To, got.To)
	assert.Empty(t, got.HTML)
	assert.Nil(t, got.Headers)

	// The user's mail is sealed with the user's key, the other with the
	// shared system key, created once.
	ks, err := s.KeyStatus(ctx)
	require.NoError(t, err)
	assert.Equal(t, 2, ks.DataKeys, "the user's key and the system key")
	enqueue(t, s, newMail("other@example.test", "reset"))
	ks, err = s.KeyStatus(ctx)
	require.NoError(t, err)
	assert.Equal(t, 2, ks.DataKeys, "the system key is created only once")
}

func TestEnqueueMailValidation(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	tests := []struct {
		name string
		m    NewMail
	}{
		{"no recipient", NewMail{Kind: "verify", Subject: "s"}},
		{"blank recipient", NewMail{To: "  ", Kind: "verify"}},
		{"no kind", NewMail{To: "a@example.test"}},
		{"unknown user", NewMail{UserID: NewID(), To: "a@example.test", Kind: "verify"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.EnqueueMail(ctx, tt.m)
			require.Error(t, err)
		})
	}
	assert.Zero(t, count(t, s.db, "outbox"))
}

func TestDueMailLeaseAndSchedule(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	s := openTestStore(t, t.TempDir(), newMasterKey(t), clock.Now)
	id := enqueue(t, s, newMail("lease@example.test", "verify"))

	due, err := s.DueMail(ctx, 10)
	require.NoError(t, err)
	require.Len(t, due, 1)

	// Claimed: a second pass does not hand it out again while the lease runs.
	again, err := s.DueMail(ctx, 10)
	require.NoError(t, err)
	assert.Empty(t, again)

	// A sender that died mid-send: the lease runs out and it is due again.
	clock.Advance(mailLease)
	again, err = s.DueMail(ctx, 10)
	require.NoError(t, err)
	require.Len(t, again, 1)

	next := clock.Now().Add(time.Hour)
	require.NoError(t, s.MarkMailRetry(ctx, id, "451 4.3.0 try later for <lease@example.test>", next))
	clock.Advance(59 * time.Minute)
	due, err = s.DueMail(ctx, 10)
	require.NoError(t, err)
	assert.Empty(t, due, "not due before next_attempt_at")

	clock.Advance(time.Minute)
	due, err = s.DueMail(ctx, 10)
	require.NoError(t, err)
	require.Len(t, due, 1)
	assert.Equal(t, 1, due[0].Attempts)
	assert.Equal(t, "451 4.3.0 try later for <address>", due[0].LastError)

	require.NoError(t, s.MarkMailSent(ctx, id))
	m, err := s.OutboxMail(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, MailSent, m.Status)
	assert.Equal(t, 2, m.Attempts)
	assert.Equal(t, clock.Now(), m.SentAt)
	assert.Empty(t, m.LastError)

	// Only queued mail can change state.
	assert.ErrorIs(t, s.MarkMailSent(ctx, id), ErrNotFound)
	assert.ErrorIs(t, s.MarkMailRetry(ctx, id, "x", clock.Now()), ErrNotFound)
	assert.ErrorIs(t, s.MarkMailFailed(ctx, id, "x"), ErrNotFound)
	assert.ErrorIs(t, s.MarkMailSent(ctx, NewID()), ErrNotFound)

	clock.Advance(24 * time.Hour)
	due, err = s.DueMail(ctx, 10)
	require.NoError(t, err)
	assert.Empty(t, due, "sent mail is never due")
}

func TestDueMailLimit(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	s := openTestStore(t, t.TempDir(), newMasterKey(t), clock.Now)
	var ids []string
	for i := range 5 {
		ids = append(ids, enqueue(t, s, newMail(strings.Repeat("x", i+1)+"@example.test", "verify")))
		clock.Advance(time.Millisecond)
	}
	due, err := s.DueMail(ctx, 3)
	require.NoError(t, err)
	require.Len(t, due, 3)
	for i, m := range due {
		assert.Equal(t, ids[i], m.ID)
	}
	due, err = s.DueMail(ctx, 3)
	require.NoError(t, err)
	require.Len(t, due, 2)
	assert.Equal(t, ids[3:], []string{due[0].ID, due[1].ID})

	none, err := s.DueMail(ctx, 0)
	require.NoError(t, err)
	assert.Empty(t, none)
}

func TestMarkMailFailed(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	id := enqueue(t, s, newMail("bounce@example.test", "verify"))
	require.NoError(t, s.MarkMailFailed(ctx, id, "smtp recipient: 550 5.1.1 <bounce@example.test> unknown"))
	m, err := s.OutboxMail(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, MailFailed, m.Status)
	assert.Equal(t, 1, m.Attempts)
	assert.Equal(t, "smtp recipient: 550 5.1.1 <address> unknown", m.LastError)
	assert.NotContains(t, m.LastError, "bounce")
	due, err := s.DueMail(ctx, 10)
	require.NoError(t, err)
	assert.Empty(t, due)
}

func TestSanitiseMailError(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "unknown error"},
		{"550 5.1.1 <a.b+c@example.test>: Recipient address rejected", "550 5.1.1 <address> Recipient address rejected"},
		{"user a@b rejected; cc=(x@y.z)", "user <address> rejected; <address>"},
		{"line one\r\nline two\ttab", "line one line two tab"},
		{strings.Repeat("é", 150), strings.Repeat("é", 100) + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got := sanitiseMailError(tt.in)
			assert.Equal(t, tt.want, got)
			assert.NotContains(t, got, "@")
		})
	}
}

func TestDueMailSkipsErasedRecipient(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	s := openTestStore(t, t.TempDir(), newMasterKey(t), clock.Now)
	gone := createUser(t, s, newUser("erasedmail"))
	kept := createUser(t, s, newUser("keptmail"))

	m := newMail(gone.Email, "verify")
	m.UserID = gone.ID
	goneID := enqueue(t, s, m)
	clock.Advance(time.Second)
	m = newMail(kept.Email, "verify")
	m.UserID = kept.ID
	keptID := enqueue(t, s, m)

	require.NoError(t, s.DestroyDataKey(ctx, gone.ID))
	due, err := s.DueMail(ctx, 10)
	require.NoError(t, err)
	require.Len(t, due, 1)
	assert.Equal(t, keptID, due[0].ID)

	got, err := s.OutboxMail(ctx, goneID)
	require.NoError(t, err)
	assert.Equal(t, MailFailed, got.Status)
	assert.Equal(t, MailErased, got.LastError)
	assert.Empty(t, got.To)
	assert.Zero(t, count(t, s.db, "outbox", "id = ? AND (recipient IS NOT NULL OR body_text IS NOT NULL)", goneID),
		"the useless ciphertext is dropped")

	// The console listing survives a shredded key.
	list, err := s.OutboxMails(ctx, 10)
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, keptID, list[0].ID, "newest first")
	assert.Equal(t, kept.Email, list[0].To)
	assert.Equal(t, goneID, list[1].ID)
	assert.Empty(t, list[1].To)
}

func TestDueMailFailsUnreadableRow(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	id := enqueue(t, s, newMail("tamper@example.test", "verify"))
	// Swap the sealed subject for one bound to another row: it must not open.
	other := enqueue(t, s, newMail("other@example.test", "verify"))
	_, err := s.db.Exec("UPDATE outbox SET subject = (SELECT subject FROM outbox WHERE id = ?) WHERE id = ?", other, id)
	require.NoError(t, err)

	due, err := s.DueMail(ctx, 10)
	require.NoError(t, err)
	require.Len(t, due, 1, "the bad row must not wedge the queue")
	assert.Equal(t, other, due[0].ID)
	m, err := s.OutboxMail(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, MailFailed, m.Status)
	assert.Contains(t, m.LastError, "could not be opened")
}

func TestOutboxStats(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	s := openTestStore(t, t.TempDir(), newMasterKey(t), clock.Now)

	st, err := s.OutboxStats(ctx)
	require.NoError(t, err)
	assert.Equal(t, OutboxStats{}, st)

	first := clock.Now()
	a := enqueue(t, s, newMail("a@example.test", "verify"))
	clock.Advance(time.Minute)
	b := enqueue(t, s, newMail("b@example.test", "verify"))
	clock.Advance(time.Minute)
	enqueue(t, s, newMail("c@example.test", "verify"))
	enqueue(t, s, newMail("d@example.test", "verify"))
	require.NoError(t, s.MarkMailSent(ctx, a))
	require.NoError(t, s.MarkMailFailed(ctx, b, "no"))

	st, err = s.OutboxStats(ctx)
	require.NoError(t, err)
	assert.Equal(t, OutboxStats{Queued: 2, Sent: 1, Failed: 1, OldestQueued: first.Add(2 * time.Minute)}, st)
}

func TestDeleteUserMail(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	u := createUser(t, s, newUser("deletemail"))
	other := createUser(t, s, newUser("othermail"))
	for _, id := range []string{u.ID, u.ID, other.ID, ""} {
		m := newMail("x@example.test", "verify")
		m.UserID = id
		enqueue(t, s, m)
	}
	require.NoError(t, s.DeleteUserMail(ctx, u.ID))
	assert.Zero(t, count(t, s.db, "outbox", "user_id = ?", u.ID))
	assert.Equal(t, 2, count(t, s.db, "outbox"))
	require.Error(t, s.DeleteUserMail(ctx, ""), "an empty id must not match system mail")
}

func TestOutboxSurvivesKeyRotationAndReopen(t *testing.T) {
	ctx := context.Background()
	dir, key := t.TempDir(), newMasterKey(t)
	s := openTestStore(t, dir, key, nil)
	u := createUser(t, s, newUser("rotatemail"))
	m := newMail(u.Email, "verify")
	m.UserID = u.ID
	userMail := enqueue(t, s, m)
	sysMail := enqueue(t, s, newMail("sys@example.test", "reset"))

	_, rewrapped, err := s.RotateKeys(ctx)
	require.NoError(t, err)
	assert.Equal(t, 2, rewrapped, "the system key is rotated with the personal keys")
	require.NoError(t, s.Close())

	s = openTestStore(t, dir, key, nil)
	for id, to := range map[string]string{userMail: u.Email, sysMail: "sys@example.test"} {
		got, err := s.OutboxMail(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, to, got.To)
		assert.Equal(t, "Text for "+to, got.Text)
	}
}

// TestOutboxNoPlaintextOnDisk greps the raw database files for the
// recipient, subject and bodies of queued mail.
func TestOutboxNoPlaintextOnDisk(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, dir, newMasterKey(t), nil)
	u := createUser(t, s, newUser("diskmail"))
	secrets := []string{"Qzxwvmailbox@Plokij.test", "Subjectmarkerzq", "Textbodymarkerzq", "Htmlbodymarkerzq", "Headermarkerzq"}
	for _, userID := range []string{u.ID, ""} {
		enqueue(t, s, NewMail{UserID: userID, To: secrets[0], Kind: "kindmarkerzq", Subject: secrets[1], Text: secrets[2],
			HTML: "<b>" + secrets[3] + "</b>", Headers: map[string]string{"X-Marker": secrets[4]}})
	}
	check := func(t *testing.T) {
		files := readDataFiles(t, dir)
		require.Contains(t, files, MainDBFile)
		found := false
		for _, b := range files {
			found = found || bytes.Contains(b, []byte("kindmarkerzq"))
		}
		require.True(t, found, "control value (plaintext kind) not found: the test does not see the written data")
		for name, b := range files {
			for _, secret := range secrets {
				for _, v := range []string{secret, strings.ToLower(secret)} {
					assert.False(t, bytes.Contains(b, []byte(v)), "%s contains %q in plaintext", name, v)
				}
			}
		}
	}
	t.Run("open with WAL", check)
	require.NoError(t, s.Close())
	t.Run("after close", check)
}

// TestOutboxTablesClassifyEveryColumn checks outboxTables against the
// migrated schema of the outbox table (the global data-map test checks the
// whole registry once outboxTables is listed in DataMap).
func TestOutboxTablesClassifyEveryColumn(t *testing.T) {
	s := newTestStore(t)
	rows, err := s.db.Query("SELECT name, type FROM pragma_table_info('outbox') ORDER BY cid")
	require.NoError(t, err)
	types := map[string]string{}
	var cols []string
	for rows.Next() {
		var name, typ string
		require.NoError(t, rows.Scan(&name, &typ))
		types[name] = typ
		cols = append(cols, name)
	}
	require.NoError(t, rows.Err())
	require.NoError(t, rows.Close())
	require.NotEmpty(t, cols)

	var fields []Field
	for _, tb := range outboxTables() {
		fields = append(fields, tb.fields()...)
	}
	var mapped []string
	for _, f := range fields {
		assert.Equal(t, DBMain, f.DB)
		assert.Equal(t, "outbox", f.Table)
		mapped = append(mapped, f.Column)
		assert.True(t, f.Personal, f.Column)
		assert.NotEmpty(t, f.Purposes, f.Column)
		assert.NotEmpty(t, f.Basis, f.Column)
		assert.NotEmpty(t, f.Retention, f.Column)
		assert.NotEqual(t, EraseNone, f.Erasure, f.Column)
		if f.Export == ExportOmit {
			assert.NotEmpty(t, f.Why, f.Column)
		}
		if f.Encrypted {
			assert.Equal(t, "BLOB", types[f.Column], "%s is sealed but not a BLOB", f.Column)
		}
	}
	assert.ElementsMatch(t, cols, mapped, "every outbox column classified exactly once, and nothing else")
	for _, c := range []string{"recipient", "subject", "body_text", "body_html", "headers"} {
		i := slices.IndexFunc(fields, func(f Field) bool { return f.Column == c })
		require.GreaterOrEqual(t, i, 0, c)
		assert.True(t, fields[i].Encrypted, "%s must be sealed", c)
	}
	for c, typ := range types {
		if typ == "BLOB" {
			i := slices.IndexFunc(fields, func(f Field) bool { return f.Column == c })
			assert.True(t, fields[i].Encrypted, "BLOB column %s holds personal data and must be sealed", c)
		}
	}
}

// TestSystemMailForgottenOnceSent: mail sealed under the system key (to
// someone without an account) keeps no address once delivered; a person's
// own mail keeps its contents for the retention period.
func TestSystemMailForgottenOnceSent(t *testing.T) {
	s := newTestStore(t)
	ctx := t.Context()
	u := createUser(t, s, newUser("kept"))
	sys, err := s.EnqueueMail(ctx, NewMail{To: "leaving@example.org", Kind: "erasure_done", Subject: "bye", Text: "erased"})
	require.NoError(t, err)
	own, err := s.EnqueueMail(ctx, NewMail{UserID: u.ID, To: u.Email, Kind: "verify", Subject: "hi", Text: "link"})
	require.NoError(t, err)
	require.NoError(t, s.MarkMailSent(ctx, sys))
	require.NoError(t, s.MarkMailSent(ctx, own))
	var sysNull, ownNull bool
	require.NoError(t, s.rdb.QueryRow("SELECT recipient IS NULL AND body_text IS NULL FROM outbox WHERE id = ?", sys).Scan(&sysNull))
	require.NoError(t, s.rdb.QueryRow("SELECT recipient IS NULL FROM outbox WHERE id = ?", own).Scan(&ownNull))
	assert.True(t, sysNull, "the system-key mail's address and body are gone")
	assert.False(t, ownNull)
	m, err := s.OutboxMail(ctx, sys)
	require.NoError(t, err)
	assert.Equal(t, MailSent, m.Status)
}

// TestMailWithADeadLinkIsDropped: mail whose link expired, or whose
// one-time token was used, is never handed out for sending, for example
// once SMTP is configured days later; the outbox records why.
func TestMailWithADeadLinkIsDropped(t *testing.T) {
	clock := newTestClock()
	s := openTestStore(t, t.TempDir(), newMasterKey(t), clock.Now)
	ctx := context.Background()
	u, err := s.CreateUser(ctx, newUser("linkdead"))
	require.NoError(t, err)
	first, err := s.CreateAccountToken(ctx, u.ID, TokenVerify, 48*time.Hour, "")
	require.NoError(t, err)
	replaced, err := s.EnqueueMail(ctx, NewMail{UserID: u.ID, To: u.Email, Kind: "verify", Subject: "verify", Text: first,
		LinkToken: first, LinkExpires: clock.Now().Add(48 * time.Hour)})
	require.NoError(t, err)
	_, err = s.VerifyEmail(ctx, first) // used, say from the printed link, before any mail went
	require.NoError(t, err)
	second, err := s.CreateAccountToken(ctx, u.ID, TokenReset, time.Hour, "")
	require.NoError(t, err)
	live, err := s.EnqueueMail(ctx, NewMail{UserID: u.ID, To: u.Email, Kind: "reset", Subject: "reset 2", Text: second,
		LinkToken: second, LinkExpires: clock.Now().Add(time.Hour)})
	require.NoError(t, err)
	invite, err := s.EnqueueMail(ctx, NewMail{To: "someone@example.test", Kind: "invitation", Subject: "invite", Text: "link",
		LinkExpires: clock.Now().Add(7 * 24 * time.Hour)})
	require.NoError(t, err)
	plain, err := s.EnqueueMail(ctx, NewMail{UserID: u.ID, To: u.Email, Kind: "password_changed", Subject: "changed", Text: "x"})
	require.NoError(t, err)

	due, err := s.DueMail(ctx, 10)
	require.NoError(t, err)
	var ids []string
	for _, m := range due {
		ids = append(ids, m.ID)
	}
	assert.ElementsMatch(t, []string{live, invite, plain}, ids, "the used link is dead at once")
	m, err := s.OutboxMail(ctx, replaced)
	require.NoError(t, err)
	assert.Equal(t, MailFailed, m.Status)
	assert.Equal(t, MailLinkDead, m.LastError)
	assert.Empty(t, m.Text, "its body, with the link, is gone")

	// Nothing was sent (no SMTP, say); two hours later the reset link has
	// expired, and then a week later the invitation.
	clock.Advance(2 * time.Hour)
	due, err = s.DueMail(ctx, 10)
	require.NoError(t, err)
	ids = nil
	for _, m := range due {
		ids = append(ids, m.ID)
	}
	assert.ElementsMatch(t, []string{invite, plain}, ids)
	clock.Advance(7 * 24 * time.Hour)
	due, err = s.DueMail(ctx, 10)
	require.NoError(t, err)
	require.Len(t, due, 1)
	assert.Equal(t, plain, due[0].ID, "mail without a link is sent whenever it can be")
	for _, id := range []string{live, invite} {
		m, err := s.OutboxMail(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, MailLinkDead, m.LastError, id)
	}
}
