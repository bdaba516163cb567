package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"golang.org/x/text/unicode/norm"
)

// Question kinds.
const (
	QuestionSingle    = "single"     // pick the one correct option
	QuestionMultiple  = "multiple"   // pick every correct option, and only those
	QuestionTrueFalse = "true_false" // a statement that is true or false
	QuestionShort     = "short"      // type a short answer, compared to the accepted ones
)

// QuestionKinds lists the kinds in the order staff choose from.
var QuestionKinds = []string{QuestionSingle, QuestionMultiple, QuestionTrueFalse, QuestionShort}

// ValidQuestionKind reports whether k is a question kind.
func ValidQuestionKind(k string) bool { return slices.Contains(QuestionKinds, k) }

// The two choices of a true/false question are stored under these labels;
// pages show them in the reader's language.
const (
	ChoiceTrue  = "true"
	ChoiceFalse = "false"
)

// Question is a quiz question with its choices. For a short-answer question
// the choices are the answers staff accept (all correct), never shown to
// learners.
type Question struct {
	ID, TrainingID, Prompt string
	Kind                   string
	// Explanation is what staff wrote about the question; learners read it
	// with their results.
	Explanation string
	Position    int
	Choices     []Choice
	// Hidden questions are kept for staff but left out of the quiz.
	Hidden bool
}

// Choice is one answer to choose from, or one accepted short answer.
type Choice struct {
	ID, Label string
	Correct   bool
}

// CorrectCount is how many of q's choices are correct.
func (q Question) CorrectCount() int {
	n := 0
	for _, c := range q.Choices {
		if c.Correct {
			n++
		}
	}
	return n
}

// QuestionInput is a new question.
type QuestionInput struct {
	Kind, Prompt, Explanation string
	Choices                   []Choice
}

// ErrBadQuestion means a question's choices do not fit its kind.
var ErrBadQuestion = errors.New("store: the choices do not fit the question's kind")

// checkChoices checks that choices fit kind: single choice has two or more
// options and one correct; multiple choice two or more and at least one
// correct; true/false the two stored labels, one correct; a short answer
// one or more accepted answers, all correct.
func checkChoices(kind string, choices []Choice) error {
	correct := 0
	for _, c := range choices {
		if c.Correct {
			correct++
		}
		if strings.TrimSpace(c.Label) == "" {
			return ErrBadQuestion
		}
	}
	ok := false
	switch kind {
	case QuestionSingle:
		ok = len(choices) >= 2 && correct == 1
	case QuestionMultiple:
		ok = len(choices) >= 2 && correct >= 1
	case QuestionTrueFalse:
		ok = len(choices) == 2 && correct == 1 && choices[0].Label == ChoiceTrue && choices[1].Label == ChoiceFalse
	case QuestionShort:
		ok = len(choices) >= 1 && correct == len(choices)
	}
	if !ok {
		return ErrBadQuestion
	}
	return nil
}

// AddQuestion appends a single-choice question: two or more choices,
// exactly one correct.
func (s *Store) AddQuestion(ctx context.Context, trainingID, prompt string, choices []Choice) (Question, error) {
	return s.AddQuizQuestion(ctx, trainingID, QuestionInput{Kind: QuestionSingle, Prompt: prompt, Choices: choices})
}

