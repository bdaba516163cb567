package app

import (
	"bytes"
	"mime/multipart"
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

// TestLoginRefusesMalformedPasswordsBeforeLookingUp: an empty, an over-long
// and a too-short password are answered 422 on the form, and no session
// is started.
func TestLoginRefusesMalformedPasswordsBeforeLookingUp(t *testing.T) {
	ts := newTestServer(t)
	_, u := ts.person(t, "learner@example.org", store.RoleLearner, "")
	for name, pw := range map[string]string{"empty": "", "too long": strings.Repeat("x", 73), "too short": "short"} {
		t.Run(name, func(t *testing.T) {
			c := ts.newClient(t)
			res, body := c.postForm(t, "/login", url.Values{"email": {u.Email}, "password": {pw}})
			require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
			assert.NotEmpty(t, doc(t, body).Find(`[data-testid="error-password"]`).Text())
			res, _ = c.get(t, "/profile")
			assert.Equal(t, http.StatusSeeOther, res.StatusCode, "not logged in")
		})
	}
}

// unverifiedAccount is a registered learner who has not confirmed their
// address yet.
func unverifiedAccount(t *testing.T, ts *testServer) store.User {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte(fixturePassword), bcrypt.MinCost)
	require.NoError(t, err)
	u, err := ts.store.CreateUser(t.Context(), store.NewUser{Email: "unverified@example.org", FirstName: "Una", Surname: "Tester",
		PasswordHash: string(hash), Role: store.RoleLearner, AcceptedPolicy: "2023-10-09", AdultConfirmed: true})
	require.NoError(t, err)
	require.False(t, u.Verified())
	return u
}

