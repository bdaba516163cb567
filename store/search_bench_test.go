package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"kelas/store/crypt"
)

// fillLearners inserts n learners as CreateUser would (own data key in
// keys.db, sealed fields, email blind index, name tags), in large
// transactions, with names drawn from a few hundred first names and a few
// thousand surnames so that common and rare words both occur.
func fillLearners(b *testing.B, s *Store, n int) {
	b.Helper()
	ctx := context.Background()
	syl := []string{"a", "bu", "di", "ka", "lo", "ma", "ni", "ra", "si", "tu", "wa", "yu", "an", "el", "ho", "ri"}
	word := func(i, parts int) string {
		var w strings.Builder
		for range parts {
			w.WriteString(syl[i%len(syl)])
			i /= len(syl)
		}
		return strings.ToUpper(w.String()[:1]) + w.String()[1:]
	}
	const perTx = 5000
	for done := 0; done < n; done += perTx {
		type row struct {
			id  string
			dk  []byte
			num int
		}
		var rs []row
		for i := done; i < min(done+perTx, n); i++ {
			rs = append(rs, row{id: NewID(), dk: crypt.NewDataKey(), num: i})
		}
		err := inTx(ctx, s.kdb, func(tx *sql.Tx) error {
			v, err := currentKEK(ctx, tx)
			if err != nil {
				return err
			}
			for _, r := range rs {
				wrapped, err := s.kr.Wrap(v, r.id, r.dk)
				if err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, "INSERT INTO data_keys (subject, kek_version, wrapped, created_at) VALUES (?, ?, ?, ?)",
					r.id, v, wrapped, ts(s.Now())); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		err = s.tx(ctx, func(tx *sql.Tx) error {
			for _, r := range rs {
				// First names: 256 words, three syllables from a list of
				// 16 (skewed by i*i so some are common); surnames: 4,096.
				first, surname := word((r.num*r.num)%256, 2), word(r.num*7919%4096, 3)
				email := fmt.Sprintf("learner%d@example.test", r.num)
				z := sealer{dk: r.dk, table: "users", row: r.id}
				if _, err := tx.ExecContext(ctx, `INSERT INTO users (id, email_index, email, first_name, surname, country, industry,
					password_hash, role, language, created_at) VALUES (?, ?, ?, ?, ?, 'MY', 'retail', 'x', 'learner', 'en', ?)`,
					r.id, s.emailIndex(email), z.seal("email", email), z.seal("first_name", first), z.seal("surname", surname),
					ts(s.Now().Add(time.Duration(r.num-n)*time.Second))); err != nil {
					return err
				}
				if err := setNameTags(ctx, tx, s.kr, r.id, first, surname); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	s.keys = newKeyCache(4096) // cold, as after a restart
}

// searchLearnersScan is the search as it was before name tags: open every
// learner, newest first, until limit matches. The benchmark's baseline.
func (s *Store) searchLearnersScan(ctx context.Context, q string, limit int) ([]LearnerSummary, error) {
	q = strings.ToLower(strings.TrimSpace(q))
	rows, err := s.rdb.QueryContext(ctx, "SELECT id FROM users WHERE role = 'learner' ORDER BY created_at DESC")
	if err != nil {
		return nil, err
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	var out []LearnerSummary
	for _, id := range ids {
		u, err := s.User(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		name := strings.TrimSpace(u.FirstName + " " + u.Surname)
		if q != "" && !strings.Contains(strings.ToLower(name), q) && !strings.Contains(u.Email, q) {
			continue
		}
		restricted, err := s.Restricted(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, LearnerSummary{ID: id, Name: name, Email: u.Email, Country: u.Country, Restricted: restricted})
		if len(out) >= limit {
			break
		}
	}
	return out, nil
}

// BenchmarkLearnerSearch100k searches 100,000 learners: by exact email, by
// a full name (rare), by a first name shared by a few hundred people (the
// first 50 are listed), and, as the same-run baseline, the full name again
// with the former search that opened every account. Data keys start cold,
// as after a restart. The data is built inside the benchmark:
//
//	go test ./store -run '^$' -bench LearnerSearch100k -benchtime 5x
func BenchmarkLearnerSearch100k(b *testing.B) {
	ctx := context.Background()
	s := newTestStore(b)
	const n = 100_000
	fillLearners(b, s, n)
	target, err := s.UserByEmail(ctx, "learner31337@example.test")
	if err != nil {
		b.Fatal(err)
	}
	full := target.FirstName + " " + target.Surname
	for _, c := range []struct {
		name, q string
		scan    bool
	}{
		{"email", "learner31337@example.test", false},
		{"full-name", full, false},
		{"first-name", target.FirstName, false},
		{"full-name-scan-baseline", full, true},
	} {
		b.Run(c.name, func(b *testing.B) {
			var found int
			for b.Loop() {
				var ls []LearnerSummary
				var err error
				if c.scan {
					ls, err = s.searchLearnersScan(ctx, c.q, 50)
				} else {
					ls, err = s.SearchLearners(ctx, c.q, 50)
				}
				if err != nil {
					b.Fatal(err)
				}
				found = len(ls)
				s.keys = newKeyCache(4096)
			}
			if found == 0 {
				b.Fatalf("%q found nobody", c.q)
			}
			b.ReportMetric(float64(found), "found")
		})
	}
}
