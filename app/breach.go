package app

import (
	"context"
	"encoding/csv"
	"errors"
	"net/http"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	"kelas/i18n"
	"kelas/store"
	"kelas/views"
)

// Bounds of the breach form.
const (
	maxBreachPeople  = 5000 // entries in the list of affected people
	breachNoticeList = 500  // per-person rows shown on the incident page
	breachClockSkew  = 5 * time.Minute
)

// GET /console/breaches
func (a *App) handleBreaches(w http.ResponseWriter, r *http.Request) error {
	x := actorFrom(r.Context())
	lp, err := readList(r, breachListSpec)
	if err != nil {
		return err
	}
	// Titles are sealed, so the register narrows by state, not by text; an
	// unknown state is ignored.
	f := store.BreachFilter{State: r.URL.Query().Get("state")}
	if f.State != "open" && f.State != "closed" {
		f.State = ""
	}
	pg, err := fetchPage(&lp, func(q store.ListQuery) (store.Page[store.Breach], error) {
		f.ListQuery = q
		return a.store.BreachList(r.Context(), f)
	})
	if err != nil {
		return err
	}
	v := views.BreachesView{Nav: a.consoleNav(r.Context(), x), Now: a.clock(), State: f.State,
		List: lp.state(r, url.Values{"state": {f.State}}, pg.Total)}
	for _, b := range pg.Items {
		_, counts, err := a.store.BreachNotices(r.Context(), b.ID, 0)
		if err != nil {
			return err
		}
		v.Rows = append(v.Rows, views.BreachRow{Breach: b, Countdown: a.countdown(b), Counts: counts})
	}
	return a.render(w, r, http.StatusOK, views.Breaches(a.page(r, tr(r, "breach.title")), v))
}

// breachListSpec: the register most recently detected first.
var breachListSpec = listSpec{{key: "detected", desc: true}, {key: "occurred", desc: true}, {key: "recorded", desc: true}}

// breachForm fills the form's choices.
func (a *App) breachForm(ctx context.Context, f views.BreachForm) (views.BreachForm, error) {
	ms, err := a.store.Members(ctx)
	if err != nil {
		return f, err
	}
	var mopts []views.Option
	for _, m := range ms {
		mopts = append(mopts, views.Option{Value: m.ID, Label: m.Name})
	}
	ts, err := a.store.Trainings(ctx, store.CatalogueFilter{IncludeUnpublished: true})
	if err != nil {
		return f, err
	}
	var topts []views.Option
	for _, t := range ts {
		topts = append(topts, views.Option{Value: t.ID, Label: t.Title + " (" + t.MemberName + ")"})
	}
	f.Members, f.Trainings = []views.OptionGroup{{Options: mopts}}, []views.OptionGroup{{Options: topts}}
	return f, nil
}

// GET /console/breaches/new
func (a *App) handleNewBreach(w http.ResponseWriter, r *http.Request) error {
	x := actorFrom(r.Context())
	f, err := a.breachForm(r.Context(), views.BreachForm{DetectedAt: a.clock().UTC().Format(datetimeLocal), Scope: store.BreachAll})
	if err != nil {
		return err
	}
	return a.render(w, r, http.StatusOK, views.NewBreach(a.page(r, tr(r, "breach.new_title")), views.NewBreachView{Nav: a.consoleNav(r.Context(), x), Form: f}))
}

// when reads a required <input type="datetime-local"> value, in UTC.
func (f *form) when(name, label, badFormat string) time.Time {
	v := f.text(name, label, 1, 20)
	if f.Errors[name] != "" {
		return time.Time{}
	}
	t, err := time.Parse(datetimeLocal, v)
	if err != nil {
		f.fail(name, badFormat)
	}
	return t
}

// peopleEntry is one line of the "people affected" list: an account id or
// an email address, with its line number for messages.
type peopleEntry struct {
	Line  int
	ID    string
	Email string
}

