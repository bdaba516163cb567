package app

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"kelas/store"
	"kelas/views"
)

// officer requires the privacy officer.
func (a *App) officer(w http.ResponseWriter, r *http.Request) (actor, bool) {
	x, ok := a.consoleActor(w, r)
	if !ok {
		return x, false
	}
	if !mayHandleRights(x) {
		a.fail(w, r, errForbidden)
		return x, false
	}
	return x, true
}

// GET /console/rights
func (a *App) handleRightsQueue(w http.ResponseWriter, r *http.Request) {
	x, ok := a.officer(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	v := views.RightsQueue{Nav: consoleNav(x), Kind: q.Get("kind"), Status: q.Get("status"), Overdue: q.Get("overdue") == "on", Now: a.clock()}
	if !store.ValidCaseKind(v.Kind) {
		v.Kind = ""
	}
	if v.Status != "" && !store.ValidCaseStatus(v.Status) {
		v.Status = ""
	}
	if _, set := q["status"]; !set {
		v.Status = store.CaseOpen // the queue starts with what needs an answer
	}
	var opts []views.Option
	for _, k := range []string{store.CaseAccess, store.CaseRectification, store.CaseErasure, store.CaseRestriction, store.CasePortability,
		store.CaseObjection, store.CaseWithdrawConsent, store.CaseReview} {
		opts = append(opts, views.Option{Value: k, Label: views.CaseKindLabel(k)})
	}
	v.Kinds = []views.OptionGroup{{Options: opts}}
	cs, err := a.store.Cases(r.Context(), store.CaseFilter{Kind: v.Kind, Status: v.Status, Overdue: v.Overdue, Limit: 500})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	v.Cases = cs
	if v.Held, err = a.heldPeople(r.Context()); err != nil {
		a.fail(w, r, err)
		return
	}
	a.render(w, r, http.StatusOK, views.ConsoleRightsQueue(a.page(r, "Rights requests"), v))
}

func (a *App) officerCase(w http.ResponseWriter, r *http.Request) (store.Case, actor, bool) {
	x, ok := a.officer(w, r)
	if !ok {
		return store.Case{}, x, false
	}
	id := r.PathValue("id")
	if !store.ValidID(id) {
		a.fail(w, r, store.ErrNotFound)
		return store.Case{}, x, false
	}
	c, err := a.store.Case(r.Context(), id)
	if err != nil {
		a.fail(w, r, err)
		return c, x, false
	}
	return c, x, true
}

// GET /console/rights/{id}
func (a *App) handleRightsCase(w http.ResponseWriter, r *http.Request) {
	c, x, ok := a.officerCase(w, r)
	if !ok {
		return
	}
	// The officer reads the person's own words: that too is a view of
	// their data, shown to them.
	if err := a.disclose(r, x, store.ViewRightsCase, "", "answering the person's request", c.UserID); err != nil {
		a.fail(w, r, err)
		return
	}
	a.renderOfficerCase(w, r, http.StatusOK, x, c, views.Errors{}, "")
}

// renderOfficerCase shows a case to the privacy officer, with the legal
// holds that block it when it is an erasure.
func (a *App) renderOfficerCase(w http.ResponseWriter, r *http.Request, status int, x actor, c store.Case, errs views.Errors, note string) {
	v := views.RightsCaseConsole{Nav: consoleNav(x), Case: c, Errors: errs, Note: note}
	if c.Kind == store.CaseErasure {
		held, err := a.heldPeople(r.Context())
		if err != nil {
			a.fail(w, r, err)
			return
		}
		v.Holds = held[c.UserID]
	}
	a.render(w, r, status, views.ConsoleRightsCase(a.page(r, views.CaseKindLabel(c.Kind)), v))
}

// POST /console/rights/{id}
func (a *App) handleRightsCaseAction(w http.ResponseWriter, r *http.Request) {
	c, x, ok := a.officerCase(w, r)
	if !ok {
		return
	}
	f, err := parseForm(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if c.Kind == store.CaseErasure {
		a.erasureCaseAction(w, r, x, c, f)
		return
	}
	note := f.multiline("note", "Note", 2000)
	action := f.raw("action")
	status := map[string]string{"progress": store.CaseInProgress, "complete": store.CaseCompleted, "reject": store.CaseRejected,
		"lift": store.CaseCompleted}[action]
	if status == "" || (action == "lift" && c.Kind != store.CaseRestriction) {
		f.fail("note", "Choose one of the actions.")
	}
	if action == "reject" && note == "" && f.Errors["note"] == "" {
		f.fail("note", "Say why the request is declined: the person is told.")
	}
	if !f.Valid() {
		a.renderOfficerCase(w, r, http.StatusUnprocessableEntity, x, c, f.Errors, note)
		return
	}
	if action == "lift" {
		if err := a.store.SetRestricted(r.Context(), c.UserID, false); err != nil {
			a.fail(w, r, err)
			return
		}
		if note == "" {
			note = "Restriction lifted by the privacy officer."
		}
	}
	c, err = a.store.UpdateCase(r.Context(), c.ID, x.user.ID, status, note)
	if errors.Is(err, store.ErrCaseClosed) {
		a.fail(w, r, store.ErrConflict)
		return
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.auditReq(r, "rights.case."+action, "case", c.ID, map[string]any{"status": status})
	if status != store.CaseInProgress {
		a.mailCaseUpdate(r.Context(), c, note)
	}
	a.redirect(w, r, "/console/rights/"+c.ID, "The request is updated.")
}

// POST /console/rights/{id}/extend
func (a *App) handleRightsCaseExtend(w http.ResponseWriter, r *http.Request) {
	c, x, ok := a.officerCase(w, r)
	if !ok {
		return
	}
	f, err := parseForm(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	months, _ := strconv.Atoi(f.raw("months"))
	if months < 1 || months > 2 {
		f.fail("months", "Extend by one or two months.")
	}
	reason := f.text("reason", "Reason", 10, 500)
	if f.Valid() {
		c2, err := a.store.ExtendCase(r.Context(), c.ID, x.user.ID, months, reason)
		switch {
		case errors.Is(err, store.ErrAlreadyExtended):
			f.fail("months", "The deadline was extended already; it can be extended once, by two months at most.")
		case errors.Is(err, store.ErrCaseClosed):
			f.fail("months", "The request is closed.")
		case err != nil:
			a.fail(w, r, err)
			return
		default:
			c = c2
		}
	}
	if !f.Valid() {
		a.renderOfficerCase(w, r, http.StatusUnprocessableEntity, x, c, f.Errors, "")
		return
	}
	a.auditReq(r, "rights.case.extend", "case", c.ID, map[string]any{"months": months})
	a.mailCaseUpdate(r.Context(), c, "We need more time to answer your request, until "+c.DueAt.Format("2 January 2006")+". Reason: "+reason)
	a.redirect(w, r, "/console/rights/"+c.ID, "The deadline is extended and the person is told why.")
}

// erasureCaseAction is the officer's answer to an erasure request: carry
// it out now (a hold on the person, checked at that moment, stops it), or
// refuse it with the legal reason, which the person is told. Leaving it to
// the schedule needs no action. Nothing here marks the case done: only the
// erasure itself does (executeErasure), so a case cannot read "done" while
// the account lives on.
func (a *App) erasureCaseAction(w http.ResponseWriter, r *http.Request, x actor, c store.Case, f *form) {
	action := f.raw("action")
	if action != "carry_out" && action != "refuse" {
		f.fail("_form", "An erasure request is not marked done or in progress by hand: carry it out now, refuse it with the legal reason, or leave it to the schedule.")
		a.renderOfficerCase(w, r, http.StatusUnprocessableEntity, x, c, f.Errors, f.raw("note"))
		return
	}
	if !c.Open() {
		a.fail(w, r, store.ErrConflict)
		return
	}
	note := f.multiline("note", "Legal reason", 2000)
	if action == "refuse" && note == "" && f.Errors["note"] == "" {
		f.fail("note", "Give the legal reason for refusing the erasure: the person is told.")
	}
	if action == "carry_out" && !f.checkbox("confirm") && f.Errors["confirm"] == "" {
		f.fail("confirm", "Tick the box to confirm: the erasure cannot be undone.")
	}
	if !f.Valid() {
		a.renderOfficerCase(w, r, http.StatusUnprocessableEntity, x, c, f.Errors, note)
		return
	}
	if action == "refuse" {
		// Not while the erasure runs: the case would read "refused" for an
		// erased account.
		a.erasing.Lock()
		c, err := a.store.UpdateCase(r.Context(), c.ID, x.user.ID, store.CaseRejected, note)
		a.erasing.Unlock()
		if errors.Is(err, store.ErrCaseClosed) {
			a.fail(w, r, store.ErrConflict)
			return
		}
		if err != nil {
			a.fail(w, r, err)
			return
		}
		a.auditReq(r, "rights.case.refuse", "case", c.ID, map[string]any{"status": c.Status})
		a.mailCaseUpdate(r.Context(), c, "We have refused to erase your account, for this reason: "+note)
		a.redirect(w, r, "/console/rights/"+c.ID, "The erasure is refused; the person is told why.")
		return
	}
	err := a.executeErasure(r.Context(), c, x.user.ID)
	var held *heldError
	switch {
	case errors.As(err, &held):
		f.fail("_form", held.describe())
		a.renderOfficerCase(w, r, http.StatusUnprocessableEntity, x, c, f.Errors, note)
		return
	case errors.Is(err, store.ErrCaseClosed):
		a.fail(w, r, store.ErrConflict)
		return
	case err != nil:
		a.fail(w, r, err)
		return
	}
	a.auditReq(r, "rights.case.carry_out", "case", c.ID, nil)
	a.redirect(w, r, "/console/rights/"+c.ID, "The erasure is carried out.")
}

// heldError means a legal hold on the person blocks their erasure.
type heldError struct{ holds []store.LegalHold }

func (e *heldError) Error() string { return "a legal hold blocks the erasure" }

// describe names the holds for the privacy officer by reference, date and
// reason, as the retention page shows them to operators.
func (e *heldError) describe() string {
	var b strings.Builder
	b.WriteString("A legal hold on this person blocks the erasure: ")
	for i, h := range e.holds {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString("hold " + h.ID[:8] + " of " + h.SetAt.UTC().Format("2 January 2006") + " (" + h.Reason + ")")
	}
	b.WriteString(". The erasure is carried out once the hold is released.")
	return b.String()
}

// heldPeople maps each person under an active legal hold to their holds.
func (a *App) heldPeople(ctx context.Context) (map[string][]store.LegalHold, error) {
	holds, err := a.store.LegalHolds(ctx, false)
	if err != nil {
		return nil, err
	}
	out := map[string][]store.LegalHold{}
	for _, h := range holds {
		if h.UserID != "" {
			out[h.UserID] = append(out[h.UserID], h)
		}
	}
	return out, nil
}

// mailErasureScheduled tells the person when their account will be erased
// and how to cancel until then. It goes even under restriction: it answers
// their own request.
func (a *App) mailErasureScheduled(ctx context.Context, u *store.User, c store.Case) {
	err := a.accountMail(ctx, u.ID, u.Email, "erasure_scheduled", "Your account erasure is scheduled", views.MailBody{
		Greeting: "Hello " + u.FirstName + ",",
		Paragraphs: []string{
			"As you asked, your kelas account and the data linked to it will be erased " + a.erasureWhen(c.ExecuteAfter) + ".",
			"Until then you can change your mind: open your request and cancel the erasure.",
		},
		ActionLabel: "See or cancel your request", ActionURL: a.cfg.PublicURL() + "/rights/cases/" + c.ID,
	})
	if err != nil {
		a.log.Error("erasure scheduled mail", "case_id", c.ID, "err", err)
	}
}

// mailCaseUpdate tells the person about their request. A mail the law
// requires (answers to their own request) goes even under restriction.
func (a *App) mailCaseUpdate(ctx context.Context, c store.Case, note string) {
	u, err := a.store.User(ctx, c.UserID)
	if err != nil {
		return // erased meanwhile
	}
	held := false
	if c.Kind == store.CaseErasure {
		holds, err := a.heldPeople(ctx)
		if err != nil {
			a.log.Error("case update mail", "case_id", c.ID, "err", err)
			return
		}
		held = len(holds[c.UserID]) > 0
	}
	paras := []string{"There is news about your request (" + views.CaseKindLabel(c.Kind) + "): " + views.CaseLabel(c, held) + "."}
	if note != "" {
		paras = append(paras, note)
	}
	if err := a.accountMail(ctx, u.ID, u.Email, "rights_update", "Your request: "+views.CaseKindLabel(c.Kind), views.MailBody{
		Greeting: "Hello " + u.FirstName + ",", Paragraphs: paras,
		ActionLabel: "See your request", ActionURL: a.cfg.PublicURL() + "/rights/cases/" + c.ID,
	}); err != nil {
		a.log.Error("case update mail", "case_id", c.ID, "err", err)
	}
}

// runErasures carries out the erasure requests whose grace period ended:
// a final confirmation goes to the address first (under the system key, as
// the person's own key is about to be destroyed), then every row goes,
// the key is destroyed and the tombstone written.
func (a *App) runErasures(ctx context.Context) error {
	due, err := a.store.ErasuresDue(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, c := range due {
		err := a.executeErasure(ctx, c, store.ActorScheduler)
		var held *heldError
		if errors.As(err, &held) || errors.Is(err, store.ErrCaseClosed) {
			continue // waits for the hold; or closed meanwhile by the person or an officer
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// executeErasure carries out one erasure request on behalf of actor (the
// scheduler, or the privacy officer carrying it out now). A legal hold on
// the person (an investigation, a legal claim), checked here at the moment
// of execution, stops it with a *heldError; the scheduler tells the person
// once. Only this completes an erasure case, and the store completes it only
// once the account is gone.
func (a *App) executeErasure(ctx context.Context, c store.Case, actor string) error {
	// The scheduler and an officer may reach the same case at once.
	a.erasing.Lock()
	defer a.erasing.Unlock()
	c, err := a.store.Case(ctx, c.ID)
	if err != nil {
		return err
	}
	if !c.Open() {
		return store.ErrCaseClosed
	}
	held, err := a.heldPeople(ctx)
	if err != nil {
		return err
	}
	if holds := held[c.UserID]; len(holds) > 0 {
		if actor == store.ActorScheduler && c.Status == store.CaseOpen {
			const note = "Your data is under a legal hold; the erasure is carried out once the hold ends."
			c, err := a.store.UpdateCase(ctx, c.ID, store.ActorScheduler, store.CaseInProgress, note)
			if err != nil {
				return err
			}
			a.mailCaseUpdate(ctx, c, note)
		}
		return &heldError{holds: holds}
	}
	u, err := a.store.User(ctx, c.UserID)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return err
	default:
		if _, err := a.store.UpdateCase(ctx, c.ID, actor, store.CaseInProgress, "Erasure started."); err != nil {
			return err
		}
		if err := a.queueMail(ctx, store.NewMail{To: u.Email, Kind: "erasure_done", Subject: "Your kelas account is erased",
			Text: "Hello,\n\nAs you asked, your kelas account and the data linked to it are erased, and the key that encrypted it is destroyed.\n" +
				"Anonymous counts in statistics remain. This is the last message you receive from us.\n\n-- \nkelas\n"}); err != nil {
			return err
		}
		if err := a.store.EraseUser(ctx, actor, c.UserID); err != nil {
			return err
		}
		// The export files are unreadable without the key; remove them now
		// rather than at the next retention run.
		if err := a.store.DeleteExports(ctx, c.UserID); err != nil {
			return err
		}
	}
	if _, err := a.store.CompleteErasure(ctx, c.ID, actor); err != nil {
		return err
	}
	a.audit(ctx, actor, "rights.erasure.done", "case", c.ID, nil)
	a.log.Info("erasure carried out", "case_id", c.ID)
	return nil
}

// reminderWindow: privacy officers hear about a request five days before
// it is due.
const reminderWindow = 5 * 24 * time.Hour

// runRightsReminders mails the privacy officers about requests due soon or
// overdue, once per request (again after an extension).
func (a *App) runRightsReminders(ctx context.Context) error {
	cs, err := a.store.CasesNeedingReminder(ctx, reminderWindow)
	if err != nil || len(cs) == 0 {
		return err
	}
	dpos, err := a.store.DPOs(ctx)
	if err != nil {
		return err
	}
	for _, c := range cs {
		for _, d := range dpos {
			if err := a.accountMail(ctx, d.ID, d.Email, "rights_reminder", "Rights request due "+c.DueAt.Format("2 January"), views.MailBody{
				Greeting:    "Hello " + d.FirstName + ",",
				Paragraphs:  []string{"A request (" + views.CaseKindLabel(c.Kind) + ") received " + c.ReceivedAt.Format("2 January 2006") + " must be answered by " + c.DueAt.Format("2 January 2006") + "."},
				ActionLabel: "Open the request", ActionURL: a.cfg.PublicURL() + "/console/rights/" + c.ID,
			}); err != nil {
				return err
			}
		}
		if err := a.store.MarkReminded(ctx, c.ID); err != nil {
			return err
		}
	}
	return nil
}
