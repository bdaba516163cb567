package app

import (
	"bytes"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"kelas/store"
)

// certificateFor gives a learner a certificate for a live training they
// attended and returns its code.
func certificateFor(t *testing.T, ts *testServer) string {
	t.Helper()
	_, u := ts.person(t, "nadia@example.org", store.RoleLearner, "")
	tr, err := ts.store.CreateTraining(t.Context(), member(t, ts, "SME Corporation Malaysia"), "", store.TrainingInput{Title: "Export paperwork for small food producers",
		Summary: "Forms and deadlines", Language: "en", Kind: store.KindLive, Place: "Online", PassMark: 50, Published: true})
	require.NoError(t, err)
	se, err := ts.store.AddSession(t.Context(), tr.ID, ts.clock.Now().Add(-2*time.Hour), ts.clock.Now().Add(-time.Hour))
	require.NoError(t, err)
	require.NoError(t, ts.store.Enrol(t.Context(), u.ID, tr.ID))
	require.NoError(t, ts.store.MarkAttendance(t.Context(), se.ID, u.ID, "x"))
	cert, err := ts.store.CompleteIfDone(t.Context(), u.ID, tr.ID)
	require.NoError(t, err)
	require.NotNil(t, cert)
	return cert.Code
}

// TestCertificatePrintStylesheet: the stylesheet prints a certificate on
// its own A4 landscape page, and the certificate page marks the part to
// print.
func TestCertificatePrintStylesheet(t *testing.T) {
	ts := newTestServer(t)
	res, css := ts.get(t, "/static/kelas.css")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.True(t, regexp.MustCompile(`@page certificate\s*\{[^}]*size:\s*A4 landscape`).MatchString(css), "an A4 landscape page for certificates")
	assert.True(t, strings.Contains(css, "@media print"), "print rules")
	res, body := ts.get(t, "/certificates/"+certificateFor(t, ts))
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, 1, doc(t, body).Find(`main > .printable[data-testid="certificate"]`).Length(), "the certificate is the part to print")
}

var pdfPage = regexp.MustCompile(`/Type\s*/Page\b`)
var pdfMediaBox = regexp.MustCompile(`/MediaBox\s*\[\s*0\s+0\s+([0-9.]+)\s+([0-9.]+)\s*\]`)

// TestBrowserCertificatePrintsOnOnePage prints a certificate in a real
// Chromium (JavaScript off) as a person would from the browser's menu: one
// A4 landscape page, without the site's header, navigation or footer.
func TestBrowserCertificatePrintsOnOnePage(t *testing.T) {
	ctx := newBrowser(t)
	ts := newTestServer(t)
	code := certificateFor(t, ts)
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(ts.URL+"/certificates/"+code), chromedp.WaitVisible(chromedp.CSS(`[data-testid="certificate"]`))))

	// What print hides: the site's chrome, and everything in main but the
	// certificate.
	_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: "print"})
	require.NoError(t, err)
	shown, err := chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll("body *")]
		.filter(el => el.getClientRects().length > 0 && !el.closest('[data-testid="certificate"]') && !el.contains(document.querySelector('[data-testid="certificate"]')))
		.map(el => el.tagName.toLowerCase() + (el.className ? "." + el.className : "")).join(" ")`))
	require.NoError(t, err)
	assert.Empty(t, strings.TrimSpace(shown), "printed besides the certificate")
	_, err = chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{})
	require.NoError(t, err)

	yes := true
	pdf, err := chromedp.Call(ctx, page.PrintToPDF, page.PrintToPDFParams{PreferCSSPageSize: &yes, PrintBackground: &yes})
	require.NoError(t, err)
	require.True(t, bytes.HasPrefix(pdf.Data, []byte("%PDF")))
	assert.Len(t, pdfPage.FindAll(pdf.Data, -1), 1, "one page")
	box := pdfMediaBox.FindSubmatch(pdf.Data)
	require.NotNil(t, box, "the page has a size")
	w, err := strconv.ParseFloat(string(box[1]), 64)
	require.NoError(t, err)
	h, err := strconv.ParseFloat(string(box[2]), 64)
	require.NoError(t, err)
	assert.InDelta(t, 842, w, 2, "A4 landscape: 297 mm wide")
	assert.InDelta(t, 595, h, 2, "A4 landscape: 210 mm high")
}
