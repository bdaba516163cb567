package store

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The cached public reads (catalogue, training, its dates, the policy in
// force) must show every write at once, and the policy must change when the
// next version takes effect without any write.
func TestReadCacheFollowsWrites(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	s := openTestStore(t, t.TempDir(), newMasterKey(t), clock.Now)
	_, err := s.SeedMembers(ctx)
	require.NoError(t, err)
	m, err := s.MemberByName(ctx, "SME Corporation Malaysia")
	require.NoError(t, err)

	titles := func(f CatalogueFilter) []string {
		t.Helper()
		ts, err := s.Trainings(ctx, f)
		require.NoError(t, err)
		var out []string
		for _, tr := range ts {
			out = append(out, tr.Title)
		}
		return out
	}
	assert.Empty(t, titles(CatalogueFilter{}))
	assert.Empty(t, titles(CatalogueFilter{}), "read twice: the second from the cache")

	in := TrainingInput{Title: "Bookkeeping", Summary: "s", Language: "en", Kind: KindLive, PassMark: 50, Published: true}
	tr, err := s.CreateTraining(ctx, m.ID, "", in)
	require.NoError(t, err)
	assert.Equal(t, []string{"Bookkeeping"}, titles(CatalogueFilter{}), "a new training shows at once")
	assert.Equal(t, []string{"Bookkeeping"}, titles(CatalogueFilter{Language: "en"}))

	got, err := s.Training(ctx, tr.ID)
	require.NoError(t, err)
	assert.Equal(t, "Bookkeeping", got.Title)
	in.Title = "Bookkeeping for small firms"
	require.NoError(t, s.UpdateTraining(ctx, tr.ID, in))
	got, err = s.Training(ctx, tr.ID)
	require.NoError(t, err)
	assert.Equal(t, "Bookkeeping for small firms", got.Title, "an edit shows at once")
	assert.Equal(t, []string{"Bookkeeping for small firms"}, titles(CatalogueFilter{}))

	// A caller changing what it got does not change the cache.
	ts, err := s.Trainings(ctx, CatalogueFilter{})
	require.NoError(t, err)
	ts[0].Title = "changed by a caller"
	assert.Equal(t, []string{"Bookkeeping for small firms"}, titles(CatalogueFilter{}))

	sessions, err := s.TrainingSessions(ctx, tr.ID)
	require.NoError(t, err)
	assert.Empty(t, sessions)
	start := clock.Now().Add(48 * time.Hour)
	_, err = s.AddSession(ctx, tr.ID, start, start.Add(2*time.Hour))
	require.NoError(t, err)
	sessions, err = s.TrainingSessions(ctx, tr.ID)
	require.NoError(t, err)
	assert.Len(t, sessions, 1, "a new date shows at once")

	require.NoError(t, s.UpdateMember(ctx, m.ID, MemberInput{Name: m.Name, Country: m.Country, Kind: m.Kind, Active: false}))
	assert.Empty(t, titles(CatalogueFilter{}), "a deactivated Member's trainings leave the catalogue at once")
	got, err = s.Training(ctx, tr.ID)
	require.NoError(t, err)
	assert.False(t, got.MemberActive)

	// Log writes (sessions here) leave the cache as it is, and do not
	// make it wrong: they touch nothing it holds.
	gen := s.cache.generation()
	require.NoError(t, s.Sessions().CommitCtx(ctx, "cache-test-token", []byte("x"), clock.Now().Add(time.Hour)))
	assert.Equal(t, gen, s.cache.generation())

	// The policy in force: the seeded one, then a published version once
	// its day comes, with no write in between.
	before, err := s.CurrentPolicy(ctx)
	require.NoError(t, err)
	dpo := createUser(t, s, operatorUser("dpo"))
	next := clock.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, 2)
	d, err := s.SavePolicyDraft(ctx, dpo.ID, PolicyDraft{Version: "2025-04", Summary: "New.", BodyMD: "# Privacy policy\n\nNew.", EffectiveAt: next})
	require.NoError(t, err)
	_, err = s.PublishPolicy(ctx, dpo.ID, d.ID)
	require.NoError(t, err)
	p, err := s.CurrentPolicy(ctx)
	require.NoError(t, err)
	assert.Equal(t, before.Version, p.Version, "not in effect yet")
	p, err = s.CurrentPolicy(ctx)
	require.NoError(t, err)
	assert.Equal(t, before.Version, p.Version)
	clock.Advance(72 * time.Hour)
	p, err = s.CurrentPolicy(ctx)
	require.NoError(t, err)
	assert.Equal(t, "2025-04", p.Version, "in effect from its day, without a write")
}

// A result read before a commit is not kept after it.
func TestReadCacheDropsResultsOfAnOlderGeneration(t *testing.T) {
	var c readCache
	gen := c.generation()
	c.invalidate()
	c.put(gen, "k", cacheEntry{v: 1})
	_, ok := c.get("k", time.Time{})
	assert.False(t, ok)
	c.put(c.generation(), "k", cacheEntry{v: 2})
	v, ok := c.get("k", time.Time{})
	assert.True(t, ok)
	assert.Equal(t, 2, v)
	c.invalidate()
	_, ok = c.get("k", time.Time{})
	assert.False(t, ok)
}
