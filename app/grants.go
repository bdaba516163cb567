package app

import (
	"errors"
	"net/http"
	"slices"
	"time"

	"kelas/store"
	"kelas/views"
)

// grantFor returns the id of the active grant that lets the actor's Member
// see the learners of t, or "" when there is none (or the actor is not
// staff). The grant is t's Member's: to its own staff, or to the actor's
// Member as its contractor.
func (a *App) grantFor(r *http.Request, x actor, t store.Training) (string, error) {
	if x.staff == nil {
		return "", nil
	}
	id, err := a.store.ActiveGrantFor(r.Context(), x.staff.MemberID, t.ID)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	return id, err
}

// disclose records that the actor saw the personal data of subjects in a
// view, under a grant or with a reason.
func (a *App) disclose(r *http.Request, x actor, view, grantID, reason string, subjects ...string) error {
	if len(subjects) == 0 || x.user == nil {
		return nil
	}
	// Learners' data is shown only to those who accepted the undertaking
	// (lists of colleagues are not learners' data).
	if view != store.ViewStaffList && slices.ContainsFunc(subjects, func(s string) bool { return s != x.user.ID }) {
		if err := a.requireUndertaking(r, x); err != nil {
			return err
		}
	}
	d := store.Disclosure{ViewerID: x.user.ID, ViewerRole: string(x.user.Role), View: view, GrantID: grantID, Reason: reason}
	// The viewer's own Member: a contractor's staff are named with theirs,
	// the grant with the Member that gave it.
	if x.staff != nil {
		d.MemberID = x.staff.MemberID
	}
	if err := a.store.RecordDisclosures(r.Context(), d, subjects...); err != nil {
		return err
	}
	// Operators see everything: their views are in the audit log too, where
	// the chain makes them tamper-evident. Ids and counts only; the reason
	// stays sealed in the disclosure.
	if x.isOperator() {
		target := ""
		if len(subjects) == 1 {
			target = subjects[0]
		}
		a.auditReq(r, "personal_data.view", "user", target, map[string]any{"view": view, "people": len(subjects), "grant_id": grantID})
	}
	return nil
}

// GET /console/grants
func (a *App) handleGrants(w http.ResponseWriter, r *http.Request) error {
	x := actorFrom(r.Context())
	memberID := ""
	if !x.isOperator() {
		memberID = x.staff.MemberID
	}
	if !mayViewGrantsOf(x, memberID) && memberID != "" {
		return errForbidden
	}
	lp, err := readList(r, grantListSpec)
	if err != nil {
		return err
	}
	pg, err := fetchPage(&lp, func(q store.ListQuery) (store.Page[store.Grant], error) {
		return a.store.GrantList(r.Context(), store.GrantFilter{MemberID: memberID, ListQuery: q})
	})
	if err != nil {
		return err
	}
	gs := pg.Items
	v := views.GrantsConsole{Nav: a.consoleNav(r.Context(), x), Grants: gs, Now: a.clock(), CanCreate: mayCreateGrant(x), CanRevoke: map[string]bool{},
		ViewerMember: memberID, List: lp.state(r, nil, pg.Total)}
	for _, g := range gs {
		v.CanRevoke[g.ID] = mayRevokeGrant(x, g)
	}
	return a.render(w, r, http.StatusOK, views.ConsoleGrants(a.page(r, tr(r, "grants.list.heading")), v))
}

// grantListSpec: grants newest first.
var grantListSpec = listSpec{{key: "created", desc: true}, {key: "member"}, {key: "from", desc: true}, {key: "until", desc: true}}

func (a *App) grantForm(r *http.Request, x actor, f views.GrantForm) (views.GrantForm, error) {
	f.Nav = a.consoleNav(r.Context(), x)
	ms, err := a.store.Members(r.Context())
	if err != nil {
		return f, err
	}
	var opts []views.Option
	for _, m := range ms {
		opts = append(opts, views.Option{Value: m.ID, Label: m.Name})
	}
	f.Members = []views.OptionGroup{{Options: opts}}
	// A contractor must be an active Member whose staff can log in.
	var recipients []views.Option
	for _, m := range ms {
		if m.Active {
			recipients = append(recipients, views.Option{Value: m.ID, Label: m.Name})
		}
	}
	f.Recipients = []views.OptionGroup{{Options: recipients}}
	f.Trainings, err = a.store.Trainings(r.Context(), store.CatalogueFilter{IncludeUnpublished: true})
	if f.Chosen == nil {
		f.Chosen = map[string]bool{}
	}
	return f, err
}

