package store

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func testRevision() string { return strings.Repeat("ab", 32) }

func TestConsentRecordsAppendAndLatest(t *testing.T) {
	clock := newTestClock()
	s := openTestStore(t, t.TempDir(), newMasterKey(t), clock.Now)
	ctx := t.Context()
	u, err := s.CreateUser(ctx, newUser("consent"))
	require.NoError(t, err)

	cid := NewID()
	_, err = s.LatestConsent(ctx, cid)
	require.ErrorIs(t, err, ErrNotFound)

	first, err := s.RecordConsent(ctx, ConsentRecord{ConsentID: cid, How: ConsentBanner, PolicyVersion: "2023-10-09",
		Revision: testRevision(), Statistics: true})
	require.NoError(t, err)
	assert.True(t, ValidID(first.ID))
	assert.Equal(t, clock.Now(), first.CreatedAt)

	clock.Advance(time.Minute)
	second, err := s.RecordConsent(ctx, ConsentRecord{ConsentID: cid, UserID: u.ID, How: ConsentSettings,
		PolicyVersion: "2023-10-09", Revision: testRevision(), Preferences: true})
	require.NoError(t, err)

	got, err := s.LatestConsent(ctx, cid)
	require.NoError(t, err)
	assert.Equal(t, second, got, "the newest record is the current choice")

	recs, err := s.ConsentRecords(ctx, u.ID)
	require.NoError(t, err)
	require.Len(t, recs, 1, "only records made while logged in belong to the person")
	assert.Equal(t, second, recs[0])

	t.Run("records cannot be changed", func(t *testing.T) {
		_, err := s.db.ExecContext(ctx, "UPDATE consent_records SET marketing = 1 WHERE id = ?", first.ID)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "append-only")
		_, err = s.db.ExecContext(ctx, "UPDATE consent_records SET user_id = ? WHERE id = ?", u.ID, first.ID)
		require.Error(t, err, "a record cannot be attached to a person afterwards")
	})

	t.Run("invalid records are refused", func(t *testing.T) {
		for name, c := range map[string]ConsentRecord{
			"bad consent id": {ConsentID: "nope", How: ConsentBanner, PolicyVersion: "v", Revision: testRevision()},
			"bad how":        {ConsentID: cid, How: "cookie-wall", PolicyVersion: "v", Revision: testRevision()},
			"bad revision":   {ConsentID: cid, How: ConsentBanner, PolicyVersion: "v", Revision: "short"},
			"gpc allowing":   {ConsentID: cid, How: ConsentGPC, PolicyVersion: "v", Revision: testRevision(), Marketing: true},
		} {
			_, err := s.RecordConsent(ctx, c)
			assert.Error(t, err, name)
		}
	})

	t.Run("erasing the person unlinks but keeps the proof", func(t *testing.T) {
		_, err := s.db.ExecContext(ctx, "DELETE FROM users WHERE id = ?", u.ID)
		require.NoError(t, err)
		got, err := s.LatestConsent(ctx, cid)
		require.NoError(t, err)
		assert.Equal(t, second.ID, got.ID)
		assert.Empty(t, got.UserID)
	})
}

func TestStatisticsExclusion(t *testing.T) {
	s := newTestStore(t)
	ctx := t.Context()
	u, err := s.CreateUser(ctx, newUser("objector"))
	require.NoError(t, err)

	excluded := func() bool {
		t.Helper()
		ok, err := s.ExcludedFromStatistics(ctx, u.ID)
		require.NoError(t, err)
		return ok
	}
	assert.False(t, excluded())
	require.NoError(t, s.SetObjection(ctx, u.ID, ObjectStatistics, true))
	require.NoError(t, s.SetObjection(ctx, u.ID, ObjectStatistics, true), "objecting twice is fine")
	assert.True(t, excluded())
	require.NoError(t, s.SetObjection(ctx, u.ID, ObjectStatistics, false))
	assert.False(t, excluded())
	require.NoError(t, s.SetRestricted(ctx, u.ID, true))
	assert.True(t, excluded(), "restriction freezes statistics too")
	require.NoError(t, s.SetRestricted(ctx, u.ID, false))
	assert.False(t, excluded())
	assert.Error(t, s.SetObjection(ctx, u.ID, "everything", true))
}

func TestConsentRecordAllows(t *testing.T) {
	r := ConsentRecord{Preferences: true, Statistics: false, Marketing: true}
	assert.True(t, r.Allows(CookieNecessary), "necessary cookies need no consent")
	assert.True(t, r.Allows(CookiePreferences))
	assert.False(t, r.Allows(CookieStatistics))
	assert.True(t, r.Allows(CookieMarketing))
	assert.False(t, r.Allows("tracking"), "an unknown category is never allowed")
}
