package app

import (
	"encoding/csv"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"kelas/store"
)

// breachValues is a complete incident form, detected two hours before the
// test clock's now.
func breachValues(ts *testServer) url.Values {
	now := ts.clock.Now().UTC()
	return url.Values{
		"title":       {"Export file sent to the wrong partner"},
		"description": {"On 28 February a report export was emailed to the wrong partner organisation."},
		"occurred_at": {now.Add(-30 * time.Hour).Format(datetimeLocal)},
		"detected_at": {now.Add(-2 * time.Hour).Format(datetimeLocal)},
		"categories":  {"registration", "learning_records"},
		"scope":       {"all"},
		"measures":    {"The partner deleted the file and confirmed it in writing."},
		"advice":      {"Be careful with emails that ask for your password."},
		"contact":     {"privacy@kelas.example"},
	}
}

func breachIDFrom(t *testing.T, res *http.Response) string {
	t.Helper()
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	loc := res.Header.Get("Location")
	require.Regexp(t, `^/console/breaches/[a-z2-7]{26}$`, loc)
	return strings.TrimPrefix(loc, "/console/breaches/")
}

func auditActions(t *testing.T, ts *testServer) []string {
	t.Helper()
	log, err := ts.store.AuditLog(t.Context(), 500)
	require.NoError(t, err)
	var out []string
	for _, e := range log {
		out = append(out, e.Action)
	}
	return out
}

// TestBreachNoticeReachesEveryAffectedPersonOnce: a listed group is
// notified over SMTP with exactly one mail each, a restricted person
// included; notifying again sends nothing; delivery and countdown are
// shown; every step is audited; the CSV register carries no personal data.
func TestBreachNoticeReachesEveryAffectedPersonOnce(t *testing.T) {
	ts, smtpd := newMailTestServer(t)
	dpo, officer := dpoClient(t, ts)
	ana := learnerAccount(t, ts, "ana", "MY", "C", false, false)
	budi := learnerAccount(t, ts, "budi", "ID", "C", false, false)
	require.NoError(t, ts.store.SetRestricted(t.Context(), budi.ID, true))
	citra := learnerAccount(t, ts, "citra", "TH", "G", false, false)
	require.NoError(t, ts.store.SetObjection(t.Context(), citra.ID, store.ObjectDirectMarketing, true))
	learnerAccount(t, ts, "dodi", "MY", "C", true, true) // not affected

	v := breachValues(ts)
	v.Set("scope", "list")
	v.Set("people", "ana@example.org\n"+budi.ID+"\r\nCITRA@Example.org, ana@example.org")
	id := breachIDFrom(t, firstRes(dpo.postForm(t, "/console/breaches", v)))

	res, body := dpo.get(t, "/console/breaches/"+id)
	require.Equal(t, http.StatusOK, res.StatusCode)
	d := doc(t, body)
	assert.Equal(t, "running", d.Find(`[data-testid="countdown"]`).AttrOr("data-state", ""))
	assert.Contains(t, d.Find(`[data-testid="countdown"]`).Text(), "2 days 22 hours left")
	assert.Equal(t, "4 Mar 2026 07:00 UTC", d.Find(`[data-testid="deadline"]`).Text())
	assert.Contains(t, d.Find(`[data-testid="affected"]`).Text(), "3 people")

	ts.clock.Add(time.Hour)
	res, _ = dpo.postForm(t, "/console/breaches/"+id+"/notify", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Contains(t, flashOf(t, dpo, "/console/breaches/"+id), "being queued in the background")
	ts.deliverAll(t)
	_, body = dpo.get(t, "/console/breaches/"+id)
	assert.Equal(t, "done", doc(t, body).Find(`[data-testid="mass-mailing"]`).AttrOr("data-state", ""))
	assert.Equal(t, "3", doc(t, body).Find(`[data-testid="mass-processed"]`).Text())
	msgs := smtpd.Messages()
	assert.Equal(t, []string{ana.Email, budi.Email, citra.Email}, recipients(msgs), "one mail each, the restricted person too")
	for _, m := range msgs {
		assert.Contains(t, m.Subject, "security incident")
		for _, want := range []string{"What happened: On 28 February", "What data was involved: Registration details",
			"What we have done: The partner deleted", "What you can do: Be careful", "Whom to contact: privacy@kelas.example"} {
			assert.Contains(t, m.Text, want)
		}
		assert.Empty(t, m.Header.Get("List-Unsubscribe"), "a legal notice has no unsubscribe")
	}

	// Notifying again (or a double click) mails nobody twice.
	res, _ = dpo.postForm(t, "/console/breaches/"+id+"/notify", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	ts.deliverAll(t)
	assert.Len(t, smtpd.Messages(), 3)
	assert.Len(t, mailsOfKind(t, ts, store.MailBreachNotice), 3)

	res, body = dpo.get(t, "/console/breaches/"+id)
	require.Equal(t, http.StatusOK, res.StatusCode)
	d = doc(t, body)
	assert.Equal(t, "3", d.Find(`[data-testid="count-sent"]`).Text())
	assert.Equal(t, 3, d.Find(`[data-testid="notice"][data-status="sent"]`).Length())
	// Telling the people does not stop the clock: notifying the authority does.
	assert.Equal(t, "running", d.Find(`[data-testid="countdown"]`).AttrOr("data-state", ""))
	assert.Contains(t, d.Find(`[data-testid="countdown"]`).Text(), "People were told 3 hours after detection.")
	assert.NotContains(t, body, ana.Email, "the delivery list shows account ids, not addresses")

	// The register as CSV: facts and counts, nothing about anyone.
	res, body = dpo.get(t, "/console/breaches.csv")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "text/csv; charset=utf-8", res.Header.Get("Content-Type"))
	assert.Regexp(t, `^attachment; filename="kelas-breach-register-2026-03-01\.csv"$`, res.Header.Get("Content-Disposition"))
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 2)
	col := map[string]string{}
	for i, h := range rows[0] {
		col[h] = rows[1][i]
	}
	assert.Equal(t, id, col["id"])
	assert.Equal(t, "Export file sent to the wrong partner", col["title"])
	assert.Equal(t, "2026-03-04T07:00:00Z", col["deadline_at"])
	assert.Equal(t, "true", col["within_72_hours"])
	assert.Equal(t, "3", col["notices"])
	assert.Equal(t, "3", col["sent"])
	assert.Equal(t, "list", col["scope"])
	for _, secret := range []string{"@", "ana", budi.ID, "On 28 February", "privacy@kelas.example"} {
		assert.NotContains(t, body, secret)
	}

	actions := auditActions(t, ts)
	assert.Contains(t, actions, store.AuditBreachRecord)
	assert.Contains(t, actions, store.AuditBreachExport)
	notifies := 0
	for _, a := range actions {
		if a == store.AuditBreachNotify {
			notifies++
		}
	}
	assert.Equal(t, 2, notifies, "each notify action is audited")
	log, err := ts.store.AuditLog(t.Context(), 500)
	require.NoError(t, err)
	for _, e := range log {
		if strings.HasPrefix(e.Action, "breach.") {
			assert.Equal(t, officer.ID, e.ActorID)
		}
	}
}

