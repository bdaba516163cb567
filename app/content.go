package app

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"

	"kelas/store"
	"kelas/views"
)

// Content management of a training's parts: edit, reorder, hide and delete
// materials and quiz questions, edit and delete live sessions, duplicate
// and archive trainings. Each handler loads the training through
// managedTraining (another Member's training is 404 for staff) and the
// part by its id within that training (a part of another training is 404).
// Every change is audited with who made it: learners see it at once.

// managedPart is the training in the path and the id of its part named
// name, for someone who may edit the training.
func (a *App) managedPart(r *http.Request, name string) (store.Training, actor, string, error) {
	t, x, err := a.managedTraining(r)
	if err != nil {
		return t, x, "", err
	}
	id, err := pathID(r, name)
	return t, x, id, err
}

// auditContent records a change to a training's content.
func (a *App) auditContent(r *http.Request, action string, t store.Training, details map[string]any) {
	if details == nil {
		details = map[string]any{}
	}
	details["member"] = t.MemberID
	a.auditReq(r, "training."+action, "training", t.ID, details)
}

// back is the training's staff page, where every content form returns.
func back(t store.Training) string { return "/console/trainings/" + t.ID }

// movePart serves the move up and move down forms of a material or a
// question (part, named by the path value param): the store moves it
// within its training, and a move that changed the order is audited.
func (a *App) movePart(w http.ResponseWriter, r *http.Request, param, part, anchor string,
	move func(ctx context.Context, trainingID, id string, dir int) (bool, error)) error {
	t, _, id, err := a.managedPart(r, param)
	if err != nil {
		return err
	}
	dir, err := direction(r)
	if err != nil {
		return err
	}
	moved, err := move(r.Context(), t.ID, id, dir)
	if err != nil {
		return err
	}
	if moved {
		a.auditContent(r, part+".move", t, map[string]any{part: id, "direction": dir})
	}
	a.redirect(w, r, back(t)+anchor, tr(r, "content.flash.moved"))
	return nil
}

// setPartHidden hides or shows one part of t (a material, question or
// session, was its state until now): the store change and its audit only
// when the state changes, then back to the part's list.
func (a *App) setPartHidden(w http.ResponseWriter, r *http.Request, t store.Training, part, id, anchor string, was, hidden bool,
	set func(ctx context.Context, trainingID, id string, hidden bool) error) error {
	if was != hidden {
		if err := set(r.Context(), t.ID, id, hidden); err != nil {
			return err
		}
		a.auditContent(r, part+".hide", t, map[string]any{part: id, "hidden": boolString(hidden)})
	}
	flash := tr(r, "content.flash.shown")
	if hidden {
		flash = tr(r, "content.flash.hidden")
	}
	a.redirect(w, r, back(t)+anchor, flash)
	return nil
}

// direction reads the move forms' direction: -1 up, 1 down.
func direction(r *http.Request) (int, error) {
	f, err := parseForm(r)
	if err != nil {
		return 0, err
	}
	switch f.raw("direction") {
	case "up":
		return -1, nil
	case "down":
		return 1, nil
	}
	return 0, &Error{Status: http.StatusBadRequest, Key: "error.bad_request"}
}

// materialEditView is the edit page of m with what the form holds.
func (a *App) materialEditView(t store.Training, m store.Material) views.MaterialEditView {
	return views.MaterialEditView{Training: t, Material: m, Form: views.MaterialForm{Kind: m.Kind, Title: m.Title, Body: m.BodyMD, URL: m.URL},
		Errors: views.Errors{}}
}

// GET /console/trainings/{id}/materials/{mid}
func (a *App) handleEditMaterialForm(w http.ResponseWriter, r *http.Request) error {
	t, _, mid, err := a.managedPart(r, "mid")
	if err != nil {
		return err
	}
	m, err := a.store.Material(r.Context(), t.ID, mid)
	if err != nil {
		return err
	}
	return a.render(w, r, http.StatusOK, views.EditMaterial(a.page(r, tr(r, "content.material.edit_title", "title", m.Title)), a.materialEditView(t, m)))
}

