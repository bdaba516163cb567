package app

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"kelas/i18n"
	"kelas/store"
	"kelas/views"
)

// defaultErasureGrace is how long an erasure request waits, cancellable,
// before it is carried out, when KELAS_ERASURE_GRACE is not set.
const defaultErasureGrace = 7 * 24 * time.Hour

// erasureGrace is the configured grace period; 0 is a valid setting (the
// erasure job's next run), not a missing one.
func (a *App) erasureGrace() time.Duration {
	if a.cfg.ErasureGrace != nil {
		return *a.cfg.ErasureGrace
	}
	return defaultErasureGrace
}

// erasureWhen words when an erasure scheduled for at is carried out, for
// flashes, notes and mail: a date, or the erasure job's next run once that
// time has come (always so with a grace period of 0).
func (a *App) erasureWhen(at time.Time) string {
	if !at.After(a.clock()) {
		return "at the next run of the erasure job, within the hour"
	}
	return "on " + at.UTC().Format("2 January 2006, 15:04") + " UTC"
}

// GET /privacy
func (a *App) handlePrivacy(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	policy, err := a.store.CurrentPolicy(ctx)
	if err != nil {
		return err
	}
	rules, err := a.store.RetentionRules(ctx)
	if err != nil {
		return err
	}
	members, err := a.store.Members(ctx)
	if err != nil {
		return err
	}
	// The operator's policy text goes with the generated notice, in the
	// reader's language where the privacy officer translated it.
	text, err := a.inReadersLanguage(ctx, policy)
	if err != nil {
		return err
	}
	if text.HTML, err = a.renderMarkdownUnder(text.Version.BodyMD, 2); err != nil {
		return err
	}
	v := views.PrivacyNotice{Policy: policy, Text: text, Categories: noticeCategories(ctx, store.DataMap()), Retention: rules,
		Members: members, Grace: a.erasureGrace(), SessionLifetime: a.sessions.Lifetime, SessionIdle: a.sessions.IdleTimeout,
		Identity: identityOf(a.siteSettings(ctx))}
	return a.render(w, r, http.StatusOK, views.Privacy(a.page(r, tr(r, "privacy.title")), v))
}

// noticeCategories folds the data map into one entry per category of
// personal data, in the order of the categories' names in the reader's
// language: the notice is generated, never written by hand. Each category
// lists the plain items that tell of its columns (store/datamap_notice.go),
// each encrypted when its columns are sealed; the entries keep the data
// map's codes and the notice words them.
func noticeCategories(ctx context.Context, fields []store.Field) []views.NoticeCategory {
	order := map[string]int{}
	for i, code := range store.PlainItems() {
		order[code] = i
	}
	byCat := map[store.Category]*views.NoticeCategory{}
	add := func(list *[]string, v string) {
		if !slices.Contains(*list, v) {
			*list = append(*list, v)
		}
	}
	for _, f := range fields {
		if !f.Personal {
			continue
		}
		c := byCat[f.Category]
		if c == nil {
			c = &views.NoticeCategory{Code: f.Category}
			byCat[f.Category] = c
		}
		if !slices.ContainsFunc(c.Items, func(it views.NoticeItem) bool { return it.Code == f.Plain }) {
			// An item's columns are all sealed or none (a store test).
			c.Items = append(c.Items, views.NoticeItem{Code: f.Plain, Encrypted: f.Encrypted})
		}
		for _, p := range f.Purposes {
			add(&c.Purposes, p)
		}
		if !slices.Contains(c.Bases, f.Basis) {
			c.Bases = append(c.Bases, f.Basis)
		}
		add(&c.Retention, f.Retention)
	}
	out := make([]views.NoticeCategory, 0, len(byCat))
	for _, c := range byCat {
		sort.SliceStable(c.Items, func(i, j int) bool { return order[c.Items[i].Code] < order[c.Items[j].Code] })
		out = append(out, *c)
	}
	sort.Slice(out, func(i, j int) bool {
		return views.NoticeCategoryName(ctx, out[i].Code) < views.NoticeCategoryName(ctx, out[j].Code)
	})
	return out
}

// GET /rights
func (a *App) handleRights(w http.ResponseWriter, r *http.Request) error {
	u := currentUser(r.Context())
	v, err := a.rightsView(r.Context(), u)
	if err != nil {
		return err
	}
	return a.render(w, r, http.StatusOK, views.Rights(a.page(r, tr(r, "rights.title")), v))
}

