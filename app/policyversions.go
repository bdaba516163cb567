package app

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"kelas/i18n"
	"kelas/store"
	"kelas/views"
)

// Policy versions: drafts in the console, publication (with mail and a
// banner for material changes), acceptance at the next login, and the
// public history with diffs and downloadable copies.

const (
	// policyBodyBytes bounds the policy forms, which carry the whole text.
	policyBodyBytes = 256 << 10
	// maxPolicyChars bounds the Markdown text of one version.
	maxPolicyChars = 200_000
	// policyBannerDays is how long after its effective date the banner of
	// a material change stays up.
	policyBannerDays = 30
	// dateLayout is the format of <input type="date">.
	dateLayout = "2006-01-02"
)

// policyBannerState is the newest material version, kept in memory for the
// banner every page may show; it changes only when a version is published.
type policyBannerState struct {
	banner views.PolicyBanner
}

// refreshPolicyBanner reloads the banner's version from the store.
func (a *App) refreshPolicyBanner(ctx context.Context) error {
	latest, prev, ok, err := a.store.PolicyNotice(ctx)
	if err != nil {
		return err
	}
	if !ok {
		a.policyBanner.Store(nil)
		return nil
	}
	a.policyBanner.Store(&policyBannerState{banner: views.PolicyBanner{Version: latest.Version, Previous: prev,
		Summary: latest.Summary, EffectiveAt: latest.EffectiveAt}})
	return nil
}

// withPolicyBanner gives every page the banner of a material policy change,
// from its publication until policyBannerDays after it took effect. It
// reads memory only, never the store.
func (a *App) withPolicyBanner(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if st := a.policyBanner.Load(); st != nil {
			now := a.clock()
			if now.Before(st.banner.EffectiveAt.AddDate(0, 0, policyBannerDays)) {
				b := st.banner
				b.Upcoming = now.Before(b.EffectiveAt)
				r = r.WithContext(views.WithPolicyBanner(r.Context(), &b))
			}
		}
		next.ServeHTTP(w, r)
	})
}

// policyCheckpoint is where a person goes right after logging in: to next,
// or first to the acceptance page when a material version in force waits
// for their acceptance. On a store error it sends them to that page, which
// reports the error itself rather than letting them skip it.
func (a *App) policyCheckpoint(ctx context.Context, userID, next string) string {
	pa, err := a.store.PolicyToAccept(ctx, userID)
	if err != nil {
		a.log.Error("policy acceptance check", "user_id", userID, "err", err)
	}
	if err == nil && !pa.Needed {
		return next
	}
	return "/privacy/accept?next=" + url.QueryEscape(next)
}

// GET /console/policies
func (a *App) handlePolicies(w http.ResponseWriter, r *http.Request) error {
	x := actorFrom(r.Context())
	cur, err := a.store.CurrentPolicy(r.Context())
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	tomorrow := a.clock().UTC().AddDate(0, 0, 1).Format(dateLayout)
	return a.renderPolicies(w, r, x, http.StatusOK, views.PolicyForm{Action: "/console/policies", Version: tomorrow,
		EffectiveOn: tomorrow, BodyMD: cur.BodyMD, Material: true})
}

func (a *App) renderPolicies(w http.ResponseWriter, r *http.Request, x actor, status int, f views.PolicyForm) error {
	vs, err := a.store.PolicyVersions(r.Context())
	if err != nil {
		return err
	}
	ds, err := a.store.PolicyDrafts(r.Context())
	if err != nil {
		return err
	}
	return a.render(w, r, status, views.ConsolePolicies(a.page(r, tr(r, "policy.console.title")),
		views.PoliciesConsole{Nav: a.consoleNav(r.Context(), x), Versions: vs, Drafts: ds, Form: f}))
}

