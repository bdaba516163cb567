package app

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"kelas/i18n"
	"kelas/store"
	"kelas/views"
)

// GET /trainings
func (a *App) handleCatalogue(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	v := views.CatalogueView{
		Query:    boundedQuery(q.Get("q"), 100),
		Country:  q.Get("country"),
		Language: q.Get("language"),
		Kind:     q.Get("kind"),
	}
	opts := a.filterOptions.in(i18n.From(r.Context()))
	v.Countries, v.Languages = opts.countries, opts.languages
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
	ts, err := a.store.Cards(r.Context(), store.CatalogueFilter{Country: v.Country, Language: v.Language, Kind: v.Kind, Query: v.Query,
		FirstLanguage: first})
	if err != nil {
		return err
	}
	v.Trainings = ts
	return a.render(w, r, http.StatusOK, views.Catalogue(a.page(r, tr(r, "trainings.catalogue.title")), v))
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
	if v.Sessions, err = a.store.VisibleSessions(r.Context(), t.ID); err != nil {
		return err
	}
	if v.CanStudy {
		mats, err := a.store.StudyMaterials(r.Context(), t.ID)
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
	} else if err := a.outline(r, t, &v); err != nil {
		return err
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
		a.redirect(w, r, "/trainings/"+t.ID, tr(r, "trainings.flash.verify_first"))
		return nil
	}
	if !mayEnrol(x, t) {
		return errForbidden
	}
	if err := a.store.Enrol(r.Context(), u.ID, t.ID); err != nil {
		return err
	}
	a.logActivity(r, store.ActivityEvent{TrainingID: t.ID, Action: store.ActEnrol, ObjectType: "training", ObjectID: t.ID})
	// Point at what the page shows next: the first material, else the
	// sessions (a live training may have no materials at all).
	next := "trainings.flash.enrolled_plain"
	mats, err := a.store.Materials(r.Context(), t.ID)
	if err != nil {
		return err
	}
	if len(mats) > 0 {
		next = "trainings.flash.enrolled"
	} else if t.Live() {
		sessions, err := a.store.VisibleSessions(r.Context(), t.ID)
		if err != nil {
			return err
		}
		if len(sessions) > 0 {
			next = "trainings.flash.enrolled_sessions"
		}
	}
	a.redirect(w, r, "/trainings/"+t.ID, tr(r, next))
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
	if err == nil && m.Hidden && !mayEditTraining(x, t) {
		err = store.ErrNotFound // hidden from learners
	}
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
	if err := a.studyPlace(r, x, t, m, enrolled, &v); err != nil {
		return err
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
	qr, err := a.certificateQR(c.Code)
	if err != nil {
		return err
	}
	return a.render(w, r, http.StatusOK, views.CertificatePage(a.page(r, tr(r, "trainings.certificate.code", "code", c.Code)), c,
		certificateIssuer(a.siteSettings(r.Context())), qr))
}

// certificateIssuer is the operator as a certificate names them beside the
// Member: the controller, or the site until the controller is entered,
// with the logo when one is set (its address changes with each save, so a
// new logo is not hidden by caches).
func certificateIssuer(st store.Settings) views.CertificateIssuer {
	is := views.CertificateIssuer{Operator: st.Get(store.SettingControllerName)}
	if is.Operator == "" {
		is.Operator = st.Get(store.SettingSiteName)
	}
	if len(st.Logo) > 0 {
		is.LogoURL = "/logo?v=" + strconv.FormatInt(st.Revision, 10)
	}
	return is
}

// filterOptions are the catalogue's fixed filter lists, rendered once per
// language.
type filterOptions struct{ byLang *sync.Map } // language code → localOptions

// localOptions are the filter lists in one language.
type localOptions struct{ countries, languages *views.Options }

func newFilterOptions() filterOptions { return filterOptions{byLang: &sync.Map{}} }

// in is the filter lists in p's language.
func (f filterOptions) in(p *i18n.Printer) localOptions {
	if o, ok := f.byLang.Load(p.Code); ok {
		return o.(localOptions)
	}
	o := localOptions{countries: views.NewOptions(trainingCountryOptions(p)), languages: views.NewOptions(languageOptions(p))}
	f.byLang.Store(p.Code, o)
	return o
}

// languageOptions lists the training languages, named in p's language.
func languageOptions(p *i18n.Printer) []views.OptionGroup {
	var opts []views.Option
	for _, l := range store.Languages() {
		opts = append(opts, views.Option{Value: l.Code, Label: p.LanguageName(l.Code, l.Name)})
	}
	return []views.OptionGroup{{Options: opts}}
}

// trainingCountryOptions lists the ASEAN countries first, then all
// others, named in p's language.
func trainingCountryOptions(p *i18n.Printer) []views.OptionGroup {
	asean := map[string]bool{}
	for _, c := range store.ASEANCountries() {
		asean[c] = true
	}
	var first, rest []views.Option
	for _, c := range store.Countries() {
		o := views.Option{Value: c.Code, Label: p.Country(c.Code, c.Name)}
		if asean[c.Code] {
			first = append(first, o)
		} else {
			rest = append(rest, o)
		}
	}
	return []views.OptionGroup{{Label: p.T("trainings.countries.asean"), Options: first}, {Label: p.T("trainings.countries.others"), Options: rest}}
}

// trainingIndustryOptions lists the industries, named in p's language.
func trainingIndustryOptions(p *i18n.Printer) []views.OptionGroup {
	var opts []views.Option
	for _, in := range store.Industries() {
		opts = append(opts, views.Option{Value: in.Code, Label: views.IndustryName(p, in.Code)})
	}
	return []views.OptionGroup{{Options: opts}}
}