func (a *App) rightsView(ctx context.Context, u *store.User) (views.RightsView, error) {
	v := views.RightsView{Verified: u.Verified(), Grace: a.erasureGrace(), Errors: views.Errors{},
		Identity: identityOf(a.siteSettings(ctx))}
	var err error
	if v.Restricted, err = a.store.Restricted(ctx, u.ID); err != nil {
		return v, err
	}
	c, err := a.store.Consents(ctx, u.ID)
	if err != nil {
		return v, err
	}
	v.NotifyNew, v.Feedback = c.NotifyNew, c.Feedback
	obj, err := a.store.Objections(ctx, u.ID)
	if err != nil {
		return v, err
	}
	v.ObjectStats = obj["statistics"]
	if e, err := a.store.OpenCase(ctx, u.ID, store.CaseErasure); err == nil {
		v.Erasure = &e
	} else if !errors.Is(err, store.ErrNotFound) {
		return v, err
	}
	held, err := a.heldPeople(ctx)
	if err != nil {
		return v, err
	}
	v.Held = len(held[u.ID]) > 0
	if v.Cases, err = a.store.Cases(ctx, store.CaseFilter{UserID: u.ID, Limit: 100}); err != nil {
		return v, err
	}
	attempts, err := a.store.Attempts(ctx, u.ID)
	if err != nil {
		return v, err
	}
	for _, at := range attempts {
		v.Attempts = append(v.Attempts, views.AttemptRow{ID: at.ID, Training: at.TrainingTitle, Score: at.Score, Passed: at.Passed, At: at.SubmittedAt})
	}
	return v, nil
}

// rightsFormError shows the rights page again with an error.
func (a *App) rightsFormError(w http.ResponseWriter, r *http.Request, u *store.User, f *form, edit func(*views.RightsView)) error {
	v, err := a.rightsView(r.Context(), u)
	if err != nil {
		return err
	}
	v.Errors = f.Errors
	if edit != nil {
		edit(&v)
	}
	return a.render(w, r, http.StatusUnprocessableEntity, views.Rights(a.page(r, tr(r, "rights.title")), v))
}

// GET /rights/access
func (a *App) handleRightsAccess(w http.ResponseWriter, r *http.Request) error {
	u := currentUser(r.Context())
	ctx := r.Context()
	v := views.AccessView{User: *u}
	var err error
	step := func(f func() error) {
		if err == nil {
			err = f()
		}
	}
	step(func() (e error) { v.Profile, e = a.store.Profile(ctx, u.ID); return })
	step(func() (e error) { v.Consents, e = a.store.Consents(ctx, u.ID); return })
	step(func() (e error) { v.Cookies, e = a.store.ConsentRecords(ctx, u.ID); return })
	step(func() (e error) { v.Enrolments, e = a.store.Enrolments(ctx, u.ID); return })
	step(func() (e error) { v.Activity, e = a.store.Activity(ctx, u.ID, 200); return })
	step(func() (e error) { v.Disclosures, e = a.store.Disclosures(ctx, u.ID); return })
	step(func() (e error) { v.Restricted, e = a.store.Restricted(ctx, u.ID); return })
	step(func() (e error) { v.Objections, e = a.store.Objections(ctx, u.ID); return })
	if err != nil {
		return err
	}
	return a.render(w, r, http.StatusOK, views.AccessPage(a.page(r, tr(r, "rights.data.title")), v))
}

// POST /rights/rectification
func (a *App) handleRectification(w http.ResponseWriter, r *http.Request) error {
	u := currentUser(r.Context())
	f, err := parseForm(r)
	if err != nil {
		return err
	}
	text := f.multiline("correction", tr(r, "rights.field.correction"), 2000)
	if text == "" && f.Errors["correction"] == "" {
		f.fail("correction", tr(r, "rights.error.correction"))
	}
	if !f.Valid() {
		return a.rightsFormError(w, r, u, f, func(v *views.RightsView) { v.Rectification = text })
	}
	c, err := a.openCase(r, u, store.NewCase{Kind: store.CaseRectification, Details: text})
	if err != nil {
		return err
	}
	a.redirect(w, r, "/rights/cases/"+c.ID, tr(r, "rights.flash.received", "date", i18n.From(r.Context()).Date(c.DueAt)))
	return nil
}

// openCase records a request, audits it and tells the privacy officers.
func (a *App) openCase(r *http.Request, u *store.User, nc store.NewCase) (store.Case, error) {
	nc.UserID = u.ID
	c, err := a.store.CreateCase(r.Context(), nc)
	if err != nil {
		return c, err
	}
	a.auditReq(r, "rights."+c.Kind, "case", c.ID, map[string]any{"status": c.Status})
	if c.Open() {
		a.notifyOfficers(r.Context(), c)
	}
	return c, nil
}

