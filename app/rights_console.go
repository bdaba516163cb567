package app

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"kelas/i18n"
	"kelas/store"
	"kelas/views"
)

// GET /console/rights
func (a *App) handleRightsQueue(w http.ResponseWriter, r *http.Request) error {
	x := actorFrom(r.Context())
	q := r.URL.Query()
	v := views.RightsQueue{Nav: a.consoleNav(r.Context(), x), Kind: q.Get("kind"), Status: q.Get("status"), Overdue: q.Get("overdue") == "on", Now: a.clock()}
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
		opts = append(opts, views.Option{Value: k, Label: views.CaseKindText(r.Context(), k)})
	}
	v.Kinds = []views.OptionGroup{{Options: opts}}
	lp, err := readList(r, caseListSpec)
	if err != nil {
		return err
	}
	pg, err := fetchPage(&lp, func(lq store.ListQuery) (store.Page[store.Case], error) {
		return a.store.CaseList(r.Context(), store.CaseFilter{Kind: v.Kind, Status: v.Status, Overdue: v.Overdue}, lq)
	})
	if err != nil {
		return err
	}
	v.Cases = pg.Items
	// The status filter is kept even when empty: no status means "any",
	// an absent one the open queue.
	keep := url.Values{"kind": {v.Kind}, "overdue": {map[bool]string{true: "on"}[v.Overdue]}}
	v.List = lp.state(r, keep, pg.Total)
	v.List.Keep["status"] = []string{v.Status}
	if v.Held, err = a.heldPeople(r.Context()); err != nil {
		return err
	}
	return a.render(w, r, http.StatusOK, views.ConsoleRightsQueue(a.page(r, tr(r, "rights.console.title")), v))
}

// caseListSpec: the queue soonest due first.
var caseListSpec = listSpec{{key: "due"}, {key: "received", desc: true}, {key: "kind"}, {key: "status"}}

// officerCase loads the case in the path (the route admits only the
// privacy officer).
func (a *App) officerCase(r *http.Request) (store.Case, actor, error) {
	c, err := load(r, "id", a.store.Case)
	return c, actorFrom(r.Context()), err
}

// GET /console/rights/{id}
func (a *App) handleRightsCase(w http.ResponseWriter, r *http.Request) error {
	c, x, err := a.officerCase(r)
	if err != nil {
		return err
	}
	// The officer reads the person's own words: that too is a view of
	// their data, shown to them.
	if err := a.disclose(r, x, store.ViewRightsCase, "", "@rights_case", c.UserID); err != nil {
		return err
	}
	return a.renderOfficerCase(w, r, http.StatusOK, x, c, views.Errors{}, "")
}

// renderOfficerCase shows a case to the privacy officer: the person it is
// about, their data the request concerns, and the legal holds that block
// it when it is an erasure.
func (a *App) renderOfficerCase(w http.ResponseWriter, r *http.Request, status int, x actor, c store.Case, errs views.Errors, note string) error {
	return a.renderOfficerCaseForm(w, r, status, x, c, errs, note, views.CaseActionForm{})
}

func (a *App) renderOfficerCaseForm(w http.ResponseWriter, r *http.Request, status int, x actor, c store.Case, errs views.Errors, note string, form views.CaseActionForm) error {
	ctx := r.Context()
	v := views.RightsCaseConsole{Nav: a.consoleNav(r.Context(), x), Case: c, Errors: errs, Note: note, Form: form}
	u, err := a.store.User(ctx, c.UserID)
	switch {
	case errors.Is(err, store.ErrNotFound): // erased
	case err != nil:
		return err
	default:
		v.Person = &u
		if v.Restricted, err = a.store.Restricted(ctx, u.ID); err != nil {
			return err
		}
		switch c.Kind {
		case store.CaseRectification:
			v.Certificates, err = a.store.UserCertificates(ctx, u.ID)
		case store.CaseReview:
			v.Attempts, err = a.store.Attempts(ctx, u.ID)
		}
		if err != nil {
			return err
		}
	}
	if c.Kind == store.CaseErasure {
		held, err := a.heldPeople(ctx)
		if err != nil {
			return err
		}
		v.Holds = held[c.UserID]
	}
	return a.render(w, r, status, views.ConsoleRightsCase(a.page(r, views.CaseKindText(r.Context(), c.Kind)), v))
}

