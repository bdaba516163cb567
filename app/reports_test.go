package app

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"kelas/i18n"
	"kelas/store"
)

// reportTableText reads a report table as the page shows it: header, rows
// and total, each cell's text.
func reportTableText(t *testing.T, body, id string) [][]string {
	t.Helper()
	sec := doc(t, body).Find(`[data-testid="report-` + id + `"]`)
	require.Equal(t, 1, sec.Length(), "table %s", id)
	var out [][]string
	sec.Find(`[data-testid="report-table"] tr`).Each(func(_ int, tr *goquery.Selection) {
		var row []string
		tr.Find("th, td").Each(func(_ int, c *goquery.Selection) { row = append(row, strings.TrimSpace(c.Text())) })
		out = append(out, row)
	})
	return out
}

func reportCSV(t *testing.T, c *testServer, body, id string) [][]string {
	t.Helper()
	href, ok := doc(t, body).Find(`[data-testid="report-` + id + `"] [data-testid="csv-link"]`).Attr("href")
	require.True(t, ok)
	res, csvBody := c.get(t, href)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "text/csv; charset=utf-8", res.Header.Get("Content-Type"))
	assert.Contains(t, res.Header.Get("Content-Disposition"), "attachment")
	rows, err := csv.NewReader(strings.NewReader(csvBody)).ReadAll()
	require.NoError(t, err)
	return rows
}

