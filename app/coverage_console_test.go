package app

import (
	"encoding/csv"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"kelas/store"
)

// attentionLevels maps each dashboard card's link (or label) to its level.
func attentionLevels(t *testing.T, c *testServer) map[string]string {
	t.Helper()
	res, body := c.get(t, "/console")
	require.Equal(t, http.StatusOK, res.StatusCode)
	out := map[string]string{}
	d := doc(t, body)
	for _, n := range d.Find(`[data-testid="attention"] li`).Nodes {
		var class, key string
		for _, at := range n.Attr {
			if at.Key == "class" {
				class = at.Val
			}
		}
		s := d.FindNodes(n)
		if href, ok := s.Find("a").Attr("href"); ok {
			key = href + " " + strings.TrimSpace(s.Find("a").Text())
		} else {
			key = strings.TrimSpace(s.Find("p").Last().Text())
		}
		for _, c := range strings.Fields(class) {
			if strings.HasPrefix(c, "attention-") {
				out[key] = strings.TrimPrefix(c, "attention-")
			}
		}
	}
	return out
}

func levelOf(levels map[string]string, prefix string) string {
	for k, v := range levels {
		if strings.HasPrefix(k, prefix) {
			return v
		}
	}
	return ""
}

// TestDashboardRaisesFailingBackupsJobsAndMail: a backup that cannot be
// written turns the backup and job cards to alert and counts in the
// navigation; a good backup older than a day is an alert too; mail queued
// for over an hour is a warning.
func TestDashboardRaisesFailingBackupsJobsAndMail(t *testing.T) {
	ts, _ := newMailTestServer(t) // mail is never delivered here: it waits
	op, _ := ts.person(t, "ops@example.org", store.RoleOperator, "")
	lv := attentionLevels(t, op)
	require.Equal(t, "ok", levelOf(lv, "/console/backups"))

	// The backups folder is a file: the nightly backup fails.
	dir := filepath.Join(ts.store.Dir(), store.BackupsDir)
	require.NoError(t, os.RemoveAll(dir))
	require.NoError(t, os.WriteFile(dir, []byte("in the way"), 0o600))
	require.Error(t, ts.jobs.RunNow(t.Context(), "backup"))
	// The scheduler records the failed run as it does for every job.
	require.NoError(t, ts.store.EnsureJob(t.Context(), "backup", ts.clock.Now()))
	claimed, err := ts.store.ClaimJob(t.Context(), "backup", "test-runner", time.Minute, true)
	require.NoError(t, err)
	require.True(t, claimed)
	require.NoError(t, ts.store.FinishJob(t.Context(), "backup", "test-runner", ts.clock.Now(), ts.clock.Now().Add(time.Hour), os.ErrPermission))
	lv = attentionLevels(t, op)
	assert.Equal(t, "alert", levelOf(lv, "/console/backups"), "%v", lv)
	assert.Equal(t, "alert", levelOf(lv, "Scheduled jobs failing"), "%v", lv)
	res, body := op.get(t, "/console/backups")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.NotEmpty(t, doc(t, body).Find(`[data-testid="nav-attention"]`).Text())

	// Repaired, it succeeds; two days later the last good one is too old.
	require.NoError(t, os.Remove(dir))
	ts.clock.Add(time.Minute)
	require.NoError(t, ts.jobs.RunNow(t.Context(), "backup"))
	assert.Equal(t, "ok", levelOf(attentionLevels(t, op), "/console/backups"))
	ts.clock.Add(50 * time.Hour)
	assert.Equal(t, "alert", levelOf(attentionLevels(t, op), "/console/backups"))

	// Mail waiting for over an hour (no mail server is configured).
	una := unverifiedAccount(t, ts)
	uc := ts.newClient(t)
	require.Equal(t, http.StatusSeeOther, uc.signIn(t, una.Email, fixturePassword).StatusCode)
	res, _ = uc.postForm(t, "/verify/resend", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	ts.clock.Add(2 * time.Hour)
	assert.Equal(t, "warn", levelOf(attentionLevels(t, op), "/console/outbox Mails waiting"), "queued over an hour")

	// The retention page shows the job once it has run.
	require.NoError(t, ts.jobs.RunNow(t.Context(), "retention"))
	res, _ = op.get(t, "/console/retention")
	assert.Equal(t, http.StatusOK, res.StatusCode)
}

// TestUnrecordedDisclosureShowsNothing: every page that shows someone's
// personal data to staff or an operator records the view first; when the
// record cannot be written the page is not shown at all.
func TestUnrecordedDisclosureShowsNothing(t *testing.T) {
	fx := newGrantFixture(t)
	ts, op := fx.ts, fx.operator
	dpo, _ := dpoClient(t, ts)
	learner := fx.learners[0]
	c, err := ts.store.CreateCase(t.Context(), store.NewCase{UserID: learner.ID, Kind: store.CaseAccess, Details: "What do you hold about me?"})
	require.NoError(t, err)
	pages := map[string]*testServer{
		"/console/members/" + fx.memberID:                           op,
		"/console/operators":                                        op,
		"/console/learners?q=" + url.QueryEscape(learner.FirstName): op,
		"/console/trainings/" + fx.training + "/learners":           op,
		"/console/trainings/" + fx.training:                         op, // the attendance list
		"/console/rights/" + c.ID:                                   dpo,
	}
	fault(t, ts, "INSERT", "disclosures")
	for path, c := range pages {
		n := injectedFailures(ts)
		res, body := c.get(t, path)
		require.Equal(t, http.StatusInternalServerError, res.StatusCode, path)
		failsInside(t, ts, n, res, body)
		assert.NotContains(t, body, learner.Email, path)
	}
	// A learner's record opens with a reason, which must say something.
	res, _ := op.postForm(t, "/console/learners/"+learner.ID, url.Values{"reason": {"why"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	n := injectedFailures(ts)
	res, body := op.postForm(t, "/console/learners/"+learner.ID, url.Values{"reason": {"Checking an attendance complaint."}})
	failsInside(t, ts, n, res, body)
	assert.NotContains(t, body, learner.Email)
}

// TestStaffAndOperatorChangesSurviveStoreFailures: refused writes behind
// staff and operator management leave roles and invitations as they were.
func TestStaffAndOperatorChangesSurviveStoreFailures(t *testing.T) {
	ts := newTestServer(t)
	smesco := member(t, ts, "SMESCO Indonesia")
	op, _ := ts.person(t, "ops@example.org", store.RoleOperator, "")
	_, staff := ts.person(t, "staff@example.org", store.RoleMemberStaff, smesco)
	_, other := ts.person(t, "other@example.org", store.RoleOperator, "")
	steps := []struct {
		name, op, table, path string
		form                  url.Values
	}{
		{"invite staff", "INSERT", "invitations", "/console/members/" + smesco + "/invitations", url.Values{"email": {"new@example.org"}, "role": {"member_staff"}}},
		{"invite operator", "INSERT", "invitations", "/console/operators/invitations", url.Values{"email": {"newop@example.org"}, "role": {"consultant"}, "code": {""}}},
		{"staff role", "UPDATE", "member_staff", "/console/members/" + smesco + "/staff/" + staff.ID, url.Values{"role": {"member_admin"}}},
		{"remove staff", "DELETE", "member_staff", "/console/members/" + smesco + "/staff/" + staff.ID + "/remove", url.Values{}},
		{"operator role", "UPDATE", "users", "/console/operators/" + other.ID, url.Values{"role": {"consultant"}}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			fault(t, ts, s.op, s.table)
			n := injectedFailures(ts)
			s.form.Set("code", op.code(t))
			res, body := op.postForm(t, s.path, s.form)
			failsInside(t, ts, n, res, body)
		})
	}
	got, err := ts.store.User(t.Context(), staff.ID)
	require.NoError(t, err)
	assert.Equal(t, store.RoleMemberStaff, got.Role)
	got, err = ts.store.User(t.Context(), other.ID)
	require.NoError(t, err)
	assert.Equal(t, store.RoleOperator, got.Role)
	pending, err := ts.store.PendingInvitations(t.Context(), smesco)
	require.NoError(t, err)
	assert.Empty(t, pending)

	// A malformed role change is a bad request.
	res, _ := op.postForm(t, "/console/operators/"+other.ID, url.Values{"role": {"emperor"}, "code": {op.code(t)}})
	assert.Equal(t, http.StatusBadRequest, res.StatusCode)
}

// TestBreachRecordEdgeCases: an incident scoped to a Member or a training
// names it; a closed incident can be neither edited nor reported to the
// authority; the CSV defuses cells a spreadsheet would run; and refused
// writes change nothing.
func TestBreachRecordEdgeCases(t *testing.T) {
	ts := newTestServer(t)
	dpo, _ := dpoClient(t, ts)
	staff, _ := ts.person(t, "staff@example.org", store.RoleMemberStaff, member(t, ts, "SME Corporation Malaysia"))
	trainingID := createTraining(t, staff, trainingValues())

	v := breachValues(ts)
	v.Set("scope", "member")
	v.Set("member_id", member(t, ts, "SMESCO Indonesia"))
	v.Set("title", "=HYPERLINK(\"x\")")
	byMember := breachIDFrom(t, firstRes(dpo.postForm(t, "/console/breaches", v)))
	res, body := dpo.get(t, "/console/breaches/"+byMember)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, body, "SMESCO Indonesia")

	v = breachValues(ts)
	v.Set("scope", "training")
	v.Set("training_id", trainingID)
	byTraining := breachIDFrom(t, firstRes(dpo.postForm(t, "/console/breaches", v)))
	res, body = dpo.get(t, "/console/breaches/"+byTraining)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, body, trainingValues().Get("title"))

	res, body = dpo.get(t, "/console/breaches.csv")
	require.Equal(t, http.StatusOK, res.StatusCode)
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	require.NoError(t, err)
	found := false
	for _, r := range rows {
		for _, cell := range r {
			assert.False(t, strings.HasPrefix(cell, "="), "a formula cell: %q", cell)
			found = found || cell == "'=HYPERLINK(\"x\")"
		}
	}
	assert.True(t, found, "the title is kept, defused")

	// Refused writes.
	corrected := breachValues(ts)
	corrected.Set("title", "Export file sent to the wrong Member")
	for _, s := range []struct {
		name, op, table, path string
		form                  url.Values
	}{
		{"correction", "UPDATE", "breaches", "/edit", corrected},
		{"timeline", "INSERT", "breach_events", "/timeline", url.Values{"note": {"Partner called back."}}},
		{"close", "UPDATE", "breaches", "/close", url.Values{"summary": {"Contained."}}},
		{"notify", "INSERT", "mass_mailings", "/notify", url.Values{}},
	} {
		t.Run(s.name, func(t *testing.T) {
			fault(t, ts, s.op, s.table)
			n := injectedFailures(ts)
			res, body := dpo.postForm(t, "/console/breaches/"+byTraining+s.path, s.form)
			failsInside(t, ts, n, res, body)
		})
	}
	b, err := ts.store.Breach(t.Context(), byTraining)
	require.NoError(t, err)
	assert.False(t, b.Closed())

	// Closed: no more edits, no authority report.
	res, _ = dpo.postForm(t, "/console/breaches/"+byTraining+"/close", url.Values{"summary": {"Contained."}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	res, _ = dpo.get(t, "/console/breaches/"+byTraining+"/edit")
	assert.Equal(t, http.StatusConflict, res.StatusCode)
	res, _ = dpo.postForm(t, "/console/breaches/"+byTraining+"/authority", url.Values{"authority_at": {ts.clock.Now().UTC().Format(datetimeLocal)}, "reference": {"PDP-1"}})
	assert.Equal(t, http.StatusConflict, res.StatusCode)
}
