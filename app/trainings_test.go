package app

import (
	"bytes"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"kelas/store"
)

// person creates a verified account with role (and a Member for staff),
// logs it in on a fresh cookie jar and returns a client view of ts for it.
func (ts *testServer) person(t *testing.T, email string, role store.Role, memberID string) (*testServer, store.User) {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte("a long test password"), bcrypt.MinCost)
	require.NoError(t, err)
	u, err := ts.store.CreateUser(t.Context(), store.NewUser{AcceptedPolicy: seededPolicy, Email: email, FirstName: "First" + strings.Split(email, "@")[0],
		Surname: "Tester", PasswordHash: string(hash), Role: store.RoleLearner, Verified: true})
	require.NoError(t, err)
	switch role {
	case store.RoleMemberStaff, store.RoleMemberAdmin:
		require.NoError(t, ts.store.SetStaff(t.Context(), u.ID, memberID, role))
	case store.RoleLearner:
	default:
		u2, err := ts.store.CreateUser(t.Context(), store.NewUser{AcceptedPolicy: seededPolicy, Email: "op-" + email, FirstName: "Op", Surname: "Erator",
			PasswordHash: string(hash), Role: role, Verified: true})
		require.NoError(t, err)
		u, email = u2, "op-"+email
	}
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	c := &testServer{Server: ts.Server, app: ts.app, store: ts.store, logs: ts.logs, stdout: ts.stdout, clock: ts.clock,
		client: &http.Client{Jar: jar, CheckRedirect: ts.client.CheckRedirect}}
	res := c.signIn(t, email, "a long test password")
	require.Equal(t, http.StatusSeeOther, res.StatusCode, "login of %s", email)
	u, err = ts.store.User(t.Context(), u.ID)
	require.NoError(t, err)
	return c, u
}

func member(t *testing.T, ts *testServer, name string) string {
	t.Helper()
	m, err := ts.store.MemberByName(t.Context(), name)
	require.NoError(t, err)
	return m.ID
}

func trainingValues() url.Values {
	return url.Values{"title": {"Bookkeeping for micro enterprises"}, "summary": {"Cash book, stock and monthly profit."},
		"language": {"en"}, "country": {"MY"}, "kind": {"self_study"}, "pass_mark": {"60"}, "published": {"on"}}
}

// createTraining has staff create a training over HTTP and returns its id.
func createTraining(t *testing.T, staff *testServer, v url.Values) string {
	t.Helper()
	res, _ := staff.postForm(t, "/console/trainings", v)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	loc := res.Header.Get("Location")
	require.Regexp(t, `^/console/trainings/[a-z2-7]{26}$`, loc)
	return strings.TrimPrefix(loc, "/console/trainings/")
}

var idInHref = regexp.MustCompile(`/materials/([a-z2-7]{26})`)

