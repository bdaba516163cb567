package app

import (
	"context"
	"errors"
	"net/http"
	"slices"

	"kelas/i18n"
	"kelas/store"
	"kelas/views"
)

// notifyView assembles the announcement page of a training.
func (a *App) notifyView(r *http.Request, x actor, t store.Training, f views.NotifyForm) (views.NotifyTrainingView, error) {
	ctx := r.Context()
	p := i18n.From(ctx)
	v := views.NotifyTrainingView{Nav: a.consoleNav(r.Context(), x), Training: t, CanAnnounce: mayAnnounce(x, t), Form: f,
		CountryOptions: trainingCountryOptions(p), IndustryOptions: trainingIndustryOptions(p)}
	var err error
	if v.Announced, err = a.store.NotificationCount(ctx, store.MailAnnouncement, t.ID); err != nil {
		return v, err
	}
	if v.FeedbackAsked, err = a.store.NotificationCount(ctx, store.MailFeedbackRequest, t.ID); err != nil {
		return v, err
	}
	ids, err := a.store.FeedbackRecipients(ctx, t.ID)
	if err != nil {
		return v, err
	}
	v.FeedbackReachable = len(ids)
	if v.Announcing, err = a.massProgress(ctx, store.MassAnnouncement, t.ID); err != nil {
		return v, err
	}
	if v.Feedbacking, err = a.massProgress(ctx, store.MassFeedback, t.ID); err != nil {
		return v, err
	}
	return v, nil
}

// GET /console/trainings/{id}/notify
func (a *App) handleNotifyTraining(w http.ResponseWriter, r *http.Request) error {
	t, x, err := a.managedTraining(r)
	if err != nil {
		return err
	}
	if !mayRequestFeedback(x, t) {
		return errForbidden
	}
	v, err := a.notifyView(r, x, t, views.NotifyForm{})
	if err != nil {
		return err
	}
	return a.render(w, r, http.StatusOK, views.NotifyTraining(a.page(r, tr(r, "notify.title", "title", t.Title)), v))
}

// codes reads a multi-valued field of codes, each checked by valid.
func (f *form) codes(name, label string, valid func(string) bool, max int) []string {
	return f.codesSaying(name, valid, max, tr(f.r, "form.error.codes_too_many", "max", max, "field", f.inline(label)),
		tr(f.r, "form.error.codes_listed", "field", f.inline(label)))
}