// readPolicyForm validates a draft. The checks that depend on the versions
// already published (label taken, effective date) run again at publication.
func (a *App) readPolicyForm(ctx context.Context, f *form, vm *views.PolicyForm) (store.PolicyDraft, error) {
	vm.Version = f.text("version", tr(f.r, "policy.field.version"), 1, 40)
	if f.Errors["version"] == "" && !store.ValidPolicyVersion(vm.Version) {
		f.fail("version", tr(f.r, "policy.error.version_chars"))
	}
	vm.Summary = f.multiline("policy_summary", tr(f.r, "policy.field.summary"), 1000)
	if vm.Summary == "" && f.Errors["policy_summary"] == "" {
		f.fail("policy_summary", tr(f.r, "policy.error.summary"))
	}
	vm.EffectiveOn = f.text("effective_on", tr(f.r, "policy.field.effective_on"), 1, 10)
	eff, err := time.Parse(dateLayout, vm.EffectiveOn)
	if err != nil && f.Errors["effective_on"] == "" {
		f.fail("effective_on", tr(f.r, "policy.error.effective_date"))
	}
	vm.Material = f.checkbox("material")
	vm.BodyMD = f.multiline("body_md", tr(f.r, "policy.field.body"), maxPolicyChars)
	if vm.BodyMD == "" && f.Errors["body_md"] == "" {
		f.fail("body_md", tr(f.r, "policy.error.body"))
	}
	d := store.PolicyDraft{Version: vm.Version, Summary: vm.Summary, BodyMD: vm.BodyMD, Material: vm.Material, EffectiveAt: eff}
	if f.Valid() {
		if err := a.checkPublishable(ctx, f, d); err != nil {
			return d, err
		}
	}
	return d, nil
}

