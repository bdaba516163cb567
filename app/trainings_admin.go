package app

import (
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"kelas/i18n"
	"kelas/store"
	"kelas/views"
)

// GET /console/trainings
func (a *App) handleConsoleTrainings(w http.ResponseWriter, r *http.Request) error {
	x := actorFrom(r.Context())
	var f store.TrainingListFilter
	if !x.isOperator() {
		f.MemberID = x.staff.MemberID
	}
	lp, err := readList(r, trainingListSpec)
	if err != nil {
		return err
	}
	f.Query = lp.Q
	pg, err := fetchPage(&lp, func(q store.ListQuery) (store.Page[store.Training], error) {
		f.ListQuery = q
		return a.store.TrainingList(r.Context(), f)
	})
	if err != nil {
		return err
	}
	return a.render(w, r, http.StatusOK, views.ConsoleTrainings(a.page(r, tr(r, "trainings.console.heading")),
		views.ConsoleTrainingsView{Trainings: pg.Items, Query: lp.Q, List: lp.state(r, nil, pg.Total)}))
}

// trainingListSpec: the trainings newest first.
var trainingListSpec = listSpec{{key: "created", desc: true}, {key: "title"}, {key: "member"}, {key: "kind"}, {key: "status"}}

// trainingFormFor fills the form's choices; operators pick the Member.
func (a *App) trainingFormFor(r *http.Request, x actor, f views.TrainingForm) (views.TrainingForm, error) {
	p := i18n.From(r.Context())
	f.Languages, f.Countries = languageOptions(p), trainingCountryOptions(p)
	if x.canEditContent() {
		ms, err := a.store.Members(r.Context())
		if err != nil {
			return f, err
		}
		var opts []views.Option
		for _, m := range ms {
			opts = append(opts, views.Option{Value: m.ID, Label: m.Name})
		}
		f.Members = []views.OptionGroup{{Options: opts}}
	}
	return f, nil
}

// GET /console/trainings/new
func (a *App) handleNewTraining(w http.ResponseWriter, r *http.Request) error {
	x := actorFrom(r.Context())
	if !x.canEditContent() && x.staff == nil {
		return errForbidden
	}
	f, err := a.trainingFormFor(r, x, views.TrainingForm{Action: "/console/trainings", PassMark: "70", Language: "en", Kind: store.KindSelfStudy})
	if err != nil {
		return err
	}
	return a.render(w, r, http.StatusOK, views.NewTraining(a.page(r, tr(r, "trainings.console.new")), f))
}

// readTrainingForm validates the details form.
func readTrainingForm(f *form, vm *views.TrainingForm) store.TrainingInput {
	vm.Title = f.text("title", "fieldlabel.title", 3, 200)
	vm.Summary = f.multiline("summary", "fieldlabel.summary", 2000)
	if vm.Summary == "" && f.Errors["summary"] == "" {
		f.fail("summary", tr(f.r, "trainings.form.summary_needed"))
	}
	vm.Language = f.choice("language", "fieldlabel.language", store.ValidLanguage, true)
	vm.Country = f.choice("country", "fieldlabel.country_focus", store.ValidCountry, false)
	vm.Kind = f.choice("kind", "fieldlabel.kind", func(v string) bool { return v == store.KindLive || v == store.KindSelfStudy }, true)
	vm.Place = f.text("place", "fieldlabel.place", 0, 200)
	vm.JoinURL = f.link("join_url", "fieldlabel.join_link", false)
	vm.PassMark = f.raw("pass_mark")
	pass, err := strconv.Atoi(strings.TrimSpace(vm.PassMark))
	if err != nil || pass < 0 || pass > 100 {
		f.fail("pass_mark", tr(f.r, "trainings.form.pass_mark_range"))
	}
	max := readAttempts(f, vm)
	vm.Published = f.checkbox("published")
	return store.TrainingInput{Title: vm.Title, Summary: vm.Summary, Language: vm.Language, Country: vm.Country, Kind: vm.Kind,
		Place: vm.Place, JoinURL: vm.JoinURL, PassMark: pass, MaxAttempts: max, Published: vm.Published}
}

