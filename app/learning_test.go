package app

import (
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"kelas/i18n"
	"kelas/store"
)

// demoTraining returns the id of the demo training titled title.
func demoTraining(t *testing.T, ts *testServer, title string) string {
	t.Helper()
	all, err := ts.store.Trainings(t.Context(), store.CatalogueFilter{})
	require.NoError(t, err)
	for _, tr := range all {
		if tr.Title == title {
			return tr.ID
		}
	}
	t.Fatalf("no demo training %q", title)
	return ""
}

// enrolAndOpen enrols the learner c in training id and returns the flash
// and the training page after the redirect.
func enrolAndOpen(t *testing.T, c *testServer, id string) (string, *goquery.Document) {
	t.Helper()
	res, _ := c.postForm(t, "/trainings/"+id+"/enrol", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	res, body := c.get(t, res.Header.Get("Location"))
	require.Equal(t, http.StatusOK, res.StatusCode)
	d := doc(t, body)
	return strings.TrimSpace(d.Find(`[data-testid="flash"]`).Text()), d
}

var selfNumberedTitle = regexp.MustCompile(`^\s*\d+\s*[.)]`)

// TestMaterialsAreNumberedOnce: the training page's numbered list of
// materials shows each material's number once, not the list's number and
// then one in the title ("1. 1. Know your customer").
func TestMaterialsAreNumberedOnce(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.Demo = true })
	learner, _ := ts.person(t, "nadia@example.org", store.RoleLearner, "")
	_, d := enrolAndOpen(t, learner, demoTraining(t, ts, "Digital marketing basics for small businesses"))
	list := d.Find(`[data-testid="materials"]`)
	require.Equal(t, 1, list.Length())
	items := list.Find("li")
	require.Equal(t, 4, items.Length())
	if goquery.NodeName(list) == "ol" && !list.HasClass("unnumbered") {
		items.Each(func(_ int, li *goquery.Selection) {
			title := li.Find("a").First().Text()
			assert.NotRegexp(t, selfNumberedTitle, title, "a numbered list of titles that carry their own number")
		})
	}

	// Materials an author numbered in their titles: the list shows no
	// numbers of its own.
	tr, err := ts.store.CreateTraining(t.Context(), member(t, ts, "SME Corporation Malaysia"), "", store.TrainingInput{Title: "Numbered",
		Summary: "s", Language: "en", Kind: store.KindSelfStudy, PassMark: 50, Published: true})
	require.NoError(t, err)
	for _, title := range []string{"1. Pricing", "2) Costs"} {
		_, err = ts.store.AddMaterial(t.Context(), tr.ID, "", store.MaterialInput{Kind: store.MaterialPage, Title: title, BodyMD: "x", Required: true})
		require.NoError(t, err)
	}
	_, d = enrolAndOpen(t, learner, tr.ID)
	assert.True(t, d.Find(`[data-testid="materials"]`).HasClass("unnumbered"), "the titles carry the numbers")
}

// TestMaterialsCountMatchesTheList: the progress counts the materials the
// list shows as required, and the list marks the others as optional, so
// "viewed 0 of 3" agrees with what the learner sees.
func TestMaterialsCountMatchesTheList(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.Demo = true })
	learner, _ := ts.person(t, "nadia@example.org", store.RoleLearner, "")
	id := demoTraining(t, ts, "Digital marketing basics for small businesses")
	_, d := enrolAndOpen(t, learner, id)
	items := d.Find(`[data-testid="materials"] li`)
	required := items.Length() - items.Has(`[data-testid="optional"]`).Length()
	mats, err := ts.store.Materials(t.Context(), id)
	require.NoError(t, err)
	needed := 0
	for _, m := range mats {
		if m.Required {
			needed++
		}
	}
	require.Equal(t, 3, needed)
	assert.Equal(t, needed, required, "the list shows as many required materials as the progress counts")
	p := i18n.NewPrinter("en", nil, "")
	assert.Equal(t, p.T("trainings.progress.required_materials", "viewed", "0", "needed", "3"),
		strings.TrimSpace(d.Find(`[data-testid="materials-progress"]`).Text()))

	// The dashboard counts the same way.
	res, body := learner.get(t, "/dashboard")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, doc(t, body).Find(`[data-testid="dashboard"] tbody tr`).Text(),
		p.T("trainings.dashboard.required_materials", "viewed", "0", "needed", "3"))
}

