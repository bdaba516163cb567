package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"kelas/i18n"
	"kelas/store"
	"kelas/store/crypt"
	"kelas/views"
)

// Link lifetimes.
const (
	verifyTTL = 48 * time.Hour
	resetTTL  = time.Hour
)

// GET /register
func (a *App) handleRegisterForm(w http.ResponseWriter, r *http.Request) error {
	if currentUser(r.Context()) != nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return nil
	}
	vm, err := a.registerForm(r.Context())
	if err != nil {
		return err
	}
	vm.Feedback = true // feedback requests are on unless the person opts out (the notice says so in the same words)
	return a.render(w, r, http.StatusOK, views.Register(a.page(r, tr(r, "accounts.register.title")), vm))
}

func (a *App) registerForm(ctx context.Context) (views.RegisterForm, error) {
	policy, err := a.store.CurrentPolicy(ctx)
	if err != nil {
		return views.RegisterForm{}, err
	}
	return views.RegisterForm{PolicyVersion: policy.Version, Countries: countryOptionsIn(ctx),
		Industries: industryOptionsIn(ctx), Genders: genderOptionsIn(ctx)}, nil
}

// POST /register
//
// A new and an already registered address get exactly the same answer; the
// owner of an existing address is mailed a notice instead of a second
// account. The password is hashed once either way, so timing tells nothing.
func (a *App) handleRegister(w http.ResponseWriter, r *http.Request) error {
	ip := clientNetwork(ClientIP(r.Context()))
	if blocked, wait := a.limits.registerIP.blocked(ip); blocked {
		return tooMany(wait)
	}
	f, err := parseForm(r)
	if err != nil {
		return err
	}
	vm, err := a.registerForm(r.Context())
	if err != nil {
		return err
	}
	vm.FirstName = f.text("first_name", "form.field.first_name", 1, 100)
	vm.Surname = f.text("surname", "form.field.surname", 0, 100) // many people have one name
	vm.Email = f.email("email")
	vm.Country = f.choice("country", "form.field.country", store.ValidCountry, true)
	vm.Company = f.text("company", "form.field.company", 1, 200)
	vm.Industry = f.choice("industry", "form.field.industry", store.ValidIndustry, true)
	vm.Gender = f.choice("gender", "form.field.gender", store.ValidGender, false)
	password := f.newPassword("password", false, vm.FirstName, vm.Surname, vm.Email, vm.Company)
	vm.Adult = f.checkbox("adult")
	vm.AcceptPolicy = f.checkbox("accept_policy")
	vm.NotifyNew = f.checkbox("notify_new")
	vm.Feedback = f.checkbox("feedback")
	if !vm.Adult {
		f.fail("adult", tr(r, "accounts.register.error.adult"))
	}
	if !vm.AcceptPolicy {
		f.fail("accept_policy", tr(r, "accounts.register.error.accept_policy"))
	}
	if !f.Valid() {
		vm.Errors = f.Errors
		return a.render(w, r, http.StatusUnprocessableEntity, views.Register(a.page(r, tr(r, "accounts.register.title")), vm))
	}
	// Only complete forms count: they are what costs a hash and a mail.
	a.limits.registerIP.hit(ip)
	nu := store.NewUser{
		Email: vm.Email, FirstName: vm.FirstName, Surname: vm.Surname, Company: vm.Company, Gender: vm.Gender,
		Country: vm.Country, Industry: vm.Industry, Role: store.RoleLearner,
		AdultConfirmed: true, AcceptedPolicy: vm.PolicyVersion, NotifyNew: vm.NotifyNew, Feedback: vm.Feedback,
		Language: pageLanguage(r),
	}
	// The zone of the person's country until they choose another.
	nu.TimeZone = store.DefaultZone(nu.Country)
	a.bg.AfterAnswer(r.Context(), func(ctx context.Context) {
		if err := a.register(ctx, nu, password); err != nil {
			a.log.Error("registration", "err", err)
		}
	})
	a.redirect(w, r, "/login", tr(r, "accounts.register.flash"))
	return nil
}

