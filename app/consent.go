package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"slices"
	"time"

	"kelas/i18n"
	"kelas/store"
	"kelas/views"
)

// Cookie consent (SPEC §4.5). One necessary cookie holds a random consent
// id; every choice is an append-only consent record in the store, and the
// newest record of the id is the current choice while it matches the
// current banner and policy revision and is younger than six months.

const (
	consentCookie = "kelas_consent"
	// consentReask is how long a choice stands before the banner asks again.
	consentReaskMonths = 6
	// gpcLastUpdate is when kelas's GPC support last changed
	// (/.well-known/gpc.json).
	gpcLastUpdate = "2026-11-28"
)

// OptionalCookie is a cookie kelas sets only with consent to its category.
type OptionalCookie struct {
	Name     string
	Category string // store.CookiePreferences, CookieStatistics or CookieMarketing
	// Purpose is the catalogue key of what it is for (text that is not a
	// key shows as it is).
	Purpose string
	MaxAge  time.Duration
}

// optionalCookies is the registry of every non-necessary cookie kelas may
// set. kelas sets none today. A feature that adds one lists it here: the
// cookies page then describes it, setOptionalCookie sets it only with
// consent to its category, and the server deletes it from any browser whose
// choice no longer allows that category.
func optionalCookies() []OptionalCookie { return nil }

// consentKit is the App's consent machinery.
type consentKit struct {
	// bannerText is the exact banner wording hashed into the revision.
	bannerText string
	cookies    []OptionalCookie
	// records throttles new consent records per client address, so a
	// client that drops cookies cannot fill the table.
	records *limiter
}

func newConsentKit(clock func() time.Time) *consentKit {
	return &consentKit{bannerText: views.BannerText(), cookies: optionalCookies(),
		records: newLimiter(600, time.Hour, clock)}
}

// Consent is the visitor's cookie choice for one request.
type Consent struct {
	// ID is the consent cookie's value when it names recorded choices.
	ID string
	// Record is the newest record of ID.
	Record store.ConsentRecord
	// Valid: Record is for the current revision and younger than six
	// months, so it is the choice in force. Otherwise the banner asks.
	Valid bool
	// GPC: a Global Privacy Control signal decided this request (recorded,
	// or honoured without a record when the address is throttled).
	GPC bool

	loaded   bool
	revision string
	policy   string
}

// Allows reports whether the visitor's choice allows cookies (and embeds)
// of category. Without a valid choice only necessary cookies are allowed.
func (c Consent) Allows(category string) bool {
	if category == store.CookieNecessary {
		return true
	}
	return c.Valid && c.Record.Allows(category)
}

type consentKey struct{}

// consentFor is the visitor's choice as loaded by withConsent.
func consentFor(ctx context.Context) Consent {
	c, _ := ctx.Value(consentKey{}).(Consent)
	return c
}

// consentRevision is the hash of the exact banner text and the policy
// version: a change to either makes every earlier choice stale.
func consentRevision(bannerText, policyVersion string) string {
	h := sha256.New()
	h.Write([]byte(bannerText))
	h.Write([]byte{0})
	h.Write([]byte(policyVersion))
	return hex.EncodeToString(h.Sum(nil))
}

// parseConsentCookie accepts only the exact shape of a consent id; a forged,
// oversized or malformed value counts as no choice.
func parseConsentCookie(v string) (string, bool) {
	if len(v) != 26 {
		return "", false
	}
	// Checked byte by byte: the base32 decoder behind store.ValidID skips
	// line breaks, so it alone would accept "2222\n2222...".
	for i := 0; i < len(v); i++ {
		if c := v[i]; !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return "", false
		}
	}
	if !store.ValidID(v) {
		return "", false
	}
	return v, true
}

func (a *App) consentCookieName() string {
	if a.cfg.Secure() {
		return "__Host-" + consentCookie
	}
	return consentCookie
}

