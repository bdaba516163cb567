package app

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"kelas/i18n"
	"kelas/store"
	"kelas/views"
)

// Quizzes: staff add questions of four kinds; a learner starts an attempt
// (its options shuffled and the order kept with it), answers, and reads
// per-question feedback with the staff's explanations. A training may
// limit the attempts.

// maxShortAnswer is the longest short answer, typed or accepted, in runes.
const maxShortAnswer = 300

// quizItems puts qs in the order of layout, each question's choices as
// they were shown; questions gone since are left out. With no layout
// (a preview) the staff order is used.
func quizItems(qs []store.Question, layout []store.LayoutItem) []views.QuizItem {
	if layout == nil {
		out := make([]views.QuizItem, 0, len(qs))
		for _, q := range qs {
			it := views.QuizItem{Question: q}
			if q.Kind != store.QuestionShort {
				it.Choices = q.Choices
			}
			out = append(out, it)
		}
		return out
	}
	byID := map[string]store.Question{}
	for _, q := range qs {
		byID[q.ID] = q
	}
	var out []views.QuizItem
	for _, l := range layout {
		q, ok := byID[l.Question]
		if !ok {
			continue
		}
		it := views.QuizItem{Question: q}
		for _, cid := range l.Choices {
			for _, c := range q.Choices {
				if c.ID == cid {
					it.Choices = append(it.Choices, c)
				}
			}
		}
		out = append(out, it)
	}
	return out
}

// quizView is the quiz page of t for x: an open attempt, or what may be
// started, with the attempts made so far.
func (a *App) quizView(r *http.Request, x actor, t store.Training, enrolled bool) (views.QuizView, error) {
	v := views.QuizView{Training: t, Max: t.MaxAttempts, Errors: views.Errors{}}
	qs, err := a.store.ManagedQuestions(r.Context(), t.ID)
	if err != nil {
		return v, err
	}
	if !enrolled {
		visible, err := a.store.Quiz(r.Context(), t.ID)
		if err != nil {
			return v, err
		}
		if len(visible) == 0 {
			return v, store.ErrNotFound
		}
		v.Preview, v.Items = true, quizItems(visible, nil)
		return v, nil
	}
	st, err := a.store.OpenSitting(r.Context(), x.user.ID, t.ID)
	switch {
	case err == nil:
		v.Attempt, v.Items = st.ID, quizItems(qs, st.Layout)
	case !errors.Is(err, store.ErrNotFound):
		return v, err
	}
	if v.Past, err = a.store.TrainingAttempts(r.Context(), x.user.ID, t.ID); err != nil {
		return v, err
	}
	v.Used = len(v.Past)
	if v.Attempt == "" {
		visible, err := a.store.Quiz(r.Context(), t.ID)
		if err != nil {
			return v, err
		}
		if len(visible) == 0 && len(v.Past) == 0 {
			return v, store.ErrNotFound
		}
		v.CanStart = len(visible) > 0 && (t.MaxAttempts == 0 || v.Used < t.MaxAttempts)
	}
	return v, nil
}

func quizTitle(r *http.Request, t store.Training) string {
	return tr(r, "trainings.quiz.title", "title", t.Title)
}

// GET /trainings/{id}/quiz
func (a *App) handleQuiz(w http.ResponseWriter, r *http.Request) error {
	t, _, x, enrolled, err := a.studyable(r)
	if err != nil {
		return err
	}
	v, err := a.quizView(r, x, t, enrolled)
	if err != nil {
		return err
	}
	return a.render(w, r, http.StatusOK, views.QuizPage(a.page(r, quizTitle(r, t)), v))
}

