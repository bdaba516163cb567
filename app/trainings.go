package app

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"kelas/i18n"
	"kelas/store"
	"kelas/views"
)

// GET /trainings
func (a *App) handleCatalogue(w http.ResponseWriter, r *http.Request) error {
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
	// Trainings in the reader's language come first, then the others.
	first := i18n.From(r.Context()).Code
	ts, err := a.store.Trainings(r.Context(), store.CatalogueFilter{Country: v.Country, Language: v.Language, Kind: v.Kind, Query: v.Query,
		FirstLanguage: first})
	if err != nil {
		return err
	}
	v.Trainings = ts
	return a.render(w, r, http.StatusOK, views.Catalogue(a.page(r, "Trainings"), v))
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
	id, err := pathID(r, "id")
	if err != nil {
		return store.Training{}, x, err
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
func (a *App) handleTraining(w http.ResponseWriter, r *http.Request) error {
	t, x, err := a.trainingFor(r)
	if err != nil {
		return err
	}
	e, enrolled, err := a.enrolment(r, x, t)
	if err != nil {
		return err
	}
	v := views.TrainingView{Training: t, Enrolled: enrolled, Enrolment: e, LoggedIn: x.user != nil,
		CanEnrol: !enrolled && mayEnrol(x, t), CanStudy: mayStudy(x, t, enrolled), CanManage: mayEditTraining(x, t)}
	v.NeedsVerification = x.user != nil && !x.user.Verified() && !enrolled
	if v.Sessions, err = a.store.TrainingSessions(r.Context(), t.ID); err != nil {
		return err
	}
	if v.CanStudy {
		mats, err := a.store.Materials(r.Context(), t.ID)
		if err != nil {
			return err
		}
		viewed := map[string]bool{}
		if enrolled {
			if viewed, err = a.store.ViewedMaterials(r.Context(), x.user.ID, t.ID); err != nil {
				return err
			}
		}
		for _, m := range mats {
			v.Materials = append(v.Materials, views.MaterialRow{Material: m, Viewed: viewed[m.ID]})
		}
		quiz, err := a.store.Quiz(r.Context(), t.ID)
		if err != nil {
			return err
		}
		v.HasQuiz = len(quiz) > 0
	}
	if enrolled {
		a.logActivity(r, store.ActivityEvent{TrainingID: t.ID, Action: store.ActViewTraining, ObjectType: "training", ObjectID: t.ID})
	}
	return a.render(w, r, http.StatusOK, views.TrainingPage(a.page(r, t.Title), v))
}

// POST /trainings/{id}/enrol
func (a *App) handleEnrol(w http.ResponseWriter, r *http.Request) error {
	u := currentUser(r.Context())
	t, x, err := a.trainingFor(r)
	if err != nil {
		return err
	}
	if !u.Verified() {
		a.redirect(w, r, "/trainings/"+t.ID, "Please confirm your email address before you enrol: use the link we sent you.")
		return nil
	}
	if !mayEnrol(x, t) {
		return errForbidden
	}
	if err := a.store.Enrol(r.Context(), u.ID, t.ID); err != nil {
		return err
	}
	a.logActivity(r, store.ActivityEvent{TrainingID: t.ID, Action: store.ActEnrol, ObjectType: "training", ObjectID: t.ID})
	a.redirect(w, r, "/trainings/"+t.ID, "You are enrolled. Start with the first material below.")
	return nil
}

// studyable loads the training and the material named in the path for
// someone allowed to study it, and whether they are enrolled.
func (a *App) studyable(r *http.Request) (t store.Training, m store.Material, x actor, enrolled bool, err error) {
	t, x, err = a.trainingFor(r)
	if err != nil {
		return t, m, x, false, err
	}
	if _, enrolled, err = a.enrolment(r, x, t); err != nil {
		return t, m, x, false, err
	}
	if !mayStudy(x, t, enrolled) {
		return t, m, x, false, errForbidden
	}
	if r.PathValue("mid") == "" {
		return t, m, x, enrolled, nil
	}
	m, err = load(r, "mid", func(ctx context.Context, mid string) (store.Material, error) { return a.store.Material(ctx, t.ID, mid) })
	return t, m, x, enrolled, err
}

// GET /trainings/{id}/materials/{mid}
func (a *App) handleMaterial(w http.ResponseWriter, r *http.Request) error {
	t, m, x, enrolled, err := a.studyable(r)
	if err != nil {
		return err
	}
	v := views.MaterialView{Training: t, Material: m}
	if m.Kind == store.MaterialPage {
		html, err := a.renderMarkdown(m.BodyMD)
		if err != nil {
			return err
		}
		v.HTML = html
	}
	// Opening a page, video or link counts as viewing it; a file counts when
	// it is downloaded.
	if enrolled && m.Kind != store.MaterialFile {
		if err := a.materialViewed(r, x, t, m); err != nil {
			return err
		}
	}
	return a.render(w, r, http.StatusOK, views.MaterialPage(a.page(r, m.Title), v))
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
func (a *App) handleMaterialFile(w http.ResponseWriter, r *http.Request) error {
	t, m, x, enrolled, err := a.studyable(r)
	if err != nil {
		return err
	}
	if m.Kind != store.MaterialFile {
		return store.ErrNotFound
	}
	f, err := a.openMaterialFile(m)
	if err != nil {
		return err
	}
	defer f.Close()
	if enrolled {
		if err := a.materialViewed(r, x, t, m); err != nil {
			return err
		}
	}
	serveFile(w, r, f, m)
	return nil
}

// GET /trainings/{id}/quiz
func (a *App) handleQuiz(w http.ResponseWriter, r *http.Request) error {
	t, _, _, enrolled, err := a.studyable(r)
	if err != nil {
		return err
	}
	qs, err := a.store.Quiz(r.Context(), t.ID)
	if err != nil {
		return err
	}
	if len(qs) == 0 {
		return store.ErrNotFound
	}
	if enrolled {
		a.logActivity(r, store.ActivityEvent{TrainingID: t.ID, Action: store.ActStartQuiz, ObjectType: "quiz", ObjectID: t.ID})
	}
	return a.render(w, r, http.StatusOK, views.QuizPage(a.page(r, "Quiz: "+t.Title), views.QuizView{Training: t, Questions: qs}))
}

// POST /trainings/{id}/quiz
func (a *App) handleQuizSubmit(w http.ResponseWriter, r *http.Request) error {
	t, _, x, enrolled, err := a.studyable(r)
	if err != nil {
		return err
	}
	if !enrolled {
		return errForbidden
	}
	f, err := parseForm(r)
	if err != nil {
		return err
	}
	qs, err := a.store.Quiz(r.Context(), t.ID)
	if err != nil {
		return err
	}
	if len(qs) == 0 {
		return store.ErrNotFound
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
			return err
		}
	}
	if !f.Valid() {
		return a.render(w, r, http.StatusUnprocessableEntity, views.QuizPage(a.page(r, "Quiz: "+t.Title),
			views.QuizView{Training: t, Questions: qs, Answers: answers, Errors: f.Errors}))
	}
	a.logActivity(r, store.ActivityEvent{TrainingID: t.ID, Action: store.ActSubmitQuiz, ObjectType: "quiz_attempt", ObjectID: attempt.ID})
	flash := "Your grade: " + strconv.Itoa(attempt.Score) + "%. "
	if attempt.Passed {
		flash += "You passed."
		c, err := a.completeIfDone(r, x.user.ID, t)
		if err != nil {
			return err
		}
		if c != nil {
			flash += " The training is complete and your certificate is ready."
		}
	} else {
		flash += "The pass mark is " + strconv.Itoa(t.PassMark) + "%; you can try again."
	}
	a.redirect(w, r, "/trainings/"+t.ID, flash)
	return nil
}

// GET /certificates/{code}
func (a *App) handleCertificate(w http.ResponseWriter, r *http.Request) error {
	code := strings.ToUpper(r.PathValue("code"))
	if !store.ValidCertificateCode(code) {
		return store.ErrNotFound
	}
	c, err := a.store.CertificateByCode(r.Context(), code)
	if err != nil {
		return err
	}
	return a.render(w, r, http.StatusOK, views.CertificatePage(a.page(r, "Certificate "+c.Code), c))
}

// GET /dashboard
func (a *App) handleDashboard(w http.ResponseWriter, r *http.Request) error {
	u := currentUser(r.Context())
	es, err := a.store.Enrolments(r.Context(), u.ID)
	if err != nil {
		return err
	}
	return a.render(w, r, http.StatusOK, views.Dashboard(a.page(r, "My trainings"), views.DashboardView{Enrolments: es}))
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