func firstRes(res *http.Response, _ string) *http.Response { return res }

// TestBreachRegisterIsThePrivacyOfficers: operators without the DPO flag,
// consultants, staff and learners get 403 everywhere, and nothing changes.
func TestBreachRegisterIsThePrivacyOfficers(t *testing.T) {
	ts, smtpd := newMailTestServer(t)
	dpo, _ := dpoClient(t, ts)
	learnerAccount(t, ts, "ana", "MY", "C", false, false)
	id := breachIDFrom(t, firstRes(dpo.postForm(t, "/console/breaches", breachValues(ts))))

	op, _ := ts.person(t, "op@example.org", store.RoleOperator, "")
	consultant, _ := ts.person(t, "consultant@example.org", store.RoleConsultant, "")
	staff, _ := ts.person(t, "staff@example.org", store.RoleMemberStaff, member(t, ts, "SME Corporation Malaysia"))
	learner := ts.newClient(t)
	learner.logIn(t, "ana@example.org", "/")
	for name, c := range map[string]*testServer{"operator": op, "consultant": consultant, "staff": staff, "learner": learner} {
		for _, path := range []string{"/console/breaches", "/console/breaches/new", "/console/breaches/" + id, "/console/breaches.csv"} {
			res, _ := c.get(t, path)
			assert.Equal(t, http.StatusForbidden, res.StatusCode, "%s GET %s", name, path)
		}
		res, _ := c.postForm(t, "/console/breaches", breachValues(ts))
		assert.Equal(t, http.StatusForbidden, res.StatusCode, "%s records", name)
		res, _ = c.postForm(t, "/console/breaches/"+id+"/notify", nil)
		assert.Equal(t, http.StatusForbidden, res.StatusCode, "%s notifies", name)
	}
	visitor := &testServer{Server: ts.Server, client: &http.Client{CheckRedirect: ts.client.CheckRedirect}}
	res, _ := visitor.get(t, "/console/breaches")
	assert.Equal(t, http.StatusSeeOther, res.StatusCode, "visitors are sent to log in")

	bs, err := ts.store.Breaches(t.Context())
	require.NoError(t, err)
	assert.Len(t, bs, 1)
	ts.deliverAll(t)
	assert.Empty(t, smtpd.Messages())
}