// POST /console/trainings/{id}/materials/{mid}
//
// The "preview" button shows the page text rendered, with the form as it
// was typed, and saves nothing.
func (a *App) handleEditMaterial(w http.ResponseWriter, r *http.Request) error {
	t, _, mid, err := a.managedPart(r, "mid")
	if err != nil {
		return err
	}
	m, err := a.store.Material(r.Context(), t.ID, mid)
	if err != nil {
		return err
	}
	f, err := parseForm(r)
	if err != nil {
		return err
	}
	v := a.materialEditView(t, m)
	v.Form.Title = f.text("material_title", "fieldlabel.title", 1, 200)
	in := store.MaterialEdit{Title: v.Form.Title}
	switch m.Kind {
	case store.MaterialPage:
		v.Form.Body = f.multiline("material_body", "fieldlabel.page_text", 100_000)
		if v.Form.Body == "" && f.Errors["material_body"] == "" {
			f.fail("material_body", tr(r, "trainings.manage.body_needed"))
		}
		in.BodyMD = v.Form.Body
	case store.MaterialVideo, store.MaterialLink:
		v.Form.URL = f.link("material_url", "fieldlabel.link", true)
		in.URL = v.Form.URL
	}
	title := a.page(r, tr(r, "content.material.edit_title", "title", m.Title))
	if !f.Valid() {
		v.Errors = f.Errors
		return a.render(w, r, http.StatusUnprocessableEntity, views.EditMaterial(title, v))
	}
	if f.raw("preview") != "" {
		if m.Kind == store.MaterialPage {
			if v.Preview, err = a.renderMarkdown(v.Form.Body); err != nil {
				return err
			}
		}
		v.Previewing = true
		return a.render(w, r, http.StatusOK, views.EditMaterial(title, v))
	}
	if err := a.store.UpdateMaterial(r.Context(), t.ID, m.ID, in); err != nil {
		return err
	}
	a.auditContent(r, "material.update", t, map[string]any{"material": m.ID})
	a.redirect(w, r, back(t), tr(r, "content.flash.material_saved"))
	return nil
}

// POST /console/trainings/{id}/materials/{mid}/move
func (a *App) handleMoveMaterial(w http.ResponseWriter, r *http.Request) error {
	return a.movePart(w, r, "mid", "material", "#materials-title", a.store.MoveMaterial)
}

// setMaterialHidden serves the hide and show forms of a material.
func (a *App) setMaterialHidden(w http.ResponseWriter, r *http.Request, hidden bool) error {
	t, _, mid, err := a.managedPart(r, "mid")
	if err != nil {
		return err
	}
	m, err := a.store.Material(r.Context(), t.ID, mid)
	if err != nil {
		return err
	}
	return a.setPartHidden(w, r, t, "material", m.ID, "#materials-title", m.Hidden, hidden, a.store.SetMaterialHidden)
}

// POST /console/trainings/{id}/materials/{mid}/hide
func (a *App) handleHideMaterial(w http.ResponseWriter, r *http.Request) error {
	return a.setMaterialHidden(w, r, true)
}

// POST /console/trainings/{id}/materials/{mid}/show
func (a *App) handleShowMaterial(w http.ResponseWriter, r *http.Request) error {
	return a.setMaterialHidden(w, r, false)
}

