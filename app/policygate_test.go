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

// seededPolicy is the policy version in force on a fresh install; test
// accounts made in the store have accepted it, as registration records.
const seededPolicy = "2023-10-09"

// TestMaterialPolicyChangeIsAGate: until a person answers a material new
// version, the pages that process their data lead to the acceptance page;
// the rights portal, the notice and logging out stay open; a form sent
// meanwhile is not acted on.
func TestMaterialPolicyChangeIsAGate(t *testing.T) {
	ts := newTestServer(t)
	c, u := ts.person(t, "ana@example.org", store.RoleLearner, "")
	m, err := ts.store.MemberByName(t.Context(), "SME Corporation Malaysia")
	require.NoError(t, err)
	tr, err := ts.store.CreateTraining(t.Context(), m.ID, "", store.TrainingInput{Title: "Gate", Summary: "s", Language: "en",
		Kind: store.KindSelfStudy, PassMark: 50, Published: true})
	require.NoError(t, err)
	for _, path := range []string{"/dashboard", "/trainings/" + tr.ID, "/profile"} {
		res, _ := c.get(t, path)
		assert.Equal(t, http.StatusOK, res.StatusCode, "%s before the change", path)
	}

	d, err := ts.store.SavePolicyDraft(t.Context(), "x", store.PolicyDraft{Version: "2026-03", Summary: "Members now receive reports.",
		BodyMD: "# Policy\n\nNew text.", Material: true, EffectiveAt: ts.clock.Now().Add(time.Hour)})
	require.NoError(t, err)
	_, err = ts.store.PublishPolicy(t.Context(), "x", d.ID)
	require.NoError(t, err)
	ts.clock.Add(2 * time.Hour)

	for _, path := range []string{"/dashboard", "/trainings/" + tr.ID, "/profile"} {
		res, _ := c.get(t, path)
		require.Equal(t, http.StatusSeeOther, res.StatusCode, path)
		assert.Equal(t, "/privacy/accept?next="+url.QueryEscape(path), res.Header.Get("Location"), path)
	}
	for _, path := range []string{"/rights", "/privacy", "/privacy/accept?next=%2Fdashboard", "/privacy/versions"} {
		res, _ := c.get(t, path)
		assert.Equal(t, http.StatusOK, res.StatusCode, "%s stays open", path)
	}
	res, _ := c.postForm(t, "/trainings/"+tr.ID+"/enrol", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Equal(t, "/privacy/accept?next=%2F", res.Header.Get("Location"))
	enrolled, err := ts.store.Enrolments(t.Context(), u.ID)
	require.NoError(t, err)
	assert.Empty(t, enrolled, "the form was not acted on")

	res, _ = c.postForm(t, "/privacy/accept", url.Values{"version": {"2026-03"}, "next": {"/dashboard"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	res, _ = c.get(t, "/dashboard")
	assert.Equal(t, http.StatusOK, res.StatusCode, "open again once accepted")

	// Logging out stays possible for someone who has not answered.
	c2, _ := ts.person(t, "budi@example.org", store.RoleLearner, "")
	res, _ = c2.get(t, "/dashboard")
	require.Equal(t, http.StatusSeeOther, res.StatusCode, "accepted only the older version")
	res, _ = c2.postForm(t, "/logout", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	res, _ = c2.get(t, "/dashboard")
	assert.Contains(t, res.Header.Get("Location"), "/login", "logged out")
}
