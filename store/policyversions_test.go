package store

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestValidPolicyVersion(t *testing.T) {
	for v, want := range map[string]bool{"2023-10-09": true, "v2.1": true, "2026_03": true, "": false, "-1": false,
		"a/b": false, "a b": false, "x%2e": false, "é": false, "1234567890123456789012345678901234567890": true,
		"12345678901234567890123456789012345678901": false} {
		assert.Equal(t, want, ValidPolicyVersion(v), v)
	}
}

func TestPublishPolicyAndAcceptance(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	s := openTestStore(t, t.TempDir(), newMasterKey(t), clock.Now)
	dpo := createUser(t, s, operatorUser("dpo"))
	reg := newUser("registered")
	reg.AcceptedPolicy = "2023-10-09"
	registered := createUser(t, s, reg)
	cli := createUser(t, s, newUser("noacceptance"))

	pa, err := s.PolicyToAccept(ctx, registered.ID)
	require.NoError(t, err)
	assert.False(t, pa.Needed, "accepted at registration")
	assert.Equal(t, "2023-10-09", pa.Current.Version)
	pa, err = s.PolicyToAccept(ctx, cli.ID)
	require.NoError(t, err)
	assert.True(t, pa.Needed, "an account that never accepted must accept the material version in force")

	today := clock.Now().UTC().Truncate(24 * time.Hour)
	d, err := s.SavePolicyDraft(ctx, dpo.ID, PolicyDraft{Version: "2025-03", Summary: "Minor wording.", BodyMD: "# Privacy policy\n\nShorter.",
		Material: false, EffectiveAt: today})
	require.NoError(t, err)
	require.True(t, ValidID(d.ID))
	d.BodyMD = "# Privacy policy\n\nShorter still."
	d, err = s.SavePolicyDraft(ctx, dpo.ID, d)
	require.NoError(t, err)
	drafts, err := s.PolicyDrafts(ctx)
	require.NoError(t, err)
	require.Len(t, drafts, 1)
	assert.Equal(t, "# Privacy policy\n\nShorter still.", drafts[0].BodyMD)

	v, err := s.PublishPolicy(ctx, dpo.ID, d.ID)
	require.NoError(t, err)
	assert.Equal(t, "2025-03", v.Version)
	assert.False(t, v.Material)
	_, err = s.PolicyDraft(ctx, d.ID)
	assert.ErrorIs(t, err, ErrNotFound, "publishing consumes the draft")
	pa, err = s.PolicyToAccept(ctx, registered.ID)
	require.NoError(t, err)
	assert.False(t, pa.Needed, "a minor version does not ask again")
	assert.Equal(t, "2025-03", pa.Current.Version)
	assert.Equal(t, "2023-10-09", pa.LastAccepted)

	// Unchanged text, an empty text and a used label are refused.
	same, err := s.SavePolicyDraft(ctx, dpo.ID, PolicyDraft{Version: "2025-04", Summary: "x", BodyMD: "\n# Privacy policy\r\n\r\nShorter still.  \n",
		Material: true, EffectiveAt: today})
	require.NoError(t, err)
	_, err = s.PublishPolicy(ctx, dpo.ID, same.ID)
	assert.ErrorIs(t, err, ErrPolicyUnchanged)
	empty, err := s.SavePolicyDraft(ctx, dpo.ID, PolicyDraft{Version: "2025-05", Summary: "x", BodyMD: "  ", Material: true, EffectiveAt: today})
	require.NoError(t, err)
	_, err = s.PublishPolicy(ctx, dpo.ID, empty.ID)
	assert.ErrorIs(t, err, ErrPolicyUnchanged)
	dup, err := s.SavePolicyDraft(ctx, dpo.ID, PolicyDraft{Version: "2025-03", Summary: "x", BodyMD: "new", Material: true, EffectiveAt: today})
	require.NoError(t, err)
	_, err = s.PublishPolicy(ctx, dpo.ID, dup.ID)
	assert.ErrorIs(t, err, ErrConflict)

	// A material version in force asks everyone who accepted only older ones.
	mat, err := s.SavePolicyDraft(ctx, dpo.ID, PolicyDraft{Version: "2025-06", Summary: "New purposes.", BodyMD: "# Privacy policy\n\nNew purposes.",
		Material: true, EffectiveAt: today.Add(24 * time.Hour)})
	require.NoError(t, err)
	_, err = s.PublishPolicy(ctx, dpo.ID, mat.ID)
	require.NoError(t, err)
	pa, err = s.PolicyToAccept(ctx, registered.ID)
	require.NoError(t, err)
	assert.False(t, pa.Needed, "not in force until its effective date")
	latest, prev, ok, err := s.PolicyNotice(ctx)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, "2025-06", latest.Version)
	assert.Equal(t, "2025-03", prev)

	clock.Advance(24 * time.Hour)
	pa, err = s.PolicyToAccept(ctx, registered.ID)
	require.NoError(t, err)
	assert.True(t, pa.Needed)
	assert.Equal(t, "2025-06", pa.Current.Version)
	require.NoError(t, s.AcceptPolicy(ctx, registered.ID, pa.Current.Version, AcceptedAtLogin))
	pa, err = s.PolicyToAccept(ctx, registered.ID)
	require.NoError(t, err)
	assert.False(t, pa.Needed)
	acc, err := s.PolicyAcceptances(ctx, registered.ID)
	require.NoError(t, err)
	require.Len(t, acc, 2)
	assert.Equal(t, Acceptance{Version: "2025-06", AcceptedAt: clock.Now().UTC(), How: AcceptedAtLogin}, acc[1])

	vs, err := s.PolicyVersions(ctx)
	require.NoError(t, err)
	var labels []string
	for _, v := range vs {
		labels = append(labels, v.Version)
	}
	assert.Equal(t, []string{"2025-06", "2025-03", "2023-10-09"}, labels)

	log, err := s.AuditLog(ctx, 20)
	require.NoError(t, err)
	var actions []string
	for _, e := range log {
		actions = append(actions, e.Action)
	}
	assert.Contains(t, actions, AuditPolicyPublish)
	assert.Contains(t, actions, AuditPolicyDraft)
}

