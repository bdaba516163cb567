package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// requireDaysExact checks activity_days against the log it counts, row for
// row, and every activity report answered from it against the same report
// answered from the log, for several scopes and periods.
func requireDaysExact(t *testing.T, s *Store, step string, memberID, trainingID string) {
	t.Helper()
	ctx := context.Background()
	type cell struct {
		training, day, user string
		n                   int64
	}
	read := func(q string) []cell {
		rows, err := s.rdb.QueryContext(ctx, q)
		require.NoError(t, err)
		defer rows.Close()
		var out []cell
		for rows.Next() {
			var c cell
			require.NoError(t, rows.Scan(&c.training, &c.day, &c.user, &c.n))
			out = append(out, c)
		}
		require.NoError(t, rows.Err())
		return out
	}
	want := read(`SELECT COALESCE(training_id, ''), substr(at, 1, 10), user_id, COUNT(*) FROM activity_log
		GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`)
	got := read(`SELECT training_id, day, user_id, n FROM activity_days ORDER BY 1, 2, 3`)
	require.Equal(t, want, got, "%s: activity_days counts the log", step)

	periods := []ReportScope{
		{From: time.Date(2024, 12, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC)},
		{From: time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)},
		{From: time.Date(2025, 2, 10, 0, 0, 0, 0, time.UTC), To: time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC)},
	}
	for _, p := range periods {
		for _, sc := range []ReportScope{p, {MemberID: memberID, From: p.From, To: p.To}, {TrainingID: trainingID, From: p.From, To: p.To}} {
			require.Equal(t, "activity_days a", sc.activity(false).table, "whole days are read from activity_days")
			require.NotEqual(t, sc.activity(true), sc.activity(false))
			name := fmt.Sprintf("%s: %+v", step, sc)
			live, err := s.reportTrainingUse(ctx, sc, true)
			require.NoError(t, err)
			agg, err := s.ReportTrainingUse(ctx, sc)
			require.NoError(t, err)
			require.Equal(t, live, agg, name)
			liveM, err := s.reportUsageByMonth(ctx, sc, true)
			require.NoError(t, err)
			aggM, err := s.ReportUsageByMonth(ctx, sc)
			require.NoError(t, err)
			require.Equal(t, liveM, aggM, name)
		}
	}
}

// TestActivityDaysStayExact follows the reports' per-day counts through
// everything that adds, removes or hides activity: the writer, restriction
// and objection and their lifting, a change of role, erasure (and an event of
// the erased person arriving late), and a retention purge whose cutoff falls
// in the middle of a day, with a legal hold keeping one person's rows.
func TestActivityDaysStayExact(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock() // 2025-03-14 09:26:53
	s := openTestStore(t, t.TempDir(), newMasterKey(t), clock.Now)
	_, err := s.SeedMembers(ctx)
	require.NoError(t, err)
	ms, err := s.Members(ctx)
	require.NoError(t, err)
	in := TrainingInput{Title: "A1", Summary: "S", Language: "en", Kind: KindSelfStudy, PassMark: 50, Published: true}
	a1, err := s.CreateTraining(ctx, ms[0].ID, "", in)
	require.NoError(t, err)
	in.Title = "A2"
	a2, err := s.CreateTraining(ctx, ms[0].ID, "", in)
	require.NoError(t, err)
	in.Title = "B1"
	b1, err := s.CreateTraining(ctx, ms[1].ID, "", in)
	require.NoError(t, err)
	trainings := []string{a1.ID, a2.ID, b1.ID, ""}

	var users []User
	for i := range 6 {
		users = append(users, createUser(t, s, newUser(fmt.Sprintf("d%d", i))))
	}
	op := createUser(t, s, operatorUser("dop"))
	// Events from December to the clock's day, at several hours of each
	// day, over every training and none, in a few batches.
	start := time.Date(2024, 12, 20, 0, 0, 0, 0, time.UTC)
	var batch []ActivityEvent
	for d := 0; d < 85; d += 3 {
		for i, u := range append(users, op) {
			if (d+i)%4 == 0 {
				continue
			}
			for h := 0; h < 3; h++ {
				batch = append(batch, ActivityEvent{UserID: u.ID, TrainingID: trainings[(d+i+h)%len(trainings)],
					Action: ActViewMaterial, At: start.AddDate(0, 0, d).Add(time.Duration(5+h*7)*time.Hour + time.Duration(i)*time.Minute)})
			}
		}
		if len(batch) > 40 {
			require.NoError(t, s.writeActivity(ctx, batch))
			batch = nil
		}
	}
	require.NoError(t, s.writeActivity(ctx, batch))
	check := func(step string) { requireDaysExact(t, s, step, ms[0].ID, a1.ID) }
	check("written")

	require.NoError(t, s.SetRestricted(ctx, users[0].ID, true))
	check("restricted")
	require.NoError(t, s.SetObjection(ctx, users[1].ID, ObjectStatistics, true))
	check("objecting")
	require.NoError(t, s.SetRestricted(ctx, users[0].ID, false))
	check("restriction lifted")
	require.NoError(t, s.SetObjection(ctx, users[1].ID, ObjectStatistics, false))
	check("objection withdrawn")
	require.NoError(t, s.SetStaff(ctx, users[2].ID, ms[0].ID, RoleMemberStaff))
	check("became Member staff")

	require.NoError(t, s.EraseUser(ctx, "op", users[3].ID))
	check("erased")
	require.NoError(t, s.writeActivity(ctx, []ActivityEvent{{UserID: users[3].ID, TrainingID: a1.ID, Action: ActViewTraining, At: clock.Now()},
		{UserID: users[4].ID, TrainingID: a1.ID, Action: ActViewTraining, At: clock.Now()}}))
	check("late event of an erased person")

	// Keep 30 days: the cutoff, 2025-02-12 09:26:53, falls between events
	// of the same day. users[5] is under a legal hold and keeps every row.
	require.NoError(t, s.SetRetentionRules(ctx, "op", map[string]int{RetActivity: 30, RetActivityPrefix: 30}))
	_, err = s.SetLegalHold(ctx, "op", NewLegalHold{UserID: users[5].ID, Reason: "case"})
	require.NoError(t, err)
	before := count(t, s.rdb, "activity_log")
	_, err = s.Purge(ctx, PurgeOptions{BatchSize: 7, Pause: time.Microsecond})
	require.NoError(t, err)
	after := count(t, s.rdb, "activity_log")
	require.Less(t, after, before, "the purge deleted rows")
	var sameDay int
	require.NoError(t, s.rdb.QueryRowContext(ctx, `SELECT COUNT(*) FROM activity_log WHERE substr(at, 1, 10) = '2025-02-12'`).Scan(&sameDay))
	assert.Positive(t, sameDay, "the rows of the cutoff's day after the cutoff stay")
	var olderHeld int
	require.NoError(t, s.rdb.QueryRowContext(ctx, `SELECT COUNT(*) FROM activity_log WHERE at < '2025-02-12' AND user_id = ?`, users[5].ID).Scan(&olderHeld))
	assert.Positive(t, olderHeld, "the held person's old rows stay")
	check("purged")

	// A period that does not start at midnight is answered from the log.
	odd := ReportScope{From: time.Date(2025, 2, 12, 12, 0, 0, 0, time.UTC), To: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)}
	assert.Equal(t, odd.activity(true), odd.activity(false))
}
