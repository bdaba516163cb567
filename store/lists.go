package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Paged lists for the console. Every list takes a filter holding a
// ListQuery and answers one page of rows with the number of rows the whole
// filter matches. The sort key is looked up in the list's own whitelist of
// ORDER BY columns: no text from outside ever becomes SQL, and a key the
// list does not know is ErrBadSort.

// ListQuery is what every console list asks besides its filter: the sort
// key ("" for the list's default), its direction and the window of rows.
type ListQuery struct {
	Sort   string
	Desc   bool
	Limit  int // 0: every row
	Offset int
}

// Page is one page of a list and the number of rows the filter matches.
type Page[T any] struct {
	Items []T
	Total int
}

// ErrBadSort is a sort key outside the list's whitelist.
var ErrBadSort = errors.New("store: unknown sort key")

// sortColumns is a list's whitelist: each key's ORDER BY columns (constant
// SQL), the default key and a unique tie-breaker so pages never overlap.
type sortColumns struct {
	def  string
	cols map[string][]string
	tie  string
}

// orderBy is the ORDER BY clause for q; the direction applies to every
// column of the key and to the tie-breaker.
func (c sortColumns) orderBy(q ListQuery) (string, error) {
	key := q.Sort
	if key == "" {
		key = c.def
	}
	cols, ok := c.cols[key]
	if !ok {
		return "", fmt.Errorf("%w: %q", ErrBadSort, key)
	}
	dir := " ASC"
	if q.Desc {
		dir = " DESC"
	}
	parts := make([]string, 0, len(cols)+1)
	for _, col := range append(slices.Clone(cols), c.tie) {
		parts = append(parts, col+dir)
	}
	return " ORDER BY " + strings.Join(parts, ", "), nil
}

// window is the LIMIT clause of q and its arguments.
func (q ListQuery) window() (string, []any) {
	if q.Limit <= 0 {
		return "", nil
	}
	return " LIMIT ? OFFSET ?", []any{q.Limit, max(q.Offset, 0)}
}

