package store

import (
	"context"
	"fmt"
	"sort"
	"time"
)

// Report dimensions of ReportJoined.
const (
	ReportByMonth    = "month"
	ReportByCountry  = "country"
	ReportByIndustry = "industry"
)

// ReportScope narrows a report: to one Member's trainings, to one training,
// and to a period [From, To).
type ReportScope struct {
	MemberID   string
	TrainingID string
	From, To   time.Time
}

// ReportCount is one value of a dimension and how many people it counts.
type ReportCount struct {
	Key string
	N   int64
}

// reportIncluded is the SQL condition, on users u, for being counted in a
// report at all: a learner whose processing is not restricted and who does
// not object to statistics. Every report query applies it, so the people
// who asked are left out of every figure, small or large.
const reportIncluded = `u.role = 'learner'
	AND NOT EXISTS (SELECT 1 FROM user_restrictions r WHERE r.user_id = u.id)
	AND NOT EXISTS (SELECT 1 FROM user_objections o WHERE o.user_id = u.id AND o.purpose = '` + ObjectStatistics + `')`

// reportExcluded is the set of people left out of every report, as one
// list: everyone who is not a learner, and the restricted and objecting.
// Rows whose person must exist (a foreign key, or activity_days, which the
// writer fills only for existing people and erasure empties) are counted
// when their user_id is not in it. SQLite builds the list once per query,
// where reportIncluded looks up the person of every row: the same people,
// for a fraction of the cost when a query reads many rows.
const reportExcluded = `SELECT id FROM users WHERE role < 'learner' UNION ALL SELECT id FROM users WHERE role > 'learner'
	UNION ALL SELECT user_id FROM user_restrictions
	UNION ALL SELECT user_id FROM user_objections WHERE purpose = '` + ObjectStatistics + `'`

// population is the people a scope reports on, each with when they joined
// it: for everything, learners by registration; for a Member, learners by
// their first enrolment in its trainings; for a training, by enrolment.
func (sc ReportScope) population() (string, []any) {
	switch {
	case sc.TrainingID != "":
		return "SELECT user_id, enrolled_at AS joined_at FROM enrolments WHERE training_id = ?", []any{sc.TrainingID}
	case sc.MemberID != "":
		return `SELECT e.user_id, MIN(e.enrolled_at) AS joined_at FROM enrolments e JOIN trainings t ON t.id = e.training_id
			WHERE t.member_id = ? GROUP BY e.user_id`, []any{sc.MemberID}
	}
	return "SELECT id AS user_id, created_at AS joined_at FROM users", nil
}

// trainingFilter narrows a query joined to trainings t to the scope.
func (sc ReportScope) trainingFilter() (string, []any) {
	switch {
	case sc.TrainingID != "":
		return " AND t.id = ?", []any{sc.TrainingID}
	case sc.MemberID != "":
		return " AND t.member_id = ?", []any{sc.MemberID}
	}
	return "", nil
}

// activitySource is where a report reads activity from: the per-day
// counts (activity_days, see migration 0034) when the period's bounds fall
// on UTC midnights, as every report period does, and otherwise the log
// itself. Both give the same figures: activity_days holds exactly the
// log's rows counted per training, day and person, so summing n over whole
// days is counting rows, and distinct people stay distinct. Who is
// included (reportIncluded) is decided at read time in both.
type activitySource struct {
	table    string // aliased a, with user_id and training_id, and the people counted
	included string // the condition for a row to count
	count    string // the number of events in a group
	at       string // the column the period bounds
	from, to string // the period in that column's format
	month    string // the month of a row, YYYY-MM
}

func (sc ReportScope) activity(live bool) activitySource {
	day := func(t time.Time) bool { return t.Equal(t.UTC().Truncate(24 * time.Hour)) }
	if live || !day(sc.From) || !day(sc.To) {
		return activitySource{table: "activity_log a JOIN users u ON u.id = a.user_id", included: reportIncluded, count: "COUNT(*)",
			at: "a.at", from: ts(sc.From), to: ts(sc.To), month: "substr(a.at, 1, 7)"}
	}
	return activitySource{table: "activity_days a", included: "a.user_id NOT IN (" + reportExcluded + ")", count: "SUM(a.n)",
		at: "a.day", from: sc.From.UTC().Format(time.DateOnly), to: sc.To.UTC().Format(time.DateOnly), month: "substr(a.day, 1, 7)"}
}

