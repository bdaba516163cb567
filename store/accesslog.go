package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"time"
)

// AccessEntry is one line of the web access log. It is never linked to an
// account: Route is the route pattern (raw paths carry tokens), Referrer a
// domain, Browser a family name.
type AccessEntry struct {
	ID       int64
	At       time.Time
	Method   string
	Route    string
	Status   int
	Duration time.Duration
	Browser  string
	Referrer string
	IP       netip.Addr // sealed at rest; invalid once the day's key is gone
}

// accessLogSubject is the data key subject of one UTC day of the log.
func accessLogSubject(t time.Time) string {
	return accessLogKeyPrefix + t.UTC().Format(time.DateOnly)
}

// dayKey returns the key of subject, creating it on first use.
func (s *Store) dayKey(ctx context.Context, subject string) ([]byte, error) {
	dk, err := s.dataKey(ctx, subject)
	if errors.Is(err, ErrNotFound) {
		dk, err = s.createDataKey(ctx, subject)
		if errors.Is(err, ErrConflict) {
			dk, err = s.dataKey(ctx, subject)
		}
	}
	return dk, err
}

// WriteAccessLog commits a batch of entries in one transaction. Addresses
// are sealed with the key of their day, bound to their row id.
func (s *Store) WriteAccessLog(ctx context.Context, entries []AccessEntry) error {
	if len(entries) == 0 {
		return nil
	}
	keys := map[string][]byte{}
	for _, e := range entries {
		if !e.IP.IsValid() {
			continue
		}
		sub := accessLogSubject(e.At)
		if _, ok := keys[sub]; ok {
			continue
		}
		dk, err := s.dayKey(ctx, sub)
		if err != nil {
			return fmt.Errorf("store: write access log: %w", err)
		}
		keys[sub] = dk
	}
	err := s.logTx(ctx, func(tx *sql.Tx) error {
		// Ids are chosen here, inside the single writer's transaction, so the
		// sealed address can be bound to its row before it is inserted.
		var last int64
		if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(id), 0) FROM access_log").Scan(&last); err != nil {
			return err
		}
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO access_log (id, at, method, route, status, duration_ms, browser, referrer, ip)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for i, e := range entries {
			id := last + int64(i) + 1
			var ip any
			if e.IP.IsValid() {
				z := sealer{dk: keys[accessLogSubject(e.At)], table: "access_log", row: strconv.FormatInt(id, 10)}
				ip = z.seal("ip", e.IP.String())
			}
			if _, err := stmt.ExecContext(ctx, id, ts(e.At), e.Method, e.Route, e.Status, max(0, e.Duration.Milliseconds()),
				nullStr(e.Browser), nullStr(e.Referrer), ip); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: write access log: %w", err)
	}
	return nil
}

// AccessLog returns up to limit entries, newest first, with addresses opened
// while their day's key exists.
func (s *Store) AccessLog(ctx context.Context, limit int) ([]AccessEntry, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT id, at, method, route, status, duration_ms, COALESCE(browser, ''),
		COALESCE(referrer, ''), ip FROM access_log ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("store: access log: %w", err)
	}
	type raw struct {
		e  AccessEntry
		ip []byte
	}
	var rs []raw
	for rows.Next() {
		var r raw
		var ms int64
		if err := rows.Scan(&r.e.ID, tsInto(&r.e.At), &r.e.Method, &r.e.Route, &r.e.Status, &ms, &r.e.Browser, &r.e.Referrer, &r.ip); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: access log: %w", err)
		}
		r.e.Duration = time.Duration(ms) * time.Millisecond
		rs = append(rs, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: access log: %w", err)
	}
	out := make([]AccessEntry, 0, len(rs))
	for _, r := range rs {
		if r.ip != nil {
			dk, err := s.dataKey(ctx, accessLogSubject(r.e.At))
			switch {
			case err == nil:
				v, err := (sealer{dk: dk, table: "access_log", row: strconv.FormatInt(r.e.ID, 10)}).open("ip", r.ip)
				if err != nil {
					return nil, err
				}
				r.e.IP, _ = netip.ParseAddr(v)
			case !errors.Is(err, ErrNotFound):
				return nil, err
			}
		}
		out = append(out, r.e)
	}
	return out, nil
}

// accessLogTables classifies the access log for the data map.
func accessLogTables() []table {
	return []table{{
		db: DBMain, name: "access_log",
		columns: []string{"id", "at", "method", "route", "status", "duration_ms", "browser", "referrer", "ip"},
		sealed:  []string{"ip"},
		base: Field{Category: CatAccessLog, Personal: true, Purposes: []string{"keep the service secure and find faults"},
			Basis: BasisLegitimate, Retention: "access log retention rule (default 14 days); each day's addresses are shredded with its key",
			Export: ExportOmit, Erasure: EraseKeep,
			Why: "never linked to an account, so no row can be found for a person; it is deleted after its short retention"},
	}}
}
