package app

import (
	"errors"
	"net/http"
	"time"

	"golang.org/x/crypto/bcrypt"

	"kelas/store"
	"kelas/views"
)

// setupTTL is how long a printed first-run link stays valid.
const setupTTL = 24 * time.Hour

// GET /setup/{token}
func (a *App) handleSetupForm(w http.ResponseWriter, r *http.Request) error {
	token := r.PathValue("token")
	if err := a.setupOpen(r, token); err != nil {
		return err
	}
	st, err := a.store.Settings(r.Context())
	if err != nil {
		return err
	}
	vm := views.SetupForm{Action: "/setup/" + token, Settings: map[string]string{}}
	for _, k := range setupSettingKeys {
		vm.Settings[k] = st.Get(k)
	}
	return a.render(w, r, http.StatusOK, views.Setup(a.page(r, tr(r, "setup.page_title")), vm))
}

// setupSettingKeys are the settings the setup page asks for: the site's
// name and the controller's identity, which the header and the privacy
// notice need from the first day. The rest waits for /console/settings.
var setupSettingKeys = []string{store.SettingSiteName, store.SettingControllerName, store.SettingControllerAddress,
	store.SettingControllerEmail}

// POST /setup/{token}
func (a *App) handleSetup(w http.ResponseWriter, r *http.Request) error {
	token := r.PathValue("token")
	f, err := parseForm(r)
	if err != nil {
		return err
	}
	if err := a.setupOpen(r, token); err != nil {
		return err
	}
	vm := views.SetupForm{
		Action:    "/setup/" + token,
		FirstName: f.text("first_name", "form.field.first_name", 1, 100),
		Surname:   f.text("surname", "form.field.surname", 1, 100),
		Email:     f.email("email"),
		Settings:  map[string]string{},
	}
	password := f.newPassword("password", true, vm.FirstName, vm.Surname, vm.Email)
	current, err := a.store.Settings(r.Context())
	if err != nil {
		return err
	}
	settings := map[string]string{}
	for _, k := range setupSettingKeys {
		if _, sent := r.PostForm[k]; !sent {
			// A form without the field (a script written for the setup
			// page before it asked) leaves the setting as it is.
			vm.Settings[k] = current.Get(k)
			continue
		}
		raw := f.raw(k)
		vm.Settings[k] = raw
		v, problem := ValidateSetting(k, raw)
		if problem != nil {
			f.fail(k, tr(r, problem.Key, problem.Args...))
			continue
		}
		settings[k] = v
	}
	vm.Demo = f.checkbox("demo")
	if !f.Valid() {
		vm.Errors = f.Errors
		return a.render(w, r, http.StatusUnprocessableEntity, views.Setup(a.page(r, tr(r, "setup.page_title")), vm))
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), a.cfg.BcryptCost)
	if err != nil {
		return err
	}
	// The page says that creating the account accepts the policy in
	// force, as registration does for learners.
	cur, err := a.store.CurrentPolicy(r.Context())
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	u, err := a.store.CompleteSetupWithSettings(r.Context(), token, store.NewUser{
		Email: vm.Email, FirstName: vm.FirstName, Surname: vm.Surname, PasswordHash: string(hash),
		Role: store.RoleOperator, DPO: true, Verified: true, AcceptedPolicy: cur.Version,
	}, settings)
	switch {
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrConflict):
		return errSetupGone
	case err != nil:
		return err
	}
	a.log.Info("first operator created", "user_id", u.ID)
	a.audit(r.Context(), u.ID, store.AuditSetupComplete, "user", u.ID, map[string]any{"role": string(u.Role)})
	if err := a.logIn(r.Context(), u); err != nil {
		return err
	}
	flash := tr(r, "setup.flash")
	if vm.Demo {
		// The same sample trainings as `kelas serve --demo`. The account
		// stands either way: a failure here is told, not fatal.
		if err := a.seedDemo(r.Context()); err != nil {
			a.log.Error("demo trainings at setup", "err", err)
			flash = tr(r, "setup.flash_demo_failed")
		}
	}
	a.redirect(w, r, "/profile/2fa", flash)
	return nil
}

// setupOpen answers with a clear page unless token is a live setup link.
func (a *App) setupOpen(r *http.Request, token string) error {
	ok, err := a.store.SetupTokenValid(r.Context(), token)
	if err == nil && !ok {
		err = errSetupGone
	}
	return err
}

// errSetupGone answers a setup link that does not work (any more).
var errSetupGone = &Error{Status: http.StatusNotFound, Key: "error.setup_gone"}
