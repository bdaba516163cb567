package store

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const day = 24 * time.Hour

func TestRetentionRulesDefaultsAndChanges(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	rules, err := s.RetentionRules(ctx)
	require.NoError(t, err)
	require.Len(t, rules, len(RetentionCategories()))
	byCat := map[string]RetentionRule{}
	for _, r := range rules {
		byCat[r.Category] = r
		assert.NotEmpty(t, r.Label)
		assert.NotEmpty(t, r.Describe())
		assert.Equal(t, r.Default, r.Keep, "%s starts at its default", r.Category)
	}
	assert.Equal(t, 365, byCat[RetActivity].Keep)
	assert.Equal(t, 30, byCat[RetActivityIP].Keep)
	assert.Equal(t, 90, byCat[RetActivityPrefix].Keep)
	assert.Equal(t, 14, byCat[RetAccessLog].Keep)
	assert.Equal(t, 2190, byCat[RetAudit].Keep)
	assert.Equal(t, 7, byCat[RetKeysBackups].Keep)
	assert.False(t, byCat[RetSessions].Editable)

	require.NoError(t, s.SetRetentionRules(ctx, "op", map[string]int{RetAccessLog: 7, RetActivity: 365}))
	r, err := s.RetentionRule(ctx, RetAccessLog)
	require.NoError(t, err)
	assert.Equal(t, 7, r.Keep)
	assert.Equal(t, 14, r.Default)
	assert.Equal(t, "op", r.UpdatedBy)
	assert.Contains(t, r.Describe(), "7 days")

	log, err := s.AuditLog(ctx, 10)
	require.NoError(t, err)
	require.Len(t, log, 1, "only the changed rule is audited")
	assert.Equal(t, AuditRetentionRule, log[0].Action)
	assert.Equal(t, RetAccessLog, log[0].TargetID)
	assert.Equal(t, map[string]any{"from": float64(14), "to": float64(7), "unit": "days"}, log[0].Details)

	for _, tc := range []struct {
		name  string
		in    map[string]int
		field string
	}{
		{"below minimum", map[string]int{RetAudit: 30}, RetAudit},
		{"above maximum", map[string]int{RetAccessLog: 1000}, RetAccessLog},
		{"unknown", map[string]int{"nope": 3}, "nope"},
		{"fixed rule", map[string]int{RetSessions: 3}, RetSessions},
		{"full IP longer than prefix", map[string]int{RetActivityIP: 100}, RetActivityIP},
		{"prefix longer than rows", map[string]int{RetActivityPrefix: 400}, RetActivityPrefix},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := s.SetRetentionRules(ctx, "op", tc.in)
			var re RuleErrors
			require.ErrorAs(t, err, &re)
			assert.Contains(t, re, tc.field)
			r, err := s.RetentionRule(ctx, RetAccessLog)
			require.NoError(t, err)
			assert.Equal(t, 7, r.Keep, "a rejected change changes nothing")
		})
	}
}

