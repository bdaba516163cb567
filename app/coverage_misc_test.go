package app

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"kelas/store"
)

// TestStatsKeptWhenTheirWriteFails: counters that cannot be written stay
// in memory and are added to the next flush, so a failed write loses no
// view and counts none twice.
func TestStatsKeptWhenTheirWriteFails(t *testing.T) {
	ts := newStatsServer(t)
	long := testUA + strings.Repeat(" padding", 80) // cut to 512 bytes before parsing
	require.Equal(t, http.StatusOK, ts.view(t, "/", testIP, long, "Referer", "https://bad_host.example/x").StatusCode)
	require.Equal(t, http.StatusOK, ts.view(t, "/cookies", "198.51.100.23", testUA).StatusCode)

	lift := fault(t, ts, "INSERT", "stats_hourly")
	require.ErrorContains(t, ts.app.FlushStats(t.Context()), injected)
	lift()
	// More views meanwhile: one on a counter already waiting, one new.
	require.Equal(t, http.StatusOK, ts.view(t, "/", testIP, long).StatusCode)
	ts.clock.Add(time.Hour)
	require.Equal(t, http.StatusOK, ts.view(t, "/stats", "198.51.100.24", testUA).StatusCode)
	ts.flushStats(t)

	day := ts.today(t)
	assert.Equal(t, int64(4), day.Views, "every view counted once")
	assert.Equal(t, int64(3), day.Visitors)
	assert.Equal(t, int64(2), ts.statValues(t, store.StatPath)["/"].Views)
	_, named := ts.statValues(t, store.StatReferrer)["bad_host.example"]
	assert.False(t, named, "a referrer that is not a host name is not kept")

	// The public page names what was not given.
	res, _ := ts.get(t, "/stats")
	assert.Equal(t, http.StatusOK, res.StatusCode)
}

// TestPolicyFormsRefuseWhatCouldNotBePublished: a draft saved with a bad
// label, an effective date not after the version in force, and a
// comparison of versions not on the list are refused on the form; a
// person who accepted the version in force is sent on.
func TestPolicyFormsRefuseWhatCouldNotBePublished(t *testing.T) {
	ts := newTestServer(t)
	dpo, _ := dpoClient(t, ts)
	today := ts.clock.Now().UTC()
	publishPolicy(t, dpo, policyValues("2026-03", today.AddDate(0, 0, 10).Format(dateLayout), true, "# Privacy\n\nVersion of March."))

	res, body := dpo.postForm(t, "/console/policies", policyValues("2026-04", today.AddDate(0, 0, 5).Format(dateLayout), false, "# Privacy\n\nSooner."))
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	assert.NotEmpty(t, doc(t, body).Find(`[data-testid="error-effective_on"]`).Text())

	res, _ = dpo.postForm(t, "/console/policies", policyValues("2026-04", today.AddDate(0, 0, 20).Format(dateLayout), false, "# Privacy\n\nLater."))
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	draft := res.Header.Get("Location")
	res, body = dpo.postForm(t, draft, policyValues("no spaces allowed", today.AddDate(0, 0, 20).Format(dateLayout), false, "# Privacy\n\nLater."))
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	assert.NotEmpty(t, doc(t, body).Find(`[data-testid="error-version"]`).Text())
	ds, err := ts.store.PolicyDrafts(t.Context())
	require.NoError(t, err)
	require.Len(t, ds, 1)
	assert.Equal(t, "2026-04", ds[0].Version, "the draft is as it was")

	res, body = ts.get(t, "/privacy/versions?from=2026-03&to=nothing")
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	assert.NotEmpty(t, doc(t, body).Find(`[data-testid="error-to"]`).Text())

	// Someone who accepted what is in force has nothing to accept.
	versions, err := ts.store.PolicyVersions(t.Context())
	require.NoError(t, err)
	u := account(t, ts, store.NewUser{Email: "current@example.org", AcceptedPolicy: versions[0].Version, AdultConfirmed: true})
	c := ts.newClient(t)
	require.Equal(t, http.StatusSeeOther, c.signIn(t, u.Email, fixturePassword).StatusCode)
	res, _ = c.get(t, "/privacy/accept?next=/dashboard")
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Equal(t, "/dashboard", res.Header.Get("Location"))
	res, _ = c.postForm(t, "/privacy/accept", url.Values{"next": {"/dashboard"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Equal(t, "/dashboard", res.Header.Get("Location"))
}

// TestGrantFormRefusesBadInput: a made-up Member, an end that is not a
// date, and a training of another Member are refused on the form and no
// grant is made.
func TestGrantFormRefusesBadInput(t *testing.T) {
	fx := newGrantFixture(t)
	ts, op := fx.ts, fx.operator
	other := trainingValues()
	other.Set("member_id", member(t, ts, "SMESCO Indonesia"))
	otherTraining := createTraining(t, op, other)
	now := ts.clock.Now()
	good := url.Values{"member_id": {fx.memberID}, "trainings": {fx.training}, "purpose": {"issue attendance certificates"},
		"valid_from": {now.Format(datetimeLocal)}, "valid_until": {now.AddDate(0, 0, 7).Format(datetimeLocal)}}
	for name, tc := range map[string]struct {
		key, value, field string
	}{
		"made-up Member":     {"member_id", store.NewID(), "member_id"},
		"malformed Member":   {"member_id", "x", "member_id"},
		"end not a date":     {"valid_until", "next week", "valid_until"},
		"another's training": {"trainings", otherTraining, "trainings"},
		"training not an id": {"trainings", "x", "trainings"},
	} {
		v := url.Values{}
		for k, vs := range good {
			v[k] = append([]string(nil), vs...)
		}
		v.Set(tc.key, tc.value)
		v.Set("code", op.code(t))
		res, body := op.postForm(t, "/console/grants", v)
		require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode, name)
		assert.NotEmpty(t, doc(t, body).Find(`[data-testid="error-`+tc.field+`"]`).Text(), name)
	}
	gs, err := ts.store.Grants(t.Context(), "")
	require.NoError(t, err)
	assert.Empty(t, gs)
}

// TestReportsWithSmallCellsShown: with the minimum cell size set to one,
// people who gave no country or industry are reported under "not given";
// asking for two Members at once is refused.
func TestReportsWithSmallCellsShown(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.ReportMinCell = 1 })
	op, _ := ts.person(t, "ops@example.org", store.RoleOperator, "")
	learnerAccount(t, ts, "nocountry", "", "", false, false)
	learnerAccount(t, ts, "withcountry", "TH", "C", false, false)
	res, body := op.get(t, "/console/reports")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, body, "(not given)")
	m := member(t, ts, "SMESCO Indonesia")
	res, _ = op.get(t, "/console/reports?member="+m+"&member="+m)
	assert.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
}