// TestEnrolWithoutMaterials: enrolling in a live training that has no
// materials does not send the learner to "the first material below".
func TestEnrolWithoutMaterials(t *testing.T) {
	ts := newTestServer(t)
	learner, _ := ts.person(t, "nadia@example.org", store.RoleLearner, "")
	tr, err := ts.store.CreateTraining(t.Context(), member(t, ts, "SME Corporation Malaysia"), "", store.TrainingInput{Title: "Live clinic",
		Summary: "Questions answered", Language: "en", Kind: store.KindLive, Place: "Online", PassMark: 50, Published: true})
	require.NoError(t, err)
	_, err = ts.store.AddSession(t.Context(), tr.ID, ts.clock.Now().Add(24*time.Hour), ts.clock.Now().Add(26*time.Hour))
	require.NoError(t, err)
	flash, d := enrolAndOpen(t, learner, tr.ID)
	p := i18n.NewPrinter("en", nil, "")
	assert.NotEqual(t, p.T("trainings.flash.enrolled"), flash)
	assert.Equal(t, p.T("trainings.flash.enrolled_sessions"), flash)
	assert.Zero(t, d.Find(`[data-testid="materials"]`).Length())

	// A self-study training with materials still points at the first one.
	self, err := ts.store.CreateTraining(t.Context(), member(t, ts, "SME Corporation Malaysia"), "", store.TrainingInput{Title: "Self study",
		Summary: "s", Language: "en", Kind: store.KindSelfStudy, PassMark: 50, Published: true})
	require.NoError(t, err)
	_, err = ts.store.AddMaterial(t.Context(), self.ID, "", store.MaterialInput{Kind: store.MaterialPage, Title: "Start here", BodyMD: "x", Required: true})
	require.NoError(t, err)
	flash, _ = enrolAndOpen(t, learner, self.ID)
	assert.Equal(t, p.T("trainings.flash.enrolled"), flash)
}

// activityCodes reads every activity action code the store declares
// (the Act* constants of store/activity.go), so a code added there
// without words fails here.
func activityCodes(t *testing.T) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), filepath.Join("..", "store", "activity.go"), nil, 0)
	require.NoError(t, err)
	var codes []string
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok || len(vs.Names) != 1 || !strings.HasPrefix(vs.Names[0].Name, "Act") || len(vs.Values) != 1 {
			return true
		}
		if lit, ok := vs.Values[0].(*ast.BasicLit); ok && lit.Kind == token.STRING {
			code, err := strconv.Unquote(lit.Value)
			require.NoError(t, err)
			codes = append(codes, code)
		}
		return true
	})
	require.NotEmpty(t, codes)
	return codes
}

// TestActivityShowsWordsNotCodes: the learner's activity log on the rights
// page and the export's readable page name every action and the kind of
// thing it was about in plain words of the reader's language, never the
// internal code (view_training, quiz_attempt); the quiz outcome reads as
// a word too.
func TestActivityShowsWordsNotCodes(t *testing.T) {
	ts := newTestServer(t)
	learner, u := ts.person(t, "nadia@example.org", store.RoleLearner, "")
	tr, err := ts.store.CreateTraining(t.Context(), member(t, ts, "SME Corporation Malaysia"), "", store.TrainingInput{Title: "Cash flow",
		Summary: "s", Language: "en", Kind: store.KindSelfStudy, PassMark: 50, Published: true})
	require.NoError(t, err)
	q, err := ts.store.AddQuestion(t.Context(), tr.ID, "Which?", []store.Choice{{Label: "a", Correct: true}, {Label: "b"}})
	require.NoError(t, err)
	require.NoError(t, ts.store.Enrol(t.Context(), u.ID, tr.ID))
	_, err = ts.store.SubmitQuiz(t.Context(), u.ID, tr, map[string]string{q.ID: q.Choices[0].ID})
	require.NoError(t, err)
	codes := activityCodes(t)
	objects := []string{"training", "material", "quiz", "quiz_attempt", "certificate", "session"}
	for i, code := range codes {
		require.NoError(t, ts.app.activity.Record(t.Context(), store.ActivityEvent{UserID: u.ID, TrainingID: tr.ID, At: ts.clock.Now(),
			Action: code, ObjectType: objects[i%len(objects)], ObjectID: tr.ID}))
	}
	require.NoError(t, ts.app.activity.Sync(t.Context()))
	codeLike := regexp.MustCompile(`^[a-z]+(_[a-z]+)*$`)

	for _, lang := range []string{"en", "th", "id"} {
		p := i18n.NewPrinter(lang, nil, "")
		for _, code := range codes {
			label := p.T("activity.action." + code)
			assert.NotEqual(t, code, label, "%s: %s has words", lang, code)
			assert.NotContains(t, label, "_", "%s: %s", lang, code)
		}
	}

	res, body := learner.get(t, "/rights/access")
	require.Equal(t, http.StatusOK, res.StatusCode)
	d := doc(t, body)
	cells := d.Find(`[data-testid="access-activity"] tbody td`)
	require.NotZero(t, cells.Length())
	p := i18n.NewPrinter("en", nil, "")
	text := d.Find(`[data-testid="access-activity"]`).Text()
	for _, code := range codes {
		assert.Contains(t, text, p.T("activity.action."+code), "the rights page names %s", code)
	}
	d.Find(`[data-testid="access-activity"] tbody tr`).Each(func(_ int, row *goquery.Selection) {
		// The action and what it was about (the address column may say
		// "removed").
		row.Find("td").Slice(0, 2).Each(func(_ int, c *goquery.Selection) {
			assert.NotRegexp(t, codeLike, strings.TrimSpace(c.Text()), "a code on the rights page")
		})
	})

	// The export's readable page.
	id, err := ts.app.startExport(t.Context(), u.ID)
	require.NoError(t, err)
	require.Equal(t, store.ExportReady, waitExport(t, ts, u.ID, id).Status)
	idx := doc(t, string(openZip(t, download(ts, u.ID, id).Body.Bytes())["index.html"]))
	found := 0
	idx.Find(`[data-testid="export-table"]`).Each(func(_ int, tbl *goquery.Selection) {
		var cols []string
		tbl.Find("thead th").Each(func(_ int, th *goquery.Selection) { cols = append(cols, strings.TrimSpace(th.Text())) })
		tbl.Find("tbody tr").Each(func(_ int, tr *goquery.Selection) {
			tr.Find("td").Each(func(i int, td *goquery.Selection) {
				if i >= len(cols) {
					return
				}
				v := strings.TrimSpace(td.Text())
				switch cols[i] {
				case "action":
					found++
					assert.True(t, slices.ContainsFunc(codes, func(c string) bool { return p.T("activity.action."+c) == v }), "the export names the action %q in words", v)
				case "object_type":
					assert.NotRegexp(t, codeLike, v, "the export names what the action was about in words")
				case "passed":
					assert.Equal(t, p.T("rights.data.yes"), v, "the quiz outcome in words")
				}
			})
		})
	})
	assert.Equal(t, len(codes), found, "every action is in the export")
}