// notifyOfficers mails the privacy officers about a new open request.
func (a *App) notifyOfficers(ctx context.Context, c store.Case) {
	dpos, err := a.store.DPOs(ctx)
	if err != nil {
		a.log.Error("privacy officers", "err", err)
		return
	}
	for _, d := range dpos {
		if err := a.mails.RightsNew(ctx, c, d); err != nil {
			a.log.Error("privacy officer mail", "case_id", c.ID, "err", err)
		}
	}
}

// confirmPassword checks the person's password before an export or an
// erasure (re-authentication), throttled like a login. The form field is
// "password"; errors go under errKey, so two such forms on one page each
// show their own.
func (a *App) confirmPassword(r *http.Request, u *store.User, f *form, errKey string) (bool, error) {
	key := "user:" + u.ID
	if blocked, _ := a.limits.loginAccount.blocked(key); blocked {
		f.fail(errKey, tr(r, "rights.error.password_throttled"))
		return false, nil
	}
	pw := f.raw("password")
	if pw == "" {
		f.fail(errKey, tr(r, "rights.error.password_missing"))
		return false, nil
	}
	ok, err := a.hasher.compare(r.Context(), u.PasswordHash, pw)
	if err != nil {
		return false, err
	}
	if !ok {
		a.limits.loginAccount.hit(key)
		f.fail(errKey, tr(r, "rights.error.password_wrong"))
		return false, nil
	}
	a.sessions.Put(r.Context(), "reauth_at", a.clock().Unix())
	return true, nil
}

// recentlyConfirmed reports whether the person confirmed their password in
// this session within the last 30 minutes.
func (a *App) recentlyConfirmed(r *http.Request) bool {
	at := a.sessions.GetInt64(r.Context(), "reauth_at")
	return at > 0 && a.clock().Sub(time.Unix(at, 0)) < 30*time.Minute
}

// POST /rights/erasure
func (a *App) handleErasure(w http.ResponseWriter, r *http.Request) error {
	u := currentUser(r.Context())
	if c, err := a.store.OpenCase(r.Context(), u.ID, store.CaseErasure); err == nil {
		// A second request shows the first instead of opening another.
		a.redirect(w, r, "/rights/cases/"+c.ID, tr(r, "rights.flash.erasure_exists"))
		return nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	f, err := parseForm(r)
	if err != nil {
		return err
	}
	ok, err := a.confirmPassword(r, u, f, "erasure-password")
	if err != nil {
		return err
	}
	if !ok {
		return a.rightsFormError(w, r, u, f, nil)
	}
	when := a.clock().Add(a.erasureGrace())
	c, err := a.openCase(r, u, store.NewCase{Kind: store.CaseErasure, ExecuteAfter: when,
		Note: "Erasure scheduled " + a.erasureWhen(when) + "; it can be cancelled until then."})
	if err != nil {
		return err
	}
	a.mailErasureScheduled(r.Context(), u, c)
	a.redirect(w, r, "/rights/cases/"+c.ID, a.erasureFlash(r, when))
	return nil
}

// POST /rights/cases/{id}/cancel
func (a *App) handleCancelCase(w http.ResponseWriter, r *http.Request) error {
	u := currentUser(r.Context())
	c, err := a.userCase(r, u)
	if err != nil {
		return err
	}
	if c.Kind != store.CaseErasure || !c.Open() {
		return store.ErrConflict
	}
	// Not while the erasure runs (Background.HoldErasures): it would read
	// "cancelled" for an erased account.
	unlock := a.bg.HoldErasures()
	_, err = a.store.UpdateCase(r.Context(), c.ID, u.ID, store.CaseCancelled, "Cancelled by the person.")
	unlock()
	if errors.Is(err, store.ErrCaseClosed) {
		return store.ErrConflict
	}
	if err != nil {
		return err
	}
	a.auditReq(r, "rights.erasure.cancel", "case", c.ID, nil)
	a.redirect(w, r, "/rights/cases/"+c.ID, tr(r, "rights.flash.erasure_cancelled"))
	return nil
}

func (a *App) userCase(r *http.Request, u *store.User) (store.Case, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return store.Case{}, err
	}
	return a.store.UserCase(r.Context(), u.ID, id)
}

// GET /rights/cases/{id}
func (a *App) handleCase(w http.ResponseWriter, r *http.Request) error {
	u := currentUser(r.Context())
	c, err := a.userCase(r, u)
	if err != nil {
		return err
	}
	held, err := a.heldPeople(r.Context())
	if err != nil {
		return err
	}
	return a.render(w, r, http.StatusOK, views.CasePage(a.page(r, views.CaseKindText(r.Context(), c.Kind)), views.CaseView{Case: c, Held: len(held[u.ID]) > 0}))
}

