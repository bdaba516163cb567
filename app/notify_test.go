package app

import (
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"kelas/jobs/smtptest"
	"kelas/store"
)

// Fixtures of the breach, policy, notification and report tests.

const fixturePassword = "a long test password"

// account creates a confirmed account from nu, with the fixture password and
// the registration choices of nu; it does not log in.
func account(t *testing.T, ts *testServer, nu store.NewUser) store.User {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte(fixturePassword), bcrypt.MinCost)
	require.NoError(t, err)
	nu.PasswordHash, nu.Verified = string(hash), true
	if nu.FirstName == "" {
		nu.FirstName = strings.Split(nu.Email, "@")[0]
	}
	if nu.Surname == "" {
		nu.Surname = "Tester"
	}
	if nu.Role == "" {
		nu.Role = store.RoleLearner
	}
	u, err := ts.store.CreateUser(t.Context(), nu)
	require.NoError(t, err)
	return u
}

// learnerAccount is a registered learner (policy accepted at registration)
// with a country, an industry and mail choices.
func learnerAccount(t *testing.T, ts *testServer, name, country, industry string, notifyNew, feedback bool) store.User {
	t.Helper()
	return account(t, ts, store.NewUser{Email: name + "@example.org", Country: country, Industry: industry,
		AcceptedPolicy: "2023-10-09", AdultConfirmed: true, NotifyNew: notifyNew, Feedback: feedback})
}

// client is a fresh browser for ts, with its own cookie jar.
func (ts *testServer) newClient(t *testing.T) *testServer {
	t.Helper()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &testServer{Server: ts.Server, app: ts.app, store: ts.store, logs: ts.logs, stdout: ts.stdout, clock: ts.clock,
		client: &http.Client{Jar: jar, CheckRedirect: ts.client.CheckRedirect}}
}

// logIn logs email in on c and returns the response.
func (c *testServer) logIn(t *testing.T, email, next string) *http.Response {
	t.Helper()
	res := c.signIn(t, email, fixturePassword, url.Values{"next": {next}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode, "login of %s", email)
	return res
}

// dpoClient is the privacy officer, logged in.
func dpoClient(t *testing.T, ts *testServer) (*testServer, store.User) {
	t.Helper()
	u := account(t, ts, store.NewUser{Email: "dpo@example.org", FirstName: "Dewi", Role: store.RoleOperator, DPO: true,
		AcceptedPolicy: "2023-10-09"})
	c := ts.newClient(t)
	c.logIn(t, u.Email, "/console")
	return c, u
}

// deliverAll runs the outbox job: passes until nothing due is left.
func (ts *testServer) deliverAll(t *testing.T) {
	t.Helper()
	ts.jobs.WaitMailings() // mass mailings queue in the background
	if ts.app.mailOn {
		require.NoError(t, ts.jobs.RunNow(t.Context(), "outbox"))
	}
}

// recipients lists who received each of msgs.
func recipients(msgs []smtptest.Mail) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, m.To...)
	}
	slices.Sort(out)
	return out
}

func mailsOfKind(t *testing.T, ts *testServer, kind string) []store.OutboxMail {
	t.Helper()
	ts.jobs.WaitMailings() // mass mailings queue in the background
	all, err := ts.store.OutboxMails(t.Context(), 1000)
	require.NoError(t, err)
	var out []store.OutboxMail
	for _, m := range all {
		if m.Kind == kind {
			out = append(out, m)
		}
	}
	return out
}