func TestLegalHolds(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	u := createUser(t, s, newUser("holder"))

	for _, tc := range []struct {
		name  string
		in    NewLegalHold
		field string
	}{
		{"nothing", NewLegalHold{Reason: "x"}, "target"},
		{"both", NewLegalHold{UserID: u.ID, Category: RetActivity, Reason: "x"}, "target"},
		{"bad id", NewLegalHold{UserID: "nope", Reason: "x"}, "user_id"},
		{"unknown person", NewLegalHold{UserID: NewID(), Reason: "x"}, "user_id"},
		{"unknown category", NewLegalHold{Category: RetSessions, Reason: "x"}, "category"},
		{"no reason", NewLegalHold{Category: RetActivity, Reason: "  "}, "reason"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.SetLegalHold(ctx, "op", tc.in)
			var he HoldErrors
			require.ErrorAs(t, err, &he)
			assert.Contains(t, he, tc.field)
		})
	}

	h, err := s.SetLegalHold(ctx, "op", NewLegalHold{UserID: u.ID, Reason: "Case Zqxwv-17 reasonmarker"})
	require.NoError(t, err)
	_, err = s.SetLegalHold(ctx, "op", NewLegalHold{Category: RetAudit, Reason: "regulator inquiry"})
	require.NoError(t, err)
	holds, err := s.LegalHolds(ctx, false)
	require.NoError(t, err)
	require.Len(t, holds, 2)
	assert.Equal(t, "Case Zqxwv-17 reasonmarker", holdByID(holds, h.ID).Reason)

	require.NoError(t, s.ReleaseLegalHold(ctx, "op2", h.ID))
	assert.ErrorIs(t, s.ReleaseLegalHold(ctx, "op2", h.ID), ErrNotFound)
	holds, err = s.LegalHolds(ctx, false)
	require.NoError(t, err)
	assert.Len(t, holds, 1)
	holds, err = s.LegalHolds(ctx, true)
	require.NoError(t, err)
	require.Len(t, holds, 2)
	released := holdByID(holds, h.ID)
	assert.False(t, released.Active())
	assert.Equal(t, "op2", released.ReleasedBy)

	log, err := s.AuditLog(ctx, 10)
	require.NoError(t, err)
	var actions []string
	for _, e := range log {
		actions = append(actions, e.Action)
	}
	assert.Equal(t, []string{AuditHoldRelease, AuditHoldSet, AuditHoldSet}, actions)

	// The reason is sealed: not in the database file.
	files := readDataFiles(t, s.Dir())
	for name, b := range files {
		assert.NotContains(t, string(b), "reasonmarker", name)
	}
}

func holdByID(hs []LegalHold, id string) LegalHold {
	for _, h := range hs {
		if h.ID == id {
			return h
		}
	}
	return LegalHold{}
}

// activityAt writes one activity event for u at age before now, with an IP.
func activityAt(t *testing.T, s *Store, u User, age time.Duration, action string) {
	t.Helper()
	require.NoError(t, s.writeActivity(context.Background(), []ActivityEvent{{UserID: u.ID, Action: action,
		At: s.Now().Add(-age), IP: netip.MustParseAddr("203.0.113.9")}}))
}

func activityByAction(t *testing.T, s *Store, u User) map[string]ActivityEntry {
	t.Helper()
	entries, err := s.Activity(context.Background(), u.ID, 0)
	require.NoError(t, err)
	out := map[string]ActivityEntry{}
	for _, e := range entries {
		out[e.Action] = e
	}
	return out
}

// TestPurgeActivityLog: rows past their period are gone, addresses are
// truncated (full address dropped) after 30 days and dropped after 90, and
// the rows of a person under a legal hold are kept whole.
func TestPurgeActivityLog(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	s := openTestStore(t, t.TempDir(), newMasterKey(t), clock.Now)
	free := createUser(t, s, newUser("free"))
	held := createUser(t, s, newUser("held"))
	for _, u := range []User{free, held} {
		activityAt(t, s, u, 10*day, "fresh")
		activityAt(t, s, u, 31*day, "month")
		activityAt(t, s, u, 91*day, "quarter")
		activityAt(t, s, u, 366*day, "old")
	}
	_, err := s.SetLegalHold(ctx, "op", NewLegalHold{UserID: held.ID, Reason: "investigation"})
	require.NoError(t, err)

	results, err := s.Purge(ctx, PurgeOptions{})
	require.NoError(t, err)
	rows := map[string]int64{}
	for _, r := range results {
		require.NoError(t, r.Err)
		rows[r.Category] = r.Rows
	}
	assert.Equal(t, int64(2), rows[RetActivityIP], "month and quarter lose the full address (old was deleted first)")
	assert.Equal(t, int64(1), rows[RetActivityPrefix])
	assert.Equal(t, int64(1), rows[RetActivity])

	got := activityByAction(t, s, free)
	assert.NotContains(t, got, "old", "past 365 days: deleted")
	assert.Equal(t, "203.0.113.9", got["fresh"].IP)
	assert.Equal(t, "203.0.113.0/24", got["fresh"].IPPrefix)
	assert.Empty(t, got["month"].IP, "past 30 days: full address gone")
	assert.Equal(t, "203.0.113.0/24", got["month"].IPPrefix, "the truncated address stays until 90 days")
	assert.Empty(t, got["quarter"].IP)
	assert.Empty(t, got["quarter"].IPPrefix, "past 90 days: no address at all")

	kept := activityByAction(t, s, held)
	require.Len(t, kept, 4, "held rows are kept")
	for _, e := range kept {
		assert.Equal(t, "203.0.113.9", e.IP, e.Action)
		assert.Equal(t, "203.0.113.0/24", e.IPPrefix, e.Action)
	}

	// A second pass has nothing left to do.
	results, err = s.Purge(ctx, PurgeOptions{})
	require.NoError(t, err)
	for _, r := range results {
		if r.Category == RetActivity || r.Category == RetActivityIP || r.Category == RetActivityPrefix {
			assert.Zero(t, r.Rows, r.Category)
		}
	}

	last, err := s.LastPurges(ctx)
	require.NoError(t, err)
	assert.Contains(t, last, RetActivity)
	runs, err := s.PurgeRuns(ctx, 100)
	require.NoError(t, err)
	assert.NotEmpty(t, runs)
	log, err := s.AuditLog(ctx, 1)
	require.NoError(t, err)
	assert.Equal(t, AuditRetentionPurge, log[0].Action)
}