// POST /console/trainings
func (a *App) handleCreateTraining(w http.ResponseWriter, r *http.Request) error {
	x := actorFrom(r.Context())
	f, err := parseForm(r)
	if err != nil {
		return err
	}
	vm := views.TrainingForm{Action: "/console/trainings"}
	in := readTrainingForm(f, &vm)
	memberID := ""
	if x.canEditContent() {
		vm.MemberID = f.raw("member_id")
		if !store.ValidID(vm.MemberID) {
			f.fail("member_id", tr(r, "trainings.form.member_needed"))
		} else if _, err := a.store.Member(r.Context(), vm.MemberID); err != nil {
			f.fail("member_id", tr(r, "trainings.form.member_needed"))
		}
		memberID = vm.MemberID
	} else if x.staff != nil {
		memberID = x.staff.MemberID
	}
	if !mayCreateTrainingFor(x, memberID) {
		return errForbidden
	}
	if !f.Valid() {
		vm.Errors = f.Errors
		if vm, err = a.trainingFormFor(r, x, vm); err != nil {
			return err
		}
		return a.render(w, r, http.StatusUnprocessableEntity, views.NewTraining(a.page(r, tr(r, "trainings.console.new")), vm))
	}
	t, err := a.store.CreateTraining(r.Context(), memberID, x.user.ID, in)
	if err != nil {
		return err
	}
	a.log.Info("training created", "training_id", t.ID, "member_id", memberID, "user_id", x.user.ID)
	a.redirect(w, r, "/console/trainings/"+t.ID, tr(r, "trainings.flash.created"))
	return nil
}

// managedTraining loads the training in the path for someone who may edit
// it. Trainings of other Members are 404 for staff: they learn nothing
// about them; a consultant sees all trainings but edits none (403).
func (a *App) managedTraining(r *http.Request) (store.Training, actor, error) {
	x := actorFrom(r.Context())
	t, err := load(r, "id", a.store.Training)
	if err == nil && !mayEditTraining(x, t) {
		err = errNotFound
		if x.isOperator() {
			err = errForbidden
		}
	}
	return t, x, err
}

// manageView assembles the staff page of a training.
func (a *App) manageView(r *http.Request, x actor, t store.Training) (views.ManageTrainingView, error) {
	v := views.ManageTrainingView{Training: t, Errors: views.Errors{}}
	var err error
	v.Form, err = a.trainingFormFor(r, x, views.TrainingForm{Action: "/console/trainings/" + t.ID, Title: t.Title, Summary: t.Summary,
		Language: t.Language, Country: t.Country, Kind: t.Kind, Place: t.Place, JoinURL: t.JoinURL,
		PassMark: strconv.Itoa(t.PassMark), MaxAttempts: strconv.Itoa(t.MaxAttempts), Published: t.Published, MemberID: t.MemberID})
	if err != nil {
		return v, err
	}
	v.Form.Members = nil // the owning Member does not change here
	if err := a.coverForm(r, t, &v.Form); err != nil {
		return v, err
	}
	if v.Materials, err = a.store.Materials(r.Context(), t.ID); err != nil {
		return v, err
	}
	if v.Questions, err = a.store.ManagedQuestions(r.Context(), t.ID); err != nil {
		return v, err
	}
	if v.Sessions, err = a.store.TrainingSessions(r.Context(), t.ID); err != nil {
		return v, err
	}
	v.Session = views.SessionForm{Zone: personZone(x.user), Zones: zoneOptions(r, true, "")}
	if v.Enrolled, err = a.store.EnrolmentCount(r.Context(), t.ID); err != nil {
		return v, err
	}
	grantID, err := a.grantFor(r, x, t)
	if err != nil {
		return v, err
	}
	v.ExactCount = learnerAccessTo(x, t, grantID != "") >= accessGrant
	if t.Live() && mayMarkAttendance(x, t, grantID != "") {
		ls, err := a.store.TrainingLearners(r.Context(), t.ID)
		if err != nil {
			return v, err
		}
		var ids []string
		for _, l := range ls {
			v.Learners = append(v.Learners, views.Learner{ID: l.UserID, Name: l.Name, Attended: l.Attended})
			ids = append(ids, l.UserID)
		}
		if err := a.disclose(r, x, store.ViewAttendanceList, grantID, "", ids...); err != nil {
			return v, err
		}
	}
	return v, nil
}

// GET /console/trainings/{id}
func (a *App) handleManageTraining(w http.ResponseWriter, r *http.Request) error {
	t, x, err := a.managedTraining(r)
	if err != nil {
		return err
	}
	v, err := a.manageView(r, x, t)
	if err != nil {
		return err
	}
	return a.render(w, r, http.StatusOK, views.ManageTraining(a.page(r, tr(r, "trainings.manage.title", "title", t.Title)), v))
}

// rerenderManage shows the staff page again with a sub-form's errors.
func (a *App) rerenderManage(w http.ResponseWriter, r *http.Request, x actor, t store.Training, edit func(*views.ManageTrainingView)) error {
	v, err := a.manageView(r, x, t)
	if err != nil {
		return err
	}
	edit(&v)
	return a.render(w, r, http.StatusUnprocessableEntity, views.ManageTraining(a.page(r, tr(r, "trainings.manage.title", "title", t.Title)), v))
}