// TestReportsSuppressExcludeAndScope: small cells are suppressed (with a
// second cell where a total would reveal the first), restricted and
// objecting learners are not counted, staff see their own Member only, and
// each CSV holds exactly the table's cells.
func TestReportsSuppressExcludeAndScope(t *testing.T) {
	ts := newTestServer(t)
	sme, cam := member(t, ts, "SME Corporation Malaysia"), member(t, ts, "EuroCham Cambodia")
	staff, _ := ts.person(t, "staff@example.org", store.RoleMemberStaff, sme)
	otherStaff, _ := ts.person(t, "other@example.org", store.RoleMemberStaff, cam)
	mine := createTraining(t, staff, trainingValues())
	v := trainingValues()
	v.Set("title", "Export rules for Cambodia")
	theirs := createTraining(t, otherStaff, v)

	enrol := func(name, country, industry, trainingID string) store.User {
		u := learnerAccount(t, ts, name, country, industry, false, true)
		require.NoError(t, ts.store.Enrol(t.Context(), u.ID, trainingID))
		return u
	}
	for i := range 6 {
		enrol(fmt.Sprintf("my%d", i), "MY", "C", mine)
	}
	for i := range 5 {
		enrol(fmt.Sprintf("th%d", i), "TH", "C", mine)
	}
	for i := range 2 {
		enrol(fmt.Sprintf("id%d", i), "ID", "G", mine)
	}
	restricted := enrol("restricted", "MY", "C", mine)
	require.NoError(t, ts.store.SetRestricted(t.Context(), restricted.ID, true))
	objecting := enrol("objecting", "MY", "C", mine)
	require.NoError(t, ts.store.SetObjection(t.Context(), objecting.ID, store.ObjectStatistics, true))
	for i := range 7 {
		enrol(fmt.Sprintf("kh%d", i), "KH", "A", theirs)
	}

	res, body := staff.get(t, "/console/reports")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, doc(t, body).Find("h1").Text(), "SME Corporation Malaysia")

	// Malaysia counts 6, not 8: the restricted and the objecting learner
	// are left out. Indonesia (2) is too small to show and is folded into
	// "All others together"; 2 alone would be hidden and the total would
	// give it away, so Thailand (5), the smallest named row, joins it and
	// the row of 7 is published instead of hiding two rows.
	country := reportTableText(t, body, "joined_country")
	assert.Equal(t, [][]string{{"Country", "People"}, {"Malaysia", "6"}, {"All others together", "7"}, {"Total", "13"}}, country)
	industry := reportTableText(t, body, "joined_industry")
	assert.Equal(t, [][]string{{"Industry", "People"}, {"All others together", "13"}, {"Total", "13"}}, industry)
	month := reportTableText(t, body, "joined_month")
	assert.Equal(t, []string{"2026-03", "13"}, month[len(month)-2])
	assert.Equal(t, []string{"2025-04", "0"}, month[1], "a year of months, zeros shown")

	// Staff see their own trainings only.
	trainings := reportTableText(t, body, "trainings")
	require.Len(t, trainings, 2)
	assert.Equal(t, []string{"Bookkeeping for micro enterprises", "13", "0", "0", "0"}, trainings[1])
	assert.NotContains(t, body, "Export rules for Cambodia")

	// Each CSV holds the same cells as its table.
	for _, id := range []string{"joined_country", "joined_industry", "joined_month", "trainings", "usage_month"} {
		assert.Equal(t, reportTableText(t, body, id), reportCSV(t, staff, body, id), id)
	}

	// The SVG chart draws every published row as a bar.
	chart := doc(t, body).Find(`[data-testid="report-joined_country"] svg`)
	assert.Zero(t, chart.Find(`rect.report-bar-suppressed`).Length())
	assert.Equal(t, 2, chart.Find(`rect.report-bar`).Length())

	// Another Member's training, report or CSV: 404 or 403, never figures.
	for _, path := range []string{"/console/reports/trainings/" + theirs, "/console/reports/trainings/" + theirs + "/csv?table=usage_month"} {
		res, _ = staff.get(t, path)
		assert.Equal(t, http.StatusNotFound, res.StatusCode, path)
	}
	for _, path := range []string{"/console/reports?member=" + cam, "/console/reports/csv?table=trainings&member=" + cam} {
		res, _ = staff.get(t, path)
		assert.Equal(t, http.StatusForbidden, res.StatusCode, path)
	}
	res, body = staff.get(t, "/console/reports/trainings/"+mine)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "/console/trainings/"+mine+"/notify", doc(t, body).Find(`[data-testid="notify-link"]`).AttrOr("href", ""))
	usage := reportTableText(t, body, "usage_month")
	assert.Equal(t, []string{"2026-03", "0", "0", "13", "0"}, usage[len(usage)-1])

	// Operators and consultants see every Member; one Member on request.
	consultant, _ := ts.person(t, "consultant@example.org", store.RoleConsultant, "")
	res, body = consultant.get(t, "/console/reports")
	require.Equal(t, http.StatusOK, res.StatusCode)
	trainings = reportTableText(t, body, "trainings")
	assert.Len(t, trainings, 3)
	assert.Contains(t, reportTableText(t, body, "joined_country"), []string{"Cambodia", "7"})
	res, body = consultant.get(t, "/console/reports?member="+cam)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, [][]string{{"Country", "People"}, {"Cambodia", "7"}, {"Total", "7"}}, reportTableText(t, body, "joined_country"))
	res, body = consultant.get(t, "/console/reports/trainings/"+mine)
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Zero(t, doc(t, body).Find(`[data-testid="notify-link"]`).Length(), "a consultant monitors, and sends nothing")

	// Learners have no reports.
	learner := ts.newClient(t)
	learner.logIn(t, "my0@example.org", "/")
	res, _ = learner.get(t, "/console/reports")
	assert.Equal(t, http.StatusForbidden, res.StatusCode)
}

