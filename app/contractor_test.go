package app

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"kelas/store"
)

// contractorFixture: the grant fixture's Member (the training owner) and a
// second Member working for it, with a staff member and an admin; the
// owner has a second training that no grant lists.
type contractorFixture struct {
	*grantFixture
	contractorID  string
	support       *testServer
	supportUser   store.User
	supportAdmin  *testServer
	otherTraining string
	citra         store.User // enrolled in the other training only
}

func newContractorFixture(t *testing.T) *contractorFixture {
	t.Helper()
	fx := &contractorFixture{grantFixture: newGrantFixture(t)}
	ctx := t.Context()
	m, err := fx.ts.store.CreateMember(ctx, store.MemberInput{Name: "Nusantara Tech Support", Country: "MY", Kind: "private", Active: true})
	require.NoError(t, err)
	fx.contractorID = m.ID
	fx.support, fx.supportUser = fx.ts.person(t, "support@example.org", store.RoleMemberStaff, m.ID)
	fx.supportAdmin, _ = fx.ts.person(t, "support-admin@example.org", store.RoleMemberAdmin, m.ID)
	v := trainingValues()
	v.Set("title", "Stock keeping basics")
	fx.otherTraining = createTraining(t, fx.staff, v)
	c, u := fx.ts.person(t, "citra@example.org", store.RoleLearner, "")
	res, _ := c.postForm(t, "/trainings/"+fx.otherTraining+"/enrol", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	fx.citra = u
	// Budi takes both trainings: the contractor sees only the granted one.
	require.NoError(t, fx.ts.store.Enrol(ctx, fx.learners[1].ID, fx.otherTraining))
	return fx
}

// contractorGrant has the operator grant the contractor access to the
// owner's first training from..until and returns the grant.
func (fx *contractorFixture) contractorGrant(t *testing.T, from, until time.Time) store.Grant {
	t.Helper()
	res, body := fx.operator.postForm(t, "/console/grants", url.Values{"member_id": {fx.memberID}, "recipient_member_id": {fx.contractorID},
		"trainings": {fx.training}, "purpose": {"support the attendance certificate system"}, "valid_from": {from.Format(datetimeLocal)},
		"valid_until": {until.Format(datetimeLocal)}, "code": {fx.operator.code(t)}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode, body)
	gs, err := fx.ts.store.Grants(t.Context(), fx.contractorID)
	require.NoError(t, err)
	require.NotEmpty(t, gs)
	require.Equal(t, fx.contractorID, gs[0].RecipientID)
	return gs[0]
}

// TestContractorGrant: the contractor's staff open the learner list and
// records of the granting Member's listed training inside the window, and
// nothing else; the owner's own staff gain nothing from the grant; every
// view is disclosed naming both organisations, and the learner reads it.
func TestContractorGrant(t *testing.T) {
	fx := newContractorFixture(t)
	ctx := t.Context()
	ayu, budi := fx.learners[0], fx.learners[1]
	record := func(c *testServer, u store.User) int {
		res, _ := c.get(t, "/console/learners/"+u.ID)
		return res.StatusCode
	}
	learnersPage := func(c *testServer, training string) int {
		res, _ := c.get(t, "/console/trainings/"+training+"/learners")
		return res.StatusCode
	}

	// Without a grant the contractor learns nothing, not even counts.
	assert.Equal(t, http.StatusNotFound, learnersPage(fx.support, fx.training))
	assert.Equal(t, http.StatusNotFound, record(fx.support, ayu))

	now := fx.ts.clock.Now()
	g := fx.contractorGrant(t, now.Add(-time.Minute), now.Add(time.Hour))

	// The grants list of both Members names both organisations.
	for _, c := range []*testServer{fx.support, fx.staff} {
		res, body := c.get(t, "/console/grants")
		require.Equal(t, http.StatusOK, res.StatusCode)
		row := doc(t, body).Find(`[data-testid="grant-` + g.ID + `"]`)
		require.Equal(t, 1, row.Length())
		assert.Equal(t, "SME Corporation Malaysia", strings.TrimSpace(row.Find("th").Text()))
		assert.Contains(t, row.Find(`[data-testid="grant-recipient"]`).Text(), "Nusantara Tech Support")
	}
	_, body := fx.support.get(t, "/console/grants")
	assert.Equal(t, 1, doc(t, body).Find(`a[href="/console/trainings/`+fx.training+`/learners"]`).Length(),
		"the contractor's way to the learners")

	noGrant, names := learnerNames(t, fx.support, fx.training)
	assert.Zero(t, noGrant)
	assert.ElementsMatch(t, []string{"Firstayu Tester", "Firstbudi Tester"}, names)
	res, body := fx.support.get(t, "/console/learners/"+budi.ID)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, body, "Bookkeeping for micro enterprises")
	assert.NotContains(t, body, "Stock keeping basics", "only the trainings the grant lists")
	assert.Equal(t, http.StatusOK, record(fx.support, ayu))
	// Other trainings, and learners only in them, stay closed; so does the
	// training's own page.
	assert.Equal(t, http.StatusNotFound, learnersPage(fx.support, fx.otherTraining))
	assert.Equal(t, http.StatusNotFound, record(fx.support, fx.citra))
	res, _ = fx.support.get(t, "/console/trainings/"+fx.training)
	assert.Equal(t, http.StatusNotFound, res.StatusCode)

	// The owner's own staff gain nothing from a contractor grant.
	noGrant, names = learnerNames(t, fx.staff, fx.training)
	assert.Equal(t, 1, noGrant, "counts only")
	assert.Empty(t, names)
	assert.Equal(t, http.StatusNotFound, record(fx.staff, ayu))

	// Another contractor staff member first accepts the undertaking.
	const password = "another long test password"
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	require.NoError(t, err)
	u, err := fx.ts.store.CreateUser(ctx, store.NewUser{AcceptedPolicy: seededPolicy, Email: "support2@example.org", FirstName: "Dewi",
		Surname: "Support", PasswordHash: string(hash), Role: store.RoleLearner, Verified: true})
	require.NoError(t, err)
	require.NoError(t, fx.ts.store.SetStaff(ctx, u.ID, fx.contractorID, store.RoleMemberStaff))
	fresh := fx.ts.newClient(t)
	loginByHand(t, fresh, u.Email, password)
	res, _ = fresh.get(t, "/console/learners/"+ayu.ID)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.True(t, strings.HasPrefix(res.Header.Get("Location"), "/console/undertaking?next="))
	acceptUndertaking(t, fx.ts, u.ID)
	assert.Equal(t, http.StatusOK, record(fresh, ayu))

	// Each view is a disclosure naming the contractor and the grant.
	ds, err := fx.ts.store.Disclosures(ctx, ayu.ID)
	require.NoError(t, err)
	n := 0
	for _, d := range ds {
		if d.ViewerID != fx.supportUser.ID {
			continue
		}
		n++
		assert.Equal(t, fx.contractorID, d.MemberID, "the viewer's organisation")
		assert.Equal(t, g.ID, d.GrantID)
		assert.Equal(t, fx.memberID, d.GrantMemberID)
	}
	assert.Equal(t, 2, n, "the list and the record")
	// The learner reads who saw her data, for whom and why.
	ayuClient := fx.ts.newClient(t)
	res, _ = ayuClient.postForm(t, "/login", url.Values{"email": {ayu.Email}, "password": {"a long test password"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	res, body = ayuClient.get(t, "/rights/access")
	require.Equal(t, http.StatusOK, res.StatusCode)
	table := doc(t, body).Find(`[data-testid="access-disclosures"]`).Text()
	assert.Contains(t, table, "Staff of Nusantara Tech Support, working for SME Corporation Malaysia")
	assert.Contains(t, doc(t, body).Find(`[data-testid="disclosure-under"]`).Text(), "support the attendance certificate system")

	// The window ends: back to nothing.
	fx.ts.clock.Add(time.Hour)
	assert.Equal(t, http.StatusNotFound, learnersPage(fx.support, fx.training))
	assert.Equal(t, http.StatusNotFound, record(fx.support, ayu))
}

// TestContractorGrantRevoked: either Member's admin may end a contractor
// grant early, plain staff may not, a third Member learns nothing of it;
// a revoked grant lets nobody in.
func TestContractorGrantRevoked(t *testing.T) {
	fx := newContractorFixture(t)
	now := fx.ts.clock.Now()
	third := member(t, fx.ts, "SMESCO Indonesia")
	outsider, _ := fx.ts.person(t, "outsider@example.org", store.RoleMemberAdmin, third)
	revoke := func(c *testServer, g store.Grant) int {
		v := url.Values{}
		if c.uid != "" {
			v.Set("code", c.code(t))
		}
		res, _ := c.postForm(t, "/console/grants/"+g.ID+"/revoke", v)
		return res.StatusCode
	}

	for name, admin := range map[string]*testServer{"owner's admin": fx.admin, "contractor's admin": fx.supportAdmin} {
		t.Run(name, func(t *testing.T) {
			g := fx.contractorGrant(t, now.Add(-time.Minute), now.Add(time.Hour))
			_, names := learnerNames(t, fx.support, fx.training)
			require.Len(t, names, 2)
			assert.Equal(t, http.StatusForbidden, revoke(fx.support, g), "plain staff cannot revoke")
			assert.Equal(t, http.StatusNotFound, revoke(outsider, g), "another Member's grant")
			assert.Equal(t, http.StatusSeeOther, revoke(admin, g))
			res, _ := fx.support.get(t, "/console/trainings/"+fx.training+"/learners")
			assert.Equal(t, http.StatusNotFound, res.StatusCode)
			res, _ = fx.support.get(t, "/console/learners/"+fx.learners[0].ID)
			assert.Equal(t, http.StatusNotFound, res.StatusCode)
		})
	}
}

// TestContractorGrantBadInput: an unknown, inactive or malformed recipient
// is refused at its field with the form kept; the granting Member named as
// its own recipient is an ordinary grant.
func TestContractorGrantBadInput(t *testing.T) {
	fx := newContractorFixture(t)
	ctx := t.Context()
	dormant, err := fx.ts.store.CreateMember(ctx, store.MemberInput{Name: "Dormant Support Services", Kind: "private", Active: false})
	require.NoError(t, err)
	now := fx.ts.clock.Now()
	ok := url.Values{"member_id": {fx.memberID}, "trainings": {fx.training}, "purpose": {"certificates for March"},
		"valid_from": {now.Format(datetimeLocal)}, "valid_until": {now.Add(time.Hour).Format(datetimeLocal)}}

	res, body := fx.operator.get(t, "/console/grants/new")
	require.Equal(t, http.StatusOK, res.StatusCode)
	sel := doc(t, body).Find(`select[name="recipient_member_id"]`)
	require.Equal(t, 1, sel.Length())
	assert.Equal(t, 1, sel.Find(`option[value="`+fx.contractorID+`"]`).Length())
	assert.Zero(t, sel.Find(`option[value="`+dormant.ID+`"]`).Length(), "inactive Members are not offered")
	assert.NotEmpty(t, strings.TrimSpace(doc(t, body).Find(`#recipient_member_id-hint`).Text()), "the choice is explained")

	for name, id := range map[string]string{"unknown": store.NewID(), "inactive": dormant.ID, "malformed": "../x"} {
		t.Run(name, func(t *testing.T) {
			v := url.Values{"recipient_member_id": {id}, "code": {fx.operator.code(t)}}
			for k, vs := range ok {
				v[k] = vs
			}
			res, body := fx.operator.postForm(t, "/console/grants", v)
			require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
			d := doc(t, body)
			assert.Equal(t, 1, d.Find(`[data-testid="error-recipient_member_id"]`).Length())
			assert.Equal(t, "certificates for March", d.Find(`input[name="purpose"]`).AttrOr("value", ""), "the form is kept")
			_, checked := d.Find(`input[name="trainings"][value="` + fx.training + `"]`).Attr("checked")
			assert.True(t, checked)
			assert.Equal(t, fx.memberID, d.Find(`select[name="member_id"] option[selected]`).AttrOr("value", ""))
		})
	}
	gs, err := fx.ts.store.Grants(ctx, "")
	require.NoError(t, err)
	assert.Empty(t, gs, "nothing stored")

	v := url.Values{"recipient_member_id": {fx.memberID}, "code": {fx.operator.code(t)}}
	for k, vs := range ok {
		v[k] = vs
	}
	res, body = fx.operator.postForm(t, "/console/grants", v)
	require.Equal(t, http.StatusSeeOther, res.StatusCode, body)
	gs, err = fx.ts.store.Grants(ctx, "")
	require.NoError(t, err)
	require.Len(t, gs, 1)
	assert.Empty(t, gs[0].RecipientID, "the Member itself: its own staff")
	_, names := learnerNames(t, fx.staff, fx.training)
	assert.Len(t, names, 2)
}
