package app

import (
	"net/http"
	"net/url"
	"slices"

	"kelas/store"
	"kelas/views"
)

// outboxListSpec: the outbox newest first.
var outboxListSpec = listSpec{{key: "queued", desc: true}, {key: "sent", desc: true}, {key: "attempts", desc: true},
	{key: "status"}, {key: "kind"}}

// GET /console/outbox
//
// The list narrows by status and kind (an unknown one is ignored, as on the
// rights queue); addresses and contents are sealed, so there is no text
// search.
func (a *App) handleOutbox(w http.ResponseWriter, r *http.Request) error {
	x := actorFrom(r.Context())
	st, err := a.store.OutboxStats(r.Context())
	if err != nil {
		return err
	}
	lp, err := readList(r, outboxListSpec)
	if err != nil {
		return err
	}
	f := store.OutboxFilter{Status: r.URL.Query().Get("status"), Kind: r.URL.Query().Get("kind")}
	if !slices.Contains([]string{store.MailQueued, store.MailSent, store.MailFailed}, f.Status) {
		f.Status = ""
	}
	if !slices.Contains(views.OutboxKinds, f.Kind) {
		f.Kind = ""
	}
	pg, err := fetchPage(&lp, func(q store.ListQuery) (store.Page[store.OutboxMail], error) {
		f.ListQuery = q
		return a.store.OutboxList(r.Context(), f)
	})
	if err != nil {
		return err
	}
	return a.render(w, r, http.StatusOK, views.ConsoleOutbox(a.page(r, tr(r, "outbox.title")), views.OutboxConsole{Nav: a.consoleNav(r.Context(), x),
		Stats: st, Mails: pg.Items, NoSMTP: !a.mailOn, Status: f.Status, Kind: f.Kind,
		List: lp.state(r, url.Values{"status": {f.Status}, "kind": {f.Kind}}, pg.Total)}))
}