// parsePeople splits the pasted list of affected people: one account id or
// email address per line (commas and semicolons separate too). It checks
// shapes only; looking the people up is the caller's job. The message names
// line numbers, never the addresses.
func parsePeople(text string) ([]peopleEntry, string) {
	return parsePeopleIn(i18n.From(context.Background()), text)
}

// parsePeopleIn is parsePeople with its message in p's language.
func parsePeopleIn(p *i18n.Printer, text string) ([]peopleEntry, string) {
	var out []peopleEntry
	for i, line := range strings.Split(text, "\n") {
		for _, tok := range strings.FieldsFunc(line, func(r rune) bool { return r == ',' || r == ';' || r == ' ' || r == '\t' || r == '\r' }) {
			if len(out) >= maxBreachPeople {
				return nil, p.T("breach.error.people_too_many", "max", strconv.Itoa(maxBreachPeople))
			}
			switch {
			case store.ValidID(tok):
				out = append(out, peopleEntry{Line: i + 1, ID: tok})
			case validAddress(tok):
				out = append(out, peopleEntry{Line: i + 1, Email: tok})
			default:
				return nil, p.T("breach.error.people_line", "line", strconv.Itoa(i+1))
			}
		}
	}
	return out, ""
}

// validAddress accepts a bare addr-spec with a dot in its domain.
func validAddress(v string) bool {
	if len(v) > 254 {
		return false
	}
	a, err := mail.ParseAddress(v)
	return err == nil && a.Address == v && a.Name == "" && strings.Contains(v[strings.LastIndexByte(v, '@')+1:], ".")
}

// resolvePeople turns the parsed list into account ids, or a message naming
// the lines without an account.
func (a *App) resolvePeople(ctx context.Context, entries []peopleEntry) ([]string, string, error) {
	var ids, missing []string
	seen := map[string]bool{}
	for _, e := range entries {
		var u store.User
		var err error
		if e.ID != "" {
			u, err = a.store.User(ctx, e.ID)
		} else {
			u, err = a.store.UserByEmail(ctx, e.Email)
		}
		switch {
		case errors.Is(err, store.ErrNotFound):
			missing = append(missing, strconv.Itoa(e.Line))
			continue
		case err != nil:
			return nil, "", err
		}
		if !seen[u.ID] {
			seen[u.ID] = true
			ids = append(ids, u.ID)
		}
	}
	if len(missing) > 0 {
		if len(missing) > 10 {
			missing = append(missing[:10], "…")
		}
		p := i18n.From(ctx)
		return nil, p.T("breach.error.people_missing", "lines", strings.Join(missing, p.T("breach.error.people_missing_separator"))), nil
	}
	return ids, "", nil
}

// readBreachForm validates the form into a NewBreach.
func (a *App) readBreachForm(ctx context.Context, f *form, vm *views.BreachForm) (store.NewBreach, error) {
	nb := a.readBreachFacts(f, vm)
	return a.readBreachScope(ctx, f, vm, nb)
}

// readBreachFacts validates what an incident is: texts, times, data.
func (a *App) readBreachFacts(f *form, vm *views.BreachForm) store.NewBreach {
	vm.Title = f.text("title", "fieldlabel.title", 3, 200)
	vm.Description = f.multiline("description", "fieldlabel.what_happened", 10000)
	vm.Measures = f.multiline("measures", "fieldlabel.what_we_have_done", 5000)
	vm.Advice = f.multiline("advice", "fieldlabel.what_people_can_do", 5000)
	vm.Contact = f.text("contact", "fieldlabel.contact", 3, 300)
	for _, req := range []struct{ name, val, msg string }{{"description", vm.Description, tr(f.r, "breach.error.description")},
		{"measures", vm.Measures, tr(f.r, "breach.error.measures")}, {"advice", vm.Advice, tr(f.r, "breach.error.advice")}} {
		if req.val == "" && f.Errors[req.name] == "" {
			f.fail(req.name, req.msg)
		}
	}
	vm.OccurredAt, vm.DetectedAt = f.raw("occurred_at"), f.raw("detected_at")
	occurred := f.when("occurred_at", "fieldlabel.when_it_happened", tr(f.r, "breach.error.occurred_at_format"))
	detected := f.when("detected_at", "fieldlabel.when_it_was_detected", tr(f.r, "breach.error.detected_at_format"))
	switch {
	case f.Errors["occurred_at"] != "" || f.Errors["detected_at"] != "":
	case detected.Before(occurred):
		f.fail("detected_at", tr(f.r, "breach.error.detected_before"))
	case detected.After(a.clock().Add(breachClockSkew)):
		f.fail("detected_at", tr(f.r, "breach.error.detected_future"))
	}
	vm.Categories = f.codes("categories", "fieldlabel.the_data_involved", store.ValidBreachCategory, 20)
	if len(vm.Categories) == 0 && f.Errors["categories"] == "" {
		f.fail("categories", tr(f.r, "breach.error.categories"))
	}
	return store.NewBreach{Title: vm.Title, Description: vm.Description, Measures: vm.Measures, Advice: vm.Advice, Contact: vm.Contact,
		Categories: vm.Categories, OccurredAt: occurred, DetectedAt: detected}
}

