package app

import (
	"bufio"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/storage"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"kelas/i18n"
	"kelas/store"
)

// TestBrowserLearnerInThaiAndVietnamese walks a learner's journey in a
// real Chromium with JavaScript off, in Thai and in Vietnamese: register
// with one name only, confirm by mail (the mail in that language), log
// in, enrol, see a live session in the learner's own time zone with the
// organiser's beside it, download its calendar file, and see the
// certificate. Every page says its language in <html lang> and passes axe.
func TestBrowserLearnerInThaiAndVietnamese(t *testing.T) {
	for _, tc := range []struct {
		lang, country, zone, email string
		script                     *regexp.Regexp
	}{
		{"th", "TH", "Asia/Bangkok", "somchai@example.org", regexp.MustCompile(`\p{Thai}`)},
		{"vi", "VN", "Asia/Ho_Chi_Minh", "lan@example.org", regexp.MustCompile(`[ạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹđ]`)},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			ctx := newBrowserFor(t, 2*time.Minute)
			ts, smtpd := newMailTestServer(t)
			p := i18n.NewPrinter(tc.lang, nil, "")
			const password = "mango sticky rice 2026"

			// A live training organised from Makassar (UTC+8), with one
			// session.
			m, err := ts.store.MemberByName(t.Context(), "SME Corporation Malaysia")
			require.NoError(t, err)
			tr, err := ts.store.CreateTraining(t.Context(), m.ID, "", store.TrainingInput{Title: "Export paperwork", Summary: "Forms and deadlines",
				Language: tc.lang, Kind: store.KindLive, Place: "Online", PassMark: 50, Published: true})
			require.NoError(t, err)
			starts := time.Date(2026, 3, 10, 2, 0, 0, 0, time.UTC) // 10:00 in Makassar, 09:00 in Bangkok and Hanoi
			se, err := ts.store.AddSessionIn(t.Context(), tr.ID, starts, starts.Add(2*time.Hour), "Asia/Makassar")
			require.NoError(t, err)

			// page checks what every page must be: in the chosen language
			// and free of accessibility violations.
			page := func(what string) {
				t.Helper()
				lang, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS("html"), "lang"))
				require.NoError(t, err)
				assert.Equal(t, tc.lang, lang.Value, "%s: <html lang>", what)
				axeCheck(t, ctx, what)
			}
			text := func(sel string) string {
				t.Helper()
				v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
				require.NoError(t, err)
				return v
			}

			// Choose the language with the switcher, then register with
			// the surname left empty.
			require.NoError(t, chromedp.Do(ctx,
				chromedp.Navigate(ts.URL+"/register"),
				chromedp.WaitVisible(chromedp.CSS(`[data-testid="register-form"]`)),
				chromedp.Click(chromedp.CSS(`.language-switcher a[lang="`+tc.lang+`"]`)),
				chromedp.WaitVisible(chromedp.CSS(`html[lang="`+tc.lang+`"] [data-testid="register-form"]`)),
			))
			page("register")
			assert.Regexp(t, tc.script, text("h1"), "the heading is in the language")
			require.NoError(t, chromedp.Do(ctx,
				chromedp.SendKeys(chromedp.CSS(`#first_name`), "Somchai"),
				chromedp.SendKeys(chromedp.CSS(`#email`), tc.email),
				chromedp.SetValue(chromedp.CSS(`#country`), tc.country),
				chromedp.SendKeys(chromedp.CSS(`#company`), "Mango Export"),
				chromedp.SetValue(chromedp.CSS(`#industry`), "C"),
				chromedp.SendKeys(chromedp.CSS(`#password`), password),
				chromedp.Click(chromedp.CSS(`#adult`)),
				chromedp.Click(chromedp.CSS(`#accept_policy`)),
				chromedp.Submit(chromedp.CSS(`#password`)),
				chromedp.WaitVisible(chromedp.CSS(`[data-testid="flash"]`)),
			))
			page("after registering")
			u, err := ts.store.UserByEmail(t.Context(), tc.email)
			require.NoError(t, err)
			assert.Empty(t, u.Surname, "one name is enough")
			assert.Equal(t, tc.lang, u.Language, "the page's language is saved")
			assert.Equal(t, tc.zone, u.TimeZone, "the zone follows the country")

			// The confirmation mail is in the learner's language.
			ts.deliver(t)
			mails := smtpd.WaitFor(t, 1)
			require.Len(t, mails, 1)
			assert.Regexp(t, tc.script, mails[0].Subject, "subject in %s", tc.lang)
			assert.Regexp(t, tc.script, mails[0].Text, "body in %s", tc.lang)
			verify := linkIn(t, mails[0], "/verify/")
			require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(ts.URL+verify), chromedp.WaitReady(chromedp.CSS("main"))))
			page("confirmed")

			// A new visit (no cookies at all): the login page in the
			// language asked for, then the saved language takes over.
			_, err = chromedp.Call(ctx, network.ClearBrowserCookies, cdp.Empty{})
			require.NoError(t, err)
			require.NoError(t, chromedp.Do(ctx,
				chromedp.Navigate(ts.URL+"/login?lang="+tc.lang),
				chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-form"]`)),
			))
			page("login")
			require.NoError(t, chromedp.Do(ctx,
				chromedp.SendKeys(chromedp.CSS(`#email`), tc.email),
				chromedp.SendKeys(chromedp.CSS(`#password`), password),
				chromedp.Submit(chromedp.CSS(`#password`)),
				chromedp.WaitVisible(chromedp.CSS(`form[action="/logout"]`)),
			))
			page("after login")

			// Enrol, and see the session in the learner's zone with the
			// organiser's beside it.
			require.NoError(t, chromedp.Do(ctx,
				chromedp.Navigate(ts.URL+"/trainings/"+tr.ID),
				chromedp.WaitVisible(chromedp.CSS(`[data-testid="enrol"]`)),
			))
			page("training")
			require.NoError(t, chromedp.Do(ctx,
				chromedp.Click(chromedp.CSS(`[data-testid="enrol"]`)),
				chromedp.WaitVisible(chromedp.CSS(`[data-testid="flash"]`)),
			))
			page("enrolled")
			zone, err := time.LoadLocation(tc.zone)
			require.NoError(t, err)
			sessions := text(`[data-testid="session"]`)
			assert.Contains(t, sessions, i18n.NewPrinter(tc.lang, zone, "").Clock(starts), "the learner's time, 09:00 in %s", tc.zone)
			makassar, err := time.LoadLocation("Asia/Makassar")
			require.NoError(t, err)
			assert.Contains(t, sessions, i18n.NewPrinter(tc.lang, makassar, "").Clock(starts), "the organiser's time beside it, 10:00")

			// The calendar file, fetched with the browser's session.
			cookies, err := chromedp.Call(ctx, storage.GetCookies, storage.GetCookiesParams{})
			require.NoError(t, err)
			req, err := http.NewRequest(http.MethodGet, ts.URL+"/trainings/"+tr.ID+"/calendar.ics", nil)
			require.NoError(t, err)
			for _, c := range cookies.Cookies {
				req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
			}
			res, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			ics, _ := io.ReadAll(res.Body)
			res.Body.Close()
			require.Equal(t, http.StatusOK, res.StatusCode)
			assert.True(t, strings.HasPrefix(res.Header.Get("Content-Type"), "text/calendar"))
			var dtstart string
			sc := bufio.NewScanner(strings.NewReader(string(ics)))
			for sc.Scan() {
				if v, ok := strings.CutPrefix(sc.Text(), "DTSTART:"); ok {
					dtstart = v
				}
			}
			assert.Equal(t, "20260310T020000Z", dtstart, "the instant in UTC")

			// The organiser marks attendance; the certificate follows.
			staff, err := ts.store.CreateUser(t.Context(), store.NewUser{Email: "organiser@example.org", FirstName: "O", PasswordHash: "x",
				Role: store.RoleMemberStaff, Verified: true})
			require.NoError(t, err)
			require.NoError(t, ts.store.MarkAttendance(t.Context(), se.ID, u.ID, staff.ID))
			cert, err := ts.store.CompleteIfDone(t.Context(), u.ID, tr.ID)
			require.NoError(t, err)
			require.NotNil(t, cert, "attending the only session completes the training")
			require.NoError(t, chromedp.Do(ctx,
				chromedp.Navigate(ts.URL+"/dashboard"),
				chromedp.WaitVisible(chromedp.CSS(`[data-testid="dashboard"]`)),
			))
			page("dashboard")
			require.NoError(t, chromedp.Do(ctx,
				chromedp.Navigate(ts.URL+"/certificates/"+cert.Code),
				chromedp.WaitVisible(chromedp.CSS(`[data-testid="certificate"]`)),
			))
			page("certificate")
			assert.Contains(t, text(`[data-testid="holder"]`), "Somchai")
			assert.Regexp(t, tc.script, text(`[data-testid="certificate"]`), "the certificate speaks %s", tc.lang)
			assert.Contains(t, text(`[data-testid="certificate"]`), p.Date(cert.IssuedAt), "the date written the %s way", tc.lang)
		})
	}
}
