package app

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"kelas/store"
)

// listRows is the rows of the list on a page: each row's first link and
// its text, so rows with the same words stay apart.
func listRows(t *testing.T, body, sel string) []string {
	t.Helper()
	var out []string
	doc(t, body).Find(sel).Each(func(_ int, s *goquery.Selection) {
		out = append(out, s.Find("a").First().AttrOr("href", "")+"|"+strings.Join(strings.Fields(s.Text()), " "))
	})
	return out
}

// withParams adds query parameters to path, which may hold some already.
func withParams(path string, kv ...string) string {
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return path + sep + v.Encode()
}

// listCase is one console list under test: where it is, how to find its
// rows, how to fill it with rows and a sort key other than its default.
type listCase struct {
	name, path, rows, sort string
	seed                   func(t *testing.T, ts *testServer, dpo store.User)
}

func listCases() []listCase {
	return []listCase{
		{name: "members", path: "/console/members", rows: `[data-testid="members"] tbody tr`, sort: "name",
			seed: func(t *testing.T, ts *testServer, _ store.User) {
				for i := range 60 {
					_, err := ts.store.CreateMember(t.Context(), store.MemberInput{Name: fmt.Sprintf("Lists Member %02d", i), Kind: "ngo", Active: true})
					require.NoError(t, err)
				}
			}},
		{name: "trainings", path: "/console/trainings", rows: `[data-testid="console-trainings"] tbody tr`, sort: "title",
			seed: func(t *testing.T, ts *testServer, dpo store.User) {
				m := member(t, ts, "SME Corporation Malaysia")
				for i := range 60 {
					_, err := ts.store.CreateTraining(t.Context(), m, dpo.ID, store.TrainingInput{Title: fmt.Sprintf("Lists training %02d", i),
						Summary: "s", Language: "en", Kind: store.KindSelfStudy, PassMark: 50})
					require.NoError(t, err)
					ts.clock.Add(time.Minute)
				}
			}},
		{name: "grants", path: "/console/grants", rows: `[data-testid="grants"] tbody tr`, sort: "from",
			seed: func(t *testing.T, ts *testServer, dpo store.User) {
				m := member(t, ts, "SME Corporation Malaysia")
				tr, err := ts.store.CreateTraining(t.Context(), m, dpo.ID, store.TrainingInput{Title: "Granted", Summary: "s", Language: "en",
					Kind: store.KindSelfStudy, PassMark: 50})
				require.NoError(t, err)
				now := ts.clock.Now()
				for i := range 60 {
					_, err := ts.store.CreateGrant(t.Context(), store.NewGrant{MemberID: m, TrainingIDs: []string{tr.ID}, Purpose: fmt.Sprintf("purpose %02d", i),
						ValidFrom: now, ValidUntil: now.Add(time.Duration(i+1) * time.Hour), GrantedBy: dpo.ID})
					require.NoError(t, err)
				}
			}},
		{name: "outbox", path: "/console/outbox", rows: `[data-testid="outbox"] tbody tr`, sort: "attempts",
			seed: func(t *testing.T, ts *testServer, dpo store.User) {
				for range 60 {
					_, err := ts.store.EnqueueMail(t.Context(), store.NewMail{UserID: dpo.ID, To: dpo.Email, Kind: "verify", Subject: "s", Text: "t"})
					require.NoError(t, err)
				}
			}},
		{name: "rights", path: "/console/rights", rows: `[data-testid="cases"] tbody tr`, sort: "received",
			seed: func(t *testing.T, ts *testServer, _ store.User) {
				l := account(t, ts, store.NewUser{Email: "case-owner@example.org"})
				for range 60 {
					_, err := ts.store.CreateCase(t.Context(), store.NewCase{UserID: l.ID, Kind: store.CaseAccess})
					require.NoError(t, err)
					ts.clock.Add(time.Minute)
				}
			}},
		{name: "breaches", path: "/console/breaches", rows: `[data-testid="breaches"] tbody tr`, sort: "detected",
			seed: func(t *testing.T, ts *testServer, dpo store.User) {
				for i := range 60 {
					at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Hour)
					_, err := ts.store.CreateBreach(t.Context(), dpo.ID, store.NewBreach{Title: fmt.Sprintf("Incident %02d", i), Description: "d",
						Measures: "m", Advice: "a", Contact: "c", Categories: []string{string(store.CatRegistration)},
						OccurredAt: at, DetectedAt: at.Add(time.Hour), Scope: store.BreachAll})
					require.NoError(t, err)
				}
			}},
		{name: "audit", path: "/console/audit?action=test", rows: `[data-testid="audit"] tbody tr`, sort: "action",
			seed: func(t *testing.T, ts *testServer, dpo store.User) {
				for i := range 60 {
					require.NoError(t, ts.store.Audit(t.Context(), store.AuditEntry{ActorID: dpo.ID, Action: fmt.Sprintf("test.a%02d", i)}))
				}
			}},
		{name: "learners", path: "/console/learners?q=sari", rows: `[data-testid="learner-results"] li`, sort: "country",
			seed: func(t *testing.T, ts *testServer, _ store.User) {
				countries := []string{"ID", "MY", "TH", "VN", "PH"}
				for i := range 60 {
					account(t, ts, store.NewUser{Email: fmt.Sprintf("sari%02d@example.org", i), FirstName: "Sari", Surname: fmt.Sprintf("Ward%02d", i),
						Country: countries[i%len(countries)]})
					ts.clock.Add(time.Minute)
				}
			}},
	}
}

