package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Retention categories (SPEC §4.7). Each has a rule; most have a purge.
const (
	RetActivity       = "activity_log"       // activity log rows
	RetActivityIP     = "activity_ip"        // the full address in the activity log
	RetActivityPrefix = "activity_ip_prefix" // the truncated address in the activity log
	RetAccessLog      = "access_log"         // the web access log
	RetAudit          = "audit_log"          // the audit log
	RetConsent        = "consent_records"    // consent records, counted from when a newer choice replaced them
	RetOutbox         = "outbox_bodies"      // mail contents, after sending or failing
	RetExports        = "exports"            // portability export files
	RetSessions       = "sessions"           // login sessions
	RetKeysBackups    = "keys_backups"       // backups of keys.db
	RetDailyBackups   = "daily_backups"      // data backups kept, one per day
	RetWeeklyBackups  = "weekly_backups"     // data backups kept, one per week
)

// Units of a retention rule's Keep.
const (
	UnitDays    = "days"
	UnitBackups = "backups"
)

// RetentionRule is how long one category is kept. The defaults live in code
// (retentionDefaults); a rule an operator changed is stored in
// retention_rules.
type RetentionRule struct {
	Category string
	Label    string // what is kept, for the console and the privacy notice
	Keep     int
	Unit     string
	Default  int
	Min, Max int
	// Editable is false for rules fixed by how the data works (sessions end
	// when they expire).
	Editable  bool
	UpdatedAt time.Time // zero while the default applies
	UpdatedBy string
}

// Describe is the rule as one sentence for the privacy notice and console.
func (r RetentionRule) Describe() string {
	switch r.Category {
	case RetSessions:
		return "Deleted when they expire (after 4 hours idle, 24 hours at most)."
	case RetActivityIP:
		return fmt.Sprintf("Removed from the activity log %d days after the activity; the shortened address is kept longer.", r.Keep)
	case RetActivityPrefix:
		return fmt.Sprintf("Removed from the activity log %d days after the activity.", r.Keep)
	case RetConsent:
		return fmt.Sprintf("Kept as proof for %d days after a newer choice replaced them; the current choice is kept while it applies.", r.Keep)
	case RetOutbox:
		return fmt.Sprintf("Contents deleted %d days after sending; the delivery record (kind, time, status) stays.", r.Keep)
	case RetKeysBackups:
		return fmt.Sprintf("Deleted after %d days, so an erased person cannot be restored from any backup after that.", r.Keep)
	case RetDailyBackups:
		return fmt.Sprintf("The newest backup of each of the last %d days is kept.", r.Keep)
	case RetWeeklyBackups:
		return fmt.Sprintf("The newest backup of each of the last %d weeks is kept.", r.Keep)
	}
	return fmt.Sprintf("Deleted %d days after they were written.", r.Keep)
}

// retentionDefaults is every rule with its default, in display order.
var retentionDefaults = []RetentionRule{
	{Category: RetActivity, Label: "Activity log entries", Keep: 365, Unit: UnitDays, Min: 30, Max: 3650, Editable: true},
	{Category: RetActivityIP, Label: "Full IP addresses in the activity log", Keep: 30, Unit: UnitDays, Min: 1, Max: 365, Editable: true},
	{Category: RetActivityPrefix, Label: "Shortened IP addresses in the activity log", Keep: 90, Unit: UnitDays, Min: 1, Max: 3650, Editable: true},
	{Category: RetAccessLog, Label: "Web server access log", Keep: 14, Unit: UnitDays, Min: 1, Max: 90, Editable: true},
	{Category: RetAudit, Label: "Audit log of administrative and privacy actions", Keep: 6 * 365, Unit: UnitDays, Min: 365, Max: 3650, Editable: true},
	{Category: RetConsent, Label: "Earlier consent records", Keep: 3 * 365, Unit: UnitDays, Min: 30, Max: 3650, Editable: true},
	{Category: RetOutbox, Label: "Email contents", Keep: 30, Unit: UnitDays, Min: 1, Max: 365, Editable: true},
	{Category: RetExports, Label: "Personal data export files", Keep: 7, Unit: UnitDays, Min: 1, Max: 30, Editable: true},
	{Category: RetSessions, Label: "Login sessions", Keep: 0, Unit: UnitDays, Min: 0, Max: 0},
	{Category: RetKeysBackups, Label: "Backups of the encryption keys", Keep: 7, Unit: UnitDays, Min: 1, Max: 30, Editable: true},
	{Category: RetDailyBackups, Label: "Daily data backups", Keep: 7, Unit: UnitBackups, Min: 1, Max: 60, Editable: true},
	{Category: RetWeeklyBackups, Label: "Weekly data backups", Keep: 4, Unit: UnitBackups, Min: 0, Max: 52, Editable: true},
}