// withConsent loads the visitor's choice into the request context, records
// a GPC signal as "reject all" when there is no choice, and deletes optional
// cookies whose category the choice does not allow. It runs inside the
// session middleware, so a choice made while logged in names the person.
func (a *App) withConsent(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := a.loadConsent(w, r)
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		a.expireOptionalCookies(w, r, c.Allows)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), consentKey{}, c)))
	})
}

func (a *App) loadConsent(w http.ResponseWriter, r *http.Request) (Consent, error) {
	ctx := r.Context()
	c := Consent{loaded: true, policy: "none"}
	if p, err := a.store.CurrentPolicy(ctx); err == nil {
		c.policy = p.Version
	} else if !errors.Is(err, store.ErrNotFound) {
		return c, err
	}
	c.revision = consentRevision(a.consent.bannerText, c.policy)
	if ck, err := r.Cookie(a.consentCookieName()); err == nil {
		if id, ok := parseConsentCookie(ck.Value); ok {
			rec, err := a.store.LatestConsent(ctx, id)
			switch {
			case errors.Is(err, store.ErrNotFound):
				// A well-formed id nobody recorded: as if there were none.
			case err != nil:
				return c, err
			default:
				c.ID, c.Record = id, rec
				c.Valid = rec.Revision == c.revision && !rec.CreatedAt.Before(a.clock().AddDate(0, -consentReaskMonths, 0))
			}
		}
	}
	if c.Valid || r.Header.Get("Sec-GPC") != "1" {
		return c, nil
	}
	// GPC with no choice in force: "reject all", recorded once per consent
	// id and revision (the cookie makes later requests find this record).
	c.GPC = true
	key := ClientIP(ctx).String()
	if blocked, _ := a.consent.records.blocked(key); blocked {
		return c, nil
	}
	a.consent.records.hit(key)
	rec, err := a.recordConsent(w, r, c, store.ConsentRecord{How: store.ConsentGPC})
	if err != nil {
		return c, err
	}
	c.ID, c.Record, c.Valid = rec.ConsentID, rec, true
	return c, nil
}

// recordConsent appends rec for the visitor (reusing their consent id when
// it has records), sets the consent cookie and deletes optional cookies the
// new choice does not allow.
func (a *App) recordConsent(w http.ResponseWriter, r *http.Request, c Consent, rec store.ConsentRecord) (store.ConsentRecord, error) {
	rec.ConsentID = c.ID
	if rec.ConsentID == "" {
		rec.ConsentID = store.NewID()
	}
	rec.PolicyVersion, rec.Revision = c.policy, c.revision
	if u := currentUser(r.Context()); u != nil {
		rec.UserID = u.ID
	}
	rec, err := a.store.RecordConsent(r.Context(), rec)
	if err != nil {
		return rec, err
	}
	a.log.Info("consent recorded", "request_id", requestID(r.Context()), "consent_record", rec.ID, "how", rec.How)
	http.SetCookie(w, &http.Cookie{Name: a.consentCookieName(), Value: rec.ConsentID, Path: "/",
		MaxAge: int((184 * 24 * time.Hour).Seconds()), HttpOnly: true, Secure: a.cfg.Secure(), SameSite: http.SameSiteLaxMode})
	a.expireOptionalCookies(w, r, rec.Allows)
	return rec, nil
}

// expireOptionalCookies deletes, in the browser, every registered optional
// cookie the request carries whose category allowed() refuses.
func (a *App) expireOptionalCookies(w http.ResponseWriter, r *http.Request, allowed func(string) bool) {
	for _, oc := range a.consent.cookies {
		if allowed(oc.Category) {
			continue
		}
		if _, err := r.Cookie(oc.Name); err != nil {
			continue
		}
		http.SetCookie(w, &http.Cookie{Name: oc.Name, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
			Secure: a.cfg.Secure(), SameSite: http.SameSiteLaxMode})
	}
}