// pageLanguage is the language of the page a form was sent from, as a
// person's saved language: the pseudo-locale is saved as English.
func pageLanguage(r *http.Request) string {
	if code := i18n.From(r.Context()).Code; i18n.Supported(code) {
		return code
	}
	return i18n.Default
}

// register hashes the password once, then creates the account and mails
// its confirmation link, or, for an address already registered, mails
// its owner a notice instead of a second account.
func (a *App) register(ctx context.Context, nu store.NewUser, password string) error {
	hash, err := a.hasher.hash(ctx, password)
	if err != nil {
		return err
	}
	nu.PasswordHash = hash
	u, err := a.store.CreateUser(ctx, nu)
	switch {
	case errors.Is(err, store.ErrConflict):
		return a.mailDuplicateNotice(ctx, nu.Email)
	case err != nil:
		return err
	}
	a.log.Info("account registered", "user_id", u.ID)
	return a.mailVerification(ctx, u, u.Email)
}

// GET /verify/{token}
func (a *App) handleVerify(w http.ResponseWriter, r *http.Request) error {
	token := r.PathValue("token")
	var u store.User
	err := store.ErrTokenInvalid
	if validToken(token) {
		u, err = a.store.VerifyEmail(r.Context(), token)
	}
	switch {
	case errors.Is(err, store.ErrTokenInvalid):
		return &Error{Status: http.StatusNotFound, Key: "error.verify_gone", Cause: err}
	case errors.Is(err, store.ErrConflict):
		return &Error{Status: http.StatusConflict, Key: "error.email_taken", Cause: err}
	case err != nil:
		return err
	}
	a.log.Info("email confirmed", "user_id", u.ID)
	if cu := currentUser(r.Context()); cu != nil && cu.ID == u.ID {
		// A changed address ended every session; this one goes on.
		if err := a.logIn(r.Context(), u); err != nil {
			return err
		}
		a.redirect(w, r, "/profile", tr(r, "accounts.verify.flash.confirmed_here"))
		return nil
	}
	a.redirect(w, r, "/login", tr(r, "accounts.verify.flash.confirmed"))
	return nil
}

// POST /verify/resend
func (a *App) handleVerifyResend(w http.ResponseWriter, r *http.Request) error {
	u := currentUser(r.Context())
	if u.Verified() {
		a.redirect(w, r, "/", tr(r, "accounts.verify.flash.already"))
		return nil
	}
	if blocked, wait := a.limits.mailAccount.blocked(u.ID); blocked {
		return tooMany(wait)
	}
	a.limits.mailAccount.hit(u.ID)
	if err := a.mailVerification(r.Context(), *u, u.Email); err != nil {
		return err
	}
	a.redirect(w, r, "/", tr(r, "accounts.verify.flash.resent"))
	return nil
}

// GET /login
func (a *App) handleLoginForm(w http.ResponseWriter, r *http.Request) error {
	if u := currentUser(r.Context()); u != nil {
		http.Redirect(w, r, landing(*u, r.URL.Query().Get("next")), http.StatusSeeOther)
		return nil
	}
	return a.render(w, r, http.StatusOK, views.Login(a.page(r, tr(r, "accounts.login.title")), views.LoginForm{Next: r.URL.Query().Get("next")}))
}

