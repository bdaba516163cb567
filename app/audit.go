package app

import (
	"context"
	"net/http"

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

// auditPageSize is how many entries the console shows.
const auditPageSize = 200

// GET /console/audit
func (a *App) handleAuditLog(w http.ResponseWriter, r *http.Request) error {

	entries, err := a.store.AuditLog(r.Context(), auditPageSize)
	if err != nil {
		return err
	}
	v := views.AuditView{Nav: a.consoleNav(r.Context(), actorFrom(r.Context())), Entries: entries}
	if v.BadSeq, err = a.store.VerifyAudit(r.Context()); err != nil {
		v.Problem = err.Error()
	}
	return a.render(w, r, http.StatusOK, views.AuditLog(a.page(r, tr(r, "audit.title")), v))
}
