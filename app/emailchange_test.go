package app

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"kelas/jobs/smtptest"
	"kelas/store"
)

// mailWith picks the one mail to address whose subject contains subject.
func mailWith(t *testing.T, mails []smtptest.Mail, address, subject string) smtptest.Mail {
	t.Helper()
	var found []smtptest.Mail
	for _, m := range mails {
		if len(m.To) == 1 && m.To[0] == address && strings.Contains(m.Subject, subject) {
			found = append(found, m)
		}
	}
	require.Len(t, found, 1, "mails to %s about %q", address, subject)
	return found[0]
}

// TestEmailChangeTakeover reproduces the takeover: a stolen session changed
// the address without the password, the old address was never told and
// every session survived. Now the change needs the current password (and
// the second factor), the old address gets a "this was not me" link that
// restores it and ends every session, and confirming the new address ends
// the other sessions.
func TestEmailChangeTakeover(t *testing.T) {
	ts, smtpd := newMailTestServer(t)
	res, _ := ts.postForm(t, "/register", registration())
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	const password = "kain batik tulis 2026"
	owner := ts.newClient(t)
	require.Equal(t, http.StatusSeeOther, owner.signIn(t, "siti.rahmawati@example.org", password).StatusCode)
	thief := ts.newClient(t)
	require.Equal(t, http.StatusSeeOther, thief.signIn(t, "siti.rahmawati@example.org", password).StatusCode)

	// Without the password (a session is all the thief has): refused.
	for _, pw := range []string{"", "guessed wrong"} {
		v := profileValues()
		v.Set("email", "thief@example.net")
		v.Set("current_password", pw)
		res, body := thief.postMultipart(t, "/profile", v, "", "", nil)
		require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
		assert.NotEmpty(t, doc(t, body).Find(`[data-testid="error-current_password"]`).Text())
		pending, err := ts.store.PendingEmail(t.Context(), mustUser(t, ts).ID)
		require.NoError(t, err)
		assert.Empty(t, pending, "nothing changed")
	}

	// With it: the new address gets the link, the old one the warning.
	v := profileValues()
	v.Set("email", "thief@example.net")
	v.Set("current_password", password)
	res, _ = thief.postMultipart(t, "/profile", v, "", "", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	ts.deliver(t)
	mails := smtpd.WaitFor(t, 3)
	confirm := mailWith(t, mails, "thief@example.net", "Confirm")
	warning := mailWith(t, mails, "siti.rahmawati@example.org", "being changed")
	revert := linkIn(t, warning, "/email/revert/")

	// Confirming it ends every other session; the confirming one goes on.
	res, _ = thief.get(t, linkIn(t, confirm, "/verify/"))
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Equal(t, "/profile", res.Header.Get("Location"))
	res, _ = owner.get(t, "/profile")
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.True(t, strings.HasPrefix(res.Header.Get("Location"), "/login"), "the other session ended")
	res, _ = thief.get(t, "/profile")
	require.Equal(t, http.StatusOK, res.StatusCode)

	// The owner's link: opening it changes nothing; the button restores
	// the address and ends every session, the thief's too.
	res, _ = owner.get(t, revert)
	require.Equal(t, http.StatusOK, res.StatusCode)
	_, err := ts.store.UserByEmail(t.Context(), "thief@example.net")
	require.NoError(t, err, "a GET changes nothing")
	res, _ = owner.postForm(t, revert, url.Values{})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	u, err := ts.store.UserByEmail(t.Context(), "siti.rahmawati@example.org")
	require.NoError(t, err, "the old address is back")
	_, err = ts.store.UserByEmail(t.Context(), "thief@example.net")
	assert.ErrorIs(t, err, store.ErrNotFound)
	res, _ = thief.get(t, "/profile")
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.True(t, strings.HasPrefix(res.Header.Get("Location"), "/login"), "the thief is logged out")
	res, _ = owner.postForm(t, revert, url.Values{})
	assert.Equal(t, http.StatusNotFound, res.StatusCode, "the link works once")

	// With a second factor, the code is needed as well.
	enrolTOTP(t, ts, u.ID)
	require.Equal(t, http.StatusSeeOther, owner.signIn(t, "siti.rahmawati@example.org", password).StatusCode)
	v.Set("email", "other@example.net")
	res, body := owner.postMultipart(t, "/profile", v, "", "", nil)
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	assert.NotEmpty(t, doc(t, body).Find(`[data-testid="error-code"]`).Text())
	v.Set("code", totpCode(t, ts, u.ID))
	res, _ = owner.postMultipart(t, "/profile", v, "", "", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
}
