package app

import (
	"net/http"

	"kelas/views"
)

// GET /console/outbox
func (a *App) handleOutbox(w http.ResponseWriter, r *http.Request) error {
	x := actorFrom(r.Context())
	st, err := a.store.OutboxStats(r.Context())
	if err != nil {
		return err
	}
	mails, err := a.store.OutboxMails(r.Context(), 100)
	if err != nil {
		return err
	}
	return a.render(w, r, http.StatusOK, views.ConsoleOutbox(a.page(r, tr(r, "outbox.title")), views.OutboxConsole{Nav: a.consoleNav(r.Context(), x), Stats: st, Mails: mails, NoSMTP: !a.mailOn}))
}
