package store

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// optedIn creates a confirmed account with the given registration choices.
func optedIn(t *testing.T, s *Store, name, country, industry string, notifyNew, feedback bool) User {
	t.Helper()
	nu := newUser(name)
	nu.Country, nu.Industry, nu.Verified = country, industry, true
	nu.AcceptedPolicy, nu.AdultConfirmed, nu.NotifyNew, nu.Feedback = "2023-10-09", true, notifyNew, feedback
	return createUser(t, s, nu)
}

func TestUnsubscribeTokenRoundTrip(t *testing.T) {
	clock := newTestClock()
	s := openTestStore(t, t.TempDir(), newMasterKey(t), clock.Now)
	id := NewID()
	for _, purpose := range []string{ConsentNotifyNew, ConsentFeedback} {
		tok, err := s.SignUnsubscribe(id, purpose)
		require.NoError(t, err)
		assert.LessOrEqual(t, len(tok), maxUnsubscribeLen)
		assert.Regexp(t, `^[a-z2-7]{26}\.[nf]\.[0-9a-z]+\.[A-Za-z0-9_-]{22}$`, tok)
		uid, p, err := s.VerifyUnsubscribe(tok)
		require.NoError(t, err)
		assert.Equal(t, id, uid)
		assert.Equal(t, purpose, p)
	}
	_, err := s.SignUnsubscribe(id, "statistics")
	assert.Error(t, err)
	_, err = s.SignUnsubscribe("not-an-id", ConsentFeedback)
	assert.Error(t, err)
}

func TestUnsubscribeTokenRefusesTamperingAndExpiry(t *testing.T) {
	clock := newTestClock()
	key := newMasterKey(t)
	s := openTestStore(t, t.TempDir(), key, clock.Now)
	id := NewID()
	tok, err := s.SignUnsubscribe(id, ConsentNotifyNew)
	require.NoError(t, err)
	parts := strings.Split(tok, ".")

	other := NewID()
	for name, bad := range map[string]string{
		"other user":       other + "." + parts[1] + "." + parts[2] + "." + parts[3],
		"other purpose":    parts[0] + ".f." + parts[2] + "." + parts[3],
		"later expiry":     parts[0] + "." + parts[1] + ".zzzzzz." + parts[3],
		"flipped mac":      parts[0] + "." + parts[1] + "." + parts[2] + "." + flip(parts[3]),
		"raw user id":      id,
		"empty":            "",
		"extra part":       tok + ".x",
		"padded mac":       tok + "==",
		"upper case id":    strings.ToUpper(parts[0]) + "." + parts[1] + "." + parts[2] + "." + parts[3],
		"leading zero exp": parts[0] + "." + parts[1] + ".0" + parts[2] + "." + parts[3],
	} {
		t.Run(name, func(t *testing.T) {
			_, _, err := s.VerifyUnsubscribe(bad)
			assert.ErrorIs(t, err, ErrTokenMalformed)
		})
	}

	// Another installation (another master key) cannot make valid tokens.
	s2 := openTestStore(t, t.TempDir(), newMasterKey(t), clock.Now)
	_, _, err = s2.VerifyUnsubscribe(tok)
	assert.ErrorIs(t, err, ErrTokenMalformed)

	clock.Advance(unsubscribeTTL - time.Minute)
	_, _, err = s.VerifyUnsubscribe(tok)
	require.NoError(t, err)
	clock.Advance(time.Minute)
	_, _, err = s.VerifyUnsubscribe(tok)
	assert.ErrorIs(t, err, ErrTokenExpired)
}

func flip(s string) string {
	b := []byte(s)
	if b[0] == 'A' {
		b[0] = 'B'
	} else {
		b[0] = 'A'
	}
	return string(b)
}

// FuzzParseUnsubscribeToken: the parser of tokens from URLs never panics,
// accepts only canonical tokens, and a token it accepts is rebuilt exactly
// from its parts.
func FuzzParseUnsubscribeToken(f *testing.F) {
	s := openTestStore(f, f.TempDir(), newMasterKey(f), nil)
	good, err := s.SignUnsubscribe(NewID(), ConsentFeedback)
	require.NoError(f, err)
	for _, seed := range []string{good, "", ".", "...", good + ".", strings.Repeat("a", 200), "aaaaaaaaaaaaaaaaaaaaaaaaaa.n.1.AAAAAAAAAAAAAAAAAAAAAA",
		"aaaaaaaaaaaaaaaaaaaaaaaaaa.n.-1.AAAAAAAAAAAAAAAAAAAAAA", "aaaaaaaaaaaaaaaaaaaaaaaaaa.x.1.AAAAAAAAAAAAAAAAAAAAAA",
		"aaaaaaaaaaaaaaaaaaaaaaaaaa.n.zzzzzzzzzzzzz.AAAAAAAAAAAAAAAAAAAAAA"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		p, ok := ParseUnsubscribeToken(tok)
		if !ok {
			_, _, err := s.VerifyUnsubscribe(tok)
			assert.ErrorIs(t, err, ErrTokenMalformed)
			return
		}
		require.True(t, ValidID(p.UserID))
		require.Contains(t, []string{ConsentNotifyNew, ConsentFeedback}, p.Purpose)
		rebuilt := p.UserID + "." + p.code + "." + p.expiry + "." + base64URL(p.mac)
		require.Equal(t, tok, rebuilt)
		if tok != good {
			_, _, err := s.VerifyUnsubscribe(tok)
			require.Error(t, err, "a token the store did not sign must not verify")
		}
	})
}

