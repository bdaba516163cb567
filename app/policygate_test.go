package app

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"kelas/i18n"
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

// TestDecliningAMaterialPolicyChange: the acceptance page explains both
// answers; a decline is recorded with its time and audited, and the page
// then says so and still offers to accept. The gate still holds for the
// pages that process the person's data, while the rights portal (with the
// export), the notice and logging out stay open; accepting later opens
// everything again.
func TestDecliningAMaterialPolicyChange(t *testing.T) {
	ts := newTestServer(t)
	c, u := ts.person(t, "ana@example.org", store.RoleLearner, "")
	m, err := ts.store.MemberByName(t.Context(), "SME Corporation Malaysia")
	require.NoError(t, err)
	tr, err := ts.store.CreateTraining(t.Context(), m.ID, "", store.TrainingInput{Title: "Gate", Summary: "s", Language: "en",
		Kind: store.KindSelfStudy, PassMark: 50, Published: true})
	require.NoError(t, err)
	d, err := ts.store.SavePolicyDraft(t.Context(), "x", store.PolicyDraft{Version: "2026-03", Summary: "Members now receive reports.",
		BodyMD: "# Policy\n\nNew text.", Material: true, EffectiveAt: ts.clock.Now().Add(time.Hour)})
	require.NoError(t, err)
	_, err = ts.store.PublishPolicy(t.Context(), "x", d.ID)
	require.NoError(t, err)
	ts.clock.Add(2 * time.Hour)

	// The page explains both answers, with the ways out of the rights portal.
	res, body := c.get(t, "/privacy/accept?next=%2Fdashboard")
	require.Equal(t, http.StatusOK, res.StatusCode)
	page := doc(t, body)
	assert.Equal(t, 1, page.Find(`[data-testid="accept-form"]`).Length())
	assert.Equal(t, 1, page.Find(`form[data-testid="decline-form"][action="/privacy/decline"]`).Length())
	assert.Contains(t, page.Find(`[data-testid="policy-accept"]`).Text(), "cannot use trainings")
	assert.Equal(t, 1, page.Find(`[data-testid="decline-rights"] a[href="/rights#portability"]`).Length())
	assert.Equal(t, 1, page.Find(`[data-testid="decline-rights"] a[href="/rights#erasure"]`).Length())
	assert.Zero(t, page.Find(`[data-testid="policy-declined"]`).Length(), "not declined yet")

	declinedAt := ts.clock.Now()
	res, _ = c.postForm(t, "/privacy/decline", url.Values{"version": {"2026-03"}, "next": {"/dashboard"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Equal(t, "/privacy/accept?next=%2Fdashboard", res.Header.Get("Location"))
	pa, err := ts.store.PolicyToAccept(t.Context(), u.ID)
	require.NoError(t, err)
	assert.True(t, pa.Needed)
	assert.Equal(t, "2026-03", pa.DeclinedVersion)
	assert.True(t, pa.DeclinedAt.Equal(declinedAt), "recorded with its time")
	log, err := ts.store.AuditLog(t.Context(), 5)
	require.NoError(t, err)
	require.NotEmpty(t, log)
	assert.Equal(t, store.AuditPolicyDecline, log[0].Action)
	assert.Equal(t, u.ID, log[0].ActorID)

	res, body = c.get(t, "/privacy/accept?next=%2Fdashboard")
	require.Equal(t, http.StatusOK, res.StatusCode)
	page = doc(t, body)
	assert.Contains(t, page.Find(`[data-testid="flash"]`).Text(), "You declined version 2026-03")
	declined := page.Find(`[data-testid="policy-declined"]`).Text()
	assert.Contains(t, declined, "declined version 2026-03 on "+i18n.Get("en").Date(declinedAt))
	assert.Contains(t, declined, "still accept")
	assert.Equal(t, 1, page.Find(`[data-testid="accept-form"]`).Length(), "accepting stays possible")
	assert.Zero(t, page.Find(`[data-testid="decline-form"]`).Length(), "already declined")

	// Sent again, the first answer stands.
	res, _ = c.postForm(t, "/privacy/decline", url.Values{"version": {"2026-03"}, "next": {"/dashboard"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	pa, err = ts.store.PolicyToAccept(t.Context(), u.ID)
	require.NoError(t, err)
	assert.True(t, pa.DeclinedAt.Equal(declinedAt))

	for _, path := range []string{"/dashboard", "/trainings/" + tr.ID, "/profile"} {
		res, _ := c.get(t, path)
		require.Equal(t, http.StatusSeeOther, res.StatusCode, "%s after declining", path)
		assert.Equal(t, "/privacy/accept?next="+url.QueryEscape(path), res.Header.Get("Location"), path)
	}
	for _, path := range []string{"/rights", "/privacy", "/privacy/versions"} {
		res, _ := c.get(t, path)
		assert.Equal(t, http.StatusOK, res.StatusCode, "%s stays open after declining", path)
	}
	res, _ = c.postForm(t, "/rights/export", url.Values{"password": {"a long test password"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.True(t, strings.HasPrefix(res.Header.Get("Location"), "/rights/export/"), "the export stays open: %s", res.Header.Get("Location"))

	res, _ = c.postForm(t, "/privacy/accept", url.Values{"version": {"2026-03"}, "next": {"/dashboard"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Equal(t, "/dashboard", res.Header.Get("Location"))
	for _, path := range []string{"/dashboard", "/trainings/" + tr.ID, "/profile"} {
		res, _ := c.get(t, path)
		assert.Equal(t, http.StatusOK, res.StatusCode, "%s open again once accepted", path)
	}

	// Someone who declined can log out.
	c2, _ := ts.person(t, "budi@example.org", store.RoleLearner, "")
	res, _ = c2.postForm(t, "/privacy/decline", url.Values{"version": {"2026-03"}, "next": {"/"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	res, _ = c2.postForm(t, "/logout", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	res, _ = c2.get(t, "/dashboard")
	assert.Contains(t, res.Header.Get("Location"), "/login", "logged out")
}
