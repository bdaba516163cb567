package app

import (
	"html"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"kelas/i18n"
	"kelas/mail"
	"kelas/store"
	"kelas/views"
)

// TestResetMailSpeaksTheRecipientsLanguage: a password reset asked for
// from an English page reaches the learner in their saved language: the
// subject, the text part and the HTML part are their catalogue's text,
// through a real SMTP exchange. The pseudo-locale shows it today; Thai and
// Vietnamese must differ from English as soon as their catalogues hold the
// messages.
func TestResetMailSpeaksTheRecipientsLanguage(t *testing.T) {
	en := i18n.NewPrinter(i18n.Default, nil, "kelas")
	for _, lang := range []string{"th", "vi", i18n.Pseudo} {
		t.Run(lang, func(t *testing.T) {
			ts, smtpd := newMailServer(t)
			hash, err := bcrypt.GenerateFromPassword([]byte("a long test password"), bcrypt.MinCost)
			require.NoError(t, err)
			email := "malai-" + lang + "@example.org"
			_, err = ts.store.CreateUser(t.Context(), store.NewUser{Email: email, FirstName: "Malai", Surname: "Tester",
				PasswordHash: string(hash), Role: store.RoleLearner, Verified: true, Language: lang})
			require.NoError(t, err)

			visitor := ts.newClient(t)
			res, _ := visitor.postForm(t, "/password/forgot?lang=en", url.Values{"email": {email}})
			require.Equal(t, 303, res.StatusCode)
			ts.deliver(t)
			m := mailTo(t, smtpd.WaitFor(t, 1), email)
			link := ""
			for _, l := range linkRE.FindAllString(m.Text, -1) {
				if strings.Contains(l, "/password/reset/") {
					link = l
				}
			}
			require.NotEmpty(t, link)

			p := i18n.NewPrinter(lang, nil, "kelas")
			assert.Equal(t, p.T("mail.reset.subject"), m.Subject)
			for _, want := range []string{p.T("mail.greeting", "name", "Malai"), p.T("mail.reset.body"), p.T("mail.reset.action"),
				p.T("mail.reset.after"), "-- \n" + p.T("mail.signature")} {
				assert.Contains(t, m.Text, want)
			}
			for _, want := range []string{p.T("mail.reset.body"), p.T("mail.reset.action"), p.T("mail.button_fallback", "url", link)} {
				assert.Contains(t, m.HTML, html.EscapeString(want))
			}
			wantLang := lang
			if lang == i18n.Pseudo {
				wantLang = "en-XA"
			}
			assert.Contains(t, m.HTML, `<html lang="`+wantLang+`">`)

			if lang == i18n.Pseudo || i18n.Get(lang).Has("mail.reset.subject") {
				assert.NotEqual(t, en.T("mail.reset.subject"), m.Subject, "not the English subject")
				assert.NotContains(t, m.Text, en.T("mail.reset.body"), "not the English body")
				assert.NotContains(t, m.HTML, en.T("mail.reset.body"), "not the English body")
			}
		})
	}
}

// TestInvitationSpeaksTheInvitersLanguage: an address without an account
// is mailed in the language of the page that sent the invitation.
func TestInvitationSpeaksTheInvitersLanguage(t *testing.T) {
	ts, smtpd := newMailServer(t)
	ts.app.cfg.PseudoLocale = true
	memberID := member(t, ts, "SME Corporation Malaysia")
	admin, _ := ts.person(t, "admin@example.org", store.RoleMemberAdmin, memberID)
	res, _ := admin.postForm(t, "/console/members/"+memberID+"/invitations?lang="+i18n.Pseudo,
		url.Values{"email": {"new.staff@example.org"}, "role": {"member_staff"}})
	require.Equal(t, 303, res.StatusCode)
	ts.deliver(t)
	m := mailTo(t, smtpd.WaitFor(t, 1), "new.staff@example.org")
	p := i18n.NewPrinter(i18n.Pseudo, nil, "kelas")
	assert.Equal(t, p.T("mail.invitation.subject"), m.Subject)
	assert.Contains(t, m.Text, p.T("mail.invitation.body_member", "role", p.T("invitations.role.member_staff"), "member", "SME Corporation Malaysia"))
	assert.NotContains(t, m.Text, "You are invited")
}

// TestMailCodesHaveMessages: every case kind a mail names has its message,
// and every breach category too.
func TestMailCodesHaveMessages(t *testing.T) {
	en := i18n.Get(i18n.Default)
	p := i18n.NewPrinter(i18n.Default, nil, "kelas")
	for _, k := range mail.CaseKinds {
		require.True(t, en.Has("mail.case_kind."+k), k)
		assert.NotEqual(t, k, mail.CaseKind(p, k), k)
	}
	for _, c := range store.BreachCategories() {
		require.True(t, en.Has("breach.category."+string(c)), c)
		assert.NotEqual(t, string(c), views.BreachCategoryLabel(string(c)), c)
	}
	for _, k := range views.OutboxKinds {
		require.True(t, en.Has("outbox.kind."+k), k)
	}
}
