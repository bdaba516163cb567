package store

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPolicyDecline: a decline of the version asking for an answer is
// recorded with its time and audited; the person must still accept, and
// is told of their decline until they do. The decline is exported with
// their data and goes, as proof, once a later answer replaced it for the
// consent records' retention.
func TestPolicyDecline(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	s := openTestStore(t, t.TempDir(), newMasterKey(t), clock.Now)
	dpo := createUser(t, s, operatorUser("dpo"))
	nu := newUser("decliner")
	nu.AcceptedPolicy = "2023-10-09"
	u := createUser(t, s, nu)

	today := clock.Now().UTC().Truncate(24 * time.Hour)
	d, err := s.SavePolicyDraft(ctx, dpo.ID, PolicyDraft{Version: "2026-03", Summary: "New purposes.", BodyMD: "# Policy\n\nNew.",
		Material: true, EffectiveAt: today})
	require.NoError(t, err)
	_, err = s.PublishPolicy(ctx, dpo.ID, d.ID)
	require.NoError(t, err)
	pa, err := s.PolicyToAccept(ctx, u.ID)
	require.NoError(t, err)
	require.True(t, pa.Needed)
	assert.Empty(t, pa.DeclinedVersion)
	assert.True(t, pa.DeclinedAt.IsZero())

	clock.Advance(time.Hour)
	declinedAt := clock.Now().UTC()
	require.NoError(t, s.DeclinePolicy(ctx, u.ID, "2026-03"))
	pa, err = s.PolicyToAccept(ctx, u.ID)
	require.NoError(t, err)
	assert.True(t, pa.Needed, "declining is no acceptance")
	assert.Equal(t, "2026-03", pa.DeclinedVersion)
	assert.Equal(t, declinedAt, pa.DeclinedAt)
	log, err := s.AuditLog(ctx, 5)
	require.NoError(t, err)
	require.NotEmpty(t, log)
	assert.Equal(t, AuditPolicyDecline, log[0].Action)
	assert.Equal(t, u.ID, log[0].ActorID)
	assert.Equal(t, "2026-03", log[0].TargetID)

	pd, err := s.PersonalData(ctx, u.ID)
	require.NoError(t, err)
	var found bool
	for _, ds := range pd.Categories[CatConsents] {
		if ds.Name == "policy_declines" {
			found = len(ds.Rows) == 1
		}
	}
	assert.True(t, found, "the decline is in the person's export")

	clock.Advance(24 * time.Hour)
	require.NoError(t, s.AcceptPolicy(ctx, u.ID, "2026-03", AcceptedAtLogin))
	pa, err = s.PolicyToAccept(ctx, u.ID)
	require.NoError(t, err)
	assert.False(t, pa.Needed)
	assert.Empty(t, pa.DeclinedVersion, "nothing to tell once accepted")
	require.Equal(t, 1, count(t, s.db, "policy_declines"), "the decline stays as history")

	_, err = s.Purge(ctx, PurgeOptions{})
	require.NoError(t, err)
	assert.Equal(t, 1, count(t, s.db, "policy_declines"), "replaced just now: kept")
	clock.Advance(4 * 365 * day)
	_, err = s.Purge(ctx, PurgeOptions{})
	require.NoError(t, err)
	assert.Equal(t, 0, count(t, s.db, "policy_declines"), "replaced longer ago than the consent records are kept")
}