// ReportJoined counts the people who joined the scope in the period, by
// month (oldest first), country or industry (largest first). Counts are
// exact: suppressing small ones is the caller's job.
func (s *Store) ReportJoined(ctx context.Context, sc ReportScope, by string) ([]ReportCount, error) {
	var key, order string
	switch by {
	case ReportByMonth:
		key, order = "substr(p.joined_at, 1, 7)", "k"
	case ReportByCountry:
		key, order = "COALESCE(u.country, '')", "n DESC, k"
	case ReportByIndustry:
		key, order = "COALESCE(u.industry, '')", "n DESC, k"
	default:
		return nil, fmt.Errorf("store: report: unknown dimension %q", by)
	}
	pop, args := sc.population()
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+key+` AS k, COUNT(*) AS n FROM (`+pop+`) p JOIN users u ON u.id = p.user_id
		WHERE p.joined_at >= ? AND p.joined_at < ? AND `+reportIncluded+` GROUP BY k ORDER BY `+order,
		append(args, ts(sc.From), ts(sc.To))...)
	if err != nil {
		return nil, fmt.Errorf("store: report joined: %w", err)
	}
	defer rows.Close()
	var out []ReportCount
	for rows.Next() {
		var c ReportCount
		if err := rows.Scan(&c.Key, &c.N); err != nil {
			return nil, fmt.Errorf("store: report joined: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if sc.TrainingID != "" || sc.MemberID != "" {
		return out, nil
	}
	// Registrations of people erased since: kept as anonymous counts.
	col := map[string]string{ReportByMonth: "k1", ReportByCountry: "k2", ReportByIndustry: "k3"}[by]
	from, to := monthRange(sc)
	arows, err := s.rdb.QueryContext(ctx, `SELECT `+col+`, SUM(n) FROM anonymous_counts WHERE kind = 'registration'
		AND k1 BETWEEN ? AND ? GROUP BY `+col, from, to)
	if err != nil {
		return nil, fmt.Errorf("store: report joined: %w", err)
	}
	defer arows.Close()
	for arows.Next() {
		var c ReportCount
		if err := arows.Scan(&c.Key, &c.N); err != nil {
			return nil, fmt.Errorf("store: report joined: %w", err)
		}
		out = addCount(out, c)
	}
	if err := arows.Err(); err != nil {
		return nil, err
	}
	sort.SliceStable(out, func(i, j int) bool {
		if by == ReportByMonth {
			return out[i].Key < out[j].Key
		}
		return out[i].N > out[j].N || out[i].N == out[j].N && out[i].Key < out[j].Key
	})
	return out, nil
}

func addCount(cs []ReportCount, c ReportCount) []ReportCount {
	for i := range cs {
		if cs[i].Key == c.Key {
			cs[i].N += c.N
			return cs
		}
	}
	return append(cs, c)
}

// monthRange and dayRange bound a report period in the resolution of the
// anonymous counts (months for people, days for activity).
func monthRange(sc ReportScope) (string, string) {
	return sc.From.UTC().Format("2006-01"), sc.To.UTC().Add(-time.Nanosecond).Format("2006-01")
}

func dayRange(sc ReportScope) (string, string) {
	return sc.From.UTC().Format("2006-01-02"), sc.To.UTC().Add(-time.Nanosecond).Format("2006-01-02")
}

// TrainingUse is how one training was used in a period.
type TrainingUse struct {
	TrainingID, Title string
	Enrolled          int64 // enrolments made in the period
	Completed         int64 // completions in the period
	Learners          int64 // distinct learners with any recorded access
	Accesses          int64 // recorded accesses (activity log entries)
}

// ReportTrainingUse lists access and completion per training in scope:
// the trainings first, then one grouped query per measure, so the cost
// grows with the rows in the period, not with rows times trainings.
func (s *Store) ReportTrainingUse(ctx context.Context, sc ReportScope) ([]TrainingUse, error) {
	return s.reportTrainingUse(ctx, sc, false)
}

// reportTrainingUse is ReportTrainingUse, reading activity from the log
// itself when live is set (the tests' and benchmarks' reference).
func (s *Store) reportTrainingUse(ctx context.Context, sc ReportScope, live bool) ([]TrainingUse, error) {
	from, to := ts(sc.From), ts(sc.To)
	act := sc.activity(live)
	filter, fargs := sc.trainingFilter()
	rows, err := s.rdb.QueryContext(ctx, "SELECT t.id, t.title FROM trainings t WHERE 1 = 1"+filter+" ORDER BY t.title, t.id", fargs...)
	if err != nil {
		return nil, fmt.Errorf("store: report training use: %w", err)
	}
	var out []TrainingUse
	index := map[string]int{}
	for rows.Next() {
		var u TrainingUse
		if err := rows.Scan(&u.TrainingID, &u.Title); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: report training use: %w", err)
		}
		index[u.TrainingID] = len(out)
		out = append(out, u)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: report training use: %w", err)
	}
	queries := []struct {
		q        string
		from, to string
		scan     func(u *TrainingUse, a, b int64)
	}{
		{`SELECT e.training_id, COUNT(*), 0 FROM enrolments e JOIN trainings t ON t.id = e.training_id
			WHERE e.enrolled_at >= ? AND e.enrolled_at < ? AND e.user_id NOT IN (` + reportExcluded + `)` + filter + ` GROUP BY e.training_id`,
			from, to, func(u *TrainingUse, a, _ int64) { u.Enrolled = a }},
		{`SELECT e.training_id, COUNT(*), 0 FROM enrolments e JOIN trainings t ON t.id = e.training_id
			WHERE e.completed_at >= ? AND e.completed_at < ? AND e.user_id NOT IN (` + reportExcluded + `)` + filter + ` GROUP BY e.training_id`,
			from, to, func(u *TrainingUse, a, _ int64) { u.Completed = a }},
		{`SELECT a.training_id, ` + act.count + `, COUNT(DISTINCT a.user_id) FROM ` + act.table + `
			JOIN trainings t ON t.id = a.training_id WHERE ` + act.at + ` >= ? AND ` + act.at + ` < ? AND ` + act.included + filter + ` GROUP BY a.training_id`,
			act.from, act.to, func(u *TrainingUse, a, b int64) { u.Accesses, u.Learners = a, b }},
	}
	for _, q := range queries {
		err := s.scanMonths(ctx, q.q, append([]any{q.from, q.to}, fargs...), func(id string, a, b int64) {
			if i, ok := index[id]; ok {
				q.scan(&out[i], a, b)
			}
		})
		if err != nil {
			return nil, fmt.Errorf("store: report training use: %w", err)
		}
	}
	// What people erased since contributed, kept as anonymous counts.
	fromM, toM := monthRange(sc)
	fromD, toD := dayRange(sc)
	anon := []struct {
		kind, lo, hi, col string
		add               func(u *TrainingUse, n int64)
	}{
		{AnonEnrolment, fromM, toM, "k2", func(u *TrainingUse, n int64) { u.Enrolled += n }},
		{AnonCompletion, fromM, toM, "k2", func(u *TrainingUse, n int64) { u.Completed += n }},
		{AnonActivity, fromD, toD, "k3", func(u *TrainingUse, n int64) { u.Accesses += n }},
	}
	for _, q := range anon {
		err := s.scanMonths(ctx, `SELECT ac.k1, SUM(ac.n), 0 FROM anonymous_counts ac JOIN trainings t ON t.id = ac.k1
			WHERE ac.kind = ? AND ac.`+q.col+` BETWEEN ? AND ?`+filter+` GROUP BY ac.k1`,
			append([]any{q.kind, q.lo, q.hi}, fargs...), func(id string, n, _ int64) {
				if i, ok := index[id]; ok {
					q.add(&out[i], n)
				}
			})
		if err != nil {
			return nil, fmt.Errorf("store: report training use: %w", err)
		}
	}
	return out, nil
}