// POST /trainings/{id}/quiz/start
func (a *App) handleQuizStart(w http.ResponseWriter, r *http.Request) error {
	t, _, x, enrolled, err := a.studyable(r)
	if err != nil {
		return err
	}
	if !enrolled {
		return errForbidden
	}
	if _, err := parseForm(r); err != nil {
		return err
	}
	_, err = a.store.StartSitting(r.Context(), x.user.ID, t)
	if errors.Is(err, store.ErrNoAttemptsLeft) {
		// Refused, saying why: the page shows the attempts used.
		v, err := a.quizView(r, x, t, enrolled)
		if err != nil {
			return err
		}
		v.Refused = true
		return a.render(w, r, http.StatusConflict, views.QuizPage(a.page(r, quizTitle(r, t)), v))
	}
	if err != nil {
		return err
	}
	a.logActivity(r, store.ActivityEvent{TrainingID: t.ID, Action: store.ActStartQuiz, ObjectType: "quiz", ObjectID: t.ID})
	a.redirect(w, r, "/trainings/"+t.ID+"/quiz", "")
	return nil
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
	id := f.raw("attempt")
	if !store.ValidID(id) {
		return store.ErrNotFound
	}
	st, err := a.store.OpenSitting(r.Context(), x.user.ID, t.ID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && st.ID != id) {
		// Sent twice (a second tab): the first one was graded.
		if _, gerr := a.store.GradedAttempt(r.Context(), x.user.ID, t.ID, id); gerr == nil {
			a.redirect(w, r, "/trainings/"+t.ID+"/quiz/attempts/"+id, "")
			return nil
		}
		return store.ErrNotFound
	}
	if err != nil {
		return err
	}
	v, err := a.quizView(r, x, t, enrolled)
	if err != nil {
		return err
	}
	inAttempt := map[string]store.Question{}
	for _, it := range v.Items {
		inAttempt[it.Question.ID] = it.Question
	}
	for name := range r.PostForm {
		qid, isAnswer := strings.CutPrefix(name, "q_")
		if name == "attempt" {
			continue
		}
		if _, ok := inAttempt[qid]; !isAnswer || !ok {
			f.fail("_form", tr(r, "quiz.error.not_in_attempt"))
		}
	}
	answers := map[string]store.Response{}
	for _, it := range v.Items {
		q, name := it.Question, "q_"+it.Question.ID
		var resp store.Response
		switch q.Kind {
		case store.QuestionMultiple:
			resp.Choices = r.PostForm[name]
		case store.QuestionShort:
			resp.Text = strings.TrimSpace(f.raw(name))
			if !utf8.ValidString(resp.Text) || utf8.RuneCountInString(resp.Text) > maxShortAnswer {
				f.fail(name, tr(r, "quiz.error.answer_long", "max", i18n.From(r.Context()).Number(maxShortAnswer)))
			}
		default:
			if c := f.raw(name); c != "" {
				resp.Choices = []string{c}
			}
		}
		if len(resp.Choices) == 0 && resp.Text == "" {
			key := "trainings.quiz.answer_needed"
			if q.Kind == store.QuestionShort {
				key = "quiz.error.type_answer"
			}
			f.fail(name, tr(r, key))
		}
		answers[q.ID] = resp
	}
	var attempt store.Attempt
	if f.Valid() {
		attempt, err = a.store.SubmitAttempt(r.Context(), x.user.ID, t, st.ID, answers)
		if errors.Is(err, store.ErrUnknownAnswer) {
			f.fail("_form", tr(r, "trainings.quiz.unknown_choice"))
		} else if err != nil {
			return err
		}
	}
	if !f.Valid() {
		v.Answers, v.Errors = answers, f.Errors
		return a.render(w, r, http.StatusUnprocessableEntity, views.QuizPage(a.page(r, quizTitle(r, t)), v))
	}
	a.logActivity(r, store.ActivityEvent{TrainingID: t.ID, Action: store.ActSubmitQuiz, ObjectType: "quiz_attempt", ObjectID: attempt.ID})
	p := i18n.From(r.Context())
	grade := p.Number(attempt.Score)
	flash := tr(r, "trainings.flash.failed", "grade", grade, "mark", p.Number(t.PassMark))
	if t.MaxAttempts > 0 && v.Used+1 >= t.MaxAttempts {
		flash = tr(r, "quiz.flash.failed_last", "grade", grade, "mark", p.Number(t.PassMark))
	}
	if attempt.Passed {
		flash = tr(r, "trainings.flash.passed", "grade", grade)
		c, err := a.completeIfDone(r, x.user.ID, t)
		if err != nil {
			return err
		}
		if c != nil {
			flash = tr(r, "trainings.flash.completed", "grade", grade)
		}
	}
	a.redirect(w, r, "/trainings/"+t.ID+"/quiz/attempts/"+attempt.ID, flash)
	return nil
}

// GET /trainings/{id}/quiz/attempts/{aid}
func (a *App) handleQuizResult(w http.ResponseWriter, r *http.Request) error {
	t, _, x, enrolled, err := a.studyable(r)
	if err != nil {
		return err
	}
	aid, err := pathID(r, "aid")
	if err != nil {
		return err
	}
	// Only one's own attempts exist here; staff review grades through a
	// rights request.
	at, err := a.store.GradedAttempt(r.Context(), x.user.ID, t.ID, aid)
	if err != nil {
		return err
	}
	v := views.QuizResultView{Training: t, Attempt: at}
	if enrolled {
		used, err := a.store.AttemptsUsed(r.Context(), x.user.ID, t.ID)
		if err != nil {
			return err
		}
		qs, err := a.store.Quiz(r.Context(), t.ID)
		if err != nil {
			return err
		}
		v.CanRetry = len(qs) > 0 && (t.MaxAttempts == 0 || used < t.MaxAttempts)
	}
	return a.render(w, r, http.StatusOK, views.QuizResultPage(a.page(r, tr(r, "quiz.result.title", "title", t.Title)), v))
}

