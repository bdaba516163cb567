package app

import (
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"kelas/store"
)

// The authorisation matrix: every route registered in routes.go × every
// role, with the outcome expected. A route without an entry fails the
// test, so no route ships without a decision about who may use it.
//
// Outcomes, one letter per role in matrixRoles order:
//
//	A  allowed: the handler ran (2xx, 3xx elsewhere than /login, 400, 409, 422)
//	L  sent to log in (303 to /login)
//	F  forbidden (403)
//	N  not found (404): the object is not theirs to know about
//	G  a link token that is not valid (404 or 410) whoever follows it
var matrixRoles = []string{"visitor", "unverified", "learner", "staff-in-grant", "staff-no-grant", "member-admin",
	"operator", "consultant", "backoffice", "privacy-officer"}

// matrix maps each route pattern to its outcomes.
var matrix = map[string]string{
	"GET /static/":                 "AAAAAAAAAA",
	"GET /healthz":                 "AAAAAAAAAA",
	"GET /.well-known/gpc.json":    "AAAAAAAAAA",
	"GET /{$}":                     "AAAAAAAAAA",
	"GET /setup/{token}":           "GGGGGGGGGG",
	"POST /setup/{token}":          "GGGGGGGGGG",
	"GET /register":                "AAAAAAAAAA",
	"POST /register":               "AAAAAAAAAA",
	"GET /verify/{token}":          "GGGGGGGGGG",
	"POST /verify/resend":          "LAAAAAAAAA",
	"GET /email/revert/{token}":    "GGGGGGGGGG",
	"POST /email/revert/{token}":   "GGGGGGGGGG",
	"GET /login":                   "AAAAAAAAAA",
	"POST /login":                  "AAAAAAAAAA",
	"GET /login/2fa":               "LLLLLLLLLL", // no password given in this session: back to the first step
	"POST /login/2fa":              "LLLLLLLLLL",
	"POST /logout":                 "AAAAAAAAAA",
	"GET /password/forgot":         "AAAAAAAAAA",
	"POST /password/forgot":        "AAAAAAAAAA",
	"GET /password/reset/{token}":  "GGGGGGGGGG",
	"POST /password/reset/{token}": "GGGGGGGGGG",
	"GET /profile":                 "LAAAAAAAAA",
	"POST /profile":                "LAAAAAAAAA",
	"GET /profile/picture":         "LNNNNNNNNN", // nobody here has a picture; only one's own is ever served
	"GET /profile/password":        "LAAAAAAAAA",
	"POST /profile/password":       "LAAAAAAAAA",
	"GET /profile/2fa":             "LAAAAAAAAA",
	"POST /profile/2fa":            "LAAAAAAAAA",
	"GET /cookies":                 "AAAAAAAAAA",
	"POST /cookies":                "AAAAAAAAAA",
	"GET /stats":                   "AAAAAAAAAA",
	"GET /privacy":                 "AAAAAAAAAA",

	"GET /trainings":                           "AAAAAAAAAA",
	"GET /trainings/{id}":                      "AAAAAAAAAA",
	"POST /trainings/{id}/enrol":               "LAAAAAAAAA",
	"GET /trainings/{id}/materials/{mid}":      "LFAAFAAAAA",
	"GET /trainings/{id}/materials/{mid}/file": "LFAAFAAAAA",
	"GET /trainings/{id}/quiz":                 "LFAAFAAAAA",
	"POST /trainings/{id}/quiz":                "LFAFFFFFFF", // only enrolled learners submit
	"GET /certificates/{code}":                 "AAAAAAAAAA",
	"GET /dashboard":                           "LAAAAAAAAA",

	"GET /console/trainings":                                 "LFFAAAAAAA",
	"GET /console/trainings/new":                             "LFFAAAAFAA",
	"POST /console/trainings":                                "LFFAAAAFAA",
	"GET /console/trainings/{id}":                            "LFFANAAFAA",
	"POST /console/trainings/{id}":                           "LFFANAAFAA",
	"POST /console/trainings/{id}/materials":                 "LFFANAAFAA",
	"POST /console/trainings/{id}/questions":                 "LFFANAAFAA",
	"POST /console/trainings/{id}/sessions":                  "LFFANAAFAA",
	"POST /console/trainings/{id}/sessions/{sid}/attendance": "LFFANAAFAA",
	"GET /console/trainings/{id}/learners":                   "LFFANAAAAA",

	"GET /console":                                  "LFFAAAAAAA",
	"GET /console/members":                          "LFFFFFAAAA",
	"GET /console/members/new":                      "LFFFFFAFAA",
	"POST /console/members":                         "LFFFFFAFAA",
	"GET /console/members/{id}":                     "LFFANAAAAA",
	"POST /console/members/{id}":                    "LFFFNFAFAA",
	"POST /console/members/{id}/invitations":        "LFFFNAAFAA",
	"POST /console/members/{id}/staff/{uid}":        "LFFFNAAFAA",
	"POST /console/members/{id}/staff/{uid}/remove": "LFFFNNNFNN", // an unknown person: allowed roles reach the lookup
	"GET /console/operators":                        "LFFFFFAAAA",
	"POST /console/operators/invitations":           "LFFFFFAFFA",
	"POST /console/operators/{uid}":                 "LFFFFFAFFA",
	"POST /console/accounts/{uid}/2fa/reset":        "LFFFFFAFFA",
	"GET /console/outbox":                           "LFFFFFAAAA",
	"GET /console/grants":                           "LFFAAAAAAA",
	"GET /console/grants/new":                       "LFFFFFAFAA",
	"POST /console/grants":                          "LFFFFFAFAA",
	"POST /console/grants/{id}/revoke":              "LFFFNAAFAA",
	"GET /console/learners":                         "LFFFFFAAAA",
	"GET /console/learners/{uid}":                   "LFFANAAAAA",
	"POST /console/learners/{uid}":                  "LFFANAAAAA",
	"GET /invite/{token}":                           "GGGGGGGGGG",
	"POST /invite/{token}":                          "GGGGGGGGGG",

	"GET /rights":                        "LAAAAAAAAA",
	"GET /rights/access":                 "LAAAAAAAAA",
	"POST /rights/rectification":         "LAAAAAAAAA",
	"POST /rights/erasure":               "LAAAAAAAAA",
	"POST /rights/restriction":           "LAAAAAAAAA",
	"POST /rights/objections":            "LAAAAAAAAA",
	"POST /rights/withdraw":              "LAAAAAAAAA",
	"POST /rights/review":                "LAAAAAAAAA",
	"GET /rights/cases/{id}":             "LNANNNNNNN", // the learner's own case
	"POST /rights/cases/{id}/cancel":     "LNANNNNNNN",
	"GET /console/rights":                "LFFFFFFFFA",
	"GET /console/disclosures":           "LFFFFFFFFA",
	"GET /console/rights/new":            "LFFFFFFFFA",
	"POST /console/rights/new":           "LFFFFFFFFA",
	"GET /console/rights/{id}":           "LFFFFFFFFA",
	"POST /console/rights/{id}":          "LFFFFFFFFA",
	"POST /console/rights/{id}/extend":   "LFFFFFFFFA",
	"POST /console/rights/{id}/identity": "LFFFFFFFFA",
	"POST /console/rights/{id}/rectify":  "LFFFFFFFFA",
	"POST /console/rights/{id}/grade":    "LFFFFFFFFA",
	"POST /console/rights/{id}/export":   "LFFFFFFFFA",

	// Operations: the operator role and the privacy officer.
	"GET /console/retention":                     "LFFFFFAFFA",
	"POST /console/retention/rules":              "LFFFFFAFFA",
	"POST /console/retention/holds":              "LFFFFFAFFA",
	"POST /console/retention/holds/{id}/release": "LFFFFFNFFN", // an unknown hold: allowed roles reach the lookup
	"GET /console/backups":                       "LFFFFFAFFA",
	"POST /console/backups/run":                  "LFFFFFAFFA",
	"POST /console/backups/target":               "LFFFFFAFFA",
	"GET /console/backups/{id}/download":         "LFFFFFNFFN",
	"GET /console/audit":                         "LFFFFFAFFA",

	// The privacy officer's registers.
	"GET /console/breaches":                 "LFFFFFFFFA",
	"GET /console/breaches.csv":             "LFFFFFFFFA",
	"GET /console/breaches/new":             "LFFFFFFFFA",
	"POST /console/breaches":                "LFFFFFFFFA",
	"GET /console/breaches/{id}":            "LFFFFFFFFA",
	"POST /console/breaches/{id}/notify":    "LFFFFFFFFA",
	"GET /console/breaches/{id}/edit":       "LFFFFFFFFA",
	"POST /console/breaches/{id}/edit":      "LFFFFFFFFA",
	"POST /console/breaches/{id}/timeline":  "LFFFFFFFFA",
	"POST /console/breaches/{id}/authority": "LFFFFFFFFA",
	"POST /console/breaches/{id}/close":     "LFFFFFFFFA",
	"GET /console/policies":                 "LFFFFFFFFA",
	"POST /console/policies":                "LFFFFFFFFA",
	"GET /console/policies/{id}":            "LFFFFFFFFA",
	"POST /console/policies/{id}":           "LFFFFFFFFA",
	"POST /console/policies/{id}/publish":   "LFFFFFFFFA",

	// Policy versions are public; accepting one needs an account.
	"GET /privacy/versions":                     "AAAAAAAAAA",
	"GET /privacy/versions/{version}":           "AAAAAAAAAA",
	"GET /privacy/versions/{version}/copy.html": "AAAAAAAAAA",
	"GET /privacy/versions/{version}/copy.txt":  "AAAAAAAAAA",
	"GET /privacy/accept":                       "LAAAAAAAAA",
	"POST /privacy/accept":                      "LAAAAAAAAA",

	// Notifications: like editing the training; unsubscribing needs only the
	// signed token (a bad one is a 400 page, for everyone alike).
	"GET /console/trainings/{id}/notify":            "LFFANAAFAA",
	"POST /console/trainings/{id}/announce":         "LFFANAAFAA",
	"POST /console/trainings/{id}/feedback-request": "LFFANAAFAA",
	"GET /unsubscribe/{token}":                      "AAAAAAAAAA",
	"POST /unsubscribe/{token}":                     "AAAAAAAAAA",

	// Reports: staff see their own Member's trainings, operators all.
	"GET /console/reports":                    "LFFAAAAAAA",
	"GET /console/reports/csv":                "LFFAAAAAAA",
	"GET /console/reports/trainings/{id}":     "LFFANAAAAA",
	"GET /console/reports/trainings/{id}/csv": "LFFANAAAAA",

	// Portability: one's own export only.
	"POST /rights/export":               "LAAAAAAAAA",
	"GET /rights/export/{id}":           "LNANNNNNNN",
	"GET /rights/export/{id}/download":  "LNANNNNNNN",
	"POST /rights/export/{id}/download": "LNANNNNNNN",

	"/": "NNNNNNNNNN",
}