// GET /console/grants/new
func (a *App) handleNewGrant(w http.ResponseWriter, r *http.Request) error {
	x := actorFrom(r.Context())
	now := a.clock().UTC()
	f, err := a.grantForm(r, x, views.GrantForm{From: now.Format(datetimeLocal), Until: now.AddDate(0, 0, 30).Format(datetimeLocal),
		MemberID: r.URL.Query().Get("member")})
	if err != nil {
		return err
	}
	return a.render(w, r, http.StatusOK, views.ConsoleNewGrant(a.page(r, tr(r, "grants.new.heading")), f))
}

// POST /console/grants
func (a *App) handleCreateGrant(w http.ResponseWriter, r *http.Request) error {
	x := actorFrom(r.Context())
	f, err := parseForm(r)
	if err != nil {
		return err
	}
	vm := views.GrantForm{MemberID: f.raw("member_id"), RecipientID: f.raw("recipient_member_id"), Purpose: f.text("purpose", "fieldlabel.purpose", 5, 300),
		From: f.text("valid_from", "fieldlabel.start", 1, 20), Until: f.text("valid_until", "fieldlabel.end", 1, 20), Chosen: map[string]bool{}}
	if !store.ValidID(vm.MemberID) {
		f.fail("member_id", tr(r, "grants.new.error.member"))
	} else if _, err := a.store.Member(r.Context(), vm.MemberID); err != nil {
		f.fail("member_id", tr(r, "grants.new.error.member"))
	}
	if vm.RecipientID == vm.MemberID {
		vm.RecipientID = "" // the granting Member's own staff: no contractor
	}
	if vm.RecipientID != "" {
		if !store.ValidID(vm.RecipientID) {
			f.fail("recipient_member_id", tr(r, "grants.recipient.error"))
		} else if m, err := a.store.Member(r.Context(), vm.RecipientID); errors.Is(err, store.ErrNotFound) || err == nil && !m.Active {
			f.fail("recipient_member_id", tr(r, "grants.recipient.error"))
		} else if err != nil {
			return err
		}
	}
	var trainings []string
	for _, t := range f.r.PostForm["trainings"] {
		if !store.ValidID(t) {
			f.fail("trainings", tr(r, "grants.new.error.trainings_list"))
			break
		}
		if !vm.Chosen[t] {
			vm.Chosen[t] = true
			trainings = append(trainings, t)
		}
	}
	if len(trainings) == 0 {
		f.fail("trainings", tr(r, "grants.new.error.trainings_needed"))
	}
	from, err1 := time.Parse(datetimeLocal, vm.From)
	until, err2 := time.Parse(datetimeLocal, vm.Until)
	if err1 != nil && f.Errors["valid_from"] == "" {
		f.fail("valid_from", tr(r, "grants.new.error.from"))
	}
	if err2 != nil && f.Errors["valid_until"] == "" {
		f.fail("valid_until", tr(r, "grants.new.error.until"))
	}
	if err1 == nil && err2 == nil && !until.After(from) {
		f.fail("valid_until", tr(r, "grants.new.error.order"))
	}
	if f.Valid() {
		if _, err := a.stepUp(r.Context(), x.user, f); err != nil {
			return err
		}
	}
	var g store.Grant
	if f.Valid() {
		g, err = a.store.CreateGrant(r.Context(), store.NewGrant{MemberID: vm.MemberID, RecipientID: vm.RecipientID, TrainingIDs: trainings,
			Purpose: vm.Purpose, ValidFrom: from, ValidUntil: until, GrantedBy: x.user.ID})
		if errors.Is(err, store.ErrGrantTraining) {
			f.fail("trainings", tr(r, "grants.new.error.own_trainings"))
		} else if errors.Is(err, store.ErrGrantRecipient) {
			f.fail("recipient_member_id", tr(r, "grants.recipient.error"))
		} else if err != nil {
			return err
		}
	}
	if !f.Valid() {
		vm.Errors = f.Errors
		if vm, err = a.grantForm(r, x, vm); err != nil {
			return err
		}
		return a.render(w, r, http.StatusUnprocessableEntity, views.ConsoleNewGrant(a.page(r, tr(r, "grants.new.heading")), vm))
	}
	a.auditReq(r, "grant.create", "grant", g.ID, map[string]any{"member": g.MemberID, "recipient": g.RecipientID, "trainings": g.TrainingIDs,
		"from": g.ValidFrom.Format(time.RFC3339), "until": g.ValidUntil.Format(time.RFC3339)})
	a.redirect(w, r, "/console/grants", tr(r, "grants.flash.granted"))
	return nil
}