// AddQuizQuestion appends a question of any kind with its choices.
func (s *Store) AddQuizQuestion(ctx context.Context, trainingID string, in QuestionInput) (Question, error) {
	if err := checkChoices(in.Kind, in.Choices); err != nil {
		return Question{}, fmt.Errorf("store: add question: %w", err)
	}
	q := Question{ID: NewID(), TrainingID: trainingID, Prompt: in.Prompt, Kind: in.Kind, Explanation: in.Explanation}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO questions (id, training_id, position, prompt, kind, explanation)
			VALUES (?, ?, (SELECT COALESCE(MAX(position), 0) + 1 FROM questions WHERE training_id = ?), ?, ?, ?)`,
			q.ID, trainingID, trainingID, in.Prompt, in.Kind, nullStr(in.Explanation))
		if err != nil {
			return err
		}
		for i, c := range in.Choices {
			c.ID = NewID()
			if _, err := tx.ExecContext(ctx, "INSERT INTO choices (id, question_id, position, label, correct) VALUES (?, ?, ?, ?, ?)",
				c.ID, q.ID, i+1, c.Label, c.Correct); err != nil {
				return err
			}
			q.Choices = append(q.Choices, c)
		}
		return nil
	})
	if err != nil {
		return Question{}, fmt.Errorf("store: add question: %w", err)
	}
	return q, nil
}

// Quiz returns a training's questions with their choices, in order,
// leaving out hidden questions: what learners answer and are graded on.
func (s *Store) Quiz(ctx context.Context, trainingID string) ([]Question, error) {
	return s.questions(ctx, trainingID, " AND q.hidden = 0")
}

// ManagedQuestions lists all of a training's questions, hidden ones too,
// with their choices in order: the staff view.
func (s *Store) ManagedQuestions(ctx context.Context, trainingID string) ([]Question, error) {
	return s.questions(ctx, trainingID, "")
}

func (s *Store) questions(ctx context.Context, trainingID, and string) ([]Question, error) {
	rows, err := s.readQuery(ctx, `SELECT q.id, q.prompt, q.position, q.hidden, q.kind, COALESCE(q.explanation, ''), c.id, c.label, c.correct
		FROM questions q JOIN choices c ON c.question_id = q.id WHERE q.training_id = ?`+and+` ORDER BY q.position, q.id, c.position`, trainingID)
	if err != nil {
		return nil, fmt.Errorf("store: quiz: %w", err)
	}
	defer rows.Close()
	var out []Question
	for rows.Next() {
		var q Question
		var c Choice
		if err := rows.Scan(&q.ID, &q.Prompt, &q.Position, &q.Hidden, &q.Kind, &q.Explanation, &c.ID, &c.Label, &c.Correct); err != nil {
			return nil, fmt.Errorf("store: quiz: %w", err)
		}
		if n := len(out); n == 0 || out[n-1].ID != q.ID {
			q.TrainingID = trainingID
			out = append(out, q)
		}
		out[len(out)-1].Choices = append(out[len(out)-1].Choices, c)
	}
	return out, rows.Err()
}

// LayoutItem is one question of an attempt as it was shown: the question
// and its choices in the order shown (none for a short answer).
type LayoutItem struct {
	Question string   `json:"q"`
	Choices  []string `json:"c,omitempty"`
}

// Sitting is an attempt being answered.
type Sitting struct {
	ID, TrainingID string
	StartedAt      time.Time
	Layout         []LayoutItem
}

// ErrNoAttemptsLeft means the learner has used every attempt the training
// allows.
var ErrNoAttemptsLeft = errors.New("store: no quiz attempts left")

// shuffled is the order a new attempt shows q's choices in: true/false
// stays true then false, and a short answer shows none.
func shuffled(q Question) []string {
	if q.Kind == QuestionShort {
		return nil
	}
	ids := make([]string, len(q.Choices))
	for i, c := range q.Choices {
		ids[i] = c.ID
	}
	if q.Kind != QuestionTrueFalse {
		rand.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	}
	return ids
}

// OpenSitting returns userID's attempt of a training's quiz being
// answered, or ErrNotFound.
func (s *Store) OpenSitting(ctx context.Context, userID, trainingID string) (Sitting, error) {
	return s.sitting(ctx, "user_id = ? AND training_id = ?", userID, trainingID)
}

func (s *Store) sitting(ctx context.Context, where string, args ...any) (Sitting, error) {
	var st Sitting
	var layout string
	err := s.rdb.QueryRowContext(ctx, "SELECT id, training_id, started_at, layout FROM quiz_sittings WHERE "+where, args...).
		Scan(&st.ID, &st.TrainingID, tsInto(&st.StartedAt), &layout)
	if errors.Is(err, sql.ErrNoRows) {
		return st, ErrNotFound
	}
	if err != nil {
		return st, fmt.Errorf("store: sitting: %w", err)
	}
	if err := json.Unmarshal([]byte(layout), &st.Layout); err != nil {
		return st, fmt.Errorf("store: sitting layout: %w", err)
	}
	return st, nil
}

// AttemptsUsed is how many graded attempts userID made at a training's quiz.
func (s *Store) AttemptsUsed(ctx context.Context, userID, trainingID string) (int, error) {
	var n int
	if err := s.rdb.QueryRowContext(ctx, "SELECT COUNT(*) FROM quiz_attempts WHERE user_id = ? AND training_id = ?", userID, trainingID).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: attempts used: %w", err)
	}
	return n, nil
}

// StartSitting begins an attempt at t's quiz for userID with every
// question's options in a new random order, or returns the attempt already
// open. It is ErrNoAttemptsLeft once the training's limit is used up and
// ErrNotFound when the quiz has no questions.
func (s *Store) StartSitting(ctx context.Context, userID string, t Training) (Sitting, error) {
	if st, err := s.OpenSitting(ctx, userID, t.ID); !errors.Is(err, ErrNotFound) {
		return st, err
	}
	qs, err := s.Quiz(ctx, t.ID)
	if err != nil {
		return Sitting{}, err
	}
	if len(qs) == 0 {
		return Sitting{}, ErrNotFound
	}
	st := Sitting{ID: NewID(), TrainingID: t.ID, StartedAt: s.Now()}
	for _, q := range qs {
		st.Layout = append(st.Layout, LayoutItem{Question: q.ID, Choices: shuffled(q)})
	}
	layout, _ := json.Marshal(st.Layout)
	err = s.tx(ctx, func(tx *sql.Tx) error {
		var used, open int
		if err := tx.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM quiz_attempts WHERE user_id = ? AND training_id = ?),
			(SELECT COUNT(*) FROM quiz_sittings WHERE user_id = ? AND training_id = ?)`, userID, t.ID, userID, t.ID).Scan(&used, &open); err != nil {
			return err
		}
		if open > 0 {
			return ErrConflict // started concurrently: use that one
		}
		if t.MaxAttempts > 0 && used >= t.MaxAttempts {
			return ErrNoAttemptsLeft
		}
		_, err := tx.ExecContext(ctx, "INSERT INTO quiz_sittings (id, user_id, training_id, started_at, layout) VALUES (?, ?, ?, ?, ?)",
			st.ID, userID, t.ID, ts(st.StartedAt), string(layout))
		return err
	})
	switch {
	case errors.Is(err, ErrConflict):
		return s.OpenSitting(ctx, userID, t.ID)
	case errors.Is(err, ErrNoAttemptsLeft):
		return Sitting{}, ErrNoAttemptsLeft
	case err != nil:
		return Sitting{}, fmt.Errorf("store: start quiz: %w", err)
	}
	return st, nil
}

