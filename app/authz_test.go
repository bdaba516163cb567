package app

import (
	"cmp"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/pquerna/otp/totp"
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
//	A  allowed: a page was shown (GET), or the action was carried out and
//	   changed what kelas records (POST, sent with a valid form)
//	S  allowed, and the action's whole effect is on the person's session
//	   (logging in or out, confirming a password)
//	R  refused by an answer of its own (a redirect elsewhere, 400, 409,
//	   422), with nothing changed
//	L  sent to log in (303 to /login), nothing changed
//	F  forbidden (403), nothing changed
//	N  not found (404): the object is not theirs to know about
//	G  a link token that is not valid (404 or 410) whoever follows it
var matrixRoles = []string{"visitor", "unverified", "learner", "staff-in-grant", "staff-no-grant", "member-admin",
	"operator", "consultant", "backoffice", "privacy-officer"}

// matrix maps each route pattern to its outcomes.
var matrix = map[string]string{
	"GET /static/":                 "AAAAAAAAAA",
	"GET /healthz":                 "AAAAAAAAAA",
	"GET /.well-known/gpc.json":    "AAAAAAAAAA",
	"GET /favicon.ico":             "AAAAAAAAAA",
	"GET /logout":                  "AAAAAAAAAA",
	"GET /{$}":                     "AAAAAAAAAA",
	"GET /setup/{token}":           "GGGGGGGGGG",
	"POST /setup/{token}":          "GGGGGGGGGG",
	"GET /register":                "AAAAAAAAAA",
	"POST /register":               "AAAAAAAAAA",
	"GET /verify/{token}":          "GGGGGGGGGG",
	"POST /verify/resend":          "LARRRRRRRR", // already confirmed: nothing to send
	"GET /email/revert/{token}":    "GGGGGGGGGG",
	"POST /email/revert/{token}":   "GGGGGGGGGG",
	"GET /login":                   "AAAAAAAAAA",
	"POST /login":                  "ASSSSSSSSS", // signed in again: only the session changes
	"GET /login/2fa":               "LLLLLLLLLL", // no password given in this session: back to the first step
	"POST /login/2fa":              "LLLLLLLLLL",
	"POST /logout":                 "SSSSSSSSSS",
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

	"GET /trainings":                            "AAAAAAAAAA",
	"GET /trainings/{id}":                       "AAAAAAAAAA",
	"GET /trainings/{id}/calendar.ics":          "AAAAAAAAAA",
	"GET /trainings/{id}/cover":                 "AAAAAAAAAA", // a published training's
	"POST /trainings/{id}/enrol":                "LRAAAAAAAA", // confirm the address first
	"GET /trainings/{id}/materials/{mid}":       "LFAAFAAAAA",
	"GET /trainings/{id}/materials/{mid}/file":  "LFAAFAAAAA",
	"GET /trainings/{id}/quiz":                  "LFAAFAAAAA",
	"POST /trainings/{id}/materials/{mid}/done": "LFAFFFFFFF", // only enrolled learners have progress
	"GET /trainings/{id}/leave":                 "LNANNNNNNN", // nothing to leave unless enrolled
	"POST /trainings/{id}/leave":                "LNANNNNNNN",
	"POST /trainings/{id}/quiz":                 "LFAFFFFFFF", // only enrolled learners submit
	"POST /trainings/{id}/quiz/start":           "LFAFFFFFFF", // only enrolled learners take the quiz
	"GET /trainings/{id}/quiz/attempts/{aid}":   "LFANFNNNNN", // one's own results only
	"GET /certificates/{code}":                  "AAAAAAAAAA",
	"GET /dashboard":                            "LAAAAAAAAA",

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
	// Content management: like editing the training.
	"GET /console/trainings/{id}/materials/{mid}":         "LFFANAAFAA",
	"POST /console/trainings/{id}/materials/{mid}":        "LFFANAAFAA",
	"POST /console/trainings/{id}/materials/{mid}/move":   "LFFANAAFAA",
	"POST /console/trainings/{id}/materials/{mid}/hide":   "LFFANAAFAA",
	"POST /console/trainings/{id}/materials/{mid}/show":   "LFFANAAFAA",
	"POST /console/trainings/{id}/materials/{mid}/delete": "LFFANAAFAA",
	"GET /console/trainings/{id}/questions/{qid}":         "LFFANAAFAA",
	"POST /console/trainings/{id}/questions/{qid}":        "LFFANAAFAA",
	"POST /console/trainings/{id}/questions/{qid}/move":   "LFFANAAFAA",
	"POST /console/trainings/{id}/questions/{qid}/hide":   "LFFANAAFAA",
	"POST /console/trainings/{id}/questions/{qid}/show":   "LFFANAAFAA",
	"POST /console/trainings/{id}/questions/{qid}/delete": "LFFANAAFAA",
	"GET /console/trainings/{id}/sessions/{sid}":          "LFFANAAFAA",
	"POST /console/trainings/{id}/sessions/{sid}":         "LFFANAAFAA",
	"POST /console/trainings/{id}/sessions/{sid}/delete":  "LFFANAAFAA",
	"POST /console/trainings/{id}/sessions/{sid}/hide":    "LFFANAAFAA",
	"POST /console/trainings/{id}/sessions/{sid}/show":    "LFFANAAFAA",
	"POST /console/trainings/{id}/duplicate":              "LFFANAAFAA",
	"POST /console/trainings/{id}/archive":                "LFFANAAFAA",

	"GET /console":                                  "LFFAAAAAAA",
	"GET /console/members":                          "LFFFFFAAAA",
	"GET /console/members/new":                      "LFFFFFAFAA",
	"POST /console/members":                         "LFFFFFAFAA",
	"GET /console/members/{id}":                     "LFFANAAAAA",
	"POST /console/members/{id}":                    "LFFFNFAFAA",
	"POST /console/members/{id}/invitations":        "LFFFNAAFAA",
	"POST /console/members/{id}/staff/{uid}":        "LFFFNAAFAA",
	"POST /console/members/{id}/staff/{uid}/remove": "LFFFNAAFAA",
	"GET /console/operators":                        "LFFFFFAAAA",
	"POST /console/operators/invitations":           "LFFFFFAFFA",
	"GET /console/settings":                         "LFFFFFAFFA",
	"POST /console/learners/{uid}/suspend":          "LFFFFFAFFA",
	"POST /console/learners/{uid}/reinstate":        "LFFFFFAFFA",
	"POST /console/settings":                        "LFFFFFAFFA",
	"GET /logo":                                     "AAAAAAAAAA",
	"GET /leaving":                                  "AAAAAAAAAA",
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
	"GET /console/undertaking":                      "LFFAAAAAAA",
	"POST /console/undertaking":                     "LFFAAAAAAA",
	"GET /invite/{token}":                           "GGGGGGGGGG",
	"POST /invite/{token}":                          "GGGGGGGGGG",

	"GET /rights":                        "LAAAAAAAAA",
	"GET /rights/access":                 "LAAAAAAAAA",
	"POST /rights/rectification":         "LAAAAAAAAA",
	"POST /rights/erasure":               "LAAAAAAAAA",
	"POST /rights/restriction":           "LAAAAAAAAA",
	"POST /rights/objections":            "LAAAAAAAAA",
	"POST /rights/withdraw":              "LAAAAAAAAA",
	"POST /rights/review":                "LRARRRRRRR", // only the learner has a grade to review
	"GET /rights/cases/{id}":             "LNANNNNNNN", // the learner's own case
	"POST /rights/cases/{id}/cancel":     "LNANNNNNNN",
	"GET /console/rights":                "LFFFFFFFFA",
	"GET /console/disclosures":           "LFFFFFFFFA",
	"GET /console/disclosures/legal":     "LFFFFFFFFA",
	"GET /console/disclosures/legal/new": "LFFFFFFFFA",
	"POST /console/disclosures/legal":    "LFFFFFFFFA",
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
	"POST /console/retention/holds/{id}/release": "LFFFFFAFFA",
	"GET /console/backups":                       "LFFFFFAFFA",
	"POST /console/backups/run":                  "LFFFFFAFFA",
	"POST /console/backups/target":               "LFFFFFAFFA",
	"GET /console/backups/{id}/download":         "LFFFFFNFFN",
	"GET /console/audit":                         "LFFFFFAFFA",

	// The privacy officer's registers.
	"GET /console/breaches":                                  "LFFFFFFFFA",
	"GET /console/breaches.csv":                              "LFFFFFFFFA",
	"GET /console/breaches/new":                              "LFFFFFFFFA",
	"POST /console/breaches":                                 "LFFFFFFFFA",
	"GET /console/breaches/{id}":                             "LFFFFFFFFA",
	"POST /console/breaches/{id}/notify":                     "LFFFFFFFFA",
	"GET /console/breaches/{id}/edit":                        "LFFFFFFFFA",
	"POST /console/breaches/{id}/edit":                       "LFFFFFFFFA",
	"POST /console/breaches/{id}/timeline":                   "LFFFFFFFFA",
	"POST /console/breaches/{id}/authority":                  "LFFFFFFFFA",
	"POST /console/breaches/{id}/close":                      "LFFFFFFFFA",
	"GET /console/policies":                                  "LFFFFFFFFA",
	"POST /console/policies":                                 "LFFFFFFFFA",
	"GET /console/policies/{id}":                             "LFFFFFFFFA",
	"POST /console/policies/{id}":                            "LFFFFFFFFA",
	"POST /console/policies/{id}/publish":                    "LFFFFFFFFA",
	"GET /console/policies/versions/{version}":               "LFFFFFFFFA",
	"POST /console/policies/versions/{version}/translations": "LFFFFFFFFA",

	// Policy versions are public; accepting one needs an account.
	"GET /privacy/versions":                     "AAAAAAAAAA",
	"GET /privacy/versions/{version}":           "AAAAAAAAAA",
	"GET /privacy/versions/{version}/copy.html": "AAAAAAAAAA",
	"GET /privacy/versions/{version}/copy.txt":  "AAAAAAAAAA",
	"GET /privacy/accept":                       "LAAAAAAAAA",
	"POST /privacy/accept":                      "LAAAAAAAAA",
	"POST /privacy/decline":                     "LAAAAAAAAA",

	// Notifications: like editing the training; unsubscribing needs only the
	// signed token (a bad one is a 400 page, for everyone alike).
	"GET /console/trainings/{id}/notify":            "LFFANAAFAA",
	"POST /console/trainings/{id}/announce":         "LFFANAAFAA",
	"POST /console/trainings/{id}/feedback-request": "LFFANAAFAA",
	"GET /unsubscribe/{token}":                      "AAAAAAAAAA",
	"POST /unsubscribe/{token}":                     "RRRRRRRRRR",

	// Reports: staff see their own Member's trainings, operators all.
	"GET /console/reports":                    "LFFAAAAAAA",
	"GET /console/reports/csv":                "LFFAAAAAAA",
	"GET /console/reports/trainings/{id}":     "LFFANAAAAA",
	"GET /console/reports/trainings/{id}/csv": "LFFANAAAAA",

	// Portability: one's own export only.
	"POST /rights/export":               "LRAAAAAAAA", // exports go to confirmed addresses only
	"GET /rights/export/{id}":           "LNANNNNNNN",
	"GET /rights/export/{id}/download":  "LNANNNNNNN",
	"POST /rights/export/{id}/download": "LNSNNNNNNN",

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
	password, hash                   string
	emails                           map[string]string
	question, rightChoice, attempt   string
	rules                            url.Values
	n                                int // makes names and labels unique
	readers                          []tableReader
	lastState                        string  // the last fingerprint
	lastVersions                     []int64 // the readers' data_version when it was taken
	clients                          map[string]*testServer
}

func newMatrixFixture(t *testing.T, withExport bool) *matrixFixture {
	t.Helper()
	ts := newTestServer(t)
	ctx := t.Context()
	fx := &matrixFixture{ts: ts, password: "matrix password 1", emails: map[string]string{}, rules: url.Values{}}
	// Every role logs in afresh for every route: lift the per-address
	// login throttle, which would otherwise (rightly) stop this one client.
	ts.app.limits.loginIP = newLimiter(1<<30, time.Hour, ts.clock.Now)
	hash, err := bcrypt.GenerateFromPassword([]byte(fx.password), bcrypt.MinCost)
	require.NoError(t, err)
	fx.hash = string(hash)
	mk := func(email string, role store.Role, verified, dpo bool) store.User {
		u, err := ts.store.CreateUser(ctx, store.NewUser{AcceptedPolicy: seededPolicy, Email: email, FirstName: "M", Surname: "X", PasswordHash: string(hash),
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
	// Staff and operators have accepted the confidentiality undertaking, so
	// the learner records they may open are shown (its gate is tested in
	// undertaking_test.go).
	for _, role := range []string{"staff-in-grant", "staff-no-grant", "member-admin", "operator", "consultant", "backoffice", "privacy-officer"} {
		u, err := ts.store.UserByEmail(ctx, fx.emails[role])
		require.NoError(t, err)
		acceptUndertaking(t, ts, u.ID)
	}

	tr, err := ts.store.CreateTraining(ctx, a.ID, "", store.TrainingInput{Title: "Matrix", Summary: "s", Language: "en",
		Kind: store.KindLive, PassMark: 50, Published: true})
	require.NoError(t, err)
	fx.training = tr.ID
	require.NoError(t, ts.store.SetTrainingCover(ctx, tr.ID, pngWithText(t, 20, 10), "image/png"))
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
	fx.question, fx.rightChoice = q.ID, q.Choices[0].ID
	attempts, err := ts.store.Attempts(ctx, learner.ID)
	require.NoError(t, err)
	require.NotEmpty(t, attempts)
	fx.attempt = attempts[0].ID
	rules, err := ts.store.RetentionRules(ctx)
	require.NoError(t, err)
	for _, r := range rules {
		if r.Editable {
			fx.rules.Set("keep_"+r.Category, strconv.Itoa(r.Keep))
		}
	}
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
	_, err = ts.store.SaveLogo(ctx, "x", 0, pngWithText(t, 20, 10))
	require.NoError(t, err)
	fx.openReaders(t)
	fx.export = store.NewID()
	if withExport {
		fx.export, err = ts.app.startExport(ctx, learner.ID)
		require.NoError(t, err)
		require.Equal(t, store.ExportReady, waitExport(t, ts, learner.ID, fx.export).Status)
	}
	return fx
}

// reader returns role's logged-in client for pages that change nothing,
// logging in once per role.
func (fx *matrixFixture) reader(t *testing.T, role string) *testServer {
	t.Helper()
	if fx.clients == nil {
		fx.clients = map[string]*testServer{}
	}
	if c, ok := fx.clients[role]; ok {
		return c
	}
	c := fx.client(t, role)
	fx.clients[role] = c
	return c
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

// probe is one request of the matrix.
type probe struct {
	method, path string
	form         url.Values
	multipart    bool
}

// probe builds the request for pattern as role would send it: a form that
// passes validation, so an allowed role reaches the action, and objects
// made afresh where an action uses its object up (a revoked grant, a
// closed case), so one role's action never decides the next one's
// outcome. c is role's client (nil for a visitor).
func (fx *matrixFixture) probe(t *testing.T, c *testServer, pattern, role string) probe {
	t.Helper()
	ctx := t.Context()
	ts := fx.ts
	now := ts.clock.Now().UTC()
	method, path, _ := strings.Cut(pattern, " ")
	if path == "" {
		method, path = "GET", pattern
	}
	p := probe{method: method, form: url.Values{}}
	code := func() string {
		if c == nil || c.uid == "" {
			return "000000"
		}
		return c.code(t)
	}
	fx.n++
	unique := strconv.Itoa(fx.n)
	switch {
	case path == "/":
		p.path = "/no-such-page"
		return p
	case path == "/static/":
		p.path = "/static/kelas.css"
		return p
	case path == "/leaving":
		p.path = "/leaving?to=" + url.QueryEscape("https://example.org/guide")
		return p
	}
	r := strings.NewReplacer(
		"{$}", "",
		"{token}", "bogus-token-that-was-never-issued-000000000",
		"{code}", fx.certificate,
		"{version}", "2023-10-09",
	)
	path = r.Replace(path)
	ids := map[string]string{"{id}": fx.training, "{mid}": fx.page, "{uid}": fx.learnerID, "{aid}": fx.attempt}
	switch {
	case strings.HasSuffix(path, "/materials/{mid}/file"):
		ids["{mid}"] = fx.file
	case strings.HasSuffix(path, "/enrol"):
		ids["{id}"] = fx.otherTraining
	case strings.HasSuffix(path, "/attendance"):
		se, err := ts.store.AddSession(ctx, fx.training, now.Add(-time.Hour), now.Add(time.Hour))
		require.NoError(t, err)
		ids["{sid}"] = se.ID
		p.form.Set("user_id", fx.learnerID)
	case strings.HasPrefix(path, "/console/trainings/{id}/materials/{mid}"):
		// A material of its own: moving, hiding or deleting uses it up. It
		// is the last one, so it can always move up.
		m, err := ts.store.AddMaterial(ctx, fx.training, "", store.MaterialInput{Kind: store.MaterialPage, Title: "Page", BodyMD: "x", Required: true})
		require.NoError(t, err)
		if strings.HasSuffix(path, "/show") {
			require.NoError(t, ts.store.SetMaterialHidden(ctx, fx.training, m.ID, true))
		}
		ids["{mid}"] = m.ID
		p.form.Set("direction", "up")
	case strings.HasPrefix(path, "/console/trainings/{id}/questions/{qid}"):
		q, err := ts.store.AddQuestion(ctx, fx.training, "Which?", []store.Choice{{Label: "a", Correct: true}, {Label: "b"}})
		require.NoError(t, err)
		if strings.HasSuffix(path, "/show") {
			require.NoError(t, ts.store.SetQuestionHidden(ctx, fx.training, q.ID, true))
		}
		ids["{qid}"] = q.ID
		p.form.Set("direction", "up")
		p.form.Set("question_correct", q.Choices[1].ID)
	case strings.HasPrefix(path, "/console/trainings/{id}/sessions/{sid}"):
		se, err := ts.store.AddSession(ctx, fx.training, now.Add(72*time.Hour), now.Add(73*time.Hour))
		require.NoError(t, err)
		if strings.HasSuffix(path, "/show") {
			require.NoError(t, ts.store.SetSessionHidden(ctx, fx.training, se.ID, true))
		}
		ids["{sid}"] = se.ID
	case strings.HasSuffix(path, "/archive"):
		// A training of its own: archiving uses it up.
		tr, err := ts.store.CreateTraining(ctx, fx.memberA, "", store.TrainingInput{Title: "Other", Summary: "s", Language: "en",
			Kind: store.KindSelfStudy, PassMark: 50, Published: true})
		require.NoError(t, err)
		ids["{id}"] = tr.ID
	case strings.HasPrefix(path, "/console/members/"):
		ids["{id}"] = fx.memberA
		st := fx.user(t, "staff", store.RoleLearner, false)
		require.NoError(t, ts.store.SetStaff(ctx, st, fx.memberA, store.RoleMemberStaff))
		ids["{uid}"] = st
	case strings.HasPrefix(path, "/console/operators/"):
		ids["{uid}"] = fx.user(t, "consultant", store.RoleConsultant, false)
	case strings.HasSuffix(path, "/suspend"), strings.HasSuffix(path, "/reinstate"):
		// A learner of their own, not the learner role's account (which
		// still has to log in).
		uid := fx.user(t, "suspect", store.RoleLearner, false)
		if strings.HasSuffix(path, "/reinstate") {
			require.NoError(t, ts.store.SuspendUser(ctx, "x", uid, "Probe suspension "+unique))
		}
		ids["{uid}"] = uid
	case strings.HasPrefix(path, "/console/accounts/"):
		uid := fx.user(t, "with-2fa", store.RoleLearner, false)
		enrolTOTP(t, ts, uid)
		ids["{uid}"] = uid
	case strings.HasPrefix(path, "/console/grants/"):
		g, err := ts.store.CreateGrant(ctx, fx.grant())
		require.NoError(t, err)
		ids["{id}"] = g.ID
	case strings.HasPrefix(path, "/console/rights/"):
		kind := store.CaseRectification
		switch {
		case strings.HasSuffix(path, "/grade"):
			kind = store.CaseReview
		case strings.HasSuffix(path, "/export"):
			kind = store.CasePortability
		}
		cs, err := ts.store.CreateCase(ctx, store.NewCase{UserID: fx.learnerID, Kind: kind, Details: "case " + unique})
		require.NoError(t, err)
		ids["{id}"] = cs.ID
	case strings.HasPrefix(path, "/rights/cases/"):
		// The learner's own erasure request, afresh: cancelling uses it up.
		if cs, err := ts.store.OpenCase(ctx, fx.learnerID, store.CaseErasure); err == nil {
			ids["{id}"] = cs.ID
		} else {
			cs, err := ts.store.CreateCase(ctx, store.NewCase{UserID: fx.learnerID, Kind: store.CaseErasure, ExecuteAfter: now.Add(7 * 24 * time.Hour)})
			require.NoError(t, err)
			ids["{id}"] = cs.ID
		}
	case strings.HasPrefix(path, "/console/breaches/"):
		b, err := ts.store.CreateBreach(ctx, "x", store.NewBreach{Title: "Lost laptop " + unique, Description: "d", Measures: "m", Advice: "a",
			Contact: "c", Categories: []string{string(store.CatRegistration)}, OccurredAt: now.Add(-time.Hour),
			DetectedAt: now, Scope: store.BreachAll})
		require.NoError(t, err)
		ids["{id}"] = b.ID
	case strings.HasPrefix(path, "/console/policies/"):
		d, err := ts.store.SavePolicyDraft(ctx, "x", store.PolicyDraft{Version: fx.nextVersion(), Summary: "s", BodyMD: "b",
			Material: true, EffectiveAt: now.Add(24 * time.Hour)})
		require.NoError(t, err)
		ids["{id}"] = d.ID
	case strings.HasPrefix(path, "/rights/export/"):
		ids["{id}"] = fx.export
	case strings.HasPrefix(path, "/console/backups/"):
		ids["{id}"] = store.NewID() // none exists: allowed roles reach the lookup
	case strings.HasPrefix(path, "/console/retention/holds/"):
		h, err := ts.store.SetLegalHold(ctx, "x", store.NewLegalHold{UserID: fx.learnerID, Reason: "case " + unique})
		require.NoError(t, err)
		ids["{id}"] = h.ID
	}
	for k, v := range ids {
		path = strings.Replace(path, k, v, 1)
	}
	p.path = path
	if method != http.MethodPost {
		return p
	}

	// The forms a person allowed to send them would send.
	f := p.form
	set := func(kv ...string) {
		for i := 0; i+1 < len(kv); i += 2 {
			f.Add(kv[i], kv[i+1])
		}
	}
	email := "probe" + unique + "@example.org"
	switch pattern {
	case "POST /register":
		for k, v := range registration() {
			f[k] = v
		}
		f.Set("email", email)
	case "POST /login":
		set("email", fx.emails["learner"], "password", fx.password)
	case "POST /password/forgot":
		set("email", cmp.Or(fx.emails[role], fx.emails["learner"]))
	case "POST /setup/{token}", "POST /invite/{token}", "POST /password/reset/{token}":
		set("first_name", "New", "surname", "Person", "email", email, "password", "a long new password 2026")
	case "POST /profile":
		for k, v := range profileValues() {
			f[k] = v
		}
		f.Set("email", fx.emails[role])
		f.Set("company", "Company "+unique)
		p.multipart = true
	case "POST /profile/password":
		set("current_password", fx.password, "password", "a long new password 2026 "+unique, "code", code())
	case "POST /profile/2fa":
		u, err := ts.store.UserByEmail(ctx, fx.emails[role])
		if err != nil || u.TwoFactor {
			set("action", "codes", "code", code()) // new recovery codes
			break
		}
		// Turning the second factor on, as after opening the page.
		secret := newTOTPSecret()
		require.NoError(t, ts.store.StartTOTP(ctx, u.ID, secret))
		c, err := totp.GenerateCodeCustom(secret, now, totpOpts)
		require.NoError(t, err)
		set("action", "enable", "code", c)
	case "POST /cookies":
		set("choice", "reject_all", "return", "/")
	case "POST /privacy/accept", "POST /privacy/decline":
		// The role's account has accepted the version in force: make it
		// one that has not, as after a material change.
		if role != "visitor" {
			u, err := ts.store.UserByEmail(ctx, fx.emails[role])
			require.NoError(t, err)
			_, err = rawDB(t, ts).ExecContext(ctx, "DELETE FROM policy_acceptances WHERE user_id = ?", u.ID)
			require.NoError(t, err)
		}
		set("version", "2023-10-09", "next", "/")
	case "POST /trainings/{id}/quiz":
		// The learner's open attempt, every question of it answered.
		tr, err := ts.store.Training(ctx, fx.training)
		require.NoError(t, err)
		st, err := ts.store.StartSitting(ctx, fx.learnerID, tr)
		require.NoError(t, err)
		qs, err := ts.store.ManagedQuestions(ctx, fx.training)
		require.NoError(t, err)
		set("attempt", st.ID)
		for _, it := range st.Layout {
			for _, q := range qs {
				if q.ID == it.Question {
					set("q_"+q.ID, q.Choices[0].ID)
				}
			}
		}
	case "POST /trainings/{id}/quiz/start":
		// Nothing open, so starting opens an attempt.
		_, err := rawDB(t, ts).ExecContext(ctx, "DELETE FROM quiz_sittings WHERE user_id = ?", fx.learnerID)
		require.NoError(t, err)
	case "POST /rights/rectification":
		set("correction", "My company is called Probe "+unique+".")
	case "POST /rights/erasure", "POST /rights/export":
		set("password", fx.password)
	case "POST /rights/export/{id}/download":
		set("password", fx.password, "code", code())
	case "POST /rights/restriction":
		set("restrict", "on")
	case "POST /rights/objections":
		set("object_statistics", "on")
	case "POST /rights/review":
		set("attempt", fx.attempt)
	case "POST /console/trainings", "POST /console/trainings/{id}":
		set("title", "Probe training "+unique, "summary", "A summary.", "language", "en", "country", "MY", "kind", store.KindSelfStudy,
			"pass_mark", "60", "member_id", fx.memberA)
	case "POST /console/trainings/{id}/materials":
		set("material_kind", store.MaterialPage, "material_title", "Probe "+unique, "material_body", "Some text.")
		p.multipart = true
	case "POST /console/trainings/{id}/questions":
		set("question_prompt", "Which "+unique+"?", "question_choice_1", "this", "question_choice_2", "that", "question_correct", "1")
	case "POST /console/trainings/{id}/materials/{mid}":
		set("material_title", "Page "+unique, "material_body", "Some text "+unique+".")
	case "POST /console/trainings/{id}/questions/{qid}":
		set("question_prompt", "Which "+unique+"?", "question_choice_1", "this", "question_choice_2", "that")
	case "POST /console/trainings/{id}/sessions", "POST /console/trainings/{id}/sessions/{sid}":
		set("session_starts", now.Add(48*time.Hour).Format(datetimeLocal), "session_ends", now.Add(50*time.Hour).Format(datetimeLocal))
	case "POST /console/trainings/{id}/announce":
		set("country", "MY")
	case "POST /console/retention/rules":
		for k, v := range fx.rules {
			f[k] = v
		}
		f.Set("keep_access_log", strconv.Itoa(2+fx.n%80))
	case "POST /console/retention/holds":
		set("user_id", fx.learnerID, "reason", "court case "+unique)
	case "POST /console/backups/target":
		set("target", "") // clearing it: setting one needs credentials
	case "POST /console/members", "POST /console/members/{id}":
		set("name", "Probe Member "+unique, "country", "MY", "kind", "ngo", "active", "on")
	case "POST /console/members/{id}/invitations":
		set("email", email, "role", string(store.RoleMemberStaff))
	case "POST /console/members/{id}/staff/{uid}":
		set("role", string(store.RoleMemberAdmin), "code", code())
	case "POST /console/members/{id}/staff/{uid}/remove":
		set("code", code())
	case "POST /console/learners/{uid}/suspend":
		set("reason", "Sent advertising to every learner "+unique)
	case "POST /console/settings":
		st, err := ts.store.Settings(ctx)
		require.NoError(t, err)
		for k, v := range st.Values {
			f.Set(k, v)
		}
		f.Set("revision", strconv.FormatInt(st.Revision, 10))
		f.Set("site_name", "Probe site "+unique)
		p.multipart = true
	case "POST /console/operators/invitations":
		set("email", email, "role", string(store.RoleConsultant), "code", code())
	case "POST /console/operators/{uid}":
		set("role", string(store.RoleBackoffice), "code", code())
	case "POST /console/accounts/{uid}/2fa/reset":
		set("code", code())
	case "POST /console/grants":
		set("member_id", fx.memberA, "trainings", fx.training, "purpose", "certificates "+unique,
			"valid_from", now.Format(datetimeLocal), "valid_until", now.Add(24*time.Hour).Format(datetimeLocal), "code", code())
	case "POST /console/grants/{id}/revoke":
		set("code", code())
	case "POST /console/learners/{uid}":
		set("reason", "checking an attendance dispute")
	case "POST /console/disclosures/legal":
		set("person", fx.emails["learner"], "requester", "District Court "+unique, "basis", store.LegalCourtOrder,
			"disclosed", "Name and email address.", "reference", "DC-"+unique, "disclosed_on", now.Format(time.DateOnly),
			"bar_until", now.AddDate(0, 0, 30).Format(time.DateOnly))
	case "POST /console/undertaking":
		set("version", currentUndertakingVersion(t, ts), "accept", "on", "next", "/console")
	case "POST /console/rights/new":
		set("email", fx.emails["learner"], "kind", store.CaseRectification, "channel", store.ChannelLetter,
			"received_on", now.AddDate(0, 0, -1).Format(time.DateOnly), "details", "Please fix my name "+unique+".")
	case "POST /console/rights/{id}":
		set("action", "reject", "note", "Nothing to correct.")
	case "POST /console/rights/{id}/extend":
		set("months", "2", "reason", "many records to check")
	case "POST /console/rights/{id}/identity":
		set("identity", "ID card seen")
	case "POST /console/rights/{id}/rectify":
		set("certificate", fx.certificate, "holder_name", "Name "+unique)
	case "POST /console/rights/{id}/grade":
		set("attempt", fx.attempt, "decision", "change", "score", "90", "grade_reason", "the question was ambiguous")
	case "POST /console/breaches", "POST /console/breaches/{id}/edit":
		for k, v := range breachValues(ts) {
			f[k] = v
		}
	case "POST /console/breaches/{id}/timeline":
		set("note", "Called the partner "+unique+".")
	case "POST /console/breaches/{id}/authority":
		set("authority_at", now.Format(datetimeLocal), "reference", "REF-"+unique)
	case "POST /console/breaches/{id}/close":
		set("summary", "Contained and explained.")
	case "POST /console/policies/versions/{version}/translations":
		set("language", "th", "policy_summary", "สรุป "+unique, "body_md", "# นโยบาย "+unique)
	case "POST /console/policies", "POST /console/policies/{id}":
		for k, v := range policyValues(fx.nextVersion(), now.AddDate(0, 0, 1).Format(time.DateOnly), true, "New text "+unique+".") {
			f[k] = v
		}
	}
	return p
}

// user makes a verified account for a probe and returns its id.
func (fx *matrixFixture) user(t *testing.T, name string, role store.Role, dpo bool) string {
	t.Helper()
	fx.n++
	u, err := fx.ts.store.CreateUser(t.Context(), store.NewUser{AcceptedPolicy: seededPolicy, Email: name + strconv.Itoa(fx.n) + "@example.org", FirstName: "P", Surname: "Q",
		PasswordHash: fx.hash, Role: role, Verified: true, DPO: dpo})
	require.NoError(t, err)
	return u.ID
}

// nextVersion is a policy version label not used yet.
func (fx *matrixFixture) nextVersion() string {
	fx.n++
	return fx.ts.clock.Now().UTC().AddDate(0, 0, 1+fx.n).Format(time.DateOnly)
}

// grant is a live access grant of Member A to the main training.
func (fx *matrixFixture) grant() store.NewGrant {
	now := fx.ts.clock.Now()
	return store.NewGrant{MemberID: fx.memberA, TrainingIDs: []string{fx.training}, Purpose: "matrix", GrantedBy: "x",
		ValidFrom: now.Add(-time.Hour), ValidUntil: now.Add(24 * time.Hour)}
}

// send makes the probe's request with c; it returns the answer and, for a
// form sent back with errors, what the errors say.
func (p probe) send(t *testing.T, c *testServer) (*http.Response, string) {
	t.Helper()
	var res *http.Response
	var body string
	switch {
	case p.method == http.MethodPost && p.multipart:
		res, body = c.postMultipart(t, p.path, p.form, "", "", nil)
	case p.method == http.MethodPost:
		res, body = c.postForm(t, p.path, p.form)
	default:
		res, body = c.get(t, p.path)
	}
	var errs []string
	if res.StatusCode == http.StatusUnprocessableEntity || res.StatusCode == http.StatusConflict || res.StatusCode == http.StatusBadRequest {
		d, err := goquery.NewDocumentFromReader(strings.NewReader(body))
		require.NoError(t, err)
		d.Find(`[data-testid^="error"], .error, h1`).Each(func(_ int, s *goquery.Selection) {
			errs = append(errs, strings.Join(strings.Fields(s.Text()), " "))
		})
	}
	return res, strings.Join(errs, " | ")
}

// noiseTables change without anyone acting on data: the session store,
// the access log and statistics buffers, the scheduler's leases and the
// journal's queue (a copy of changes counted elsewhere).
var noiseTables = map[string]bool{"sessions": true, "access_log": true, "stats_daily": true, "stats_hourly": true,
	"anonymous_counts": true, "jobs": true, "journal_pending": true, "schema_migrations": true}

// state fingerprints everything kelas has recorded, in both database
// files, once queued activity is committed: a refusal must leave it as it
// was, an allowed action must change it.
func (fx *matrixFixture) state(t *testing.T) string {
	t.Helper()
	require.NoError(t, fx.ts.app.activity.Sync(t.Context()))
	// Nothing committed since the last fingerprint (data_version moves
	// with every commit by another connection): it still holds.
	versions := make([]int64, len(fx.readers))
	for i, r := range fx.readers {
		require.NoError(t, r.db.QueryRow("PRAGMA data_version").Scan(&versions[i]))
	}
	if fx.lastState != "" && slices.Equal(versions, fx.lastVersions) {
		return fx.lastState
	}
	h := sha256.New()
	for _, r := range fx.readers {
		for _, n := range r.tables {
			rows, err := r.db.Query(`SELECT * FROM "` + n + `"`)
			require.NoError(t, err)
			cols, err := rows.Columns()
			require.NoError(t, err)
			var lines []string
			vals, ptrs := make([]any, len(cols)), make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			for rows.Next() {
				require.NoError(t, rows.Scan(ptrs...))
				lines = append(lines, fmt.Sprintf("%q", vals))
			}
			require.NoError(t, rows.Err())
			rows.Close()
			sort.Strings(lines)
			fmt.Fprintf(h, "%s/%s:%d\n%s\n", r.file, n, len(lines), strings.Join(lines, "\n"))
		}
	}
	fx.lastState, fx.lastVersions = hex.EncodeToString(h.Sum(nil)), versions
	return fx.lastState
}

// openReaders opens both database files read-only for state, for as long
// as the test that made the fixture runs.
func (fx *matrixFixture) openReaders(t *testing.T) {
	t.Helper()
	for _, name := range []string{store.MainDBFile, store.KeysDBFile} {
		db, err := sql.Open("sqlite", "file:"+filepath.Join(fx.ts.store.Dir(), name)+"?mode=ro")
		require.NoError(t, err)
		db.SetMaxOpenConns(1)
		t.Cleanup(func() { assert.NoError(t, db.Close()) })
		r := tableReader{db: db, file: name}
		rows, err := db.Query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
		require.NoError(t, err)
		for rows.Next() {
			var n string
			require.NoError(t, rows.Scan(&n))
			if !noiseTables[n] && !strings.HasPrefix(n, "sqlite_") {
				r.tables = append(r.tables, n)
			}
		}
		require.NoError(t, rows.Err())
		rows.Close()
		require.NotEmpty(t, r.tables)
		fx.readers = append(fx.readers, r)
	}
}

// tableReader reads one database file for state.
type tableReader struct {
	db     *sql.DB
	file   string
	tables []string
}

// sessionOnly are the actions whose whole effect is on the person's session
// (the session table is not part of the fingerprint): logging in and out,
// confirming one's password before a download.
var sessionOnly = map[string]bool{"POST /login": true, "POST /logout": true, "POST /login/2fa": true, "POST /rights/export/{id}/download": true}

// outcome classifies an answer by its effect, not by its status class.
func outcome(pattern, method string, res *http.Response, changed bool) byte {
	switch {
	case res.StatusCode >= 500:
		return '!'
	case res.StatusCode == http.StatusForbidden:
		return 'F'
	case res.StatusCode == http.StatusNotFound:
		return 'N'
	case res.StatusCode == http.StatusGone:
		return 'G'
	case method == http.MethodPost && changed:
		return 'A'
	case res.StatusCode/100 == 3 && strings.HasPrefix(res.Header.Get("Location"), "/login"):
		return 'L'
	case method != http.MethodPost:
		return 'A'
	case sessionOnly[pattern] && (res.StatusCode/100 == 2 || res.StatusCode/100 == 3):
		return 'S'
	default:
		// Refused with an answer of its own (a redirect elsewhere, 400,
		// 409, 422, 429): nothing was done.
		return 'R'
	}
}

// gate is what the route's declared audience answers role before any
// handler runs: 'L' (log in first), 'F' (not admitted) or 0 (admitted).
func (fx *matrixFixture) gate(t *testing.T, who audience, role string) byte {
	t.Helper()
	if who.admits == nil {
		return 0
	}
	if role == "visitor" {
		return 'L'
	}
	u, err := fx.ts.store.UserByEmail(t.Context(), fx.emails[role])
	require.NoError(t, err)
	x := actor{user: &u}
	if st, err := fx.ts.store.StaffOf(t.Context(), u.ID); err == nil && st.MemberActive {
		x.staff = &st
	}
	if who.admits(x) {
		return 0
	}
	return 'F'
}

// TestEveryRouteDeclaresAnAudience: a route registered without saying who
// may enter fails here, and so does a declared audience the matrix
// contradicts: where the audience turns a role away, the matrix must say
// so (L for visitors, F for the signed-in).
func TestEveryRouteDeclaresAnAudience(t *testing.T) {
	fx := newMatrixFixture(t, false)
	seen := map[string]bool{}
	for _, rt := range fx.ts.app.routeTable {
		assert.NotEmpty(t, rt.who.name, "%s declares no audience", rt.pattern)
		assert.False(t, seen[rt.pattern], "%s registered twice", rt.pattern)
		seen[rt.pattern] = true
		want, ok := matrix[rt.pattern]
		if !ok {
			continue // TestAuthorisationMatrix names it
		}
		for i, role := range matrixRoles {
			if g := fx.gate(t, rt.who, role); g != 0 {
				assert.Equal(t, string(g), string(want[i]), "%s as %s: the route's audience %q turns them away", rt.pattern, role, rt.who.name)
			}
		}
	}
}

// TestAuthorisationMatrix probes every route as every role with what a
// permitted person would send, and classifies the answer by its effect:
// every refusal (L, F, N, G, R) must leave all recorded data as it was,
// an allowed POST (A) must have changed it, and the outcome must be the
// matrix's. Where the route's declared audience turns a role away, the
// answer must be that refusal.
func TestAuthorisationMatrix(t *testing.T) {
	shared := newMatrixFixture(t, true)
	var routes []route
	for _, rt := range shared.ts.app.routeTable {
		routes = append(routes, rt)
	}
	sort.Slice(routes, func(i, j int) bool { return routes[i].pattern < routes[j].pattern })
	var missing []string
	for _, rt := range routes {
		if _, ok := matrix[rt.pattern]; !ok {
			missing = append(missing, rt.pattern)
		}
	}
	require.Empty(t, missing, "routes without an entry in the authorisation matrix")
	for p := range matrix {
		assert.True(t, slices.ContainsFunc(routes, func(rt route) bool { return rt.pattern == p }), "a matrix entry for a route that does not exist: %s", p)
	}
	for _, rt := range routes {
		want := matrix[rt.pattern]
		require.Len(t, want, len(matrixRoles), rt.pattern)
		t.Run(strings.NewReplacer("/", "_", " ", "_").Replace(rt.pattern), func(t *testing.T) {
			fx := shared
			if strings.HasPrefix(rt.pattern, "POST ") {
				if testing.Short() {
					// A fixture per action route: the plain pass runs
					// them; the race pass checks the pages only.
					t.Skip("action routes run without -short")
				}
				// Actions change things: each route acts on data of its own.
				t.Parallel()
				fx = newMatrixFixture(t, strings.Contains(rt.pattern, "/rights/export/{id}"))
			}
			for i, role := range matrixRoles {
				c := fx.reader(t, role)
				if fx != shared {
					c = fx.client(t, role) // a fresh login for every action
				}
				var cs *testServer
				if role != "visitor" {
					cs = c
				}
				pr := fx.probe(t, cs, rt.pattern, role)
				before := fx.state(t)
				res, errs := pr.send(t, c)
				changed := fx.state(t) != before
				got := outcome(rt.pattern, pr.method, res, changed)
				exp := want[i]
				what := fmt.Sprintf("%s %s as %s: status %d, location %q, data changed %v %s", pr.method, pr.path, role, res.StatusCode, res.Header.Get("Location"), changed, errs)
				if g := fx.gate(t, rt.who, role); g != 0 {
					assert.Equal(t, string(g), string(got), "%s: the declared audience %q turns them away", what, rt.who.name)
				}
				if got != 'A' && got != 'S' {
					assert.False(t, changed, "%s: a refusal changed recorded data", what)
				}
				if exp == 'G' && (got == 'N' || got == 'G') {
					continue
				}
				assert.Equal(t, string(exp), string(got), what)
			}
		})
	}
}
