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

// Password change (POST /profile/password).

// passwordChange is the form that changes the test password of person().
func passwordChange(current, next string) url.Values {
	return url.Values{"current_password": {current}, "password": {next}}
}

// TestPasswordChangeEndsOtherSessionsAndMailsNotice: a successful change
// keeps the device that made it, logs out every other one, makes the old
// password useless and mails the owner a notice through the real SMTP
// server.
func TestPasswordChangeEndsOtherSessionsAndMailsNotice(t *testing.T) {
	ts, smtpd := newMailTestServer(t)
	laptop, u := ts.person(t, "siti@example.org", store.RoleLearner, "")
	phone := ts.newClient(t)
	require.Equal(t, http.StatusSeeOther, phone.signIn(t, u.Email, "a long test password").StatusCode)
	res, _ := phone.get(t, "/profile")
	require.Equal(t, http.StatusOK, res.StatusCode, "the second device is logged in")
	ts.deliver(t)
	before := len(smtpd.Messages())

	res, _ = laptop.postForm(t, "/profile/password", passwordChange("a long test password", "tenun songket emas merah"))
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Equal(t, "/profile", res.Header.Get("Location"))

	res, _ = laptop.get(t, "/profile")
	assert.Equal(t, http.StatusOK, res.StatusCode, "the device that changed it stays logged in")
	res, _ = phone.get(t, "/profile")
	require.Equal(t, http.StatusSeeOther, res.StatusCode, "every other device is logged out")
	assert.True(t, strings.HasPrefix(res.Header.Get("Location"), "/login"), res.Header.Get("Location"))

	after, err := ts.store.User(t.Context(), u.ID)
	require.NoError(t, err)
	assert.NoError(t, bcrypt.CompareHashAndPassword([]byte(after.PasswordHash), []byte("tenun songket emas merah")))
	res, _ = ts.newClient(t).postForm(t, "/login", url.Values{"email": {u.Email}, "password": {"a long test password"}})
	assert.Equal(t, http.StatusUnprocessableEntity, res.StatusCode, "the old password no longer logs in")
	require.Equal(t, http.StatusSeeOther, ts.newClient(t).signIn(t, u.Email, "tenun songket emas merah").StatusCode)

	ts.deliver(t)
	msgs := smtpd.WaitFor(t, before+1)
	notice := msgs[len(msgs)-1]
	assert.Equal(t, []string{u.Email}, notice.To)
	assert.Equal(t, "Your kelas password was changed", notice.Subject)
	assert.Contains(t, notice.Text, "/password/forgot", "the notice says how to take the account back")
	assert.NotContains(t, notice.Text, "tenun songket", "never the password")
}

// TestPasswordChangeRefusesWrongCurrentPassword: the wrong current
// password changes nothing, ends no session and sends no mail.
func TestPasswordChangeRefusesWrongCurrentPassword(t *testing.T) {
	ts := newTestServer(t)
	c, u := ts.person(t, "siti@example.org", store.RoleLearner, "")
	other := ts.newClient(t)
	require.Equal(t, http.StatusSeeOther, other.signIn(t, u.Email, "a long test password").StatusCode)

	for _, v := range []url.Values{
		passwordChange("not my password at all", "tenun songket emas merah"),
		passwordChange("", "tenun songket emas merah"),
	} {
		res, body := c.postForm(t, "/profile/password", v)
		require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
		assert.NotEmpty(t, doc(t, body).Find(`[data-testid="error-current_password"]`).Text())
	}
	after, err := ts.store.User(t.Context(), u.ID)
	require.NoError(t, err)
	assert.Equal(t, u.PasswordHash, after.PasswordHash, "unchanged")
	assert.Equal(t, u.SessionEpoch, after.SessionEpoch, "no session ended")
	res, _ := other.get(t, "/profile")
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.NotContains(t, outboxKinds(t, ts), "password_changed")
}

// TestPasswordChangeThrottled: five wrong current passwords block the form
// for the account, even with the right one, until the window passes; so a
// stolen session cannot be used to guess the password.
func TestPasswordChangeThrottled(t *testing.T) {
	ts := newTestServer(t)
	c, u := ts.person(t, "siti@example.org", store.RoleLearner, "")
	for i := range 5 {
		res, _ := c.postForm(t, "/profile/password", passwordChange("guess number "+string(rune('a'+i)), "tenun songket emas merah"))
		require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode, "attempt %d", i+1)
	}
	res, _ := c.postForm(t, "/profile/password", passwordChange("a long test password", "tenun songket emas merah"))
	require.Equal(t, http.StatusTooManyRequests, res.StatusCode, "blocked, even with the right password")
	assert.NotEmpty(t, res.Header.Get("Retry-After"))
	after, err := ts.store.User(t.Context(), u.ID)
	require.NoError(t, err)
	assert.Equal(t, u.PasswordHash, after.PasswordHash, "unchanged while blocked")

	ts.clock.Add(15 * time.Minute)
	res, _ = c.postForm(t, "/profile/password", passwordChange("a long test password", "tenun songket emas merah"))
	assert.Equal(t, http.StatusSeeOther, res.StatusCode, "allowed again after the window")
}

// Mail delivery across a shutdown and a restart.