// setOptionalCookie sets a registered optional cookie when the visitor's
// choice allows its category, and reports whether it did. Features never
// call http.SetCookie for optional cookies themselves.
func (a *App) setOptionalCookie(w http.ResponseWriter, r *http.Request, name, value string) bool {
	i := slices.IndexFunc(a.consent.cookies, func(oc OptionalCookie) bool { return oc.Name == name })
	if i < 0 {
		a.log.Error("optional cookie not registered", "cookie", name)
		return false
	}
	oc := a.consent.cookies[i]
	if !consentFor(r.Context()).Allows(oc.Category) {
		return false
	}
	http.SetCookie(w, &http.Cookie{Name: oc.Name, Value: value, Path: "/", MaxAge: int(oc.MaxAge.Seconds()),
		HttpOnly: true, Secure: a.cfg.Secure(), SameSite: http.SameSiteLaxMode})
	return true
}

// pageConsent is the layout's view of the choice. Error pages written by
// outer middleware have no consent loaded and show no banner.
func (a *App) pageConsent(r *http.Request) views.PageConsent {
	c := consentFor(r.Context())
	if !c.loaded {
		return views.PageConsent{}
	}
	ret := "/"
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		ret = r.URL.RequestURI()
		if len(ret) > 1024 {
			ret = r.URL.Path
		}
		ret = safeNext(ret)
	}
	return views.PageConsent{
		Ask:         !c.Valid && !c.GPC,
		GPCNotice:   c.GPC,
		Return:      ret,
		Preferences: c.Allows(store.CookiePreferences),
		Statistics:  c.Allows(store.CookieStatistics),
		Marketing:   c.Allows(store.CookieMarketing),
	}
}

// permitEmbeds lets the frames of the embeds the visitor's choice allows
// load, by adding their origins to this response's Content-Security-Policy.
// Handlers that render views.OptionalEmbed call it before rendering.
func (a *App) permitEmbeds(w http.ResponseWriter, r *http.Request, embeds ...views.Embed) {
	c := consentFor(r.Context())
	var origins []string
	for _, e := range embeds {
		if o := e.EmbedOrigin(); o != "" && c.Allows(e.EmbedCategory()) && !slices.Contains(origins, o) {
			origins = append(origins, o)
		}
	}
	if len(origins) == 0 {
		return
	}
	src := "frame-src"
	for _, o := range origins {
		src += " " + o
	}
	w.Header().Set("Content-Security-Policy", contentSecurityPolicy+"; "+src)
}

// cookieInfos describes every cookie kelas may set, for the cookies page,
// in the request's language.
func (a *App) cookieInfos(r *http.Request) []views.CookieInfo {
	session := "kelas_session"
	if a.cfg.Secure() {
		session = "__Host-kelas_session"
	}
	out := []views.CookieInfo{
		{Name: session, Category: store.CookieNecessary, Lifetime: tr(r, "consent.cookie.session.lifetime"),
			Purpose: tr(r, "consent.cookie.session.purpose")},
		{Name: a.consentCookieName(), Category: store.CookieNecessary, Lifetime: tr(r, "consent.cookie.consent.lifetime"),
			Purpose: tr(r, "consent.cookie.consent.purpose")},
		{Name: langCookie, Category: store.CookieNecessary, Lifetime: tr(r, "consent.cookie.lang.lifetime"),
			Purpose: tr(r, "consent.cookie.lang.purpose")},
	}
	for _, oc := range a.consent.cookies {
		purpose := oc.Purpose
		if i18n.Get(i18n.Default).Has(purpose) {
			purpose = tr(r, purpose)
		}
		out = append(out, views.CookieInfo{Name: oc.Name, Category: oc.Category, Purpose: purpose,
			Lifetime: oc.MaxAge.Round(time.Hour).String()})
	}
	return out
}

// cookieFields are the fields POST /cookies accepts.
var cookieFields = []string{store.CookiePreferences, store.CookieStatistics, store.CookieMarketing, "choice", "return", "from"}

func (a *App) cookiesForm(r *http.Request, c Consent, ret string) views.CookiesForm {
	f := views.CookiesForm{Return: ret, Cookies: a.cookieInfos(r), ConsentID: c.ID}
	if c.Valid {
		f.Current = &views.CookieChoice{At: c.Record.CreatedAt, How: c.Record.How, Preferences: c.Record.Preferences,
			Statistics: c.Record.Statistics, Marketing: c.Record.Marketing}
		f.Preferences, f.Statistics, f.Marketing = c.Record.Preferences, c.Record.Statistics, c.Record.Marketing
	}
	return f
}