// POST /login
//
// Throttles are checked before any hashing. An unknown address is compared
// against a dummy hash and gets the same answer as a wrong password.
func (a *App) handleLogin(w http.ResponseWriter, r *http.Request) error {
	f, err := parseForm(r)
	if err != nil {
		return err
	}
	vm := views.LoginForm{Email: f.text("email", "form.field.email", 1, 254), Next: f.raw("next")}
	password := f.raw("password")
	network := clientNetwork(ClientIP(r.Context()))
	ip := "ip:" + network
	account := "acct:" + accountKey(vm.Email)
	pair := account + "|" + network
	// Failures count per account and client network, so guessing from
	// elsewhere does not lock the owner out; the global ceiling, slower,
	// holds only networks the account never logged in from.
	checks := []struct {
		l   *limiter
		key string
	}{{a.limits.loginIP, ip}, {a.limits.loginAccount, pair}}
	if !a.limits.knownNets.seen(pair) {
		checks = append(checks, struct {
			l   *limiter
			key string
		}{a.limits.loginGlobal, account})
	}
	for _, c := range checks {
		if blocked, wait := c.l.blocked(c.key); blocked {
			return tooMany(wait)
		}
	}
	a.limits.loginIP.hit(ip)
	switch {
	case password == "":
		f.fail("password", tr(r, "accounts.login.error.empty"))
	case len(password) > 72:
		f.fail("password", tr(r, "accounts.login.error.too_long"))
	case len(password) < 8:
		f.fail("password", tr(r, "accounts.login.error.too_short"))
	}
	if !f.Valid() {
		vm.Errors = f.Errors
		return a.render(w, r, http.StatusUnprocessableEntity, views.Login(a.page(r, tr(r, "accounts.login.title")), vm))
	}
	u, err := a.store.UserByEmail(r.Context(), vm.Email)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	ok, err := a.hasher.compare(r.Context(), u.PasswordHash, password)
	if err != nil {
		return err
	}
	if ok && u.Status != "active" {
		// The right password for a suspended account: say why, as the
		// person was told by mail, and how to object.
		if msg, err := a.suspendedMessage(r, u); err != nil || msg != "" {
			if err != nil {
				return err
			}
			vm.Errors = views.Errors{"password": msg}
			return a.render(w, r, http.StatusForbidden, views.Login(a.page(r, tr(r, "accounts.login.title")), vm))
		}
	}
	if !ok || u.Status != "active" {
		a.limits.loginAccount.hit(pair)
		a.limits.loginGlobal.hit(account)
		vm.Errors = views.Errors{"password": tr(r, "accounts.login.error.wrong")}
		return a.render(w, r, http.StatusUnprocessableEntity, views.Login(a.page(r, tr(r, "accounts.login.title")), vm))
	}
	a.limits.loginAccount.reset(pair)
	a.limits.knownNets.hit(pair)
	if u.TwoFactor {
		// The password was right; the session becomes a login only with
		// the second factor. A new token either way: nothing fixed
		// before this point carries over.
		ctx := r.Context()
		if err := a.sessions.RenewToken(ctx); err != nil {
			return err
		}
		a.sessions.Put(ctx, "mfa_uid", u.ID)
		a.sessions.Put(ctx, "mfa_epoch", u.SessionEpoch)
		a.sessions.Put(ctx, "mfa_until", a.clock().Add(loginCodeTTL).Unix())
		a.sessions.Put(ctx, "mfa_next", landing(u, vm.Next))
		http.Redirect(w, r, "/login/2fa", http.StatusSeeOther)
		return nil
	}
	return a.finishLogin(w, r, u, landing(u, vm.Next))
}

// finishLogin starts the session of u, whose password (and second factor,
// when enrolled) were right, and sends them on: to set up a second factor
// when their role needs one, to accept a new policy version, or to next.
func (a *App) finishLogin(w http.ResponseWriter, r *http.Request, u store.User, next string) error {
	if err := a.logIn(r.Context(), u); err != nil {
		return err
	}
	if err := a.store.RecordLogin(r.Context(), u.ID); err != nil {
		return err
	}
	a.log.Info("logged in", "user_id", u.ID)
	if needsTwoFactorSetup(&u) {
		a.redirect(w, r, "/profile/2fa", tr(r, "accounts.login.flash.twofactor_needed"))
		return nil
	}
	a.redirect(w, r, a.policyCheckpoint(r.Context(), u.ID, safeNext(next)), "")
	return nil
}

// POST /logout
func (a *App) handleLogout(w http.ResponseWriter, r *http.Request) error {
	if err := a.sessions.Destroy(r.Context()); err != nil {
		return err
	}
	a.redirect(w, r, "/", tr(r, "accounts.logout.flash"))
	return nil
}

