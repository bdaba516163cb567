package app

import (
	"context"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"kelas/i18n"
	"kelas/store"
	"kelas/views"
)

// Reports for Members and operators: aggregate figures only, small counts
// suppressed, restricted and objecting learners left out (in the store's
// queries), each table drawn as an SVG chart beside an accessible table and
// downloadable as CSV with exactly the same cells.

const (
	monthLayout     = "2006-01"
	maxReportMonths = 60 // the longest period one report covers
	defaultMonths   = 12
)

func (a *App) reportMinCell() int64 {
	if a.cfg.ReportMinCell > 0 {
		return int64(a.cfg.ReportMinCell)
	}
	return 5
}

// reportPeriod is a parsed period: whole months from From to To, inclusive.
type reportPeriod struct {
	From, To time.Time // first day of the first and of the last month
}

func (p reportPeriod) months() []string {
	var out []string
	for m := p.From; !m.After(p.To); m = m.AddDate(0, 1, 0) {
		out = append(out, m.Format(monthLayout))
	}
	return out
}

// scope is the store's half-open interval over the period.
func (p reportPeriod) scope() store.ReportScope {
	return store.ReportScope{From: p.From, To: p.To.AddDate(0, 1, 0)}
}

// parseReportPeriod reads ?from=YYYY-MM&to=YYYY-MM (both optional; the
// last twelve months by default). It accepts only one value per field, no
// month before 2000 or after the current one, from not after to, and at
// most maxReportMonths months; anything else is an error per field.
func parseReportPeriod(pr *i18n.Printer, q url.Values, now time.Time) (reportPeriod, string, string, views.Errors) {
	errs := views.Errors{}
	cur := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	p := reportPeriod{From: cur.AddDate(0, -(defaultMonths - 1), 0), To: cur}
	read := func(name, format string, dst *time.Time) string {
		vs, ok := q[name]
		if !ok {
			return dst.Format(monthLayout)
		}
		if len(vs) != 1 || len(vs[0]) != len(monthLayout) {
			errs[name] = pr.T(format)
			return strings.Join(vs, "")
		}
		t, err := time.Parse(monthLayout, vs[0])
		switch {
		case err != nil:
			errs[name] = pr.T(format)
		case t.Year() < 2000 || t.After(cur):
			errs[name] = pr.T("reports.error.month_range", "first", pr.Number(2000))
		default:
			*dst = t
		}
		return vs[0]
	}
	from := read("from", "reports.error.from_format", &p.From)
	to := read("to", "reports.error.to_format", &p.To)
	if len(errs) == 0 {
		switch n := (p.To.Year()-p.From.Year())*12 + int(p.To.Month()-p.From.Month()) + 1; {
		case n < 1:
			errs["to"] = pr.T("reports.error.order")
		case n > maxReportMonths:
			errs["to"] = pr.N("reports.error.too_long", maxReportMonths)
		}
	}
	return p, from, to, errs
}

// publish turns raw counts (rows × columns) into published cells. A count
// from 1 to min-1 is suppressed. When totals is set, the column's total is
// published (here or in another table) and would give a lone hidden count
// away by subtraction: in a column where exactly one count was hidden, the
// smallest other non-zero count is suppressed too. Both read the same, so
// a reader cannot tell the small one from the other. Without a published
// total nothing can be recovered, and nothing more is hidden. This is the
// usual primary and secondary cell suppression; it narrows what can be
// inferred across tables and periods but does not audit every combination.
func publish(raw [][]int64, min int64, totals bool) [][]views.ReportCell {
	out := make([][]views.ReportCell, len(raw))
	for i, row := range raw {
		out[i] = make([]views.ReportCell, len(row))
		for j, n := range row {
			if n > 0 && n < min {
				out[i][j] = views.ReportCell{Suppressed: true}
			} else {
				out[i][j] = views.ReportCell{N: n}
			}
		}
	}
	if len(raw) == 0 || !totals {
		return out
	}
	for j := range raw[0] {
		hidden, smallest := 0, -1
		for i := range raw {
			switch {
			case out[i][j].Suppressed:
				hidden++
			case raw[i][j] > 0 && (smallest < 0 || raw[i][j] < raw[smallest][j]):
				smallest = i
			}
		}
		if hidden == 1 && smallest >= 0 {
			out[smallest][j] = views.ReportCell{Suppressed: true}
		}
	}
	return out
}

