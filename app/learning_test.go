package app

import (
	"net/http"
	"regexp"
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