// checkPublishable adds form errors for a draft that could not be published
// now: its label is taken, or its date is before today or not after the
// latest published version's (so versions never tie and "the version in
// force" is always one).
func (a *App) checkPublishable(ctx context.Context, f *form, d store.PolicyDraft) error {
	if _, err := a.store.PolicyVersionByLabel(ctx, d.Version); err == nil {
		f.fail("version", tr(f.r, "policy.error.version_taken", "version", d.Version))
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	today := a.clock().UTC().Truncate(24 * time.Hour)
	vs, err := a.store.PolicyVersions(ctx)
	if err != nil {
		return err
	}
	switch {
	case d.EffectiveAt.Before(today):
		f.fail("effective_on", tr(f.r, "policy.error.effective_past"))
	case d.EffectiveAt.After(today.AddDate(1, 0, 0)):
		f.fail("effective_on", tr(f.r, "policy.error.effective_year"))
	case len(vs) > 0 && !d.EffectiveAt.After(vs[0].EffectiveAt):
		f.fail("effective_on", tr(f.r, "policy.error.effective_after", "date", vs[0].EffectiveAt.Format(dateLayout),
			"version", vs[0].Version))
	}
	return nil
}

// POST /console/policies
func (a *App) handleCreatePolicyDraft(w http.ResponseWriter, r *http.Request) error {
	x := actorFrom(r.Context())
	f, err := parseForm(r)
	if err != nil {
		return err
	}
	vm := views.PolicyForm{Action: "/console/policies"}
	d, err := a.readPolicyForm(r.Context(), f, &vm)
	if err != nil {
		return err
	}
	if !f.Valid() {
		vm.Errors = f.Errors
		return a.renderPolicies(w, r, x, http.StatusUnprocessableEntity, vm)
	}
	d, err = a.store.SavePolicyDraft(r.Context(), x.user.ID, d)
	if err != nil {
		return err
	}
	a.redirect(w, r, "/console/policies/"+d.ID, tr(r, "policy.flash.draft_created"))
	return nil
}

// policyDraftIn loads the draft in the path (the route admits only the
// privacy officer).
func (a *App) policyDraftIn(r *http.Request) (store.PolicyDraft, actor, error) {
	d, err := load(r, "id", a.store.PolicyDraft)
	return d, actorFrom(r.Context()), err
}

func draftForm(d store.PolicyDraft) views.PolicyForm {
	return views.PolicyForm{Action: "/console/policies/" + d.ID, Version: d.Version, Summary: d.Summary, BodyMD: d.BodyMD,
		EffectiveOn: d.EffectiveAt.UTC().Format(dateLayout), Material: d.Material}
}

// renderDraft shows a draft with its preview and its diff to the text in force.
func (a *App) renderDraft(w http.ResponseWriter, r *http.Request, x actor, status int, d store.PolicyDraft, vf views.PolicyForm, publishErr string) error {
	html, err := a.renderMarkdown(d.BodyMD)
	if err != nil {
		return err
	}
	cur, err := a.store.CurrentPolicy(r.Context())
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	v := views.PolicyDraftConsole{Nav: a.consoleNav(r.Context(), x), Draft: d, Form: vf, PreviewHTML: html, PublishErr: publishErr,
		Diff: policyDiff(cur.Version, cur.BodyMD, tr(r, "policy.draft.diff_label", "version", d.Version), d.BodyMD)}
	return a.render(w, r, status, views.ConsolePolicyDraft(a.page(r, tr(r, "policy.draft.title", "version", d.Version)), v))
}

// GET /console/policies/{id}
func (a *App) handlePolicyDraft(w http.ResponseWriter, r *http.Request) error {
	d, x, err := a.policyDraftIn(r)
	if err != nil {
		return err
	}
	return a.renderDraft(w, r, x, http.StatusOK, d, draftForm(d), "")
}

// POST /console/policies/{id}
func (a *App) handleUpdatePolicyDraft(w http.ResponseWriter, r *http.Request) error {
	d, x, err := a.policyDraftIn(r)
	if err != nil {
		return err
	}
	f, err := parseForm(r)
	if err != nil {
		return err
	}
	vm := views.PolicyForm{Action: "/console/policies/" + d.ID}
	nd, err := a.readPolicyForm(r.Context(), f, &vm)
	if err != nil {
		return err
	}
	if !f.Valid() {
		vm.Errors = f.Errors
		return a.renderDraft(w, r, x, http.StatusUnprocessableEntity, d, vm, "")
	}
	nd.ID = d.ID
	if _, err := a.store.SavePolicyDraft(r.Context(), x.user.ID, nd); err != nil {
		return err
	}
	a.redirect(w, r, "/console/policies/"+d.ID, tr(r, "policy.flash.draft_saved"))
	return nil
}

// POST /console/policies/{id}/publish
//
// Publishes the draft. A material version is then mailed to every active
// account (restricted ones too: being told how one's data is handled is
// part of transparency, not processing for a purpose one can stop) and
// shown in the banner; each person accepts it at their next login.
func (a *App) handlePublishPolicy(w http.ResponseWriter, r *http.Request) error {
	d, x, err := a.policyDraftIn(r)
	if err != nil {
		return err
	}
	f := &form{r: r, Errors: views.Errors{}}
	if err := a.checkPublishable(r.Context(), f, d); err != nil {
		return err
	}
	if d.BodyMD == "" {
		f.fail("body_md", tr(r, "policy.error.empty"))
	}
	var v store.PolicyVersion
	if f.Valid() {
		var err error
		v, err = a.store.PublishPolicy(r.Context(), x.user.ID, d.ID)
		switch {
		case errors.Is(err, store.ErrPolicyUnchanged):
			f.fail("body_md", tr(r, "policy.error.unchanged"))
		case errors.Is(err, store.ErrConflict):
			f.fail("version", tr(r, "policy.error.version_taken", "version", d.Version))
		case err != nil:
			return err
		}
	}
	if !f.Valid() {
		var msgs []string
		for _, k := range []string{"version", "effective_on", "body_md"} {
			if m := f.Errors[k]; m != "" {
				msgs = append(msgs, m)
			}
		}
		return a.renderDraft(w, r, x, http.StatusUnprocessableEntity, d, draftForm(d), strings.Join(msgs, " "))
	}
	a.log.Info("policy published", "version", v.Version, "material", v.Material, "user_id", x.user.ID)
	if err := a.refreshPolicyBanner(r.Context()); err != nil {
		return err
	}
	if !v.Material {
		a.redirect(w, r, "/console/policies", tr(r, "policy.flash.published_minor", "version", v.Version))
		return nil
	}
	m, err := a.startMassMailing(r.Context(), store.MassPolicyUpdate, v.Version, x.user.ID, nil)
	if err != nil {
		return err
	}
	a.auditStep(r, x, store.AuditPolicyNotify, "policy_version", v.Version, map[string]any{"mailing_id": m.ID})
	a.redirect(w, r, "/console/policies", tr(r, "policy.flash.published_material", "version", v.Version))
	return nil
}

// GET /console/policies/versions/{version}
//
// A published version with its translations, and the form to add one.
func (a *App) handlePolicyTranslations(w http.ResponseWriter, r *http.Request) error {
	return a.renderTranslations(w, r, http.StatusOK, views.PolicyTranslationForm{})
}

func (a *App) renderTranslations(w http.ResponseWriter, r *http.Request, status int, f views.PolicyTranslationForm) error {
	label := r.PathValue("version")
	if !store.ValidPolicyVersion(label) {
		return errNotFound
	}
	pv, err := a.store.PolicyVersionByLabel(r.Context(), label)
	if err != nil {
		return err
	}
	trs, err := a.store.PolicyTranslations(r.Context(), pv.Version)
	if err != nil {
		return err
	}
	var opts []views.Option
	for _, l := range i18n.Languages() {
		if l.Code != i18n.Default {
			opts = append(opts, views.Option{Value: l.Code, Label: views.PolicyLanguageName(r.Context(), l.Code)})
		}
	}
	v := views.PolicyTranslationsConsole{Nav: a.consoleNav(r.Context(), actorFrom(r.Context())), Version: pv, Translations: trs,
		Languages: []views.OptionGroup{{Options: opts}}, Form: f}
	return a.render(w, r, status, views.ConsolePolicyTranslations(a.page(r, tr(r, "policy.translations.title", "version", pv.Version)), v))
}

// POST /console/policies/versions/{version}/translations
//
// Adds or replaces the translation of a published version into one of the
// languages kelas speaks; the store audits it.
func (a *App) handleSavePolicyTranslation(w http.ResponseWriter, r *http.Request) error {
	x := actorFrom(r.Context())
	label := r.PathValue("version")
	if !store.ValidPolicyVersion(label) {
		return errNotFound
	}
	f, err := parseForm(r)
	if err != nil {
		return err
	}
	vf := views.PolicyTranslationForm{}
	vf.Language = f.choice("language", tr(r, "policy.field.language"), func(c string) bool { return c != i18n.Default && i18n.Supported(c) }, true)
	vf.Summary = f.multiline("policy_summary", tr(r, "policy.field.summary"), 1000)
	if vf.Summary == "" && f.Errors["policy_summary"] == "" {
		f.fail("policy_summary", tr(r, "policy.error.translation_summary"))
	}
	vf.BodyMD = f.multiline("body_md", tr(r, "policy.field.body"), maxPolicyChars)
	if vf.BodyMD == "" && f.Errors["body_md"] == "" {
		f.fail("body_md", tr(r, "policy.error.translation_body"))
	}
	if !f.Valid() {
		vf.Errors = f.Errors
		return a.renderTranslations(w, r, http.StatusUnprocessableEntity, vf)
	}
	t, err := a.store.SavePolicyTranslation(r.Context(), x.user.ID, store.PolicyTranslation{Version: label, Language: vf.Language,
		Summary: vf.Summary, BodyMD: vf.BodyMD})
	if err != nil {
		return err
	}
	a.log.Info("policy translation saved", "version", t.Version, "language", t.Language, "user_id", x.user.ID)
	a.redirect(w, r, "/console/policies/versions/"+t.Version, tr(r, "policy.flash.translation_saved",
		"language", views.PolicyLanguageName(r.Context(), t.Language), "version", t.Version))
	return nil
}

// GET /privacy/versions
//
// Every version, and with ?from=A&to=B the line diff between two.
func (a *App) handlePolicyVersions(w http.ResponseWriter, r *http.Request) error {
	vs, err := a.store.PolicyVersions(r.Context())
	if err != nil {
		return err
	}
	q := r.URL.Query()
	v := views.PolicyVersionsView{Versions: vs, From: q.Get("from"), To: q.Get("to"), Errors: views.Errors{}}
	var opts []views.Option
	byLabel := map[string]store.PolicyVersion{}
	for _, pv := range vs {
		opts = append(opts, views.Option{Value: pv.Version, Label: tr(r, "policy.versions.option", "version", pv.Version, "date", i18n.From(r.Context()).DateShort(pv.EffectiveAt))})
		byLabel[pv.Version] = pv
	}
	v.Options = []views.OptionGroup{{Options: opts}}
	status := http.StatusOK
	if q.Has("from") || q.Has("to") {
		from, okFrom := byLabel[v.From]
		to, okTo := byLabel[v.To]
		if !okFrom || len(q["from"]) != 1 {
			v.Errors["from"] = tr(r, "policy.error.from")
		}
		if !okTo || len(q["to"]) != 1 {
			v.Errors["to"] = tr(r, "policy.error.to")
		}
		if len(v.Errors) == 0 {
			d := policyDiff(from.Version, from.BodyMD, to.Version, to.BodyMD)
			v.Diff = &d
		} else {
			status = http.StatusUnprocessableEntity
		}
	}
	return a.render(w, r, status, views.PolicyVersions(a.page(r, tr(r, "policy.versions.title")), v))
}

// policyVersionIn loads the published version named in the path.
func (a *App) policyVersionIn(r *http.Request) (views.PolicyVersionView, error) {
	label := r.PathValue("version")
	if !store.ValidPolicyVersion(label) {
		return views.PolicyVersionView{}, errNotFound
	}
	pv, err := a.store.PolicyVersionByLabel(r.Context(), label)
	if err != nil {
		return views.PolicyVersionView{}, err
	}
	return a.inReadersLanguage(r.Context(), pv)
}

// inReadersLanguage is a version in the reader's language: its translation
// when the privacy officer added one, else the original, marked as such.
func (a *App) inReadersLanguage(ctx context.Context, pv store.PolicyVersion) (views.PolicyVersionView, error) {
	v := views.PolicyVersionView{Version: pv}
	if code := i18n.From(ctx).Code; code != i18n.Default {
		tr, err := a.store.PolicyTranslation(ctx, pv.Version, code)
		switch {
		case err == nil:
			v.Version.Summary, v.Version.BodyMD, v.Translated = tr.Summary, tr.BodyMD, true
		case !errors.Is(err, store.ErrNotFound):
			return v, err
		}
	} else {
		v.Translated = true // the original is in the reader's language
	}
	html, err := a.renderMarkdown(v.Version.BodyMD)
	if err != nil {
		return v, err
	}
	v.HTML = html
	return v, nil
}

// GET /privacy/versions/{version}
func (a *App) handlePolicyVersion(w http.ResponseWriter, r *http.Request) error {
	v, err := a.policyVersionIn(r)
	if err != nil {
		return err
	}
	return a.render(w, r, http.StatusOK, views.PolicyVersionPage(a.page(r, tr(r, "policy.version.page_title", "version", v.Version.Version)), v))
}

// GET /privacy/versions/{version}/copy.html
//
// A copy to keep: one HTML file that reads offline. The label is checked
// against ValidPolicyVersion, so it is safe in the file name.
func (a *App) handlePolicyCopyHTML(w http.ResponseWriter, r *http.Request) error {
	v, err := a.policyVersionIn(r)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Disposition", `attachment; filename="kelas-privacy-policy-`+v.Version.Version+`.html"`)
	return a.render(w, r, http.StatusOK, views.PolicyCopy(v))
}

// GET /privacy/versions/{version}/copy.txt
func (a *App) handlePolicyCopyText(w http.ResponseWriter, r *http.Request) error {
	v, err := a.policyVersionIn(r)
	if err != nil {
		return err
	}
	pv := v.Version
	var b strings.Builder
	p := i18n.From(r.Context())
	b.WriteString(p.T("policy.version.title", "version", pv.Version) + "\n")
	b.WriteString(p.T("policy.copy.effective", "date", p.Date(pv.EffectiveAt), "published", p.Date(pv.PublishedAt)) + "\n\n")
	if !v.Translated && p.Code != i18n.Default {
		b.WriteString(p.T("policy.version.original_language") + "\n\n")
	}
	b.WriteString(p.T("policy.copy.summary", "summary", pv.Summary) + "\n\n")
	b.WriteString(strings.ReplaceAll(pv.BodyMD, "\r\n", "\n"))
	b.WriteString("\n")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="kelas-privacy-policy-`+pv.Version+`.txt"`)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Write([]byte(b.String()))
	return nil
}

// GET /privacy/accept
func (a *App) handlePolicyAcceptForm(w http.ResponseWriter, r *http.Request) error {
	u := currentUser(r.Context())
	next := safeNext(r.URL.Query().Get("next"))
	pa, err := a.store.PolicyToAccept(r.Context(), u.ID)
	if err != nil {
		return err
	}
	if !pa.Needed {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return nil
	}
	return a.renderAccept(w, r, pa, next)
}

func (a *App) renderAccept(w http.ResponseWriter, r *http.Request, pa store.PolicyAcceptance, next string) error {
	v := views.PolicyAcceptView{Current: pa.Current, LastAccepted: pa.LastAccepted, Next: next,
		DeclinedVersion: pa.DeclinedVersion, DeclinedAt: pa.DeclinedAt}
	if code := i18n.From(r.Context()).Code; code != i18n.Default {
		tr, err := a.store.PolicyTranslation(r.Context(), pa.Current.Version, code)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err == nil {
			v.Current.Summary, v.Translated = tr.Summary, true
		}
	} else {
		v.Translated = true
	}
	if pa.LastAccepted != "" && pa.LastAccepted != pa.Current.Version {
		old, err := a.store.PolicyVersionByLabel(r.Context(), pa.LastAccepted)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err == nil {
			d := policyDiff(old.Version, old.BodyMD, pa.Current.Version, pa.Current.BodyMD)
			v.Diff = &d
		}
	}
	return a.render(w, r, http.StatusOK, views.PolicyAccept(a.page(r, tr(r, "policy.accept.title")), v))
}

// policyAnswer reads an accept or decline form of the policy in force and
// answers the request itself (answered) when there is nothing to answer:
// no change waits for u any more (back to next), or the text in force
// changed while the page was open (the page again, with the new text).
func (a *App) policyAnswer(w http.ResponseWriter, r *http.Request, u *store.User) (pa store.PolicyAcceptance, next string, answered bool, err error) {
	f, err := parseForm(r)
	if err != nil {
		return pa, "", true, err
	}
	next = safeNext(f.raw("next"))
	if pa, err = a.store.PolicyToAccept(r.Context(), u.ID); err != nil {
		return pa, next, true, err
	}
	if !pa.Needed {
		a.redirect(w, r, next, "")
		return pa, next, true, nil
	}
	if f.raw("version") != pa.Current.Version {
		return pa, next, true, a.renderAccept(w, r, pa, next)
	}
	return pa, next, false, nil
}

// POST /privacy/accept
func (a *App) handlePolicyAccept(w http.ResponseWriter, r *http.Request) error {
	u := currentUser(r.Context())
	pa, next, answered, err := a.policyAnswer(w, r, u)
	if answered || err != nil {
		return err
	}
	if err := a.store.AcceptPolicy(r.Context(), u.ID, pa.Current.Version, store.AcceptedAtLogin); err != nil {
		return err
	}
	a.log.Info("policy accepted", "user_id", u.ID, "version", pa.Current.Version)
	a.redirect(w, r, next, tr(r, "policy.flash.accepted", "version", pa.Current.Version))
	return nil
}

// POST /privacy/decline
//
// Declining keeps the account and the rights portal (export, erasure,
// objection); everything that processes the person's data stays behind
// the policy gate, whose page now says they declined and may still accept.
func (a *App) handlePolicyDecline(w http.ResponseWriter, r *http.Request) error {
	u := currentUser(r.Context())
	pa, next, answered, err := a.policyAnswer(w, r, u)
	if answered || err != nil {
		return err
	}
	back := "/privacy/accept?next=" + url.QueryEscape(next)
	if pa.DeclinedVersion == pa.Current.Version {
		// Sent twice: the first answer stands.
		a.redirect(w, r, back, "")
		return nil
	}
	if err := a.store.DeclinePolicy(r.Context(), u.ID, pa.Current.Version); err != nil {
		return err
	}
	a.log.Info("policy declined", "user_id", u.ID, "version", pa.Current.Version)
	a.redirect(w, r, back, tr(r, "policy.flash.declined", "version", pa.Current.Version))
	return nil
}

// Line diff.

// maxDiffCells bounds the table of the line diff (about 8 MB); beyond it
// the changed middle part is shown as removed and added whole.
const maxDiffCells = 2 << 20

// diffContext is how many unchanged lines are kept around each change.
const diffContext = 3

type diffOp struct {
	op       rune
	old, new int // 0-based indexes
}

// diffLines computes a shortest line edit script from a to b: the common
// prefix and suffix, then a longest common subsequence of the middle.
func diffLines(a, b []string) []diffOp {
	p := 0
	for p < len(a) && p < len(b) && a[p] == b[p] {
		p++
	}
	s := 0
	for s < len(a)-p && s < len(b)-p && a[len(a)-1-s] == b[len(b)-1-s] {
		s++
	}
	ops := make([]diffOp, 0, len(a)+len(b))
	for i := range p {
		ops = append(ops, diffOp{'=', i, i})
	}
	am, bm := a[p:len(a)-s], b[p:len(b)-s]
	n, m := len(am), len(bm)
	if n*m > maxDiffCells {
		for i := range n {
			ops = append(ops, diffOp{'-', p + i, -1})
		}
		for j := range m {
			ops = append(ops, diffOp{'+', -1, p + j})
		}
	} else {
		// t[i*w+j] is the length of the LCS of am[i:] and bm[j:].
		w := m + 1
		t := make([]int32, (n+1)*w)
		for i := n - 1; i >= 0; i-- {
			for j := m - 1; j >= 0; j-- {
				if am[i] == bm[j] {
					t[i*w+j] = t[(i+1)*w+j+1] + 1
				} else {
					t[i*w+j] = max(t[(i+1)*w+j], t[i*w+j+1])
				}
			}
		}
		i, j := 0, 0
		for i < n || j < m {
			switch {
			case i < n && j < m && am[i] == bm[j]:
				ops = append(ops, diffOp{'=', p + i, p + j})
				i, j = i+1, j+1
			case j == m || (i < n && t[(i+1)*w+j] >= t[i*w+j+1]):
				ops = append(ops, diffOp{'-', p + i, -1})
				i++
			default:
				ops = append(ops, diffOp{'+', -1, p + j})
				j++
			}
		}
	}
	for k := range s {
		ops = append(ops, diffOp{'=', len(a) - s + k, len(b) - s + k})
	}
	return ops
}

func splitLines(text string) []string {
	text = strings.TrimRight(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	if text == "" {
		return nil
	}
	return strings.Split(text, "\n")
}

// policyDiff is the diff of two texts for display: changes with
// diffContext unchanged lines around them, longer unchanged runs folded.
func policyDiff(fromLabel, from, toLabel, to string) views.PolicyDiff {
	a, b := splitLines(from), splitLines(to)
	ops := diffLines(a, b)
	d := views.PolicyDiff{From: fromLabel, To: toLabel}
	keep := make([]bool, len(ops))
	for i, o := range ops {
		if o.op == '=' {
			continue
		}
		for k := max(0, i-diffContext); k <= min(len(ops)-1, i+diffContext); k++ {
			keep[k] = true
		}
	}
	skipped := 0
	flush := func() {
		if skipped > 0 {
			d.Lines = append(d.Lines, views.DiffLine{Op: '…', Skipped: skipped})
			skipped = 0
		}
	}
	for i, o := range ops {
		if !keep[i] {
			skipped++
			continue
		}
		flush()
		switch o.op {
		case '=':
			d.Lines = append(d.Lines, views.DiffLine{Op: '=', Old: o.old + 1, New: o.new + 1, Text: a[o.old]})
		case '-':
			d.Removed++
			d.Lines = append(d.Lines, views.DiffLine{Op: '-', Old: o.old + 1, Text: a[o.old]})
		case '+':
			d.Added++
			d.Lines = append(d.Lines, views.DiffLine{Op: '+', New: o.new + 1, Text: b[o.new]})
		}
	}
	flush()
	return d
}