func TestPurgeSkipsHeldCategory(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	s := openTestStore(t, t.TempDir(), newMasterKey(t), clock.Now)
	u := createUser(t, s, newUser("cat"))
	activityAt(t, s, u, 400*day, "old")
	_, err := s.SetLegalHold(ctx, "op", NewLegalHold{Category: RetActivity, Reason: "litigation"})
	require.NoError(t, err)
	results, err := s.Purge(ctx, PurgeOptions{})
	require.NoError(t, err)
	for _, r := range results {
		switch r.Category {
		case RetActivity, RetActivityIP, RetActivityPrefix:
			assert.True(t, r.Held, "%s is held through the activity log hold", r.Category)
		}
	}
	got := activityByAction(t, s, u)
	require.Contains(t, got, "old")
	assert.NotEmpty(t, got["old"].IP)
	last, err := s.LastPurges(ctx)
	require.NoError(t, err)
	assert.True(t, last[RetActivity].Held)
}

func TestPurgeAccessLogShredsDayKeys(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	s := openTestStore(t, t.TempDir(), newMasterKey(t), clock.Now)
	ip := netip.MustParseAddr("2001:db8::7")
	var entries []AccessEntry
	for _, age := range []time.Duration{0, 13 * day, 15 * day, 20 * day} {
		entries = append(entries, AccessEntry{At: clock.Now().Add(-age), Method: "GET", Route: "GET /trainings", Status: 200,
			Duration: 3 * time.Millisecond, Browser: "Firefox", Referrer: "example.org", IP: ip})
	}
	require.NoError(t, s.WriteAccessLog(ctx, entries))
	log, err := s.AccessLog(ctx, 10)
	require.NoError(t, err)
	require.Len(t, log, 4)
	for _, e := range log {
		assert.Equal(t, ip, e.IP)
	}
	require.Equal(t, 4, count(t, s.kdb, "data_keys", "subject LIKE 'accesslog:%'"))

	results, err := s.Purge(ctx, PurgeOptions{})
	require.NoError(t, err)
	for _, r := range results {
		if r.Category == RetAccessLog {
			assert.Equal(t, int64(2), r.Rows)
			assert.Equal(t, 2, r.Keys)
		}
	}
	log, err = s.AccessLog(ctx, 10)
	require.NoError(t, err)
	require.Len(t, log, 2)
	for _, e := range log {
		assert.Equal(t, ip, e.IP, "recent days stay readable")
		assert.Equal(t, "GET /trainings", e.Route)
	}
	assert.Equal(t, 2, count(t, s.kdb, "data_keys", "subject LIKE 'accesslog:%'"), "the old days' keys are destroyed")
}