// GET /logout
//
// Following a link to /logout (a bookmark, a typed address) asks to
// confirm: logging out changes state, so it is the button's POST that does
// it. A visitor, logged out already, goes home.
func (a *App) handleLogoutForm(w http.ResponseWriter, r *http.Request) error {
	if currentUser(r.Context()) == nil {
		a.redirect(w, r, "/", "")
		return nil
	}
	return a.render(w, r, http.StatusOK, views.LogoutConfirm(a.page(r, tr(r, "accounts.logout.title"))))
}

// GET /password/forgot
func (a *App) handleForgotForm(w http.ResponseWriter, r *http.Request) error {
	return a.render(w, r, http.StatusOK, views.Forgot(a.page(r, tr(r, "accounts.forgot.title")), views.ForgotForm{}))
}

// POST /password/forgot
//
// The answer is the same whether or not the address has an account.
func (a *App) handleForgot(w http.ResponseWriter, r *http.Request) error {
	ip := clientNetwork(ClientIP(r.Context()))
	if blocked, wait := a.limits.mailIP.blocked(ip); blocked {
		return tooMany(wait)
	}
	a.limits.mailIP.hit(ip)
	f, err := parseForm(r)
	if err != nil {
		return err
	}
	vm := views.ForgotForm{Email: f.email("email")}
	if !f.Valid() {
		vm.Errors = f.Errors
		return a.render(w, r, http.StatusUnprocessableEntity, views.Forgot(a.page(r, tr(r, "accounts.forgot.title")), vm))
	}
	email := vm.Email
	a.bg.AfterAnswer(r.Context(), func(ctx context.Context) {
		if err := a.forgot(ctx, email); err != nil {
			a.log.Error("password reset request", "err", err)
		}
	})
	a.redirect(w, r, "/password/forgot", tr(r, "accounts.forgot.flash"))
	return nil
}

// forgot mails a reset link when email belongs to an active account (at
// most a few an hour), and does nothing else.
func (a *App) forgot(ctx context.Context, email string) error {
	u, err := a.store.UserByEmail(ctx, email)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil
	case err != nil:
		return err
	case u.Status != "active":
		return nil
	}
	if blocked, _ := a.limits.mailAccount.blocked(u.ID); blocked {
		return nil
	}
	a.limits.mailAccount.hit(u.ID)
	return a.mailReset(ctx, u)
}

// GET /password/reset/{token}
func (a *App) handleResetForm(w http.ResponseWriter, r *http.Request) error {
	token := r.PathValue("token")
	if err := a.resetOpen(r, token); err != nil {
		return err
	}
	return a.render(w, r, http.StatusOK, views.Password(a.page(r, tr(r, "accounts.reset.title")), resetForm(r, token)))
}

func resetForm(r *http.Request, token string) views.PasswordForm {
	return views.PasswordForm{Action: "/password/reset/" + token, Heading: tr(r, "accounts.reset.title"),
		Intro: tr(r, "accounts.reset.intro")}
}

// POST /password/reset/{token}
func (a *App) handleReset(w http.ResponseWriter, r *http.Request) error {
	token := r.PathValue("token")
	f, err := parseForm(r)
	if err != nil {
		return err
	}
	if err := a.resetOpen(r, token); err != nil {
		return err
	}
	owner, err := a.store.AccountTokenOwner(r.Context(), token, store.TokenReset)
	if errors.Is(err, store.ErrTokenInvalid) {
		return errResetGone
	}
	if err != nil {
		return err
	}
	password := f.newPassword("password", owner.Privileged(), owner.FirstName, owner.Surname, owner.Email, owner.Company)
	if !f.Valid() {
		vm := resetForm(r, token)
		vm.Errors = f.Errors
		return a.render(w, r, http.StatusUnprocessableEntity, views.Password(a.page(r, tr(r, "accounts.reset.title")), vm))
	}
	hash, err := a.hasher.hash(r.Context(), password)
	if err != nil {
		return err
	}
	u, err := a.store.ResetPassword(r.Context(), token, hash)
	if errors.Is(err, store.ErrTokenInvalid) {
		return errResetGone
	}
	if err != nil {
		return err
	}
	a.log.Info("password reset", "user_id", u.ID)
	if err := a.mailPasswordChanged(r.Context(), u); err != nil {
		return err
	}
	a.redirect(w, r, "/login", tr(r, "accounts.reset.flash"))
	return nil
}

