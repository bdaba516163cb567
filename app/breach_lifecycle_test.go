package app

import (
	"encoding/csv"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"kelas/store"
)

// TestBreachLifecycle: an incident is corrected, gets timeline entries, the
// authority notification stops the 72-hour clock, and closing it with a
// summary freezes the record; the register CSV carries the new facts.
func TestBreachLifecycle(t *testing.T) {
	ts := newTestServer(t)
	dpo, _ := dpoClient(t, ts)
	id := breachIDFrom(t, firstRes(dpo.postForm(t, "/console/breaches", breachValues(ts))))
	page := func() (state, text string, body string) {
		t.Helper()
		res, body := dpo.get(t, "/console/breaches/"+id)
		require.Equal(t, http.StatusOK, res.StatusCode)
		c := doc(t, body).Find(`[data-testid="countdown"]`).First()
		return c.AttrOr("data-state", ""), c.Text(), body
	}
	timeline := func() string {
		_, _, body := page()
		return doc(t, body).Find(`[data-testid="breach-timeline"]`).Text()
	}

	// Correct the facts: the form comes filled in; bad input changes nothing.
	res, body := dpo.get(t, "/console/breaches/"+id+"/edit")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "Export file sent to the wrong partner", doc(t, body).Find(`input[name="title"]`).AttrOr("value", ""))
	assert.Zero(t, doc(t, body).Find(`input[name="scope"]`).Length(), "who is affected is not edited")
	v := breachValues(ts)
	v.Set("title", "")
	res, body = dpo.postForm(t, "/console/breaches/"+id+"/edit", v)
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	assert.NotEmpty(t, doc(t, body).Find(`[data-testid="error-title"]`).Text())
	b, err := ts.store.Breach(t.Context(), id)
	require.NoError(t, err)
	assert.Equal(t, "Export file sent to the wrong partner", b.Title)
	v = breachValues(ts)
	v.Set("measures", "The partner deleted the file; their IT confirmed no copy remains.")
	res, _ = dpo.postForm(t, "/console/breaches/"+id+"/edit", v)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Contains(t, timeline(), "Changed: measures.")

	// A timeline entry.
	res, _ = dpo.postForm(t, "/console/breaches/"+id+"/timeline", url.Values{"note": {" "}})
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	res, _ = dpo.postForm(t, "/console/breaches/"+id+"/timeline", url.Values{"note": {"Partner's deletion certificate received."}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Contains(t, timeline(), "Partner's deletion certificate received.")

	// The clock runs until the authority is notified, then stops.
	state, text, _ := page()
	assert.Equal(t, "running", state)
	assert.Contains(t, text, "2 days 22 hours left to notify the authority")
	now := ts.clock.Now().UTC()
	for name, tc := range map[string]url.Values{
		"in the future":         {"authority_at": {now.Add(time.Hour).Format(datetimeLocal)}, "reference": {"PDP-2026-0042"}},
		"before detection":      {"authority_at": {now.Add(-3 * time.Hour).Format(datetimeLocal)}, "reference": {"PDP-2026-0042"}},
		"without its reference": {"authority_at": {now.Format(datetimeLocal)}},
	} {
		res, _ := dpo.postForm(t, "/console/breaches/"+id+"/authority", tc)
		assert.Equal(t, http.StatusUnprocessableEntity, res.StatusCode, name)
	}
	ts.clock.Add(59 * time.Hour) // 61 hours after detection
	state, _, _ = page()
	assert.Equal(t, "running", state)
	res, _ = dpo.postForm(t, "/console/breaches/"+id+"/authority", url.Values{"authority_at": {ts.clock.Now().UTC().Format(datetimeLocal)}, "reference": {"PDP-2026-0042"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	state, text, body = page()
	assert.Equal(t, "notified", state)
	assert.Contains(t, text, "Authority notified after 61 hours (within 72 hours).")
	assert.Contains(t, doc(t, body).Find(`[data-testid="authority"]`).Text(), "PDP-2026-0042")
	ts.clock.Add(20 * time.Hour) // past the deadline: stopped, so not overdue
	state, text, _ = page()
	assert.Equal(t, "notified", state)
	assert.Contains(t, text, "after 61 hours")
	res, _ = dpo.postForm(t, "/console/breaches/"+id+"/authority", url.Values{"authority_at": {ts.clock.Now().UTC().Format(datetimeLocal)}, "reference": {"again"}})
	assert.Equal(t, http.StatusConflict, res.StatusCode, "recorded once")

	// Closing with a summary; afterwards nothing changes.
	res, _ = dpo.postForm(t, "/console/breaches/"+id+"/close", url.Values{"summary": {""}})
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	res, _ = dpo.postForm(t, "/console/breaches/"+id+"/close", url.Values{"summary": {"Contained within a day; no misuse seen."}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	_, _, body = page()
	assert.Contains(t, doc(t, body).Find(`[data-testid="breach-closed"]`).Text(), "Closed on")
	assert.Contains(t, body, "Contained within a day; no misuse seen.")
	assert.Zero(t, doc(t, body).Find(`[data-testid="breach-note-form"]`).Length())
	for _, path := range []string{"/edit", "/timeline", "/close"} {
		res, _ := dpo.postForm(t, "/console/breaches/"+id+path, url.Values{"note": {"x"}, "summary": {"x"}})
		assert.Equal(t, http.StatusConflict, res.StatusCode, path)
	}
	res, _ = dpo.postForm(t, "/console/breaches/"+store.NewID()+"/timeline", url.Values{"note": {"x"}})
	assert.Equal(t, http.StatusNotFound, res.StatusCode, "a forged id")

	// The register carries the lifecycle.
	res, body = dpo.get(t, "/console/breaches.csv")
	require.Equal(t, http.StatusOK, res.StatusCode)
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 2)
	col := map[string]string{}
	for i, h := range rows[0] {
		col[h] = rows[1][i]
	}
	assert.Equal(t, "PDP-2026-0042", col["authority_reference"])
	assert.Equal(t, "61", col["hours_to_authority"])
	assert.Equal(t, "true", col["authority_within_72_hours"])
	assert.Equal(t, "true", col["closed"])
	assert.Equal(t, "4", col["timeline_entries"], "edit, note, authority, close")
	assert.NotContains(t, body, "no misuse seen", "free texts stay in kelas")

	actions := auditActions(t, ts)
	for _, a := range []string{store.AuditBreachEdit, store.AuditBreachNote, store.AuditBreachAuthority, store.AuditBreachClose} {
		assert.Contains(t, actions, a)
	}
}