func TestPurgeOutboxBodies(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	s := openTestStore(t, t.TempDir(), newMasterKey(t), clock.Now)
	sent := enqueue(t, s, newMail("old@example.test", "verify"))
	queued := enqueue(t, s, newMail("waiting@example.test", "verify"))
	_, err := s.DueMail(ctx, 1)
	require.NoError(t, err)
	require.NoError(t, s.MarkMailSent(ctx, sent))
	clock.Advance(31 * day)
	// A person's own mail keeps its contents for the retention period (mail
	// to someone without an account is forgotten as soon as it is sent).
	owner := createUser(t, s, newUser("owner"))
	mine := newMail("new@example.test", "verify")
	mine.UserID = owner.ID
	recent := enqueue(t, s, mine)
	_, err = s.DueMail(ctx, 10)
	require.NoError(t, err)
	require.NoError(t, s.MarkMailSent(ctx, recent))

	_, err = s.Purge(ctx, PurgeOptions{})
	require.NoError(t, err)
	m, err := s.OutboxMail(ctx, sent)
	require.NoError(t, err)
	assert.Empty(t, m.To, "contents gone")
	assert.Empty(t, m.Text)
	assert.Equal(t, MailSent, m.Status, "the delivery record stays")
	assert.Equal(t, "verify", m.Kind)
	m, err = s.OutboxMail(ctx, queued)
	require.NoError(t, err)
	assert.Equal(t, "waiting@example.test", m.To, "queued mail is never purged")
	m, err = s.OutboxMail(ctx, recent)
	require.NoError(t, err)
	assert.Equal(t, "new@example.test", m.To)
}

func TestPurgeSupersededConsents(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	s := openTestStore(t, t.TempDir(), newMasterKey(t), clock.Now)
	nu := newUser("consents")
	nu.AcceptedPolicy, nu.NotifyNew, nu.Feedback = "2023-10-09", true, true
	u := createUser(t, s, nu)
	clock.Advance(10 * day)
	// Superseded 4 years ago (kept 3): the registration rows go.
	_, err := s.db.Exec(`INSERT INTO user_consents (user_id, purpose, granted, at, how) VALUES (?, 'notify_new', 0, ?, 'profile')`,
		u.ID, ts(clock.Now()))
	require.NoError(t, err)
	_, err = s.db.Exec(`INSERT INTO policy_acceptances (user_id, policy_version, accepted_at, how) VALUES (?, '2023-10-09', ?, 'login')`,
		u.ID, ts(clock.Now()))
	require.NoError(t, err)
	clock.Advance(4 * 365 * day)
	// Superseded just now: kept.
	_, err = s.db.Exec(`INSERT INTO user_consents (user_id, purpose, granted, at, how) VALUES (?, 'feedback', 0, ?, 'profile')`,
		u.ID, ts(clock.Now()))
	require.NoError(t, err)

	require.Equal(t, 4, count(t, s.db, "user_consents"))
	_, err = s.Purge(ctx, PurgeOptions{})
	require.NoError(t, err)
	assert.Equal(t, 3, count(t, s.db, "user_consents"), "only the superseded notify_new row goes")
	assert.Equal(t, 0, count(t, s.db, "user_consents", "purpose = 'notify_new' AND granted = 1"))
	assert.Equal(t, 2, count(t, s.db, "user_consents", "purpose = 'feedback'"), "recently superseded: kept")
	assert.Equal(t, 1, count(t, s.db, "policy_acceptances"), "the current acceptance stays")
	c, err := s.Consents(ctx, u.ID)
	require.NoError(t, err)
	assert.False(t, c.NotifyNew)
	assert.False(t, c.Feedback)
}

func TestPurgeSessionsAndTokens(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	s := openTestStore(t, t.TempDir(), newMasterKey(t), clock.Now)
	ss := s.Sessions()
	require.NoError(t, ss.CommitCtx(ctx, "expired", []byte("{}"), clock.Now().Add(-time.Minute)))
	require.NoError(t, ss.CommitCtx(ctx, "live", []byte("{}"), clock.Now().Add(time.Hour)))
	_, err := s.Purge(ctx, PurgeOptions{})
	require.NoError(t, err)
	assert.Equal(t, 1, count(t, s.db, "sessions"))

	u := createUser(t, s, newUser("tokens"))
	_, err = s.db.Exec(`INSERT INTO account_tokens (token_hash, user_id, purpose, created_at, expires_at) VALUES
		(x'01', ?, 'verify', ?, ?), (x'02', ?, 'reset', ?, ?)`,
		u.ID, ts(clock.Now()), ts(clock.Now().Add(-time.Second)), u.ID, ts(clock.Now()), ts(clock.Now().Add(time.Hour)))
	require.NoError(t, err)
	n, err := s.DeleteExpiredAccountTokens(ctx)
	require.NoError(t, err)
	assert.Equal(t, int64(1), n)
	assert.Equal(t, 1, count(t, s.db, "account_tokens"))
}