func base64URL(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func TestUnsubscribeRecordsOptOut(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	u := optedIn(t, s, "ana", "MY", "manufacturing", true, true)
	require.NoError(t, s.Unsubscribe(ctx, u.ID, ConsentNotifyNew))
	c, err := s.Consents(ctx, u.ID)
	require.NoError(t, err)
	assert.False(t, c.NotifyNew)
	assert.True(t, c.Feedback, "only the purpose of the link changes")
	assert.Equal(t, 1, count(t, s.db, "user_consents", "user_id = ? AND how = 'unsubscribe'", u.ID))
	require.NoError(t, s.Unsubscribe(ctx, u.ID, ConsentNotifyNew))
	assert.Equal(t, 1, count(t, s.db, "user_consents", "user_id = ? AND how = 'unsubscribe'", u.ID), "a second click records nothing new")
	assert.ErrorIs(t, s.Unsubscribe(ctx, NewID(), ConsentFeedback), ErrNotFound)
}

func TestAnnouncementRecipientsRespectChoicesAndTargeting(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	my := optedIn(t, s, "my", "MY", "manufacturing", true, true)
	myRetail := optedIn(t, s, "myretail", "MY", "retail", true, true)
	id := optedIn(t, s, "id", "ID", "manufacturing", true, true)
	optedIn(t, s, "noopt", "MY", "manufacturing", false, true)
	restricted := optedIn(t, s, "restricted", "MY", "manufacturing", true, true)
	require.NoError(t, s.SetRestricted(ctx, restricted.ID, true))
	objects := optedIn(t, s, "objects", "MY", "manufacturing", true, true)
	require.NoError(t, s.SetObjection(ctx, objects.ID, ObjectDirectMarketing, true))
	unverified := newUser("unverified")
	unverified.AcceptedPolicy, unverified.NotifyNew = "2023-10-09", true
	createUser(t, s, unverified)

	all, err := s.AnnouncementRecipients(ctx, AnnouncementFilter{})
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{my.ID, myRetail.ID, id.ID}, all)

	got, err := s.AnnouncementRecipients(ctx, AnnouncementFilter{Countries: []string{"MY"}, Industries: []string{"manufacturing"}})
	require.NoError(t, err)
	assert.Equal(t, []string{my.ID}, got)
	got, err = s.AnnouncementRecipients(ctx, AnnouncementFilter{Countries: []string{"MY", "ID"}})
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{my.ID, myRetail.ID, id.ID}, got)

	// Objecting to announcements only (not to marketing as a whole) counts too.
	require.NoError(t, s.SetObjection(ctx, id.ID, ObjectNotifyNew, true))
	got, err = s.AnnouncementRecipients(ctx, AnnouncementFilter{})
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{my.ID, myRetail.ID}, got)
	assert.Error(t, s.SetObjection(ctx, id.ID, "anything", true))
}

func TestMailSuppressed(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	u := optedIn(t, s, "ana", "MY", "manufacturing", true, true)
	for _, kind := range []string{MailAnnouncement, MailFeedbackRequest} {
		reason, err := s.MailSuppressed(ctx, u.ID, kind)
		require.NoError(t, err)
		assert.Empty(t, reason, kind)
	}
	require.NoError(t, s.SetObjection(ctx, u.ID, ObjectFeedback, true))
	reason, err := s.MailSuppressed(ctx, u.ID, MailFeedbackRequest)
	require.NoError(t, err)
	assert.Equal(t, SuppressedReason, reason)
	reason, err = s.MailSuppressed(ctx, u.ID, MailAnnouncement)
	require.NoError(t, err)
	assert.Empty(t, reason, "an objection to feedback requests does not stop announcements")

	require.NoError(t, s.Unsubscribe(ctx, u.ID, ConsentNotifyNew))
	reason, err = s.MailSuppressed(ctx, u.ID, MailAnnouncement)
	require.NoError(t, err)
	assert.Equal(t, SuppressedOptOut, reason)

	require.NoError(t, s.SetRestricted(ctx, u.ID, true))
	for _, kind := range []string{MailAnnouncement, MailFeedbackRequest} {
		reason, err := s.MailSuppressed(ctx, u.ID, kind)
		require.NoError(t, err)
		assert.Equal(t, SuppressedReason, reason, kind)
	}
	for _, kind := range []string{MailBreachNotice, MailPolicyUpdate, "verify"} {
		reason, err := s.MailSuppressed(ctx, u.ID, kind)
		require.NoError(t, err)
		assert.Empty(t, reason, "%s is never suppressed", kind)
	}
}

func TestClaimNotificationOnce(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	u := optedIn(t, s, "ana", "MY", "manufacturing", true, true)
	ok, err := s.ClaimNotification(ctx, MailAnnouncement, "t1", u.ID)
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = s.ClaimNotification(ctx, MailAnnouncement, "t1", u.ID)
	require.NoError(t, err)
	assert.False(t, ok)
	// A claim whose mail failed to queue is dropped and can be made again.
	require.NoError(t, s.LinkNotification(ctx, MailAnnouncement, "t1", u.ID, ""))
	ok, err = s.ClaimNotification(ctx, MailAnnouncement, "t1", u.ID)
	require.NoError(t, err)
	require.True(t, ok)
	require.NoError(t, s.LinkNotification(ctx, MailAnnouncement, "t1", u.ID, NewID()))
	require.NoError(t, s.LinkNotification(ctx, MailAnnouncement, "t1", u.ID, ""), "a linked claim stays")
	n, err := s.NotificationCount(ctx, MailAnnouncement, "t1")
	require.NoError(t, err)
	assert.Equal(t, 1, n)
}
