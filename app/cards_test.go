package app

import (
	"bytes"
	"image/jpeg"
	"image/png"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"kelas/i18n"
	"kelas/store"
)

// TestTrainingCoverUpload: staff upload a cover on the training's edit
// form; it is redrawn from its pixels like a profile picture, and anything
// that is not a JPEG or PNG of sane size is refused at the field with the
// form kept and nothing saved. Anyone sees a published training's cover.
func TestTrainingCoverUpload(t *testing.T) {
	ts := newTestServer(t)
	staff, _ := ts.person(t, "staff@example.org", store.RoleMemberStaff, member(t, ts, "SME Corporation Malaysia"))
	id := createTraining(t, staff, trainingValues())
	visitor := ts.newClient(t)

	for _, tc := range []struct{ name, file string }{
		{"svg", `<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`},
		{"text", "just some words, not a picture"},
		{"bomb", string(pngBomb(50000, 50000))},
		{"large", string(append(pngWithText(t, 10, 10), bytes.Repeat([]byte{0}, maxPictureBytes)...))},
		{"gif", string(gifBytes(t))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := trainingValues()
			v.Set("title", "A title typed just now")
			res, body := staff.postMultipart(t, "/console/trainings/"+id, v, "cover", "cover."+tc.name, []byte(tc.file))
			require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
			d := doc(t, body)
			assert.NotEmpty(t, d.Find(`[data-testid="error-cover"]`).Text())
			assert.Equal(t, "true", d.Find(`#cover`).AttrOr("aria-invalid", ""))
			assert.Equal(t, "A title typed just now", d.Find(`[data-testid="training-form"] #title`).AttrOr("value", ""), "the form is kept")
			_, err := ts.store.TrainingCover(t.Context(), id)
			require.ErrorIs(t, err, store.ErrNotFound, "nothing saved")
			tr, err := ts.store.Training(t.Context(), id)
			require.NoError(t, err)
			assert.Equal(t, "Bookkeeping for micro enterprises", tr.Title)
		})
	}

	// PNG: redrawn, its text chunk gone, served to anyone and cached.
	res, _ := staff.postMultipart(t, "/console/trainings/"+id, trainingValues(), "cover", "cover.png", pngWithText(t, 40, 20))
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	res, body := visitor.get(t, "/trainings/"+id+"/cover")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "image/png", res.Header.Get("Content-Type"))
	assert.Equal(t, "public, max-age=86400", res.Header.Get("Cache-Control"))
	assert.Equal(t, "nosniff", res.Header.Get("X-Content-Type-Options"))
	img, err := png.Decode(strings.NewReader(body))
	require.NoError(t, err)
	assert.Equal(t, 40, img.Bounds().Dx())
	assert.NotContains(t, body, "SECRET", "redrawn: the text chunk is gone")

	// The edit form shows it, with a way to remove it.
	_, body = staff.get(t, "/console/trainings/"+id)
	d := doc(t, body)
	assert.Equal(t, "multipart/form-data", d.Find(`[data-testid="training-form"]`).AttrOr("enctype", ""))
	assert.Contains(t, d.Find(`[data-testid="cover-preview"]`).AttrOr("src", ""), "/trainings/"+id+"/cover?v=")
	assert.Equal(t, 1, d.Find(`input[name="remove_cover"]`).Length())

	// JPEG: redrawn, its EXIF, XMP, ICC and comment gone.
	res, _ = staff.postMultipart(t, "/console/trainings/"+id, trainingValues(), "cover", "cover.jpg", jpegWithMetadata(t, 64, 36))
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	res, body = visitor.get(t, "/trainings/"+id+"/cover")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "image/jpeg", res.Header.Get("Content-Type"))
	_, err = jpeg.Decode(strings.NewReader(body))
	require.NoError(t, err)
	assert.NotContains(t, body, "SECRET")

	// Saving the form without a file keeps the cover.
	res, _ = staff.postMultipart(t, "/console/trainings/"+id, trainingValues(), "", "", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	res, _ = visitor.get(t, "/trainings/"+id+"/cover")
	require.Equal(t, http.StatusOK, res.StatusCode)

	// A draft's cover is not for visitors, and not cached for staff.
	v := trainingValues()
	v.Del("published")
	res, _ = staff.postMultipart(t, "/console/trainings/"+id, v, "", "", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	res, _ = visitor.get(t, "/trainings/"+id+"/cover")
	assert.Equal(t, http.StatusNotFound, res.StatusCode)
	res, _ = staff.get(t, "/trainings/"+id+"/cover")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "private, no-store", res.Header.Get("Cache-Control"))

	v.Set("remove_cover", "on")
	res, _ = staff.postMultipart(t, "/console/trainings/"+id, v, "", "", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	res, _ = staff.get(t, "/trainings/"+id+"/cover")
	assert.Equal(t, http.StatusNotFound, res.StatusCode)
}

// cardFor finds the card of the training titled title in a list.
func cardFor(t *testing.T, list *goquery.Selection, title string) *goquery.Selection {
	t.Helper()
	var card *goquery.Selection
	list.Find(`[data-testid="training-card"]`).Each(func(_ int, s *goquery.Selection) {
		if strings.TrimSpace(s.Find(".card-title").Text()) == title {
			card = s
		}
	})
	require.NotNil(t, card, "card of %q", title)
	return card
}

// TestCatalogueCards: each training is a card with its Member, language,
// format and length, a live one with the date of its next session in the
// viewer's own zone; the title is the card's one link, the cover's text
// empty (decorative), and a training without a cover gets the placeholder.
func TestCatalogueCards(t *testing.T) {
	ts := newTestServer(t)
	ctx := t.Context()
	memberID := member(t, ts, "SME Corporation Malaysia")
	m, err := ts.store.Member(ctx, memberID)
	require.NoError(t, err)
	self, err := ts.store.CreateTraining(ctx, memberID, "", store.TrainingInput{Title: "Cash book basics", Summary: "s", Language: "id",
		Kind: store.KindSelfStudy, PassMark: 50, Published: true})
	require.NoError(t, err)
	for _, title := range []string{"One", "Two", "Three"} {
		_, err := ts.store.AddMaterial(ctx, self.ID, "", store.MaterialInput{Kind: store.MaterialPage, Title: title, BodyMD: "x", Required: true})
		require.NoError(t, err)
	}
	require.NoError(t, ts.store.SetTrainingCover(ctx, self.ID, pngWithText(t, 20, 10), "image/png"))
	live, err := ts.store.CreateTraining(ctx, memberID, "", store.TrainingInput{Title: "Export clinic", Summary: "s", Language: "en",
		Kind: store.KindLive, PassMark: 50, Published: true})
	require.NoError(t, err)
	now := ts.clock.Now().UTC()
	// A past session, then the next one late in the UTC evening: already
	// the next day in Bangkok.
	_, err = ts.store.AddSession(ctx, live.ID, now.Add(-48*time.Hour), now.Add(-47*time.Hour))
	require.NoError(t, err)
	next := time.Date(now.Year(), now.Month(), now.Day()+10, 23, 30, 0, 0, time.UTC)
	_, err = ts.store.AddSession(ctx, live.ID, next, next.Add(2*time.Hour))
	require.NoError(t, err)
	_, err = ts.store.AddSession(ctx, live.ID, next.Add(72*time.Hour), next.Add(74*time.Hour))
	require.NoError(t, err)

	learner, u := ts.person(t, "learner@example.org", store.RoleLearner, "")
	require.NoError(t, ts.store.SetZonePreferences(ctx, u.ID, "Asia/Bangkok", store.NameGivenFirst))
	bangkok, err := time.LoadLocation("Asia/Bangkok")
	require.NoError(t, err)
	want := i18n.NewPrinter("en", bangkok, "").DateShort(next)
	require.NotEqual(t, i18n.NewPrinter("en", time.UTC, "").DateShort(next), want, "the test needs a date that differs by zone")

	res, body := learner.get(t, "/trainings?lang=en")
	require.Equal(t, http.StatusOK, res.StatusCode)
	list := doc(t, body).Find(`[data-testid="trainings"]`)
	require.Equal(t, 2, list.Find(`[data-testid="training-card"]`).Length())

	c := cardFor(t, list, "Export clinic")
	assert.Equal(t, m.Name, strings.TrimSpace(c.Find(`[data-testid="card-member"]`).Text()))
	assert.Equal(t, "Live sessions", strings.TrimSpace(c.Find(`[data-testid="card-format"]`).Text()))
	assert.Equal(t, "English", strings.TrimSpace(c.Find(`[data-testid="card-language"]`).Text()))
	assert.Equal(t, "3 sessions", strings.TrimSpace(c.Find(`[data-testid="card-length"]`).Text()))
	start := c.Find(`[data-testid="card-start"]`)
	assert.Equal(t, "Next session: "+want, strings.TrimSpace(start.Text()))
	assert.Equal(t, next.Format(time.RFC3339), start.Find("time").AttrOr("datetime", ""))
	assert.Equal(t, 1, c.Find(`[data-testid="card-no-cover"]`).Length(), "no cover: the placeholder")
	assert.Equal(t, "true", c.Find(`[data-testid="card-no-cover"]`).AttrOr("aria-hidden", ""))

	c = cardFor(t, list, "Cash book basics")
	assert.Equal(t, "Self-study", strings.TrimSpace(c.Find(`[data-testid="card-format"]`).Text()))
	assert.Equal(t, "Bahasa Indonesia", strings.TrimSpace(c.Find(`[data-testid="card-language"]`).Text()))
	assert.Equal(t, "3 materials", strings.TrimSpace(c.Find(`[data-testid="card-length"]`).Text()))
	assert.Equal(t, 0, c.Find(`[data-testid="card-start"]`).Length())
	img := c.Find(`img[data-testid="card-cover"]`)
	require.Equal(t, 1, img.Length())
	alt, ok := img.Attr("alt")
	assert.True(t, ok && alt == "", "a decorative cover has an empty text")
	res, _ = ts.newClient(t).get(t, img.AttrOr("src", ""))
	assert.Equal(t, http.StatusOK, res.StatusCode)

	// Accessible: a heading per card holding its one link.
	list.Find(`[data-testid="training-card"]`).Each(func(_ int, s *goquery.Selection) {
		assert.Equal(t, 1, s.Find("h2 a").Length())
		assert.Equal(t, 1, s.Find("a, button, input, select, textarea").Length(), "one interactive element per card")
	})
}

// TestHomeNewestAndMostFollowed: the home page lists the newest trainings
// and those with the most people enrolled, in that order, leaving out
// archived trainings and drafts.
func TestHomeNewestAndMostFollowed(t *testing.T) {
	ts := newTestServer(t)
	ctx := t.Context()
	memberID := member(t, ts, "SME Corporation Malaysia")
	mk := func(title string, published bool) string {
		ts.clock.Add(time.Minute)
		tr, err := ts.store.CreateTraining(ctx, memberID, "", store.TrainingInput{Title: title, Summary: "s", Language: "en",
			Kind: store.KindSelfStudy, PassMark: 50, Published: published})
		require.NoError(t, err)
		return tr.ID
	}
	a, b, c := mk("Alpha", true), mk("Bravo", true), mk("Charlie", true)
	archived := mk("Archived", true)
	mk("Draft", false)
	var learners []string
	for _, e := range []string{"l1@example.org", "l2@example.org", "l3@example.org"} {
		_, u := ts.person(t, e, store.RoleLearner, "")
		learners = append(learners, u.ID)
	}
	enrol := func(tr string, n int) {
		for _, uid := range learners[:n] {
			require.NoError(t, ts.store.Enrol(ctx, uid, tr))
		}
	}
	enrol(b, 2)
	enrol(a, 1)
	enrol(archived, 3)
	require.NoError(t, ts.store.ArchiveTraining(ctx, archived))
	_ = c

	res, body := ts.newClient(t).get(t, "/?lang=en")
	require.Equal(t, http.StatusOK, res.StatusCode)
	d := doc(t, body)
	titles := func(list string) []string {
		var out []string
		d.Find(`[data-testid="` + list + `"] .card-title`).Each(func(_ int, s *goquery.Selection) {
			out = append(out, strings.TrimSpace(s.Text()))
		})
		return out
	}
	assert.Equal(t, []string{"Charlie", "Bravo", "Alpha"}, titles("newest"))
	assert.Equal(t, []string{"Bravo", "Alpha", "Charlie"}, titles("popular"))
	assert.Equal(t, 1, d.Find(`[data-testid="newest"] h3 a[href="/trainings/`+b+`"]`).Length())
}

// TestOutlineBeforeEnrolling: a visitor and a learner not yet enrolled see
// what a training holds (titles of its materials, its quiz, its sessions)
// but none of its content; once enrolled, the materials list replaces it.
func TestOutlineBeforeEnrolling(t *testing.T) {
	ts := newTestServer(t)
	ctx := t.Context()
	tr, err := ts.store.CreateTraining(ctx, member(t, ts, "SME Corporation Malaysia"), "", store.TrainingInput{Title: "Export clinic",
		Summary: "s", Language: "en", Kind: store.KindLive, PassMark: 60, Published: true})
	require.NoError(t, err)
	_, err = ts.store.AddMaterial(ctx, tr.ID, "", store.MaterialInput{Kind: store.MaterialPage, Title: "Customs forms",
		BodyMD: "The BODY-ONLY-FOR-LEARNERS text.", Required: true})
	require.NoError(t, err)
	_, err = ts.store.AddMaterial(ctx, tr.ID, "", store.MaterialInput{Kind: store.MaterialVideo, Title: "Incoterms explained",
		URL: "https://video.example.org/SECRET-VIDEO", Required: true})
	require.NoError(t, err)
	hidden, err := ts.store.AddMaterial(ctx, tr.ID, "", store.MaterialInput{Kind: store.MaterialPage, Title: "Hidden draft", BodyMD: "x", Required: true})
	require.NoError(t, err)
	require.NoError(t, ts.store.SetMaterialHidden(ctx, tr.ID, hidden.ID, true))
	for _, p := range []string{"First?", "Second?"} {
		_, err = ts.store.AddQuestion(ctx, tr.ID, p, []store.Choice{{Label: "ANSWER-SECRET", Correct: true}, {Label: "b"}})
		require.NoError(t, err)
	}
	now := ts.clock.Now()
	_, err = ts.store.AddSession(ctx, tr.ID, now.Add(24*time.Hour), now.Add(26*time.Hour))
	require.NoError(t, err)

	learner, u := ts.person(t, "learner@example.org", store.RoleLearner, "")
	for name, c := range map[string]*testServer{"visitor": ts.newClient(t), "learner": learner} {
		t.Run(name, func(t *testing.T) {
			res, body := c.get(t, "/trainings/"+tr.ID+"?lang=en")
			require.Equal(t, http.StatusOK, res.StatusCode)
			d := doc(t, body)
			o := d.Find(`[data-testid="outline"]`)
			require.Equal(t, 1, o.Length())
			var titles []string
			o.Find(`[data-testid="outline-material"]`).Each(func(_ int, s *goquery.Selection) {
				titles = append(titles, strings.TrimSpace(s.Contents().First().Text()))
			})
			assert.Equal(t, []string{"Customs forms", "Incoterms explained"}, titles)
			assert.Equal(t, "A quiz of 2 questions, pass mark 60%.", strings.TrimSpace(o.Find(`[data-testid="outline-quiz"]`).Text()))
			assert.Equal(t, "1 session", strings.TrimSpace(o.Find(`[data-testid="outline-sessions"]`).Text()))
			assert.Equal(t, 0, o.Find("a").Length(), "nothing to open before enrolling")
			assert.NotContains(t, body, "BODY-ONLY-FOR-LEARNERS")
			assert.NotContains(t, body, "SECRET")
			assert.NotContains(t, body, "Hidden draft")
			assert.Equal(t, 0, d.Find(`[data-testid="materials"]`).Length())
		})
	}

	require.NoError(t, ts.store.Enrol(ctx, u.ID, tr.ID))
	_, body := learner.get(t, "/trainings/"+tr.ID+"?lang=en")
	d := doc(t, body)
	assert.Equal(t, 0, d.Find(`[data-testid="outline"]`).Length())
	assert.Equal(t, 1, d.Find(`[data-testid="materials"]`).Length())
}