// RetentionCategories lists every category, in display order.
func RetentionCategories() []string {
	out := make([]string, len(retentionDefaults))
	for i, r := range retentionDefaults {
		out[i] = r.Category
	}
	return out
}

// RetentionLabel names a category for people ("Web server access log").
func RetentionLabel(category string) string {
	if r, ok := defaultRule(category); ok {
		return r.Label
	}
	return category
}

func defaultRule(category string) (RetentionRule, bool) {
	for _, r := range retentionDefaults {
		if r.Category == category {
			r.Default = r.Keep
			return r, true
		}
	}
	return RetentionRule{}, false
}

// RetentionRules returns every rule as it applies now, defaults merged with
// the operator's changes. The privacy notice and the console read it.
func (s *Store) RetentionRules(ctx context.Context) ([]RetentionRule, error) {
	stored := map[string]RetentionRule{}
	rows, err := s.readQuery(ctx, "SELECT category, keep, updated_at, updated_by FROM retention_rules")
	if err != nil {
		return nil, fmt.Errorf("store: retention rules: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r RetentionRule
		if err := rows.Scan(&r.Category, &r.Keep, tsInto(&r.UpdatedAt), &r.UpdatedBy); err != nil {
			return nil, fmt.Errorf("store: retention rules: %w", err)
		}
		stored[r.Category] = r
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: retention rules: %w", err)
	}
	out := make([]RetentionRule, 0, len(retentionDefaults))
	for _, c := range RetentionCategories() {
		r, _ := defaultRule(c)
		if st, ok := stored[c]; ok && r.Editable {
			r.Keep, r.UpdatedAt, r.UpdatedBy = st.Keep, st.UpdatedAt, st.UpdatedBy
		}
		out = append(out, r)
	}
	return out, nil
}

// RetentionRule returns the rule of one category.
func (s *Store) RetentionRule(ctx context.Context, category string) (RetentionRule, error) {
	rules, err := s.RetentionRules(ctx)
	if err != nil {
		return RetentionRule{}, err
	}
	for _, r := range rules {
		if r.Category == category {
			return r, nil
		}
	}
	return RetentionRule{}, ErrNotFound
}

// RuleErrors are validation failures of SetRetentionRules, by category.
type RuleErrors map[string]string

func (e RuleErrors) Error() string {
	var parts []string
	for _, c := range slices.Sorted(maps.Keys(e)) {
		parts = append(parts, c+": "+e[c])
	}
	return "store: invalid retention rules: " + strings.Join(parts, "; ")
}

// SetRetentionRules changes the rules given in keep (category → value),
// after validating all of them together: each within its bounds, and the
// activity log's full address kept no longer than its shortened address, and
// that no longer than the rows themselves. Invalid input changes nothing and
// returns RuleErrors. Each change is audited in the same transaction.
func (s *Store) SetRetentionRules(ctx context.Context, actor string, keep map[string]int) error {
	current, err := s.RetentionRules(ctx)
	if err != nil {
		return err
	}
	merged := map[string]int{}
	byCat := map[string]RetentionRule{}
	for _, r := range current {
		merged[r.Category], byCat[r.Category] = r.Keep, r
	}
	errs := RuleErrors{}
	for c, v := range keep {
		r, ok := byCat[c]
		switch {
		case !ok:
			errs[c] = "unknown retention category"
		case !r.Editable && v != r.Keep:
			errs[c] = "this rule cannot be changed"
		case v < r.Min || v > r.Max:
			errs[c] = fmt.Sprintf("must be from %d to %d %s", r.Min, r.Max, r.Unit)
		default:
			merged[c] = v
		}
	}
	if len(errs) == 0 {
		if merged[RetActivityIP] > merged[RetActivityPrefix] {
			errs[RetActivityIP] = "the full address cannot be kept longer than the shortened one"
		}
		if merged[RetActivityPrefix] > merged[RetActivity] {
			errs[RetActivityPrefix] = "the shortened address cannot be kept longer than the activity log entries"
		}
	}
	if len(errs) > 0 {
		return errs
	}
	now := s.Now()
	err = s.tx(ctx, func(tx *sql.Tx) error {
		for _, c := range slices.Sorted(maps.Keys(keep)) {
			v := keep[c]
			if v == byCat[c].Keep || !byCat[c].Editable {
				continue
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO retention_rules (category, keep, updated_at, updated_by) VALUES (?, ?, ?, ?)
				ON CONFLICT (category) DO UPDATE SET keep = excluded.keep, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
				c, v, ts(now), actor); err != nil {
				return err
			}
			if err := s.appendAudit(ctx, tx, now, AuditEntry{ActorID: actor, Action: AuditRetentionRule, TargetType: "retention_rule",
				TargetID: c, Details: map[string]any{"from": byCat[c].Keep, "to": v, "unit": byCat[c].Unit}}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: set retention rules: %w", err)
	}
	return nil
}

// LegalHold stops retention from purging what it covers: every row of one
// person (UserID) or a whole category.
type LegalHold struct {
	ID         string
	UserID     string
	Category   string
	Reason     string
	SetBy      string
	SetAt      time.Time
	ReleasedBy string
	ReleasedAt time.Time
}

// Active reports whether the hold still applies.
func (h LegalHold) Active() bool { return h.ReleasedAt.IsZero() }

// NewLegalHold is a hold to set: exactly one of UserID and Category.
type NewLegalHold struct {
	UserID   string
	Category string
	Reason   string
}

// maxHoldReason bounds the reason text.
const maxHoldReason = 500

// HoldErrors are validation failures of SetLegalHold, by field.
type HoldErrors map[string]string

func (e HoldErrors) Error() string {
	var parts []string
	for _, f := range slices.Sorted(maps.Keys(e)) {
		parts = append(parts, f+": "+e[f])
	}
	return "store: invalid legal hold: " + strings.Join(parts, "; ")
}

// holdable are the categories a hold can cover: those with a purge.
func holdable(c string) bool {
	switch c {
	case RetActivity, RetActivityIP, RetActivityPrefix, RetAccessLog, RetAudit, RetConsent, RetOutbox, RetExports:
		return true
	}
	return false
}

// SetLegalHold records a hold (audited). A hold on a person needs the
// account to exist. The reason is sealed: operators type it, and it may
// name someone.
func (s *Store) SetLegalHold(ctx context.Context, actor string, nh NewLegalHold) (LegalHold, error) {
	nh.Reason = strings.TrimSpace(nh.Reason)
	errs := HoldErrors{}
	switch {
	case (nh.UserID == "") == (nh.Category == ""):
		errs["target"] = "choose either a person or a category"
	case nh.UserID != "" && !ValidID(nh.UserID):
		errs["user_id"] = "not an account id"
	case nh.Category != "" && !holdable(nh.Category):
		errs["category"] = "not a category that retention purges"
	}
	switch n := utf8.RuneCountInString(nh.Reason); {
	case n == 0:
		errs["reason"] = "give the reason, e.g. the case or investigation reference"
	case n > maxHoldReason:
		errs["reason"] = fmt.Sprintf("at most %d characters", maxHoldReason)
	}
	if len(errs) > 0 {
		return LegalHold{}, errs
	}
	if nh.UserID != "" {
		var one int
		err := s.rdb.QueryRowContext(ctx, "SELECT 1 FROM users WHERE id = ?", nh.UserID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return LegalHold{}, HoldErrors{"user_id": "no account has this id"}
		}
		if err != nil {
			return LegalHold{}, fmt.Errorf("store: set legal hold: %w", err)
		}
	}
	dk, err := s.systemDataKey(ctx)
	if err != nil {
		return LegalHold{}, fmt.Errorf("store: set legal hold: %w", err)
	}
	h := LegalHold{ID: NewID(), UserID: nh.UserID, Category: nh.Category, Reason: nh.Reason, SetBy: actor, SetAt: s.Now()}
	z := sealer{dk: dk, table: "legal_holds", row: h.ID}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO legal_holds (id, user_id, category, reason, set_by, set_at) VALUES (?, ?, ?, ?, ?, ?)`,
			h.ID, nullStr(h.UserID), nullStr(h.Category), z.seal("reason", h.Reason), actor, ts(h.SetAt)); err != nil {
			return err
		}
		target, tt := h.Category, "category"
		if h.UserID != "" {
			target, tt = h.UserID, "user"
		}
		return s.appendAudit(ctx, tx, h.SetAt, AuditEntry{ActorID: actor, Action: AuditHoldSet, TargetType: tt, TargetID: target,
			Details: map[string]any{"hold_id": h.ID}})
	})
	if err != nil {
		return LegalHold{}, fmt.Errorf("store: set legal hold: %w", err)
	}
	return h, nil
}

// ReleaseLegalHold ends an active hold (audited); ErrNotFound if there is
// no such active hold.
func (s *Store) ReleaseLegalHold(ctx context.Context, actor, id string) error {
	now := s.Now()
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE legal_holds SET released_by = ?, released_at = ? WHERE id = ? AND released_at IS NULL",
			actor, ts(now), id)
		if err != nil {
			return err
		}
		if err := mustAffect(res); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, now, AuditEntry{ActorID: actor, Action: AuditHoldRelease, TargetType: "legal_hold", TargetID: id})
	})
	if errors.Is(err, ErrNotFound) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("store: release legal hold: %w", err)
	}
	return nil
}

// LegalHolds lists holds, active first then newest first; released ones
// only when all is set.
func (s *Store) LegalHolds(ctx context.Context, all bool) ([]LegalHold, error) {
	q := `SELECT id, COALESCE(user_id, ''), COALESCE(category, ''), reason, set_by, set_at, COALESCE(released_by, ''), released_at
		FROM legal_holds`
	if !all {
		q += " WHERE released_at IS NULL"
	}
	rows, err := s.readQuery(ctx, q+" ORDER BY released_at IS NOT NULL, set_at DESC, id")
	if err != nil {
		return nil, fmt.Errorf("store: legal holds: %w", err)
	}
	type raw struct {
		h      LegalHold
		reason []byte
	}
	var rs []raw
	for rows.Next() {
		var r raw
		if err := rows.Scan(&r.h.ID, &r.h.UserID, &r.h.Category, &r.reason, &r.h.SetBy, tsInto(&r.h.SetAt), &r.h.ReleasedBy, tsInto(&r.h.ReleasedAt)); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: legal holds: %w", err)
		}
		rs = append(rs, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: legal holds: %w", err)
	}
	out := make([]LegalHold, 0, len(rs))
	if len(rs) == 0 {
		return out, nil
	}
	dk, err := s.systemDataKey(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: legal holds: %w", err)
	}
	for _, r := range rs {
		if r.h.Reason, err = (sealer{dk: dk, table: "legal_holds", row: r.h.ID}).open("reason", r.reason); err != nil {
			return nil, err
		}
		out = append(out, r.h)
	}
	return out, nil
}

// heldUsers is the SQL set of people under an active hold.
const heldUsers = "SELECT user_id FROM legal_holds WHERE released_at IS NULL AND user_id IS NOT NULL"

// purgeStep removes or clears at most limit rows older than cutoff in tx and
// says how many it touched.
type purgeStep func(ctx context.Context, tx *sql.Tx, cutoff string, limit int) (int64, error)

// purger is the retention purge of one category: steps run in order, each in
// batches until it touches fewer rows than a batch; finish runs after.
type purger struct {
	category string
	table    string // needed in the schema, or the purge fails
	steps    []purgeStep
	finish   func(ctx context.Context, cutoff time.Time) (keys int, err error)
}

// execStep is a step that is one statement taking (cutoff, limit).
func execStep(query string) purgeStep {
	return func(ctx context.Context, tx *sql.Tx, cutoff string, limit int) (int64, error) {
		res, err := tx.ExecContext(ctx, query, cutoff, limit)
		if err != nil {
			return 0, err
		}
		return res.RowsAffected()
	}
}

func (s *Store) purgers() []purger {
	return []purger{
		// Rows first: clearing addresses of rows about to go is wasted work.
		{category: RetActivity, table: "activity_log", steps: []purgeStep{purgeActivityStep}},
		{category: RetActivityIP, table: "activity_log", steps: []purgeStep{execStep(`UPDATE activity_log SET ip = NULL WHERE id IN
			(SELECT id FROM activity_log WHERE ip IS NOT NULL AND at < ?1 AND user_id NOT IN (` + heldUsers + `) LIMIT ?2)`)}},
		{category: RetActivityPrefix, table: "activity_log", steps: []purgeStep{execStep(`UPDATE activity_log SET ip_prefix = NULL WHERE id IN
			(SELECT id FROM activity_log WHERE ip_prefix IS NOT NULL AND at < ?1 AND user_id NOT IN (` + heldUsers + `) LIMIT ?2)`)}},
		{category: RetAccessLog, table: "access_log", steps: []purgeStep{execStep(`DELETE FROM access_log WHERE id IN
			(SELECT id FROM access_log WHERE at < ?1 LIMIT ?2)`)}, finish: s.dropAccessLogKeys},
		{category: RetAudit, table: "audit_log", steps: []purgeStep{s.pruneAuditStep}},
		{category: RetConsent, table: "user_consents", steps: []purgeStep{
			execStep(`DELETE FROM user_consents WHERE id IN (SELECT c.id FROM user_consents AS c
				WHERE c.user_id NOT IN (` + heldUsers + `) AND EXISTS (SELECT 1 FROM user_consents AS n
				WHERE n.user_id = c.user_id AND n.purpose = c.purpose AND n.id > c.id AND n.at < ?1) LIMIT ?2)`),
			execStep(`DELETE FROM policy_acceptances WHERE id IN (SELECT c.id FROM policy_acceptances AS c
				WHERE c.user_id NOT IN (` + heldUsers + `) AND EXISTS (SELECT 1 FROM policy_acceptances AS n
				WHERE n.user_id = c.user_id AND n.id > c.id AND n.accepted_at < ?1) LIMIT ?2)`),
			// A decline is replaced by a later answer: an acceptance, or a
			// decline of a newer version.
			execStep(`DELETE FROM policy_declines WHERE id IN (SELECT d.id FROM policy_declines AS d
				WHERE d.user_id NOT IN (` + heldUsers + `) AND (EXISTS (SELECT 1 FROM policy_acceptances AS n
				WHERE n.user_id = d.user_id AND n.accepted_at > d.declined_at AND n.accepted_at < ?1) OR EXISTS
				(SELECT 1 FROM policy_declines AS n WHERE n.user_id = d.user_id AND n.id > d.id AND n.declined_at < ?1)) LIMIT ?2)`),
			s.optionalStep("consent_records", `DELETE FROM consent_records WHERE id IN (SELECT c.id FROM consent_records AS c
				WHERE (c.user_id IS NULL OR c.user_id NOT IN (`+heldUsers+`)) AND EXISTS (SELECT 1 FROM consent_records AS n
				WHERE n.consent_id = c.consent_id AND (n.created_at, n.id) > (c.created_at, c.id) AND n.created_at < ?1) LIMIT ?2)`),
		}},
		{category: RetOutbox, table: "outbox", steps: []purgeStep{execStep(`UPDATE outbox SET recipient = NULL, subject = NULL,
			body_text = NULL, body_html = NULL, headers = NULL WHERE id IN (SELECT id FROM outbox
			WHERE recipient IS NOT NULL AND status <> 'queued' AND created_at < ?1 AND COALESCE(sent_at, created_at) < ?1
			AND (user_id IS NULL OR user_id NOT IN (` + heldUsers + `)) LIMIT ?2)`)}},
		{category: RetSessions, table: "sessions", steps: []purgeStep{execStep(`DELETE FROM sessions WHERE rowid IN
			(SELECT rowid FROM sessions WHERE expiry <= ?1 LIMIT ?2)`)}},
		// Export rows past their expiry (store/export.go), then files without a row.
		{category: RetExports, table: "exports", steps: []purgeStep{s.purgeExportsStep}, finish: s.sweepExportFiles},
	}
}

// purgeActivityStep deletes a batch of expired activity rows and takes
// what they counted off the reports' per-day counts (activity_days), in
// the same transaction. The batch is the oldest rows in (at, id) order, a
// total order, so both statements see the same rows.
func purgeActivityStep(ctx context.Context, tx *sql.Tx, cutoff string, limit int) (int64, error) {
	const batch = `SELECT id FROM activity_log WHERE at < ?1 AND user_id NOT IN (` + heldUsers + `) ORDER BY at, id LIMIT ?2`
	if _, err := tx.ExecContext(ctx, `UPDATE activity_days AS d SET n = d.n - g.c
		FROM (SELECT COALESCE(training_id, '') AS training_id, substr(at, 1, 10) AS day, user_id, COUNT(*) AS c
			FROM activity_log WHERE id IN (`+batch+`) GROUP BY 1, 2, 3) AS g
		WHERE d.training_id = g.training_id AND d.day = g.day AND d.user_id = g.user_id`, cutoff, limit); err != nil {
		return 0, err
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM activity_log WHERE id IN (`+batch+`)`, cutoff, limit)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// optionalStep runs query only when table exists (a table another feature's
// migration adds).
func (s *Store) optionalStep(table, query string) purgeStep {
	run := execStep(query)
	return func(ctx context.Context, tx *sql.Tx, cutoff string, limit int) (int64, error) {
		ok, err := tableExists(ctx, tx, table)
		if err != nil || !ok {
			return 0, err
		}
		return run(ctx, tx, cutoff, limit)
	}
}

func tableExists(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, table string) (bool, error) {
	var n int
	err := q.QueryRowContext(ctx, "SELECT COUNT(*) FROM sqlite_schema WHERE type = 'table' AND name = ?", table).Scan(&n)
	return n > 0, err
}

// pruneAuditStep prunes the oldest audit entries (see pruneAuditBatch).
func (s *Store) pruneAuditStep(ctx context.Context, tx *sql.Tx, cutoff string, limit int) (int64, error) {
	held := map[string]bool{}
	rows, err := tx.QueryContext(ctx, heldUsers)
	if err != nil {
		return 0, err
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, err
		}
		held[id] = true
	}
	if err := rows.Close(); err != nil {
		return 0, err
	}
	return s.pruneAuditBatch(ctx, tx, cutoff, held, limit, ts(s.Now()))
}

// accessLogKeyPrefix names the per-day keys of the access log.
const accessLogKeyPrefix = "accesslog:"

// dropAccessLogKeys destroys the key of every day wholly before cutoff, so
// those days' addresses are unreadable in every copy, backups included.
func (s *Store) dropAccessLogKeys(ctx context.Context, cutoff time.Time) (int, error) {
	rows, err := s.krdb.QueryContext(ctx, "SELECT subject FROM data_keys WHERE subject >= ? AND subject < ?",
		accessLogKeyPrefix, accessLogKeyPrefix+cutoff.UTC().Format(time.DateOnly))
	if err != nil {
		return 0, err
	}
	var subjects []string
	for rows.Next() {
		var sub string
		if err := rows.Scan(&sub); err != nil {
			rows.Close()
			return 0, err
		}
		subjects = append(subjects, sub)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	for _, sub := range subjects {
		if err := s.DestroyDataKey(ctx, sub); err != nil {
			return 0, err
		}
	}
	return len(subjects), nil
}

// PurgeOptions tune a retention pass.
type PurgeOptions struct {
	// Actor is who started the pass, for the audit log; ActorScheduler if
	// empty.
	Actor string
	// BatchSize bounds the rows one transaction touches (default 1000), so
	// other writers wait at most one batch and readers never wait (WAL).
	BatchSize int
	// Pause is the rest between batches that lets queued writers in
	// (default 2 ms).
	Pause time.Duration
	// afterBatch, for tests, runs after every committed batch.
	afterBatch func(category string, rows int64)
}

// PurgeResult is what one category's purge did.
type PurgeResult struct {
	Category string
	Rows     int64 // rows deleted or cleared
	Keys     int   // data keys destroyed (access log days)
	Held     bool  // a legal hold on the category skipped it
	Err      error
}

// Purge applies every retention rule now: in small batches, each its own
// transaction, so an interruption (crash, shutdown) loses nothing that should
// stay and the next pass picks up where it stopped. Rows of people under a
// legal hold and categories under one are skipped. Each category's outcome
// goes to the purge log, and the pass to the audit log.
func (s *Store) Purge(ctx context.Context, o PurgeOptions) ([]PurgeResult, error) {
	if o.BatchSize <= 0 {
		o.BatchSize = 1000
	}
	if o.Pause == 0 {
		o.Pause = 2 * time.Millisecond
	}
	if o.Actor == "" {
		o.Actor = ActorScheduler
	}
	rules, err := s.RetentionRules(ctx)
	if err != nil {
		return nil, err
	}
	keep := map[string]int{}
	for _, r := range rules {
		keep[r.Category] = r.Keep
	}
	heldCats, err := s.heldCategories(ctx)
	if err != nil {
		return nil, err
	}
	record := context.WithoutCancel(ctx)
	now := s.Now()
	var results []PurgeResult
	var errs []error
	for _, p := range s.purgers() {
		res := PurgeResult{Category: p.category}
		started := s.Now()
		cutoff := now.Add(-time.Duration(keep[p.category]) * 24 * time.Hour)
		exists, err := tableExists(ctx, s.rdb, p.table)
		switch {
		case err != nil:
			res.Err = err
		case !exists:
			// Every table is in the migrations: a missing one is damage,
			// and the purge it prevents is reported, not skipped.
			res.Err = fmt.Errorf("table %s is missing", p.table)
		case heldCats[p.category] || (heldCats[RetActivity] && (p.category == RetActivityIP || p.category == RetActivityPrefix)):
			res.Held = true
		default:
			res.Rows, res.Err = s.runPurge(ctx, p, cutoff, o)
			if res.Err == nil && p.finish != nil {
				res.Keys, res.Err = p.finish(ctx, cutoff)
			}
		}
		if res.Err != nil {
			res.Err = fmt.Errorf("purge %s: %w", p.category, res.Err)
			errs = append(errs, res.Err)
		}
		if err := s.logPurge(record, res, started); err != nil {
			errs = append(errs, err)
		}
		results = append(results, res)
		if ctx.Err() != nil {
			break
		}
	}
	details := map[string]any{}
	for _, r := range results {
		if r.Rows > 0 || r.Keys > 0 {
			details[r.Category] = r.Rows
		}
	}
	if err := s.Audit(record, AuditEntry{ActorID: o.Actor, Action: AuditRetentionPurge, Details: details}); err != nil {
		errs = append(errs, err)
	}
	if err := s.tx(record, func(tx *sql.Tx) error {
		// The purge log itself is kept two years.
		_, err := tx.ExecContext(record, "DELETE FROM retention_runs WHERE finished_at < ?", ts(now.AddDate(-2, 0, 0)))
		return err
	}); err != nil {
		errs = append(errs, err)
	}
	return results, errors.Join(errs...)
}

func (s *Store) runPurge(ctx context.Context, p purger, cutoff time.Time, o PurgeOptions) (int64, error) {
	var total int64
	c := ts(cutoff)
	for _, step := range p.steps {
		for {
			if err := ctx.Err(); err != nil {
				return total, err
			}
			var n int64
			err := s.tx(ctx, func(tx *sql.Tx) error {
				var err error
				n, err = step(ctx, tx, c, o.BatchSize)
				return err
			})
			if err != nil {
				return total, err
			}
			total += n
			if o.afterBatch != nil {
				o.afterBatch(p.category, n)
			}
			if n < int64(o.BatchSize) {
				break
			}
			select {
			case <-ctx.Done():
				return total, ctx.Err()
			case <-time.After(o.Pause):
			}
		}
	}
	return total, nil
}

func (s *Store) heldCategories(ctx context.Context) (map[string]bool, error) {
	rows, err := s.rdb.QueryContext(ctx, "SELECT category FROM legal_holds WHERE released_at IS NULL AND category IS NOT NULL")
	if err != nil {
		return nil, fmt.Errorf("store: held categories: %w", err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, err
		}
		out[c] = true
	}
	return out, rows.Err()
}

func (s *Store) logPurge(ctx context.Context, r PurgeResult, started time.Time) error {
	var errText any
	if r.Err != nil {
		errText = truncate(r.Err.Error(), 500)
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO retention_runs (category, rows, held, started_at, finished_at, error) VALUES (?, ?, ?, ?, ?, ?)",
			r.Category, r.Rows, r.Held, ts(started), ts(s.Now()), errText)
		return err
	})
}

// PurgeRun is one line of the purge log.
type PurgeRun struct {
	Category   string
	Rows       int64
	Held       bool
	StartedAt  time.Time
	FinishedAt time.Time
	Error      string
}

// PurgeRuns returns the newest limit lines of the purge log.
func (s *Store) PurgeRuns(ctx context.Context, limit int) ([]PurgeRun, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT category, rows, held, started_at, finished_at, COALESCE(error, '')
		FROM retention_runs ORDER BY finished_at DESC, id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("store: purge runs: %w", err)
	}
	defer rows.Close()
	var out []PurgeRun
	for rows.Next() {
		var r PurgeRun
		if err := rows.Scan(&r.Category, &r.Rows, &r.Held, tsInto(&r.StartedAt), tsInto(&r.FinishedAt), &r.Error); err != nil {
			return nil, fmt.Errorf("store: purge runs: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// LastPurges returns the newest purge-log line of each category.
func (s *Store) LastPurges(ctx context.Context) (map[string]PurgeRun, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT category, rows, held, started_at, finished_at, COALESCE(error, '')
		FROM retention_runs WHERE id IN (SELECT MAX(id) FROM retention_runs GROUP BY category)`)
	if err != nil {
		return nil, fmt.Errorf("store: last purges: %w", err)
	}
	defer rows.Close()
	out := map[string]PurgeRun{}
	for rows.Next() {
		var r PurgeRun
		if err := rows.Scan(&r.Category, &r.Rows, &r.Held, tsInto(&r.StartedAt), tsInto(&r.FinishedAt), &r.Error); err != nil {
			return nil, fmt.Errorf("store: last purges: %w", err)
		}
		out[r.Category] = r
	}
	return out, rows.Err()
}

// DeleteExpiredAccountTokens removes verification and reset links past
// their expiry, in small batches, and returns how many went.
func (s *Store) DeleteExpiredAccountTokens(ctx context.Context) (int64, error) {
	step := execStep(`DELETE FROM account_tokens WHERE rowid IN (SELECT rowid FROM account_tokens WHERE expires_at <= ?1 LIMIT ?2)`)
	var total int64
	for {
		var n int64
		err := s.tx(ctx, func(tx *sql.Tx) error {
			var err error
			n, err = step(ctx, tx, ts(s.Now()), 500)
			return err
		})
		if err != nil {
			return total, fmt.Errorf("store: delete expired account tokens: %w", err)
		}
		total += n
		if n < 500 {
			return total, nil
		}
	}
}

// retentionTables classifies the retention tables for the data map.
func retentionTables() []table {
	hold := Field{Category: CatSecurity, Personal: true, Purposes: []string{"keep data needed for a legal claim or investigation from being purged"},
		Basis: BasisLegal, Retention: "until the hold is released, then with the audit log", Export: ExportOmit, Erasure: EraseKeep,
		Why: "a legal hold is an operator's record about an investigation, kept under the legal-claims exemption (GDPR Art. 17(3)(e))"}
	return []table{
		{db: DBMain, name: "retention_rules", columns: []string{"category", "keep", "updated_at", "updated_by"},
			base:     Field{Category: CatSystem, Export: ExportOmit, Erasure: EraseNone, Why: "retention periods the operator changed"},
			override: map[string]Field{"updated_by": actorField("know who changed a retention period")}},
		systemTable(DBMain, "retention_runs", "the purge log: counts per category and run", "id", "category", "rows", "held",
			"started_at", "finished_at", "error"),
		{db: DBMain, name: "legal_holds", base: hold, sealed: []string{"reason"},
			columns:  []string{"id", "user_id", "category", "reason", "set_by", "set_at", "released_by", "released_at"},
			override: map[string]Field{"set_by": actorField("know who set a legal hold"), "released_by": actorField("know who released a legal hold")}},
	}
}

// operationsTables lists the tables of migration 0006 for the data map.
func operationsTables() []table {
	var out []table
	for _, group := range [][]table{schedulerTables(), auditTables(), retentionTables(), accessLogTables(), backupTables(), offsiteTables()} {
		out = append(out, group...)
	}
	return out
}
