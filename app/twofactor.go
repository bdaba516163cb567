package app

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	qrcode "github.com/skip2/go-qrcode"

	"kelas/i18n"
	"kelas/store"
	"kelas/views"
)

// TOTP parameters: the defaults every authenticator app understands.
const (
	totpPeriod        = 30
	totpDigits        = otp.DigitsSix
	recoveryCodeCount = 10
	// loginCodeTTL is how long the second step of a login waits for its
	// code after the password was right.
	loginCodeTTL = 5 * time.Minute
)

var totpOpts = totp.ValidateOpts{Period: totpPeriod, Digits: totpDigits, Algorithm: otp.AlgorithmSHA1}

// newTOTPSecret is 160 random bits in base32, as RFC 4226 recommends.
func newTOTPSecret() string {
	b := make([]byte, 20)
	rand.Read(b)
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)
}

// newRecoveryCodes makes single-use codes of 50 random bits each, written
// in two groups of five for reading aloud or copying by hand.
func newRecoveryCodes() []string {
	enc := base32.NewEncoding("abcdefghijkmnpqrstuvwxyz23456789").WithPadding(base32.NoPadding)
	out := make([]string, recoveryCodeCount)
	for i := range out {
		b := make([]byte, 7)
		rand.Read(b)
		c := enc.EncodeToString(b)[:10]
		out[i] = c[:5] + "-" + c[5:]
	}
	return out
}

// matchTOTP finds the time step whose code is code, allowing one step of
// clock drift either way. ok is false when none matches.
func matchTOTP(secret, code string, now time.Time) (step int64, ok bool) {
	for _, d := range []int64{0, -1, 1} {
		at := now.Add(time.Duration(d*totpPeriod) * time.Second)
		want, err := totp.GenerateCodeCustom(secret, at, totpOpts)
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return at.Unix() / totpPeriod, true
		}
	}
	return 0, false
}

// isTOTPCode reports whether v looks like a six-digit code (spaces aside).
func isTOTPCode(v string) (string, bool) {
	v = strings.ReplaceAll(v, " ", "")
	if len(v) != 6 {
		return v, false
	}
	for _, c := range v {
		if c < '0' || c > '9' {
			return v, false
		}
	}
	return v, true
}

// checkSecondFactor accepts a current TOTP code or an unused recovery code
// of userID, spending it: the same code never works twice. Failures are
// counted per account, so codes cannot be guessed at leisure.
func (a *App) checkSecondFactor(ctx context.Context, userID, code string) (bool, error) {
	key := "code:" + userID
	if blocked, _ := a.limits.codeAccount.blocked(key); blocked {
		return false, nil
	}
	ok, err := a.spendSecondFactor(ctx, userID, code)
	if err != nil {
		return false, err
	}
	if !ok {
		a.limits.codeAccount.hit(key)
		return false, nil
	}
	return true, nil
}