// POST /console/rights/{id}
func (a *App) handleRightsCaseAction(w http.ResponseWriter, r *http.Request) error {
	c, x, err := a.officerCase(r)
	if err != nil {
		return err
	}
	f, err := parseForm(r)
	if err != nil {
		return err
	}
	if c.Kind == store.CaseErasure {
		return a.erasureCaseAction(w, r, x, c, f)
	}
	note := f.multiline("note", tr(r, "rights.field.note"), 2000)
	action := f.raw("action")
	status := map[string]string{"progress": store.CaseInProgress, "complete": store.CaseCompleted, "reject": store.CaseRejected,
		"lift": store.CaseCompleted, "restrict": store.CaseInProgress}[action]
	if status == "" || ((action == "lift" || action == "restrict") && c.Kind != store.CaseRestriction) {
		f.fail("note", tr(r, "rights.error.action"))
	}
	if action == "reject" && note == "" && f.Errors["note"] == "" {
		f.fail("note", tr(r, "rights.error.decline_reason"))
	}
	if !f.Valid() {
		return a.renderOfficerCase(w, r, http.StatusUnprocessableEntity, x, c, f.Errors, note)
	}
	if action == "lift" || action == "restrict" {
		if err := a.store.SetRestricted(r.Context(), c.UserID, action == "restrict"); errors.Is(err, store.ErrNotFound) {
			return store.ErrConflict
		} else if err != nil {
			return err
		}
		if note == "" && action == "lift" {
			note = "Restriction lifted by the privacy officer."
		}
		if note == "" {
			note = "Processing of your data is restricted: no Member sees it, no mail but answers to your requests goes to you, and you are left out of statistics."
		}
	}
	c, err = a.store.UpdateCase(r.Context(), c.ID, x.user.ID, status, note)
	if errors.Is(err, store.ErrCaseClosed) {
		return store.ErrConflict
	}
	if err != nil {
		return err
	}
	a.auditReq(r, "rights.case."+action, "case", c.ID, map[string]any{"status": status})
	if status != store.CaseInProgress || action == "restrict" {
		a.mailCaseUpdate(r.Context(), c, note)
	}
	a.redirect(w, r, "/console/rights/"+c.ID, tr(r, "rights.flash.updated"))
	return nil
}

// POST /console/rights/{id}/extend
func (a *App) handleRightsCaseExtend(w http.ResponseWriter, r *http.Request) error {
	c, x, err := a.officerCase(r)
	if err != nil {
		return err
	}
	f, err := parseForm(r)
	if err != nil {
		return err
	}
	months, _ := strconv.Atoi(f.raw("months"))
	if months < 1 || months > 2 {
		f.fail("months", tr(r, "rights.error.months"))
	}
	reason := f.text("reason", tr(r, "rights.field.reason"), 10, 500)
	if f.Valid() {
		c2, err := a.store.ExtendCase(r.Context(), c.ID, x.user.ID, months, reason)
		switch {
		case errors.Is(err, store.ErrAlreadyExtended):
			f.fail("months", tr(r, "rights.error.extended_already"))
		case errors.Is(err, store.ErrCaseClosed):
			f.fail("months", tr(r, "rights.error.closed"))
		case err != nil:
			return err
		default:
			c = c2
		}
	}
	if !f.Valid() {
		return a.renderOfficerCase(w, r, http.StatusUnprocessableEntity, x, c, f.Errors, "")
	}
	a.auditReq(r, "rights.case.extend", "case", c.ID, map[string]any{"months": months})
	a.mails.CaseUpdateSaying(r.Context(), c, func(p *i18n.Printer) string {
		return p.T("rights.note.extended", "date", p.Date(c.DueAt), "reason", reason)
	})
	a.redirect(w, r, "/console/rights/"+c.ID, tr(r, "rights.flash.extended"))
	return nil
}