// POST /console/trainings/{id}/materials/{mid}/delete
func (a *App) handleDeleteMaterial(w http.ResponseWriter, r *http.Request) error {
	t, _, mid, err := a.managedPart(r, "mid")
	if err != nil {
		return err
	}
	m, err := a.store.Material(r.Context(), t.ID, mid)
	if err != nil {
		return err
	}
	if err := a.store.DeleteMaterial(r.Context(), t.ID, m.ID); err != nil {
		return err
	}
	if m.Kind == store.MaterialFile {
		// The row is gone, so nothing serves the file any more; a file
		// left behind is logged and harmless.
		if err := os.Remove(a.materialPath(m.ID)); err != nil && !errors.Is(err, os.ErrNotExist) {
			a.log.Error("material file not removed", "material_id", m.ID, "err", err)
		}
	}
	a.auditContent(r, "material.delete", t, map[string]any{"material": m.ID})
	a.redirect(w, r, back(t)+"#materials-title", tr(r, "content.flash.deleted"))
	return nil
}

// questionEditView is the edit page of q.
func questionEditView(t store.Training, q store.Question) views.QuestionEditView {
	v := views.QuestionEditView{Training: t, Question: q, Prompt: q.Prompt, Explanation: q.Explanation, CorrectSet: map[string]bool{}, Errors: views.Errors{}}
	for _, c := range q.Choices {
		v.Labels = append(v.Labels, c.Label)
		if c.Correct {
			v.Correct = c.ID
			v.CorrectSet[c.ID] = true
		}
	}
	return v
}

// GET /console/trainings/{id}/questions/{qid}
func (a *App) handleEditQuestionForm(w http.ResponseWriter, r *http.Request) error {
	t, _, qid, err := a.managedPart(r, "qid")
	if err != nil {
		return err
	}
	q, err := a.store.ManagedQuestion(r.Context(), t.ID, qid)
	if err != nil {
		return err
	}
	return a.render(w, r, http.StatusOK, views.EditQuestion(a.page(r, tr(r, "content.question.edit_title")), questionEditView(t, q)))
}

// POST /console/trainings/{id}/questions/{qid}
func (a *App) handleEditQuestion(w http.ResponseWriter, r *http.Request) error {
	t, _, qid, err := a.managedPart(r, "qid")
	if err != nil {
		return err
	}
	q, err := a.store.ManagedQuestion(r.Context(), t.ID, qid)
	if err != nil {
		return err
	}
	f, err := parseForm(r)
	if err != nil {
		return err
	}
	v := questionEditView(t, q)
	v.Prompt = f.text("question_prompt", "fieldlabel.question", 3, 500)
	v.Explanation = f.multiline("question_explanation", "quiz.form.explanation", 2000)
	labels := map[string]string{}
	for i, c := range q.Choices {
		if q.Kind == store.QuestionTrueFalse {
			break // the two labels are fixed
		}
		n := strconv.Itoa(i + 1)
		label := "fieldlabel.choice_" + n
		if i >= 4 {
			label = "fieldlabel.choice_4"
		}
		v.Labels[i] = f.text("question_choice_"+n, label, 1, 300)
		labels[c.ID] = v.Labels[i]
	}
	correct := map[string]bool{}
	isChoice := func(id string) bool {
		return slices.ContainsFunc(q.Choices, func(c store.Choice) bool { return c.ID == id })
	}
	switch q.Kind {
	case store.QuestionMultiple:
		v.CorrectSet = map[string]bool{}
		for _, id := range r.PostForm["question_correct"] {
			if !isChoice(id) {
				f.fail("question_correct", tr(r, "form.error.choose_listed", "field", f.inline("fieldlabel.correct_choice")))
				continue
			}
			correct[id], v.CorrectSet[id] = true, true
		}
		if len(correct) == 0 {
			f.fail("question_correct", tr(r, "form.error.choose", "field", f.inline("fieldlabel.correct_choice")))
		}
	case store.QuestionShort:
		// every accepted answer is correct
	default:
		v.Correct = f.choice("question_correct", "fieldlabel.correct_choice", isChoice, true)
		correct[v.Correct] = true
	}
	if !f.Valid() {
		v.Errors = f.Errors
		return a.render(w, r, http.StatusUnprocessableEntity, views.EditQuestion(a.page(r, tr(r, "content.question.edit_title")), v))
	}
	if err := a.store.EditQuestion(r.Context(), t.ID, q.ID, store.QuestionEdit{Prompt: v.Prompt, Explanation: v.Explanation,
		Labels: labels, Correct: correct}); err != nil {
		return err
	}
	a.auditContent(r, "question.update", t, map[string]any{"question": q.ID})
	a.redirect(w, r, back(t)+"#quiz-title", tr(r, "content.flash.question_saved"))
	return nil
}