// TestConsoleListsPageAndSort: every console list shows 50 rows a page, the
// last page the rest without a "next" link, a page past the end as the last
// page, and a sort that flips with dir; a list parameter it does not know
// answers 400.
func TestConsoleListsPageAndSort(t *testing.T) {
	for _, lc := range listCases() {
		t.Run(lc.name, func(t *testing.T) {
			ts := newTestServer(t)
			dpo, dpoUser := dpoClient(t, ts)
			lc.seed(t, ts, dpoUser)

			// Follow "next" from page 1 to the end.
			var all, last, said []string
			path, pages := lc.path, 0
			for path != "" {
				res, body := dpo.get(t, path)
				require.Equal(t, http.StatusOK, res.StatusCode, body)
				d := doc(t, body)
				pages++
				last = listRows(t, body, lc.rows)
				for _, r := range last {
					assert.NotContains(t, all, r, "pages do not overlap")
				}
				all = append(all, last...)
				assert.Equal(t, pages > 1, d.Find(`[data-testid="pager-prev"]`).Length() == 1, "a previous link after page 1")
				path = d.Find(`[data-testid="pager-next"]`).AttrOr("href", "")
				if path != "" {
					assert.Len(t, last, listPageSize)
				}
				said = append(said, d.Find(`[data-testid="pager-page"]`).Text())
				if path == "" {
					assert.Equal(t, fmt.Sprintf("%d entries", len(all)), d.Find(`[data-testid="pager-count"]`).Text())
				}
			}
			require.GreaterOrEqual(t, pages, 2)
			for i, p := range said {
				assert.Equal(t, fmt.Sprintf("Page %d of %d", i+1, pages), p)
			}
			require.GreaterOrEqual(t, len(all), 60)
			require.NotEmpty(t, last)

			// A page past the end shows the last page.
			res, body := dpo.get(t, withParams(lc.path, "page", "400"))
			require.Equal(t, http.StatusOK, res.StatusCode)
			assert.Equal(t, last, listRows(t, body, lc.rows))

			// The sort flips with dir: the first row ascending is the last
			// row descending.
			res, body = dpo.get(t, withParams(lc.path, "sort", lc.sort, "dir", "asc"))
			require.Equal(t, http.StatusOK, res.StatusCode, body)
			asc := listRows(t, body, lc.rows)
			assertSorted(t, body, lc.sort, "ascending")
			res, body = dpo.get(t, withParams(lc.path, "sort", lc.sort, "dir", "desc", "page", fmt.Sprint(pages)))
			require.Equal(t, http.StatusOK, res.StatusCode, body)
			assertSorted(t, body, lc.sort, "descending")
			desc := listRows(t, body, lc.rows)
			require.NotEmpty(t, desc)
			assert.Equal(t, asc[0], desc[len(desc)-1])
			assert.NotEqual(t, asc[0], desc[0])

			for _, bad := range [][]string{{"page", "0"}, {"page", "two"}, {"page", "100001"}, {"sort", "password_hash"}, {"dir", "up"}} {
				res, _ := dpo.get(t, withParams(lc.path, bad...))
				assert.Equal(t, http.StatusBadRequest, res.StatusCode, bad)
			}
		})
	}
}