// POST /rights/restriction
func (a *App) handleRestriction(w http.ResponseWriter, r *http.Request) error {
	u := currentUser(r.Context())
	f, err := parseForm(r)
	if err != nil {
		return err
	}
	on := f.raw("restrict")
	if on != "on" && on != "off" {
		return errBadRequest
	}
	if err := a.store.SetRestricted(r.Context(), u.ID, on == "on"); err != nil {
		return err
	}
	note, flash := "Processing frozen at the person's request.", tr(r, "rights.flash.frozen")
	if on == "off" {
		note, flash = "Freeze lifted by the person.", tr(r, "rights.flash.unfrozen")
	}
	if _, err := a.openCase(r, u, store.NewCase{Kind: store.CaseRestriction, Status: store.CaseCompleted, Note: note}); err != nil {
		return err
	}
	a.redirect(w, r, "/rights#restriction", flash)
	return nil
}

// POST /rights/objections
func (a *App) handleObjections(w http.ResponseWriter, r *http.Request) error {
	u := currentUser(r.Context())
	f, err := parseForm(r)
	if err != nil {
		return err
	}
	objectNotify, objectFeedback, objectStats := f.checkbox("object_notify_new"), f.checkbox("object_feedback"), f.checkbox("object_statistics")
	if !f.Valid() {
		return a.rightsFormError(w, r, u, f, nil)
	}
	if err := a.store.SetConsents(r.Context(), u.ID, !objectNotify, !objectFeedback, "rights"); err != nil {
		return err
	}
	if err := a.store.SetObjection(r.Context(), u.ID, "statistics", objectStats); err != nil {
		return err
	}
	var list []string
	for name, on := range map[string]bool{"new-training emails": objectNotify, "feedback requests": objectFeedback, "statistics": objectStats} {
		if on {
			list = append(list, name)
		}
	}
	sort.Strings(list)
	note := "Objections now: none."
	if len(list) > 0 {
		note = "Objections now: " + strings.Join(list, ", ") + "."
	}
	if _, err := a.openCase(r, u, store.NewCase{Kind: store.CaseObjection, Status: store.CaseCompleted, Note: note}); err != nil {
		return err
	}
	a.redirect(w, r, "/rights#objection", tr(r, "rights.flash.objections"))
	return nil
}

// POST /rights/withdraw
func (a *App) handleWithdraw(w http.ResponseWriter, r *http.Request) error {
	u := currentUser(r.Context())
	c, err := a.store.Consents(r.Context(), u.ID)
	if err != nil {
		return err
	}
	if err := a.store.SetConsents(r.Context(), u.ID, false, c.Feedback, "rights"); err != nil {
		return err
	}
	if _, err := a.openCase(r, u, store.NewCase{Kind: store.CaseWithdrawConsent, Status: store.CaseCompleted,
		Note: "Consent to emails about new trainings withdrawn."}); err != nil {
		return err
	}
	a.redirect(w, r, "/rights#withdraw", tr(r, "rights.flash.withdrawn"))
	return nil
}

// POST /rights/review
func (a *App) handleReview(w http.ResponseWriter, r *http.Request) error {
	u := currentUser(r.Context())
	f, err := parseForm(r)
	if err != nil {
		return err
	}
	id := f.raw("attempt")
	attempts, err := a.store.Attempts(r.Context(), u.ID)
	if err != nil {
		return err
	}
	var found *store.AttemptSummary
	for i := range attempts {
		if attempts[i].ID == id {
			found = &attempts[i]
		}
	}
	if found == nil {
		f.fail("attempt", tr(r, "rights.error.attempt"))
		return a.rightsFormError(w, r, u, f, nil)
	}
	details := "Human review of the automatic grade " + strconv.Itoa(found.Score) + "% in \"" + found.TrainingTitle + "\" (attempt " + found.ID + ")."
	c, err := a.openCase(r, u, store.NewCase{Kind: store.CaseReview, Details: details})
	if err != nil {
		return err
	}
	a.redirect(w, r, "/rights/cases/"+c.ID, tr(r, "rights.flash.review", "date", i18n.From(r.Context()).Date(c.DueAt)))
	return nil
}

// erasureFlash tells the person when their erasure will be carried out.
func (a *App) erasureFlash(r *http.Request, at time.Time) string {
	if !at.After(a.clock()) {
		return tr(r, "rights.flash.erasure_next_run")
	}
	return tr(r, "rights.flash.erasure_at", "time", i18n.From(r.Context()).DateTime(at))
}

// identityOf is who runs the portal, as the notice and the footer say it.
func identityOf(st store.Settings) views.Identity { return views.IdentityOf(st) }
