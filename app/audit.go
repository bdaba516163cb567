package app

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"kelas/store"
	"kelas/views"
)

// audit appends an entry to the audit log. The action it records has already
// happened, so a failure is logged (loudly) rather than undone; details hold
// ids and codes only.
func (a *App) audit(ctx context.Context, actor, action, targetType, targetID string, details map[string]any) {
	err := a.store.Audit(ctx, store.AuditEntry{ActorID: actor, Action: action, TargetType: targetType, TargetID: targetID, Details: details})
	if err != nil {
		a.log.Error("audit log write failed", "action", action, "err", err)
	}
}

// auditListSpec: the log newest first.
var auditListSpec = listSpec{{key: "when", desc: true}, {key: "action"}}

// auditAction is what the action filter accepts: an action ("grant.create")
// or the start of one ("grant", "rights.case") for every action under it.
var auditAction = regexp.MustCompile(`^[a-z0-9_]{1,40}(\.[a-z0-9_]{1,40}){0,3}$`)

// GET /console/audit
//
// Filters: actor (an account id, an email address found through the blind
// index, "cli" or "scheduler"), action and a date range (UTC days, until
// inclusive). A filter that cannot be read answers 422 at its field.
//
// The log holds ids only. Names are shown to those who may see them
// (mayViewAuditNames) once they accepted the confidentiality undertaking,
// and showing them is a disclosure to each person named, recorded like
// every other.
func (a *App) handleAuditLog(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	x := actorFrom(ctx)
	lp, err := readList(r, auditListSpec)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	v := views.AuditView{Nav: a.consoleNav(ctx, x), Actor: strings.TrimSpace(q.Get("actor")), Action: strings.TrimSpace(q.Get("action")),
		From: strings.TrimSpace(q.Get("from")), Until: strings.TrimSpace(q.Get("until")), Errors: views.Errors{}}
	f := store.AuditFilter{}
	switch {
	case v.Actor == "":
	case v.Actor == store.ActorCLI || v.Actor == store.ActorScheduler || store.ValidID(v.Actor):
		f.ActorID = v.Actor
	case strings.Contains(v.Actor, "@"):
		// Found through the blind index; the address goes no further.
		u, err := a.store.UserByEmail(ctx, v.Actor)
		switch {
		case errors.Is(err, store.ErrNotFound):
			v.Errors["actor"] = tr(r, "lists.audit.error.actor_unknown")
		case err != nil:
			return err
		default:
			f.ActorID = u.ID
		}
	default:
		v.Errors["actor"] = tr(r, "lists.audit.error.actor")
	}
	if v.Action != "" {
		if !auditAction.MatchString(v.Action) {
			v.Errors["action"] = tr(r, "lists.audit.error.action")
		}
		f.Action = v.Action
	}
	f.From, f.Until = dayRange(v.From, v.Until, v.Errors, tr(r, "lists.audit.error.date"))
	if !f.From.IsZero() && !f.Until.IsZero() && !f.Until.After(f.From) && v.Errors["until"] == "" {
		v.Errors["until"] = tr(r, "lists.audit.error.order")
	}
	if v.BadSeq, err = a.store.VerifyAudit(ctx); err != nil {
		v.Problem = err.Error()
	}
	// The resolved id, never a typed address, travels in the pager's links.
	keep := url.Values{"actor": {f.ActorID}, "action": {v.Action}, "from": {v.From}, "until": {v.Until}}
	if len(v.Errors) > 0 {
		v.List = lp.state(r, keep, 0)
		return a.render(w, r, http.StatusUnprocessableEntity, views.AuditLog(a.page(r, tr(r, "audit.title")), v))
	}
	pg, err := fetchPage(&lp, func(lq store.ListQuery) (store.Page[store.AuditEntry], error) {
		f.ListQuery = lq
		return a.store.AuditList(ctx, f)
	})
	if err != nil {
		return err
	}
	v.Entries, v.List = pg.Items, lp.state(r, keep, pg.Total)
	if err := a.auditNames(r, x, &v); err != nil {
		return err
	}
	return a.render(w, r, http.StatusOK, views.AuditLog(a.page(r, tr(r, "audit.title")), v))
}

// auditNames fills in the names of the people the page's entries name (the
// actor, and the target when it is an account) for a viewer who may see
// them, and records that they were seen.
func (a *App) auditNames(r *http.Request, x actor, v *views.AuditView) error {
	if !mayViewAuditNames(x) || len(v.Entries) == 0 {
		return nil
	}
	ok, err := a.acceptedUndertaking(r, x)
	if err != nil {
		return err
	}
	if !ok {
		v.NamesNeedUndertaking = "/console/undertaking?next=" + url.QueryEscape(r.URL.RequestURI())
		return nil
	}
	var ids []string
	for _, e := range v.Entries {
		ids = append(ids, e.ActorID)
		if e.TargetType == "user" {
			ids = append(ids, e.TargetID)
		}
	}
	names, err := a.store.PeopleNames(r.Context(), ids)
	if err != nil {
		return err
	}
	v.Names = make(map[string]string, len(names))
	shown := make([]string, 0, len(names))
	for id, n := range names {
		v.Names[id] = n.Name
		if id != x.user.ID { // one's own name is no disclosure
			shown = append(shown, id)
		}
	}
	return a.disclose(r, x, store.ViewAuditLog, "", "@audit_log", shown...)
}

// acceptedUndertaking reports whether x accepted the undertaking in force
// (or is not bound by it), without sending them to accept it.
func (a *App) acceptedUndertaking(r *http.Request, x actor) (bool, error) {
	if !needsUndertaking(x) {
		return true, nil
	}
	_, version, err := a.undertakingText(r)
	if err != nil {
		return false, err
	}
	return a.store.AcceptedUndertaking(r.Context(), x.user.ID, version)
}