// readBreachScope validates who an incident affects.
func (a *App) readBreachScope(ctx context.Context, f *form, vm *views.BreachForm, nb store.NewBreach) (store.NewBreach, error) {
	vm.Scope = f.choice("scope", "fieldlabel.who_is_affected", func(v string) bool {
		return v == store.BreachAll || v == store.BreachMember || v == store.BreachTraining || v == store.BreachList
	}, true)
	vm.MemberID, vm.TrainingID, vm.People = f.raw("member_id"), f.raw("training_id"), f.multiline("people", "fieldlabel.people_affected", 64_000)
	nb.Scope = vm.Scope
	switch vm.Scope {
	case store.BreachMember:
		if _, err := a.store.Member(ctx, vm.MemberID); !store.ValidID(vm.MemberID) || err != nil {
			f.fail("member_id", tr(f.r, "breach.error.member"))
		}
		nb.ScopeID = vm.MemberID
	case store.BreachTraining:
		if _, err := a.store.Training(ctx, vm.TrainingID); !store.ValidID(vm.TrainingID) || err != nil {
			f.fail("training_id", tr(f.r, "breach.error.training"))
		}
		nb.ScopeID = vm.TrainingID
	case store.BreachList:
		entries, msg := parsePeopleIn(i18n.From(ctx), vm.People)
		if msg == "" && len(entries) == 0 {
			msg = tr(f.r, "breach.error.people_none")
		}
		if msg == "" {
			ids, missing, err := a.resolvePeople(ctx, entries)
			if err != nil {
				return nb, err
			}
			msg, nb.People = missing, ids
		}
		if msg != "" && f.Errors["people"] == "" {
			f.fail("people", msg)
		}
	}
	return nb, nil
}

// POST /console/breaches
func (a *App) handleCreateBreach(w http.ResponseWriter, r *http.Request) error {
	x := actorFrom(r.Context())
	f, err := parseForm(r)
	if err != nil {
		return err
	}
	var vm views.BreachForm
	nb, err := a.readBreachForm(r.Context(), f, &vm)
	if err != nil {
		return err
	}
	if !f.Valid() {
		vm.Errors = f.Errors
		if vm, err = a.breachForm(r.Context(), vm); err != nil {
			return err
		}
		return a.render(w, r, http.StatusUnprocessableEntity, views.NewBreach(a.page(r, tr(r, "breach.new_title")), views.NewBreachView{Nav: a.consoleNav(r.Context(), x), Form: vm}))
	}
	b, err := a.store.CreateBreach(r.Context(), x.user.ID, nb)
	if err != nil {
		return err
	}
	a.log.Info("breach recorded", "breach_id", b.ID, "user_id", x.user.ID)
	a.redirect(w, r, "/console/breaches/"+b.ID, tr(r, "breach.flash.recorded"))
	return nil
}

// breachIn loads the incident in the path (the route admits only the
// privacy officer).
func (a *App) breachIn(r *http.Request) (store.Breach, actor, error) {
	b, err := load(r, "id", a.store.Breach)
	return b, actorFrom(r.Context()), err
}