// matrixFixture holds the objects the routes' path parameters point at.
type matrixFixture struct {
	ts                               *testServer
	memberA, training, page, file    string
	otherTraining                    string // enrolment goes here, so no role joins the main one
	session, grantSpare, spareStaff  string
	spareOperator, learnerID, caseID string
	certificate                      string
	breach, draft, export            string
	password                         string
	emails                           map[string]string
}

func newMatrixFixture(t *testing.T) *matrixFixture {
	t.Helper()
	ts := newTestServer(t)
	ctx := t.Context()
	fx := &matrixFixture{ts: ts, password: "matrix password 1", emails: map[string]string{}}
	// Every role logs in afresh for every route: lift the per-address
	// login throttle, which would otherwise (rightly) stop this one client.
	ts.app.limits.loginIP = newLimiter(1<<30, time.Hour, ts.clock.Now)
	hash, err := bcrypt.GenerateFromPassword([]byte(fx.password), bcrypt.MinCost)
	require.NoError(t, err)
	mk := func(email string, role store.Role, verified, dpo bool) store.User {
		u, err := ts.store.CreateUser(ctx, store.NewUser{Email: email, FirstName: "M", Surname: "X", PasswordHash: string(hash),
			Role: role, Verified: verified, DPO: dpo})
		require.NoError(t, err)
		return u
	}
	a, err := ts.store.MemberByName(ctx, "SME Corporation Malaysia")
	require.NoError(t, err)
	b, err := ts.store.MemberByName(ctx, "SMESCO Indonesia")
	require.NoError(t, err)
	fx.memberA = a.ID

	fx.emails["unverified"] = mk("unverified@example.org", store.RoleLearner, false, false).Email
	learner := mk("learner@example.org", store.RoleLearner, true, false)
	fx.learnerID, fx.emails["learner"] = learner.ID, learner.Email
	for role, m := range map[string]struct {
		member string
		r      store.Role
	}{"staff-in-grant": {a.ID, store.RoleMemberStaff}, "staff-no-grant": {b.ID, store.RoleMemberStaff}, "member-admin": {a.ID, store.RoleMemberAdmin}} {
		u := mk(role+"@example.org", store.RoleLearner, true, false)
		require.NoError(t, ts.store.SetStaff(ctx, u.ID, m.member, m.r))
		fx.emails[role] = u.Email
	}
	spare := mk("spare-staff@example.org", store.RoleLearner, true, false)
	require.NoError(t, ts.store.SetStaff(ctx, spare.ID, a.ID, store.RoleMemberStaff))
	fx.spareStaff = spare.ID
	fx.emails["operator"] = mk("operator@example.org", store.RoleOperator, true, false).Email
	fx.emails["consultant"] = mk("consultant@example.org", store.RoleConsultant, true, false).Email
	fx.emails["backoffice"] = mk("backoffice@example.org", store.RoleBackoffice, true, false).Email
	fx.emails["privacy-officer"] = mk("dpo@example.org", store.RoleOperator, true, true).Email
	fx.spareOperator = mk("spare-operator@example.org", store.RoleConsultant, true, false).ID

	tr, err := ts.store.CreateTraining(ctx, a.ID, "", store.TrainingInput{Title: "Matrix", Summary: "s", Language: "en",
		Kind: store.KindLive, PassMark: 50, Published: true})
	require.NoError(t, err)
	fx.training = tr.ID
	other, err := ts.store.CreateTraining(ctx, a.ID, "", store.TrainingInput{Title: "Other", Summary: "s", Language: "en",
		Kind: store.KindSelfStudy, PassMark: 50, Published: true})
	require.NoError(t, err)
	fx.otherTraining = other.ID
	page, err := ts.store.AddMaterial(ctx, tr.ID, "", store.MaterialInput{Kind: store.MaterialPage, Title: "Page", BodyMD: "x", Required: true})
	require.NoError(t, err)
	fx.page = page.ID
	fileID := store.NewID()
	sum, err := ts.app.saveMaterialFile(fileID, []byte("plain text file\n"))
	require.NoError(t, err)
	_, err = ts.store.AddMaterial(ctx, tr.ID, fileID, store.MaterialInput{Kind: store.MaterialFile, Title: "File",
		FileName: "f.txt", FileType: "text/plain; charset=utf-8", FileSize: 16, FileHash: sum})
	require.NoError(t, err)
	fx.file = fileID
	q, err := ts.store.AddQuestion(ctx, tr.ID, "Which?", []store.Choice{{Label: "a", Correct: true}, {Label: "b"}})
	require.NoError(t, err)
	se, err := ts.store.AddSession(ctx, tr.ID, ts.clock.Now().Add(time.Hour), ts.clock.Now().Add(2*time.Hour))
	require.NoError(t, err)
	fx.session = se.ID
	require.NoError(t, ts.store.Enrol(ctx, learner.ID, tr.ID))
	_, err = ts.store.SubmitQuiz(ctx, learner.ID, tr, map[string]string{q.ID: q.Choices[0].ID})
	require.NoError(t, err)
	require.NoError(t, ts.store.MarkAttendance(ctx, se.ID, learner.ID, "x"))
	cert, err := ts.store.CompleteIfDone(ctx, learner.ID, tr.ID)
	require.NoError(t, err)
	require.NotNil(t, cert)
	fx.certificate = cert.Code

	window := func() store.NewGrant {
		return store.NewGrant{MemberID: a.ID, TrainingIDs: []string{tr.ID}, Purpose: "matrix", GrantedBy: "x",
			ValidFrom: ts.clock.Now().Add(-time.Hour), ValidUntil: ts.clock.Now().Add(24 * time.Hour)}
	}
	_, err = ts.store.CreateGrant(ctx, window())
	require.NoError(t, err)
	g2, err := ts.store.CreateGrant(ctx, window())
	require.NoError(t, err)
	fx.grantSpare = g2.ID
	c, err := ts.store.CreateCase(ctx, store.NewCase{UserID: learner.ID, Kind: store.CaseRectification, Details: "fix"})
	require.NoError(t, err)
	fx.caseID = c.ID
	breach, err := ts.store.CreateBreach(ctx, "x", store.NewBreach{Title: "Lost laptop", Description: "d", Measures: "m", Advice: "a",
		Contact: "c", Categories: []string{string(store.CatRegistration)}, OccurredAt: ts.clock.Now().Add(-time.Hour),
		DetectedAt: ts.clock.Now(), Scope: store.BreachAll})
	require.NoError(t, err)
	fx.breach = breach.ID
	d, err := ts.store.SavePolicyDraft(ctx, "x", store.PolicyDraft{Version: "2027-01-01", Summary: "s", BodyMD: "b",
		Material: true, EffectiveAt: ts.clock.Now().Add(24 * time.Hour)})
	require.NoError(t, err)
	fx.draft = d.ID
	fx.export, err = ts.store.CreateExport(ctx, learner.ID)
	require.NoError(t, err)
	return fx
}

