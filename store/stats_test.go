package store

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStatsBatchesAddUp(t *testing.T) {
	s := newTestStore(t)
	ctx := t.Context()
	day := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	d := day.Format(DayLayout)

	batch := func() ([]HourCount, []DimCount) {
		return []HourCount{{Day: d, Hour: 9, Views: 3, Visitors: 2}, {Day: d, Hour: 10, Views: 1, Visitors: 1}},
			[]DimCount{{Day: d, Dimension: StatBrowser, Value: "Firefox", Views: 3, Visitors: 2},
				{Day: d, Dimension: StatBrowser, Value: "Chrome", Views: 1, Visitors: 1}}
	}
	hours, dims := batch()
	require.NoError(t, s.AddStats(ctx, hours, dims))
	require.NoError(t, s.AddStats(ctx, hours, dims), "a second flush adds to the same cells")
	require.NoError(t, s.AddStats(ctx, nil, nil))

	days, err := s.StatsByDay(ctx, day.AddDate(0, 0, -1), day.Add(5*time.Hour))
	require.NoError(t, err)
	require.Len(t, days, 2, "every day of the range, empty ones included")
	assert.Equal(t, DayStat{Day: day.AddDate(0, 0, -1)}, days[0])
	assert.Equal(t, DayStat{Day: day, Views: 8, Visitors: 6}, days[1])

	vals, err := s.StatsByValue(ctx, StatBrowser, day, day)
	require.NoError(t, err)
	assert.Equal(t, []ValueStat{{Value: "Firefox", Views: 6, Visitors: 4}, {Value: "Chrome", Views: 2, Visitors: 2}}, vals)

	vals, err = s.StatsByValue(ctx, StatOS, day, day)
	require.NoError(t, err)
	assert.Empty(t, vals)

	err = s.AddStats(ctx, nil, []DimCount{{Day: d, Dimension: "ip", Value: "x", Views: 1}})
	assert.Error(t, err, "only the known dimensions can be stored")
}
