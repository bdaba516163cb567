package app

import (
	"bytes"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"kelas/store"
)

// TestBrowserLearnerStudiesToAPrintedCertificate follows a learner through
// the whole of a self-study training in a real Chromium with JavaScript
// off, only by clicking what the pages offer: log in and land on the
// dashboard, continue where they left off, go on to the next material,
// take the quiz and read which answer was wrong and why, then print the
// certificate: one page, without the site's navigation.
func TestBrowserLearnerStudiesToAPrintedCertificate(t *testing.T) {
	ctx := newBrowser(t)
	ts := newTestServer(t)
	c := t.Context()
	tr, err := ts.store.CreateTraining(c, member(t, ts, "SME Corporation Malaysia"), "", store.TrainingInput{Title: "Keeping the books of a small shop",
		Summary: "Receipts, cash and stock in three short lessons", Language: "en", Kind: store.KindSelfStudy, PassMark: 50, Published: true})
	require.NoError(t, err)
	var mats []store.Material
	for _, title := range []string{"Why keep receipts", "Counting the cash drawer"} {
		m, err := ts.store.AddMaterial(c, tr.ID, "", store.MaterialInput{Kind: store.MaterialPage, Title: title, BodyMD: "Read this: " + title + ".", Required: true})
		require.NoError(t, err)
		mats = append(mats, m)
	}
	single, err := ts.store.AddQuizQuestion(c, tr.ID, store.QuestionInput{Kind: store.QuestionSingle, Prompt: "How long should a shop keep its receipts?",
		Explanation: "Tax offices may ask for them for several years.",
		Choices:     []store.Choice{{Label: "Five years", Correct: true}, {Label: "One week"}}})
	require.NoError(t, err)
	_, err = ts.store.AddQuizQuestion(c, tr.ID, store.QuestionInput{Kind: store.QuestionShort, Prompt: "What do you count at the end of each day?",
		Explanation: "The cash drawer is counted daily against the day's sales.",
		Choices:     []store.Choice{{Label: "the cash drawer", Correct: true}}})
	require.NoError(t, err)
	var right string
	for _, ch := range single.Choices {
		if ch.Correct {
			right = ch.ID
		}
	}
	require.NotEmpty(t, right)
	_, u := ts.person(t, "siti@example.org", store.RoleLearner, "")
	require.NoError(t, ts.store.Enrol(c, u.ID, tr.ID))

	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		require.NoError(t, err)
		return s
	}
	location := func() string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Location())
		require.NoError(t, err)
		return strings.TrimPrefix(s, ts.URL)
	}

	// Log in: the dashboard, with the training and no progress yet.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(ts.URL+"/login"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-form"]`)),
		chromedp.SendKeys(chromedp.CSS(`#email`), "siti@example.org"),
		chromedp.SendKeys(chromedp.CSS(`#password`), "a long test password"),
		chromedp.Submit(chromedp.CSS(`#password`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/logout"]`)),
	))
	assert.Equal(t, "/dashboard", location(), "a learner lands on the dashboard")
	assert.Contains(t, text(`[data-testid="dashboard-progress"]`), "0 of 2 required materials")

	// Continue where they left off: the first material, counted as done
	// once read; then on to the next one.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-testid="continue"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="study-nav"]`)),
	))
	assert.Equal(t, "/trainings/"+tr.ID+"/materials/"+mats[0].ID, location())
	assert.Contains(t, text(`[data-testid="study-nav"]`), "Done")
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-testid="next"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="prev"]`)),
	))
	assert.Equal(t, "/trainings/"+tr.ID+"/materials/"+mats[1].ID, location(), "on to the next material")

	// The quiz, from the training page: one right answer, one wrong.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(ts.URL+"/trainings/"+tr.ID),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="quiz-link"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="quiz-link"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="quiz-start"] button`)),
		chromedp.Click(chromedp.CSS(`[data-testid="quiz-start"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="quiz-form"]`)),
		chromedp.Click(chromedp.CSS(`#c_`+right)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="quiz-form"] input[type="text"]`), "the stock"),
		chromedp.Click(chromedp.CSS(`[data-testid="quiz-form"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="quiz-results"]`)),
	))
	assert.Contains(t, text(`[data-testid="quiz-score"]`), "50")
	verdicts, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('[data-testid="quiz-result"]')].map(li => li.dataset.correct + ":" + (li.querySelector('[data-testid="explanation"]')||{textContent:""}).textContent)`))
	require.NoError(t, err)
	require.Len(t, verdicts, 2)
	wrong := 0
	for _, v := range verdicts {
		if strings.HasPrefix(v, "false:") {
			wrong++
			assert.Contains(t, v, "The cash drawer is counted daily", "the wrong answer is explained")
		}
	}
	assert.Equal(t, 1, wrong, "one answer was wrong: %v", verdicts)

	// Passed at the pass mark: the dashboard links the certificate.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(ts.URL+"/dashboard"),
		chromedp.WaitVisible(chromedp.CSS(`a[href^="/certificates/"]`)),
		chromedp.Click(chromedp.CSS(`a[href^="/certificates/"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="certificate"]`)),
	))
	assert.Contains(t, text(`[data-testid="certificate-training"]`), "Keeping the books of a small shop")

	// Printed: the certificate alone on one page.
	_, err = chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: "print"})
	require.NoError(t, err)
	navShown, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`[...document.querySelectorAll("nav, header, footer")].some(el => el.getClientRects().length > 0)`))
	require.NoError(t, err)
	assert.False(t, navShown, "no navigation, header or footer in print")
	_, err = chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{})
	require.NoError(t, err)
	yes := true
	pdf, err := chromedp.Call(ctx, page.PrintToPDF, page.PrintToPDFParams{PreferCSSPageSize: &yes, PrintBackground: &yes})
	require.NoError(t, err)
	require.True(t, bytes.HasPrefix(pdf.Data, []byte("%PDF")))
	assert.Len(t, pdfPage.FindAll(pdf.Data, -1), 1, "the certificate prints on one page")
}