// client returns a fresh, logged-in client for role ("visitor": none).
func (fx *matrixFixture) client(t *testing.T, role string) *testServer {
	t.Helper()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	c := &testServer{Server: fx.ts.Server, app: fx.ts.app, store: fx.ts.store, clock: fx.ts.clock,
		client: &http.Client{Jar: jar, CheckRedirect: fx.ts.client.CheckRedirect}}
	if role == "visitor" {
		return c
	}
	res := c.signIn(t, fx.emails[role], fx.password)
	require.Equal(t, http.StatusSeeOther, res.StatusCode, "login as %s", role)
	return c
}

// path fills a pattern's wildcards with the fixture's objects.
func (fx *matrixFixture) path(pattern string) (method, path string, form url.Values) {
	method, path, _ = strings.Cut(pattern, " ")
	if path == "" {
		method, path = "GET", pattern
	}
	form = url.Values{}
	switch {
	case path == "/":
		return method, "/no-such-page", form
	case path == "/static/":
		return method, "/static/kelas.css", form
	case strings.Contains(path, "/materials/{mid}/file"):
		path = strings.Replace(path, "{mid}", fx.file, 1)
	case strings.Contains(path, "/sessions/{sid}/attendance"):
		path = strings.Replace(path, "{sid}", fx.session, 1)
		form.Set("user_id", fx.learnerID)
	}
	r := strings.NewReplacer(
		"{$}", "",
		"{token}", "bogus-token-that-was-never-issued-000000000",
		"{code}", fx.certificate,
		"{mid}", fx.page,
	)
	path = r.Replace(path)
	id := fx.training
	switch {
	case strings.HasSuffix(path, "/enrol"):
		id = fx.otherTraining
	case strings.HasPrefix(path, "/console/members/"):
		id = fx.memberA
	case strings.HasPrefix(path, "/console/grants/"):
		id = fx.grantSpare
	case strings.HasPrefix(path, "/rights/cases/"), strings.HasPrefix(path, "/console/rights/"):
		id = fx.caseID
	case strings.HasPrefix(path, "/console/breaches/"):
		id = fx.breach
	case strings.HasPrefix(path, "/console/policies/"):
		id = fx.draft
	case strings.HasPrefix(path, "/rights/export/"):
		id = fx.export
	case strings.HasPrefix(path, "/console/backups/"), strings.HasPrefix(path, "/console/retention/"):
		id = store.NewID() // none exists: allowed roles reach the lookup
	}
	path = strings.Replace(path, "{version}", "2023-10-09", 1)
	switch {
	}
	path = strings.Replace(path, "{id}", id, 1)
	uid := fx.learnerID
	switch {
	case strings.HasSuffix(path, "/remove"):
		uid = store.NewID()
	case strings.HasPrefix(path, "/console/members/"):
		uid = fx.spareStaff
	case strings.HasPrefix(path, "/console/operators/"):
		uid = fx.spareOperator
	}
	path = strings.Replace(path, "{uid}", uid, 1)
	return method, path, form
}

