package app

import (
	"context"
	"net/http"
	"time"

	"kelas/i18n"
	"kelas/store"
)

// langCookie remembers a language chosen with the switcher. It is set only
// after that explicit click (a switcher link carries remember=1), never
// from Accept-Language or a shared ?lang= link, and is listed on /cookies
// as strictly necessary for the feature asked for.
const langCookie = "kelas_lang"

// localise picks the language of the answer and puts its printer in the
// request context: ?lang= on the URL, else the language chosen with the
// switcher (its cookie), else Accept-Language. A signed-in person's saved
// language takes the place of the last two (loadUser).
func (a *App) localise(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := a.siteSettings(r.Context())
		code, chosen := a.requestLanguage(r, st.Get(store.SettingDefaultLanguage))
		ctx := context.WithValue(r.Context(), ctxLangChosen, chosen)
		if chosen && r.URL.Query().Get("remember") == "1" && r.Method == http.MethodGet {
			http.SetCookie(w, &http.Cookie{Name: langCookie, Value: code, Path: "/", MaxAge: 365 * 24 * 3600,
				HttpOnly: true, Secure: a.cfg.Secure(), SameSite: http.SameSiteLaxMode})
		}
		ctx = i18n.With(ctx, i18n.NewPrinter(code, a.zone(st.Get(store.SettingDefaultTimezone)), st.Get(store.SettingSiteName)))
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// requestLanguage is the language asked for by the request itself, and
// whether it came from ?lang= (which outranks a saved preference); the
// site's default language when nothing the request says matches.
func (a *App) requestLanguage(r *http.Request, siteDefault string) (code string, fromURL bool) {
	if q := r.URL.Query().Get("lang"); q != "" && a.languageAllowed(q) {
		return q, true
	}
	if c, err := r.Cookie(langCookie); err == nil && a.languageAllowed(c.Value) {
		return c.Value, false
	}
	if al := r.Header.Get("Accept-Language"); al != "" {
		if m, ok := i18n.MatchOK(al); ok {
			return m, false
		}
	}
	if i18n.Supported(siteDefault) {
		return siteDefault, false
	}
	return i18n.Default, false
}

func (a *App) languageAllowed(code string) bool {
	return i18n.Supported(code) || a.cfg.PseudoLocale && code == i18n.Pseudo
}

// zone is the time zone named name, loaded once; UTC for a name that
// does not load.
func (a *App) zone(name string) *time.Location {
	if name == "" || name == "UTC" {
		return time.UTC
	}
	if z, ok := a.zones.Load(name); ok {
		return z.(*time.Location)
	}
	z, err := time.LoadLocation(name)
	if err != nil {
		return time.UTC
	}
	a.zones.Store(name, z)
	return z
}

// personalise switches the request's printer to the signed-in person's
// saved language (unless the URL asks for another) and time zone.
func (a *App) personalise(ctx context.Context, u *store.User) context.Context {
	p := i18n.From(ctx)
	code := p.Code
	if fromURL, _ := ctx.Value(ctxLangChosen).(bool); !fromURL && i18n.Supported(u.Language) {
		code = u.Language
	}
	zone := userZone(u)
	if zone == nil {
		zone = p.Zone
	}
	return i18n.With(ctx, i18n.NewPrinter(code, zone, p.Site))
}

// userZone is the person's time zone, nil (the site's zone) when they
// have none or it is no longer accepted.
func userZone(u *store.User) *time.Location { return store.LoadZone(u.TimeZone) }

// tr is the message of key in the request's language.
func tr(r *http.Request, key string, args ...any) string {
	return i18n.From(r.Context()).T(key, args...)
}

// trn is the plural message of key for n in the request's language.
func trn(r *http.Request, key string, n int, args ...any) string {
	return i18n.From(r.Context()).N(key, n, args...)
}