func (a *App) spendSecondFactor(ctx context.Context, userID, code string) (bool, error) {
	code = strings.TrimSpace(code)
	if digits, ok := isTOTPCode(code); ok {
		t, err := a.store.TOTP(ctx, userID)
		if errors.Is(err, store.ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		step, ok := matchTOTP(t.Secret, digits, a.clock())
		if !t.Confirmed || !ok {
			return false, nil
		}
		err = a.store.UseTOTPStep(ctx, userID, step)
		if errors.Is(err, store.ErrCodeUsed) {
			return false, nil
		}
		return err == nil, err
	}
	if n := len(store.NormaliseRecoveryCode(code)); n < 8 || n > 16 {
		return false, nil
	}
	err := a.store.UseRecoveryCode(ctx, userID, code)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err == nil {
		a.log.Info("recovery code used", "user_id", userID)
	}
	return err == nil, err
}

// stepUp asks a person with a second factor for a code again before a
// sensitive change (password, email address, export download, roles and
// grants). It records a field error on f and returns false when the code
// is missing or wrong; people without a second factor pass.
func (a *App) stepUp(ctx context.Context, u *store.User, f *form) (bool, error) {
	if !u.TwoFactor {
		return true, nil
	}
	r := f.r
	code := f.raw("code")
	if strings.TrimSpace(code) == "" {
		f.fail("code", tr(r, "twofactor.error.code_empty"))
		return false, nil
	}
	ok, err := a.checkSecondFactor(ctx, u.ID, code)
	if err != nil {
		return false, err
	}
	if !ok {
		f.fail("code", tr(r, "twofactor.error.code_wrong"))
	}
	return ok, nil
}

// needsTwoFactorSetup: accounts that see other people's personal data
// must set up a second factor before anything else.
func needsTwoFactorSetup(u *store.User) bool { return u != nil && u.Privileged() && !u.TwoFactor }

// twoFactorSetupAllowed lists what a person who must still set up the
// second factor may reach meanwhile: the setup itself, logging out, and
// public pages that show no one's data.
func twoFactorSetupAllowed(path string) bool {
	switch path {
	case "/profile/2fa", "/logout", "/cookies", "/privacy", "/favicon.ico":
		return true
	}
	return strings.HasPrefix(path, "/privacy/versions") || strings.HasPrefix(path, "/verify/") || strings.HasPrefix(path, "/invite/") ||
		strings.HasPrefix(path, "/email/revert/")
}

// otpauthURL is what the QR code holds: the secret with a label the app
// shows. The address is in it only for the person's own app.
func (a *App) otpauthURL(u *store.User, secret string) string {
	issuer := "kelas"
	v := url.Values{"secret": {secret}, "issuer": {issuer}, "algorithm": {"SHA1"}, "digits": {"6"}, "period": {"30"}}
	return "otpauth://totp/" + url.PathEscape(issuer+":"+u.Email) + "?" + v.Encode()
}

// qrSVG draws content as an SVG QR code, server-side, one path of unit
// squares, so it shows without JavaScript and without an image request.
func qrSVG(content, title string) (string, error) {
	q, err := qrcode.New(content, qrcode.Medium)
	if err != nil {
		return "", err
	}
	bits := q.Bitmap()
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="240" height="240" role="img" aria-labelledby="qr-title" shape-rendering="crispEdges" data-testid="totp-qr"><title id="qr-title">%s</title><rect width="100%%" height="100%%" fill="#fff"/><path fill="#000" d="`, len(bits), len(bits), html.EscapeString(title))
	for y, row := range bits {
		for x, on := range row {
			if on {
				fmt.Fprintf(&b, "M%d %dh1v1h-1z", x, y)
			}
		}
	}
	b.WriteString(`"/></svg>`)
	return b.String(), nil
}

// GET /profile/2fa
func (a *App) handleTwoFactor(w http.ResponseWriter, r *http.Request) error {
	u := currentUser(r.Context())
	vm, err := a.twoFactorForm(r.Context(), u)
	if err != nil {
		return err
	}
	return a.render(w, r, http.StatusOK, views.TwoFactor(a.page(r, tr(r, "twofactor.title")), vm))
}

// twoFactorForm shows the status of the second factor, or sets up a new
// secret (kept until confirmed, so reloading shows the same QR code).
func (a *App) twoFactorForm(ctx context.Context, u *store.User) (views.TwoFactorForm, error) {
	vm := views.TwoFactorForm{Enabled: u.TwoFactor, Required: u.Privileged()}
	if u.TwoFactor {
		n, err := a.store.RecoveryCodesLeft(ctx, u.ID)
		vm.CodesLeft = n
		return vm, err
	}
	t, err := a.store.TOTP(ctx, u.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		t.Secret = newTOTPSecret()
		if err := a.store.StartTOTP(ctx, u.ID, t.Secret); err != nil {
			return vm, err
		}
	case err != nil:
		return vm, err
	}
	vm.Secret = groupSecret(t.Secret)
	vm.QR, err = qrSVG(a.otpauthURL(u, t.Secret), i18n.From(ctx).T("twofactor.setup.qr_title"))
	return vm, err
}

// groupSecret writes the secret in groups of four for typing by hand.
func groupSecret(s string) string {
	var parts []string
	for len(s) > 4 {
		parts = append(parts, s[:4])
		s = s[4:]
	}
	return strings.Join(append(parts, s), " ")
}

// POST /profile/2fa
//
// action=enable confirms the secret with a first code and shows the
// recovery codes once; action=codes replaces the recovery codes;
// action=disable removes the second factor (learners only: everyone who
// sees other people's data keeps it).
func (a *App) handleTwoFactorSave(w http.ResponseWriter, r *http.Request) error {
	u := currentUser(r.Context())
	f, err := parseForm(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	action := f.raw("action")
	if blocked, wait := a.limits.codeAccount.blocked("code:" + u.ID); blocked {
		return tooMany(wait)
	}
	rerender := func() error {
		vm, err := a.twoFactorForm(ctx, u)
		if err != nil {
			return err
		}
		vm.Errors = f.Errors
		return a.render(w, r, http.StatusUnprocessableEntity, views.TwoFactor(a.page(r, tr(r, "twofactor.title")), vm))
	}
	switch {
	case action == "enable" && !u.TwoFactor:
		t, err := a.store.TOTP(ctx, u.ID)
		if errors.Is(err, store.ErrNotFound) {
			http.Redirect(w, r, "/profile/2fa", http.StatusSeeOther)
			return nil
		}
		if err != nil {
			return err
		}
		code, isCode := isTOTPCode(f.raw("code"))
		step, ok := matchTOTP(t.Secret, code, a.clock())
		switch {
		case strings.TrimSpace(f.raw("code")) == "":
			f.fail("code", tr(r, "twofactor.error.setup_code_empty"))
		case !isCode:
			f.fail("code", tr(r, "twofactor.error.setup_code_digits"))
		case !ok:
			a.limits.codeAccount.hit("code:" + u.ID)
			f.fail("code", tr(r, "twofactor.error.setup_code_wrong"))
		}
		if !f.Valid() {
			return rerender()
		}
		codes := newRecoveryCodes()
		if err := a.store.ConfirmTOTP(ctx, u.ID, step, codes); err != nil {
			return err
		}
		nu, err := a.store.User(ctx, u.ID)
		if err != nil {
			return err
		}
		// Other sessions ended; this one goes on, on a new token.
		if err := a.logIn(ctx, nu); err != nil {
			return err
		}
		a.log.Info("second factor on", "user_id", u.ID)
		// The factor is on: the codes must be shown even without the notice.
		a.mailTwoFactorChanged(ctx, nu, true, false)
		if err := a.render(w, r, http.StatusOK, views.RecoveryCodes(a.page(r, tr(r, "twofactor.codes.title")),
			views.RecoveryCodesView{Codes: codes, Next: a.policyCheckpoint(ctx, u.ID, "/")})); err != nil {
			return err
		}
	case action == "codes" && u.TwoFactor:
		if ok, err := a.stepUp(ctx, u, f); err != nil || !ok {
			if err != nil {
				return err
			}
			return rerender()
		}
		codes := newRecoveryCodes()
		if err := a.store.ReplaceRecoveryCodes(ctx, u.ID, codes); err != nil {
			return err
		}
		if err := a.render(w, r, http.StatusOK, views.RecoveryCodes(a.page(r, tr(r, "twofactor.codes.title")),
			views.RecoveryCodesView{Codes: codes, Next: "/profile/2fa"})); err != nil {
			return err
		}
	case action == "disable" && u.TwoFactor:
		if u.Privileged() {
			return errForbidden
		}
		if ok, err := a.stepUp(ctx, u, f); err != nil || !ok {
			if err != nil {
				return err
			}
			return rerender()
		}
		if err := a.store.RemoveTOTP(ctx, u.ID, u.ID); err != nil {
			return err
		}
		nu, err := a.store.User(ctx, u.ID)
		if err != nil {
			return err
		}
		if err := a.logIn(ctx, nu); err != nil {
			return err
		}
		a.mailTwoFactorChanged(ctx, nu, false, false)
		a.redirect(w, r, "/profile/2fa", tr(r, "twofactor.flash.off"))
	default:
		return errBadRequest
	}
	return nil
}

// GET /login/2fa
func (a *App) handleLoginCodeForm(w http.ResponseWriter, r *http.Request) error {
	if _, ok := a.pendingLogin(r.Context()); !ok {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return nil
	}
	return a.render(w, r, http.StatusOK, views.LoginCode(a.page(r, tr(r, "twofactor.login.title")), views.LoginCodeForm{}))
}

// pendingLogin is the account whose password was right in this session
// and which now owes its second factor.
func (a *App) pendingLogin(ctx context.Context) (string, bool) {
	uid := a.sessions.GetString(ctx, "mfa_uid")
	until := a.sessions.GetInt64(ctx, "mfa_until")
	if uid == "" || a.clock().Unix() > until {
		return "", false
	}
	return uid, true
}

// POST /login/2fa
func (a *App) handleLoginCode(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	uid, ok := a.pendingLogin(ctx)
	if !ok {
		a.redirect(w, r, "/login", tr(r, "twofactor.flash.timed_out"))
		return nil
	}
	if blocked, wait := a.limits.codeAccount.blocked("code:" + uid); blocked {
		return tooMany(wait)
	}
	f, err := parseForm(r)
	if err != nil {
		return err
	}
	u, err := a.store.User(ctx, uid)
	if err != nil {
		return err
	}
	if u.SessionEpoch != a.sessions.GetInt64(ctx, "mfa_epoch") || u.Status != "active" {
		a.sessions.Remove(ctx, "mfa_uid")
		a.redirect(w, r, "/login", tr(r, "twofactor.flash.again"))
		return nil
	}
	if ok, err := a.stepUp(ctx, &u, f); err != nil || !ok {
		if err != nil {
			return err
		}
		return a.render(w, r, http.StatusUnprocessableEntity, views.LoginCode(a.page(r, tr(r, "twofactor.login.title")), views.LoginCodeForm{Errors: f.Errors}))
	}
	next := a.sessions.GetString(ctx, "mfa_next")
	for _, k := range []string{"mfa_uid", "mfa_epoch", "mfa_until", "mfa_next"} {
		a.sessions.Remove(ctx, k)
	}
	a.limits.codeAccount.reset("code:" + uid)
	return a.finishLogin(w, r, u, next)
}

// POST /console/accounts/{uid}/2fa/reset
//
// An operator turns off the second factor of someone who lost both their
// device and their recovery codes, after checking who they are outside
// kelas. It needs the operator's own code, is audited, and the person is
// mailed; a privileged person is asked to set up a new one at next login.
func (a *App) handleTwoFactorReset(w http.ResponseWriter, r *http.Request) error {
	x := actorFrom(r.Context())
	uid := r.PathValue("uid")
	if !store.ValidID(uid) || uid == x.user.ID {
		return errBadRequest
	}
	f, err := parseForm(r)
	if err != nil {
		return err
	}
	if err := a.stepUpCheck(r, x.user, f); err != nil {
		return err
	}
	if err := a.store.RemoveTOTP(r.Context(), x.user.ID, uid); err != nil {
		return err
	}
	u, err := a.store.User(r.Context(), uid)
	if err != nil {
		return err
	}
	a.mailTwoFactorChanged(r.Context(), u, false, true)
	a.log.Info("second factor reset", "user_id", uid, "by", x.user.ID)
	a.redirect(w, r, "/console/operators", tr(r, "twofactor.flash.reset"))
	return nil
}

// codeRefused answers a step-up whose code is missing or wrong, offering
// the way back to the page the form was on.
func codeRefused(r *http.Request, f *form) error {
	back := r.Header.Get("Referer")
	if u, err := url.Parse(back); err != nil || u.Host != r.Host {
		back = "/console"
	} else {
		back = safeNext(u.RequestURI())
	}
	return &Error{Status: http.StatusUnprocessableEntity, Key: "error.code_needed", Args: []any{"problem", f.Errors["code"]}, Link: back}
}

// mailTwoFactorChanged tells u, in their own language, that their second
// factor was turned on or off.
//
// The change is made before: a notice that cannot be queued does not undo
// it, and is logged rather than shown to whoever made the change.
func (a *App) mailTwoFactorChanged(ctx context.Context, u store.User, on, byOperator bool) {
	if err := a.mails.TwoFactorChanged(ctx, u, on, byOperator); err != nil {
		a.log.Error("second factor mail not queued", "user_id", u.ID, "err", err)
	}
}
