package app

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"kelas/i18n"
	"kelas/jobs/smtptest"
	"kelas/store"
)

// identityFixture is who runs the portal, as an operator enters it.
var identityFixture = map[string]string{
	store.SettingSiteName: "Latihan UKM – Nusantara", store.SettingControllerName: "SME Programme Office",
	store.SettingControllerAddress: "Jl. Merdeka 1\r\nJakarta 10110", store.SettingControllerEmail: "office@example.org",
	store.SettingControllerPhone: "+62 21 555 0100", store.SettingDPOName: "Dewi Lestari", store.SettingDPOEmail: "dpo@example.org",
	store.SettingAuthorityName: "the Data Protection Authority", store.SettingAuthorityURL: "https://authority.example.org/complaints",
}

// enterIdentity has an operator save the identity and a logo on
// /console/settings.
func enterIdentity(t *testing.T, ts *testServer) {
	t.Helper()
	op, _ := ts.person(t, "ops@example.org", store.RoleOperator, "")
	v := settingsValues(t, ts)
	for k, x := range identityFixture {
		v.Set(k, x)
	}
	res, body := op.postMultipart(t, "/console/settings", v, "logo", "logo.png", pngWithText(t, 40, 20))
	require.Equal(t, http.StatusSeeOther, res.StatusCode, body)
}

// learnerIn is a verified learner whose saved language is lang.
func learnerIn(t *testing.T, ts *testServer, email, lang string) store.User {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte("a long test password"), bcrypt.MinCost)
	require.NoError(t, err)
	u, err := ts.store.CreateUser(t.Context(), store.NewUser{Email: email, FirstName: "Sari", Surname: "Tester", PasswordHash: string(hash),
		Role: store.RoleLearner, Verified: true, AdultConfirmed: true, AcceptedPolicy: seededPolicy, Language: lang})
	require.NoError(t, err)
	return u
}