// POST /console/trainings/{id}/questions/{qid}/move
func (a *App) handleMoveQuestion(w http.ResponseWriter, r *http.Request) error {
	return a.movePart(w, r, "qid", "question", "#quiz-title", a.store.MoveQuestion)
}

// setQuestionHidden serves the hide and show forms of a question.
func (a *App) setQuestionHidden(w http.ResponseWriter, r *http.Request, hidden bool) error {
	t, _, qid, err := a.managedPart(r, "qid")
	if err != nil {
		return err
	}
	q, err := a.store.ManagedQuestion(r.Context(), t.ID, qid)
	if err != nil {
		return err
	}
	return a.setPartHidden(w, r, t, "question", q.ID, "#quiz-title", q.Hidden, hidden, a.store.SetQuestionHidden)
}

// POST /console/trainings/{id}/questions/{qid}/hide
func (a *App) handleHideQuestion(w http.ResponseWriter, r *http.Request) error {
	return a.setQuestionHidden(w, r, true)
}

// POST /console/trainings/{id}/questions/{qid}/show
func (a *App) handleShowQuestion(w http.ResponseWriter, r *http.Request) error {
	return a.setQuestionHidden(w, r, false)
}

// POST /console/trainings/{id}/questions/{qid}/delete
func (a *App) handleDeleteQuestion(w http.ResponseWriter, r *http.Request) error {
	t, _, qid, err := a.managedPart(r, "qid")
	if err != nil {
		return err
	}
	if err := a.store.DeleteQuestion(r.Context(), t.ID, qid); err != nil {
		return err
	}
	a.auditContent(r, "question.delete", t, map[string]any{"question": qid})
	a.redirect(w, r, back(t)+"#quiz-title", tr(r, "content.flash.deleted"))
	return nil
}

// managedSession is the live session in the path of a managed training.
func (a *App) managedSession(r *http.Request) (store.Training, actor, store.Session, error) {
	t, x, sid, err := a.managedPart(r, "sid")
	if err != nil {
		return t, x, store.Session{}, err
	}
	se, err := a.store.TrainingSession(r.Context(), t.ID, sid)
	return t, x, se, err
}

// GET /console/trainings/{id}/sessions/{sid}
func (a *App) handleEditSessionForm(w http.ResponseWriter, r *http.Request) error {
	t, _, se, err := a.managedSession(r)
	if err != nil {
		return err
	}
	loc := store.LoadZone(se.Zone)
	if loc == nil {
		loc = store.LoadZone(store.ZoneUTC)
	}
	v := views.SessionEditView{Training: t, Session: se, Errors: views.Errors{}, Form: views.SessionForm{
		Starts: se.StartsAt.In(loc).Format(datetimeLocal), Ends: se.EndsAt.In(loc).Format(datetimeLocal),
		Zone: se.Zone, Zones: zoneOptions(r, true, "")}}
	return a.render(w, r, http.StatusOK, views.EditSession(a.page(r, tr(r, "content.session.edit_title")), v))
}

// POST /console/trainings/{id}/sessions/{sid}
func (a *App) handleEditSession(w http.ResponseWriter, r *http.Request) error {
	t, x, se, err := a.managedSession(r)
	if err != nil {
		return err
	}
	f, err := parseForm(r)
	if err != nil {
		return err
	}
	sf, start, end := readSessionForm(f, x)
	if !f.Valid() {
		v := views.SessionEditView{Training: t, Session: se, Form: sf, Errors: f.Errors}
		return a.render(w, r, http.StatusUnprocessableEntity, views.EditSession(a.page(r, tr(r, "content.session.edit_title")), v))
	}
	if err := a.store.UpdateSession(r.Context(), t.ID, se.ID, start, end, sf.Zone); err != nil {
		return err
	}
	a.auditContent(r, "session.update", t, map[string]any{"session": se.ID})
	a.redirect(w, r, back(t)+"#sessions-title", tr(r, "content.flash.session_saved"))
	return nil
}

