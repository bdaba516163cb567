package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"
)

// Dimensions of the daily visitor statistics.
const (
	StatBrowser  = "browser"
	StatOS       = "os"
	StatLanguage = "language"
	StatReferrer = "referrer"
	StatPath     = "path"
)

// StatDimensions lists the daily dimensions in display order.
func StatDimensions() []string {
	return []string{StatPath, StatBrowser, StatOS, StatLanguage, StatReferrer}
}

func statsTables() []table {
	counter := Field{Category: CatVisitorStats, Personal: true,
		Purposes:  []string{"publish aggregate usage trends and run the portal"},
		Basis:     BasisLegitimate,
		Retention: "aggregate counters, kept as usage history",
		Export:    ExportOmit, Erasure: EraseKeep,
		Why: "counters summed over many visitors; they hold no address, no user agent and no identifier, so nothing in them can be linked to a person"}
	return []table{
		{db: DBMain, name: "stats_hourly", base: counter, columns: []string{"day", "hour", "views", "visitors"}},
		{db: DBMain, name: "stats_daily", base: counter, columns: []string{"day", "dimension", "value", "views", "visitors"}},
	}
}

// DayLayout formats the day of statistics counters (UTC).
const DayLayout = "2006-01-02"

// HourCount is what accumulated in memory for one UTC hour.
type HourCount struct {
	Day      string
	Hour     int
	Views    int64
	Visitors int64
}

// DimCount is what accumulated for one value of a dimension on one day.
type DimCount struct {
	Day       string
	Dimension string
	Value     string
	Views     int64
	Visitors  int64
}

// AddStats adds a batch of in-memory counters to the stored ones in one
// transaction. Visitor statistics arrive here only as such batches, never
// one request at a time.
func (s *Store) AddStats(ctx context.Context, hours []HourCount, dims []DimCount) error {
	if len(hours) == 0 && len(dims) == 0 {
		return nil
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		h, err := tx.PrepareContext(ctx, `INSERT INTO stats_hourly (day, hour, views, visitors) VALUES (?, ?, ?, ?)
			ON CONFLICT (day, hour) DO UPDATE SET views = views + excluded.views, visitors = visitors + excluded.visitors`)
		if err != nil {
			return err
		}
		defer h.Close()
		for _, c := range hours {
			if _, err := h.ExecContext(ctx, c.Day, c.Hour, c.Views, c.Visitors); err != nil {
				return err
			}
		}
		d, err := tx.PrepareContext(ctx, `INSERT INTO stats_daily (day, dimension, value, views, visitors) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (day, dimension, value) DO UPDATE SET views = views + excluded.views, visitors = visitors + excluded.visitors`)
		if err != nil {
			return err
		}
		defer d.Close()
		for _, c := range dims {
			if _, err := d.ExecContext(ctx, c.Day, c.Dimension, c.Value, c.Views, c.Visitors); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: add stats: %w", err)
	}
	return nil
}

// DayStat is the page views and unique visitors of one day.
type DayStat struct {
	Day      time.Time
	Views    int64
	Visitors int64
}

// StatsByDay returns one entry per day from first to last (inclusive, UTC
// days), zero for days without views.
func (s *Store) StatsByDay(ctx context.Context, first, last time.Time) ([]DayStat, error) {
	first, last = first.UTC().Truncate(24*time.Hour), last.UTC().Truncate(24*time.Hour)
	key := statsKey{first: first, last: last}
	if v, ok := s.cache.get(key, time.Time{}); ok {
		return slices.Clone(v.([]DayStat)), nil
	}
	gen := s.cache.generation()
	out, err := s.statsByDay(ctx, first, last)
	if err == nil {
		s.cache.put(gen, key, cacheEntry{v: slices.Clone(out)})
	}
	return out, err
}

// statsKey is a statistics read's key in the read cache (cache.go): the
// counts are anonymous aggregates, written once a minute.
type statsKey struct {
	dimension   string
	first, last time.Time
}

func (s *Store) statsByDay(ctx context.Context, first, last time.Time) ([]DayStat, error) {
	rows, err := s.readQuery(ctx, `SELECT day, SUM(views), SUM(visitors) FROM stats_hourly
		WHERE day BETWEEN ? AND ? GROUP BY day`, first.Format(DayLayout), last.Format(DayLayout))
	if err != nil {
		return nil, fmt.Errorf("store: stats by day: %w", err)
	}
	defer rows.Close()
	got := map[string]DayStat{}
	for rows.Next() {
		var day string
		var d DayStat
		if err := rows.Scan(&day, &d.Views, &d.Visitors); err != nil {
			return nil, fmt.Errorf("store: stats by day: %w", err)
		}
		got[day] = d
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: stats by day: %w", err)
	}
	var out []DayStat
	for d := first; !d.After(last); d = d.AddDate(0, 0, 1) {
		e := got[d.Format(DayLayout)]
		e.Day = d
		out = append(out, e)
	}
	return out, nil
}

// ValueStat is the total of one value of a dimension over a period.
type ValueStat struct {
	Value    string
	Views    int64
	Visitors int64
}

// StatsByValue sums a dimension over the days from first to last, most
// viewed first. Small counts are returned as they are: suppressing them is
// the caller's job, where the minimum cell size is configured.
func (s *Store) StatsByValue(ctx context.Context, dimension string, first, last time.Time) ([]ValueStat, error) {
	key := statsKey{dimension: dimension, first: first.UTC(), last: last.UTC()}
	if v, ok := s.cache.get(key, time.Time{}); ok {
		return slices.Clone(v.([]ValueStat)), nil
	}
	gen := s.cache.generation()
	out, err := s.statsByValue(ctx, dimension, first, last)
	if err == nil {
		s.cache.put(gen, key, cacheEntry{v: slices.Clone(out)})
	}
	return out, err
}

func (s *Store) statsByValue(ctx context.Context, dimension string, first, last time.Time) ([]ValueStat, error) {
	rows, err := s.readQuery(ctx, `SELECT value, SUM(views) AS v, SUM(visitors) FROM stats_daily
		WHERE dimension = ? AND day BETWEEN ? AND ? GROUP BY value ORDER BY v DESC, value`,
		dimension, first.UTC().Format(DayLayout), last.UTC().Format(DayLayout))
	if err != nil {
		return nil, fmt.Errorf("store: stats by value: %w", err)
	}
	defer rows.Close()
	var out []ValueStat
	for rows.Next() {
		var v ValueStat
		if err := rows.Scan(&v.Value, &v.Views, &v.Visitors); err != nil {
			return nil, fmt.Errorf("store: stats by value: %w", err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: stats by value: %w", err)
	}
	return out, nil
}
