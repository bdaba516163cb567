package app

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"kelas/store"
)

// grantFixture: a Member with a training, a staff member, enrolled learners
// and an operator.
type grantFixture struct {
	ts        *testServer
	memberID  string
	training  string
	staff     *testServer
	staffUser store.User
	admin     *testServer
	operator  *testServer
	opUser    store.User
	learners  []store.User
}

func newGrantFixture(t *testing.T) *grantFixture {
	t.Helper()
	ts := newTestServer(t)
	fx := &grantFixture{ts: ts, memberID: member(t, ts, "SME Corporation Malaysia")}
	fx.staff, fx.staffUser = ts.person(t, "staff@example.org", store.RoleMemberStaff, fx.memberID)
	fx.admin, _ = ts.person(t, "admin@example.org", store.RoleMemberAdmin, fx.memberID)
	fx.operator, fx.opUser = ts.person(t, "ops@example.org", store.RoleOperator, "")
	v := trainingValues()
	v.Set("kind", "live")
	fx.training = createTraining(t, fx.staff, v)
	res, _ := fx.staff.postForm(t, "/console/trainings/"+fx.training+"/sessions", url.Values{"session_starts": {"2026-04-01T10:00"}, "session_ends": {"2026-04-01T12:00"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	for _, e := range []string{"ayu@example.org", "budi@example.org"} {
		c, u := ts.person(t, e, store.RoleLearner, "")
		res, _ := c.postForm(t, "/trainings/"+fx.training+"/enrol", nil)
		require.Equal(t, http.StatusSeeOther, res.StatusCode)
		fx.learners = append(fx.learners, u)
	}
	return fx
}

// grant has the operator grant the staff's Member access from..until.
func (fx *grantFixture) grant(t *testing.T, from, until time.Time) {
	t.Helper()
	res, body := fx.operator.postForm(t, "/console/grants", url.Values{"member_id": {fx.memberID}, "trainings": {fx.training},
		"purpose": {"issue attendance certificates"}, "valid_from": {from.Format(datetimeLocal)}, "valid_until": {until.Format(datetimeLocal)},
		"code": {fx.operator.code(t)}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode, body)
}

func learnerNames(t *testing.T, c *testServer, trainingID string) (int, []string) {
	t.Helper()
	res, body := c.get(t, "/console/trainings/"+trainingID+"/learners")
	require.Equal(t, http.StatusOK, res.StatusCode)
	d := doc(t, body)
	var names []string
	d.Find(`[data-testid="learners"] tbody th`).Each(func(_ int, s *goquery.Selection) { names = append(names, s.Text()) })
	return d.Find(`[data-testid="no-grant"]`).Length(), names
}

func TestGrantWindow(t *testing.T) {
	fx := newGrantFixture(t)
	now := fx.ts.clock.Now()
	from, until := now.Add(time.Hour), now.Add(3*time.Hour)
	fx.grant(t, from, until)

	noGrant, names := learnerNames(t, fx.staff, fx.training)
	assert.Equal(t, 1, noGrant, "before from: counts only")
	assert.Empty(t, names)
	countText := func() string {
		_, body := fx.staff.get(t, "/console/trainings/"+fx.training+"/learners")
		return strings.TrimSpace(doc(t, body).Find(`[data-testid="learner-count"]`).Text())
	}
	assert.Equal(t, "fewer than 5 enrolled.", countText(), "small counts without names are not exact")
	res, _ := fx.staff.get(t, "/console/learners/"+fx.learners[0].ID)
	assert.Equal(t, http.StatusNotFound, res.StatusCode, "before from: no record")

	fx.ts.clock.Add(time.Hour) // exactly from
	assert.Equal(t, "2 enrolled.", countText(), "inside the grant the names are there anyway")
	noGrant, names = learnerNames(t, fx.staff, fx.training)
	assert.Zero(t, noGrant)
	assert.ElementsMatch(t, []string{"Firstayu Tester", "Firstbudi Tester"}, names)
	res, body := fx.staff.get(t, "/console/learners/"+fx.learners[0].ID)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "Firstayu Tester", strings.TrimSpace(doc(t, body).Find(`[data-testid="learner-name"]`).Text()))

	fx.ts.clock.Add(2*time.Hour - time.Second) // until - 1 s: still inside
	_, names = learnerNames(t, fx.staff, fx.training)
	assert.Len(t, names, 2)
	fx.ts.clock.Add(2 * time.Second) // until + 1 s
	noGrant, names = learnerNames(t, fx.staff, fx.training)
	assert.Equal(t, 1, noGrant, "after until: counts only")
	assert.Empty(t, names)
	res, _ = fx.staff.get(t, "/console/learners/"+fx.learners[0].ID)
	assert.Equal(t, http.StatusNotFound, res.StatusCode, "after until: no record")
}

func TestGrantRevokedEndsAccess(t *testing.T) {
	fx := newGrantFixture(t)
	now := fx.ts.clock.Now()
	fx.grant(t, now.Add(-time.Minute), now.Add(time.Hour))
	_, names := learnerNames(t, fx.staff, fx.training)
	require.Len(t, names, 2)
	gs, err := fx.ts.store.Grants(t.Context(), fx.memberID)
	require.NoError(t, err)
	res, _ := fx.staff.postForm(t, "/console/grants/"+gs[0].ID+"/revoke", nil)
	assert.Equal(t, http.StatusForbidden, res.StatusCode, "plain staff cannot revoke")
	res, _ = fx.admin.postForm(t, "/console/grants/"+gs[0].ID+"/revoke", url.Values{"code": {fx.admin.code(t)}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode, "the Member's admin may give access up")
	_, names = learnerNames(t, fx.staff, fx.training)
	assert.Empty(t, names)
}

func TestGrantBadInput(t *testing.T) {
	fx := newGrantFixture(t)
	otherMember := member(t, fx.ts, "SMESCO Indonesia")
	otherStaff, _ := fx.ts.person(t, "other@example.org", store.RoleMemberAdmin, otherMember)
	otherTraining := createTraining(t, otherStaff, trainingValues())
	now := fx.ts.clock.Now()
	ok := url.Values{"member_id": {fx.memberID}, "trainings": {fx.training}, "purpose": {"certificates for March"},
		"valid_from": {now.Format(datetimeLocal)}, "valid_until": {now.Add(time.Hour).Format(datetimeLocal)}}
	for name, edit := range map[string]func(url.Values){
		"from equals until":  func(v url.Values) { v.Set("valid_until", v.Get("valid_from")) },
		"from after until":   func(v url.Values) { v.Set("valid_from", now.Add(2*time.Hour).Format(datetimeLocal)) },
		"unknown training":   func(v url.Values) { v.Set("trainings", store.NewID()) },
		"another's training": func(v url.Values) { v.Set("trainings", otherTraining) },
		"no training":        func(v url.Values) { v.Del("trainings") },
		"malformed training": func(v url.Values) { v.Set("trainings", "../x") },
		"unknown member":     func(v url.Values) { v.Set("member_id", store.NewID()) },
		"garbage date":       func(v url.Values) { v.Set("valid_from", "tomorrow") },
		"purpose too short":  func(v url.Values) { v.Set("purpose", "x") },
	} {
		t.Run(name, func(t *testing.T) {
			v := url.Values{}
			for k, vs := range ok {
				v[k] = append([]string(nil), vs...)
			}
			edit(v)
			res, _ := fx.operator.postForm(t, "/console/grants", v)
			assert.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
		})
	}
	gs, err := fx.ts.store.Grants(t.Context(), "")
	require.NoError(t, err)
	assert.Empty(t, gs, "nothing stored")

	// Staff cannot grant themselves access at all.
	res, _ := fx.admin.postForm(t, "/console/grants", ok)
	assert.Equal(t, http.StatusForbidden, res.StatusCode)
	// A Member editing another Member's grant learns nothing about it.
	fx.grant(t, now, now.Add(time.Hour))
	gs, err = fx.ts.store.Grants(t.Context(), fx.memberID)
	require.NoError(t, err)
	res, _ = otherStaff.postForm(t, "/console/grants/"+gs[0].ID+"/revoke", nil)
	assert.Equal(t, http.StatusNotFound, res.StatusCode)
	g, err := fx.ts.store.Grant(t.Context(), gs[0].ID)
	require.NoError(t, err)
	assert.True(t, g.RevokedAt.IsZero())
}

func TestDisclosuresForEachView(t *testing.T) {
	fx := newGrantFixture(t)
	now := fx.ts.clock.Now()
	fx.grant(t, now.Add(-time.Minute), now.Add(time.Hour))
	ayu := fx.learners[0]

	learnerNames(t, fx.staff, fx.training)                 // learner list under a grant
	res, _ := fx.staff.get(t, "/console/learners/"+ayu.ID) // record under a grant
	require.Equal(t, http.StatusOK, res.StatusCode)
	res, _ = fx.staff.get(t, "/console/trainings/"+fx.training) // attendance list under a grant
	require.Equal(t, http.StatusOK, res.StatusCode)
	res, body := fx.operator.get(t, "/console/learners/"+ayu.ID) // operator: asked for a reason first
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Equal(t, 1, doc(t, body).Find(`[data-testid="reason-form"]`).Length())
	res, _ = fx.operator.postForm(t, "/console/learners/"+ayu.ID, url.Values{"reason": {"support ticket 4411: wrong certificate name"}})
	require.Equal(t, http.StatusOK, res.StatusCode)
	res, _ = fx.operator.get(t, "/console/learners?q=firstayu") // search with names
	require.Equal(t, http.StatusOK, res.StatusCode)

	ds, err := fx.ts.store.Disclosures(t.Context(), ayu.ID)
	require.NoError(t, err)
	views := map[string]int{}
	for _, d := range ds {
		views[d.View]++
		switch d.ViewerID {
		case fx.staffUser.ID:
			assert.NotEmpty(t, d.GrantID, "staff views name their grant")
			assert.Equal(t, fx.memberID, d.MemberID)
		case fx.opUser.ID:
			assert.NotEmpty(t, d.Reason, "operator views carry a reason")
		}
	}
	assert.Equal(t, map[string]int{store.ViewLearnerList: 2, store.ViewLearnerRecord: 2, store.ViewAttendanceList: 1}, views)
	var reasons []string
	for _, d := range ds {
		reasons = append(reasons, d.Reason)
	}
	assert.Contains(t, reasons, "support ticket 4411: wrong certificate name")

	// Nobody is disclosed to themselves.
	res, _ = fx.operator.postForm(t, "/console/learners/"+fx.opUser.ID, url.Values{"reason": {"checking my own account"}})
	require.Equal(t, http.StatusOK, res.StatusCode)
	own, err := fx.ts.store.Disclosures(t.Context(), fx.opUser.ID)
	require.NoError(t, err)
	assert.Empty(t, own)
	// Budi was only in lists, never opened.
	budi, err := fx.ts.store.Disclosures(t.Context(), fx.learners[1].ID)
	require.NoError(t, err)
	for _, d := range budi {
		assert.NotEqual(t, store.ViewLearnerRecord, d.View)
	}
}

func TestRestrictedLearnerHiddenFromStaff(t *testing.T) {
	fx := newGrantFixture(t)
	now := fx.ts.clock.Now()
	fx.grant(t, now.Add(-time.Minute), now.Add(time.Hour))
	ayu := fx.learners[0]
	require.NoError(t, fx.ts.store.SetRestricted(t.Context(), ayu.ID, true))

	_, names := learnerNames(t, fx.staff, fx.training)
	assert.Equal(t, []string{"Firstbudi Tester"}, names, "learner list")
	res, body := fx.staff.get(t, "/console/trainings/"+fx.training)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.NotContains(t, doc(t, body).Find(`[data-testid="attendance"]`).Text(), "Firstayu", "attendance list")
	assert.Contains(t, doc(t, body).Find(`[data-testid="attendance"]`).Text(), "Firstbudi")
	res, _ = fx.staff.get(t, "/console/learners/"+ayu.ID)
	assert.Equal(t, http.StatusNotFound, res.StatusCode, "record")
	ds, err := fx.ts.store.Disclosures(t.Context(), ayu.ID)
	require.NoError(t, err)
	assert.Empty(t, ds, "nothing of hers was shown")
}

// A restricted learner is left out of the attendance list; posting her id
// by hand must not process her data either.
func TestRestrictedLearnerAttendanceRefused(t *testing.T) {
	fx := newGrantFixture(t)
	now := fx.ts.clock.Now()
	fx.grant(t, now.Add(-time.Minute), now.Add(time.Hour))
	ayu := fx.learners[0]
	require.NoError(t, fx.ts.store.SetRestricted(t.Context(), ayu.ID, true))
	sessions, err := fx.ts.store.TrainingSessions(t.Context(), fx.training)
	require.NoError(t, err)
	path := "/console/trainings/" + fx.training + "/sessions/" + sessions[0].ID + "/attendance"

	res, _ := fx.staff.postForm(t, path, url.Values{"user_id": {ayu.ID}})
	assert.Equal(t, http.StatusNotFound, res.StatusCode, "same answer as for someone not enrolled")
	es, err := fx.ts.store.Enrolments(t.Context(), ayu.ID)
	require.NoError(t, err)
	require.Len(t, es, 1)
	assert.False(t, es[0].Attended, "no attendance recorded for her")

	res, _ = fx.staff.postForm(t, path, url.Values{"user_id": {fx.learners[1].ID}})
	assert.Equal(t, http.StatusSeeOther, res.StatusCode, "others are marked as before")
}

func TestStaffGuessingLearnerIDsGet404(t *testing.T) {
	fx := newGrantFixture(t)
	for _, id := range []string{fx.learners[0].ID, store.NewID(), "nonsense", fx.opUser.ID} {
		res, _ := fx.staff.get(t, "/console/learners/"+id)
		assert.Equal(t, http.StatusNotFound, res.StatusCode, id)
	}
}

func TestInvitations(t *testing.T) {
	ts, smtpd := newMailTestServer(t)
	memberID := member(t, ts, "SME Corporation Malaysia")
	admin, _ := ts.person(t, "admin@example.org", store.RoleMemberAdmin, memberID)
	res, _ := admin.postForm(t, "/console/members/"+memberID+"/invitations", url.Values{"email": {"new.staff@example.org"}, "role": {"member_staff"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	res, _ = admin.postForm(t, "/console/members/"+memberID+"/invitations", url.Values{"email": {"bad"}, "role": {"operator"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode, "bad address and a role admins cannot give")
	ts.deliver(t)
	m := mailTo(t, smtpd.WaitFor(t, 1), "new.staff@example.org")
	link := linkIn(t, m, "/invite/")

	invitee := &testServer{Server: ts.Server, app: ts.app, store: ts.store, clock: ts.clock, client: newJarClient(t)}
	res, body := invitee.get(t, link)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, body, "SME Corporation Malaysia")
	res, _ = invitee.postForm(t, link, url.Values{"first_name": {"Nur"}, "surname": {"Aisyah"}, "password": {"staff passphrase 1"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	u, err := ts.store.UserByEmail(t.Context(), "new.staff@example.org")
	require.NoError(t, err)
	assert.Equal(t, store.RoleMemberStaff, u.Role)
	st, err := ts.store.StaffOf(t.Context(), u.ID)
	require.NoError(t, err)
	assert.Equal(t, memberID, st.MemberID)
	res, _ = invitee.get(t, "/console/trainings")
	require.Equal(t, http.StatusSeeOther, res.StatusCode, "a second factor first")
	assert.Equal(t, "/profile/2fa", res.Header.Get("Location"))
	enrolOverHTTP(t, invitee)
	res, _ = invitee.get(t, "/console/trainings")
	require.Equal(t, http.StatusSeeOther, res.StatusCode, "then the privacy policy, like any account")
	assert.Equal(t, "/privacy/accept?next=%2Fconsole%2Ftrainings", res.Header.Get("Location"))
	res, _ = invitee.postForm(t, "/privacy/accept", url.Values{"version": {seededPolicy}, "next": {"/console/trainings"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	res, _ = invitee.get(t, "/console/trainings")
	assert.Equal(t, http.StatusOK, res.StatusCode, "the new staff member is in")

	res, body = invitee.get(t, link)
	assert.Equal(t, http.StatusGone, res.StatusCode, "used links are dead")
	assert.Contains(t, body, "not valid")

	// Expired: a second invitation, then 8 days pass.
	res, _ = admin.postForm(t, "/console/members/"+memberID+"/invitations", url.Values{"email": {"late@example.org"}, "role": {"member_admin"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	ts.deliver(t)
	// Three so far: the first invitation, the notice that the new staff
	// member turned two-factor on, and this one.
	late := linkIn(t, mailTo(t, smtpd.WaitFor(t, 3), "late@example.org"), "/invite/")
	ts.clock.Add(8 * 24 * time.Hour)
	res, body = invitee.get(t, late)
	assert.Equal(t, http.StatusGone, res.StatusCode)
	assert.Contains(t, body, "has expired")
}

func newJarClient(t *testing.T) *http.Client {
	t.Helper()
	c := newTestServer(t).client // a fresh jar and the no-redirect policy
	jarOnly := *c
	return &jarOnly
}

// checkAccessible asserts the basics a screen-reader or keyboard user
// needs: one h1, no skipped heading levels, every form control labelled,
// no positive tabindex, links and buttons with text, images with alt.
func checkAccessible(t *testing.T, name, body string) {
	t.Helper()
	d := doc(t, body)
	assert.Equal(t, 1, d.Find("h1").Length(), "%s: one h1", name)
	last := 1
	d.Find("main h1, main h2, main h3, main h4, main h5, main h6").Each(func(_ int, s *goquery.Selection) {
		level := int(goquery.NodeName(s)[1] - '0')
		assert.LessOrEqual(t, level, last+1, "%s: heading %q skips a level", name, s.Text())
		last = level
	})
	d.Find("input, select, textarea").Each(func(_ int, s *goquery.Selection) {
		typ := s.AttrOr("type", "")
		if typ == "hidden" || typ == "submit" {
			return
		}
		id := s.AttrOr("id", "")
		labelled := id != "" && d.Find(`label[for="`+id+`"]`).Length() > 0
		labelled = labelled || s.AttrOr("aria-label", "") != "" || s.AttrOr("aria-labelledby", "") != ""
		assert.True(t, labelled, "%s: control %s#%s name=%s has no label", name, goquery.NodeName(s), id, s.AttrOr("name", ""))
	})
	d.Find("[tabindex]").Each(func(_ int, s *goquery.Selection) {
		assert.NotRegexp(t, regexp.MustCompile(`^[1-9]`), s.AttrOr("tabindex", ""), "%s: positive tabindex", name)
	})
	d.Find("a, button").Each(func(_ int, s *goquery.Selection) {
		assert.NotEmpty(t, strings.TrimSpace(s.Text()+s.AttrOr("aria-label", "")), "%s: %s without text", name, goquery.NodeName(s))
	})
	d.Find("img").Each(func(_ int, s *goquery.Selection) {
		_, ok := s.Attr("alt")
		assert.True(t, ok, "%s: img without alt", name)
	})
}

func TestConsolePagesAreAccessible(t *testing.T) {
	fx := newGrantFixture(t)
	now := fx.ts.clock.Now()
	fx.grant(t, now.Add(-time.Minute), now.Add(time.Hour))
	pages := []struct {
		client *testServer
		path   string
	}{
		{fx.operator, "/console"},
		{fx.operator, "/console/members"},
		{fx.operator, "/console/members/new"},
		{fx.operator, "/console/members/" + fx.memberID},
		{fx.operator, "/console/operators"},
		{fx.operator, "/console/outbox"},
		{fx.operator, "/console/grants"},
		{fx.operator, "/console/grants/new"},
		{fx.operator, "/console/learners?q=a"},
		{fx.operator, "/console/learners/" + fx.learners[0].ID},
		{fx.operator, "/console/trainings"},
		{fx.operator, "/console/trainings/new"},
		{fx.operator, "/console/trainings/" + fx.training},
		{fx.staff, "/console"},
		{fx.staff, "/console/trainings/" + fx.training + "/learners"},
		{fx.staff, "/console/learners/" + fx.learners[0].ID},
		{fx.admin, "/console/members/" + fx.memberID},
	}
	for _, p := range pages {
		res, body := p.client.get(t, p.path)
		require.Equal(t, http.StatusOK, res.StatusCode, p.path)
		checkAccessible(t, p.path, body)
	}
}

// TestPublicAndLearnerPagesAreAccessible runs the same checks over the
// pages visitors and learners use.
func TestPublicAndLearnerPagesAreAccessible(t *testing.T) {
	fx := newGrantFixture(t)
	visitor := &testServer{Server: fx.ts.Server, client: &http.Client{CheckRedirect: fx.ts.client.CheckRedirect}}
	learner, _ := fx.ts.person(t, "reader@example.org", store.RoleLearner, "")
	res, _ := learner.postForm(t, "/trainings/"+fx.training+"/enrol", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	pages := []struct {
		client *testServer
		path   string
	}{
		{visitor, "/"}, {visitor, "/register"}, {visitor, "/login"}, {visitor, "/password/forgot"},
		{visitor, "/trainings"}, {visitor, "/trainings/" + fx.training}, {visitor, "/privacy"}, {visitor, "/privacy/versions"},
		{visitor, "/cookies"}, {visitor, "/stats"}, {visitor, "/no-such-page"},
		{learner, "/dashboard"}, {learner, "/profile"}, {learner, "/profile/password"}, {learner, "/rights"},
		{learner, "/rights/access"}, {learner, "/trainings/" + fx.training},
	}
	for _, p := range pages {
		res, body := p.client.get(t, p.path)
		require.Less(t, res.StatusCode, 500, p.path)
		checkAccessible(t, p.path, body)
	}
}

// TestStaffListsAndCaseReadingAreDisclosed: staff and operator lists with
// names, and the privacy officer reading a request, are views of someone
// else's data too.
func TestStaffListsAndCaseReadingAreDisclosed(t *testing.T) {
	fx := newGrantFixture(t)
	res, _ := fx.operator.get(t, "/console/members/"+fx.memberID)
	require.Equal(t, http.StatusOK, res.StatusCode)
	ds, err := fx.ts.store.Disclosures(t.Context(), fx.staffUser.ID)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	assert.Equal(t, store.ViewStaffList, ds[0].View)
	assert.Equal(t, fx.opUser.ID, ds[0].ViewerID)

	res, _ = fx.staff.get(t, "/console/members/"+fx.memberID)
	require.Equal(t, http.StatusOK, res.StatusCode)
	own, err := fx.ts.store.Disclosures(t.Context(), fx.staffUser.ID)
	require.NoError(t, err)
	assert.Len(t, own, 1, "seeing oneself in the list is no disclosure")

	dpo, dpoUser := fx.ts.person(t, "dpo@example.org", store.RoleOperator, "")
	require.NoError(t, fx.ts.store.SetOperatorRole(t.Context(), dpoUser.ID, store.RoleOperator, true))
	res = dpo.signIn(t, dpoUser.Email, "a long test password")
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	c, err := fx.ts.store.CreateCase(t.Context(), store.NewCase{UserID: fx.learners[0].ID, Kind: store.CaseRectification, Details: "fix my name"})
	require.NoError(t, err)
	res, _ = dpo.get(t, "/console/rights/"+c.ID)
	require.Equal(t, http.StatusOK, res.StatusCode)
	ds, err = fx.ts.store.Disclosures(t.Context(), fx.learners[0].ID)
	require.NoError(t, err)
	require.NotEmpty(t, ds)
	assert.Equal(t, store.ViewRightsCase, ds[0].View)
}

// TestStaffViewsSayWhyLearnersAreHidden: without an active grant the
// attendance list says the names are hidden rather than that nobody
// enrolled; the count leaves out people who restricted processing, as the
// list of names does, so the two agree.
func TestStaffViewsSayWhyLearnersAreHidden(t *testing.T) {
	fx := newGrantFixture(t)
	ctx := t.Context()
	for i := range 8 {
		c, u := fx.ts.person(t, "more"+strconv.Itoa(i)+"@example.org", store.RoleLearner, "")
		res, _ := c.postForm(t, "/trainings/"+fx.training+"/enrol", nil)
		require.Equal(t, http.StatusSeeOther, res.StatusCode)
		fx.learners = append(fx.learners, u)
	}
	require.Len(t, fx.learners, 10)

	res, body := fx.staff.get(t, "/console/trainings/"+fx.training)
	require.Equal(t, http.StatusOK, res.StatusCode)
	d := doc(t, body)
	assert.NotContains(t, body, "Nobody enrolled yet")
	assert.Contains(t, d.Find(`[data-testid="attendance-hidden"]`).Text(), "Hidden: no active grant")

	require.NoError(t, fx.ts.store.SetRestricted(ctx, fx.learners[3].ID, true))
	now := fx.ts.clock.Now()
	fx.grant(t, now.Add(-time.Minute), now.Add(time.Hour))
	res, body = fx.staff.get(t, "/console/trainings/"+fx.training+"/learners")
	require.Equal(t, http.StatusOK, res.StatusCode)
	d = doc(t, body)
	names := d.Find(`[data-testid="learners"] tbody tr`).Length()
	assert.Equal(t, 9, names, "the restricted person is not listed")
	assert.Equal(t, "9 enrolled.", strings.TrimSpace(d.Find(`[data-testid="learner-count"]`).Text()), "and not counted either")
	res, body = fx.staff.get(t, "/console/trainings/"+fx.training)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, body, "9 enrolled")
	assert.Zero(t, doc(t, body).Find(`[data-testid="attendance-hidden"]`).Length(), "inside the grant the names are shown")
}

// TestDisclosureReview: the privacy officer sees every disclosure with its
// grant or reason and filters it; the learner's own list names the grant
// and training; an operator's view is in the audit log too.
func TestDisclosureReview(t *testing.T) {
	fx := newGrantFixture(t)
	ctx := t.Context()
	now := fx.ts.clock.Now()
	fx.grant(t, now.Add(-time.Minute), now.Add(time.Hour))
	ayu := fx.learners[0]
	res, _ := fx.staff.get(t, "/console/learners/"+ayu.ID)
	require.Equal(t, http.StatusOK, res.StatusCode)
	res, _ = fx.operator.postForm(t, "/console/learners/"+ayu.ID, url.Values{"reason": {"checking a duplicate account report"}})
	require.Equal(t, http.StatusOK, res.StatusCode)
	dpo, dpoUser := fx.ts.person(t, "dpo@example.org", store.RoleOperator, "")
	require.NoError(t, fx.ts.store.SetOperatorRole(ctx, dpoUser.ID, store.RoleOperator, true))
	res = dpo.signIn(t, dpoUser.Email, "a long test password")
	require.Equal(t, http.StatusSeeOther, res.StatusCode)

	rows := func(query string) (int, string) {
		t.Helper()
		res, body := dpo.get(t, "/console/disclosures"+query)
		require.Equal(t, http.StatusOK, res.StatusCode, query)
		table := doc(t, body).Find(`[data-testid="disclosures"]`)
		return table.Find(`[data-testid="disclosure"]`).Length(), table.Text()
	}
	n, all := rows("")
	assert.GreaterOrEqual(t, n, 2)
	assert.Contains(t, all, "checking a duplicate account report", "the operator's stated reason")
	assert.Contains(t, all, `access grant "issue attendance certificates"`)
	n, text := rows("?person=" + url.QueryEscape(ayu.Email))
	assert.Equal(t, 2, n, "ayu's two")
	assert.NotContains(t, text, fx.learners[1].ID)
	n, _ = rows("?viewer=" + fx.staffUser.ID)
	assert.Equal(t, 1, n, "the staff member's view of ayu's record")
	n, _ = rows("?member=" + fx.memberID)
	assert.Equal(t, 1, n)
	n, _ = rows("?from=2026-03-02")
	assert.Zero(t, n, "none from tomorrow")
	n, _ = rows("?until=2026-03-01")
	assert.GreaterOrEqual(t, n, 2, "until includes the day")
	for _, q := range []string{"?from=yesterday", "?viewer=x", "?person=nobody@example.org"} {
		res, body := dpo.get(t, "/console/disclosures"+q)
		assert.Equal(t, http.StatusUnprocessableEntity, res.StatusCode, q)
		assert.Equal(t, 1, doc(t, body).Find(`[data-testid="error-summary"]`).Length(), q)
	}
	res, _ = fx.operator.get(t, "/console/disclosures")
	assert.Equal(t, http.StatusForbidden, res.StatusCode, "the privacy officer's")

	ayuClient := fx.ts.newClient(t)
	res, _ = ayuClient.postForm(t, "/login", url.Values{"email": {ayu.Email}, "password": {"a long test password"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	res, body := ayuClient.get(t, "/rights/access")
	require.Equal(t, http.StatusOK, res.StatusCode)
	under := doc(t, body).Find(`[data-testid="disclosure-under"]`).Text()
	assert.Contains(t, under, `issue attendance certificates`)
	tr, err := fx.ts.store.Training(ctx, fx.training)
	require.NoError(t, err)
	assert.Contains(t, under, tr.Title, "the training the grant covers")

	entries, err := fx.ts.store.AuditLog(ctx, 100)
	require.NoError(t, err)
	found := false
	for _, e := range entries {
		if e.Action == "personal_data.view" && e.TargetID == ayu.ID && e.ActorID == fx.opUser.ID {
			found = true
			assert.NotContains(t, fmt.Sprint(e.Details), "duplicate", "the reason stays sealed")
		}
	}
	assert.True(t, found, "the operator's view is audited")
}
