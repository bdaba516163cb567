package store

import (
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestErasureKeepsAggregateCounts: after an erasure no row names the
// person and their key is gone, yet every report figure is as before.
func TestErasureKeepsAggregateCounts(t *testing.T) {
	s := newTestStore(t)
	ctx := t.Context()
	_, err := s.SeedMembers(ctx)
	require.NoError(t, err)
	m, err := s.MemberByName(ctx, "SME Corporation Malaysia")
	require.NoError(t, err)
	tr, err := s.CreateTraining(ctx, m.ID, "", TrainingInput{Title: "T", Summary: "s", Language: "en", Kind: KindSelfStudy, PassMark: 0, Published: true})
	require.NoError(t, err)
	_, err = s.AddMaterial(ctx, tr.ID, "", MaterialInput{Kind: MaterialPage, Title: "P", BodyMD: "x", Required: true})
	require.NoError(t, err)
	var people []User
	for i, c := range []string{"MY", "ID", "MY"} {
		u, err := s.CreateUser(ctx, NewUser{Email: string(rune('a'+i)) + "@example.org", FirstName: "F", Surname: "S", PasswordHash: "x",
			Role: RoleLearner, Country: c, Industry: "C", AcceptedPolicy: "2023-10-09"})
		require.NoError(t, err)
		require.NoError(t, s.Enrol(ctx, u.ID, tr.ID))
		ms, err := s.Materials(ctx, tr.ID)
		require.NoError(t, err)
		require.NoError(t, s.RecordMaterialView(ctx, u.ID, ms[0].ID))
		_, err = s.CompleteIfDone(ctx, u.ID, tr.ID)
		require.NoError(t, err)
		require.NoError(t, s.writeActivity(ctx, []ActivityEvent{
			{UserID: u.ID, TrainingID: tr.ID, Action: ActViewMaterial, At: s.Now(), IP: netip.MustParseAddr("203.0.113.1")},
			{UserID: u.ID, TrainingID: tr.ID, Action: ActComplete, At: s.Now()}}))
		people = append(people, u)
	}
	sc := ReportScope{From: s.Now().AddDate(0, -1, 0), To: s.Now().Add(time.Hour)}
	snapshot := func() (map[string][]ReportCount, []TrainingUse, []MonthUse) {
		joined := map[string][]ReportCount{}
		for _, by := range []string{ReportByMonth, ReportByCountry, ReportByIndustry} {
			rc, err := s.ReportJoined(ctx, sc, by)
			require.NoError(t, err)
			joined[by] = rc
		}
		use, err := s.ReportTrainingUse(ctx, sc)
		require.NoError(t, err)
		months, err := s.ReportUsageByMonth(ctx, sc)
		require.NoError(t, err)
		for i := range use {
			use[i].Learners = 0 // distinct learners cannot survive erasure: nobody is left to tell apart
		}
		for i := range months {
			months[i].Learners = 0
		}
		return joined, use, months
	}
	j1, u1, m1 := snapshot()
	require.Equal(t, int64(3), u1[0].Completed)

	gone := people[0]
	require.NoError(t, s.EraseUser(ctx, "test", gone.ID))
	j2, u2, m2 := snapshot()
	assert.Equal(t, j1, j2, "registrations by month, country and industry")
	assert.Equal(t, u1, u2, "enrolments, completions and accesses per training")
	assert.Equal(t, m1, m2, "use per month")

	// And nothing names the person any more.
	for _, q := range []string{"SELECT COUNT(*) FROM enrolments WHERE user_id = ?1", "SELECT COUNT(*) FROM activity_log WHERE user_id = ?1",
		"SELECT COUNT(*) FROM users WHERE id = ?1", "SELECT COUNT(*) FROM certificates WHERE user_id = ?1",
		"SELECT COUNT(*) FROM anonymous_counts WHERE k1 = ?1 OR k2 = ?1 OR k3 = ?1"} {
		var n int
		require.NoError(t, s.rdb.QueryRow(q, gone.ID).Scan(&n))
		assert.Zero(t, n, q)
	}
	_, err = s.dataKey(ctx, gone.ID)
	assert.ErrorIs(t, err, ErrNotFound, "the key is destroyed")
}

// TestErasureOfExcludedPeopleLeavesReports: people the reports leave out
// (staff, a restricted learner, a learner objecting to statistics) must
// not start counting once erased: their anonymous counts would add them.
func TestErasureOfExcludedPeopleLeavesReports(t *testing.T) {
	s := newTestStore(t)
	ctx := t.Context()
	_, err := s.SeedMembers(ctx)
	require.NoError(t, err)
	m, err := s.MemberByName(ctx, "SME Corporation Malaysia")
	require.NoError(t, err)
	tr, err := s.CreateTraining(ctx, m.ID, "", TrainingInput{Title: "T", Summary: "s", Language: "en", Kind: KindSelfStudy, PassMark: 0, Published: true})
	require.NoError(t, err)
	page, err := s.AddMaterial(ctx, tr.ID, "", MaterialInput{Kind: MaterialPage, Title: "P", BodyMD: "x", Required: true})
	require.NoError(t, err)
	var people []User
	for _, name := range []string{"staff", "restricted", "objecting", "counted"} {
		u := createUser(t, s, newUser(name))
		switch name {
		case "staff":
			require.NoError(t, s.SetStaff(ctx, u.ID, m.ID, RoleMemberStaff))
		case "restricted":
			require.NoError(t, s.SetRestricted(ctx, u.ID, true))
		case "objecting":
			require.NoError(t, s.SetObjection(ctx, u.ID, ObjectStatistics, true))
		}
		require.NoError(t, s.Enrol(ctx, u.ID, tr.ID))
		require.NoError(t, s.RecordMaterialView(ctx, u.ID, page.ID))
		_, err = s.CompleteIfDone(ctx, u.ID, tr.ID)
		require.NoError(t, err)
		require.NoError(t, s.writeActivity(ctx, []ActivityEvent{{UserID: u.ID, TrainingID: tr.ID, Action: ActViewMaterial, At: s.Now()}}))
		people = append(people, u)
	}
	sc := ReportScope{From: s.Now().AddDate(0, -1, 0), To: s.Now().Add(time.Hour)}
	snapshot := func() ([]ReportCount, []TrainingUse, []MonthUse) {
		joined, err := s.ReportJoined(ctx, sc, ReportByCountry)
		require.NoError(t, err)
		use, err := s.ReportTrainingUse(ctx, sc)
		require.NoError(t, err)
		months, err := s.ReportUsageByMonth(ctx, sc)
		require.NoError(t, err)
		for i := range use {
			use[i].Learners = 0
		}
		for i := range months {
			months[i].Learners = 0
		}
		return joined, use, months
	}
	j1, u1, m1 := snapshot()
	require.Equal(t, int64(1), u1[0].Completed, "only the counted learner counts")

	for _, u := range people[:3] {
		require.NoError(t, s.EraseUser(ctx, "test", u.ID))
	}
	j2, u2, m2 := snapshot()
	assert.Equal(t, j1, j2, "registrations")
	assert.Equal(t, u1, u2, "enrolments, completions and accesses per training")
	assert.Equal(t, m1, m2, "use per month")
}