// resetMail asks for a password reset for email and returns the mail
// that reached the SMTP server.
func resetMail(t *testing.T, ts *testServer, smtpd *smtptest.Server, email string, before int) smtptest.Mail {
	t.Helper()
	res, _ := ts.newClient(t).postForm(t, "/password/forgot", url.Values{"email": {email}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	ts.deliver(t)
	return mailTo(t, smtpd.WaitFor(t, before+1), email)
}

// TestIdentityEverywhere: the site's name, the controller with its address,
// email and phone, the privacy officer and the supervisory authority, once
// entered on /console/settings, are on the privacy notice, in every page's
// footer, in mail (the sender's display name and a signature in the
// recipient's language, read when the mail is written), on certificates
// (beside the Member, with the logo) and in an export's index.html.
func TestIdentityEverywhere(t *testing.T) {
	ts, smtpd := newMailServer(t, func(c *Config) { c.MailFrom = "noreply@kelas.test" })
	enterIdentity(t, ts)
	learner := learnerIn(t, ts, "sari@example.org", "id")
	visitor := ts.newClient(t)

	t.Run("privacy notice", func(t *testing.T) {
		res, body := visitor.get(t, "/privacy")
		require.Equal(t, http.StatusOK, res.StatusCode)
		d := doc(t, body)
		id := d.Find(`[data-testid="notice-identity"]`).Text()
		for _, want := range []string{"SME Programme Office is responsible", "Jakarta 10110", "office@example.org", "+62 21 555 0100",
			"Dewi Lestari", "dpo@example.org", "right to complain to the Data Protection Authority"} {
			assert.Contains(t, id, want)
		}
		assert.Equal(t, 1, d.Find(`[data-testid="notice-identity"] a[href="https://authority.example.org/complaints"]`).Length())
	})

	t.Run("footer", func(t *testing.T) {
		res, body := visitor.get(t, "/trainings")
		require.Equal(t, http.StatusOK, res.StatusCode)
		footer := doc(t, body).Find(`[data-testid="footer-controller"]`)
		assert.Contains(t, footer.Text(), "Latihan UKM – Nusantara is run by SME Programme Office.")
		assert.Equal(t, 1, footer.Find(`a[href="mailto:office@example.org"]`).Length())
	})

	t.Run("mail", func(t *testing.T) {
		m := resetMail(t, ts, smtpd, learner.Email, 0)
		from, err := m.Header.AddressList("From")
		require.NoError(t, err)
		require.Len(t, from, 1)
		assert.Equal(t, "Latihan UKM – Nusantara", from[0].Name, "the site's name while no sender name is entered")
		assert.Equal(t, "noreply@kelas.test", from[0].Address, "KELAS_MAIL_FROM's address")
		header, _, _ := strings.Cut(string(m.Raw), "\r\n\r\n")
		assert.Contains(t, header, "From: =?utf-8?", "the name is encoded, not raw UTF-8")

		// Signed in the learner's language (Indonesian).
		_, sig, ok := strings.Cut(m.Text, "\n-- \n")
		require.True(t, ok, "the text part has a signature: %q", m.Text)
		assert.Equal(t, "Latihan UKM – Nusantara dikelola oleh SME Programme Office.\n"+
			"Ada pertanyaan tentang data pribadi Anda? Tulis kepada petugas privasi kami, Dewi Lestari, di dpo@example.org.\n", sig)
		html := doc(t, m.HTML).Find(`[data-testid="mail-signature"]`).Text()
		assert.Contains(t, html, "dikelola oleh SME Programme Office")
		assert.Contains(t, html, "Dewi Lestari, di dpo@example.org")

		// A change in the settings applies to the next mail.
		st, err := ts.store.Settings(t.Context())
		require.NoError(t, err)
		_, err = ts.store.SaveSettings(t.Context(), "x", st.Revision, map[string]string{store.SettingDPOEmail: "privacy-officer@example.org",
			store.SettingMailSenderName: "Tim Latihan UKM"})
		require.NoError(t, err)
		other := learnerIn(t, ts, "budi@example.org", "en")
		m = resetMail(t, ts, smtpd, other.Email, 1)
		from, err = m.Header.AddressList("From")
		require.NoError(t, err)
		assert.Equal(t, "Tim Latihan UKM", from[0].Name, "the sender name entered")
		assert.Contains(t, m.Text, "\n-- \nLatihan UKM – Nusantara is run by SME Programme Office.\n"+
			"Questions about your personal data? Write to our privacy officer, Dewi Lestari, at privacy-officer@example.org.\n")
	})

	t.Run("certificate", func(t *testing.T) {
		ctx := t.Context()
		m, err := ts.store.MemberByName(ctx, "SME Corporation Malaysia")
		require.NoError(t, err)
		tr, err := ts.store.CreateTraining(ctx, m.ID, "", store.TrainingInput{Title: "Cash flow", Summary: "s", Language: "en",
			Kind: "self_study", PassMark: 50, Published: true})
		require.NoError(t, err)
		require.NoError(t, ts.store.Enrol(ctx, learner.ID, tr.ID))
		c, err := ts.store.CompleteIfDone(ctx, learner.ID, tr.ID)
		require.NoError(t, err)
		require.NotNil(t, c, "a training without materials is done once enrolled")

		res, body := visitor.get(t, "/certificates/"+c.Code+"?lang=en")
		require.Equal(t, http.StatusOK, res.StatusCode)
		issuers := doc(t, body).Find(`[data-testid="certificate-issuers"]`)
		assert.Equal(t, "Issued by SME Corporation Malaysia and SME Programme Office.", strings.TrimSpace(issuers.Find("p").Text()))
		logo := issuers.Find(`img[data-testid="certificate-logo"]`)
		require.Equal(t, 1, logo.Length(), "the operator's logo")
		assert.True(t, strings.HasPrefix(logo.AttrOr("src", ""), "/logo"), logo.AttrOr("src", ""))
		assert.Equal(t, "Logo of SME Programme Office", logo.AttrOr("alt", ""))
		res, _ = visitor.get(t, logo.AttrOr("src", ""))
		assert.Equal(t, http.StatusOK, res.StatusCode, "the logo is served")
	})

	t.Run("export", func(t *testing.T) {
		ctx := context.Background()
		id, err := ts.app.startExport(ctx, learner.ID)
		require.NoError(t, err)
		j := waitExport(t, ts, learner.ID, id)
		require.Equal(t, store.ExportReady, j.Status, j.Error)
		rec := download(ts, learner.ID, id)
		require.Equal(t, http.StatusOK, rec.Code)
		d := doc(t, string(openZip(t, rec.Body.Bytes())["index.html"]))
		who := d.Find(`[data-testid="export-identity"]`)
		p := i18n.NewPrinter("id", nil, "Latihan UKM – Nusantara")
		assert.Equal(t, p.T("identity.title"), who.Find("h2").Text(), "in the learner's language")
		for _, want := range []string{"SME Programme Office", "Jl. Merdeka 1", "Jakarta 10110", "office@example.org", "+62 21 555 0100"} {
			assert.Contains(t, who.Text(), want)
		}
		officer := who.Find(`[data-testid="export-dpo"]`).Text()
		assert.Contains(t, officer, "Dewi Lestari")
		assert.Contains(t, officer, "privacy-officer@example.org", "as the settings say when the export is built")
	})
}

// TestRightsPortalOffersEmailAndPost: the rights portal tells how to make
// a request without it: to the privacy officer's address (else the
// controller's) and by post to the controller, or, before the operator
// has entered either, that the forms are the way for now.
func TestRightsPortalOffersEmailAndPost(t *testing.T) {
	ts := newTestServer(t)
	learner, _ := ts.person(t, "learner@example.org", store.RoleLearner, "")
	offline := func() (text string, mailto []string, post string) {
		res, body := learner.get(t, "/rights")
		require.Equal(t, http.StatusOK, res.StatusCode)
		s := doc(t, body).Find(`[data-testid="rights-offline"]`)
		require.Equal(t, 1, s.Length())
		s.Find(`a[href^="mailto:"]`).Each(func(_ int, a *goquery.Selection) { mailto = append(mailto, a.AttrOr("href", "")) })
		return s.Text(), mailto, s.Find(`[data-testid="rights-offline-post"]`).Text()
	}

	text, mailto, _ := offline()
	assert.Contains(t, text, "has not yet given an email or postal address")
	assert.Empty(t, mailto)

	st, err := ts.store.Settings(t.Context())
	require.NoError(t, err)
	st, err = ts.store.SaveSettings(t.Context(), "x", st.Revision, map[string]string{store.SettingControllerName: "SME Programme Office",
		store.SettingControllerAddress: "Jl. Merdeka 1\nJakarta 10110", store.SettingControllerEmail: "office@example.org"})
	require.NoError(t, err)
	text, mailto, post := offline()
	assert.Equal(t, []string{"mailto:office@example.org"}, mailto, "the controller's address without a privacy officer's")
	assert.Contains(t, post, "SME Programme Office")
	assert.Contains(t, post, "Jakarta 10110")
	assert.NotContains(t, text, "has not yet given")

	_, err = ts.store.SaveSettings(t.Context(), "x", st.Revision, map[string]string{store.SettingDPOName: "Dewi Lestari",
		store.SettingDPOEmail: "dpo@example.org"})
	require.NoError(t, err)
	text, mailto, _ = offline()
	assert.Equal(t, []string{"mailto:dpo@example.org"}, mailto, "the privacy officer's address first")
	assert.Contains(t, text, "To our privacy officer, Dewi Lestari:")
}
