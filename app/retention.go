package app

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"kelas/store"
	"kelas/views"
)

// retentionView gathers everything the retention page shows.
func (a *App) retentionView(ctx context.Context, rules views.RulesForm, hold views.HoldForm) (views.RetentionView, error) {
	v := views.RetentionView{Nav: a.consoleNav(ctx, actorFrom(ctx)), Rules: rules, Hold: hold, Categories: holdCategories(ctx)}
	var err error
	if v.Rules.Rules, err = a.store.RetentionRules(ctx); err != nil {
		return v, err
	}
	if v.Rules.Values == nil {
		v.Rules.Values = map[string]string{}
		for _, r := range v.Rules.Rules {
			v.Rules.Values[r.Category] = strconv.Itoa(r.Keep)
		}
	}
	if v.Holds, err = a.store.LegalHolds(ctx, true); err != nil {
		return v, err
	}
	if v.Last, err = a.store.LastPurges(ctx); err != nil {
		return v, err
	}
	if v.Runs, err = a.store.PurgeRuns(ctx, 50); err != nil {
		return v, err
	}
	if j, err := a.store.Job(ctx, "retention"); err == nil {
		v.Job = &j
	} else if !errors.Is(err, store.ErrNotFound) {
		return v, err
	}
	return v, nil
}

// holdCategories are the categories a hold may cover, for the form.
func holdCategories(ctx context.Context) []views.Option {
	var out []views.Option
	for _, c := range store.RetentionCategories() {
		switch c {
		case store.RetSessions, store.RetKeysBackups, store.RetDailyBackups, store.RetWeeklyBackups:
			continue
		}
		out = append(out, views.Option{Value: c, Label: views.RetentionLabel(ctx, c)})
	}
	return out
}

func (a *App) renderRetention(w http.ResponseWriter, r *http.Request, status int, rules views.RulesForm, hold views.HoldForm) error {
	v, err := a.retentionView(r.Context(), rules, hold)
	if err != nil {
		return err
	}
	return a.render(w, r, status, views.Retention(a.page(r, tr(r, "operations.retention.title")), v))
}

// GET /console/retention
func (a *App) handleRetention(w http.ResponseWriter, r *http.Request) error {

	return a.renderRetention(w, r, http.StatusOK, views.RulesForm{}, views.HoldForm{})
}

// POST /console/retention/rules
func (a *App) handleRetentionRules(w http.ResponseWriter, r *http.Request) error {
	u := currentUser(r.Context())
	if err := r.ParseForm(); err != nil {
		return errBadRequest
	}
	form := views.RulesForm{Values: map[string]string{}, Errors: views.Errors{}}
	keep := map[string]int{}
	rules, err := a.store.RetentionRules(r.Context())
	if err != nil {
		return err
	}
	for _, rule := range rules {
		if !rule.Editable {
			continue
		}
		raw := strings.TrimSpace(r.PostFormValue("keep_" + rule.Category))
		form.Values[rule.Category] = raw
		n, err := strconv.Atoi(raw)
		if err != nil || len(raw) > 6 {
			form.Errors["keep_"+rule.Category] = tr(r, "operations.retention.error.whole_days")
			if rule.Unit == store.UnitBackups {
				form.Errors["keep_"+rule.Category] = tr(r, "operations.retention.error.whole_backups")
			}
			continue
		}
		keep[rule.Category] = n
	}
	if len(form.Errors) == 0 {
		err = a.store.SetRetentionRules(r.Context(), u.ID, keep)
		var re store.RuleErrors
		switch {
		case errors.As(err, &re):
			for c, msg := range re {
				form.Errors["keep_"+c] = ruleMessage(r, rules, c, msg)
			}
		case err != nil:
			return err
		}
	}
	if len(form.Errors) > 0 {
		return a.renderRetention(w, r, http.StatusUnprocessableEntity, form, views.HoldForm{})
	}
	a.redirect(w, r, "/console/retention", tr(r, "operations.retention.flash.saved"))
	return nil
}

