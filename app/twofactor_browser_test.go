package app

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"kelas/store"
)

// TestBrowserOperatorTwoFactor walks the second factor in a real Chromium
// with JavaScript off: an operator cannot reach learners' data before
// setting it up at first login, sets it up from the server-drawn QR code's
// key, logs in with a code, and uses a recovery code once (twice fails).
func TestBrowserOperatorTwoFactor(t *testing.T) {
	ctx := newBrowser(t)
	ts := newTestServer(t)
	const email, password = "nurul.operator@example.org", "tropical orchid greenhouse"
	hash, err := bcrypt.GenerateFromPassword([]byte(password), 4)
	require.NoError(t, err)
	_, err = ts.store.CreateUser(t.Context(), store.NewUser{Email: email, FirstName: "Nurul", Surname: "Op", PasswordHash: string(hash),
		Role: store.RoleOperator, Verified: true, AcceptedPolicy: "2023-10-09"})
	require.NoError(t, err)

	location := func() string {
		t.Helper()
		loc, err := chromedp.Run(ctx, chromedp.Location())
		require.NoError(t, err)
		return strings.TrimPrefix(loc, ts.URL)
	}
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		require.NoError(t, err)
		return strings.TrimSpace(v)
	}
	login := func(waitFor string) {
		t.Helper()
		require.NoError(t, chromedp.Do(ctx,
			chromedp.Navigate(ts.URL+"/login"),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-form"]`)),
			chromedp.SendKeys(chromedp.CSS(`#email`), email),
			chromedp.SendKeys(chromedp.CSS(`#password`), password),
			chromedp.Submit(chromedp.CSS(`#password`)),
			chromedp.WaitVisible(chromedp.CSS(waitFor)),
		))
	}
	enterCode := func(code, waitFor string) {
		t.Helper()
		require.NoError(t, chromedp.Do(ctx,
			chromedp.SendKeys(chromedp.CSS(`#code`), code),
			chromedp.Submit(chromedp.CSS(`#code`)),
			chromedp.WaitVisible(chromedp.CSS(waitFor)),
		))
	}
	logout := func() {
		t.Helper()
		require.NoError(t, chromedp.Do(ctx,
			chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="flash"]`)),
		))
	}

	// First login: straight to the setup, and nothing else is reachable.
	login(`[data-testid="twofactor-required"]`)
	assert.Equal(t, "/profile/2fa", location())
	assert.Equal(t, 1, count(t, ctx, `svg[data-testid="totp-qr"]`), "the QR code is drawn on the server")
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(ts.URL+"/console/learners"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="twofactor-form"]`))))
	assert.Equal(t, "/profile/2fa", location(), "no learner data before the second factor is set up")

	// Set it up with the key shown as text, as an app would.
	secret := strings.ReplaceAll(text(`[data-testid="totp-secret"]`), " ", "")
	code, err := totp.GenerateCodeCustom(secret, ts.clock.Now(), totpOpts)
	require.NoError(t, err)
	enterCode(code, `[data-testid="recovery-codes"]`)
	nodes, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSSAll(`[data-testid="recovery-code"]`)))
	require.NoError(t, err)
	require.Len(t, nodes, recoveryCodeCount)
	recovery := text(`[data-testid="recovery-code"]`)
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(ts.URL+"/console/learners"), chromedp.WaitVisible(chromedp.CSS(`main`))))
	assert.Equal(t, "/console/learners", location(), "reachable once the second factor is on")
	logout()

	// A login asks for the code; the next code lets the operator in.
	login(`[data-testid="login-code-form"]`)
	assert.Equal(t, "/login/2fa", location())
	ts.clock.Add(30 * time.Second)
	code, err = totp.GenerateCodeCustom(secret, ts.clock.Now(), totpOpts)
	require.NoError(t, err)
	enterCode(code, `form[action="/logout"]`)
	assert.NotContains(t, location(), "/login")
	logout()

	// A recovery code works once...
	login(`[data-testid="login-code-form"]`)
	enterCode(recovery, `form[action="/logout"]`)
	assert.NotContains(t, location(), "/login")
	logout()

	// ...and not twice.
	login(`[data-testid="login-code-form"]`)
	enterCode(recovery, `[data-testid="error-code"]`)
	assert.Equal(t, "/login/2fa", location())
	assert.Zero(t, count(t, ctx, `form[action="/logout"]`), "not logged in")
}
