package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReportsCountOnlyIncludedLearnersInScope(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock() // 2025-03-14
	s := openTestStore(t, t.TempDir(), newMasterKey(t), clock.Now)
	_, err := s.SeedMembers(ctx)
	require.NoError(t, err)
	ms, err := s.Members(ctx)
	require.NoError(t, err)
	in := TrainingInput{Title: "Mine", Summary: "S", Language: "en", Kind: KindSelfStudy, PassMark: 50, Published: true}
	mine, err := s.CreateTraining(ctx, ms[0].ID, "", in)
	require.NoError(t, err)
	in.Title = "Theirs"
	theirs, err := s.CreateTraining(ctx, ms[1].ID, "", in)
	require.NoError(t, err)

	var users []User
	for i := range 9 {
		nu := newUser(fmt.Sprintf("u%d", i))
		if i >= 6 {
			nu.Country, nu.Industry = "ID", "retail"
		}
		u := createUser(t, s, nu)
		users = append(users, u)
		require.NoError(t, s.Enrol(ctx, u.ID, mine.ID))
		require.NoError(t, s.writeActivity(ctx, []ActivityEvent{{UserID: u.ID, TrainingID: mine.ID, Action: ActViewTraining, At: s.Now()},
			{UserID: u.ID, TrainingID: mine.ID, Action: ActViewMaterial, At: s.Now()}}))
	}
	require.NoError(t, s.Enrol(ctx, users[0].ID, theirs.ID))
	// Not counted: a restricted learner, one who objects, and an operator.
	require.NoError(t, s.SetRestricted(ctx, users[7].ID, true))
	require.NoError(t, s.SetObjection(ctx, users[8].ID, ObjectStatistics, true))
	op := createUser(t, s, operatorUser("op"))
	require.NoError(t, s.Enrol(ctx, op.ID, mine.ID))

	period := ReportScope{From: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC)}
	all, err := s.ReportJoined(ctx, period, ReportByMonth)
	require.NoError(t, err)
	assert.Equal(t, []ReportCount{{"2025-03", 7}}, all)
	byCountry, err := s.ReportJoined(ctx, period, ReportByCountry)
	require.NoError(t, err)
	assert.Equal(t, []ReportCount{{"MY", 6}, {"ID", 1}}, byCountry)

	theirScope := period
	theirScope.MemberID = ms[1].ID
	got, err := s.ReportJoined(ctx, theirScope, ReportByIndustry)
	require.NoError(t, err)
	assert.Equal(t, []ReportCount{{"manufacturing", 1}}, got)

	use, err := s.ReportTrainingUse(ctx, ReportScope{MemberID: ms[0].ID, From: period.From, To: period.To})
	require.NoError(t, err)
	require.Len(t, use, 1)
	assert.Equal(t, TrainingUse{TrainingID: mine.ID, Title: "Mine", Enrolled: 7, Learners: 7, Accesses: 14}, use[0])

	months, err := s.ReportUsageByMonth(ctx, ReportScope{TrainingID: mine.ID, From: period.From, To: period.To})
	require.NoError(t, err)
	assert.Equal(t, []MonthUse{{Month: "2025-03", Accesses: 14, Learners: 7, Enrolments: 7}}, months)

	before := ReportScope{From: period.From, To: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)}
	none, err := s.ReportJoined(ctx, before, ReportByMonth)
	require.NoError(t, err)
	assert.Empty(t, none, "the period bounds the counts")
	_, err = s.ReportJoined(ctx, period, "gender")
	assert.Error(t, err)
}