// TestLearningJourney: enrol → view material → download file → pass quiz →
// completion → certificate verifiable by code, with one activity row per
// step, each with a sealed IP.
func TestLearningJourney(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.TrustedProxies = mustPrefixes(t, "127.0.0.0/8") })
	staff, _ := ts.person(t, "staff@example.org", store.RoleMemberStaff, member(t, ts, "SME Corporation Malaysia"))
	id := createTraining(t, staff, trainingValues())

	res, _ := staff.postMultipart(t, "/console/trainings/"+id+"/materials", url.Values{"material_kind": {"page"},
		"material_title": {"Cash book"}, "material_body": {"# Cash book\n\nWrite down **every** sale."}}, "", "", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	pdf := []byte("%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
	res, _ = staff.postMultipart(t, "/console/trainings/"+id+"/materials", url.Values{"material_kind": {"file"},
		"material_title": {"Template"}}, "material_file", "cash-book-template.pdf", pdf)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	res, _ = staff.postForm(t, "/console/trainings/"+id+"/questions", url.Values{"question_prompt": {"What goes in the cash book?"},
		"question_choice_1": {"Every sale and expense"}, "question_choice_2": {"Only big sales"}, "question_correct": {"1"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)

	learner, lu := ts.person(t, "learner@example.org", store.RoleLearner, "")
	learner.client.Transport = xff{"203.0.113.199"}
	res, body := learner.get(t, "/trainings/"+id)
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Equal(t, 1, doc(t, body).Find(`[data-testid="enrol"]`).Length())
	assert.Zero(t, doc(t, body).Find(`[data-testid="materials"]`).Length(), "materials are for enrolled learners")

	res, _ = learner.postForm(t, "/trainings/"+id+"/enrol", nil) // step 1: enrol
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	res, body = learner.get(t, "/trainings/"+id) // step 2: view training
	require.Equal(t, http.StatusOK, res.StatusCode)
	ids := idInHref.FindAllStringSubmatch(body, -1)
	require.Len(t, ids, 2)
	page, file := ids[0][1], ids[1][1]

	res, body = learner.get(t, "/trainings/"+id+"/materials/"+page) // step 3: view material
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, body, "<strong>every</strong>")
	res, got := learner.get(t, "/trainings/"+id+"/materials/"+file+"/file") // step 4: download
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, string(pdf), got)
	assert.Equal(t, "application/pdf", res.Header.Get("Content-Type"))
	assert.Contains(t, res.Header.Get("Content-Disposition"), `filename=cash-book-template.pdf`)
	assert.Equal(t, "nosniff", res.Header.Get("X-Content-Type-Options"))

	aid, d := startAttempt(t, learner, id) // step 5: start quiz
	qname, _ := d.Find(`input[type=radio]`).First().Attr("name")
	right := d.Find(`label:contains("Every sale and expense")`).AttrOr("for", "")[len("c_"):]
	res, _ = learner.postForm(t, "/trainings/"+id+"/quiz", url.Values{"attempt": {aid}, qname: {right}}) // step 6: submit (+ complete, certificate)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)

	res, body = learner.get(t, "/dashboard")
	require.Equal(t, http.StatusOK, res.StatusCode)
	code := regexp.MustCompile(`[A-Z2-7]{5}-[A-Z2-7]{5}-[A-Z2-7]{5}-[A-Z2-7]{5}`).FindString(body)
	require.NotEmpty(t, code, "the dashboard shows the certificate")
	assert.Contains(t, doc(t, body).Find(`[data-testid="dashboard"]`).Text(), "100%")

	visitor := &testServer{Server: ts.Server, client: &http.Client{}}
	res, body = visitor.get(t, "/certificates/"+code)
	require.Equal(t, http.StatusOK, res.StatusCode)
	cd := doc(t, body)
	assert.Equal(t, "Firstlearner Tester", cd.Find(`[data-testid="holder"]`).Text())
	assert.Equal(t, "Bookkeeping for micro enterprises", cd.Find(`[data-testid="certificate-training"]`).Text())
	res, _ = visitor.get(t, "/certificates/AAAAA-AAAAA-AAAAA-AAAAA")
	assert.Equal(t, http.StatusNotFound, res.StatusCode)

	require.NoError(t, ts.app.Close(t.Context()))
	log, err := ts.store.Activity(t.Context(), lu.ID, 0)
	require.NoError(t, err)
	counts := map[string]int{}
	for _, e := range log {
		counts[e.Action]++
		assert.Equal(t, id, e.TrainingID)
		assert.Equal(t, "203.0.113.199", e.IP, "the IP is kept (sealed) for %s", e.Action)
		assert.Equal(t, "203.0.113.0/24", e.IPPrefix)
	}
	assert.Equal(t, map[string]int{store.ActEnrol: 1, store.ActViewTraining: 1, store.ActViewMaterial: 1, store.ActDownloadFile: 1,
		store.ActStartQuiz: 1, store.ActSubmitQuiz: 1, store.ActComplete: 1, store.ActCertificateIssue: 1}, counts)
	for _, f := range []string{"kelas.db", "kelas.db-wal"} {
		b, err := os.ReadFile(filepath.Join(ts.app.cfg.DataDir, f))
		if os.IsNotExist(err) {
			continue
		}
		require.NoError(t, err)
		assert.False(t, bytes.Contains(b, []byte("203.0.113.199")), "%s holds the IP in plaintext", f)
		assert.False(t, bytes.Contains(b, []byte("203.0.113.0/24")), "%s holds the IP prefix in plaintext", f)
	}
}

// xff sends every request as if through a trusted proxy from ip.
type xff struct{ ip string }

func (x xff) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Forwarded-For", x.ip)
	return http.DefaultTransport.RoundTrip(r)
}

