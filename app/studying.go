package app

import (
	"errors"
	"net/http"
	"strings"

	"kelas/store"
	"kelas/views"
)

// Studying: where a learner lands after logging in, moving through a
// training's materials, marking them done, and leaving a training.

// landing is where u goes after logging in: the page they asked for, or
// else a learner's own dashboard (where they continue their trainings);
// operators go home as before.
func landing(u store.User, next string) string {
	if strings.TrimSpace(next) == "" && !u.Role.IsOperator() {
		return "/dashboard"
	}
	return safeNext(next)
}

// GET /dashboard
func (a *App) handleDashboard(w http.ResponseWriter, r *http.Request) error {
	u := currentUser(r.Context())
	es, err := a.store.Enrolments(r.Context(), u.ID)
	if err != nil {
		return err
	}
	next, err := a.store.NextMaterials(r.Context(), u.ID)
	if err != nil {
		return err
	}
	return a.render(w, r, http.StatusOK, views.Dashboard(a.page(r, tr(r, "trainings.dashboard.heading")), views.DashboardView{Enrolments: es, Next: next}))
}

// neighbours are the materials before and after m among those learners
// see, in order.
func neighbours(mats []store.Material, m store.Material) (prev, next *store.Material) {
	for i := range mats {
		if mats[i].ID != m.ID {
			continue
		}
		if i > 0 {
			prev = &mats[i-1]
		}
		if i+1 < len(mats) {
			next = &mats[i+1]
		}
	}
	return prev, next
}

// studyPlace fills in where m stands in the training: the materials
// before and after it, and whether the learner has done it.
func (a *App) studyPlace(r *http.Request, x actor, t store.Training, m store.Material, enrolled bool, v *views.MaterialView) error {
	mats, err := a.store.StudyMaterials(r.Context(), t.ID)
	if err != nil {
		return err
	}
	v.Prev, v.Next = neighbours(mats, m)
	v.Enrolled = enrolled
	if enrolled {
		viewed, err := a.store.ViewedMaterials(r.Context(), x.user.ID, t.ID)
		if err != nil {
			return err
		}
		v.Done = viewed[m.ID]
	}
	return nil
}

// POST /trainings/{id}/materials/{mid}/done
//
// Marking a material done records it as viewed (a file counts without
// being downloaded) and goes on to the next material, or back to the
// training after the last.
func (a *App) handleMaterialDone(w http.ResponseWriter, r *http.Request) error {
	t, m, x, enrolled, err := a.studyable(r)
	if err != nil {
		return err
	}
	if !enrolled {
		return errForbidden // only enrolled learners have progress
	}
	if err := a.materialViewed(r, x, t, m); err != nil {
		return err
	}
	mats, err := a.store.StudyMaterials(r.Context(), t.ID)
	if err != nil {
		return err
	}
	to := "/trainings/" + t.ID
	if _, next := neighbours(mats, m); next != nil {
		to += "/materials/" + next.ID
	}
	a.redirect(w, r, to, tr(r, "studying.flash.done", "title", m.Title))
	return nil
}

// leaveView is the confirmation page of leaving t: what goes now, and what
// is kept and for how long, from the data map and the retention rules.
func (a *App) leaveView(r *http.Request, t store.Training, e store.Enrolment) (views.LeaveView, error) {
	v := views.LeaveView{Training: t, Enrolment: e,
		Kept: []views.KeptRecord{
			{What: "studying.leave.kept.grades", Retention: store.RetentionOf("quiz_attempts", "score")},
			{What: "studying.leave.kept.certificate", Retention: store.RetentionOf("certificates", "code")},
		}}
	if t.Live() {
		v.Kept = append(v.Kept, views.KeptRecord{What: "studying.leave.kept.attendance", Retention: store.RetentionOf("attendance", "marked_at")})
	}
	rules, err := a.store.RetentionRules(r.Context())
	if err != nil {
		return v, err
	}
	for _, rule := range rules {
		switch rule.Category {
		case store.RetActivity, store.RetActivityIP, store.RetActivityPrefix:
			v.Rules = append(v.Rules, rule)
		}
	}
	return v, nil
}

// enrolledIn loads the training in the path and the actor's enrolment in
// it; someone not enrolled has nothing to leave (404).
func (a *App) enrolledIn(r *http.Request) (store.Training, actor, store.Enrolment, error) {
	t, x, err := a.trainingFor(r)
	if err != nil {
		return t, x, store.Enrolment{}, err
	}
	e, enrolled, err := a.enrolment(r, x, t)
	if err == nil && !enrolled {
		err = store.ErrNotFound
	}
	return t, x, e, err
}

// GET /trainings/{id}/leave
func (a *App) handleLeaveForm(w http.ResponseWriter, r *http.Request) error {
	t, _, e, err := a.enrolledIn(r)
	if err != nil {
		return err
	}
	v, err := a.leaveView(r, t, e)
	if err != nil {
		return err
	}
	return a.render(w, r, http.StatusOK, views.LeaveTraining(a.page(r, tr(r, "studying.leave.title", "title", t.Title)), v))
}

// POST /trainings/{id}/leave
func (a *App) handleLeave(w http.ResponseWriter, r *http.Request) error {
	t, x, _, err := a.enrolledIn(r)
	if err != nil {
		return err
	}
	if err := a.store.LeaveTraining(r.Context(), x.user.ID, t.ID); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return store.ErrNotFound
		}
		return err
	}
	a.logActivity(r, store.ActivityEvent{TrainingID: t.ID, Action: store.ActLeave, ObjectType: "training", ObjectID: t.ID})
	a.redirect(w, r, "/dashboard", tr(r, "studying.flash.left", "title", t.Title))
	return nil
}
