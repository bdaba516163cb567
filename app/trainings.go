package app

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"kelas/store"
	"kelas/views"
)

// GET /trainings
func (a *App) handleCatalogue(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	v := views.CatalogueView{
		Query:     boundedQuery(q.Get("q"), 100),
		Country:   q.Get("country"),
		Language:  q.Get("language"),
		Kind:      q.Get("kind"),
		Countries: a.filterOptions.countries,
		Languages: a.filterOptions.languages,
	}
	// Unknown filter values are ignored rather than refused: a shared link
	// with a stale filter should still show the catalogue.
	if !store.ValidCountry(v.Country) {
		v.Country = ""
	}
	if !store.ValidLanguage(v.Language) {
		v.Language = ""
	}
	if v.Kind != store.KindLive && v.Kind != store.KindSelfStudy {
		v.Kind = ""
	}
	ts, err := a.store.Trainings(r.Context(), store.CatalogueFilter{Country: v.Country, Language: v.Language, Kind: v.Kind, Query: v.Query})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	v.Trainings = ts
	a.render(w, r, http.StatusOK, views.Catalogue(a.page(r, "Trainings"), v))
}

// boundedQuery trims a search string to max runes of printable text.
func boundedQuery(v string, max int) string {
	v = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == 0xFFFD {
			return -1
		}
		return r
	}, strings.ToValidUTF8(v, ""))
	if rs := []rune(strings.TrimSpace(v)); len(rs) > max {
		return string(rs[:max])
	}
	return strings.TrimSpace(v)
}

// trainingFor loads the training named in the path and checks the actor may
// see it. Malformed ids, unknown ids and drafts the actor may not see are
// all 404: nothing tells them apart.
func (a *App) trainingFor(r *http.Request) (store.Training, actor, error) {
	x := actorFrom(r.Context())
	id := r.PathValue("id")
	if !store.ValidID(id) {
		return store.Training{}, x, store.ErrNotFound
	}
	t, err := a.store.Training(r.Context(), id)
	if err != nil {
		return t, x, err
	}
	if !mayViewTraining(x, t) {
		return t, x, store.ErrNotFound
	}
	return t, x, nil
}

// enrolment returns the actor's enrolment, if any.
func (a *App) enrolment(r *http.Request, x actor, t store.Training) (store.Enrolment, bool, error) {
	if x.user == nil {
		return store.Enrolment{}, false, nil
	}
	e, err := a.store.Enrolment(r.Context(), x.user.ID, t.ID)
	if errors.Is(err, store.ErrNotFound) {
		return e, false, nil
	}
	return e, err == nil, err
}