// TestBreachCountdownRunsFromDetection: the 72 hours count from the
// detection time entered, on the server's clock.
func TestBreachCountdownRunsFromDetection(t *testing.T) {
	ts := newTestServer(t)
	dpo, _ := dpoClient(t, ts)
	v := breachValues(ts)
	v.Set("detected_at", ts.clock.Now().UTC().Add(-10*time.Hour).Format(datetimeLocal)) // 28 Feb 23:00
	id := breachIDFrom(t, firstRes(dpo.postForm(t, "/console/breaches", v)))
	clock := func(path string) (state, text, deadline string) {
		t.Helper()
		res, body := dpo.get(t, path)
		require.Equal(t, http.StatusOK, res.StatusCode)
		c := doc(t, body).Find(`[data-testid="countdown"]`).First()
		return c.AttrOr("data-state", ""), c.Text(), c.Find(`[data-testid="deadline"]`).Text()
	}
	state, text, deadline := clock("/console/breaches/" + id)
	assert.Equal(t, "running", state)
	assert.Contains(t, text, "2 days 14 hours left")
	assert.Equal(t, "3 Mar 2026 23:00 UTC", deadline)

	ts.clock.Add(61*time.Hour + 30*time.Minute)
	_, text, _ = clock("/console/breaches/" + id)
	assert.Contains(t, text, "30 minutes left")

	ts.clock.Add(time.Hour)
	state, text, _ = clock("/console/breaches")
	assert.Equal(t, "overdue", state)
	assert.Contains(t, text, "Overdue by 30 minutes")
}

// TestBreachFormRefusesBadInput: detection before occurrence and other bad
// input give 422 with the field named, and nothing is recorded.
func TestBreachFormRefusesBadInput(t *testing.T) {
	ts := newTestServer(t)
	dpo, _ := dpoClient(t, ts)
	learnerAccount(t, ts, "ana", "MY", "C", false, false)
	now := ts.clock.Now().UTC()
	for name, c := range map[string]struct {
		edit  func(url.Values)
		field string
	}{
		"detected before it happened": {func(v url.Values) { v.Set("detected_at", now.Add(-40*time.Hour).Format(datetimeLocal)) }, "detected_at"},
		"detected in the future":      {func(v url.Values) { v.Set("detected_at", now.Add(2*time.Hour).Format(datetimeLocal)) }, "detected_at"},
		"no time":                     {func(v url.Values) { v.Set("occurred_at", "yesterday") }, "occurred_at"},
		"no category":                 {func(v url.Values) { v.Del("categories") }, "categories"},
		"unknown category":            {func(v url.Values) { v["categories"] = []string{"system"} }, "categories"},
		"unknown scope":               {func(v url.Values) { v.Set("scope", "some") }, "scope"},
		"member scope without member": {func(v url.Values) { v.Set("scope", "member") }, "member_id"},
		"unknown training":            {func(v url.Values) { v.Set("scope", "training"); v.Set("training_id", store.NewID()) }, "training_id"},
		"empty list":                  {func(v url.Values) { v.Set("scope", "list") }, "people"},
		"unknown person":              {func(v url.Values) { v.Set("scope", "list"); v.Set("people", "ana@example.org\nnobody@example.org") }, "people"},
		"not an address":              {func(v url.Values) { v.Set("scope", "list"); v.Set("people", "ana at example") }, "people"},
		"no advice":                   {func(v url.Values) { v.Set("advice", "  ") }, "advice"},
	} {
		t.Run(name, func(t *testing.T) {
			v := breachValues(ts)
			c.edit(v)
			res, body := dpo.postForm(t, "/console/breaches", v)
			require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
			assert.Equal(t, 1, doc(t, body).Find(`[data-testid="error-`+c.field+`"]`).Length(), body[:0])
		})
	}
	bs, err := ts.store.Breaches(t.Context())
	require.NoError(t, err)
	assert.Empty(t, bs)
	// The message names lines, never the address typed.
	v := breachValues(ts)
	v.Set("scope", "list")
	v.Set("people", "ana@example.org\nnobody@example.org")
	_, body := dpo.postForm(t, "/console/breaches", v)
	assert.Contains(t, doc(t, body).Find(`[data-testid="error-people"]`).Text(), "line 2")
}

// FuzzParsePeople: the pasted list of affected people never panics, and
// every entry it accepts is an account id or a plain address.
func FuzzParsePeople(f *testing.F) {
	for _, s := range []string{"", "ana@example.org", "ana@example.org\nbudi@example.org", store.NewID(),
		"a@b.c, d@e.f; g@h.i", "Ana <ana@example.org>", "\x00@x.y", "ana@example.org\r\n\r\n", strings.Repeat("a@b.cd,", 100)} {
		f.Add(s)
	}
	idRE := regexp.MustCompile(`^[a-z2-7]{26}$`)
	f.Fuzz(func(t *testing.T, text string) {
		entries, msg := parsePeople(text)
		if msg != "" {
			require.Empty(t, entries)
			return
		}
		require.LessOrEqual(t, len(entries), maxBreachPeople)
		for _, e := range entries {
			require.True(t, (e.ID != "") != (e.Email != ""))
			if e.ID != "" {
				require.Regexp(t, idRE, e.ID)
			} else {
				require.True(t, validAddress(e.Email), e.Email)
				require.NotContains(t, e.Email, "\n")
			}
			require.Greater(t, e.Line, 0)
		}
	})
}