// Response is a learner's answer to one question: the choices picked, or
// the text typed for a short answer.
type Response struct {
	Choices []string
	Text    string
}

// Attempt is one graded quiz submission.
type Attempt struct {
	ID          string
	TrainingID  string
	Score       int
	Passed      bool
	SubmittedAt time.Time
	// Results are the questions in the order they were shown, each with
	// the answer given and whether it was right.
	Results []QuestionResult
}

// QuestionResult is one question of a graded attempt.
type QuestionResult struct {
	Question Question
	// Choices are the question's choices in the order they were shown.
	Choices []Choice
	Picked  map[string]bool // choice id → picked
	Text    string          // the short answer typed
	Correct bool
}

// ErrUnknownAnswer means an answer names a question or choice that is not
// part of the attempt.
var ErrUnknownAnswer = errors.New("store: answer to an unknown question or choice")

// NormaliseAnswer is how short answers are compared: Unicode NFC, case
// folded, surrounding and repeated inner space removed.
func NormaliseAnswer(v string) string {
	return strings.ToLower(strings.Join(strings.Fields(norm.NFC.String(v)), " "))
}

// grade reports whether r answers q correctly: the one correct option of a
// single-choice or true/false question, exactly the correct options of a
// multiple-choice one, or a typed answer equal to an accepted one once both
// are normalised.
func grade(q Question, r Response) bool {
	if q.Kind == QuestionShort {
		typed := NormaliseAnswer(r.Text)
		for _, c := range q.Choices {
			if typed != "" && NormaliseAnswer(c.Label) == typed {
				return true
			}
		}
		return false
	}
	picked := map[string]bool{}
	for _, id := range r.Choices {
		picked[id] = true
	}
	if q.Kind != QuestionMultiple && len(picked) != 1 {
		return false
	}
	for _, c := range q.Choices {
		if c.Correct != picked[c.ID] {
			return false
		}
	}
	return true
}