// TestReportParametersOutOfRange: 422 for months that do not parse, lie
// outside 2000..now, run backwards or span too long; also on CSV routes.
func TestReportParametersOutOfRange(t *testing.T) {
	ts := newTestServer(t)
	staff, _ := ts.person(t, "staff@example.org", store.RoleMemberStaff, member(t, ts, "SME Corporation Malaysia"))
	id := createTraining(t, staff, trainingValues())
	op, _ := ts.person(t, "op@example.org", store.RoleOperator, "")
	for _, q := range []string{"from=2026-13", "from=1999-12", "to=2026-04", "from=2026-03&to=2026-01", "from=2020-01&to=2026-03",
		"from=2026", "from=2026-01&from=2026-02", "from=%00"} {
		for _, path := range []string{"/console/reports?", "/console/reports/csv?table=usage_month&", "/console/reports/trainings/" + id + "?",
			"/console/reports/trainings/" + id + "/csv?table=usage_month&"} {
			res, _ := staff.get(t, path+q)
			assert.Equal(t, http.StatusUnprocessableEntity, res.StatusCode, path+q)
		}
	}
	res, _ := staff.get(t, "/console/reports/csv?table=nope")
	assert.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	res, body := op.get(t, "/console/reports?member=nope")
	assert.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	assert.Equal(t, 1, doc(t, body).Find(`[data-testid="error-member"]`).Length())
	res, _ = staff.get(t, "/console/reports?from=2021-04&to=2026-03")
	assert.Equal(t, http.StatusOK, res.StatusCode, "sixty months is the limit")
}

func TestPublishSuppression(t *testing.T) {
	cells := publish([][]int64{{6, 0}, {5, 3}, {2, 9}, {0, 12}}, 5, true)
	assert.False(t, cells[0][0].Suppressed)
	assert.True(t, cells[1][0].Suppressed, "secondary: the smallest other count")
	assert.True(t, cells[2][0].Suppressed, "primary")
	assert.Equal(t, int64(0), cells[3][0].N)
	assert.False(t, cells[3][0].Suppressed, "zero describes nobody")
	assert.True(t, cells[1][1].Suppressed)
	assert.True(t, cells[2][1].Suppressed, "secondary in the second column")
	assert.False(t, cells[3][1].Suppressed)
	two := publish([][]int64{{2}, {3}, {9}}, 5, true)
	assert.False(t, two[2][0].Suppressed, "two small counts already hide each other")
	lone := publish([][]int64{{3}, {10}, {12}}, 5, false)
	assert.True(t, lone[0][0].Suppressed)
	assert.False(t, lone[1][0].Suppressed, "no total published: nothing to recover the 3 from, nothing more hidden")
	for _, row := range publish([][]int64{{1}, {4}, {7}, {100}}, 5, true) {
		if row[0].Suppressed {
			assert.Zero(t, row[0].N, "a suppressed cell carries no number")
		}
	}
}

// FuzzParseReportPeriod: report parameters from the URL never panic, and an
// accepted period is whole months within bounds.
func FuzzParseReportPeriod(f *testing.F) {
	for _, s := range []string{"", "from=2026-01&to=2026-03", "from=2026-13", "from=1999-12", "to=9999-12", "from=2026-03&to=2026-01",
		"from=%00", "from=2026-1", "from=+2026-01", "from=2026-01&from=2026-02"} {
		f.Add(s)
	}
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		p, from, to, errs := parseReportPeriod(i18n.NewPrinter("en", nil, "kelas"), q, now)
		if len(errs) > 0 {
			return
		}
		require.False(t, p.From.After(p.To))
		require.GreaterOrEqual(t, p.From.Year(), 2000)
		require.False(t, p.To.After(now))
		months := p.months()
		require.NotEmpty(t, months)
		require.LessOrEqual(t, len(months), maxReportMonths)
		require.Equal(t, months[0], from)
		require.Equal(t, months[len(months)-1], to)
	})
}

