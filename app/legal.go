package app

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"kelas/store"
	"kelas/views"
)

// The legal disclosure register: what the privacy officer disclosed about
// a person on legal request (subpoena, court order, authority request).
// Each entry is also in the person's disclosure log, shown to them unless a
// legal bar forbids it, and then from the day the bar ends.

// legalRegisterLimit bounds the register's page.
const legalRegisterLimit = 500

// GET /console/disclosures/legal
func (a *App) handleLegalRegister(w http.ResponseWriter, r *http.Request) error {
	x := actorFrom(r.Context())
	// The register names people and what was given out about them.
	if err := a.requireUndertaking(r, x); err != nil {
		return err
	}
	entries, err := a.store.LegalDisclosures(r.Context(), legalRegisterLimit)
	if err != nil {
		return err
	}
	v := views.LegalRegister{Nav: a.consoleNav(r.Context(), x), Entries: entries, Now: a.clock(), Limit: legalRegisterLimit}
	return a.render(w, r, http.StatusOK, views.ConsoleLegalRegister(a.page(r, tr(r, "legal.title")), v))
}

// GET /console/disclosures/legal/new
func (a *App) handleNewLegalDisclosure(w http.ResponseWriter, r *http.Request) error {
	x := actorFrom(r.Context())
	f := views.LegalForm{Nav: a.consoleNav(r.Context(), x), DisclosedOn: a.clock().UTC().Format(time.DateOnly),
		Person: strings.TrimSpace(r.URL.Query().Get("person")), Errors: views.Errors{}}
	if len(f.Person) > 254 {
		f.Person = ""
	}
	return a.render(w, r, http.StatusOK, views.ConsoleNewLegalDisclosure(a.page(r, tr(r, "legal.new.title")), f))
}

// legalText reads a free text of the register: valid UTF-8, trimmed, no
// control characters (line breaks only where multiline), at most max
// characters; empty is refused with the message emptyKey unless that is
// "". Messages are the catalogue's, at the field.
func legalText(r *http.Request, f *form, name string, max int, emptyKey string, multiline bool) string {
	v := f.raw(name)
	if _, sent := f.Errors[name]; sent {
		return ""
	}
	if !utf8.ValidString(v) {
		f.fail(name, tr(r, "legal.error.characters"))
		return ""
	}
	v = strings.TrimSpace(strings.ReplaceAll(v, "\r\n", "\n"))
	for _, c := range v {
		if (unicode.IsControl(c) && !(multiline && (c == '\n' || c == '\t'))) || c == '\u2028' || c == '\u2029' {
			f.fail(name, tr(r, "legal.error.characters"))
			return ""
		}
	}
	switch n := utf8.RuneCountInString(v); {
	case n == 0 && emptyKey != "":
		f.fail(name, tr(r, emptyKey))
	case n > max:
		f.fail(name, tr(r, "legal.error.too_long", "max", strconv.Itoa(max)))
	}
	return v
}

// POST /console/disclosures/legal
func (a *App) handleCreateLegalDisclosure(w http.ResponseWriter, r *http.Request) error {
	x := actorFrom(r.Context())
	ctx := r.Context()
	f, err := parseForm(r)
	if err != nil {
		return err
	}
	if err := a.requireUndertaking(r, x); err != nil {
		return err
	}
	v := views.LegalForm{Nav: a.consoleNav(ctx, x),
		Person:      legalText(r, f, "person", 254, "legal.error.required.person", false),
		Requester:   legalText(r, f, "requester", 300, "legal.error.required.requester", false),
		Basis:       f.raw("basis"),
		Disclosed:   legalText(r, f, "disclosed", 4000, "legal.error.required.disclosed", true),
		Reference:   legalText(r, f, "reference", 200, "", false),
		DisclosedOn: strings.TrimSpace(f.raw("disclosed_on")),
		BarUntil:    strings.TrimSpace(f.raw("bar_until"))}
	if !store.ValidLegalBasis(v.Basis) {
		f.fail("basis", tr(r, "legal.error.basis"))
	}
	today := a.clock().UTC().Truncate(24 * time.Hour)
	on, err := time.Parse(time.DateOnly, v.DisclosedOn)
	switch {
	case err != nil:
		f.fail("disclosed_on", tr(r, "legal.error.date"))
	case on.After(today):
		f.fail("disclosed_on", tr(r, "legal.error.date_future"))
	}
	var bar time.Time
	if v.BarUntil != "" {
		bar, err = time.Parse(time.DateOnly, v.BarUntil)
		switch {
		case err != nil:
			f.fail("bar_until", tr(r, "legal.error.bar_date"))
		case !bar.After(today):
			f.fail("bar_until", tr(r, "legal.error.bar_past"))
		case f.Errors["disclosed_on"] == "" && !bar.After(on):
			f.fail("bar_until", tr(r, "legal.error.bar_before"))
		}
	}
	// The person: an account's email address (found through its blind
	// index) or its id.
	var person store.User
	if f.Errors["person"] == "" {
		switch {
		case strings.Contains(v.Person, "@"):
			person, err = a.store.UserByEmail(ctx, v.Person)
		case store.ValidID(v.Person):
			person, err = a.store.User(ctx, v.Person)
		default:
			err = store.ErrNotFound
		}
		if errors.Is(err, store.ErrNotFound) {
			f.fail("person", tr(r, "legal.error.person"))
		} else if err != nil {
			return err
		}
	}
	if !f.Valid() {
		v.Errors = f.Errors
		return a.render(w, r, http.StatusUnprocessableEntity, views.ConsoleNewLegalDisclosure(a.page(r, tr(r, "legal.new.title")), v))
	}
	summary := tr(r, "legal.log.summary", "requester", v.Requester, "basis", views.LegalBasisLabel(ctx, v.Basis), "disclosed", v.Disclosed)
	if v.Reference != "" {
		summary = tr(r, "legal.log.summary_ref", "requester", v.Requester, "basis", views.LegalBasisLabel(ctx, v.Basis),
			"reference", v.Reference, "disclosed", v.Disclosed)
	}
	l, err := a.store.RecordLegalDisclosure(ctx, store.NewLegalDisclosure{UserID: person.ID, Basis: v.Basis, Requester: v.Requester,
		Disclosed: v.Disclosed, Reference: v.Reference, DisclosedOn: on, BarUntil: bar, RecordedBy: x.user.ID,
		RecorderRole: string(x.user.Role), Summary: summary})
	if errors.Is(err, store.ErrNotFound) {
		// Erased between the look-up and now.
		v.Errors = views.Errors{"person": tr(r, "legal.error.person")}
		return a.render(w, r, http.StatusUnprocessableEntity, views.ConsoleNewLegalDisclosure(a.page(r, tr(r, "legal.new.title")), v))
	}
	if err != nil {
		return err
	}
	details := map[string]any{"entry": l.ID, "basis": l.Basis, "disclosed_on": v.DisclosedOn, "barred": !bar.IsZero()}
	if !bar.IsZero() {
		details["bar_until"] = v.BarUntil
	}
	a.auditReq(r, "disclosure.legal.record", "user", person.ID, details)
	a.redirect(w, r, "/console/disclosures/legal", tr(r, "legal.flash.recorded"))
	return nil
}