// reportTable assembles one table. labels and links go with the rows of
// raw; withTotal adds a total row, itself suppressed when small.
func (a *App) reportTable(t views.ReportTable, labels, links []string, raw [][]int64, withTotal bool) views.ReportTable {
	min := a.reportMinCell()
	t.MinCell = int(min)
	cells := publish(raw, min, withTotal)
	for i, l := range labels {
		row := views.ReportRow{Label: l, Cells: cells[i]}
		if links != nil {
			row.Link = links[i]
		}
		t.Rows = append(t.Rows, row)
	}
	if withTotal && len(raw) > 0 {
		sums := make([]int64, len(t.Columns))
		for _, row := range raw {
			for j, n := range row {
				sums[j] += n
			}
		}
		t.Total = &views.ReportRow{Label: "Total", Cells: publish([][]int64{sums}, min, false)[0]}
	}
	return t
}

// groupSmall folds the values counted fewer than min times into one
// "All others together" row, so small groups are never listed by name.
// When that row would itself be under min, the smallest named groups join
// it until it is not: it is then published instead of being hidden along
// with a whole group to keep the total from giving it away (one objection
// must not hide a country).
func groupSmall(counts []store.ReportCount, min int64, label func(string) string, othersLabel string) ([]string, [][]int64) {
	var named []store.ReportCount
	var others int64
	for _, c := range counts {
		if c.N < min {
			others += c.N
			continue
		}
		named = append(named, c)
	}
	for others > 0 && others < min && len(named) > 0 {
		smallest := 0
		for i, c := range named {
			if c.N < named[smallest].N || c.N == named[smallest].N && c.Key > named[smallest].Key {
				smallest = i
			}
		}
		others += named[smallest].N
		named = append(named[:smallest], named[smallest+1:]...)
	}
	var labels []string
	var raw [][]int64
	for _, c := range named {
		labels, raw = append(labels, label(c.Key)), append(raw, []int64{c.N})
	}
	if others > 0 {
		labels, raw = append(labels, othersLabel), append(raw, []int64{others})
	}
	return labels, raw
}

// gradeFigures are the published grade figures of one group of learners:
// how many, mean and median of their best scores, and the pass rate, in
// whole percent.
func gradeFigures(scores []int, passed int) []int64 {
	sorted := append([]int(nil), scores...)
	sort.Ints(sorted)
	sum := 0
	for _, s := range sorted {
		sum += s
	}
	n := len(sorted)
	median := float64(sorted[n/2])
	if n%2 == 0 {
		median = float64(sorted[n/2-1]+sorted[n/2]) / 2
	}
	return []int64{int64(n), int64(math.Round(float64(sum) / float64(n))), int64(math.Round(median)),
		int64(math.Round(100 * float64(passed) / float64(n)))}
}

func countryLabel(p *i18n.Printer) func(string) string {
	return func(code string) string {
		if code == "" {
			return p.T("reports.not_given")
		}
		if n := store.CountryName(code); n != "" {
			return p.Country(code, n)
		}
		return code
	}
}

func industryLabel(p *i18n.Printer) func(string) string {
	return func(code string) string {
		if code == "" {
			return p.T("reports.not_given")
		}
		if store.IndustryName(code) != "" {
			return views.IndustryName(p, code)
		}
		return code
	}
}