// setSessionHidden serves the hide and show forms of a live session.
// Staff still see a hidden session, and may mark attendance at it.
func (a *App) setSessionHidden(w http.ResponseWriter, r *http.Request, hidden bool) error {
	t, _, se, err := a.managedSession(r)
	if err != nil {
		return err
	}
	return a.setPartHidden(w, r, t, "session", se.ID, "#sessions-title", se.Hidden, hidden, a.store.SetSessionHidden)
}

// POST /console/trainings/{id}/sessions/{sid}/hide
func (a *App) handleHideSession(w http.ResponseWriter, r *http.Request) error {
	return a.setSessionHidden(w, r, true)
}

// POST /console/trainings/{id}/sessions/{sid}/show
func (a *App) handleShowSession(w http.ResponseWriter, r *http.Request) error {
	return a.setSessionHidden(w, r, false)
}

// POST /console/trainings/{id}/sessions/{sid}/delete
//
// A session with attendance recorded stays: deleting it would delete the
// learners' attendance records.
func (a *App) handleDeleteSession(w http.ResponseWriter, r *http.Request) error {
	t, _, se, err := a.managedSession(r)
	if err != nil {
		return err
	}
	err = a.store.DeleteSession(r.Context(), t.ID, se.ID)
	if errors.Is(err, store.ErrAttended) {
		a.redirect(w, r, back(t)+"#sessions-title", tr(r, "content.flash.session_attended"))
		return nil
	}
	if err != nil {
		return err
	}
	a.auditContent(r, "session.delete", t, map[string]any{"session": se.ID})
	a.redirect(w, r, back(t)+"#sessions-title", tr(r, "content.flash.deleted"))
	return nil
}

// POST /console/trainings/{id}/duplicate
func (a *App) handleDuplicateTraining(w http.ResponseWriter, r *http.Request) error {
	t, x, err := a.managedTraining(r)
	if err != nil {
		return err
	}
	if !mayCreateTrainingFor(x, t.MemberID) {
		return errForbidden
	}
	title := []rune(tr(r, "content.duplicate.title", "title", t.Title))
	if len(title) > 200 {
		title = title[:200]
	}
	c, files, err := a.store.DuplicateTraining(r.Context(), t.ID, x.user.ID, string(title))
	if err != nil {
		return err
	}
	for from, to := range files {
		src, err := a.openMaterialFile(store.Material{ID: from})
		if err != nil {
			return err
		}
		data, err := readAllClose(src)
		if err != nil {
			return err
		}
		if _, err := a.saveMaterialFile(to, data); err != nil {
			return err
		}
	}
	a.auditContent(r, "duplicate", c, map[string]any{"from": t.ID})
	a.redirect(w, r, back(c), tr(r, "content.flash.duplicated"))
	return nil
}

// POST /console/trainings/{id}/archive
func (a *App) handleArchiveTraining(w http.ResponseWriter, r *http.Request) error {
	t, _, err := a.managedTraining(r)
	if err != nil {
		return err
	}
	if t.Archived() {
		a.redirect(w, r, back(t), tr(r, "content.flash.archived"))
		return nil
	}
	if err := a.store.ArchiveTraining(r.Context(), t.ID); err != nil {
		return err
	}
	a.auditContent(r, "archive", t, nil)
	a.redirect(w, r, back(t), tr(r, "content.flash.archived"))
	return nil
}

// readAllClose reads a file whole and closes it.
func readAllClose(f *os.File) ([]byte, error) {
	defer f.Close()
	return io.ReadAll(f)
}