// TestFeedbackIsAnOptOutInTheNoticesWords: the policy makes feedback
// requests voluntary with an opt-out at any time, and the register form
// starts with the box ticked. That is only fair when the form says so: the
// hint beside the box is the very sentence the privacy notice uses, and
// unticking it is respected.
func TestFeedbackIsAnOptOutInTheNoticesWords(t *testing.T) {
	ts := newTestServer(t)
	res, body := ts.get(t, "/privacy")
	require.Equal(t, http.StatusOK, res.StatusCode)
	notice := strings.TrimSpace(doc(t, body).Find(`[data-testid="notice-feedback"]`).Text())
	require.Contains(t, notice, "opt out", "the notice explains feedback requests as an opt-out")

	res, body = ts.get(t, "/register")
	require.Equal(t, http.StatusOK, res.StatusCode)
	d := doc(t, body)
	box := d.Find(`input#feedback[type="checkbox"]`)
	require.Equal(t, 1, box.Length())
	_, checked := box.Attr("checked")
	assert.True(t, checked, "on unless the person opts out")
	assert.Equal(t, notice, strings.TrimSpace(d.Find(`#feedback-hint`).Text()), "the form explains it in the notice's words")

	v := registration()
	v.Del("feedback")
	res, _ = ts.postForm(t, "/register", v)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	u, err := ts.store.UserByEmail(t.Context(), v.Get("email"))
	require.NoError(t, err)
	c, err := ts.store.Consents(t.Context(), u.ID)
	require.NoError(t, err)
	assert.False(t, c.Feedback, "unticked: no feedback requests")
}

// TestProfilePictureOverTheLimitKeepsTheForm: a 3 MB picture (over the
// 2 MB a picture may have) is refused at the field with 422 and everything
// else typed into the profile kept, not with a whole-page 413; only a body
// far beyond any form is still a 413.
func TestProfilePictureOverTheLimitKeepsTheForm(t *testing.T) {
	ts := newTestServer(t)
	c, u := ts.person(t, "nadia@example.org", store.RoleLearner, "")
	v := profileValues()
	v.Set("email", u.Email)
	v.Set("company", "Kedai Kopi Nadia")
	v.Set("institution", "Koperasi Kopi")
	jpeg := encodeJPEG(t, testImage(200, 200))
	picture := append(jpeg, make([]byte, 3<<20-len(jpeg))...)
	require.Len(t, picture, 3<<20)
	res, body := c.postMultipart(t, "/profile", v, "picture", "holiday.jpg", picture)
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	d := doc(t, body)
	p := i18n.NewPrinter("en", nil, "")
	assert.Equal(t, p.T(errPictureTooLarge.Error()), strings.TrimSpace(d.Find(`#picture-error`).Text()), "the message at the field")
	assert.Equal(t, "Kedai Kopi Nadia", d.Find(`#company`).AttrOr("value", ""), "the form is kept")
	assert.Equal(t, "Koperasi Kopi", d.Find(`#institution`).AttrOr("value", ""))
	prof, err := ts.store.Profile(t.Context(), u.ID)
	require.NoError(t, err)
	assert.Nil(t, prof.Picture, "nothing stored")
	assert.NotEqual(t, "Koperasi Kopi", prof.Institution)

	// A body far beyond any form is refused whole.
	res, _ = c.postMultipart(t, "/profile", v, "picture", "film.jpg", make([]byte, 64<<20))
	assert.Equal(t, http.StatusRequestEntityTooLarge, res.StatusCode)
}
