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
	v := views.RetentionView{Nav: a.consoleNav(ctx, actorFrom(ctx)), Rules: rules, Hold: hold, Categories: holdCategories()}
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
func holdCategories() []views.Option {
	var out []views.Option
	for _, c := range store.RetentionCategories() {
		switch c {
		case store.RetSessions, store.RetKeysBackups, store.RetDailyBackups, store.RetWeeklyBackups:
			continue
		}
		out = append(out, views.Option{Value: c, Label: store.RetentionLabel(c)})
	}
	return out
}

func (a *App) renderRetention(w http.ResponseWriter, r *http.Request, status int, rules views.RulesForm, hold views.HoldForm) error {
	v, err := a.retentionView(r.Context(), rules, hold)
	if err != nil {
		return err
	}
	return a.render(w, r, status, views.Retention(a.page(r, "Retention"), v))
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
			form.Errors["keep_"+rule.Category] = "Enter a whole number of " + rule.Unit + "."
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
				form.Errors["keep_"+c] = strings.ToUpper(msg[:1]) + msg[1:] + "."
			}
		case err != nil:
			return err
		}
	}
	if len(form.Errors) > 0 {
		return a.renderRetention(w, r, http.StatusUnprocessableEntity, form, views.HoldForm{})
	}
	a.redirect(w, r, "/console/retention", "Retention rules saved.")
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
	hold := views.HoldForm{UserID: f.text("user_id", "Account id", 0, 26), Category: f.text("category", "Category", 0, 40),
		Reason: f.text("reason", "Reason", 0, 500)}
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
			hold.Errors[f] = strings.ToUpper(msg[:1]) + msg[1:] + "."
		}
		return a.renderRetention(w, r, http.StatusUnprocessableEntity, views.RulesForm{}, hold)
	case err != nil:
		return err
	}
	a.redirect(w, r, "/console/retention", "Legal hold set: retention skips what it covers until it is released.")
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
	a.redirect(w, r, "/console/retention", "Legal hold released.")
	return nil
}