// TestAnnouncementReachesOnlyTargetedOptedInPeople: the announcement goes
// to the opted-in, confirmed, unrestricted, non-objecting people of the
// countries and industries chosen, once each, with both unsubscribe headers.
func TestAnnouncementReachesOnlyTargetedOptedInPeople(t *testing.T) {
	ts, smtpd := newMailTestServer(t)
	staff, _ := ts.person(t, "staff@example.org", store.RoleMemberStaff, member(t, ts, "SME Corporation Malaysia"))
	id := createTraining(t, staff, trainingValues())

	my := learnerAccount(t, ts, "my", "MY", "C", true, true)
	th := learnerAccount(t, ts, "th", "TH", "C", true, true)
	learnerAccount(t, ts, "id", "ID", "C", true, true)
	learnerAccount(t, ts, "G", "MY", "G", true, true)
	learnerAccount(t, ts, "notoptedin", "MY", "C", false, true)
	restricted := learnerAccount(t, ts, "restricted", "MY", "C", true, true)
	require.NoError(t, ts.store.SetRestricted(t.Context(), restricted.ID, true))
	objecting := learnerAccount(t, ts, "objecting", "MY", "C", true, true)
	require.NoError(t, ts.store.SetObjection(t.Context(), objecting.ID, store.ObjectDirectMarketing, true))
	my2 := learnerAccount(t, ts, "my2", "MY", "C", true, true)

	res, body := staff.postForm(t, "/console/trainings/"+id+"/announce", url.Values{"country": {"MY", "TH"}, "industry": {"C"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode, doc(t, body).Find(`[data-testid="error-summary"]`).Text())
	ts.deliverAll(t)
	msgs := smtpd.Messages()
	want := []string{my.Email, my2.Email, th.Email}
	slices.Sort(want)
	assert.Equal(t, want, recipients(msgs))
	for _, m := range msgs {
		assert.Regexp(t, `^<`+regexp.QuoteMeta(ts.app.cfg.PublicURL())+`/unsubscribe/[a-z2-7]{26}\.n\.[0-9a-z]+\.[A-Za-z0-9_-]{22}>$`, m.Header.Get("List-Unsubscribe"))
		assert.Equal(t, "List-Unsubscribe=One-Click", m.Header.Get("List-Unsubscribe-Post"))
		assert.Contains(t, m.Subject, "Bookkeeping for micro enterprises")
		assert.Contains(t, m.Text, ts.app.cfg.PublicURL()+"/trainings/"+id)
		assert.Contains(t, m.Text, "/unsubscribe/", "the text part carries the link too")
	}

	// Announcing again reaches nobody twice.
	res, _ = staff.postForm(t, "/console/trainings/"+id+"/announce", url.Values{})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	ts.deliverAll(t)
	assert.Len(t, smtpd.Messages(), 5, "only the two opted-in people not reached before (Indonesia, retail) are added")

	// Bad targeting is refused and nothing is sent.
	res, body = staff.postForm(t, "/console/trainings/"+id+"/announce", url.Values{"country": {"XX"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	assert.Equal(t, 1, doc(t, body).Find(`[data-testid="error-country"]`).Length())

	// Other Members' staff do not see the training; learners have no console.
	other, _ := ts.person(t, "other@example.org", store.RoleMemberStaff, member(t, ts, "EuroCham Cambodia"))
	res, _ = other.postForm(t, "/console/trainings/"+id+"/announce", url.Values{})
	assert.Equal(t, http.StatusNotFound, res.StatusCode)
	learner := ts.newClient(t)
	learner.logIn(t, my.Email, "/")
	res, _ = learner.postForm(t, "/console/trainings/"+id+"/announce", url.Values{})
	assert.Equal(t, http.StatusForbidden, res.StatusCode)
	assert.Len(t, mailsOfKind(t, ts, store.MailAnnouncement), 5)
}

// TestOneClickUnsubscribe follows the List-Unsubscribe header of a mail
// received over SMTP: GET changes nothing, POST without login and from
// another site unsubscribes, and no further mail of that kind is queued.
func TestOneClickUnsubscribe(t *testing.T) {
	ts, smtpd := newMailTestServer(t)
	staff, _ := ts.person(t, "staff@example.org", store.RoleMemberStaff, member(t, ts, "SME Corporation Malaysia"))
	id := createTraining(t, staff, trainingValues())
	ana := learnerAccount(t, ts, "ana", "MY", "C", true, true)

	res, _ := staff.postForm(t, "/console/trainings/"+id+"/announce", url.Values{})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	ts.deliverAll(t)
	msgs := smtpd.Messages()
	require.Len(t, msgs, 1)
	header := msgs[0].Header.Get("List-Unsubscribe")
	require.True(t, strings.HasPrefix(header, "<") && strings.HasSuffix(header, ">"), header)
	require.Equal(t, "List-Unsubscribe=One-Click", msgs[0].Header.Get("List-Unsubscribe-Post"))
	link, err := url.Parse(strings.Trim(header, "<>"))
	require.NoError(t, err)
	path := link.Path

	consents := func() store.Consents {
		c, err := ts.store.Consents(t.Context(), ana.ID)
		require.NoError(t, err)
		return c
	}
	visitor := &testServer{Server: ts.Server, client: &http.Client{CheckRedirect: ts.client.CheckRedirect}}

	// A link scanner's GET shows a button and changes nothing.
	res, body := visitor.get(t, path)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, 1, doc(t, body).Find(`[data-testid="unsubscribe-form"]`).Length())
	assert.True(t, consents().NotifyNew)

	// Tampered and foreign tokens: a clear page, no change.
	for _, bad := range []string{strings.Replace(path, ".n.", ".f.", 1), path[:len(path)-3] + "AAA", "/unsubscribe/" + ana.ID, "/unsubscribe/x"} {
		req, err := http.NewRequest(http.MethodPost, ts.URL+bad, strings.NewReader("List-Unsubscribe=One-Click"))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res, body := visitor.do(t, req)
		assert.Equal(t, http.StatusBadRequest, res.StatusCode, bad)
		assert.Contains(t, body, "not valid")
	}
	assert.True(t, consents().NotifyNew)
	assert.True(t, consents().Feedback)

	// The mail provider's one-click POST: no cookie, another site.
	req, err := http.NewRequest(http.MethodPost, ts.URL+path, strings.NewReader("List-Unsubscribe=One-Click"))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://mail.example.net")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	res, body = visitor.do(t, req)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, 1, doc(t, body).Find(`[data-testid="unsubscribed"]`).Length())
	assert.False(t, consents().NotifyNew)
	assert.True(t, consents().Feedback, "only announcements were unsubscribed")

	// The bypass is for this route only: other cross-site POSTs are refused.
	req, err = http.NewRequest(http.MethodPost, ts.URL+"/cookies", strings.NewReader("choice=accept_all"))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	res, _ = visitor.do(t, req)
	assert.Equal(t, http.StatusForbidden, res.StatusCode)

	// A second click is harmless; no further announcement is queued.
	res, _ = visitor.postForm(t, path, url.Values{"List-Unsubscribe": {"One-Click"}})
	assert.Equal(t, http.StatusOK, res.StatusCode)
	v := trainingValues()
	v.Set("title", "Digital marketing basics")
	id2 := createTraining(t, staff, v)
	res, _ = staff.postForm(t, "/console/trainings/"+id2+"/announce", url.Values{})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Len(t, mailsOfKind(t, ts, store.MailAnnouncement), 1)

	// An expired link changes nothing either.
	fb, err := ts.store.SignUnsubscribe(ana.ID, store.ConsentFeedback)
	require.NoError(t, err)
	ts.clock.Add(401 * 24 * time.Hour)
	res, body = visitor.postForm(t, "/unsubscribe/"+fb, nil)
	assert.Equal(t, http.StatusBadRequest, res.StatusCode)
	assert.Contains(t, body, "expired")
	assert.True(t, consents().Feedback)
}

// TestSuppressionCheckedAgainAtSendTime: restriction, objection or opting
// out after a feedback request was queued stops it in the outbox.
func TestSuppressionCheckedAgainAtSendTime(t *testing.T) {
	ts, smtpd := newMailTestServer(t)
	staff, _ := ts.person(t, "staff@example.org", store.RoleMemberStaff, member(t, ts, "SME Corporation Malaysia"))
	id := createTraining(t, staff, trainingValues())
	people := map[string]store.User{}
	for _, name := range []string{"keeps", "restricts", "objects", "optsout", "optedoutbefore", "restrictedbefore"} {
		u := learnerAccount(t, ts, name, "MY", "C", false, name != "optedoutbefore")
		require.NoError(t, ts.store.Enrol(t.Context(), u.ID, id))
		people[name] = u
	}
	require.NoError(t, ts.store.SetRestricted(t.Context(), people["restrictedbefore"].ID, true))

	res, _ := staff.postForm(t, "/console/trainings/"+id+"/feedback-request", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	queued := mailsOfKind(t, ts, store.MailFeedbackRequest)
	require.Len(t, queued, 4, "opted out and restricted people are not even queued")

	require.NoError(t, ts.store.SetRestricted(t.Context(), people["restricts"].ID, true))
	require.NoError(t, ts.store.SetObjection(t.Context(), people["objects"].ID, store.ObjectFeedback, true))
	require.NoError(t, ts.store.Unsubscribe(t.Context(), people["optsout"].ID, store.ConsentFeedback))
	ts.deliverAll(t)

	assert.Equal(t, []string{people["keeps"].Email}, recipients(smtpd.Messages()))
	for _, m := range mailsOfKind(t, ts, store.MailFeedbackRequest) {
		switch m.UserID {
		case people["keeps"].ID:
			assert.Equal(t, store.MailSent, m.Status)
		case people["restricts"].ID, people["objects"].ID:
			assert.Equal(t, store.MailFailed, m.Status)
			assert.Equal(t, store.SuppressedReason, m.LastError)
		case people["optsout"].ID:
			assert.Equal(t, store.MailFailed, m.Status)
			assert.Equal(t, store.SuppressedOptOut, m.LastError)
		default:
			t.Errorf("unexpected feedback request to %s", m.UserID)
		}
	}
	page, body := staff.get(t, "/console/trainings/"+id+"/notify")
	require.Equal(t, http.StatusOK, page.StatusCode)
	assert.Contains(t, doc(t, body).Find(`[data-testid="feedback-asked"]`).Text(), "Asked so far: 4 people")
}