// GET /console/breaches/{id}
func (a *App) handleBreach(w http.ResponseWriter, r *http.Request) error {
	b, x, err := a.breachIn(r)
	if err != nil {
		return err
	}
	return a.renderBreach(w, r, http.StatusOK, x, b, views.BreachLifecycleForm{})
}

// renderBreach shows the incident page; status and lc carry a failed form.
func (a *App) renderBreach(w http.ResponseWriter, r *http.Request, status int, x actor, b store.Breach, lc views.BreachLifecycleForm) error {
	ctx := r.Context()
	v := views.BreachView{Nav: a.consoleNav(r.Context(), x), Now: a.clock(), Breach: b, Countdown: a.countdown(b), Lifecycle: lc}
	switch b.Scope {
	case store.BreachMember:
		if m, err := a.store.Member(ctx, b.ScopeID); err == nil {
			v.ScopeName = m.Name
		}
	case store.BreachTraining:
		if t, err := a.store.Training(ctx, b.ScopeID); err == nil {
			v.ScopeName = t.Title
		}
	}
	ids, err := a.store.BreachAffected(ctx, b)
	if err != nil {
		return err
	}
	v.Affected = len(ids)
	if v.Notices, v.Counts, err = a.store.BreachNotices(ctx, b.ID, breachNoticeList); err != nil {
		return err
	}
	v.MoreHidden = v.Counts.Total() - len(v.Notices)
	if v.Mailing, err = a.massProgress(ctx, store.MassBreachNotice, b.ID); err != nil {
		return err
	}
	return a.render(w, r, status, views.BreachPage(a.page(r, tr(r, "breach.incident_title", "title", b.Title)), v))
}

// breachStepError maps the store's answer to a lifecycle step: a closed
// incident does not change (409).
func breachStepError(err error) error {
	if errors.Is(err, store.ErrBreachClosed) || errors.Is(err, store.ErrAuthorityNotified) {
		return &Error{Status: http.StatusConflict, Key: "error.conflict", Cause: err}
	}
	return err
}

// GET /console/breaches/{id}/edit
func (a *App) handleEditBreachForm(w http.ResponseWriter, r *http.Request) error {
	b, x, err := a.breachIn(r)
	if err != nil {
		return err
	}
	if b.Closed() {
		return store.ErrConflict
	}
	vm := views.BreachForm{EditID: b.ID, Title: b.Title, Description: b.Description, Measures: b.Measures, Advice: b.Advice,
		Contact: b.Contact, Categories: b.Categories, OccurredAt: b.OccurredAt.UTC().Format(datetimeLocal),
		DetectedAt: b.DetectedAt.UTC().Format(datetimeLocal)}
	return a.render(w, r, http.StatusOK, views.NewBreach(a.page(r, tr(r, "breach.edit_title")), views.NewBreachView{Nav: a.consoleNav(r.Context(), x), Form: vm}))
}

// POST /console/breaches/{id}/edit
func (a *App) handleEditBreach(w http.ResponseWriter, r *http.Request) error {
	b, x, err := a.breachIn(r)
	if err != nil {
		return err
	}
	if b.Closed() {
		return store.ErrConflict
	}
	f, err := parseForm(r)
	if err != nil {
		return err
	}
	vm := views.BreachForm{EditID: b.ID}
	nb := a.readBreachFacts(f, &vm)
	if !f.Valid() {
		vm.Errors = f.Errors
		return a.render(w, r, http.StatusUnprocessableEntity, views.NewBreach(a.page(r, tr(r, "breach.edit_title")), views.NewBreachView{Nav: a.consoleNav(r.Context(), x), Form: vm}))
	}
	if err := breachStepError(a.store.UpdateBreach(r.Context(), x.user.ID, b.ID, nb)); err != nil {
		return err
	}
	a.redirect(w, r, "/console/breaches/"+b.ID, tr(r, "breach.flash.corrected"))
	return nil
}