// MonthUse is the use of the trainings in scope during one month.
type MonthUse struct {
	Month       string // YYYY-MM
	Accesses    int64
	Learners    int64 // distinct learners with any recorded access
	Enrolments  int64
	Completions int64
}

// ReportUsageByMonth returns the months of the period that saw any use,
// oldest first.
func (s *Store) ReportUsageByMonth(ctx context.Context, sc ReportScope) ([]MonthUse, error) {
	return s.reportUsageByMonth(ctx, sc, false)
}

// reportUsageByMonth is ReportUsageByMonth, reading activity from the log
// itself when live is set (the tests' and benchmarks' reference).
func (s *Store) reportUsageByMonth(ctx context.Context, sc ReportScope, live bool) ([]MonthUse, error) {
	from, to := ts(sc.From), ts(sc.To)
	act := sc.activity(live)
	filter, fargs := sc.trainingFilter()
	byMonth := map[string]*MonthUse{}
	get := func(m string) *MonthUse {
		if byMonth[m] == nil {
			byMonth[m] = &MonthUse{Month: m}
		}
		return byMonth[m]
	}
	// Activity outside any training (training_id NULL) counts only when
	// the report is not about particular trainings.
	join := "LEFT JOIN trainings t ON t.id = a.training_id"
	if filter != "" {
		join = "JOIN trainings t ON t.id = a.training_id"
	}
	queries := []struct {
		q        string
		from, to string
		scan     func(m string, a, b int64)
	}{
		{`SELECT ` + act.month + ` AS m, ` + act.count + `, COUNT(DISTINCT a.user_id) FROM ` + act.table + `
			` + join + ` WHERE ` + act.at + ` >= ? AND ` + act.at + ` < ? AND ` + act.included + filter + ` GROUP BY m`,
			act.from, act.to, func(m string, a, b int64) { get(m).Accesses, get(m).Learners = a, b }},
		{`SELECT substr(e.enrolled_at, 1, 7) AS m, COUNT(*), 0 FROM enrolments e
			JOIN trainings t ON t.id = e.training_id WHERE e.enrolled_at >= ? AND e.enrolled_at < ? AND e.user_id NOT IN (` + reportExcluded + `)` + filter + ` GROUP BY m`,
			from, to, func(m string, a, _ int64) { get(m).Enrolments = a }},
		{`SELECT substr(e.completed_at, 1, 7) AS m, COUNT(*), 0 FROM enrolments e
			JOIN trainings t ON t.id = e.training_id WHERE e.completed_at >= ? AND e.completed_at < ? AND e.user_id NOT IN (` + reportExcluded + `)` + filter + ` GROUP BY m`,
			from, to, func(m string, a, _ int64) { get(m).Completions = a }},
	}
	for _, q := range queries {
		if err := s.scanMonths(ctx, q.q, append([]any{q.from, q.to}, fargs...), q.scan); err != nil {
			return nil, fmt.Errorf("store: report usage: %w", err)
		}
	}
	// What people erased since contributed, kept as anonymous counts.
	fromM, toM := monthRange(sc)
	fromD, toD := dayRange(sc)
	anonJoin := "LEFT JOIN trainings t ON t.id = ac.k1"
	if filter != "" {
		anonJoin = "JOIN trainings t ON t.id = ac.k1"
	}
	anon := []struct {
		kind, lo, hi, month string
		add                 func(m *MonthUse, n int64)
	}{
		{AnonEnrolment, fromM, toM, "ac.k2", func(m *MonthUse, n int64) { m.Enrolments += n }},
		{AnonCompletion, fromM, toM, "ac.k2", func(m *MonthUse, n int64) { m.Completions += n }},
		{AnonActivity, fromD, toD, "substr(ac.k3, 1, 7)", func(m *MonthUse, n int64) { m.Accesses += n }},
	}
	for _, q := range anon {
		col := "ac.k2"
		if q.kind == AnonActivity {
			col = "ac.k3"
		}
		err := s.scanMonths(ctx, `SELECT `+q.month+` AS m, SUM(ac.n), 0 FROM anonymous_counts ac `+anonJoin+`
			WHERE ac.kind = ? AND `+col+` BETWEEN ? AND ?`+filter+` GROUP BY m`,
			append([]any{q.kind, q.lo, q.hi}, fargs...), func(m string, n, _ int64) { q.add(get(m), n) })
		if err != nil {
			return nil, fmt.Errorf("store: report usage: %w", err)
		}
	}
	out := make([]MonthUse, 0, len(byMonth))
	for _, m := range byMonth {
		out = append(out, *m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Month < out[j].Month })
	return out, nil
}