// resetOpen answers with a clear page unless token is a live reset link.
func (a *App) resetOpen(r *http.Request, token string) error {
	if validToken(token) {
		ok, err := a.store.AccountTokenValid(r.Context(), token, store.TokenReset)
		if err != nil || ok {
			return err
		}
	}
	return errResetGone
}

// The answers to a reset or revert link that does not work (any more).
var (
	errResetGone  = &Error{Status: http.StatusNotFound, Key: "error.reset_gone"}
	errRevertGone = &Error{Status: http.StatusNotFound, Key: "error.revert_gone"}
)

// GET /profile/password
func (a *App) handlePasswordForm(w http.ResponseWriter, r *http.Request) error {
	u := currentUser(r.Context())
	return a.render(w, r, http.StatusOK, views.Password(a.page(r, tr(r, "accounts.password.title")), changeForm(r, u)))
}

func changeForm(r *http.Request, u *store.User) views.PasswordForm {
	return views.PasswordForm{Action: "/profile/password", Heading: tr(r, "accounts.password.title"), Current: true, Code: u.TwoFactor,
		Privileged: u.Privileged(), Intro: tr(r, "accounts.password.intro")}
}

// POST /profile/password
func (a *App) handlePasswordChange(w http.ResponseWriter, r *http.Request) error {
	u := currentUser(r.Context())
	if blocked, wait := a.limits.loginAccount.blocked("user:" + u.ID); blocked {
		return tooMany(wait)
	}
	f, err := parseForm(r)
	if err != nil {
		return err
	}
	current := f.raw("current_password")
	password := f.newPassword("password", u.Privileged(), u.FirstName, u.Surname, u.Email, u.Company)
	if current == "" {
		f.fail("current_password", tr(r, "accounts.password.error.current_empty"))
	}
	if f.Valid() {
		ok, err := a.hasher.compare(r.Context(), u.PasswordHash, current)
		if err != nil {
			return err
		}
		if !ok {
			a.limits.loginAccount.hit("user:" + u.ID)
			f.fail("current_password", tr(r, "accounts.password.error.current_wrong"))
		}
	}
	if f.Valid() {
		if _, err := a.stepUp(r.Context(), u, f); err != nil {
			return err
		}
	}
	if !f.Valid() {
		vm := changeForm(r, u)
		vm.Errors = f.Errors
		return a.render(w, r, http.StatusUnprocessableEntity, views.Password(a.page(r, tr(r, "accounts.password.title")), vm))
	}
	hash, err := a.hasher.hash(r.Context(), password)
	if err != nil {
		return err
	}
	nu, err := a.store.SetPassword(r.Context(), u.ID, hash)
	if err != nil {
		return err
	}
	// Other sessions ended with the epoch; this one continues on a new token.
	if err := a.logIn(r.Context(), nu); err != nil {
		return err
	}
	if err := a.mailPasswordChanged(r.Context(), nu); err != nil {
		return err
	}
	a.redirect(w, r, "/profile", tr(r, "accounts.password.flash"))
	return nil
}

// tooMany answers a throttled request with 429 and when to retry.
func tooMany(wait time.Duration) error {
	mins := int(wait.Minutes()) + 1
	return &Error{Status: http.StatusTooManyRequests, Key: "error.too_many_for", Args: []any{"wait", plural{"duration.minutes", mins}}, RetryAfter: wait}
}

// accountKey is the throttle key of an address: a hash, so the limiter does
// not hold addresses in memory.
func accountKey(email string) string {
	sum := sha256.Sum256([]byte(crypt.NormaliseEmail(email)))
	return hex.EncodeToString(sum[:16])
}