// assertSorted checks that the list says it is sorted by key in order
// (aria-sort on a table's header; the marked link of other lists).
func assertSorted(t *testing.T, body, key, order string) {
	t.Helper()
	el := doc(t, body).Find(`[data-testid="sort-` + key + `"]`)
	require.Equal(t, 1, el.Length(), "the sort control of %s", key)
	if el.Is("a") {
		assert.Equal(t, "true", el.AttrOr("aria-current", ""))
		return
	}
	assert.Equal(t, order, el.AttrOr("aria-sort", ""))
}

// TestConsoleListSearchNarrows: the Member, training and learner lists
// narrow to what the search finds, and the pager's links keep the search.
func TestConsoleListSearchNarrows(t *testing.T) {
	ts := newTestServer(t)
	dpo, dpoUser := dpoClient(t, ts)
	for _, lc := range listCases() {
		if lc.name == "members" || lc.name == "trainings" || lc.name == "learners" {
			lc.seed(t, ts, dpoUser)
		}
	}
	for _, c := range []struct {
		path, rows string
		want       int
	}{
		{"/console/members?q=lists+member+1", `[data-testid="members"] tbody tr`, 10},
		{"/console/members?q=LISTS+MEMBER+07", `[data-testid="members"] tbody tr`, 1},
		{"/console/trainings?q=training+0", `[data-testid="console-trainings"] tbody tr`, 10},
		{"/console/learners?q=sari+ward07", `[data-testid="learner-results"] li`, 1},
		{"/console/learners?q=sari07%40example.org", `[data-testid="learner-results"] li`, 1},
		{"/console/learners?q=nobody", `[data-testid="learner-results"] li`, 0},
	} {
		res, body := dpo.get(t, c.path)
		require.Equal(t, http.StatusOK, res.StatusCode, c.path)
		assert.Len(t, listRows(t, body, c.rows), c.want, c.path)
		count := fmt.Sprintf("%d entries", c.want)
		if c.want == 1 {
			count = "1 entry"
		}
		assert.Equal(t, count, doc(t, body).Find(`[data-testid="pager-count"]`).Text(), c.path)
		if c.want == 0 {
			assert.Equal(t, 1, doc(t, body).Find(`[data-testid="no-match"]`).Length())
		}
	}
	// The search travels with the pages: 60 learners named Sari.
	res, body := dpo.get(t, "/console/learners?q=sari")
	require.Equal(t, http.StatusOK, res.StatusCode)
	next := doc(t, body).Find(`[data-testid="pager-next"]`).AttrOr("href", "")
	u, err := url.Parse(next)
	require.NoError(t, err)
	assert.Equal(t, "sari", u.Query().Get("q"))
	assert.Equal(t, "2", u.Query().Get("page"))
	res, body = dpo.get(t, next)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Len(t, listRows(t, body, `[data-testid="learner-results"] li`), 10)
}