// scanMonths reads rows of (key, count, count), keyed by month or id.
func (s *Store) scanMonths(ctx context.Context, q string, args []any, scan func(key string, a, b int64)) error {
	rows, err := s.rdb.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var m string
		var a, b int64
		if err := rows.Scan(&m, &a, &b); err != nil {
			return err
		}
		scan(m, a, b)
	}
	return rows.Err()
}

// TrainingGrades is the grades of one training's learners in a period:
// each learner's best score in the quiz attempts of the period, and
// whether that attempt passed.
type TrainingGrades struct {
	TrainingID, Title string
	Scores            []int // one per learner, best first attempt order undefined
	Passed            int   // learners whose best attempt passed
}

// ReportGrades lists, per training in scope with graded attempts in the
// period, the best score of each included learner. The caller publishes
// figures only for trainings with enough learners.
func (s *Store) ReportGrades(ctx context.Context, sc ReportScope) ([]TrainingGrades, error) {
	filter, fargs := sc.trainingFilter()
	rows, err := s.rdb.QueryContext(ctx, `SELECT t.id, t.title, MAX(a.score), MAX(a.passed)
		FROM quiz_attempts a JOIN trainings t ON t.id = a.training_id
		WHERE a.submitted_at >= ? AND a.submitted_at < ? AND a.user_id NOT IN (`+reportExcluded+`)`+filter+`
		GROUP BY t.id, a.user_id ORDER BY t.title, t.id`, append([]any{ts(sc.From), ts(sc.To)}, fargs...)...)
	if err != nil {
		return nil, fmt.Errorf("store: report grades: %w", err)
	}
	defer rows.Close()
	var out []TrainingGrades
	for rows.Next() {
		var id, title string
		var score int
		var passed bool
		if err := rows.Scan(&id, &title, &score, &passed); err != nil {
			return nil, fmt.Errorf("store: report grades: %w", err)
		}
		if len(out) == 0 || out[len(out)-1].TrainingID != id {
			out = append(out, TrainingGrades{TrainingID: id, Title: title})
		}
		g := &out[len(out)-1]
		g.Scores = append(g.Scores, score)
		if passed {
			g.Passed++
		}
	}
	return out, rows.Err()
}