// codesSaying is codes with its two refusals given whole: too many values,
// and a value not on the list.
func (f *form) codesSaying(name string, valid func(string) bool, max int, tooMany, notListed string) []string {
	vals := f.r.PostForm[name]
	if len(vals) > max {
		f.fail(name, tooMany)
		return nil
	}
	var out []string
	for _, v := range vals {
		if !valid(v) {
			f.fail(name, notListed)
			return nil
		}
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// POST /console/trainings/{id}/announce
func (a *App) handleAnnounce(w http.ResponseWriter, r *http.Request) error {
	t, x, err := a.managedTraining(r)
	if err != nil {
		return err
	}
	if !mayAnnounce(x, t) {
		return errForbidden
	}
	f, err := parseForm(r)
	if err != nil {
		return err
	}
	vf := views.NotifyForm{
		Countries: f.codesSaying("country", store.ValidCountry, 300,
			trn(r, "notify.error.countries_max", 300), tr(r, "notify.error.countries_list")),
		Industries: f.codesSaying("industry", store.ValidIndustry, 100,
			trn(r, "notify.error.industries_max", 100), tr(r, "notify.error.industries_list"))}
	if !f.Valid() {
		vf.Errors = f.Errors
		v, err := a.notifyView(r, x, t, vf)
		if err != nil {
			return err
		}
		return a.render(w, r, http.StatusUnprocessableEntity, views.NotifyTraining(a.page(r, tr(r, "notify.title", "title", t.Title)), v))
	}
	// The mailing runs in the background (massmail.go): the request only
	// records it, however many people it reaches.
	m, err := a.startMassMailing(r.Context(), store.MassAnnouncement, t.ID, x.user.ID,
		map[string][]string{"countries": vf.Countries, "industries": vf.Industries})
	if err != nil {
		return err
	}
	a.auditStep(r, x, store.AuditNotifyAnnounce, "training", t.ID, map[string]any{"mailing_id": m.ID,
		"countries": len(vf.Countries), "industries": len(vf.Industries)})
	a.log.Info("training announced", "training_id", t.ID, "mailing_id", m.ID)
	a.redirect(w, r, "/console/trainings/"+t.ID+"/notify", tr(r, "notify.flash.announced"))
	return nil
}

// POST /console/trainings/{id}/feedback-request
func (a *App) handleFeedbackRequest(w http.ResponseWriter, r *http.Request) error {
	t, x, err := a.managedTraining(r)
	if err != nil {
		return err
	}
	if !mayRequestFeedback(x, t) {
		return errForbidden
	}
	m, err := a.startMassMailing(r.Context(), store.MassFeedback, t.ID, x.user.ID, nil)
	if err != nil {
		return err
	}
	a.auditStep(r, x, store.AuditNotifyFeedback, "training", t.ID, map[string]any{"mailing_id": m.ID})
	a.log.Info("feedback requested", "training_id", t.ID, "mailing_id", m.ID)
	a.redirect(w, r, "/console/trainings/"+t.ID+"/notify", tr(r, "notify.flash.feedback"))
	return nil
}

// auditStep appends an audit entry for an action that already happened. A
// failure to audit is logged (with the ids only) but does not undo the
// action, which has been done and, for mail, cannot be taken back.
func (a *App) auditStep(r *http.Request, x actor, action, targetType, targetID string, details map[string]any) {
	err := a.store.Audit(context.WithoutCancel(r.Context()), store.AuditEntry{ActorID: x.user.ID, Action: action,
		TargetType: targetType, TargetID: targetID, Details: details})
	if err != nil {
		a.log.Error("audit failed", "request_id", requestID(r.Context()), "action", action, "target_id", targetID, "err", err)
	}
}

// unsubscribeToken verifies the token in the path; a tampered or expired
// one is answered with a clear page and changes nothing.
func (a *App) unsubscribeToken(r *http.Request) (userID, purpose string, err error) {
	userID, purpose, err = a.store.VerifyUnsubscribe(r.PathValue("token"))
	switch {
	case errors.Is(err, store.ErrTokenExpired):
		return "", "", &Error{Status: http.StatusBadRequest, Key: "error.unsubscribe_expired", Cause: err}
	case err != nil:
		return "", "", &Error{Status: http.StatusBadRequest, Key: "error.unsubscribe_invalid", Cause: err}
	}
	return userID, purpose, nil
}

// GET /unsubscribe/{token}
//
// Shows a button and changes nothing: mail scanners open every link.
func (a *App) handleUnsubscribeForm(w http.ResponseWriter, r *http.Request) error {
	_, purpose, err := a.unsubscribeToken(r)
	if err != nil {
		return err
	}
	return a.render(w, r, http.StatusOK, views.Unsubscribe(a.page(r, tr(r, "notify.unsubscribe.title")),
		views.UnsubscribeView{Action: r.URL.Path, Purpose: purpose}))
}

// POST /unsubscribe/{token}
//
// The one-click unsubscribe of RFC 8058: no login, and exempt from the
// cross-origin check, because mail providers make this POST from their own
// servers. The signed token is the authority; unsubscribing twice is fine.
func (a *App) handleUnsubscribe(w http.ResponseWriter, r *http.Request) error {
	userID, purpose, err := a.unsubscribeToken(r)
	if err != nil {
		return err
	}
	err = a.store.Unsubscribe(r.Context(), userID, purpose)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	a.log.Info("unsubscribed", "user_id", userID, "purpose", purpose)
	return a.render(w, r, http.StatusOK, views.Unsubscribe(a.page(r, tr(r, "notify.unsubscribe.done_title")),
		views.UnsubscribeView{Purpose: purpose, Done: true}))
}
