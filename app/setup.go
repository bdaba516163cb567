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
func (a *App) handleSetupForm(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	if !a.setupOpen(w, r, token) {
		return
	}
	a.render(w, r, http.StatusOK, views.Setup(a.page(r, "Set up kelas"), views.SetupForm{Action: "/setup/" + token}))
}

// POST /setup/{token}
func (a *App) handleSetup(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	f, err := parseForm(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if !a.setupOpen(w, r, token) {
		return
	}
	vm := views.SetupForm{
		Action:    "/setup/" + token,
		FirstName: f.text("first_name", "First name", 1, 100),
		Surname:   f.text("surname", "Surname", 1, 100),
		Email:     f.email("email"),
	}
	password := f.newPassword("password", true, vm.FirstName, vm.Surname, vm.Email)
	if !f.Valid() {
		vm.Errors = f.Errors
		a.render(w, r, http.StatusUnprocessableEntity, views.Setup(a.page(r, "Set up kelas"), vm))
		return
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), a.cfg.BcryptCost)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	u, err := a.store.CompleteSetup(r.Context(), token, store.NewUser{
		Email: vm.Email, FirstName: vm.FirstName, Surname: vm.Surname, PasswordHash: string(hash),
		Role: store.RoleOperator, DPO: true, Verified: true,
	})
	switch {
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrConflict):
		a.setupGone(w, r)
		return
	case err != nil:
		a.fail(w, r, err)
		return
	}
	a.log.Info("first operator created", "user_id", u.ID)
	a.audit(r.Context(), u.ID, store.AuditSetupComplete, "user", u.ID, map[string]any{"role": string(u.Role)})
	if err := a.logIn(r.Context(), u); err != nil {
		a.fail(w, r, err)
		return
	}
	a.redirect(w, r, "/profile/2fa", "Your operator account is ready and this setup link no longer works. "+
		"Set up two-factor authentication now: it protects everyone whose data this account can see.")
}

// setupOpen answers with a clear page unless token is a live setup link.
func (a *App) setupOpen(w http.ResponseWriter, r *http.Request, token string) bool {
	ok, err := a.store.SetupTokenValid(r.Context(), token)
	if err != nil {
		a.fail(w, r, err)
		return false
	}
	if !ok {
		a.setupGone(w, r)
	}
	return ok
}

func (a *App) setupGone(w http.ResponseWriter, r *http.Request) {
	a.render(w, r, http.StatusNotFound, views.Error(a.page(r, "Setup link not valid"), views.ErrorPage{
		Status:  http.StatusNotFound,
		Heading: "This setup link is not valid",
		Message: "It has been used, has expired, or a newer one was printed. Restart kelas to print a new link if no operator exists yet, or use `kelas admin create`.",
	}))
}