func TestOtherMembersStaffCannotEdit(t *testing.T) {
	ts := newTestServer(t)
	owner, _ := ts.person(t, "owner@example.org", store.RoleMemberStaff, member(t, ts, "SME Corporation Malaysia"))
	id := createTraining(t, owner, trainingValues())
	other, _ := ts.person(t, "other@example.org", store.RoleMemberAdmin, member(t, ts, "SMESCO Indonesia"))
	learner, _ := ts.person(t, "learner@example.org", store.RoleLearner, "")
	consultant, _ := ts.person(t, "c@example.org", store.RoleConsultant, "")
	operator, _ := ts.person(t, "o@example.org", store.RoleOperator, "")

	for name, c := range map[string]struct {
		client    *testServer
		get, post int
	}{
		"other Member's staff": {other, http.StatusNotFound, http.StatusNotFound},
		"learner":              {learner, http.StatusForbidden, http.StatusForbidden},
		"consultant":           {consultant, http.StatusForbidden, http.StatusForbidden},
		"operator":             {operator, http.StatusOK, http.StatusSeeOther},
		"owner":                {owner, http.StatusOK, http.StatusSeeOther},
	} {
		t.Run(name, func(t *testing.T) {
			res, _ := c.client.get(t, "/console/trainings/"+id)
			assert.Equal(t, c.get, res.StatusCode)
			v := trainingValues()
			v.Set("title", "Renamed by "+name)
			res, _ = c.client.postForm(t, "/console/trainings/"+id, v)
			assert.Equal(t, c.post, res.StatusCode)
			res, _ = c.client.postForm(t, "/console/trainings/"+id+"/questions", url.Values{"question_prompt": {"Which is right?"},
				"question_choice_1": {"a"}, "question_choice_2": {"b"}, "question_correct": {"1"}})
			assert.Equal(t, c.post, res.StatusCode)
		})
	}
	tr, err := ts.store.Training(t.Context(), id)
	require.NoError(t, err)
	assert.NotContains(t, tr.Title, "other Member", "no edit by another Member")
	assert.NotContains(t, tr.Title, "learner")

	visitor := &testServer{Server: ts.Server, client: &http.Client{CheckRedirect: ts.client.CheckRedirect}}
	res, _ := visitor.get(t, "/console/trainings/"+id)
	assert.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.True(t, strings.HasPrefix(res.Header.Get("Location"), "/login"))
}

func TestUnpublishedTrainingsAreHidden(t *testing.T) {
	ts := newTestServer(t)
	owner, _ := ts.person(t, "owner@example.org", store.RoleMemberStaff, member(t, ts, "SME Corporation Malaysia"))
	v := trainingValues()
	v.Del("published")
	v.Set("title", "Secret draft training")
	id := createTraining(t, owner, v)
	learner, _ := ts.person(t, "learner@example.org", store.RoleLearner, "")

	res, _ := learner.get(t, "/trainings/"+id)
	assert.Equal(t, http.StatusNotFound, res.StatusCode)
	res, _ = learner.postForm(t, "/trainings/"+id+"/enrol", nil)
	assert.Equal(t, http.StatusNotFound, res.StatusCode)
	res, body := learner.get(t, "/trainings")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.NotContains(t, body, "Secret draft training")
	res, body = learner.get(t, "/trainings?q=Secret")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.NotContains(t, body, "Secret draft training")

	res, body = owner.get(t, "/trainings/"+id)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, 1, doc(t, body).Find(`[data-testid="draft"]`).Length())
}

func TestMaterialUploadsAreChecked(t *testing.T) {
	ts := newTestServer(t)
	staff, _ := ts.person(t, "staff@example.org", store.RoleMemberStaff, member(t, ts, "SME Corporation Malaysia"))
	id := createTraining(t, staff, trainingValues())
	cases := []struct {
		name, file string
		data       []byte
	}{
		{"forged type", "report.pdf", []byte("<html><script>alert(1)</script></html>")},
		{"path in the name", "../../etc/report.pdf", []byte("%PDF-1.4\n%%EOF\n")},
		{"windows path", `..\..\report.pdf`, []byte("%PDF-1.4\n%%EOF\n")},
		{"unknown extension", "tool.exe", []byte("MZ\x90\x00")},
		{"html", "page.html", []byte("<html></html>")},
		{"over the limit", "big.pdf", append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte("a"), maxMaterialFileBytes)...)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, _ := staff.postMultipart(t, "/console/trainings/"+id+"/materials", url.Values{"material_kind": {"file"},
				"material_title": {"Doc"}}, "material_file", c.file, c.data)
			assert.GreaterOrEqual(t, res.StatusCode, 400)
			assert.Less(t, res.StatusCode, 500)
			ms, err := ts.store.Materials(t.Context(), id)
			require.NoError(t, err)
			assert.Empty(t, ms, "nothing stored")
			entries, _ := os.ReadDir(filepath.Join(ts.app.cfg.DataDir, "files"))
			assert.Empty(t, entries, "no file written")
		})
	}
}