func TestPolicyTranslations(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	s := openTestStore(t, t.TempDir(), newMasterKey(t), clock.Now)
	dpo := createUser(t, s, operatorUser("dpo"))

	_, err := s.PolicyTranslation(ctx, "2023-10-09", "th")
	assert.ErrorIs(t, err, ErrNotFound, "no translation yet")
	_, err = s.SavePolicyTranslation(ctx, dpo.ID, PolicyTranslation{Version: "1999-01", Language: "th", Summary: "s", BodyMD: "b"})
	assert.ErrorIs(t, err, ErrNotFound, "only a published version can be translated")

	tr, err := s.SavePolicyTranslation(ctx, dpo.ID, PolicyTranslation{Version: "2023-10-09", Language: "th", Summary: "สรุป", BodyMD: "# นโยบาย"})
	require.NoError(t, err)
	assert.Equal(t, "# นโยบาย", tr.BodyMD)
	assert.Equal(t, clock.Now().UTC(), tr.UpdatedAt)
	_, err = s.SavePolicyTranslation(ctx, dpo.ID, PolicyTranslation{Version: "2023-10-09", Language: "id", Summary: "Ringkasan", BodyMD: "# Kebijakan"})
	require.NoError(t, err)
	tr, err = s.SavePolicyTranslation(ctx, dpo.ID, PolicyTranslation{Version: "2023-10-09", Language: "th", Summary: "สรุป 2", BodyMD: "# นโยบาย 2"})
	require.NoError(t, err)
	assert.Equal(t, "# นโยบาย 2", tr.BodyMD, "saving again replaces the translation")

	all, err := s.PolicyTranslations(ctx, "2023-10-09")
	require.NoError(t, err)
	require.Len(t, all, 2)
	assert.Equal(t, []string{"id", "th"}, []string{all[0].Language, all[1].Language})
	none, err := s.PolicyTranslations(ctx, "1999-01")
	require.NoError(t, err)
	assert.Empty(t, none)

	log, err := s.AuditLog(ctx, 20)
	require.NoError(t, err)
	var saved []map[string]any
	for _, e := range log {
		if e.Action == AuditPolicyTranslate {
			assert.Equal(t, dpo.ID, e.ActorID)
			assert.Equal(t, "2023-10-09", e.TargetID)
			saved = append(saved, e.Details)
		}
	}
	require.Len(t, saved, 3, "each save is audited")
}