func TestPurgeAuditLogByRule(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	s := openTestStore(t, t.TempDir(), newMasterKey(t), clock.Now)
	audit(t, s, "old.one", "x")
	clock.Advance(7 * 365 * day)
	audit(t, s, "new.one", "x")
	_, err := s.Purge(ctx, PurgeOptions{})
	require.NoError(t, err)
	log, err := s.AuditLog(ctx, 10)
	require.NoError(t, err)
	for _, e := range log {
		assert.NotEqual(t, "old.one", e.Action, "older than 6 years: pruned")
	}
	bad, err := s.VerifyAudit(ctx)
	require.NoError(t, err)
	assert.Zero(t, bad)
}

// TestPurgeInterruptedLosesNothing stops a purge after its first batch (as a
// crash or shutdown would): what should stay is all there, the batch that
// committed is gone for good, and the next pass finishes the rest.
func TestPurgeInterruptedLosesNothing(t *testing.T) {
	clock := newTestClock()
	s := openTestStore(t, t.TempDir(), newMasterKey(t), clock.Now)
	ip := netip.MustParseAddr("198.51.100.1")
	var entries []AccessEntry
	for i := range 35 {
		entries = append(entries, AccessEntry{At: clock.Now().Add(-30 * day).Add(time.Duration(i) * time.Second), Method: "GET", Route: "old", IP: ip})
	}
	for i := range 5 {
		entries = append(entries, AccessEntry{At: clock.Now().Add(-time.Duration(i) * time.Hour), Method: "GET", Route: "new", IP: ip})
	}
	require.NoError(t, s.WriteAccessLog(context.Background(), entries))

	ctx, cancel := context.WithCancel(context.Background())
	batches := 0
	_, err := s.Purge(ctx, PurgeOptions{BatchSize: 10, afterBatch: func(category string, rows int64) {
		if category == RetAccessLog {
			batches++
			cancel()
		}
	}})
	require.Error(t, err)
	assert.True(t, errors.Is(err, context.Canceled), "%v", err)
	assert.Equal(t, 1, batches)
	assert.Equal(t, 25, count(t, s.db, "access_log", "route = 'old'"), "exactly one batch was committed")
	assert.Equal(t, 5, count(t, s.db, "access_log", "route = 'new'"), "nothing that should stay was touched")
	last, err := s.LastPurges(context.Background())
	require.NoError(t, err)
	assert.Contains(t, last[RetAccessLog].Error, "canceled")

	_, err = s.Purge(context.Background(), PurgeOptions{BatchSize: 10})
	require.NoError(t, err)
	assert.Equal(t, 0, count(t, s.db, "access_log", "route = 'old'"))
	assert.Equal(t, 5, count(t, s.db, "access_log", "route = 'new'"))
}

// Validation failures name every field or category at fault, in a stable
// order, and a held person's erasure names the hold as the reason.
func TestRetentionAndHoldErrorsNameEveryProblem(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	officer := registered(t, s, "officer")
	err := s.SetRetentionRules(ctx, officer.ID, map[string]int{RetAudit: 1, RetAccessLog: 100000})
	var re RuleErrors
	require.ErrorAs(t, err, &re)
	assert.Len(t, re, 2)
	assert.Regexp(t, `^store: invalid retention rules: access_log: .+; audit_log: .+$`, err.Error())

	_, err = s.SetLegalHold(ctx, officer.ID, NewLegalHold{UserID: "not an id", Category: RetAudit})
	var he HoldErrors
	require.ErrorAs(t, err, &he)
	assert.Contains(t, err.Error(), "reason: give the reason")
	assert.Contains(t, err.Error(), "target: choose either a person or a category")

	assert.Equal(t, "audit_log_unknown", RetentionLabel("audit_log_unknown"), "an unknown category is shown as it is")
	assert.NotEqual(t, RetAudit, RetentionLabel(RetAudit))
}