// storedAnswer is one question's entry in quiz_attempts.answers: the
// choices picked and whether the answer was right. Typed text is sealed
// apart (typed). Attempts graded before question kinds existed hold the
// picked choice id as a plain string.
type storedAnswer struct {
	Choices []string `json:"c,omitempty"`
	Correct bool     `json:"ok"`
}

// SubmitAttempt grades userID's open attempt sittingID of t's quiz and
// records it. Answers name questions of the attempt and choices of those
// questions (ErrUnknownAnswer otherwise); an attempt that is not userID's
// open one for t is ErrNotFound. The grade is automatic: the share of
// correct answers in percent, passed at the training's pass mark.
func (s *Store) SubmitAttempt(ctx context.Context, userID string, t Training, sittingID string, answers map[string]Response) (Attempt, error) {
	st, err := s.sitting(ctx, "id = ? AND user_id = ? AND training_id = ?", sittingID, userID, t.ID)
	if err != nil {
		return Attempt{}, err
	}
	return s.submit(ctx, userID, t, st, answers)
}

// SubmitQuiz grades answers (question id → choice id) against the
// training's quiz as it is now, in staff order, and records the attempt:
// single-choice quizzes answered in one step (imports and tests).
func (s *Store) SubmitQuiz(ctx context.Context, userID string, t Training, answers map[string]string) (Attempt, error) {
	qs, err := s.Quiz(ctx, t.ID)
	if err != nil {
		return Attempt{}, err
	}
	if len(qs) == 0 {
		return Attempt{}, ErrNotFound
	}
	st := Sitting{ID: NewID(), TrainingID: t.ID}
	for _, q := range qs {
		it := LayoutItem{Question: q.ID}
		for _, c := range q.Choices {
			it.Choices = append(it.Choices, c.ID)
		}
		st.Layout = append(st.Layout, it)
	}
	rs := map[string]Response{}
	for q, c := range answers {
		rs[q] = Response{Choices: []string{c}}
	}
	return s.submit(ctx, userID, t, st, rs)
}