// POST /console/retention/holds
func (a *App) handleHoldCreate(w http.ResponseWriter, r *http.Request) error {
	u := currentUser(r.Context())
	f, err := parseForm(r)
	if err != nil {
		return err
	}
	// The store checks what the values mean; the form checks their shape.
	hold := views.HoldForm{UserID: f.text("user_id", "fieldlabel.account_id", 0, 26), Category: f.text("category", "fieldlabel.category", 0, 40),
		Reason: f.text("reason", "fieldlabel.reason", 0, 500)}
	if !f.Valid() {
		hold.Errors = f.Errors
		return a.renderRetention(w, r, http.StatusUnprocessableEntity, views.RulesForm{}, hold)
	}
	_, err = a.store.SetLegalHold(r.Context(), u.ID, store.NewLegalHold{UserID: hold.UserID, Category: hold.Category, Reason: hold.Reason})
	var he store.HoldErrors
	switch {
	case errors.As(err, &he):
		hold.Errors = views.Errors{}
		for f, msg := range he {
			if f == "target" {
				f = "user_id"
			}
			hold.Errors[f] = holdMessage(r, msg)
		}
		return a.renderRetention(w, r, http.StatusUnprocessableEntity, views.RulesForm{}, hold)
	case err != nil:
		return err
	}
	a.redirect(w, r, "/console/retention", tr(r, "operations.holds.flash.set"))
	return nil
}

// POST /console/retention/holds/{id}/release
func (a *App) handleHoldRelease(w http.ResponseWriter, r *http.Request) error {
	u := currentUser(r.Context())
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := a.store.ReleaseLegalHold(r.Context(), u.ID, id); err != nil {
		return err
	}
	a.redirect(w, r, "/console/retention", tr(r, "operations.holds.flash.released"))
	return nil
}

// ruleMessage is what the rules form says at category c for the store's
// refusal msg, in the request's language.
func ruleMessage(r *http.Request, rules []store.RetentionRule, c, msg string) string {
	switch msg {
	case "unknown retention category":
		return tr(r, "operations.retention.error.unknown")
	case "this rule cannot be changed":
		return tr(r, "operations.retention.error.fixed")
	case "the full address cannot be kept longer than the shortened one":
		return tr(r, "operations.retention.error.ip_longer")
	case "the shortened address cannot be kept longer than the activity log entries":
		return tr(r, "operations.retention.error.prefix_longer")
	}
	for _, rule := range rules {
		if rule.Category == c && strings.HasPrefix(msg, "must be from ") {
			key := "operations.retention.error.range_days"
			if rule.Unit == store.UnitBackups {
				key = "operations.retention.error.range_backups"
			}
			// The bounds are written as the number field takes them: plain digits.
			return tr(r, key, "min", strconv.Itoa(rule.Min), "max", strconv.Itoa(rule.Max))
		}
	}
	return strings.ToUpper(msg[:1]) + msg[1:] + "."
}

// holdMessage is what the hold form says for the store's refusal msg, in
// the request's language.
func holdMessage(r *http.Request, msg string) string {
	switch {
	case msg == "choose either a person or a category":
		return tr(r, "operations.holds.error.target")
	case msg == "not an account id":
		return tr(r, "operations.holds.error.user_id")
	case msg == "not a category that retention purges":
		return tr(r, "operations.holds.error.category")
	case msg == "give the reason, e.g. the case or investigation reference":
		return tr(r, "operations.holds.error.reason")
	case msg == "no account has this id":
		return tr(r, "operations.holds.error.no_account")
	case strings.HasPrefix(msg, "at most ") && strings.HasSuffix(msg, " characters"):
		if n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(msg, "at most "), " characters")); err == nil {
			return trn(r, "operations.holds.error.reason_long", n)
		}
	}
	return strings.ToUpper(msg[:1]) + msg[1:] + "."
}