// POST /console/trainings/{id}
func (a *App) handleUpdateTraining(w http.ResponseWriter, r *http.Request) error {
	t, x, err := a.managedTraining(r)
	if err != nil {
		return err
	}
	f, err := parseMultipart(r, trainingBodyBytes)
	if err != nil {
		return err
	}
	vm := views.TrainingForm{Action: "/console/trainings/" + t.ID}
	in := readTrainingForm(f, &vm)
	cover, coverType := a.readCover(f)
	vm.RemoveCover = f.checkbox("remove_cover")
	if !f.Valid() {
		return a.rerenderManage(w, r, x, t, func(v *views.ManageTrainingView) {
			vm.Languages, vm.Countries, vm.Errors = v.Form.Languages, v.Form.Countries, f.Errors
			vm.CoverField, vm.CoverURL = v.Form.CoverField, v.Form.CoverURL
			v.Form = vm
		})
	}
	if err := a.store.UpdateTraining(r.Context(), t.ID, in); err != nil {
		return err
	}
	if err := a.saveCover(r, t, cover, coverType, vm.RemoveCover); err != nil {
		return err
	}
	// Learners see the change at once; the audit log says who made it.
	a.auditContent(r, "update", t, map[string]any{"published": boolString(in.Published)})
	a.redirect(w, r, "/console/trainings/"+t.ID, tr(r, "trainings.flash.saved"))
	return nil
}

// POST /console/trainings/{id}/materials
func (a *App) handleAddMaterial(w http.ResponseWriter, r *http.Request) error {
	t, x, err := a.managedTraining(r)
	if err != nil {
		return err
	}
	f, err := parseMultipart(r, maxMaterialFileBytes+(256<<10))
	if err != nil {
		return err
	}
	mf := views.MaterialForm{
		Kind:  f.choice("material_kind", "fieldlabel.kind_of_material", func(v string) bool { return allowedMaterialKinds[v] }, true),
		Title: f.text("material_title", "fieldlabel.title", 1, 200),
		Body:  f.multiline("material_body", "fieldlabel.page_text", 100_000),
	}
	in := store.MaterialInput{Kind: mf.Kind, Title: mf.Title, Required: true}
	id := store.NewID()
	var data []byte
	switch mf.Kind {
	case store.MaterialPage:
		if mf.Body == "" && f.Errors["material_body"] == "" {
			f.fail("material_body", tr(r, "trainings.manage.body_needed"))
		}
		in.BodyMD = mf.Body
	case store.MaterialVideo, store.MaterialLink:
		mf.URL = f.link("material_url", "fieldlabel.link", true)
		in.URL = mf.URL
	case store.MaterialFile:
		d, ok := f.file("material_file", maxMaterialFileBytes)
		switch {
		case f.fileTooLarge:
			f.fail("material_file", tr(r, "trainings.manage.file_too_large"))
		case !ok && f.Errors["material_file"] == "":
			f.fail("material_file", tr(r, "trainings.manage.file_needed"))
		case ok:
			name, serveType, err := checkUpload(sentFileName(f.r.MultipartForm.File["material_file"][0]), d)
			if err != nil {
				f.fail("material_file", messageOf(r, err))
			}
			in.FileName, in.FileType, in.FileSize, data = name, serveType, int64(len(d)), d
		}
	}
	if !f.Valid() {
		return a.rerenderManage(w, r, x, t, func(v *views.ManageTrainingView) { v.Errors, v.Material = f.Errors, mf })
	}
	if f.raw("preview") != "" {
		// The page text rendered as learners will see it; nothing is
		// saved (a file is sent again with the form).
		if mf.Kind == store.MaterialPage {
			if mf.Preview, err = a.renderMarkdown(mf.Body); err != nil {
				return err
			}
		}
		mf.Previewing = true
		v, err := a.manageView(r, x, t)
		if err != nil {
			return err
		}
		v.Material = mf
		return a.render(w, r, http.StatusOK, views.ManageTraining(a.page(r, tr(r, "trainings.manage.title", "title", t.Title)), v))
	}
	if data != nil {
		if in.FileHash, err = a.saveMaterialFile(id, data); err != nil {
			return err
		}
	}
	if _, err := a.store.AddMaterial(r.Context(), t.ID, id, in); err != nil {
		return err
	}
	a.redirect(w, r, "/console/trainings/"+t.ID, tr(r, "trainings.flash.material_added"))
	return nil
}

var allowedMaterialKinds = map[string]bool{store.MaterialPage: true, store.MaterialFile: true, store.MaterialVideo: true, store.MaterialLink: true}

// datetimeLocal is the format of <input type="datetime-local">.
const datetimeLocal = "2006-01-02T15:04"