// erasureCaseAction is the officer's answer to an erasure request: carry
// it out now (a hold on the person, checked at that moment, stops it), or
// refuse it with the legal reason, which the person is told. Leaving it to
// the schedule needs no action. Nothing here marks the case done: only the
// erasure itself does (Background.EraseNow), so a case cannot read "done" while
// the account lives on.
func (a *App) erasureCaseAction(w http.ResponseWriter, r *http.Request, x actor, c store.Case, f *form) error {
	action := f.raw("action")
	if action != "carry_out" && action != "refuse" {
		f.fail("_form", tr(r, "rights.error.erasure_by_hand"))
		return a.renderOfficerCase(w, r, http.StatusUnprocessableEntity, x, c, f.Errors, f.raw("note"))
	}
	if !c.Open() {
		return store.ErrConflict
	}
	note := f.multiline("note", tr(r, "rights.field.legal_reason"), 2000)
	if action == "refuse" && note == "" && f.Errors["note"] == "" {
		f.fail("note", tr(r, "rights.error.refuse_reason"))
	}
	if action == "carry_out" && !f.checkbox("confirm") && f.Errors["confirm"] == "" {
		f.fail("confirm", tr(r, "rights.error.confirm"))
	}
	if !f.Valid() {
		return a.renderOfficerCase(w, r, http.StatusUnprocessableEntity, x, c, f.Errors, note)
	}
	if action == "refuse" {
		// Not while the erasure runs: the case would read "refused" for an
		// erased account.
		unlock := a.bg.HoldErasures()
		c, err := a.store.UpdateCase(r.Context(), c.ID, x.user.ID, store.CaseRejected, note)
		unlock()
		if errors.Is(err, store.ErrCaseClosed) {
			return store.ErrConflict
		}
		if err != nil {
			return err
		}
		a.auditReq(r, "rights.case.refuse", "case", c.ID, map[string]any{"status": c.Status})
		a.mails.CaseUpdateSaying(r.Context(), c, func(p *i18n.Printer) string { return p.T("rights.note.erasure_refused", "reason", note) })
		a.redirect(w, r, "/console/rights/"+c.ID, tr(r, "rights.flash.refused"))
		return nil
	}
	err := a.bg.EraseNow(r.Context(), c, x.user.ID)
	var held *store.HeldError
	switch {
	case errors.As(err, &held):
		f.fail("_form", describeHolds(r, held.Holds))
		return a.renderOfficerCase(w, r, http.StatusUnprocessableEntity, x, c, f.Errors, note)
	case errors.Is(err, store.ErrCaseClosed):
		return store.ErrConflict
	case err != nil:
		return err
	}
	a.auditReq(r, "rights.case.carry_out", "case", c.ID, nil)
	a.redirect(w, r, "/console/rights/"+c.ID, tr(r, "rights.flash.carried_out"))
	return nil
}

// describeHolds names the holds that block an erasure for the privacy
// officer by reference, date and reason, as the retention page shows them
// to operators.
func describeHolds(r *http.Request, holds []store.LegalHold) string {
	p := i18n.From(r.Context())
	list := make([]string, len(holds))
	for i, h := range holds {
		list[i] = p.T("rights.error.hold_item", "id", h.ID[:8], "date", p.Date(h.SetAt), "reason", h.Reason)
	}
	return p.T("rights.error.holds", "holds", strings.Join(list, p.T("rights.error.hold_sep")))
}

// heldPeople maps each person under an active legal hold to their holds.
func (a *App) heldPeople(ctx context.Context) (map[string][]store.LegalHold, error) {
	return a.store.HeldPeople(ctx)
}

// mailErasureScheduled tells the person when their account will be erased
// and how to cancel until then. It goes even under restriction: it answers
// their own request.
func (a *App) mailErasureScheduled(ctx context.Context, u *store.User, c store.Case) {
	mctx, p := a.mails.In(ctx, u.Language)
	when := p.T("rights.mail.erasure.next_run")
	if c.ExecuteAfter.After(a.clock()) {
		when = p.T("rights.mail.erasure.on", "date", p.DateTime(c.ExecuteAfter), "zone", p.ZoneName(c.ExecuteAfter))
	}
	err := a.accountMail(mctx, u.ID, u.Email, "erasure_scheduled", p.T("rights.mail.erasure.subject"), views.MailBody{
		Greeting:    p.T("mail.greeting", "name", u.FirstName),
		Paragraphs:  []string{p.T("rights.mail.erasure.text", "when", when), p.T("rights.mail.erasure.cancel")},
		ActionLabel: p.T("rights.mail.erasure.action"), ActionURL: a.cfg.PublicURL() + "/rights/cases/" + c.ID,
	})
	if err != nil {
		a.log.Error("erasure scheduled mail", "case_id", c.ID, "err", err)
	}
}