// POST /console/trainings/{id}/questions
func (a *App) handleAddQuestion(w http.ResponseWriter, r *http.Request) error {
	t, x, err := a.managedTraining(r)
	if err != nil {
		return err
	}
	f, err := parseForm(r)
	if err != nil {
		return err
	}
	qf, in := readQuestionForm(f)
	if !f.Valid() {
		return a.rerenderManage(w, r, x, t, func(v *views.ManageTrainingView) { v.Errors, v.Question = f.Errors, qf })
	}
	if _, err := a.store.AddQuizQuestion(r.Context(), t.ID, in); err != nil {
		return err
	}
	a.redirect(w, r, "/console/trainings/"+t.ID+"#quiz-title", tr(r, "trainings.flash.question_added"))
	return nil
}

// readQuestionForm validates the add-question form: the kind (single
// choice when not given), the prompt, the explanation, and what the kind
// needs: options with the correct ones ticked, whether the statement is
// true, or the accepted answers one per line.
func readQuestionForm(f *form) (views.QuestionForm, store.QuestionInput) {
	r := f.r
	qf := views.QuestionForm{Kind: f.choice("question_kind", "quiz.form.kind", store.ValidQuestionKind, false)}
	if qf.Kind == "" {
		qf.Kind = store.QuestionSingle
	}
	qf.Prompt = f.text("question_prompt", "fieldlabel.question", 3, 500)
	qf.Explanation = f.multiline("question_explanation", "quiz.form.explanation", 2000)
	in := store.QuestionInput{Kind: qf.Kind, Prompt: qf.Prompt, Explanation: qf.Explanation}
	switch qf.Kind {
	case store.QuestionSingle, store.QuestionMultiple:
		for i := range qf.Choices {
			min := 0
			if i < 2 {
				min = 1
			}
			qf.Choices[i] = f.text("question_choice_"+strconv.Itoa(i+1), "fieldlabel.choice_"+strconv.Itoa(i+1), min, 300)
		}
		ticked := 0
		for _, v := range r.PostForm["question_correct"] {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > len(qf.Choices) {
				f.fail("question_correct", tr(r, "form.error.choose_listed", "field", f.inline("fieldlabel.correct_choice")))
				continue
			}
			if qf.Choices[n-1] == "" {
				f.fail("question_correct", tr(r, "trainings.manage.correct_needed"))
			}
			if !qf.Correct[n-1] {
				qf.Correct[n-1] = true
				ticked++
			}
		}
		switch {
		case ticked == 0:
			f.fail("question_correct", tr(r, "form.error.choose", "field", f.inline("fieldlabel.correct_choice")))
		case ticked > 1 && qf.Kind == store.QuestionSingle:
			f.fail("question_correct", tr(r, "quiz.error.one_correct"))
		}
		for i, c := range qf.Choices {
			if c != "" {
				in.Choices = append(in.Choices, store.Choice{Label: c, Correct: qf.Correct[i]})
			}
		}
	case store.QuestionTrueFalse:
		qf.Truth = f.choice("question_truth", "quiz.form.truth", func(v string) bool { return v == store.ChoiceTrue || v == store.ChoiceFalse }, false)
		if qf.Truth == "" && f.Errors["question_truth"] == "" {
			f.fail("question_truth", tr(r, "quiz.error.truth_needed"))
		}
		in.Choices = []store.Choice{{Label: store.ChoiceTrue, Correct: qf.Truth == store.ChoiceTrue}, {Label: store.ChoiceFalse, Correct: qf.Truth == store.ChoiceFalse}}
	case store.QuestionShort:
		qf.Accepted = f.multiline("question_accepted", "quiz.form.accepted", 5000)
		seen := map[string]bool{}
		for _, line := range strings.Split(qf.Accepted, "\n") {
			line = strings.TrimSpace(line)
			if line == "" || seen[store.NormaliseAnswer(line)] {
				continue
			}
			if utf8.RuneCountInString(line) > maxShortAnswer {
				f.fail("question_accepted", tr(r, "quiz.error.accepted_long", "max", i18n.From(r.Context()).Number(maxShortAnswer)))
			}
			seen[store.NormaliseAnswer(line)] = true
			in.Choices = append(in.Choices, store.Choice{Label: line, Correct: true})
		}
		if len(in.Choices) == 0 && f.Errors["question_accepted"] == "" {
			f.fail("question_accepted", tr(r, "quiz.error.accepted_needed"))
		}
	}
	return qf, in
}

// readAttempts validates the training form's attempts limit: empty or 0
// means no limit.
func readAttempts(f *form, vm *views.TrainingForm) int {
	vm.MaxAttempts = strings.TrimSpace(f.raw("max_attempts"))
	if vm.MaxAttempts == "" {
		return 0
	}
	n, err := strconv.Atoi(vm.MaxAttempts)
	if err != nil || n < 0 || n > 99 {
		f.fail("max_attempts", tr(f.r, "quiz.error.max_attempts"))
		return 0
	}
	return n
}