// POST /console/grants/{id}/revoke
func (a *App) handleRevokeGrant(w http.ResponseWriter, r *http.Request) error {
	x := actorFrom(r.Context())
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	g, err := a.store.Grant(r.Context(), id)
	if err != nil {
		return err
	}
	if !mayViewGrant(x, g) {
		return store.ErrNotFound
	}
	if !mayRevokeGrant(x, g) {
		return errForbidden
	}
	f, err := parseForm(r)
	if err != nil {
		return err
	}
	if err := a.stepUpCheck(r, x.user, f); err != nil {
		return err
	}
	if err := a.store.RevokeGrant(r.Context(), g.ID, x.user.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	a.auditReq(r, "grant.revoke", "grant", g.ID, map[string]any{"member": g.MemberID, "recipient": g.RecipientID})
	a.redirect(w, r, "/console/grants", tr(r, "grants.flash.revoked"))
	return nil
}

// GET /console/trainings/{id}/learners
func (a *App) handleTrainingLearners(w http.ResponseWriter, r *http.Request) error {
	x := actorFrom(r.Context())
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	t, err := a.store.Training(r.Context(), id)
	if err != nil {
		return err
	}
	grantID, err := a.grantFor(r, x, t)
	if err != nil {
		return err
	}
	access := learnerAccessTo(x, t, grantID != "")
	if access == accessNone {
		return store.ErrNotFound
	}
	lp, err := readList(r, trainingLearnerListSpec)
	if err != nil {
		return err
	}
	v := views.LearnersView{Nav: a.consoleNav(r.Context(), x), Training: t, CanManage: mayEditTraining(x, t)}
	if v.Count, err = a.store.EnrolmentCount(r.Context(), t.ID); err != nil {
		return err
	}
	if access >= accessGrant {
		v.Visible = true
		// Only the page's learners are shown, so only they are recorded.
		pg, err := fetchPage(&lp, func(q store.ListQuery) (store.Page[store.LearnerSummary], error) {
			return a.store.TrainingLearnerList(r.Context(), store.TrainingLearnerFilter{TrainingID: t.ID, ListQuery: q})
		})
		if err != nil {
			return err
		}
		v.Learners, v.List = pg.Items, lp.state(r, nil, pg.Total)
		ids := make([]string, len(v.Learners))
		for i, l := range v.Learners {
			ids[i] = l.ID
		}
		reason := ""
		if access == accessAll {
			reason = "@operator_learner_list"
		}
		if err := a.disclose(r, x, store.ViewLearnerList, grantID, reason, ids...); err != nil {
			return err
		}
	}
	return a.render(w, r, http.StatusOK, views.ConsoleLearners(a.page(r, tr(r, "grants.learners.heading", "title", t.Title)), v))
}

// GET /console/learners
func (a *App) handleLearnerSearch(w http.ResponseWriter, r *http.Request) error {
	x := actorFrom(r.Context())
	lp, err := readList(r, learnerListSpec)
	if err != nil {
		return err
	}
	v := views.LearnerSearch{Nav: a.consoleNav(r.Context(), x), Query: lp.Q}
	// Without a query nothing is listed: a page of everyone would show
	// names nobody asked for (and record a view of each).
	if v.Query != "" {
		v.Searched = true
		pg, err := fetchPage(&lp, func(q store.ListQuery) (store.Page[store.LearnerSummary], error) {
			return a.store.LearnerList(r.Context(), store.LearnerFilter{Query: lp.Q, ListQuery: q})
		})
		if err != nil {
			return err
		}
		ls := pg.Items
		v.Learners, v.List = ls, lp.state(r, nil, pg.Total)
		ids := make([]string, len(ls))
		for i, l := range ls {
			ids[i] = l.ID
		}
		if err := a.disclose(r, x, store.ViewLearnerList, "", "@operator_search", ids...); err != nil {
			return err
		}
	}
	return a.render(w, r, http.StatusOK, views.ConsoleLearnerSearch(a.page(r, tr(r, "grants.search.page_title")), v))
}

// trainingLearnerListSpec: a training's learners in the order they
// enrolled, or by country (names are sealed).
var trainingLearnerListSpec = listSpec{{key: "enrolled"}, {key: "country"}}

// learnerListSpec: names are sealed, so learners sort by what is stored in
// the clear (see store.LearnerFilter): newest accounts first, or country.
var learnerListSpec = listSpec{{key: "created", desc: true}, {key: "country"}}

// learnerFor decides how the actor may open the record of the learner in
// the path. Staff get it only through a grant covering a training the
// learner is enrolled in; anyone else without access gets 404, so guessing
// ids tells nothing.
func (a *App) learnerFor(r *http.Request) (store.User, actor, string, error) {
	x := actorFrom(r.Context())
	uid, err := pathID(r, "uid")
	if err != nil {
		return store.User{}, x, "", err
	}
	grantID := ""
	if !x.isOperator() {
		g, _, err := a.store.GrantedLearner(r.Context(), x.staff.MemberID, uid)
		if err != nil {
			return store.User{}, x, "", err
		}
		grantID = g
	}
	u, err := a.store.User(r.Context(), uid)
	if err != nil || u.Role != store.RoleLearner && !x.isOperator() {
		return u, x, "", errNotFound
	}
	// Nobody opens a learner's record before accepting the undertaking.
	if err := a.requireUndertaking(r, x); err != nil {
		return u, x, "", err
	}
	return u, x, grantID, nil
}

// GET /console/learners/{uid}
func (a *App) handleLearner(w http.ResponseWriter, r *http.Request) error {
	u, x, grantID, err := a.learnerFor(r)
	if err != nil {
		return err
	}
	if grantID == "" {
		// Operators outside any grant first say why.
		return a.render(w, r, http.StatusOK, views.ConsoleLearnerReason(a.page(r, tr(r, "grants.reason.title")),
			views.LearnerReason{Nav: a.consoleNav(r.Context(), x), UserID: u.ID, Errors: views.Errors{}}))
	}
	return a.showLearner(w, r, x, u, grantID, "")
}

// POST /console/learners/{uid}
func (a *App) handleLearnerWithReason(w http.ResponseWriter, r *http.Request) error {
	u, x, grantID, err := a.learnerFor(r)
	if err != nil {
		return err
	}
	f, err := parseForm(r)
	if err != nil {
		return err
	}
	reason := f.text("reason", "fieldlabel.reason", 10, 500)
	if !f.Valid() {
		return a.render(w, r, http.StatusUnprocessableEntity, views.ConsoleLearnerReason(a.page(r, tr(r, "grants.reason.title")),
			views.LearnerReason{Nav: a.consoleNav(r.Context(), x), UserID: u.ID, Reason: reason, Errors: f.Errors}))
	}
	return a.showLearner(w, r, x, u, grantID, reason)
}

func (a *App) showLearner(w http.ResponseWriter, r *http.Request, x actor, u store.User, grantID, reason string) error {
	p, err := a.store.Profile(r.Context(), u.ID)
	if err != nil {
		return err
	}
	es, err := a.store.Enrolments(r.Context(), u.ID)
	if err != nil {
		return err
	}
	if !x.isOperator() {
		// Staff see only the trainings their grant covers.
		_, granted, err := a.store.GrantedLearner(r.Context(), x.staff.MemberID, u.ID)
		if err != nil {
			return err
		}
		keep := map[string]bool{}
		for _, t := range granted {
			keep[t] = true
		}
		var mine []store.Enrolment
		for _, e := range es {
			if keep[e.Training.ID] {
				mine = append(mine, e)
			}
		}
		es = mine
	}
	if err := a.disclose(r, x, store.ViewLearnerRecord, grantID, reason, u.ID); err != nil {
		return err
	}
	vm := views.LearnerRecord{Nav: a.consoleNav(r.Context(), x), User: u, Profile: p, Enrolments: es,
		CanSuspend: mayManageOperators(x) && !u.Role.IsOperator() && u.ID != x.user.ID}
	if vm.CanSuspend {
		if sp, err := a.store.SuspensionOf(r.Context(), u.ID); err == nil {
			vm.Suspension = &sp
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	return a.render(w, r, http.StatusOK, views.ConsoleLearnerRecord(a.page(r, tr(r, "grants.record.title")), vm))
}