// mailCaseUpdate tells the person about their request. A mail the law
// requires (answers to their own request) goes even under restriction.
func (a *App) mailCaseUpdate(ctx context.Context, c store.Case, note string) {
	a.mails.CaseUpdate(ctx, c, note)
}

// caseActionError maps the store's answer to an officer's action: a case
// closed meanwhile is a conflict.
func caseActionError(err error) error {
	if errors.Is(err, store.ErrCaseClosed) || errors.Is(err, store.ErrErasureNotCarriedOut) {
		return &Error{Status: http.StatusConflict, Key: "error.conflict", Cause: err}
	}
	return err
}

// POST /console/rights/{id}/identity
func (a *App) handleRightsCaseIdentity(w http.ResponseWriter, r *http.Request) error {
	c, x, err := a.officerCase(r)
	if err != nil {
		return err
	}
	f, err := parseForm(r)
	if err != nil {
		return err
	}
	if !c.Open() || c.Kind == store.CaseErasure {
		return store.ErrConflict
	}
	how := f.text("identity", tr(r, "rights.field.identity"), 5, 500)
	if !f.Valid() {
		return a.renderOfficerCaseForm(w, r, http.StatusUnprocessableEntity, x, c, f.Errors, "", views.CaseActionForm{Identity: how})
	}
	c, err = a.store.RecordIdentityCheck(r.Context(), c.ID, x.user.ID, how)
	if err := caseActionError(err); err != nil {
		return err
	}
	a.auditReq(r, "rights.case.identity", "case", c.ID, nil)
	a.mails.CaseUpdateSaying(r.Context(), c, func(p *i18n.Printer) string { return p.T("rights.note.verified") })
	a.redirect(w, r, "/console/rights/"+c.ID, tr(r, "rights.flash.identity"))
	return nil
}

// POST /console/rights/{id}/rectify
func (a *App) handleRightsCaseRectify(w http.ResponseWriter, r *http.Request) error {
	c, x, err := a.officerCase(r)
	if err != nil {
		return err
	}
	f, err := parseForm(r)
	if err != nil {
		return err
	}
	if c.Kind != store.CaseRectification || !c.Open() {
		return store.ErrConflict
	}
	form := views.CaseActionForm{Certificate: f.raw("certificate"), HolderName: f.text("holder_name", tr(r, "rights.field.holder_name"), 2, 200)}
	if !store.ValidCertificateCode(form.Certificate) {
		f.fail("certificate", tr(r, "rights.error.certificate"))
	}
	if f.Valid() {
		c2, err := a.store.RectifyCertificateName(r.Context(), c.ID, x.user.ID, form.Certificate, form.HolderName)
		if errors.Is(err, store.ErrNotFound) {
			f.fail("certificate", tr(r, "rights.error.certificate"))
		} else if err := caseActionError(err); err != nil {
			return err
		} else {
			c = c2
		}
	}
	if !f.Valid() {
		return a.renderOfficerCaseForm(w, r, http.StatusUnprocessableEntity, x, c, f.Errors, "", form)
	}
	// The audit log names the field, never the names themselves: those stay
	// sealed in the case history.
	a.auditReq(r, "rights.case.rectify", "case", c.ID, map[string]any{"field": "certificates.holder_name"})
	a.mails.CaseUpdateSaying(r.Context(), c, func(p *i18n.Printer) string {
		return p.T("rights.note.certificate_renamed", "code", form.Certificate, "name", form.HolderName)
	})
	a.redirect(w, r, "/console/rights/"+c.ID, tr(r, "rights.flash.rectified"))
	return nil
}

