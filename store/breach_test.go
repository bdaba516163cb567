package store

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func testBreach(scope, scopeID string, people ...string) NewBreach {
	return NewBreach{Title: "Laptop stolen from the office of Budi Santoso", Description: "A laptop with an export was stolen.",
		Measures: "We changed every password.", Advice: "Watch out for phishing.", Contact: "privacy-officer@kelas.test",
		Categories: []string{string(CatRegistration), string(CatActivity)},
		OccurredAt: time.Date(2025, 3, 12, 8, 0, 0, 0, time.UTC), DetectedAt: time.Date(2025, 3, 13, 10, 0, 0, 0, time.UTC),
		Scope: scope, ScopeID: scopeID, People: people}
}

func TestCreateBreachSealsTextsAndAudits(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openTestStore(t, dir, newMasterKey(t), newTestClock().Now)
	dpo := createUser(t, s, operatorUser("dpo"))
	b, err := s.CreateBreach(ctx, dpo.ID, testBreach(BreachAll, ""))
	require.NoError(t, err)
	assert.Equal(t, "Laptop stolen from the office of Budi Santoso", b.Title)
	assert.Equal(t, "privacy-officer@kelas.test", b.Contact)
	assert.Equal(t, []string{"registration", "activity_log"}, b.Categories)
	assert.Equal(t, time.Date(2025, 3, 16, 10, 0, 0, 0, time.UTC), b.Deadline())
	assert.True(t, b.NotifiedAt.IsZero())

	log, err := s.AuditLog(ctx, 10)
	require.NoError(t, err)
	require.NotEmpty(t, log)
	assert.Equal(t, AuditBreachRecord, log[0].Action)
	assert.Equal(t, b.ID, log[0].TargetID)
	assert.Equal(t, dpo.ID, log[0].ActorID)

	// What the privacy officer typed never reaches the files in plaintext.
	require.NoError(t, s.Close())
	for _, f := range []string{MainDBFile, MainDBFile + "-wal"} {
		raw, err := os.ReadFile(filepath.Join(dir, f))
		if os.IsNotExist(err) {
			continue
		}
		require.NoError(t, err)
		assert.NotContains(t, string(raw), "Budi Santoso", f)
		assert.NotContains(t, string(raw), "privacy-officer@kelas.test", f)
	}
}

func TestCreateBreachRefusesDetectionBeforeOccurrence(t *testing.T) {
	s := newTestStore(t)
	nb := testBreach(BreachAll, "")
	nb.DetectedAt = nb.OccurredAt.Add(-time.Hour)
	_, err := s.CreateBreach(context.Background(), NewID(), nb)
	assert.Error(t, err)
	nb = testBreach(BreachAll, "")
	nb.Categories = []string{"system"}
	_, err = s.CreateBreach(context.Background(), NewID(), nb)
	assert.Error(t, err, "system is no category of personal data")
}