// validToken checks the shape of a link token (store.NewToken) before any
// lookup.
func validToken(t string) bool {
	if len(t) != 43 {
		return false
	}
	for _, c := range t {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// safeNext keeps a post-login redirect on this site: a local absolute path,
// never another host ("//evil", "/\\evil", "https://...").
func safeNext(v string) string {
	if v == "" || !strings.HasPrefix(v, "/") || strings.HasPrefix(v, "//") || strings.HasPrefix(v, "/\\") {
		return "/"
	}
	u, err := url.Parse(v)
	if err != nil || u.Host != "" || u.Scheme != "" || strings.ContainsAny(v, "\r\n\t\\") {
		return "/"
	}
	return v
}

// countryOptionsIn lists the ASEAN countries first, then all others, in
// the language of ctx.
func countryOptionsIn(ctx context.Context) []views.OptionGroup {
	p := i18n.From(ctx)
	asean := map[string]bool{}
	for _, c := range store.ASEANCountries() {
		asean[c] = true
	}
	var first, rest []views.Option
	for _, c := range store.Countries() {
		if asean[c.Code] {
			first = append(first, views.Option{Value: c.Code, Label: p.Country(c.Code, c.Name)})
		} else {
			rest = append(rest, views.Option{Value: c.Code, Label: p.Country(c.Code, c.Name)})
		}
	}
	return []views.OptionGroup{{Label: p.T("accounts.options.asean"), Options: first}, {Label: p.T("accounts.options.other"), Options: rest}}
}

// industryOptionsIn lists the industries, named in the language of ctx.
func industryOptionsIn(ctx context.Context) []views.OptionGroup {
	var opts []views.Option
	for _, i := range store.Industries() {
		opts = append(opts, views.Option{Value: i.Code, Label: industryName(ctx, i.Code)})
	}
	return []views.OptionGroup{{Options: opts}}
}

// industryName is the name of an industry code (store.Industries) in the
// language of ctx: the catalogue's accounts.industry.CODE.
func industryName(ctx context.Context, code string) string {
	return i18n.From(ctx).T("accounts.industry." + code)
}

// genderOptionsIn lists the answers to the gender question, said in the
// language of ctx.
func genderOptionsIn(ctx context.Context) []views.OptionGroup {
	var opts []views.Option
	for _, g := range store.Genders() {
		opts = append(opts, views.Option{Value: g.Code, Label: genderName(ctx, g.Code)})
	}
	return []views.OptionGroup{{Options: opts}}
}

// genderName is the label of a gender code (store.Genders) in the language
// of ctx: the catalogue's accounts.gender.CODE.
func genderName(ctx context.Context, code string) string {
	return i18n.From(ctx).T("accounts.gender." + code)
}

// GET /email/revert/{token}
//
// The link mailed to the old address. Following it changes nothing: mail
// scanners open links; the button on the page does it.
func (a *App) handleEmailRevertForm(w http.ResponseWriter, r *http.Request) error {
	token := r.PathValue("token")
	if err := a.revertOpen(r, token); err != nil {
		return err
	}
	return a.render(w, r, http.StatusOK, views.EmailRevert(a.page(r, tr(r, "accounts.revert.title")), "/email/revert/"+token))
}

// POST /email/revert/{token}
func (a *App) handleEmailRevert(w http.ResponseWriter, r *http.Request) error {
	token := r.PathValue("token")
	if err := a.revertOpen(r, token); err != nil {
		return err
	}
	u, err := a.store.RevertEmail(r.Context(), token)
	switch {
	case errors.Is(err, store.ErrTokenInvalid):
		return errRevertGone
	case errors.Is(err, store.ErrConflict):
		return &Error{Status: http.StatusConflict, Key: "error.revert_taken", Cause: err}
	case err != nil:
		return err
	}
	a.log.Info("email change undone", "user_id", u.ID)
	if err := a.sessions.RenewToken(r.Context()); err != nil {
		return err
	}
	a.sessions.Remove(r.Context(), "uid")
	a.redirect(w, r, "/password/forgot", tr(r, "accounts.revert.flash"))
	return nil
}

// revertOpen answers with a clear page unless token is a live revert link.
func (a *App) revertOpen(r *http.Request, token string) error {
	if validToken(token) {
		ok, err := a.store.EmailRevertValid(r.Context(), token)
		if err != nil || ok {
			return err
		}
	}
	return errRevertGone
}