// TestReportRulesServeMembers: a training with 10 learners shows its
// figures, grades included; a country of 3 is hidden and cannot be
// recomputed from the totals shown; small trainings are counted together;
// a restricted learner is left out without a trace.
func TestReportRulesServeMembers(t *testing.T) {
	ts := newTestServer(t)
	ctx := t.Context()
	sme := member(t, ts, "SME Corporation Malaysia")
	mk := func(title string) (store.Training, store.Question) {
		tr, err := ts.store.CreateTraining(ctx, sme, "", store.TrainingInput{Title: title, Summary: "s", Language: "en",
			Kind: store.KindSelfStudy, PassMark: 60, Published: true})
		require.NoError(t, err)
		q, err := ts.store.AddQuestion(ctx, tr.ID, "Which?", []store.Choice{{Label: "a", Correct: true}, {Label: "b"}})
		require.NoError(t, err)
		return tr, q
	}
	big, bq := mk("Bookkeeping")
	small, sq := mk("Niche topic")
	n := 0
	learner := func(country string, tr store.Training, q store.Question, right bool) store.User {
		n++
		u := learnerAccount(t, ts, fmt.Sprintf("l%02d", n), country, "C", false, true)
		require.NoError(t, ts.store.Enrol(ctx, u.ID, tr.ID))
		choice := q.Choices[1].ID
		if right {
			choice = q.Choices[0].ID
		}
		_, err := ts.store.SubmitQuiz(ctx, u.ID, tr, map[string]string{q.ID: choice})
		require.NoError(t, err)
		return u
	}
	// Bookkeeping: 10 learners, 6 from Malaysia, 1 from Singapore, 3 from
	// Indonesia; 6 pass with 100%, 4 fail with 0%.
	for i := range 10 {
		country := "MY"
		switch {
		case i == 6:
			country = "SG"
		case i > 6:
			country = "ID"
		}
		learner(country, big, bq, i < 6)
	}
	// Exports: 5 learners from Singapore, all passing.
	exports, eq := mk("Exports")
	for range 5 {
		learner("SG", exports, eq, true)
	}
	// Niche topic: 2 learners, both Malaysian, both failing.
	learner("MY", small, sq, false)
	learner("MY", small, sq, false)
	// A restricted learner of Bookkeeping counts nowhere.
	restricted := learner("VN", big, bq, true)
	require.NoError(t, ts.store.SetRestricted(ctx, restricted.ID, true))

	op, _ := ts.person(t, "op@example.org", store.RoleConsultant, "")
	res, body := op.get(t, "/console/reports")
	require.Equal(t, http.StatusOK, res.StatusCode)

	trainings := reportTableText(t, body, "trainings")
	assert.Contains(t, trainings, []string{"Bookkeeping", "10", "0", "0", "0"}, "10 learners: figures shown, none suppressed")
	assert.Contains(t, trainings, []string{"Exports", "5", "0", "0", "0"})
	assert.Contains(t, trainings, []string{"Trainings with fewer learners, together", "suppressed", "0", "0", "0"})
	assert.NotContains(t, body, "Niche topic", "a training of 2 is not named")

	grades := reportTableText(t, body, "grades")
	assert.Equal(t, [][]string{{"Training", "Learners graded", "Mean grade %", "Median grade %", "Pass rate %"},
		{"Bookkeeping", "10", "60", "100", "60"}, {"Exports", "5", "100", "100", "100"}}, grades)

	// Indonesia (3) and Thailand (1) are hidden, and no published figure
	// nor difference of published figures in the table gives the 3 back.
	country := reportTableText(t, body, "joined_country")
	var published []int
	for _, row := range country[1:] {
		assert.NotEqual(t, "Indonesia", row[0])
		assert.NotEqual(t, "Vietnam", row[0], "the restricted learner leaves no row")
		v, err := strconv.Atoi(row[1])
		require.NoError(t, err, "every row is published: %v", row)
		published = append(published, v)
	}
	total := published[len(published)-1]
	assert.Equal(t, 18, total, "17 learners and the consultant's learner account; the restricted one left out")
	rows := published[:len(published)-1]
	for mask := 0; mask < 1<<len(rows); mask++ {
		sum := 0
		for i, v := range rows {
			if mask&(1<<i) != 0 {
				sum += v
			}
		}
		assert.NotEqual(t, 3, sum, "a sum of rows")
		assert.NotEqual(t, 3, total-sum, "the total less some rows")
	}
	// Indonesia's 3 and one "not given" alone would be hidden and given
	// away by the total, so Singapore (6), the smallest named row, joins
	// them: 10 together.
	assert.Equal(t, [][]string{{"Country", "People"}, {"Malaysia", "8"}, {"All others together", "10"}, {"Total", "18"}}, country)
}