func outcome(res *http.Response) byte {
	switch res.StatusCode {
	case http.StatusForbidden:
		return 'F'
	case http.StatusNotFound:
		return 'N'
	case http.StatusGone:
		return 'G'
	case http.StatusSeeOther, http.StatusFound:
		if strings.HasPrefix(res.Header.Get("Location"), "/login") {
			return 'L'
		}
	}
	if res.StatusCode >= 500 {
		return '!'
	}
	return 'A'
}

func TestAuthorisationMatrix(t *testing.T) {
	fx := newMatrixFixture(t)
	var patterns []string
	for _, rt := range fx.ts.app.routeTable {
		patterns = append(patterns, rt.pattern)
	}
	sort.Strings(patterns)
	var missing []string
	for _, p := range patterns {
		if _, ok := matrix[p]; !ok {
			missing = append(missing, p)
		}
	}
	require.Empty(t, missing, "routes without an entry in the authorisation matrix")
	for p := range matrix {
		assert.Contains(t, patterns, p, "a matrix entry for a route that does not exist")
	}
	for _, p := range patterns {
		want := matrix[p]
		require.Len(t, want, len(matrixRoles), p)
		t.Run(strings.NewReplacer("/", "_", " ", "_").Replace(p), func(t *testing.T) {
			for i, role := range matrixRoles {
				c := fx.client(t, role)
				method, path, form := fx.path(p)
				var res *http.Response
				if method == http.MethodPost {
					res, _ = c.postForm(t, path, form)
				} else {
					res, _ = c.get(t, path)
				}
				got := outcome(res)
				exp := want[i]
				if exp == 'G' && (got == 'N' || got == 'G') {
					continue
				}
				assert.Equal(t, string(exp), string(got), "%s %s as %s: status %d, location %q", method, path, role, res.StatusCode, res.Header.Get("Location"))
			}
		})
	}
}
