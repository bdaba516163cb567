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
