package app

import (
	"net/http"
	"time"

	"kelas/store"
	"kelas/views"
)

// navFor is the console navigation an actor may use, without counts.
func navFor(x actor) views.ConsoleNav {
	n := views.ConsoleNav{Operator: x.isOperator(), ManageMembers: mayManageMembers(x), ManageOps: mayManageOperators(x),
		Operations: mayRunOperations(x)}
	if x.user != nil {
		n.PrivacyOfficer = x.isOperator() && x.user.DPO
	}
	if x.staff != nil {
		n.MemberID, n.MemberAdmin = x.staff.MemberID, x.staff.Role == store.RoleMemberAdmin
	}
	return n
}

// GET /console
func (a *App) handleConsole(w http.ResponseWriter, r *http.Request) error {
	x := actorFrom(r.Context())
	ctx := r.Context()
	v := views.DashboardConsole{Nav: a.consoleNav(r.Context(), x)}
	memberID := ""
	if !x.isOperator() {
		memberID = x.staff.MemberID
	}
	grants, err := a.store.Grants(ctx, memberID)
	if err != nil {
		return err
	}
	active := 0
	for _, g := range grants {
		if g.ActiveAt(a.clock()) {
			active++
		}
	}
	pending, err := a.store.PendingInvitations(ctx, memberID)
	if err != nil {
		return err
	}
	v.Attention = append(v.Attention,
		views.Attention{Label: tr(r, "console.home.grants_active"), Count: active, Link: "/console/grants", Level: "ok"},
		views.Attention{Label: tr(r, "console.home.invitations_waiting"), Count: pending, Level: "ok"})
	if mayViewOutbox(x) {
		st, err := a.store.OutboxStats(ctx)
		if err != nil {
			return err
		}
		level := "ok"
		if st.Failed > 0 {
			level = "alert"
		}
		v.Attention = append(v.Attention, views.Attention{Label: tr(r, "console.home.mails_failed"), Count: st.Failed, Link: "/console/outbox", Level: level})
		level = "ok"
		if st.Queued > 0 && !st.OldestQueued.IsZero() && a.clock().Sub(st.OldestQueued) > time.Hour {
			level = "warn"
		}
		v.Attention = append(v.Attention, views.Attention{Label: tr(r, "console.home.mails_waiting"), Count: st.Queued, Link: "/console/outbox", Level: level})
	}
	if mayRunOperations(x) {
		ops, err := a.operationsAttention(ctx)
		if err != nil {
			return err
		}
		v.Attention = append(v.Attention, ops...)
	}
	if mayHandleRights(x) {
		p, err := a.privacyAttention(ctx)
		if err != nil {
			return err
		}
		v.Privacy = &p
	}
	if mayRunOperations(x) && a.cfg.Domain != "" {
		certs, err := a.certAttention(ctx)
		if err != nil {
			return err
		}
		v.Attention = append(v.Attention, certs...)
	}
	return a.render(w, r, http.StatusOK, views.ConsoleDashboard(a.page(r, tr(r, "console.title")), v))
}

// stepUpCheck asks for the second factor before a role or grant change; a
// missing or wrong code is refused (422) and nothing changes.
func (a *App) stepUpCheck(r *http.Request, u *store.User, f *form) error {
	ok, err := a.stepUp(r.Context(), u, f)
	if err != nil || ok {
		return err
	}
	return codeRefused(r, f)
}

// relogin renews the signed-in person's session after their own privileges
// changed (the store moved their session epoch).
func (a *App) relogin(r *http.Request) {
	u := currentUser(r.Context())
	if u == nil {
		return
	}
	if nu, err := a.store.User(r.Context(), u.ID); err == nil {
		if err := a.logIn(r.Context(), nu); err != nil {
			a.log.Error("session renewal failed", "user_id", u.ID, "err", err)
		}
	}
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// auditReq audits an action of the signed-in person.
func (a *App) auditReq(r *http.Request, action, targetType, targetID string, details map[string]any) {
	actorID := ""
	if u := currentUser(r.Context()); u != nil {
		actorID = u.ID
	}
	a.audit(r.Context(), actorID, action, targetType, targetID, details)
}