// reportTables builds every table of a report on sc over period p. csvBase
// is the CSV URL of the report, to which "table=ID" is added.
func (a *App) reportTables(ctx context.Context, sc store.ReportScope, p reportPeriod, csvBase string, overview bool) ([]views.ReportTable, error) {
	min := a.reportMinCell()
	months := p.months()
	pr := i18n.From(ctx)
	csvURL := func(id string) string { return csvBase + "&table=" + id }
	learners := sc.MemberID != "" || sc.TrainingID != ""
	joined := func(registrations, learnersKey string) string {
		if learners {
			return pr.T(learnersKey)
		}
		return pr.T(registrations)
	}
	var tables []views.ReportTable

	if overview {
		counts, err := a.store.ReportJoined(ctx, sc, store.ReportByMonth)
		if err != nil {
			return nil, err
		}
		byMonth := map[string]int64{}
		for _, c := range counts {
			byMonth[c.Key] = c.N
		}
		raw := make([][]int64, len(months))
		for i, m := range months {
			raw[i] = []int64{byMonth[m]}
		}
		tables = append(tables, a.reportTable(views.ReportTable{ID: "joined_month", Title: joined("reports.table.joined_month", "reports.table.joined_month_learners"),
			RowHeader: pr.T("reports.column.month"), Columns: []string{pr.T("reports.column.people")}, Chart: views.ChartColumns, CSV: csvURL("joined_month")}, months, nil, raw, true))
	}
	for _, dim := range []struct{ id, by, title, header string }{
		{"joined_country", store.ReportByCountry, joined("reports.table.joined_country", "reports.table.joined_country_learners"), pr.T("reports.column.country")},
		{"joined_industry", store.ReportByIndustry, joined("reports.table.joined_industry", "reports.table.joined_industry_learners"), pr.T("reports.column.industry")},
	} {
		counts, err := a.store.ReportJoined(ctx, sc, dim.by)
		if err != nil {
			return nil, err
		}
		label := countryLabel(pr)
		if dim.by == store.ReportByIndustry {
			label = industryLabel(pr)
		}
		labels, raw := groupSmall(counts, min, label, pr.T("reports.others"))
		tables = append(tables, a.reportTable(views.ReportTable{ID: dim.id, Title: dim.title, RowHeader: dim.header,
			Columns: []string{pr.T("reports.column.people")}, Chart: views.ChartBars, CSV: csvURL(dim.id)}, labels, nil, raw, true))
	}
	if overview {
		use, err := a.store.ReportTrainingUse(ctx, sc)
		if err != nil {
			return nil, err
		}
		var labels, links []string
		var raw [][]int64
		small := make([]int64, 4)
		smallCount := 0
		for _, u := range use {
			// Trainings are named with their figures once they have at
			// least min learners (enrolled or active in the period); the
			// others are counted together.
			if max(u.Enrolled, u.Learners) < min {
				for j, n := range []int64{u.Enrolled, u.Completed, u.Learners, u.Accesses} {
					small[j] += n
				}
				smallCount++
				continue
			}
			labels = append(labels, u.Title)
			links = append(links, "/console/reports/trainings/"+u.TrainingID+"?from="+months[0]+"&to="+months[len(months)-1])
			raw = append(raw, []int64{u.Enrolled, u.Completed, u.Learners, u.Accesses})
		}
		if smallCount > 0 {
			labels, links, raw = append(labels, pr.T("reports.small_trainings")), append(links, ""), append(raw, small)
		}
		tables = append(tables, a.reportTable(views.ReportTable{ID: "trainings", Title: pr.T("reports.table.trainings"),
			RowHeader: pr.T("reports.column.training"), Columns: []string{pr.T("reports.column.enrolments"), pr.T("reports.column.completions"), pr.T("reports.column.opened"), pr.T("reports.column.accesses")},
			Chart: views.ChartBars, CSV: csvURL("trainings")}, labels, links, raw, false))
	}
	grades, err := a.store.ReportGrades(ctx, sc)
	if err != nil {
		return nil, err
	}
	var glabels []string
	var graw [][]int64
	for _, g := range grades {
		// Figures of fewer than min learners would describe them: such
		// trainings are left out of this table.
		if int64(len(g.Scores)) < min {
			continue
		}
		glabels, graw = append(glabels, g.Title), append(graw, gradeFigures(g.Scores, g.Passed))
	}
	tables = append(tables, views.ReportTable{ID: "grades", Title: pr.N("reports.table.grades", int(min)), RowHeader: pr.T("reports.column.training"),
		Columns: []string{pr.T("reports.column.graded"), pr.T("reports.column.mean"), pr.T("reports.column.median"), pr.T("reports.column.pass_rate")}, Chart: views.ChartBars,
		CSV: csvURL("grades"), MinCell: int(min), Rows: gradeRows(glabels, graw)})
	usage, err := a.store.ReportUsageByMonth(ctx, sc)
	if err != nil {
		return nil, err
	}
	byMonth := map[string]store.MonthUse{}
	for _, u := range usage {
		byMonth[u.Month] = u
	}
	raw := make([][]int64, len(months))
	for i, m := range months {
		u := byMonth[m]
		raw[i] = []int64{u.Accesses, u.Learners, u.Enrolments, u.Completions}
	}
	tables = append(tables, a.reportTable(views.ReportTable{ID: "usage_month", Title: pr.T("reports.table.usage_month"), RowHeader: pr.T("reports.column.month"),
		Columns: []string{pr.T("reports.column.accesses"), pr.T("reports.column.active"), pr.T("reports.column.enrolments"), pr.T("reports.column.completions")}, Chart: views.ChartColumns,
		CSV: csvURL("usage_month")}, months, nil, raw, false))
	for i := range tables {
		tables[i].SuppressedText = pr.T("reports.suppressed")
		if tables[i].Total != nil {
			tables[i].Total.Label = pr.T("reports.total")
		}
	}
	return tables, nil
}