// POST /console/rights/{id}/grade
func (a *App) handleRightsCaseGrade(w http.ResponseWriter, r *http.Request) error {
	c, x, err := a.officerCase(r)
	if err != nil {
		return err
	}
	f, err := parseForm(r)
	if err != nil {
		return err
	}
	if c.Kind != store.CaseReview || !c.Open() {
		return store.ErrConflict
	}
	form := views.CaseActionForm{Attempt: f.raw("attempt"), Decision: f.raw("decision"), Score: strings.TrimSpace(f.raw("score")),
		GradeReason: f.multiline("grade_reason", tr(r, "rights.field.reason"), 2000)}
	d := store.GradeDecision{AttemptID: form.Attempt, Change: form.Decision == "change", Reason: form.GradeReason}
	if !store.ValidID(form.Attempt) {
		f.fail("attempt", tr(r, "rights.error.grade"))
	}
	if form.Decision != "keep" && form.Decision != "change" {
		f.fail("decision", tr(r, "rights.error.decision"))
	}
	if d.Change {
		n, err := strconv.Atoi(form.Score)
		if err != nil || n < 0 || n > 100 {
			f.fail("score", tr(r, "rights.error.score"))
		}
		d.Score = n
	}
	if form.GradeReason == "" && f.Errors["grade_reason"] == "" {
		f.fail("grade_reason", tr(r, "rights.error.grade_reason"))
	}
	if f.Valid() {
		c2, err := a.store.ReviewGrade(r.Context(), c.ID, x.user.ID, d)
		if errors.Is(err, store.ErrNotFound) {
			f.fail("attempt", tr(r, "rights.error.grade"))
		} else if err := caseActionError(err); err != nil {
			return err
		} else {
			c = c2
		}
	}
	if !f.Valid() {
		return a.renderOfficerCaseForm(w, r, http.StatusUnprocessableEntity, x, c, f.Errors, "", form)
	}
	a.auditReq(r, "rights.case.grade", "case", c.ID, map[string]any{"decision": form.Decision})
	if d.Change {
		// A grade that now passes may complete the training.
		for _, at := range a.mustAttempts(r.Context(), c.UserID) {
			if at.ID == d.AttemptID {
				if _, err := a.store.CompleteIfDone(r.Context(), c.UserID, at.TrainingID); err != nil {
					a.log.Error("complete after review", "case_id", c.ID, "err", err)
				}
			}
		}
	}
	note := ""
	if n := len(c.Events); n > 0 {
		note = c.Events[n-1].Note
	}
	a.mailCaseUpdate(r.Context(), c, note)
	a.redirect(w, r, "/console/rights/"+c.ID, tr(r, "rights.flash.reviewed"))
	return nil
}

// mustAttempts lists a person's attempts, or none when that fails (logged).
func (a *App) mustAttempts(ctx context.Context, userID string) []store.AttemptSummary {
	as, err := a.store.Attempts(ctx, userID)
	if err != nil {
		a.log.Error("attempts", "err", err)
	}
	return as
}

// POST /console/rights/{id}/export
func (a *App) handleRightsCaseExport(w http.ResponseWriter, r *http.Request) error {
	c, x, err := a.officerCase(r)
	if err != nil {
		return err
	}
	if _, err := parseForm(r); err != nil {
		return err
	}
	if (c.Kind != store.CaseAccess && c.Kind != store.CasePortability) || !c.Open() {
		return store.ErrConflict
	}
	ctx := r.Context()
	u, err := a.store.User(ctx, c.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return store.ErrConflict
	}
	if err != nil {
		return err
	}
	if !u.Verified() {
		// The link goes only to an address the person has confirmed.
		return a.renderOfficerCase(w, r, http.StatusUnprocessableEntity, x, c, views.Errors{"_form": tr(r, "rights.error.export_unverified")}, "")
	}
	exportID, err := a.startExport(ctx, u.ID)
	if err != nil {
		return err
	}
	days := a.exportDays(r)
	note := "An export of your data was prepared on your behalf. The download link went to your confirmed email address; sign in to download it within " + strconv.Itoa(days) + " days."
	c, err = a.store.UpdateCase(ctx, c.ID, x.user.ID, store.CaseCompleted, note)
	if err := caseActionError(err); err != nil {
		return err
	}
	a.auditReq(r, "rights.case.export", "case", c.ID, map[string]any{"export_id": exportID})
	mctx, p := a.mails.In(ctx, u.Language)
	if err := a.accountMail(mctx, u.ID, u.Email, "rights_export", p.T("rights.mail.export.subject"), views.MailBody{
		Greeting:    p.T("mail.greeting", "name", u.FirstName),
		Paragraphs:  []string{p.T("rights.mail.export.text"), p.T("rights.mail.export.download", "days", p.N("duration.days", days))},
		ActionLabel: p.T("rights.mail.export.action"), ActionURL: a.cfg.PublicURL() + "/rights/export/" + exportID,
	}, mailLink{expires: a.clock().AddDate(0, 0, days)}); err != nil {
		a.log.Error("export on behalf mail", "case_id", c.ID, "err", err)
	}
	a.redirect(w, r, "/console/rights/"+c.ID, tr(r, "rights.flash.export"))
	return nil
}