// GET /cookies
func (a *App) handleCookies(w http.ResponseWriter, r *http.Request) error {
	ret := "/cookies"
	if v := r.URL.Query().Get("return"); v != "" {
		ret = safeNext(v)
	}
	vm := a.cookiesForm(r, consentFor(r.Context()), ret)
	return a.render(w, r, http.StatusOK, views.Cookies(a.page(r, tr(r, "consent.title")), vm))
}

// POST /cookies
//
// Fields: preferences, statistics, marketing as "on", or choice=accept_all
// or reject_all (which wins over the boxes, as the settings page sends both);
// return, a local path to go back to; from, which form sent it. Anything
// else, or a post that says nothing, is refused with 422 and stores nothing.
func (a *App) handleCookiesSave(w http.ResponseWriter, r *http.Request) error {
	f, err := parseForm(r)
	if err != nil {
		return err
	}
	for k := range r.PostForm {
		if !slices.Contains(cookieFields, k) {
			f.fail("_form", tr(r, "consent.error.unexpected"))
		}
	}
	var rec store.ConsentRecord
	rec.Preferences = f.checkbox(store.CookiePreferences)
	rec.Statistics = f.checkbox(store.CookieStatistics)
	rec.Marketing = f.checkbox(store.CookieMarketing)
	sentBoxes := f.raw(store.CookiePreferences) != "" || f.raw(store.CookieStatistics) != "" || f.raw(store.CookieMarketing) != ""
	choice := f.raw("choice")
	switch choice {
	case "":
	case "accept_all":
		rec.Preferences, rec.Statistics, rec.Marketing = true, true, true
	case "reject_all":
		rec.Preferences, rec.Statistics, rec.Marketing = false, false, false
	default:
		f.fail("choice", tr(r, "consent.error.choice"))
	}
	from := f.raw("from")
	switch from {
	case "":
		rec.How = store.ConsentSettings
		if choice != "" {
			rec.How = store.ConsentBanner
		}
	case store.ConsentBanner, store.ConsentSettings, store.ConsentEmbed:
		rec.How = from
	default:
		f.fail("_form", tr(r, "consent.error.unexpected"))
	}
	rawReturn := f.raw("return")
	ret := safeNext(rawReturn)
	// A post must say something: a choice, a category, or come from the
	// settings page, where leaving every box empty means "none".
	if choice == "" && !sentBoxes && from != store.ConsentSettings {
		f.fail("_form", tr(r, "consent.error.nothing"))
	}
	if !f.Valid() {
		c := consentFor(r.Context())
		vm := a.cookiesForm(r, c, ret)
		vm.Errors = f.Errors
		return a.render(w, r, http.StatusUnprocessableEntity, views.Cookies(a.page(r, tr(r, "consent.title")), vm))
	}
	key := clientNetwork(ClientIP(r.Context()))
	if blocked, wait := a.consent.records.blocked(key); blocked {
		return tooMany(wait)
	}
	a.consent.records.hit(key)
	c := consentFor(r.Context())
	if _, err := a.recordConsent(w, r, c, rec); err != nil {
		return err
	}
	flash := ""
	if rec.How == store.ConsentSettings {
		flash = tr(r, "consent.flash.saved")
	}
	a.redirect(w, r, ret, flash)
	return nil
}

// GET /.well-known/gpc.json
//
// The Global Privacy Control support statement: kelas honours the signal.
func (a *App) handleGPC(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	w.Write([]byte(`{"gpc": true, "lastUpdate": "` + gpcLastUpdate + `"}` + "\n"))
	return nil
}

// withVisitor is what every page passes through for this feature: its view
// is counted for the statistics (outside, so it sees the final status), and
// the visitor's cookie choice is loaded.
func (a *App) withVisitor(next http.Handler) http.Handler {
	return a.countViews(a.withConsent(next))
}