// POST /console/trainings/{id}/sessions
func (a *App) handleAddSession(w http.ResponseWriter, r *http.Request) error {
	t, x, err := a.managedTraining(r)
	if err != nil {
		return err
	}
	if !t.Live() {
		return store.ErrNotFound
	}
	f, err := parseForm(r)
	if err != nil {
		return err
	}
	sf, start, end := readSessionForm(f, x)
	if !f.Valid() {
		return a.rerenderManage(w, r, x, t, func(v *views.ManageTrainingView) { v.Errors, v.Session = f.Errors, sf })
	}
	if _, err := a.store.AddSessionIn(r.Context(), t.ID, start, end, sf.Zone); err != nil {
		return err
	}
	a.redirect(w, r, "/console/trainings/"+t.ID, tr(r, "trainings.flash.session_added"))
	return nil
}

// readSessionForm validates a session's dates: wall-clock times in the
// organiser's zone, the staff member's own unless the form names another.
func readSessionForm(f *form, x actor) (sf views.SessionForm, start, end time.Time) {
	r := f.r
	sf = views.SessionForm{Starts: f.text("session_starts", "fieldlabel.start", 1, 20), Ends: f.text("session_ends", "fieldlabel.end", 1, 20)}
	sf.Zone, sf.Zones = f.raw("session_zone"), zoneOptions(r, true, "")
	if sf.Zone == "" {
		sf.Zone = personZone(x.user)
	}
	loc := store.LoadZone(sf.Zone)
	if loc == nil {
		f.fail("session_zone", tr(r, "zones.session_form.zone_error"))
		loc = time.UTC
	}
	start, err1 := time.ParseInLocation(datetimeLocal, sf.Starts, loc)
	end, err2 := time.ParseInLocation(datetimeLocal, sf.Ends, loc)
	if err1 != nil && f.Errors["session_starts"] == "" {
		f.fail("session_starts", tr(r, "trainings.manage.starts_needed"))
	}
	if err2 != nil && f.Errors["session_ends"] == "" {
		f.fail("session_ends", tr(r, "trainings.manage.ends_needed"))
	}
	if err1 == nil && err2 == nil && !end.After(start) {
		f.fail("session_ends", tr(r, "trainings.manage.ends_order"))
	}
	return sf, start, end
}

// POST /console/trainings/{id}/sessions/{sid}/attendance
func (a *App) handleMarkAttendance(w http.ResponseWriter, r *http.Request) error {
	t, x, err := a.managedTraining(r)
	if err != nil {
		return err
	}
	grantID, err := a.grantFor(r, x, t)
	if err != nil {
		return err
	}
	if !mayMarkAttendance(x, t, grantID != "") {
		return errForbidden
	}
	f, err := parseForm(r)
	if err != nil {
		return err
	}
	sid, uid := r.PathValue("sid"), f.raw("user_id")
	if !store.ValidID(sid) || !store.ValidID(uid) {
		return store.ErrNotFound
	}
	sessions, err := a.store.TrainingSessions(r.Context(), t.ID)
	if err != nil {
		return err
	}
	found := false
	for _, s := range sessions {
		found = found || s.ID == sid
	}
	if !found {
		return store.ErrNotFound
	}
	// A restricted learner is left out of the attendance list: their
	// processing is frozen, so an id posted by hand is refused the same
	// way as one not enrolled.
	restricted, err := a.store.Restricted(r.Context(), uid)
	if err != nil {
		return err
	}
	if restricted {
		return store.ErrNotFound
	}
	if err := a.store.MarkAttendance(r.Context(), sid, uid, x.user.ID); err != nil {
		return err
	}
	a.logActivityFor(r, uid, store.ActivityEvent{TrainingID: t.ID, Action: store.ActAttendance, ObjectType: "session", ObjectID: sid})
	if _, err := a.completeIfDone(r, uid, t); err != nil {
		return err
	}
	a.redirect(w, r, "/console/trainings/"+t.ID, tr(r, "trainings.flash.attended"))
	return nil
}

// sentFileName is the file name exactly as the browser sent it. The
// multipart reader strips any directory part, which would hide an attempt
// to write outside the upload folder; kelas refuses such names instead.
func sentFileName(fh *multipart.FileHeader) string {
	_, params, err := mime.ParseMediaType(fh.Header.Get("Content-Disposition"))
	if err != nil || params["filename"] == "" {
		return fh.Filename
	}
	return params["filename"]
}

// link reads an optional or required https (or http) URL.
func (f *form) link(name, label string, required bool) string {
	min := 0
	if required {
		min = 1
	}
	v := f.text(name, label, min, 2000)
	if v == "" || f.Errors[name] != "" {
		return v
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		f.fail(name, tr(f.r, "form.error.link", "field", f.label(label)))
	}
	return v
}