// POST /console/breaches/{id}/timeline
func (a *App) handleBreachNote(w http.ResponseWriter, r *http.Request) error {
	b, x, err := a.breachIn(r)
	if err != nil {
		return err
	}
	if b.Closed() {
		return store.ErrConflict
	}
	f, err := parseForm(r)
	if err != nil {
		return err
	}
	lc := views.BreachLifecycleForm{Note: f.multiline("note", "fieldlabel.the_entry", 5000)}
	if lc.Note == "" && f.Errors["note"] == "" {
		f.fail("note", tr(r, "breach.error.note"))
	}
	if !f.Valid() {
		lc.Errors = f.Errors
		return a.renderBreach(w, r, http.StatusUnprocessableEntity, x, b, lc)
	}
	if err := breachStepError(a.store.AddBreachNote(r.Context(), x.user.ID, b.ID, lc.Note)); err != nil {
		return err
	}
	a.redirect(w, r, "/console/breaches/"+b.ID, tr(r, "breach.flash.note_added"))
	return nil
}

// POST /console/breaches/{id}/authority
func (a *App) handleBreachAuthority(w http.ResponseWriter, r *http.Request) error {
	b, x, err := a.breachIn(r)
	if err != nil {
		return err
	}
	if b.Closed() {
		return store.ErrConflict
	}
	f, err := parseForm(r)
	if err != nil {
		return err
	}
	lc := views.BreachLifecycleForm{AuthorityAt: f.raw("authority_at"), Reference: f.text("reference", "fieldlabel.reference", 1, 100)}
	at := f.when("authority_at", "fieldlabel.when_authority_notified", tr(r, "breach.error.authority_at_format"))
	switch {
	case f.Errors["authority_at"] != "":
	case at.Before(b.DetectedAt):
		f.fail("authority_at", tr(r, "breach.error.authority_before"))
	case at.After(a.clock().Add(breachClockSkew)):
		f.fail("authority_at", tr(r, "breach.error.authority_future"))
	}
	if !f.Valid() {
		lc.Errors = f.Errors
		return a.renderBreach(w, r, http.StatusUnprocessableEntity, x, b, lc)
	}
	if err := breachStepError(a.store.RecordAuthorityNotification(r.Context(), x.user.ID, b.ID, at, lc.Reference)); err != nil {
		return err
	}
	a.log.Info("breach authority notified", "breach_id", b.ID)
	a.redirect(w, r, "/console/breaches/"+b.ID, tr(r, "breach.flash.authority"))
	return nil
}

// POST /console/breaches/{id}/close
func (a *App) handleCloseBreach(w http.ResponseWriter, r *http.Request) error {
	b, x, err := a.breachIn(r)
	if err != nil {
		return err
	}
	if b.Closed() {
		return store.ErrConflict
	}
	f, err := parseForm(r)
	if err != nil {
		return err
	}
	lc := views.BreachLifecycleForm{Summary: f.multiline("summary", "fieldlabel.the_summary", 10000)}
	if lc.Summary == "" && f.Errors["summary"] == "" {
		f.fail("summary", tr(r, "breach.error.summary"))
	}
	if !f.Valid() {
		lc.Errors = f.Errors
		return a.renderBreach(w, r, http.StatusUnprocessableEntity, x, b, lc)
	}
	if err := breachStepError(a.store.CloseBreach(r.Context(), x.user.ID, b.ID, lc.Summary)); err != nil {
		return err
	}
	a.redirect(w, r, "/console/breaches/"+b.ID, tr(r, "breach.flash.closed"))
	return nil
}

// POST /console/breaches/{id}/notify
//
// Queues one notice per affected person not told yet. Restriction does not
// stop it: informing people of a breach of their data is a legal duty, and
// the notice is the opposite of further processing. Claims make the action
// safe to repeat.
func (a *App) handleNotifyBreach(w http.ResponseWriter, r *http.Request) error {
	b, x, err := a.breachIn(r)
	if err != nil {
		return err
	}
	m, err := a.startMassMailing(r.Context(), store.MassBreachNotice, b.ID, x.user.ID, nil)
	if err != nil {
		return err
	}
	a.auditStep(r, x, store.AuditBreachNotify, "breach", b.ID, map[string]any{"mailing_id": m.ID})
	a.log.Info("breach notices started", "breach_id", b.ID, "mailing_id", m.ID)
	a.redirect(w, r, "/console/breaches/"+b.ID, tr(r, "breach.flash.notifying"))
	return nil
}

