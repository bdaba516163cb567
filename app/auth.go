package app

import (
	"context"
	"errors"
	"net/http"

	"kelas/store"
)

// withSession loads the scs session and the signed-in person for pages.
// Static files and the health check skip it, so they never touch the
// session table.
func (a *App) withSession(next http.Handler) http.Handler {
	return a.sessions.LoadAndSave(a.loadUser(next))
}

// loadUser puts the signed-in person in the request context. A session whose
// account is gone, disabled, or whose epoch was bumped (password change,
// privilege change, "log out everywhere") is cleared: that is how every
// session of a person ends at once.
func (a *App) loadUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := context.WithValue(r.Context(), ctxSession, true)
		if uid := a.sessions.GetString(ctx, "uid"); uid != "" {
			u, err := a.store.User(ctx, uid)
			switch {
			case err == nil && u.Status == "active" && u.SessionEpoch == a.sessions.GetInt64(ctx, "epoch"):
				if needsTwoFactorSetup(&u) && !twoFactorSetupAllowed(r.URL.Path) {
					// Nothing with other people's data until the second
					// factor is set up.
					http.Redirect(w, r, "/profile/2fa", http.StatusSeeOther)
					return
				}
				ctx = context.WithValue(ctx, ctxUser, &u)
				ctx = a.personalise(ctx, &u)
				if u.Role == store.RoleMemberStaff || u.Role == store.RoleMemberAdmin {
					st, err := a.store.StaffOf(ctx, u.ID)
					if err != nil && !errors.Is(err, store.ErrNotFound) {
						a.writeError(w, r, err)
						return
					}
					// Staff of a deactivated Member keep their own account
					// and nothing of the Member's.
					if err == nil && st.MemberActive {
						ctx = context.WithValue(ctx, ctxStaff, &st)
					}
				}
			case err == nil || errors.Is(err, store.ErrNotFound):
				if err := a.sessions.RenewToken(ctx); err != nil {
					a.writeError(w, r, err)
					return
				}
				a.sessions.Remove(ctx, "uid")
				a.sessions.Remove(ctx, "epoch")
			default:
				a.writeError(w, r, err)
				return
			}
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// currentUser is the signed-in person, or nil.
func currentUser(ctx context.Context) *store.User {
	u, _ := ctx.Value(ctxUser).(*store.User)
	return u
}

// sessionLoaded reports whether the session middleware ran for this request
// (error pages from outer middleware render without one).
func sessionLoaded(ctx context.Context) bool {
	ok, _ := ctx.Value(ctxSession).(bool)
	return ok
}

// logIn starts an authenticated session with a new token, so a token fixed
// before login is worthless afterwards. Callers also use it after any change
// to the person's privileges.
func (a *App) logIn(ctx context.Context, u store.User) error {
	if err := a.sessions.RenewToken(ctx); err != nil {
		return err
	}
	a.sessions.Put(ctx, "uid", u.ID)
	a.sessions.Put(ctx, "epoch", u.SessionEpoch)
	// A password confirmed by whoever used this browser before does not
	// carry over to a new login.
	a.sessions.Remove(ctx, "reauth_at")
	a.sessions.Remove(ctx, "mfa_uid")
	return nil
}