// rightsRequestKinds are the requests an officer may record on someone's
// behalf: every right of the portal.
func rightsRequestKinds(ctx context.Context) []views.OptionGroup {
	var opts []views.Option
	for _, k := range []string{store.CaseAccess, store.CaseRectification, store.CaseErasure, store.CaseRestriction, store.CasePortability,
		store.CaseObjection, store.CaseWithdrawConsent, store.CaseReview} {
		opts = append(opts, views.Option{Value: k, Label: views.CaseKindText(ctx, k)})
	}
	return []views.OptionGroup{{Options: opts}}
}

// GET /console/rights/new
func (a *App) handleNewRightsRequest(w http.ResponseWriter, r *http.Request) error {
	x := actorFrom(r.Context())
	form := views.RightsRequestForm{ReceivedOn: a.clock().UTC().Format(time.DateOnly), Kinds: rightsRequestKinds(r.Context())}
	return a.render(w, r, http.StatusOK, views.ConsoleNewRightsRequest(a.page(r, tr(r, "rights.new.page_title")), views.NewRightsRequestConsole{Nav: a.consoleNav(r.Context(), x), Form: form}))
}

// oldestReceipt bounds how far back a received date may lie: a request
// older than this was surely recorded already, or the date is a typo.
const oldestReceipt = 366 * 24 * time.Hour

