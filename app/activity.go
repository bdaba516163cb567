package app

import (
	"net/http"

	"kelas/store"
)

// logActivity hands a learner action of the signed-in person to the
// activity writer; the request never waits for a commit.
func (a *App) logActivity(r *http.Request, ev store.ActivityEvent) {
	if u := currentUser(r.Context()); u != nil {
		a.logActivityFor(r, u.ID, ev)
	}
}

// logActivityFor records an action concerning userID that this request
// caused. The client address (sealed by the writer with userID's key) is
// kept only when userID is the person making the request: when staff mark
// attendance, the staff member's address is not the learner's.
func (a *App) logActivityFor(r *http.Request, userID string, ev store.ActivityEvent) {
	if a.activityOff.Load() {
		return
	}
	ev.UserID = userID
	if u := currentUser(r.Context()); u != nil && u.ID == userID {
		ev.IP = ClientIP(r.Context())
	}
	ev.At = a.clock()
	if err := a.activity.Record(r.Context(), ev); err != nil {
		a.log.Error("activity not recorded", "request_id", requestID(r.Context()), "action", ev.Action, "err", err)
	}
}