// TestAuditLogFiltersAndNames: the audit log narrows by actor (id, email,
// cli), action (exact or its start) and date; it shows the names behind the
// ids to an operator who accepted the undertaking, recording a disclosure
// for each person named; without the undertaking it shows ids only and
// records nothing.
func TestAuditLogFiltersAndNames(t *testing.T) {
	ts := newTestServer(t)
	dpo, dpoUser := dpoClient(t, ts)
	ctx := t.Context()
	op := account(t, ts, store.NewUser{Email: "operator.lists@example.org", FirstName: "Oskar", Surname: "Operator", Role: store.RoleOperator})
	learner := account(t, ts, store.NewUser{Email: "lestari@example.org", FirstName: "Lestari", Surname: "Wibowo"})
	day1 := ts.clock.Now()
	require.NoError(t, ts.store.Audit(ctx, store.AuditEntry{ActorID: op.ID, Action: "grant.create", TargetType: "grant", TargetID: store.NewID()}))
	require.NoError(t, ts.store.Audit(ctx, store.AuditEntry{ActorID: store.ActorCLI, Action: store.AuditKeysRotate}))
	ts.clock.Add(48 * time.Hour)
	require.NoError(t, ts.store.Audit(ctx, store.AuditEntry{ActorID: op.ID, Action: "grant.revoke", TargetType: "grant", TargetID: store.NewID()}))
	require.NoError(t, ts.store.Audit(ctx, store.AuditEntry{ActorID: op.ID, Action: store.AuditUserSuspend, TargetType: "user", TargetID: learner.ID}))

	actions := func(path string) (int, []string) {
		t.Helper()
		res, body := dpo.get(t, path)
		var out []string
		doc(t, body).Find(`[data-testid="audit"] tbody tr td:nth-child(4)`).Each(func(_ int, s *goquery.Selection) { out = append(out, s.Text()) })
		return res.StatusCode, out
	}
	for _, c := range []struct {
		query string
		want  []string
	}{
		{"actor=" + op.ID + "&action=grant", []string{"grant.revoke", "grant.create"}},
		{"actor=" + url.QueryEscape(op.Email) + "&action=grant", []string{"grant.revoke", "grant.create"}},
		{"actor=cli", []string{store.AuditKeysRotate}},
		{"action=grant.create", []string{"grant.create"}},
		{"action=grant&dir=asc", []string{"grant.create", "grant.revoke"}},
		{"actor=" + op.ID + "&from=" + day1.AddDate(0, 0, 1).Format(time.DateOnly), []string{store.AuditUserSuspend, "grant.revoke"}},
		{"actor=" + op.ID + "&until=" + day1.Format(time.DateOnly), []string{"grant.create"}},
	} {
		status, got := actions("/console/audit?" + c.query)
		require.Equal(t, http.StatusOK, status, c.query)
		assert.Equal(t, c.want, got, c.query)
	}
	for _, bad := range []string{"actor=nobody%40example.org", "actor=drop+table", "action=GRANT%3B", "from=yesterday",
		"from=2026-03-05&until=2026-03-01"} {
		res, body := dpo.get(t, "/console/audit?"+bad)
		assert.Equal(t, http.StatusUnprocessableEntity, res.StatusCode, bad)
		assert.Equal(t, 1, doc(t, body).Find(`[data-testid="error-summary"]`).Length(), bad)
	}

	// Names are shown, and seeing them is recorded for the people named
	// (not for the viewer's own name).
	before, err := ts.store.Disclosures(ctx, learner.ID)
	require.NoError(t, err)
	res, body := dpo.get(t, "/console/audit?action=user.suspend")
	require.Equal(t, http.StatusOK, res.StatusCode)
	d := doc(t, body)
	assert.Equal(t, "Oskar Operator", strings.TrimSpace(d.Find(`[data-testid="audit-actor"]`).Text()))
	assert.Contains(t, d.Find(`[data-testid="audit-target"]`).Text(), "Lestari Wibowo")
	assert.NotContains(t, body, learner.ID+"</td>")
	assert.Equal(t, 1, d.Find(`[data-testid="audit-names-recorded"]`).Length())
	after, err := ts.store.Disclosures(ctx, learner.ID)
	require.NoError(t, err)
	require.Len(t, after, len(before)+1)
	assert.Equal(t, store.ViewAuditLog, after[0].View)
	assert.Equal(t, dpoUser.ID, after[0].ViewerID)
	ds, err := ts.store.Disclosures(ctx, op.ID)
	require.NoError(t, err)
	assert.NotEmpty(t, ds, "the operator named is told too")
	mine, err := ts.store.Disclosures(ctx, dpoUser.ID)
	require.NoError(t, err)
	assert.Empty(t, mine, "one's own name is no disclosure")

	// A new undertaking text: until it is accepted, ids only, nothing recorded.
	st, err := ts.store.Settings(ctx)
	require.NoError(t, err)
	_, err = ts.store.SaveSettings(ctx, op.ID, st.Revision, map[string]string{store.SettingConfidentialityText: "We keep every name to ourselves."})
	require.NoError(t, err)
	res, body = dpo.get(t, "/console/audit?action=user.suspend")
	require.Equal(t, http.StatusOK, res.StatusCode)
	d = doc(t, body)
	assert.NotContains(t, body, "Lestari")
	assert.Contains(t, d.Find(`[data-testid="audit-target"]`).Text(), learner.ID)
	link := d.Find(`[data-testid="audit-names-undertaking"] a`).AttrOr("href", "")
	assert.True(t, strings.HasPrefix(link, "/console/undertaking?next="), link)
	again, err := ts.store.Disclosures(ctx, learner.ID)
	require.NoError(t, err)
	assert.Len(t, again, len(after))
}

