package app

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/png"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	qrcode "github.com/skip2/go-qrcode"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"kelas/i18n"
	"kelas/store"
)

// startAttempt starts (or reopens) c's attempt at a training's quiz over
// HTTP and returns its id and the quiz page.
func startAttempt(t *testing.T, c *testServer, trainingID string) (string, *goquery.Document) {
	t.Helper()
	res, _ := c.postForm(t, "/trainings/"+trainingID+"/quiz/start", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	require.Equal(t, "/trainings/"+trainingID+"/quiz", res.Header.Get("Location"))
	res, body := c.get(t, "/trainings/"+trainingID+"/quiz")
	require.Equal(t, http.StatusOK, res.StatusCode)
	d := doc(t, body)
	id := d.Find(`input[name=attempt]`).AttrOr("value", "")
	require.NotEmpty(t, id, "an open attempt")
	return id, d
}

// choiceOrder is, per question of the quiz form, the labels of its options
// in the order shown.
func choiceOrder(d *goquery.Document) []string {
	var out []string
	d.Find(`[data-testid="quiz-question"]`).Each(func(_ int, q *goquery.Selection) {
		var labels []string
		q.Find(`label`).Each(func(_ int, l *goquery.Selection) { labels = append(labels, l.Text()) })
		out = append(out, strings.Join(labels, "|"))
	})
	return out
}

// choiceID is the value of the option labelled label in the quiz form.
func choiceID(t *testing.T, d *goquery.Document, label string) string {
	t.Helper()
	var id string
	d.Find(`[data-testid="quiz-form"] label`).Each(func(_ int, l *goquery.Selection) {
		if l.Text() == label {
			id = d.Find("#"+l.AttrOr("for", "")).AttrOr("value", "")
		}
	})
	require.NotEmpty(t, id, "option %q", label)
	return id
}

// quizFixture is a training with one question of each kind, made by staff
// through the form, and an enrolled learner.
type quizFixture struct {
	ts                                *testServer
	staff, learner                    *testServer
	learnerID                         string
	training                          string
	single, multiple, truth, short    string // question ids
	explanationOf                     map[string]string
	singleRight, multiA, multiB, wrng string // option labels
}

func newQuizFixture(t *testing.T, extra url.Values) *quizFixture {
	t.Helper()
	ts := newTestServer(t)
	fx := &quizFixture{ts: ts, explanationOf: map[string]string{}}
	fx.staff, _ = ts.person(t, "staff@example.org", store.RoleMemberStaff, member(t, ts, "SME Corporation Malaysia"))
	v := trainingValues()
	for k, vs := range extra {
		v[k] = vs
	}
	fx.training = createTraining(t, fx.staff, v)
	add := func(v url.Values) string {
		t.Helper()
		res, body := fx.staff.postForm(t, "/console/trainings/"+fx.training+"/questions", v)
		require.Equal(t, http.StatusSeeOther, res.StatusCode, body)
		qs, err := ts.store.ManagedQuestions(t.Context(), fx.training)
		require.NoError(t, err)
		return qs[len(qs)-1].ID
	}
	fx.single = add(url.Values{"question_kind": {"single"}, "question_prompt": {"Where do you write a sale?"},
		"question_choice_1": {"In the cash book"}, "question_choice_2": {"Nowhere"}, "question_choice_3": {"On a napkin"},
		"question_choice_4": {"In a diary"}, "question_correct": {"1"}, "question_explanation": {"Every sale goes in the cash book."}})
	fx.multiple = add(url.Values{"question_kind": {"multiple"}, "question_prompt": {"Which are assets?"},
		"question_choice_1": {"Cash"}, "question_choice_2": {"Stock"}, "question_choice_3": {"A loan"}, "question_choice_4": {"Unpaid wages"},
		"question_correct": {"1", "2"}, "question_explanation": {"Cash and stock are assets; a loan and wages owed are liabilities."}})
	fx.truth = add(url.Values{"question_kind": {"true_false"}, "question_prompt": {"Profit is sales minus costs."},
		"question_truth": {"true"}, "question_explanation": {"That is the definition of profit."}})
	fx.short = add(url.Values{"question_kind": {"short"}, "question_prompt": {"What do you call a small coffee shop in Malay?"},
		"question_accepted": {"Kedai kopi\n  Café  \n"}, "question_explanation": {"Kedai kopi, or café."}})
	fx.explanationOf = map[string]string{"Where do you write a sale?": "Every sale goes in the cash book.",
		"Which are assets?":            "Cash and stock are assets; a loan and wages owed are liabilities.",
		"Profit is sales minus costs.": "That is the definition of profit.", "What do you call a small coffee shop in Malay?": "Kedai kopi, or café."}
	var lu store.User
	fx.learner, lu = ts.person(t, "learner@example.org", store.RoleLearner, "")
	fx.learnerID = lu.ID
	res, _ := fx.learner.postForm(t, "/trainings/"+fx.training+"/enrol", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	return fx
}

func TestStaffAddEveryKindOfQuestion(t *testing.T) {
	fx := newQuizFixture(t, nil)
	ctx := t.Context()
	qs, err := fx.ts.store.ManagedQuestions(ctx, fx.training)
	require.NoError(t, err)
	require.Len(t, qs, 4)
	kinds := map[string]store.Question{}
	for _, q := range qs {
		kinds[q.Kind] = q
	}
	assert.Equal(t, 1, kinds[store.QuestionSingle].CorrectCount())
	assert.Len(t, kinds[store.QuestionSingle].Choices, 4)
	assert.Equal(t, 2, kinds[store.QuestionMultiple].CorrectCount())
	tf := kinds[store.QuestionTrueFalse]
	require.Len(t, tf.Choices, 2)
	assert.True(t, tf.Choices[0].Correct, "the statement is true")
	var accepted []string
	for _, c := range kinds[store.QuestionShort].Choices {
		accepted = append(accepted, c.Label)
		assert.True(t, c.Correct)
	}
	assert.Equal(t, []string{"Kedai kopi", "Café"}, accepted, "one per line, trimmed")
	assert.Equal(t, "Every sale goes in the cash book.", kinds[store.QuestionSingle].Explanation)

	// The staff page names each kind and says how short answers are graded.
	res, body := fx.staff.get(t, "/console/trainings/"+fx.training)
	require.Equal(t, http.StatusOK, res.StatusCode)
	d := doc(t, body)
	list := d.Find(`[data-testid="manage-questions"]`).Text()
	for _, k := range []string{"Single choice", "Multiple choice", "True or false", "Short answer"} {
		assert.Contains(t, list, k)
	}
	assert.Contains(t, d.Find(`#question_accepted-hint`).Text(), "capital and small letters")

	base := url.Values{"question_prompt": {"A question?"}}
	for name, tc := range map[string]struct {
		v     url.Values
		field string
	}{
		"unknown kind":           {url.Values{"question_kind": {"essay"}}, "question_kind"},
		"single with two right":  {url.Values{"question_kind": {"single"}, "question_choice_1": {"a"}, "question_choice_2": {"b"}, "question_correct": {"1", "2"}}, "question_correct"},
		"multiple with none":     {url.Values{"question_kind": {"multiple"}, "question_choice_1": {"a"}, "question_choice_2": {"b"}}, "question_correct"},
		"right option empty":     {url.Values{"question_kind": {"multiple"}, "question_choice_1": {"a"}, "question_choice_2": {"b"}, "question_correct": {"3"}}, "question_correct"},
		"true/false unanswered":  {url.Values{"question_kind": {"true_false"}}, "question_truth"},
		"true/false not listed":  {url.Values{"question_kind": {"true_false"}, "question_truth": {"maybe"}}, "question_truth"},
		"short with no accepted": {url.Values{"question_kind": {"short"}, "question_accepted": {"\n  \n"}}, "question_accepted"},
	} {
		t.Run(name, func(t *testing.T) {
			v := url.Values{}
			for k, vs := range base {
				v[k] = vs
			}
			for k, vs := range tc.v {
				v[k] = vs
			}
			res, body := fx.staff.postForm(t, "/console/trainings/"+fx.training+"/questions", v)
			require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
			d := doc(t, body)
			assert.NotEmpty(t, d.Find(`[data-testid="error-`+tc.field+`"]`).Text(), "message at %s", tc.field)
			assert.Equal(t, "A question?", d.Find(`#question_prompt`).AttrOr("value", ""), "the form is kept")
			qs, err := fx.ts.store.ManagedQuestions(ctx, fx.training)
			require.NoError(t, err)
			assert.Len(t, qs, 4, "nothing stored")
		})
	}

	// The training form sets the attempts limit.
	v := trainingValues()
	v.Set("max_attempts", "100")
	res, body = fx.staff.postForm(t, "/console/trainings/"+fx.training, v)
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	assert.NotEmpty(t, doc(t, body).Find(`[data-testid="error-max_attempts"]`).Text())
	v.Set("max_attempts", "3")
	res, _ = fx.staff.postForm(t, "/console/trainings/"+fx.training, v)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	tr, err := fx.ts.store.Training(ctx, fx.training)
	require.NoError(t, err)
	assert.Equal(t, 3, tr.MaxAttempts)
}

// TestQuizAttempts: a learner takes a quiz of every kind, reads which
// answers were wrong with the staff's explanations, the pass mark decides,
// and the attempts limit refuses a third attempt.
func TestQuizAttempts(t *testing.T) {
	fx := newQuizFixture(t, url.Values{"max_attempts": {"2"}, "pass_mark": {"75"}})
	ts, l, id := fx.ts, fx.learner, fx.training

	res, body := l.get(t, "/trainings/"+id+"/quiz")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, 1, doc(t, body).Find(`[data-testid="quiz-start"]`).Length(), "nothing open: a button starts an attempt")

	aid, d := startAttempt(t, l, id)
	order := choiceOrder(d)
	_, again := startAttempt(t, l, id)
	assert.Equal(t, order, choiceOrder(again), "a reload shows the same order")
	assert.Equal(t, aid, again.Find(`input[name=attempt]`).AttrOr("value", ""), "and the same attempt")
	assert.Equal(t, "True|False", choiceOrder(d)[2], "true/false in the reader's words, not codes")

	// Bad input first: each is refused at no cost of an attempt.
	late, err := ts.store.AddQuestion(t.Context(), id, "Added after the attempt started?", []store.Choice{{Label: "x", Correct: true}, {Label: "y"}})
	require.NoError(t, err)
	answers := func(single string, multi []string, truth, short string) url.Values {
		return url.Values{"attempt": {aid}, "q_" + fx.single: {choiceID(t, d, single)}, "q_" + fx.multiple: multi,
			"q_" + fx.truth: {choiceID(t, d, truth)}, "q_" + fx.short: {short}}
	}
	wrong := answers("Nowhere", []string{choiceID(t, d, "Cash")}, "True", "teh tarik")
	for name, v := range map[string]url.Values{
		"a question not in the attempt": func() url.Values {
			v := url.Values{"q_" + late.ID: {late.Choices[0].ID}}
			for k, vs := range wrong {
				v[k] = vs
			}
			return v
		}(),
		"a made-up question":          {"attempt": {aid}, "q_" + store.NewID(): {"x"}},
		"an option of another answer": {"attempt": {aid}, "q_" + fx.single: {choiceID(t, d, "Cash")}},
		"a short answer left empty":   answers("Nowhere", []string{choiceID(t, d, "Cash")}, "True", "  "),
	} {
		t.Run(name, func(t *testing.T) {
			res, body := l.postForm(t, "/trainings/"+id+"/quiz", v)
			require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
			assert.Equal(t, aid, doc(t, body).Find(`input[name=attempt]`).AttrOr("value", ""), "the same attempt stays open")
		})
	}
	res, _ = l.postForm(t, "/trainings/"+id+"/quiz", func() url.Values {
		v := answers("Nowhere", nil, "True", "x")
		v.Set("attempt", store.NewID())
		return v
	}())
	assert.Equal(t, http.StatusNotFound, res.StatusCode, "a forged attempt id")
	used, err := ts.store.AttemptsUsed(t.Context(), fx.learnerID, id)
	require.NoError(t, err)
	assert.Zero(t, used)

	// First attempt: the single-choice and multiple-choice answers wrong,
	// true/false and the short answer (in other case, spacing and Unicode
	// form) right: 50%, under the pass mark of 75%.
	v := answers("Nowhere", []string{choiceID(t, d, "Cash")}, "True", "  CAFE\u0301 ")
	res, _ = l.postForm(t, "/trainings/"+id+"/quiz", v)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	require.Equal(t, "/trainings/"+id+"/quiz/attempts/"+aid, res.Header.Get("Location"))
	res, body = l.get(t, res.Header.Get("Location"))
	require.Equal(t, http.StatusOK, res.StatusCode)
	rd := doc(t, body)
	assert.Contains(t, rd.Find(`[data-testid="quiz-score"]`).Text(), "50%")
	assert.Contains(t, rd.Find(`[data-testid="quiz-outcome"]`).Text(), "Not passed")
	verdicts := map[string]bool{}
	rd.Find(`[data-testid="quiz-result"]`).Each(func(_ int, s *goquery.Selection) {
		prompt := s.Find(`h2`).Text()
		verdicts[prompt] = s.AttrOr("data-correct", "") == "true"
		assert.Contains(t, s.Find(`[data-testid="explanation"]`).Text(), fx.explanationOf[prompt], "the explanation of %q", prompt)
		want := "Wrong"
		if verdicts[prompt] {
			want = "Right"
		}
		assert.Equal(t, want, s.Find(`[data-testid="verdict"]`).Text())
	})
	assert.Equal(t, map[string]bool{"Where do you write a sale?": false, "Which are assets?": false,
		"Profit is sales minus costs.": true, "What do you call a small coffee shop in Malay?": true}, verdicts)
	main := rd.Find("main").Text()
	assert.Contains(t, main, "CAFE\u0301", "the typed answer is shown back")
	for _, code := range []string{aid, fx.single, fx.multiple, fx.truth, fx.short, "true_false", "single"} {
		assert.NotContains(t, main, code, "no internal code on the results")
	}
	e, err := ts.store.Enrolment(t.Context(), fx.learnerID, id)
	require.NoError(t, err)
	assert.False(t, e.Passed)

	// The typed answer is sealed: not in the database in the clear.
	var raw []byte
	require.NoError(t, rawDB(t, ts).QueryRowContext(t.Context(), "SELECT typed FROM quiz_attempts WHERE id = ?", aid).Scan(&raw))
	assert.NotContains(t, string(raw), "CAFE")

	// Another learner cannot read this result.
	other, _ := ts.person(t, "other@example.org", store.RoleLearner, "")
	res, _ = other.postForm(t, "/trainings/"+id+"/enrol", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	res, _ = other.get(t, "/trainings/"+id+"/quiz/attempts/"+aid)
	assert.Equal(t, http.StatusNotFound, res.StatusCode)

	// Second attempt, the late question included now: 4 of 5 right is 80%.
	aid2, d2 := startAttempt(t, l, id)
	assert.NotEqual(t, aid, aid2)
	assert.Contains(t, d2.Find(`[data-testid="attempts-used"]`).Text(), "1 of 2")
	v = url.Values{"attempt": {aid2}, "q_" + fx.single: {choiceID(t, d2, "In the cash book")},
		"q_" + fx.multiple: {choiceID(t, d2, "Cash"), choiceID(t, d2, "Stock")}, "q_" + fx.truth: {choiceID(t, d2, "False")},
		"q_" + fx.short: {"kedai kopi"}, "q_" + late.ID: {choiceID(t, d2, "x")}}
	res, _ = l.postForm(t, "/trainings/"+id+"/quiz", v)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	res, body = l.get(t, res.Header.Get("Location"))
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, doc(t, body).Find(`[data-testid="quiz-score"]`).Text(), "80%")
	assert.Contains(t, doc(t, body).Find(`[data-testid="quiz-outcome"]`).Text(), "Passed")
	e, err = ts.store.Enrolment(t.Context(), fx.learnerID, id)
	require.NoError(t, err)
	assert.True(t, e.Passed, "80% reaches the pass mark of 75%")

	// A third attempt is refused, saying why.
	res, body = l.postForm(t, "/trainings/"+id+"/quiz/start", nil)
	require.Equal(t, http.StatusConflict, res.StatusCode)
	assert.Contains(t, doc(t, body).Find(`[data-testid="attempts-refused"]`).Text(), "You have used all 2 attempts")
	_, err = ts.store.OpenSitting(t.Context(), fx.learnerID, id)
	assert.ErrorIs(t, err, store.ErrNotFound, "no attempt opened")
	res, body = l.get(t, "/trainings/"+id+"/quiz")
	require.Equal(t, http.StatusOK, res.StatusCode)
	qd := doc(t, body)
	assert.Zero(t, qd.Find(`[data-testid="quiz-start"]`).Length())
	assert.Equal(t, 2, qd.Find(`[data-testid="quiz-attempts"] li`).Length(), "both attempts listed")

	// Both graded attempts can go to human review.
	res, body = l.get(t, "/rights")
	require.Equal(t, http.StatusOK, res.StatusCode)
	var offered []string
	doc(t, body).Find(`#attempt option`).Each(func(_ int, s *goquery.Selection) { offered = append(offered, s.AttrOr("value", "")) })
	slices.Sort(offered)
	want := []string{aid, aid2}
	slices.Sort(want)
	assert.Equal(t, want, offered)
	res, _ = l.postForm(t, "/rights/review", url.Values{"attempt": {aid}})
	assert.Equal(t, http.StatusSeeOther, res.StatusCode)
}

// TestQuizShufflesOptionsPerAttempt: the options of a question come in a
// new order at each attempt (over ten attempts of four options, the same
// order every time has a chance of one in 24⁹), and true/false stays in
// its order.
func TestQuizShufflesOptionsPerAttempt(t *testing.T) {
	fx := newQuizFixture(t, nil)
	seen := map[string]bool{}
	for range 10 {
		aid, d := startAttempt(t, fx.learner, fx.training)
		order := choiceOrder(d)
		require.Len(t, order, 4)
		seen[order[0]] = true
		assert.Equal(t, "True|False", order[2])
		assert.Equal(t, "Your answer", order[3], "a short answer: a text box, no options")
		// The stored order is the one shown.
		st, err := fx.ts.store.OpenSitting(t.Context(), fx.learnerID, fx.training)
		require.NoError(t, err)
		require.Equal(t, aid, st.ID)
		var shown []string
		d.Find(`[data-testid="quiz-question"]`).First().Find(`input`).Each(func(_ int, s *goquery.Selection) {
			shown = append(shown, s.AttrOr("value", ""))
		})
		assert.Equal(t, st.Layout[0].Choices, shown)
		res, _ := fx.learner.postForm(t, "/trainings/"+fx.training+"/quiz", url.Values{"attempt": {aid},
			"q_" + fx.single: {shown[0]}, "q_" + fx.multiple: {choiceID(t, d, "Cash")}, "q_" + fx.truth: {choiceID(t, d, "True")},
			"q_" + fx.short: {"x"}})
		require.Equal(t, http.StatusSeeOther, res.StatusCode)
	}
	assert.Greater(t, len(seen), 1, "the options came in more than one order")
}

// TestCertificateQRCode: a certificate carries a QR code of its public
// verification address, drawn on the server as a PNG, with alt text and
// the address written beside it, in the holder's language.
func TestCertificateQRCode(t *testing.T) {
	ts := newTestServer(t)
	ctx := t.Context()
	staff, _ := ts.person(t, "staff@example.org", store.RoleMemberStaff, member(t, ts, "SME Corporation Malaysia"))
	id := createTraining(t, staff, trainingValues())
	q, err := ts.store.AddQuestion(ctx, id, "Which is right?", []store.Choice{{Label: "a", Correct: true}, {Label: "b"}})
	require.NoError(t, err)
	learner, lu := ts.person(t, "learner@example.org", store.RoleLearner, "")
	require.NoError(t, ts.store.SetLanguage(ctx, lu.ID, "ms"))
	require.NoError(t, ts.store.Enrol(ctx, lu.ID, id))
	tr, err := ts.store.Training(ctx, id)
	require.NoError(t, err)
	_, err = ts.store.SubmitQuiz(ctx, lu.ID, tr, map[string]string{q.ID: q.Choices[0].ID})
	require.NoError(t, err)
	c, err := ts.store.CompleteIfDone(ctx, lu.ID, id)
	require.NoError(t, err)
	require.NotNil(t, c)

	res, body := learner.get(t, "/certificates/"+c.Code)
	require.Equal(t, http.StatusOK, res.StatusCode)
	d := doc(t, body)
	ms := i18n.Get("ms")
	assert.Equal(t, ms.T("trainings.certificate.heading"), strings.TrimSpace(d.Find(`[data-testid="certificate"] h1`).Text()), "in the holder's language")
	qr := d.Find(`[data-testid="certificate"] [data-testid="certificate-qr"]`)
	require.Equal(t, 1, qr.Length(), "the QR code is part of the certificate")
	img := qr.Find("img")
	assert.Equal(t, ms.T("quiz.certificate.qr_alt"), img.AttrOr("alt", ""))
	src := img.AttrOr("src", "")
	b64, ok := strings.CutPrefix(src, "data:image/png;base64,")
	require.True(t, ok, "an inline PNG: %.40s", src)
	raw, err := base64.StdEncoding.DecodeString(b64)
	require.NoError(t, err)
	pic, err := png.Decode(bytes.NewReader(raw))
	require.NoError(t, err, "a valid PNG")
	assert.Equal(t, image.Rect(0, 0, 200, 200), pic.Bounds())
	assert.Equal(t, "200", img.AttrOr("width", ""))
	verify := ts.app.cfg.PublicURL() + "/certificates/" + c.Code
	link := qr.Find("figcaption a")
	assert.Equal(t, verify, link.AttrOr("href", ""), "the public verification address")
	assert.Equal(t, verify, link.Text(), "written beside the code")
	want, err := qrcode.Encode(verify, qrcode.Medium, 200)
	require.NoError(t, err)
	assert.Equal(t, want, raw, "the code holds the verification address")
}

// TestQuizPagesInPseudoLocale: the quiz form, its refusals, the results
// and the staff's question form say nothing in English outside the
// training's own content.
func TestQuizPagesInPseudoLocale(t *testing.T) {
	fx := newQuizFixture(t, url.Values{"max_attempts": {"1"}})
	allowed := userContent(t, fx.ts.store)
	qs, err := fx.ts.store.ManagedQuestions(t.Context(), fx.training)
	require.NoError(t, err)
	for _, q := range qs {
		for _, s := range append([]string{q.Prompt, q.Explanation}, func() (out []string) {
			for _, c := range q.Choices {
				out = append(out, c.Label)
			}
			return out
		}()...) {
			for _, w := range englishWord.FindAllString(s, -1) {
				allowed[w] = true
			}
		}
	}
	for _, w := range []string{"Bookkeeping", "for", "micro", "enterprises", "Cash", "book", "stock", "and", "monthly", "profit", "CAFE"} {
		allowed[w] = true
	}
	aid, d := startAttempt(t, fx.learner, fx.training)
	fx.staff.get(t, "/console/trainings/"+fx.training) // shows the flash of the last question added, in English
	fx.ts.app.cfg.PseudoLocale = true
	check := func(what, body string) {
		t.Helper()
		assert.Empty(t, untranslated(body, allowed), what)
	}
	pages := map[string]string{}
	_, pages["quiz form"] = fx.learner.get(t, "/trainings/"+fx.training+"/quiz?lang=qps")
	res, body := fx.learner.postForm(t, "/trainings/"+fx.training+"/quiz?lang=qps", url.Values{"attempt": {aid}})
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	pages["quiz refused"] = body
	res, _ = fx.learner.postForm(t, "/trainings/"+fx.training+"/quiz?lang=qps", url.Values{"attempt": {aid},
		"q_" + fx.single: {choiceID(t, d, "Nowhere")}, "q_" + fx.multiple: {choiceID(t, d, "Cash")},
		"q_" + fx.truth: {choiceID(t, d, "True")}, "q_" + fx.short: {"CAFE"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	_, pages["results"] = fx.learner.get(t, "/trainings/"+fx.training+"/quiz/attempts/"+aid+"?lang=qps")
	res, pages["no attempts left"] = fx.learner.postForm(t, "/trainings/"+fx.training+"/quiz/start?lang=qps", nil)
	require.Equal(t, http.StatusConflict, res.StatusCode)
	res, pages["question form refused"] = fx.staff.postForm(t, "/console/trainings/"+fx.training+"/questions?lang=qps",
		url.Values{"question_kind": {"short"}, "question_prompt": {"x"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	_, pages["question edit"] = fx.staff.get(t, "/console/trainings/"+fx.training+"/questions/"+fx.multiple+"?lang=qps")
	for what, body := range pages {
		check(what, body)
	}
}

// TestStaffEditQuestionsOfEachKind: the edit page keeps a question's kind
// and changes what fits it: the right options of a multiple-choice
// question, the answer of a true/false one, the accepted short answers,
// and every explanation.
func TestStaffEditQuestionsOfEachKind(t *testing.T) {
	fx := newQuizFixture(t, nil)
	ctx := t.Context()
	edit := func(qid string, v url.Values) (*http.Response, string) {
		t.Helper()
		return fx.staff.postForm(t, "/console/trainings/"+fx.training+"/questions/"+qid, v)
	}
	q, err := fx.ts.store.ManagedQuestion(ctx, fx.training, fx.multiple)
	require.NoError(t, err)
	labels := url.Values{"question_prompt": {"Which are assets?"}, "question_explanation": {"Only cash."}}
	for i, c := range q.Choices {
		labels.Set("question_choice_"+string(rune('1'+i)), c.Label)
	}
	res, body := edit(fx.multiple, labels)
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode, "no right option ticked")
	assert.NotEmpty(t, doc(t, body).Find(`[data-testid="error-question_correct"]`).Text())
	labels["question_correct"] = []string{q.Choices[0].ID}
	res, _ = edit(fx.multiple, labels)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	q, err = fx.ts.store.ManagedQuestion(ctx, fx.training, fx.multiple)
	require.NoError(t, err)
	assert.Equal(t, store.QuestionMultiple, q.Kind)
	assert.Equal(t, 1, q.CorrectCount())
	assert.True(t, q.Choices[0].Correct)
	assert.Equal(t, "Only cash.", q.Explanation)

	tf, err := fx.ts.store.ManagedQuestion(ctx, fx.training, fx.truth)
	require.NoError(t, err)
	res, body = fx.staff.get(t, "/console/trainings/"+fx.training+"/questions/"+fx.truth)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, doc(t, body).Find(`#question_correct`).Text(), "False", "true/false named in words")
	res, _ = edit(fx.truth, url.Values{"question_prompt": {"Profit is sales plus costs."}, "question_correct": {tf.Choices[1].ID}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	tf, err = fx.ts.store.ManagedQuestion(ctx, fx.training, fx.truth)
	require.NoError(t, err)
	assert.Equal(t, []string{store.ChoiceTrue, store.ChoiceFalse}, []string{tf.Choices[0].Label, tf.Choices[1].Label}, "the labels stay")
	assert.True(t, tf.Choices[1].Correct)
	assert.False(t, tf.Choices[0].Correct)

	res, _ = edit(fx.short, url.Values{"question_prompt": {"A small coffee shop?"}, "question_choice_1": {"Kopitiam"}, "question_choice_2": {"Café"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	sq, err := fx.ts.store.ManagedQuestion(ctx, fx.training, fx.short)
	require.NoError(t, err)
	assert.Equal(t, "Kopitiam", sq.Choices[0].Label)
	assert.Equal(t, 2, sq.CorrectCount(), "every accepted answer stays right")
}