// csvCell keeps a cell from being read as a formula by spreadsheets.
func csvCell(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

// GET /console/breaches.csv
//
// The register as CSV, for the supervisory authority and the file. It
// holds one row per incident with its facts and counts: the title (a label
// the form asks to keep free of names and addresses), times, categories,
// scope (a Member or training id, not a person) and how many notices were
// sent, the authority notification (time, reference, hours taken), the
// size of the timeline and when it was closed. It holds no per-person rows
// and none of the free texts (what happened, measures, advice, contact,
// timeline notes, closing summary), which may name people: a file that
// leaves kelas is beyond the reach of erasure, so it carries nothing about
// anyone. Those texts are read on the incident's page.
func (a *App) handleBreachesCSV(w http.ResponseWriter, r *http.Request) error {
	x := actorFrom(r.Context())
	bs, err := a.store.Breaches(r.Context())
	if err != nil {
		return err
	}
	rows := [][]string{{"id", "title", "occurred_at", "detected_at", "deadline_at", "notified_at", "within_72_hours",
		"categories", "scope", "scope_id", "notices", "sent", "waiting", "failed", "recorded_at",
		"authority_notified_at", "authority_reference", "authority_within_72_hours", "hours_to_authority",
		"timeline_entries", "closed", "closed_at", "updated_at", "recorded_by"}}
	stamp := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	for _, b := range bs {
		_, c, err := a.store.BreachNotices(r.Context(), b.ID, 0)
		if err != nil {
			return err
		}
		within := ""
		if !b.NotifiedAt.IsZero() {
			within = strconv.FormatBool(!b.NotifiedAt.After(b.Deadline()))
		}
		authWithin, authHours := "", ""
		if !b.AuthorityNotifiedAt.IsZero() {
			authWithin = strconv.FormatBool(!b.AuthorityNotifiedAt.After(b.Deadline()))
			authHours = strconv.Itoa(int(b.AuthorityNotifiedAt.Sub(b.DetectedAt) / time.Hour))
		}
		full, err := a.store.Breach(r.Context(), b.ID) // with its timeline
		if err != nil {
			return err
		}
		rows = append(rows, []string{b.ID, csvCell(b.Title), stamp(b.OccurredAt), stamp(b.DetectedAt), stamp(b.Deadline()),
			stamp(b.NotifiedAt), within, strings.Join(b.Categories, " "), b.Scope, b.ScopeID, strconv.Itoa(c.Total()),
			strconv.Itoa(c.Sent), strconv.Itoa(c.Queued + c.Claimed), strconv.Itoa(c.Failed), stamp(b.RecordedAt),
			stamp(b.AuthorityNotifiedAt), csvCell(b.AuthorityReference), authWithin, authHours,
			strconv.Itoa(len(full.Events)), strconv.FormatBool(b.Closed()), stamp(b.ClosedAt), stamp(b.UpdatedAt), b.RecordedBy})
	}
	a.auditStep(r, x, store.AuditBreachExport, "breach_register", "", map[string]any{"incidents": len(bs)})
	return a.writeCSV(w, r, "kelas-breach-register-"+a.clock().UTC().Format("2006-01-02")+".csv", rows)
}

// writeCSV sends rows as a CSV attachment. The file name is built by kelas
// from fixed words, dates and validated labels only.
func (a *App) writeCSV(w http.ResponseWriter, r *http.Request, name string, rows [][]string) error {
	var b strings.Builder
	cw := csv.NewWriter(&b)
	if err := cw.WriteAll(rows); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Write([]byte(b.String()))
	return nil
}
