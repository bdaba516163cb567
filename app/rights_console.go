package app

import (
	"context"
	"errors"
	"net/http"
	"strconv"
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
	a.render(w, r, http.StatusOK, views.ConsoleRightsCase(a.page(r, views.CaseKindLabel(c.Kind)),
		views.RightsCaseConsole{Nav: consoleNav(x), Case: c, Errors: views.Errors{}}))
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
		a.render(w, r, http.StatusUnprocessableEntity, views.ConsoleRightsCase(a.page(r, views.CaseKindLabel(c.Kind)),
			views.RightsCaseConsole{Nav: consoleNav(x), Case: c, Errors: f.Errors, Note: note}))
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
		a.render(w, r, http.StatusUnprocessableEntity, views.ConsoleRightsCase(a.page(r, views.CaseKindLabel(c.Kind)),
			views.RightsCaseConsole{Nav: consoleNav(x), Case: c, Errors: f.Errors}))
		return
	}
	a.auditReq(r, "rights.case.extend", "case", c.ID, map[string]any{"months": months})
	a.mailCaseUpdate(r.Context(), c, "We need more time to answer your request, until "+c.DueAt.Format("2 January 2006")+". Reason: "+reason)
	a.redirect(w, r, "/console/rights/"+c.ID, "The deadline is extended and the person is told why.")
}

// mailCaseUpdate tells the person about their request. A mail the law
// requires (answers to their own request) goes even under restriction.
func (a *App) mailCaseUpdate(ctx context.Context, c store.Case, note string) {
	u, err := a.store.User(ctx, c.UserID)
	if err != nil {
		return // erased meanwhile
	}
	paras := []string{"There is news about your request (" + views.CaseKindLabel(c.Kind) + "): " + views.CaseStatusLabel(c.Status) + "."}
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
		if err := a.executeErasure(ctx, c); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (a *App) executeErasure(ctx context.Context, c store.Case) error {
	// A legal hold on the person (an investigation, a legal claim) stops
	// the erasure until it is released; the person is told once.
	holds, err := a.store.LegalHolds(ctx, false)
	if err != nil {
		return err
	}
	for _, h := range holds {
		if h.UserID == c.UserID {
			if c.Status == store.CaseOpen {
				const note = "Your data is under a legal hold; the erasure is carried out once the hold ends."
				held, err := a.store.UpdateCase(ctx, c.ID, store.ActorScheduler, store.CaseInProgress, note)
				if err != nil {
					return err
				}
				a.mailCaseUpdate(ctx, held, note)
			}
			return nil
		}
	}
	u, err := a.store.User(ctx, c.UserID)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return err
	default:
		if _, err := a.store.UpdateCase(ctx, c.ID, store.ActorScheduler, store.CaseInProgress, "Erasure started."); err != nil {
			return err
		}
		if err := a.queueMail(ctx, store.NewMail{To: u.Email, Kind: "erasure_done", Subject: "Your kelas account is erased",
			Text: "Hello,\n\nAs you asked, your kelas account and the data linked to it are erased, and the key that encrypted it is destroyed.\n" +
				"Anonymous counts in statistics remain. This is the last message you receive from us.\n\n-- \nkelas\n"}); err != nil {
			return err
		}
		if err := a.store.EraseUser(ctx, store.ActorScheduler, c.UserID); err != nil {
			return err
		}
		// The export files are unreadable without the key; remove them now
		// rather than at the next retention run.
		if err := a.store.DeleteExports(ctx, c.UserID); err != nil {
			return err
		}
	}
	if _, err := a.store.UpdateCase(ctx, c.ID, store.ActorScheduler, store.CaseCompleted, ""); err != nil && !errors.Is(err, store.ErrCaseClosed) {
		return err
	}
	a.audit(ctx, store.ActorScheduler, "rights.erasure.done", "case", c.ID, nil)
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