func TestBreachAffectedAndClaims(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	_, err := s.SeedMembers(ctx)
	require.NoError(t, err)
	ms, err := s.Members(ctx)
	require.NoError(t, err)
	tr, err := s.CreateTraining(ctx, ms[0].ID, "", TrainingInput{Title: "T", Summary: "S", Language: "en", Kind: KindSelfStudy, PassMark: 50, Published: true})
	require.NoError(t, err)
	other, err := s.CreateTraining(ctx, ms[1].ID, "", TrainingInput{Title: "O", Summary: "S", Language: "en", Kind: KindSelfStudy, PassMark: 50, Published: true})
	require.NoError(t, err)
	a, b, c := createUser(t, s, newUser("a")), createUser(t, s, newUser("b")), createUser(t, s, newUser("c"))
	require.NoError(t, s.Enrol(ctx, a.ID, tr.ID))
	require.NoError(t, s.Enrol(ctx, b.ID, other.ID))
	require.NoError(t, s.SetRestricted(ctx, a.ID, true))

	affected := func(nb NewBreach) []string {
		t.Helper()
		br, err := s.CreateBreach(ctx, NewID(), nb)
		require.NoError(t, err)
		ids, err := s.BreachAffected(ctx, br)
		require.NoError(t, err)
		return ids
	}
	assert.ElementsMatch(t, []string{a.ID, b.ID, c.ID}, affected(testBreach(BreachAll, "")))
	assert.Equal(t, []string{a.ID}, affected(testBreach(BreachTraining, tr.ID)), "restriction does not hide anyone from a breach")
	assert.Equal(t, []string{b.ID}, affected(testBreach(BreachMember, ms[1].ID)))
	assert.ElementsMatch(t, []string{b.ID, c.ID}, affected(testBreach(BreachList, "", b.ID, c.ID, c.ID)))

	br, err := s.CreateBreach(ctx, NewID(), testBreach(BreachAll, ""))
	require.NoError(t, err)
	ids := []string{a.ID, b.ID, c.ID}
	got, err := s.ClaimBreachNotices(ctx, br.ID, ids)
	require.NoError(t, err)
	assert.Equal(t, ids, got)
	got, err = s.ClaimBreachNotices(ctx, br.ID, ids)
	require.NoError(t, err)
	assert.Empty(t, got, "claimed people are not handed out twice")

	mailA := enqueue(t, s, NewMail{UserID: a.ID, To: a.Email, Kind: MailBreachNotice, Text: "x"})
	require.NoError(t, s.LinkBreachNotice(ctx, br.ID, a.ID, mailA))
	require.NoError(t, s.MarkMailSent(ctx, mailA))
	mailB := enqueue(t, s, NewMail{UserID: b.ID, To: b.Email, Kind: MailBreachNotice, Text: "x"})
	require.NoError(t, s.LinkBreachNotice(ctx, br.ID, b.ID, mailB))
	assert.ErrorIs(t, s.LinkBreachNotice(ctx, br.ID, b.ID, NewID()), ErrNotFound, "a notice is linked once")
	require.NoError(t, s.ReleaseBreachNotice(ctx, br.ID, c.ID))

	notices, counts, err := s.BreachNotices(ctx, br.ID, 100)
	require.NoError(t, err)
	assert.Equal(t, NoticeCounts{Sent: 1, Queued: 1}, counts)
	require.Len(t, notices, 2)
	assert.Equal(t, MailSent, notices[0].Status)
	assert.False(t, notices[0].SentAt.IsZero())
	br, err = s.Breach(ctx, br.ID)
	require.NoError(t, err)
	assert.False(t, br.NotifiedAt.IsZero())

	got, err = s.ClaimBreachNotices(ctx, br.ID, ids)
	require.NoError(t, err)
	assert.Equal(t, []string{c.ID}, got, "a released claim is handed out again")

	// Erasure keeps the notice, unlinked, so the register keeps its count.
	require.NoError(t, s.EraseUser(ctx, ActorCLI, a.ID))
	_, counts, err = s.BreachNotices(ctx, br.ID, 100)
	require.NoError(t, err)
	assert.Equal(t, NoticeCounts{Claimed: 1, Queued: 1, Gone: 1}, counts)
	assert.Zero(t, count(t, s.db, "breach_notifications", "user_id = ?", a.ID))
}

func TestStaleBreachClaimIsTakenOver(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	s := openTestStore(t, t.TempDir(), newMasterKey(t), clock.Now)
	u := createUser(t, s, newUser("a"))
	br, err := s.CreateBreach(ctx, NewID(), testBreach(BreachAll, ""))
	require.NoError(t, err)
	got, err := s.ClaimBreachNotices(ctx, br.ID, []string{u.ID})
	require.NoError(t, err)
	require.Len(t, got, 1)
	clock.Advance(breachClaimStale + time.Second)
	got, err = s.ClaimBreachNotices(ctx, br.ID, []string{u.ID})
	require.NoError(t, err)
	assert.Len(t, got, 1, "a claim left behind by a failed action is retried")
}