// GET /trainings/{id}
func (a *App) handleTraining(w http.ResponseWriter, r *http.Request) {
	t, x, err := a.trainingFor(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	e, enrolled, err := a.enrolment(r, x, t)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	v := views.TrainingView{Training: t, Enrolled: enrolled, Enrolment: e, LoggedIn: x.user != nil,
		CanEnrol: !enrolled && mayEnrol(x, t), CanStudy: mayStudy(x, t, enrolled), CanManage: mayEditTraining(x, t)}
	v.NeedsVerification = x.user != nil && !x.user.Verified() && !enrolled
	if v.Sessions, err = a.store.TrainingSessions(r.Context(), t.ID); err != nil {
		a.fail(w, r, err)
		return
	}
	if v.CanStudy {
		mats, err := a.store.Materials(r.Context(), t.ID)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		viewed := map[string]bool{}
		if enrolled {
			if viewed, err = a.store.ViewedMaterials(r.Context(), x.user.ID, t.ID); err != nil {
				a.fail(w, r, err)
				return
			}
		}
		for _, m := range mats {
			v.Materials = append(v.Materials, views.MaterialRow{Material: m, Viewed: viewed[m.ID]})
		}
		quiz, err := a.store.Quiz(r.Context(), t.ID)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		v.HasQuiz = len(quiz) > 0
	}
	if enrolled {
		a.logActivity(r, store.ActivityEvent{TrainingID: t.ID, Action: store.ActViewTraining, ObjectType: "training", ObjectID: t.ID})
	}
	a.render(w, r, http.StatusOK, views.TrainingPage(a.page(r, t.Title), v))
}

// POST /trainings/{id}/enrol
func (a *App) handleEnrol(w http.ResponseWriter, r *http.Request) {
	u := a.requireUser(w, r)
	if u == nil {
		return
	}
	t, x, err := a.trainingFor(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if !u.Verified() {
		a.redirect(w, r, "/trainings/"+t.ID, "Please confirm your email address before you enrol: use the link we sent you.")
		return
	}
	if !mayEnrol(x, t) {
		a.fail(w, r, errForbidden)
		return
	}
	if err := a.store.Enrol(r.Context(), u.ID, t.ID); err != nil {
		a.fail(w, r, err)
		return
	}
	a.logActivity(r, store.ActivityEvent{TrainingID: t.ID, Action: store.ActEnrol, ObjectType: "training", ObjectID: t.ID})
	a.redirect(w, r, "/trainings/"+t.ID, "You are enrolled. Start with the first material below.")
}

// studyable loads the training and the material named in the path for
// someone allowed to study it.
func (a *App) studyable(w http.ResponseWriter, r *http.Request) (store.Training, store.Material, actor, bool, bool) {
	if a.requireUser(w, r) == nil {
		return store.Training{}, store.Material{}, actor{}, false, false
	}
	t, x, err := a.trainingFor(r)
	if err != nil {
		a.fail(w, r, err)
		return t, store.Material{}, x, false, false
	}
	_, enrolled, err := a.enrolment(r, x, t)
	if err != nil {
		a.fail(w, r, err)
		return t, store.Material{}, x, false, false
	}
	if !mayStudy(x, t, enrolled) {
		a.fail(w, r, errForbidden)
		return t, store.Material{}, x, false, false
	}
	mid := r.PathValue("mid")
	if mid == "" {
		return t, store.Material{}, x, enrolled, true
	}
	if !store.ValidID(mid) {
		a.fail(w, r, store.ErrNotFound)
		return t, store.Material{}, x, false, false
	}
	m, err := a.store.Material(r.Context(), t.ID, mid)
	if err != nil {
		a.fail(w, r, err)
		return t, m, x, false, false
	}
	return t, m, x, enrolled, true
}

// GET /trainings/{id}/materials/{mid}
func (a *App) handleMaterial(w http.ResponseWriter, r *http.Request) {
	t, m, x, enrolled, ok := a.studyable(w, r)
	if !ok {
		return
	}
	v := views.MaterialView{Training: t, Material: m}
	if m.Kind == store.MaterialPage {
		html, err := a.renderMarkdown(m.BodyMD)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		v.HTML = html
	}
	// Opening a page, video or link counts as viewing it; a file counts when
	// it is downloaded.
	if enrolled && m.Kind != store.MaterialFile {
		if err := a.materialViewed(r, x, t, m); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	a.render(w, r, http.StatusOK, views.MaterialPage(a.page(r, m.Title), v))
}

// materialViewed records progress and the activity, and completes the
// training when this was the last step.
func (a *App) materialViewed(r *http.Request, x actor, t store.Training, m store.Material) error {
	if err := a.store.RecordMaterialView(r.Context(), x.user.ID, m.ID); err != nil {
		return err
	}
	action := store.ActViewMaterial
	if m.Kind == store.MaterialFile {
		action = store.ActDownloadFile
	}
	a.logActivity(r, store.ActivityEvent{TrainingID: t.ID, Action: action, ObjectType: "material", ObjectID: m.ID})
	_, err := a.completeIfDone(r, x.user.ID, t)
	return err
}

// completeIfDone issues the certificate when the last requirement is met.
func (a *App) completeIfDone(r *http.Request, userID string, t store.Training) (*store.Certificate, error) {
	c, err := a.store.CompleteIfDone(r.Context(), userID, t.ID)
	if err != nil || c == nil {
		return c, err
	}
	a.logActivityFor(r, userID, store.ActivityEvent{TrainingID: t.ID, Action: store.ActComplete, ObjectType: "training", ObjectID: t.ID})
	a.logActivityFor(r, userID, store.ActivityEvent{TrainingID: t.ID, Action: store.ActCertificateIssue, ObjectType: "certificate", ObjectID: c.Code})
	return c, nil
}

// GET /trainings/{id}/materials/{mid}/file
func (a *App) handleMaterialFile(w http.ResponseWriter, r *http.Request) {
	t, m, x, enrolled, ok := a.studyable(w, r)
	if !ok {
		return
	}
	if m.Kind != store.MaterialFile {
		a.fail(w, r, store.ErrNotFound)
		return
	}
	f, err := a.openMaterialFile(m)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	defer f.Close()
	if enrolled {
		if err := a.materialViewed(r, x, t, m); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	serveFile(w, r, f, m)
}

// GET /trainings/{id}/quiz
func (a *App) handleQuiz(w http.ResponseWriter, r *http.Request) {
	t, _, _, enrolled, ok := a.studyable(w, r)
	if !ok {
		return
	}
	qs, err := a.store.Quiz(r.Context(), t.ID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if len(qs) == 0 {
		a.fail(w, r, store.ErrNotFound)
		return
	}
	if enrolled {
		a.logActivity(r, store.ActivityEvent{TrainingID: t.ID, Action: store.ActStartQuiz, ObjectType: "quiz", ObjectID: t.ID})
	}
	a.render(w, r, http.StatusOK, views.QuizPage(a.page(r, "Quiz: "+t.Title), views.QuizView{Training: t, Questions: qs}))
}

// POST /trainings/{id}/quiz
func (a *App) handleQuizSubmit(w http.ResponseWriter, r *http.Request) {
	t, _, x, enrolled, ok := a.studyable(w, r)
	if !ok {
		return
	}
	if !enrolled {
		a.fail(w, r, errForbidden) // staff preview the quiz but do not submit it
		return
	}
	f, err := parseForm(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	qs, err := a.store.Quiz(r.Context(), t.ID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if len(qs) == 0 {
		a.fail(w, r, store.ErrNotFound)
		return
	}
	answers := map[string]string{}
	known := map[string]bool{}
	for _, q := range qs {
		known["q_"+q.ID] = true
	}
	for name := range r.PostForm {
		if !known[name] {
			f.fail("_form", "The answers name a question that is not part of this quiz.")
		}
	}
	for _, q := range qs {
		v := f.raw("q_" + q.ID)
		if v == "" {
			f.fail("q_"+q.ID, "Choose an answer to this question.")
			continue
		}
		answers[q.ID] = v
	}
	var attempt store.Attempt
	if f.Valid() {
		attempt, err = a.store.SubmitQuiz(r.Context(), x.user.ID, t, answers)
		if errors.Is(err, store.ErrUnknownAnswer) {
			f.fail("_form", "The answers name a choice that is not part of this quiz.")
		} else if err != nil {
			a.fail(w, r, err)
			return
		}
	}
	if !f.Valid() {
		a.render(w, r, http.StatusUnprocessableEntity, views.QuizPage(a.page(r, "Quiz: "+t.Title),
			views.QuizView{Training: t, Questions: qs, Answers: answers, Errors: f.Errors}))
		return
	}
	a.logActivity(r, store.ActivityEvent{TrainingID: t.ID, Action: store.ActSubmitQuiz, ObjectType: "quiz_attempt", ObjectID: attempt.ID})
	flash := "Your grade: " + strconv.Itoa(attempt.Score) + "%. "
	if attempt.Passed {
		flash += "You passed."
		c, err := a.completeIfDone(r, x.user.ID, t)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		if c != nil {
			flash += " The training is complete and your certificate is ready."
		}
	} else {
		flash += "The pass mark is " + strconv.Itoa(t.PassMark) + "%; you can try again."
	}
	a.redirect(w, r, "/trainings/"+t.ID, flash)
}

// GET /certificates/{code}
func (a *App) handleCertificate(w http.ResponseWriter, r *http.Request) {
	code := strings.ToUpper(r.PathValue("code"))
	if !store.ValidCertificateCode(code) {
		a.fail(w, r, store.ErrNotFound)
		return
	}
	c, err := a.store.CertificateByCode(r.Context(), code)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.render(w, r, http.StatusOK, views.CertificatePage(a.page(r, "Certificate "+c.Code), c))
}

// GET /dashboard
func (a *App) handleDashboard(w http.ResponseWriter, r *http.Request) {
	u := a.requireUser(w, r)
	if u == nil {
		return
	}
	es, err := a.store.Enrolments(r.Context(), u.ID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.render(w, r, http.StatusOK, views.Dashboard(a.page(r, "My trainings"), views.DashboardView{Enrolments: es}))
}

// filterOptions are the catalogue's fixed filter lists, rendered once.
type filterOptions struct{ countries, languages *views.Options }

func newFilterOptions() filterOptions {
	return filterOptions{countries: views.NewOptions(countryOptions()), languages: views.NewOptions(languageOptions())}
}

func languageOptions() []views.OptionGroup {
	var opts []views.Option
	for _, l := range store.Languages() {
		opts = append(opts, views.Option{Value: l.Code, Label: l.Name})
	}
	return []views.OptionGroup{{Options: opts}}
}