// TestTrainingLearnerListPages: a training's learners come 50 a page, and
// only the people on the page shown are recorded as seen.
func TestTrainingLearnerListPages(t *testing.T) {
	ts := newTestServer(t)
	dpo, dpoUser := dpoClient(t, ts)
	ctx := t.Context()
	tr, err := ts.store.CreateTraining(ctx, member(t, ts, "SME Corporation Malaysia"), dpoUser.ID, store.TrainingInput{Title: "Crowded",
		Summary: "s", Language: "en", Kind: store.KindSelfStudy, PassMark: 50, Published: true})
	require.NoError(t, err)
	var learners []store.User
	for i := range 60 {
		l := account(t, ts, store.NewUser{Email: fmt.Sprintf("crowd%02d@example.org", i), Country: []string{"ID", "TH"}[i%2]})
		require.NoError(t, ts.store.Enrol(ctx, l.ID, tr.ID))
		learners = append(learners, l)
		ts.clock.Add(time.Minute)
	}
	seen := func() int {
		t.Helper()
		n := 0
		for _, l := range learners {
			ds, err := ts.store.Disclosures(ctx, l.ID)
			require.NoError(t, err)
			n += len(ds)
		}
		return n
	}
	path := "/console/trainings/" + tr.ID + "/learners"
	res, body := dpo.get(t, path)
	require.Equal(t, http.StatusOK, res.StatusCode)
	rows := listRows(t, body, `[data-testid="learners"] tbody tr`)
	require.Len(t, rows, listPageSize)
	assert.Contains(t, rows[0], "/console/learners/"+learners[0].ID, "in the order they enrolled")
	assert.Equal(t, listPageSize, seen())
	next := doc(t, body).Find(`[data-testid="pager-next"]`).AttrOr("href", "")
	require.NotEmpty(t, next)

	res, body = dpo.get(t, next)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Len(t, listRows(t, body, `[data-testid="learners"] tbody tr`), 10)
	assert.Equal(t, 0, doc(t, body).Find(`[data-testid="pager-next"]`).Length())
	assert.Equal(t, 60, seen())

	res, body = dpo.get(t, path+"?sort=country&dir=desc")
	require.Equal(t, http.StatusOK, res.StatusCode)
	d := doc(t, body)
	assert.Equal(t, "descending", d.Find(`[data-testid="sort-country"]`).AttrOr("aria-sort", ""))
	assert.Contains(t, d.Find(`[data-testid="learners"] tbody tr`).First().Text(), "Thailand")
	res, _ = dpo.get(t, path+"?sort=name")
	assert.Equal(t, http.StatusBadRequest, res.StatusCode)
}