// gradeRows publishes grade figures as they are: each row describes at
// least min learners.
func gradeRows(labels []string, raw [][]int64) []views.ReportRow {
	var out []views.ReportRow
	for i, l := range labels {
		row := views.ReportRow{Label: l}
		for _, n := range raw[i] {
			row.Cells = append(row.Cells, views.ReportCell{N: n})
		}
		out = append(out, row)
	}
	return out
}

// reportRequest is a parsed overview request.
type reportRequest struct {
	period   reportPeriod
	filter   views.ReportFilter
	memberID string
	heading  string
}

// overviewRequest reads and authorises the overview's parameters. Staff
// always get their own Member; asking for another is refused (403).
func (a *App) overviewRequest(r *http.Request) (reportRequest, actor, error) {
	x := actorFrom(r.Context())
	q := r.URL.Query()
	p, from, to, errs := parseReportPeriod(i18n.From(r.Context()), q, a.clock())
	req := reportRequest{period: p, filter: views.ReportFilter{Action: "/console/reports", From: from, To: to, Errors: errs}}
	req.memberID = q.Get("member")
	if len(q["member"]) > 1 {
		errs["member"] = tr(r, "reports.error.one_member")
	}
	if req.memberID == "" && x.staff != nil && !x.isOperator() {
		req.memberID = x.staff.MemberID
	}
	if !mayViewReports(x, req.memberID) {
		return req, x, errForbidden
	}
	req.heading = tr(r, "reports.heading.all")
	if req.memberID != "" {
		m, err := a.store.Member(r.Context(), req.memberID)
		if !store.ValidID(req.memberID) || err != nil {
			errs["member"] = tr(r, "reports.error.member")
		} else {
			req.heading = tr(r, "reports.heading.member", "member", m.Name)
		}
	}
	req.filter.MemberID = req.memberID
	if x.isOperator() {
		ms, err := a.store.Members(r.Context())
		if err != nil {
			return req, x, err
		}
		var opts []views.Option
		for _, m := range ms {
			opts = append(opts, views.Option{Value: m.ID, Label: m.Name})
		}
		req.filter.Members = []views.OptionGroup{{Options: opts}}
	}
	return req, x, nil
}

func (req reportRequest) csvBase(path string) string {
	v := url.Values{"from": {req.filter.From}, "to": {req.filter.To}}
	if req.memberID != "" {
		v.Set("member", req.memberID)
	}
	return path + "?" + v.Encode()
}

// GET /console/reports
func (a *App) handleReports(w http.ResponseWriter, r *http.Request) error {
	req, x, err := a.overviewRequest(r)
	if err != nil {
		return err
	}
	v := views.ReportsView{Nav: a.consoleNav(r.Context(), x), Heading: req.heading, Filter: req.filter, MinCell: int(a.reportMinCell()),
		Intro: tr(r, "reports.intro.overview")}
	if len(req.filter.Errors) > 0 {
		return a.render(w, r, http.StatusUnprocessableEntity, views.Reports(a.page(r, tr(r, "reports.title")), v))
	}
	sc := req.period.scope()
	sc.MemberID = req.memberID
	tables, err := a.reportTables(r.Context(), sc, req.period, req.csvBase("/console/reports/csv"), true)
	if err != nil {
		return err
	}
	v.Tables = tables
	return a.render(w, r, http.StatusOK, views.Reports(a.page(r, tr(r, "reports.title")), v))
}