// where joins conditions into a WHERE clause ("" for none).
func where(conds []string) string {
	if len(conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(conds, " AND ")
}

// count runs a COUNT(*) query.
func (s *Store) count(ctx context.Context, q string, args ...any) (int, error) {
	var n int
	err := s.rdb.QueryRowContext(ctx, q, args...).Scan(&n)
	return n, err
}

// MemberFilter narrows the console's Member list; Query matches part of
// the name.
type MemberFilter struct {
	Query string
	ListQuery
}

var memberSorts = sortColumns{def: "country", tie: "id", cols: map[string][]string{
	"name":    {"name"},
	"country": {"country IS NULL", "country", "name"},
	"kind":    {"kind", "name"},
	"status":  {"active", "name"},
}}

// MemberList is a page of Members.
func (s *Store) MemberList(ctx context.Context, f MemberFilter) (Page[Member], error) {
	var p Page[Member]
	order, err := memberSorts.orderBy(f.ListQuery)
	if err != nil {
		return p, err
	}
	var conds []string
	var args []any
	if q := strings.TrimSpace(f.Query); q != "" {
		conds = append(conds, "name LIKE ? ESCAPE '\\'")
		args = append(args, "%"+likeEscape(q)+"%")
	}
	if p.Total, err = s.count(ctx, "SELECT COUNT(*) FROM members"+where(conds), args...); err != nil {
		return p, fmt.Errorf("store: member list: %w", err)
	}
	win, wargs := f.window()
	rows, err := s.rdb.QueryContext(ctx, "SELECT id, name, COALESCE(country, ''), kind, active FROM members"+where(conds)+order+win,
		append(args, wargs...)...)
	if err != nil {
		return p, fmt.Errorf("store: member list: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var m Member
		if err := rows.Scan(&m.ID, &m.Name, &m.Country, &m.Kind, &m.Active); err != nil {
			return p, fmt.Errorf("store: member list: %w", err)
		}
		p.Items = append(p.Items, m)
	}
	return p, rows.Err()
}

// GrantFilter narrows the console's grant list to those a Member gave or
// received as a contractor; MemberID "" lists every Member's.
type GrantFilter struct {
	MemberID string
	ListQuery
}

var grantSorts = sortColumns{def: "created", tie: "g.id", cols: map[string][]string{
	"created": {"g.created_at"},
	"member":  {"m.name"},
	"from":    {"g.valid_from"},
	"until":   {"g.valid_until"},
}}

// GrantList is a page of grants with their trainings.
func (s *Store) GrantList(ctx context.Context, f GrantFilter) (Page[Grant], error) {
	var p Page[Grant]
	order, err := grantSorts.orderBy(f.ListQuery)
	if err != nil {
		return p, err
	}
	var conds []string
	var args []any
	if f.MemberID != "" {
		// The grants it gave and those it received as a contractor.
		conds = append(conds, "(g.member_id = ? OR g.recipient_id = ?)")
		args = append(args, f.MemberID, f.MemberID)
	}
	from := " FROM access_grants g JOIN members m ON m.id = g.member_id" + where(conds)
	if p.Total, err = s.count(ctx, "SELECT COUNT(*)"+from, args...); err != nil {
		return p, fmt.Errorf("store: grant list: %w", err)
	}
	win, wargs := f.window()
	ids, err := s.ids(ctx, "SELECT g.id"+from+order+win, append(args, wargs...)...)
	if err != nil || len(ids) == 0 {
		return p, err
	}
	// The page's grants with their trainings, put back in the page's order.
	gs, err := s.grants(ctx, "g.id IN ("+placeholders(len(ids))+")", anys(ids)...)
	if err != nil {
		return p, err
	}
	p.Items = sortedLike(gs, ids, func(g Grant) string { return g.ID })
	return p, nil
}

// OutboxFilter narrows the console's outbox list by status and kind.
type OutboxFilter struct {
	Status, Kind string
	ListQuery
}

var outboxSorts = sortColumns{def: "queued", tie: "id", cols: map[string][]string{
	"queued":   {"created_at"},
	"sent":     {"sent_at IS NOT NULL", "sent_at"},
	"attempts": {"attempts"},
	"status":   {"status"},
	"kind":     {"kind"},
}}

// OutboxList is a page of the outbox, opened. Mail whose key is gone is
// listed with its sealed fields empty.
func (s *Store) OutboxList(ctx context.Context, f OutboxFilter) (Page[OutboxMail], error) {
	var p Page[OutboxMail]
	order, err := outboxSorts.orderBy(f.ListQuery)
	if err != nil {
		return p, err
	}
	var conds []string
	var args []any
	if f.Status != "" {
		conds = append(conds, "status = ?")
		args = append(args, f.Status)
	}
	if f.Kind != "" {
		conds = append(conds, "kind = ?")
		args = append(args, f.Kind)
	}
	if p.Total, err = s.count(ctx, "SELECT COUNT(*) FROM outbox"+where(conds), args...); err != nil {
		return p, fmt.Errorf("store: outbox list: %w", err)
	}
	win, wargs := f.window()
	rows, err := s.rdb.QueryContext(ctx, "SELECT "+outboxColumns+" FROM outbox"+where(conds)+order+win, append(args, wargs...)...)
	if err != nil {
		return p, fmt.Errorf("store: outbox list: %w", err)
	}
	raw, err := scanOutbox(rows)
	if err != nil {
		return p, fmt.Errorf("store: outbox list: %w", err)
	}
	for _, r := range raw {
		m, err := s.openOutbox(ctx, r)
		if err != nil && !errors.Is(err, ErrNotFound) && !errors.Is(err, errUnreadable) {
			return p, fmt.Errorf("store: outbox list: %w", err)
		}
		p.Items = append(p.Items, m)
	}
	return p, nil
}

var caseSorts = sortColumns{def: "due", tie: "id", cols: map[string][]string{
	"due":      {"due_at"},
	"received": {"received_at"},
	"kind":     {"kind", "due_at"},
	"status":   {"status", "due_at"},
}}

// CaseList is a page of the privacy officer's queue. f's Limit is unused:
// q sets the window.
func (s *Store) CaseList(ctx context.Context, f CaseFilter, q ListQuery) (Page[Case], error) {
	var p Page[Case]
	order, err := caseSorts.orderBy(q)
	if err != nil {
		return p, err
	}
	var conds []string
	var args []any
	if f.Kind != "" {
		conds = append(conds, "kind = ?")
		args = append(args, f.Kind)
	}
	switch f.Status {
	case "":
	case CaseOpen:
		conds = append(conds, "status IN ('open', 'in_progress')")
	default:
		conds = append(conds, "status = ?")
		args = append(args, f.Status)
	}
	if f.Overdue {
		conds = append(conds, "status IN ('open', 'in_progress')", "due_at < ?")
		args = append(args, ts(s.Now()))
	}
	if f.UserID != "" {
		conds = append(conds, "user_id = ?")
		args = append(args, f.UserID)
	}
	if p.Total, err = s.count(ctx, "SELECT COUNT(*) FROM rights_cases"+where(conds), args...); err != nil {
		return p, fmt.Errorf("store: case list: %w", err)
	}
	win, wargs := q.window()
	rows, err := s.rdb.QueryContext(ctx, "SELECT "+caseColumns+" FROM rights_cases"+where(conds)+order+win, append(args, wargs...)...)
	if err != nil {
		return p, fmt.Errorf("store: case list: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		c, err := s.scanCase(ctx, rows)
		if err != nil {
			return p, fmt.Errorf("store: case list: %w", err)
		}
		p.Items = append(p.Items, c)
	}
	return p, rows.Err()
}

// BreachFilter narrows the breach register: State "open" or "closed", ""
// for both. Titles are sealed, so there is no search by title in SQL.
type BreachFilter struct {
	State string
	ListQuery
}

var breachSorts = sortColumns{def: "detected", tie: "id", cols: map[string][]string{
	"detected": {"detected_at"},
	"occurred": {"occurred_at"},
	"recorded": {"recorded_at"},
}}

// BreachList is a page of the breach register.
func (s *Store) BreachList(ctx context.Context, f BreachFilter) (Page[Breach], error) {
	var p Page[Breach]
	order, err := breachSorts.orderBy(f.ListQuery)
	if err != nil {
		return p, err
	}
	var conds []string
	switch f.State {
	case "open":
		conds = append(conds, "closed_at IS NULL")
	case "closed":
		conds = append(conds, "closed_at IS NOT NULL")
	}
	if p.Total, err = s.count(ctx, "SELECT COUNT(*) FROM breaches"+where(conds)); err != nil {
		return p, fmt.Errorf("store: breach list: %w", err)
	}
	win, wargs := f.window()
	rows, err := s.rdb.QueryContext(ctx, "SELECT "+breachColumns+" FROM breaches"+where(conds)+order+win, wargs...)
	if err != nil {
		return p, fmt.Errorf("store: breach list: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		b, err := s.scanBreach(ctx, rows)
		if err != nil {
			return p, fmt.Errorf("store: breach list: %w", err)
		}
		p.Items = append(p.Items, b)
	}
	return p, rows.Err()
}

// TrainingListFilter narrows the console's training list: MemberID ""
// lists every Member's, Query matches part of the title.
type TrainingListFilter struct {
	MemberID, Query string
	ListQuery
}

var trainingSorts = sortColumns{def: "created", tie: "t.id", cols: map[string][]string{
	"created": {"t.created_at"},
	"title":   {"t.title"},
	"member":  {"m.name", "t.title"},
	"kind":    {"t.kind", "t.title"},
	"status":  {"t.published", "t.title"},
}}

// TrainingList is a page of the trainings managed on the console, drafts
// included.
func (s *Store) TrainingList(ctx context.Context, f TrainingListFilter) (Page[Training], error) {
	var p Page[Training]
	order, err := trainingSorts.orderBy(f.ListQuery)
	if err != nil {
		return p, err
	}
	var conds []string
	var args []any
	if f.MemberID != "" {
		conds = append(conds, "t.member_id = ?")
		args = append(args, f.MemberID)
	}
	if q := strings.TrimSpace(f.Query); q != "" {
		conds = append(conds, "t.title LIKE ? ESCAPE '\\'")
		args = append(args, "%"+likeEscape(q)+"%")
	}
	from := " FROM trainings t JOIN members m ON m.id = t.member_id" + where(conds)
	if p.Total, err = s.count(ctx, "SELECT COUNT(*)"+from, args...); err != nil {
		return p, fmt.Errorf("store: training list: %w", err)
	}
	win, wargs := f.window()
	rows, err := s.rdb.QueryContext(ctx, "SELECT "+trainingColumns+from+order+win, append(args, wargs...)...)
	if err != nil {
		return p, fmt.Errorf("store: training list: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		t, err := scanTraining(rows)
		if err != nil {
			return p, fmt.Errorf("store: training list: %w", err)
		}
		p.Items = append(p.Items, t)
	}
	return p, rows.Err()
}

// LearnerFilter is the operators' learner search (search.go): Query is an
// exact email address or whole words of the name.
//
// Names and addresses are sealed, so SQL can sort only by what is stored in
// the clear: when the account was created ("created") and the country code
// ("country"). There is no sort by name: it would mean opening every
// matching account for every page, and sorting one page by name would
// pretend an order the list does not have.
type LearnerFilter struct {
	Query string
	ListQuery
}

var learnerSorts = sortColumns{def: "created", tie: "u.id", cols: map[string][]string{
	"created": {"u.created_at"},
	"country": {"u.country IS NULL", "u.country"},
}}

// LearnerList is a page of the learners the query finds. An email address
// is one lookup; a name selects candidates by their word tags, in the
// list's order, and opens each to check the name, at most searchMaxOpen of
// them, so Total counts the checked matches among those. Only the page's
// learners are opened in full.
func (s *Store) LearnerList(ctx context.Context, f LearnerFilter) (Page[LearnerSummary], error) {
	var p Page[LearnerSummary]
	order, err := learnerSorts.orderBy(f.ListQuery)
	if err != nil {
		return p, err
	}
	q := strings.TrimSpace(f.Query)
	var ids []string
	switch {
	case q == "":
		return p, nil
	case strings.Contains(q, "@"):
		ids, err = s.ids(ctx, "SELECT u.id FROM users u WHERE u.email_index = ? AND u.role = 'learner'", s.emailIndex(q))
	default:
		words := nameWords(q)
		if len(words) == 0 {
			return p, nil
		}
		sel := make([]string, len(words))
		args := make([]any, 0, len(words)+1)
		for i, w := range words {
			sel[i] = "SELECT user_id FROM name_tags WHERE tag = ?"
			args = append(args, nameTag(s.kr, w))
		}
		var cands []string
		cands, err = s.ids(ctx, `SELECT u.id FROM (`+strings.Join(sel, " INTERSECT ")+`) AS c
			CROSS JOIN users u ON u.id = c.user_id WHERE u.role = 'learner'`+order+` LIMIT ?`, append(args, searchMaxOpen)...)
		if err != nil {
			break
		}
		for _, id := range cands {
			first, surname, err := s.userName(ctx, id)
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return p, err
			}
			if hasWords(nameWords(first+" "+surname), words) {
				ids = append(ids, id) // else another word with the same tag
			}
		}
	}
	if err != nil {
		return p, fmt.Errorf("store: learner list: %w", err)
	}
	p.Total = len(ids)
	lo := min(max(f.Offset, 0), len(ids))
	hi := len(ids)
	if f.Limit > 0 {
		hi = min(lo+f.Limit, len(ids))
	}
	for _, id := range ids[lo:hi] {
		u, err := s.User(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return p, err
		}
		restricted, err := s.Restricted(ctx, id)
		if err != nil {
			return p, err
		}
		p.Items = append(p.Items, LearnerSummary{ID: id, Name: u.DisplayName(), Email: u.Email, Country: u.Country, Restricted: restricted})
	}
	return p, nil
}

// TrainingLearnerFilter pages the learners enrolled in a training, as
// those running it see them: people who restricted processing are left
// out, as EnrolmentCount leaves them out. Names are sealed, so the list
// sorts by enrolment or country, never by name.
type TrainingLearnerFilter struct {
	TrainingID string
	ListQuery
}

var trainingLearnerSorts = sortColumns{def: "enrolled", tie: "e.user_id", cols: map[string][]string{
	"enrolled": {"e.enrolled_at"},
	"country":  {"u.country IS NULL", "u.country"},
}}

// TrainingLearnerList is a page of a training's learners; only the page's
// accounts are opened.
func (s *Store) TrainingLearnerList(ctx context.Context, f TrainingLearnerFilter) (Page[LearnerSummary], error) {
	var p Page[LearnerSummary]
	order, err := trainingLearnerSorts.orderBy(f.ListQuery)
	if err != nil {
		return p, err
	}
	from := ` FROM enrolments e JOIN users u ON u.id = e.user_id WHERE e.training_id = ?
		AND NOT EXISTS (SELECT 1 FROM user_restrictions r WHERE r.user_id = e.user_id)`
	if p.Total, err = s.count(ctx, "SELECT COUNT(*)"+from, f.TrainingID); err != nil {
		return p, fmt.Errorf("store: training learner list: %w", err)
	}
	win, wargs := f.window()
	ids, err := s.ids(ctx, "SELECT e.user_id"+from+order+win, append([]any{f.TrainingID}, wargs...)...)
	if err != nil {
		return p, fmt.Errorf("store: training learner list: %w", err)
	}
	for _, id := range ids {
		u, err := s.User(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return p, err
		}
		p.Items = append(p.Items, LearnerSummary{ID: id, Name: u.DisplayName(), Email: u.Email, Country: u.Country})
	}
	return p, nil
}

// userName opens only the name of an account.
func (s *Store) userName(ctx context.Context, id string) (first, surname string, err error) {
	var f, l []byte
	if err := s.rdb.QueryRowContext(ctx, "SELECT first_name, surname FROM users WHERE id = ?", id).Scan(&f, &l); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return "", "", ErrNotFound
		}
		return "", "", err
	}
	z, err := s.sealerFor(ctx, id, "users", id)
	if err != nil {
		return "", "", err
	}
	if first, err = z.open("first_name", f); err != nil {
		return "", "", err
	}
	surname, err = z.open("surname", l)
	return first, surname, err
}

// AuditFilter narrows the audit log: ActorID an account id (or ActorCLI,
// ActorScheduler); Action an action ("grant.create") with every action
// under it ("grant" finds grant.create and grant.revoke, "rights.case"
// rights.case.extend); From and Until (exclusive) bound the time.
type AuditFilter struct {
	ActorID, Action string
	From, Until     time.Time
	ListQuery
}

var auditSorts = sortColumns{def: "when", tie: "seq", cols: map[string][]string{
	"when":   {"seq"},
	"action": {"action"},
}}

// AuditList is a page of the audit log.
func (s *Store) AuditList(ctx context.Context, f AuditFilter) (Page[AuditEntry], error) {
	var p Page[AuditEntry]
	order, err := auditSorts.orderBy(f.ListQuery)
	if err != nil {
		return p, err
	}
	var conds []string
	var args []any
	if f.ActorID != "" {
		conds = append(conds, "actor_id = ?")
		args = append(args, f.ActorID)
	}
	if a := f.Action; a != "" {
		conds = append(conds, "(action = ? OR substr(action, 1, ?) = ?)")
		args = append(args, a, len(a)+1, a+".")
	}
	if !f.From.IsZero() {
		conds = append(conds, "at >= ?")
		args = append(args, ts(f.From))
	}
	if !f.Until.IsZero() {
		conds = append(conds, "at < ?")
		args = append(args, ts(f.Until))
	}
	if p.Total, err = s.count(ctx, "SELECT COUNT(*) FROM audit_log"+where(conds), args...); err != nil {
		return p, fmt.Errorf("store: audit list: %w", err)
	}
	win, wargs := f.window()
	rows, err := s.rdb.QueryContext(ctx, `SELECT seq, at, actor_id, action, target_type, target_id, details, prev_hash, hash
		FROM audit_log`+where(conds)+order+win, append(args, wargs...)...)
	if err != nil {
		return p, fmt.Errorf("store: audit list: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e AuditEntry
		var details string
		if err := rows.Scan(&e.Seq, tsInto(&e.At), &e.ActorID, &e.Action, &e.TargetType, &e.TargetID, &details, &e.PrevHash, &e.Hash); err != nil {
			return p, fmt.Errorf("store: audit list: %w", err)
		}
		if err := json.Unmarshal([]byte(details), &e.Details); err != nil {
			return p, fmt.Errorf("store: audit list entry %d: %w", e.Seq, err)
		}
		p.Items = append(p.Items, e)
	}
	return p, rows.Err()
}

// PersonName is the name of an account as a list shows it.
type PersonName struct {
	Name string
	Role Role
}

// PeopleNames opens the names of the accounts among ids (other ids, and
// accounts erased since, are left out). Callers record the disclosure.
func (s *Store) PeopleNames(ctx context.Context, ids []string) (map[string]PersonName, error) {
	out := map[string]PersonName{}
	for _, id := range ids {
		if _, done := out[id]; done || !ValidID(id) {
			continue
		}
		u, err := s.User(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out[id] = PersonName{Name: u.DisplayName(), Role: u.Role}
	}
	return out, nil
}

// placeholders is "?, ?, …" for n arguments.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// sortedLike puts items in the order of ids.
func sortedLike[T any](items []T, ids []string, id func(T) string) []T {
	pos := make(map[string]int, len(ids))
	for i, v := range ids {
		pos[v] = i
	}
	slices.SortStableFunc(items, func(a, b T) int { return pos[id(a)] - pos[id(b)] })
	return items
}

// ViewAuditLog is the disclosure view of names shown in the audit log.
const ViewAuditLog = "audit_log"
