package app

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"kelas/store"
)

func legalValues(person string, on time.Time) url.Values {
	return url.Values{"person": {person}, "requester": {"Kuala Lumpur High Court"}, "basis": {store.LegalCourtOrder},
		"disclosed": {"Name, email address and training history."}, "reference": {"WA-22NCvC-123"},
		"disclosed_on": {on.Format(time.DateOnly)}}
}

// legalRows lists the legal disclosures in the person's own disclosure log.
func legalRows(t *testing.T, c *testServer) []string {
	t.Helper()
	res, body := c.get(t, "/rights/access")
	require.Equal(t, http.StatusOK, res.StatusCode)
	var rows []string
	for _, s := range doc(t, body).Find(`[data-testid="access-disclosures"] [data-testid="legal-disclosure"]`).EachIter() {
		rows = append(rows, s.Text())
	}
	return rows
}

// TestLegalDisclosureShownToThePersonUnlessBarred: the privacy officer
// records two disclosures on legal request; the person sees the one
// without a bar at once, and the barred one only after the bar ends.
// Bad input is refused at the field.
func TestLegalDisclosureShownToThePersonUnlessBarred(t *testing.T) {
	ts := newTestServer(t)
	dpo, _ := dpoClient(t, ts)
	learner, lu := ts.person(t, "ayu@example.org", store.RoleLearner, "")
	today := ts.clock.Now().UTC().Truncate(24 * time.Hour)

	res, body := dpo.get(t, "/console/disclosures/legal/new")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, 1, doc(t, body).Find(`[data-testid="legal-form"] select[name="basis"] option[value="subpoena"]`).Length())

	// Bad input: 422 at the field, nothing recorded.
	for name, tc := range map[string]struct {
		field  string
		change func(url.Values)
	}{
		"unknown person":  {"person", func(v url.Values) { v.Set("person", "nobody@example.org") }},
		"unknown id":      {"person", func(v url.Values) { v.Set("person", store.NewID()) }},
		"no requester":    {"requester", func(v url.Values) { v.Set("requester", " ") }},
		"bad basis":       {"basis", func(v url.Values) { v.Set("basis", "whim") }},
		"nothing said":    {"disclosed", func(v url.Values) { v.Del("disclosed") }},
		"bad date":        {"disclosed_on", func(v url.Values) { v.Set("disclosed_on", "yesterday") }},
		"future date":     {"disclosed_on", func(v url.Values) { v.Set("disclosed_on", today.AddDate(0, 0, 2).Format(time.DateOnly)) }},
		"bar in the past": {"bar_until", func(v url.Values) { v.Set("bar_until", today.AddDate(0, 0, -1).Format(time.DateOnly)) }},
		"bar before date": {"bar_until", func(v url.Values) {
			v.Set("disclosed_on", today.AddDate(0, 0, -10).Format(time.DateOnly))
			v.Set("bar_until", today.Format(time.DateOnly))
		}},
		"bar not a date":   {"bar_until", func(v url.Values) { v.Set("bar_until", "soon") }},
		"reference longer": {"reference", func(v url.Values) { v.Set("reference", string(make([]byte, 201))) }},
	} {
		t.Run(name, func(t *testing.T) {
			v := legalValues(lu.Email, today)
			tc.change(v)
			res, body := dpo.postForm(t, "/console/disclosures/legal", v)
			require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
			assert.Equal(t, 1, doc(t, body).Find(`[data-testid="error-`+tc.field+`"]`).Length(), body)
		})
	}
	reg, err := ts.store.LegalDisclosures(t.Context(), 10)
	require.NoError(t, err)
	require.Empty(t, reg)

	// One without a bar, by email address; one with a 30-day bar, by id.
	res, _ = dpo.postForm(t, "/console/disclosures/legal", legalValues(lu.Email, today.AddDate(0, 0, -1)))
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Equal(t, "/console/disclosures/legal", res.Header.Get("Location"))
	barred := legalValues(lu.ID, today)
	barred.Set("requester", "Securities Commission")
	barred.Set("basis", store.LegalAuthorityRequest)
	barred.Set("reference", "SC-7")
	barred.Set("bar_until", today.AddDate(0, 0, 30).Format(time.DateOnly))
	res, _ = dpo.postForm(t, "/console/disclosures/legal", barred)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)

	res, body = dpo.get(t, "/console/disclosures/legal")
	require.Equal(t, http.StatusOK, res.StatusCode)
	d := doc(t, body)
	require.Equal(t, 2, d.Find(`[data-testid="legal-disclosure"]`).Length())
	assert.Contains(t, d.Find(`[data-testid="legal-disclosures"]`).Text(), lu.Email)
	assert.Contains(t, d.Find(`[data-testid="legal-told"]`).First().Text(), "Not yet: legal bar until")

	log, err := ts.store.AuditLog(t.Context(), 50)
	require.NoError(t, err)
	n := 0
	for _, e := range log {
		if e.Action == "disclosure.legal.record" && e.TargetID == lu.ID {
			n++
		}
	}
	assert.Equal(t, 2, n, "each entry is audited")

	// The person sees the unbarred entry only.
	rows := legalRows(t, learner)
	require.Len(t, rows, 1)
	assert.Contains(t, rows[0], "Kuala Lumpur High Court")
	assert.Contains(t, rows[0], "Court order, reference WA-22NCvC-123")
	assert.Contains(t, rows[0], "Disclosed on legal request: Name, email address and training history.")

	// Still barred the day before the bar ends; shown from that day on.
	ts.clock.Add(29 * 24 * time.Hour)
	learner = ts.newClient(t) // a fresh session: the old one may have expired
	require.Equal(t, http.StatusSeeOther, learner.signIn(t, lu.Email, "a long test password").StatusCode)
	assert.Len(t, legalRows(t, learner), 1, "barred until the bar ends")
	ts.clock.Add(2 * 24 * time.Hour)
	rows = legalRows(t, learner)
	require.Len(t, rows, 2)
	assert.Contains(t, rows[0], "Securities Commission")
	assert.Contains(t, rows[0], "Request of an authority, reference SC-7")
}
