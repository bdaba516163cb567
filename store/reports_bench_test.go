package store

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"
)

// fillReportData builds a portal with a year of use: 8 Members with 5
// trainings each, 4,000 learners each enrolled in 3 trainings (with one
// graded attempt each), 40 of them restricted and 40 objecting, and n
// activity rows. Activity comes in visits of 10 events (one learner, one of
// their trainings, one day), spread over the last 365 days. It returns the
// first Member, whose 5 trainings hold an eighth of the activity.
func fillReportData(b testing.TB, s *Store, n int) string {
	b.Helper()
	ctx := context.Background()
	const learners, members, perMember = 4000, 8, 5
	if _, err := s.SeedMembers(ctx); err != nil {
		b.Fatal(err)
	}
	ms, err := s.Members(ctx)
	if err != nil {
		b.Fatal(err)
	}
	in := TrainingInput{Summary: "S", Language: "en", Kind: KindSelfStudy, PassMark: 50, Published: true}
	var trainings []string
	for m := range members {
		for i := range perMember {
			in.Title = fmt.Sprintf("Training %d.%d", m, i)
			t, err := s.CreateTraining(ctx, ms[m].ID, "", in)
			if err != nil {
				b.Fatal(err)
			}
			trainings = append(trainings, t.ID)
		}
	}
	countries := []string{"MY", "ID", "TH", "VN", "PH", "SG"}
	users := make([]string, learners)
	for i := range users {
		nu := newUser(fmt.Sprintf("r%d", i))
		nu.Country = countries[i%len(countries)]
		u, err := s.CreateUser(ctx, nu)
		if err != nil {
			b.Fatal(err)
		}
		users[i] = u.ID
		switch {
		case i%100 == 1:
			err = s.SetRestricted(ctx, u.ID, true)
		case i%100 == 2:
			err = s.SetObjection(ctx, u.ID, ObjectStatistics, true)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	now := s.Now()
	err = s.tx(ctx, func(tx *sql.Tx) error {
		for _, q := range []string{"CREATE TEMP TABLE bench_learners (i INTEGER PRIMARY KEY, id TEXT NOT NULL)",
			"CREATE TEMP TABLE bench_trainings (i INTEGER PRIMARY KEY, id TEXT NOT NULL)"} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		for i, id := range users {
			if _, err := tx.ExecContext(ctx, "INSERT INTO bench_learners VALUES (?, ?)", i, id); err != nil {
				return err
			}
			for j := range 3 {
				t := trainings[(i+j*13)%len(trainings)]
				at := now.AddDate(0, 0, -(i*7+j*50)%365)
				if _, err := tx.ExecContext(ctx, "INSERT INTO enrolments (user_id, training_id, enrolled_at, completed_at) VALUES (?, ?, ?, ?)",
					id, t, ts(at), tsOrNull(map[bool]time.Time{true: at.AddDate(0, 0, 20)}[j == 0])); err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, `INSERT INTO quiz_attempts (id, user_id, training_id, submitted_at, answers, score, passed)
					VALUES (?, ?, ?, ?, '{}', ?, ?)`, NewID(), id, t, ts(at.Add(time.Hour)), (i*31+j*17)%101, (i*31+j*17)%101 >= 50); err != nil {
					return err
				}
			}
		}
		for i, id := range trainings {
			if _, err := tx.ExecContext(ctx, "INSERT INTO bench_trainings VALUES (?, ?)", i, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	// Visit v: learner (v*7919) mod 4000, their (v mod 3)th training, day
	// (v*37) mod 365 before now, 10 events 30 s apart from a time of day
	// that varies with the visit.
	base := now.UTC().Truncate(24*time.Hour).AddDate(0, 0, -365)
	const perTx = 100000
	for done := 0; done < n; done += perTx {
		err := s.tx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO activity_log (user_id, training_id, at, action, object_type, object_id)
				WITH RECURSIVE k(v) AS (SELECT ?1 UNION ALL SELECT v + 1 FROM k WHERE v + 1 < ?2)
				SELECT u.id, t.id, strftime('%Y-%m-%dT%H:%M:%f', ?3, '+' || ((v / 10) * 37 % 365) || ' days',
					'+' || (6 * 3600 + (v / 10) % 700 * 60 + v % 10 * 30) || ' seconds') || '000Z',
					'view_material', 'material', 'm'
				FROM k JOIN bench_learners u ON u.i = (v / 10) * 7919 % ?4
				JOIN bench_trainings t ON t.i = (u.i + ((v / 10) % 3) * 13) % ?5`,
				done, min(done+perTx, n), ts(base), learners, len(trainings))
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	// The per-day counts, built as migration 0034 builds them.
	err = s.tx(ctx, func(tx *sql.Tx) error {
		for _, q := range []string{`INSERT INTO activity_days (training_id, day, user_id, n)
			SELECT COALESCE(training_id, ''), substr(at, 1, 10), user_id, COUNT(*) FROM activity_log
			GROUP BY COALESCE(training_id, ''), substr(at, 1, 10), user_id`,
			"DROP TABLE temp.bench_learners", "DROP TABLE temp.bench_trainings"} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.db.ExecContext(ctx, "ANALYZE"); err != nil {
		b.Fatal(err)
	}
	return ms[0].ID
}

// memberReport runs every store query of a report page (/console/reports):
// people who joined by month, country and industry, training use, grades and
// use per month, reading activity from the log itself when live is set.
func memberReport(ctx context.Context, s *Store, sc ReportScope, live bool) error {
	for _, by := range []string{ReportByMonth, ReportByCountry, ReportByIndustry} {
		if _, err := s.ReportJoined(ctx, sc, by); err != nil {
			return err
		}
	}
	if _, err := s.reportTrainingUse(ctx, sc, live); err != nil {
		return err
	}
	if _, err := s.ReportGrades(ctx, sc); err != nil {
		return err
	}
	_, err := s.reportUsageByMonth(ctx, sc, live)
	return err
}

// BenchmarkMemberReport1M times a Member's report over the last 12 months
// on a store of 1,000,000 activity rows (fillReportData), answered from the
// per-day counts (days) and, as the same-run baseline, from the activity log
// itself (live); then the same for the report on all Members. The data is
// built inside the benchmark, so plain `go test` never pays for it:
//
//	go test ./store -run '^$' -bench MemberReport1M -benchtime 20x
func BenchmarkMemberReport1M(b *testing.B) {
	ctx := context.Background()
	s := newTestStore(b)
	member := fillReportData(b, s, 1_000_000)
	var rows, days int
	if err := s.rdb.QueryRowContext(ctx, "SELECT (SELECT COUNT(*) FROM activity_log), (SELECT COUNT(*) FROM activity_days)").Scan(&rows, &days); err != nil {
		b.Fatal(err)
	}
	b.Logf("%d activity rows, %d per-day counts", rows, days)
	cur := s.Now().UTC()
	to := time.Date(cur.Year(), cur.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, 1, 0)
	for _, c := range []struct {
		name   string
		member string
	}{{"member", member}, {"all", ""}} {
		sc := ReportScope{MemberID: c.member, From: to.AddDate(-1, 0, 0), To: to}
		for _, live := range []bool{false, true} {
			name := c.name + "/days"
			if live {
				name = c.name + "/live"
			}
			b.Run(name, func(b *testing.B) {
				for b.Loop() {
					if err := memberReport(ctx, s, sc, live); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