// POST /console/rights/new
func (a *App) handleCreateRightsRequest(w http.ResponseWriter, r *http.Request) error {
	x := actorFrom(r.Context())
	f, err := parseForm(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	form := views.RightsRequestForm{Email: f.email("email"), Kind: f.choice("kind", "fieldlabel.kind_of_request", store.ValidCaseKind, true),
		Channel: f.choice("channel", "fieldlabel.channel", store.ValidOutsideChannel, true), ReceivedOn: strings.TrimSpace(f.raw("received_on")),
		Identity: f.text("identity", tr(r, "rights.field.identity"), 0, 500), Details: f.multiline("details", tr(r, "rights.field.details"), 4000),
		Kinds: rightsRequestKinds(r.Context())}
	now := a.clock().UTC()
	received, err := time.Parse(time.DateOnly, form.ReceivedOn)
	switch {
	case err != nil:
		f.fail("received_on", tr(r, "rights.error.received_on"))
	case received.After(now):
		f.fail("received_on", tr(r, "rights.error.received_future"))
	case now.Sub(received) > oldestReceipt:
		f.fail("received_on", tr(r, "rights.error.received_old"))
	}
	if form.Details == "" && f.Errors["details"] == "" {
		f.fail("details", tr(r, "rights.error.details"))
	}
	if form.Kind == store.CaseErasure && form.Identity == "" && f.Errors["identity"] == "" {
		f.fail("identity", tr(r, "rights.error.erasure_identity"))
	}
	if len(form.Identity) > 0 && len([]rune(form.Identity)) < 5 && f.Errors["identity"] == "" {
		f.fail("identity", tr(r, "rights.error.identity_short"))
	}
	var u store.User
	if f.Valid() {
		// The address is looked up through its blind index, never stored.
		u, err = a.store.UserByEmail(ctx, form.Email)
		if errors.Is(err, store.ErrNotFound) {
			f.fail("email", tr(r, "rights.error.no_account"))
		} else if err != nil {
			return err
		} else if c, err := a.store.OpenCase(ctx, u.ID, store.CaseErasure); err == nil && form.Kind == store.CaseErasure {
			f.fail("kind", tr(r, "rights.error.erasure_open", "id", c.ID[:8]))
		}
	}
	if !f.Valid() {
		form.Errors = f.Errors
		return a.render(w, r, http.StatusUnprocessableEntity, views.ConsoleNewRightsRequest(a.page(r, tr(r, "rights.new.page_title")), views.NewRightsRequestConsole{Nav: a.consoleNav(r.Context(), x), Form: form}))
	}
	nc := store.NewCase{UserID: u.ID, Kind: form.Kind, Details: form.Details, ReceivedAt: received, Channel: form.Channel,
		RecordedBy: x.user.ID, IdentityCheck: form.Identity,
		Note: "Request received " + views.ChannelLabel(form.Channel) + " on " + received.Format("2 January 2006") + " and recorded by the privacy officer."}
	if received.After(now.Add(-24 * time.Hour)) {
		received = now // today: the deadline counts from now, not from midnight
		nc.ReceivedAt = now
	}
	if form.Kind == store.CaseErasure {
		nc.ExecuteAfter = now.Add(a.erasureGrace())
	}
	c, err := a.store.CreateCase(ctx, nc)
	if err != nil {
		return err
	}
	a.auditReq(r, "rights.case.record", "case", c.ID, map[string]any{"kind": c.Kind, "channel": c.Channel})
	if c.Kind == store.CaseErasure {
		a.mailErasureScheduled(ctx, &u, c)
	} else {
		a.mails.CaseUpdateSaying(ctx, c, func(p *i18n.Printer) string {
			return p.T("rights.note.received", "channel", views.ChannelText(i18n.With(ctx, p), c.Channel), "received", p.Date(c.ReceivedAt),
				"due", p.Date(c.DueAt))
		})
	}
	a.redirect(w, r, "/console/rights/"+c.ID, tr(r, "rights.flash.recorded", "date", i18n.From(r.Context()).Date(c.DueAt)))
	return nil
}

// disclosureReviewLimit bounds the review page; filters narrow it.
const disclosureReviewLimit = 500

// GET /console/disclosures
func (a *App) handleDisclosureReview(w http.ResponseWriter, r *http.Request) error {
	x := actorFrom(r.Context())
	ctx := r.Context()
	q := r.URL.Query()
	v := views.DisclosureReview{Nav: a.consoleNav(ctx, x), Viewer: strings.TrimSpace(q.Get("viewer")), Member: q.Get("member"),
		Grant: strings.TrimSpace(q.Get("grant")), Person: strings.TrimSpace(q.Get("person")), From: q.Get("from"), Until: q.Get("until"),
		Errors: views.Errors{}, Limit: disclosureReviewLimit}
	f := store.DisclosureFilter{ViewerID: v.Viewer, MemberID: v.Member, GrantID: v.Grant, Limit: disclosureReviewLimit}
	for _, c := range []struct{ name, val, msg string }{{"viewer", v.Viewer, tr(r, "rights.error.viewer")},
		{"member", v.Member, tr(r, "rights.error.member")}, {"grant", v.Grant, tr(r, "rights.error.grant")}} {
		if c.val != "" && !store.ValidID(c.val) {
			v.Errors[c.name] = c.msg
		}
	}
	f.From, f.Until = dayRange(v.From, v.Until, v.Errors, tr(r, "rights.error.date"))
	if v.Person != "" {
		// Found through the blind index; the address is not kept.
		u, err := a.store.UserByEmail(ctx, v.Person)
		switch {
		case errors.Is(err, store.ErrNotFound):
			v.Errors["person"] = tr(r, "rights.error.person")
		case err != nil:
			return err
		default:
			f.SubjectID = u.ID
		}
	}
	ms, err := a.store.Members(ctx)
	if err != nil {
		return err
	}
	var opts []views.Option
	for _, m := range ms {
		opts = append(opts, views.Option{Value: m.ID, Label: m.Name})
	}
	v.Members = []views.OptionGroup{{Options: opts}}
	status := http.StatusOK
	if len(v.Errors) > 0 {
		status = http.StatusUnprocessableEntity
	} else if v.Disclosures, err = a.store.AllDisclosures(ctx, f); err != nil {
		return err
	}
	return a.render(w, r, status, views.ConsoleDisclosures(a.page(r, tr(r, "rights.disclosures.title")), v))
}