func (s *Store) submit(ctx context.Context, userID string, t Training, st Sitting, answers map[string]Response) (Attempt, error) {
	inLayout := map[string]LayoutItem{}
	for _, it := range st.Layout {
		inLayout[it.Question] = it
	}
	for qid, r := range answers {
		it, ok := inLayout[qid]
		if !ok {
			return Attempt{}, ErrUnknownAnswer
		}
		for _, c := range r.Choices {
			if !slices.Contains(it.Choices, c) {
				return Attempt{}, ErrUnknownAnswer
			}
		}
	}
	qs, err := s.ManagedQuestions(ctx, t.ID)
	if err != nil {
		return Attempt{}, err
	}
	a := Attempt{ID: st.ID, TrainingID: t.ID, SubmittedAt: s.Now()}
	stored := map[string]storedAnswer{}
	typed := map[string]string{}
	correct := 0
	for _, it := range st.Layout {
		i := slices.IndexFunc(qs, func(q Question) bool { return q.ID == it.Question })
		if i < 0 {
			continue // deleted while the attempt was open: not graded
		}
		r := answers[it.Question]
		res := questionResult(qs[i], it, r)
		if res.Correct {
			correct++
		}
		a.Results = append(a.Results, res)
		stored[it.Question] = storedAnswer{Choices: r.Choices, Correct: res.Correct}
		if qs[i].Kind == QuestionShort {
			typed[it.Question] = r.Text
		}
	}
	if len(a.Results) > 0 {
		a.Score = correct * 100 / len(a.Results)
	}
	a.Passed = a.Score >= t.PassMark
	js, _ := json.Marshal(stored)
	layout, _ := json.Marshal(st.Layout)
	var sealedTyped any
	if len(typed) > 0 {
		z, err := s.sealerFor(ctx, userID, "quiz_attempts", a.ID)
		if err != nil {
			return Attempt{}, err
		}
		tj, _ := json.Marshal(typed)
		sealedTyped = z.seal("typed", string(tj))
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		// The open attempt goes as it is graded: submitting it twice (two
		// tabs) finds nothing the second time.
		res, err := tx.ExecContext(ctx, "DELETE FROM quiz_sittings WHERE id = ? AND user_id = ?", st.ID, userID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 && !st.StartedAt.IsZero() {
			return ErrNotFound
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO quiz_attempts (id, user_id, training_id, submitted_at, answers, score, passed, layout, typed)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, a.ID, userID, t.ID, ts(a.SubmittedAt), string(js), a.Score, a.Passed, string(layout), sealedTyped)
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return Attempt{}, ErrNotFound
	}
	if err != nil {
		return Attempt{}, fmt.Errorf("store: submit quiz: %w", err)
	}
	return a, nil
}

// questionResult grades one question of an attempt, its choices in the
// order they were shown.
func questionResult(q Question, it LayoutItem, r Response) QuestionResult {
	res := QuestionResult{Question: q, Picked: map[string]bool{}, Text: r.Text, Correct: grade(q, r)}
	for _, id := range r.Choices {
		res.Picked[id] = true
	}
	if q.Kind != QuestionShort {
		for _, id := range it.Choices {
			if j := slices.IndexFunc(q.Choices, func(c Choice) bool { return c.ID == id }); j >= 0 {
				res.Choices = append(res.Choices, q.Choices[j])
			}
		}
	}
	return res
}

// GradedAttempt returns userID's graded attempt id at a training's quiz
// with each question's result, in the order it was shown. Questions
// deleted since are left out; whether an answer was right is as graded
// then. Another person's attempt is ErrNotFound.
func (s *Store) GradedAttempt(ctx context.Context, userID, trainingID, id string) (Attempt, error) {
	a := Attempt{ID: id, TrainingID: trainingID}
	var answers string
	var layout sql.NullString
	var typed []byte
	err := s.rdb.QueryRowContext(ctx, `SELECT submitted_at, score, passed, answers, layout, typed FROM quiz_attempts
		WHERE id = ? AND user_id = ? AND training_id = ?`, id, userID, trainingID).
		Scan(tsInto(&a.SubmittedAt), &a.Score, &a.Passed, &answers, &layout, &typed)
	if errors.Is(err, sql.ErrNoRows) {
		return a, ErrNotFound
	}
	if err != nil {
		return a, fmt.Errorf("store: attempt: %w", err)
	}
	raw := map[string]json.RawMessage{}
	if err := json.Unmarshal([]byte(answers), &raw); err != nil {
		return a, fmt.Errorf("store: attempt answers: %w", err)
	}
	texts := map[string]string{}
	if typed != nil {
		z, err := s.sealerFor(ctx, userID, "quiz_attempts", id)
		if err != nil {
			return a, err
		}
		tj, err := z.open("typed", typed)
		if err != nil {
			return a, err
		}
		if err := json.Unmarshal([]byte(tj), &texts); err != nil {
			return a, fmt.Errorf("store: attempt typed: %w", err)
		}
	}
	qs, err := s.ManagedQuestions(ctx, trainingID)
	if err != nil {
		return a, err
	}
	var items []LayoutItem
	if layout.Valid {
		if err := json.Unmarshal([]byte(layout.String), &items); err != nil {
			return a, fmt.Errorf("store: attempt layout: %w", err)
		}
	} else { // graded before attempts kept their order: staff order
		for _, q := range qs {
			if _, ok := raw[q.ID]; ok {
				it := LayoutItem{Question: q.ID}
				for _, c := range q.Choices {
					it.Choices = append(it.Choices, c.ID)
				}
				items = append(items, it)
			}
		}
	}
	for _, it := range items {
		i := slices.IndexFunc(qs, func(q Question) bool { return q.ID == it.Question })
		if i < 0 {
			continue
		}
		var sa storedAnswer
		var old string
		r := Response{Text: texts[it.Question]}
		if err := json.Unmarshal(raw[it.Question], &sa); err == nil {
			r.Choices = sa.Choices
		} else if err := json.Unmarshal(raw[it.Question], &old); err == nil {
			r.Choices = []string{old}
			sa.Correct = grade(qs[i], r)
		}
		res := questionResult(qs[i], it, r)
		res.Correct = sa.Correct
		a.Results = append(a.Results, res)
	}
	return a, nil
}

// TrainingAttempts lists userID's graded attempts at a training's quiz,
// newest first.
func (s *Store) TrainingAttempts(ctx context.Context, userID, trainingID string) ([]AttemptSummary, error) {
	all, err := s.Attempts(ctx, userID)
	if err != nil {
		return nil, err
	}
	var out []AttemptSummary
	for _, a := range all {
		if a.TrainingID == trainingID {
			out = append(out, a)
		}
	}
	return out, nil
}