// TestForgotRefusesABadAddressAndAnUnusableToken: the forgot form checks
// the address; links that cannot be tokens are gone without a lookup.
func TestForgotRefusesABadAddressAndAnUnusableToken(t *testing.T) {
	ts := newTestServer(t)
	res, _ := ts.postForm(t, "/password/forgot", url.Values{"email": {"not an address"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	assert.Empty(t, outboxKinds(t, ts))
	for _, tok := range []string{"short", strings.Repeat("a", 42) + "!"} {
		res, _ = ts.get(t, "/password/reset/"+url.PathEscape(tok))
		assert.Equal(t, http.StatusNotFound, res.StatusCode, tok)
		res, _ = ts.postForm(t, "/password/reset/"+url.PathEscape(tok), url.Values{"password": {"a new long password 1"}})
		assert.Equal(t, http.StatusNotFound, res.StatusCode, tok)
	}
}

// TestAccountMailsAreLimitedPerAccount: a fourth password-reset request
// within the hour mails nothing more, and re-sending the confirmation link
// is refused with 429 once the account's mails are used up.
func TestAccountMailsAreLimitedPerAccount(t *testing.T) {
	ts := newTestServer(t)
	u := unverifiedAccount(t, ts)
	c := ts.newClient(t)
	require.Equal(t, http.StatusSeeOther, c.signIn(t, u.Email, fixturePassword).StatusCode)
	for range 3 {
		res, _ := c.postForm(t, "/verify/resend", nil)
		require.Equal(t, http.StatusSeeOther, res.StatusCode)
	}
	res, _ := c.postForm(t, "/verify/resend", nil)
	assert.Equal(t, http.StatusTooManyRequests, res.StatusCode)
	assert.NotEmpty(t, res.Header.Get("Retry-After"))
	sent := len(outboxKinds(t, ts))
	assert.Equal(t, 3, sent)

	res, _ = ts.postForm(t, "/password/forgot", url.Values{"email": {u.Email}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode, "the same answer for everyone")
	assert.Len(t, outboxKinds(t, ts), sent, "no fourth mail to the account this hour")
}

// TestAccountWritesSurviveStoreFailures: the database refuses the write
// behind each account change; the person sees the error page (or, for work
// done after the answer, the failure is logged) and the account is as it
// was.
func TestAccountWritesSurviveStoreFailures(t *testing.T) {
	ts := newTestServer(t)
	c, u := ts.person(t, "learner@example.org", store.RoleLearner, "")
	unverified := unverifiedAccount(t, ts)
	uc := ts.newClient(t)
	require.Equal(t, http.StatusSeeOther, uc.signIn(t, unverified.Email, fixturePassword).StatusCode)
	passwordWorks := func(t *testing.T, pw string) bool {
		got, err := ts.store.User(t.Context(), u.ID)
		require.NoError(t, err)
		return bcrypt.CompareHashAndPassword([]byte(got.PasswordHash), []byte(pw)) == nil
	}

	t.Run("confirmation link re-sent", func(t *testing.T) {
		fault(t, ts, "INSERT", "account_tokens")
		n := injectedFailures(ts)
		res, body := uc.postForm(t, "/verify/resend", nil)
		failsInside(t, ts, n, res, body)
	})
	t.Run("password change", func(t *testing.T) {
		lift := fault(t, ts, "UPDATE", "users")
		n := injectedFailures(ts)
		res, body := c.postForm(t, "/profile/password", passwordChange(fixturePassword, "batik kawung motif 77"))
		failsInside(t, ts, n, res, body)
		assert.True(t, passwordWorks(t, fixturePassword), "the old password stays")
		lift()
		// The notice cannot be queued: the change is made, and the answer says something failed.
		fault(t, ts, "INSERT", "outbox")
		n = injectedFailures(ts)
		res, body = c.postForm(t, "/profile/password", passwordChange(fixturePassword, "batik kawung motif 77"))
		failsInside(t, ts, n, res, body)
		assert.True(t, passwordWorks(t, "batik kawung motif 77"))
	})
	t.Run("password reset", func(t *testing.T) {
		token, err := ts.store.CreateAccountToken(t.Context(), u.ID, store.TokenReset, time.Hour, "")
		require.NoError(t, err)
		lift := fault(t, ts, "UPDATE", "users")
		n := injectedFailures(ts)
		res, body := ts.postForm(t, "/password/reset/"+token, url.Values{"password": {"songket palembang 1990"}})
		failsInside(t, ts, n, res, body)
		assert.True(t, passwordWorks(t, "batik kawung motif 77"))
		lift()
		fault(t, ts, "INSERT", "outbox")
		n = injectedFailures(ts)
		res, body = ts.postForm(t, "/password/reset/"+token, url.Values{"password": {"songket palembang 1990"}})
		failsInside(t, ts, n, res, body)
		assert.True(t, passwordWorks(t, "songket palembang 1990"))
	})
	t.Run("work after the answer", func(t *testing.T) {
		lift := fault(t, ts, "INSERT", "account_tokens")
		res, _ := ts.postForm(t, "/password/forgot", url.Values{"email": {u.Email}})
		require.Equal(t, http.StatusSeeOther, res.StatusCode, "the answer does not wait for the lookup")
		assert.Contains(t, ts.logs.String(), "password reset request")
		lift()
		fault(t, ts, "INSERT", "users")
		res, _ = ts.postForm(t, "/register", registration())
		require.Equal(t, http.StatusSeeOther, res.StatusCode)
		assert.Contains(t, ts.logs.String(), "msg=registration")
		assert.Zero(t, countUsers(t, ts))
	})
}

// TestProfileSurvivesStoreFailures: a refused write leaves the profile and
// the address as they were.
func TestProfileSurvivesStoreFailures(t *testing.T) {
	ts := newTestServer(t)
	c, u := ts.person(t, "learner@example.org", store.RoleLearner, "")
	mine := profileValues()
	mine.Set("email", u.Email)
	profile := func(t *testing.T) store.Profile {
		p, err := ts.store.Profile(t.Context(), u.ID)
		require.NoError(t, err)
		return p
	}
	lift := fault(t, ts, "INSERT", "profiles")
	n := injectedFailures(ts)
	res, body := c.postMultipart(t, "/profile", mine, "", "", nil)
	failsInside(t, ts, n, res, body)
	assert.Empty(t, profile(t).Institution)
	lift()
	// The profile is saved first; the mail choices are refused after it.
	before, err := ts.store.Consents(t.Context(), u.ID)
	require.NoError(t, err)
	if before.Feedback {
		mine.Del("feedback")
	} else {
		mine.Set("feedback", "on")
	}
	lift = fault(t, ts, "INSERT", "user_consents")
	n = injectedFailures(ts)
	res, body = c.postMultipart(t, "/profile", mine, "", "", nil)
	failsInside(t, ts, n, res, body)
	cs, err := ts.store.Consents(t.Context(), u.ID)
	require.NoError(t, err)
	assert.Equal(t, before.Feedback, cs.Feedback, "the choice is not recorded")
	lift()
	res, _ = c.postMultipart(t, "/profile", mine, "", "", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Equal(t, "Koperasi Sejahtera", profile(t).Institution)

	// A new address: its confirmation link, then the notice to the old
	// address, cannot be stored.
	moved := profileValues()
	moved.Set("email", "new.address@example.org")
	moved.Set("current_password", fixturePassword)
	for _, table := range []string{"account_tokens", "email_reverts"} {
		lift := fault(t, ts, "INSERT", table)
		n := injectedFailures(ts)
		res, body = c.postMultipart(t, "/profile", moved, "", "", nil)
		failsInside(t, ts, n, res, body)
		got, err := ts.store.User(t.Context(), u.ID)
		require.NoError(t, err)
		assert.Equal(t, u.Email, got.Email, "the address changes only once confirmed")
		lift()
	}
}

// TestProfilePictureUploadsAreChecked: two files under one name and an
// empty file are refused on the form; removing the picture removes it.
func TestProfilePictureUploadsAreChecked(t *testing.T) {
	ts := newTestServer(t)
	c, u := ts.person(t, "learner@example.org", store.RoleLearner, "")
	v := profileValues()
	v.Set("email", u.Email)

	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, vs := range v {
		require.NoError(t, mw.WriteField(k, vs[0]))
	}
	for _, name := range []string{"a.png", "b.png"} {
		fw, err := mw.CreateFormFile("picture", name)
		require.NoError(t, err)
		_, err = fw.Write(encodePNG(t, testImage(20, 20)))
		require.NoError(t, err)
	}
	require.NoError(t, mw.Close())
	req, err := http.NewRequest(http.MethodPost, c.URL+"/profile", &body)
	require.NoError(t, err)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	res, page := c.do(t, req)
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	assert.NotEmpty(t, doc(t, page).Find(`[data-testid="error-picture"]`).Text())

	res, _ = c.postMultipart(t, "/profile", v, "picture", "empty.png", []byte{})
	// An empty part with a name is a chosen file with nothing in it.
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	p, err := ts.store.Profile(t.Context(), u.ID)
	require.NoError(t, err)
	assert.Nil(t, p.Picture)

	res, _ = c.postMultipart(t, "/profile", v, "picture", "me.png", encodePNG(t, testImage(40, 30)))
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	p, err = ts.store.Profile(t.Context(), u.ID)
	require.NoError(t, err)
	require.NotNil(t, p.Picture)
	v.Set("remove_picture", "on")
	res, _ = c.postMultipart(t, "/profile", v, "", "", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	p, err = ts.store.Profile(t.Context(), u.ID)
	require.NoError(t, err)
	assert.Nil(t, p.Picture)
}