func TestQuizRefusesUnknownQuestions(t *testing.T) {
	ts := newTestServer(t)
	staff, _ := ts.person(t, "staff@example.org", store.RoleMemberStaff, member(t, ts, "SME Corporation Malaysia"))
	id := createTraining(t, staff, trainingValues())
	res, _ := staff.postForm(t, "/console/trainings/"+id+"/questions", url.Values{"question_prompt": {"Which is right?"},
		"question_choice_1": {"a"}, "question_choice_2": {"b"}, "question_correct": {"2"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	learner, lu := ts.person(t, "learner@example.org", store.RoleLearner, "")
	res, _ = learner.postForm(t, "/trainings/"+id+"/enrol", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	qs, err := ts.store.Quiz(t.Context(), id)
	require.NoError(t, err)
	q := qs[0]
	aid, _ := startAttempt(t, learner, id)
	for name, v := range map[string]url.Values{
		"unknown question":  {"q_" + store.NewID(): {q.Choices[0].ID}, "q_" + q.ID: {q.Choices[0].ID}},
		"unknown choice":    {"q_" + q.ID: {store.NewID()}},
		"choice of nothing": {"q_" + q.ID: {""}},
	} {
		t.Run(name, func(t *testing.T) {
			v.Set("attempt", aid)
			res, _ := learner.postForm(t, "/trainings/"+id+"/quiz", v)
			assert.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
		})
	}
	e, err := ts.store.Enrolment(t.Context(), lu.ID, id)
	require.NoError(t, err)
	assert.Equal(t, -1, e.BestScore, "no attempt stored")

	// Another training's material id in this training's path is a 404.
	other := createTraining(t, staff, trainingValues())
	res, _ = staff.postMultipart(t, "/console/trainings/"+other+"/materials", url.Values{"material_kind": {"page"},
		"material_title": {"Other"}, "material_body": {"x"}}, "", "", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	ms, err := ts.store.Materials(t.Context(), other)
	require.NoError(t, err)
	res, _ = learner.get(t, "/trainings/"+id+"/materials/"+ms[0].ID)
	assert.Equal(t, http.StatusNotFound, res.StatusCode)
	res, _ = learner.get(t, "/trainings/not-an-id")
	assert.Equal(t, http.StatusNotFound, res.StatusCode)
}

func TestMarkdownIsSafe(t *testing.T) {
	ts := newTestServer(t)
	html, err := ts.app.renderMarkdown("Hi <script>alert(1)</script> [x](javascript:alert(1)) <img src=x onerror=alert(1)>\n\n**ok**")
	require.NoError(t, err)
	assert.NotContains(t, html, "<script")
	assert.NotContains(t, html, "javascript:")
	assert.NotContains(t, html, "onerror")
	assert.Contains(t, html, "<strong>ok</strong>")
}

func TestLiveTrainingCompletesByAttendance(t *testing.T) {
	ts := newTestServer(t)
	staff, _ := ts.person(t, "staff@example.org", store.RoleMemberStaff, member(t, ts, "SMESCO Indonesia"))
	v := trainingValues()
	v.Set("kind", "live")
	v.Set("join_url", "https://meet.example.org/room")
	id := createTraining(t, staff, v)
	res, _ := staff.postForm(t, "/console/trainings/"+id+"/sessions", url.Values{"session_starts": {"2026-04-01T10:00"}, "session_ends": {"2026-04-01T09:00"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode, "end before start")
	res, _ = staff.postForm(t, "/console/trainings/"+id+"/sessions", url.Values{"session_starts": {"2026-04-01T10:00"}, "session_ends": {"2026-04-01T12:00"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	learner, lu := ts.person(t, "learner@example.org", store.RoleLearner, "")
	res, _ = learner.postForm(t, "/trainings/"+id+"/enrol", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	sessions, err := ts.store.TrainingSessions(t.Context(), id)
	require.NoError(t, err)
	mark := func() int {
		res, _ := staff.postForm(t, "/console/trainings/"+id+"/sessions/"+sessions[0].ID+"/attendance", url.Values{"user_id": {lu.ID}})
		return res.StatusCode
	}
	assert.Equal(t, http.StatusForbidden, mark(), "marking attendance needs the learner list: staff need an access grant")
	operator, _ := ts.person(t, "ops@example.org", store.RoleOperator, "")
	now := ts.clock.Now()
	res, _ = operator.postForm(t, "/console/grants", url.Values{"member_id": {member(t, ts, "SMESCO Indonesia")}, "trainings": {id},
		"purpose": {"attendance for the April session"}, "valid_from": {now.Format(datetimeLocal)}, "valid_until": {now.Add(time.Hour).Format(datetimeLocal)},
		"code": {operator.code(t)}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	require.Equal(t, http.StatusSeeOther, mark())
	e, err := ts.store.Enrolment(t.Context(), lu.ID, id)
	require.NoError(t, err)
	assert.True(t, e.Completed())
	assert.NotEmpty(t, e.CertificateCode)
	require.NoError(t, ts.app.Close(t.Context()))
	log, err := ts.store.Activity(t.Context(), lu.ID, 0)
	require.NoError(t, err)
	for _, ev := range log {
		if ev.Action == store.ActAttendance || ev.Action == store.ActComplete {
			assert.Empty(t, ev.IP, "the staff member's address is not logged as the learner's")
		}
	}
}

func TestDemoSeed(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.Demo = true })
	ts2, err := ts.store.Trainings(t.Context(), store.CatalogueFilter{})
	require.NoError(t, err)
	require.Len(t, ts2, 3)
	kinds := map[string]int{}
	for _, tr := range ts2 {
		kinds[tr.Kind]++
	}
	assert.Equal(t, 1, kinds[store.KindLive])
	res, body := ts.get(t, "/trainings?kind=live")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, 1, doc(t, body).Find(`[data-testid="trainings"] li`).Length())
	// A second start adds nothing.
	require.NoError(t, ts.app.seedDemo(t.Context()))
	again, err := ts.store.Trainings(t.Context(), store.CatalogueFilter{})
	require.NoError(t, err)
	assert.Len(t, again, 3)
}

// FuzzRenderMarkdown: whatever a material's source, the HTML has no
// script, no event handler attribute and no javascript: or data: link.
func FuzzRenderMarkdown(f *testing.F) {
	for _, s := range []string{"**ok**", "<script>alert(1)</script>", "[x](javascript:alert(1))", "<img src=x onerror=alert(1)>",
		"[x](JaVaScRiPt:alert(1))", "![i](data:text/html;base64,PHNjcmlwdD4=)", "<a href='java\tscript:x'>y</a>", "www.example.org"} {
		f.Add(s)
	}
	md := newMarkdown()
	f.Fuzz(func(t *testing.T, src string) {
		var buf bytes.Buffer
		if err := md.Convert([]byte(src), &buf); err != nil {
			return
		}
		out := strings.ToLower(buf.String())
		for _, bad := range []string{"<script", "<iframe", "<object", "<embed", "<svg", "<style", "href=\"javascript:", "src=\"javascript:", "href=\"data:", "src=\"data:text"} {
			if strings.Contains(out, bad) {
				t.Fatalf("%q in the HTML of %q", bad, src)
			}
		}
		if onAttr.MatchString(out) {
			t.Fatalf("an event handler attribute in the HTML of %q", src)
		}
	})
}

var onAttr = regexp.MustCompile(`<[a-z][^>]*\son[a-z]+\s*=`)

// TestCatalogueSpeaksTheReadersLanguage: the catalogue's filter lists are
// rendered once per language, so a Thai page names countries and
// languages in Thai and the English page after it still in English.
func TestCatalogueSpeaksTheReadersLanguage(t *testing.T) {
	ts := newTestServer(t)
	option := func(body, sel string) string {
		return strings.TrimSpace(doc(t, body).Find(sel).First().Text())
	}
	_, en := ts.get(t, "/trainings")
	require.Equal(t, "Thailand", option(en, `select[name="country"] option[value="TH"]`))
	require.Equal(t, "Trainings", option(en, "h1"))
	_, th := ts.get(t, "/trainings?lang=th")
	assert.NotEqual(t, "Thailand", option(th, `select[name="country"] option[value="TH"]`))
	assert.NotEqual(t, option(en, `select[name="language"] option[value="th"]`), option(th, `select[name="language"] option[value="th"]`))
	_, again := ts.get(t, "/trainings")
	assert.Equal(t, en, again, "the English page is unchanged after a Thai one")
}