// GET /console/reports/csv?table=ID&from=…&to=…[&member=…]
func (a *App) handleReportsCSV(w http.ResponseWriter, r *http.Request) error {
	req, _, err := a.overviewRequest(r)
	if err != nil {
		return err
	}
	if len(req.filter.Errors) > 0 {
		return errBadReport
	}
	sc := req.period.scope()
	sc.MemberID = req.memberID
	tables, err := a.reportTables(r.Context(), sc, req.period, req.csvBase("/console/reports/csv"), true)
	if err != nil {
		return err
	}
	return a.sendReportCSV(w, r, tables, "kelas-report", req.filter.From, req.filter.To)
}

// errBadReport answers report parameters out of range on a CSV route.
var errBadReport = &Error{Status: http.StatusUnprocessableEntity, Key: "error.bad_report", Args: []any{"months", maxReportMonths}, Link: "/console/reports"}

// sendReportCSV sends the table named by ?table= as CSV: the same header,
// labels and cell texts as the HTML table.
func (a *App) sendReportCSV(w http.ResponseWriter, r *http.Request, tables []views.ReportTable, prefix, from, to string) error {
	id := r.URL.Query().Get("table")
	for _, t := range tables {
		if t.ID != id {
			continue
		}
		rows := [][]string{append([]string{t.RowHeader}, t.Columns...)}
		add := func(row views.ReportRow) {
			line := []string{csvCell(row.Label)}
			for _, c := range row.Cells {
				line = append(line, t.CellText(c))
			}
			rows = append(rows, line)
		}
		for _, row := range t.Rows {
			add(row)
		}
		if t.Total != nil {
			add(*t.Total)
		}
		return a.writeCSV(w, r, prefix+"-"+t.ID+"-"+from+"-"+to+".csv", rows)
	}
	return errBadReport
}

// trainingReportIn loads the training of a per-training report. Staff of
// another Member get 404, as everywhere: they learn nothing about it.
func (a *App) trainingReportIn(r *http.Request) (store.Training, actor, error) {
	x := actorFrom(r.Context())
	t, err := load(r, "id", a.store.Training)
	if err == nil && !mayViewReports(x, t.MemberID) {
		err = errNotFound
	}
	return t, x, err
}

// GET /console/reports/trainings/{id}
func (a *App) handleTrainingReport(w http.ResponseWriter, r *http.Request) error {
	t, x, err := a.trainingReportIn(r)
	if err != nil {
		return err
	}
	p, from, to, errs := parseReportPeriod(i18n.From(r.Context()), r.URL.Query(), a.clock())
	base := "/console/reports/trainings/" + t.ID
	v := views.ReportsView{Nav: a.consoleNav(r.Context(), x), Heading: tr(r, "reports.heading.training", "title", t.Title), Back: "/console/reports?from=" + from + "&to=" + to,
		Intro:  tr(r, "reports.intro.training"),
		Filter: views.ReportFilter{Action: base, From: from, To: to, Errors: errs}, MinCell: int(a.reportMinCell())}
	if mayRequestFeedback(x, t) {
		v.Notify = "/console/trainings/" + t.ID + "/notify"
	}
	if len(errs) > 0 {
		return a.render(w, r, http.StatusUnprocessableEntity, views.Reports(a.page(r, tr(r, "reports.title_training_plain")), v))
	}
	sc := p.scope()
	sc.TrainingID = t.ID
	csvBase := base + "/csv?" + url.Values{"from": {from}, "to": {to}}.Encode()
	tables, err := a.reportTables(r.Context(), sc, p, csvBase, false)
	if err != nil {
		return err
	}
	v.Tables = tables
	return a.render(w, r, http.StatusOK, views.Reports(a.page(r, tr(r, "reports.heading.training", "title", t.Title)), v))
}

// GET /console/reports/trainings/{id}/csv?table=ID&from=…&to=…
func (a *App) handleTrainingReportCSV(w http.ResponseWriter, r *http.Request) error {
	t, _, err := a.trainingReportIn(r)
	if err != nil {
		return err
	}
	p, from, to, errs := parseReportPeriod(i18n.From(r.Context()), r.URL.Query(), a.clock())
	if len(errs) > 0 {
		return errBadReport
	}
	sc := p.scope()
	sc.TrainingID = t.ID
	csvBase := "/console/reports/trainings/" + t.ID + "/csv?" + url.Values{"from": {from}, "to": {to}}.Encode()
	tables, err := a.reportTables(r.Context(), sc, p, csvBase, false)
	if err != nil {
		return err
	}
	return a.sendReportCSV(w, r, tables, "kelas-report-training", from, to)
}
