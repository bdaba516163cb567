package app

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"kelas/store"
)

// TestDeadlinesNeedAttention: a breach 61 hours after detection and a
// request due tomorrow are on the console home of every privacy officer
// and in their daily mail; once the authority notification is recorded
// the breach's clock stops and it leaves both.
func TestDeadlinesNeedAttention(t *testing.T) {
	fx := newRightsFixture(t)
	ctx := t.Context()
	now := fx.ts.clock.Now()
	second, secondUser := fx.ts.person(t, "dpo2@example.org", store.RoleOperator, "")
	require.NoError(t, fx.ts.store.SetOperatorRole(ctx, secondUser.ID, store.RoleOperator, true))
	res := second.signIn(t, secondUser.Email, "a long test password")
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	operator, _ := fx.ts.person(t, "ops@example.org", store.RoleOperator, "")

	b, err := fx.ts.store.CreateBreach(ctx, fx.dpoUser.ID, store.NewBreach{Title: "Lost laptop", Description: "d", Measures: "m", Advice: "a",
		Contact: "c", Categories: []string{string(store.CatRegistration)}, OccurredAt: now.Add(-62 * time.Hour),
		DetectedAt: now.Add(-61 * time.Hour), Scope: store.BreachAll})
	require.NoError(t, err)
	// Received on 2 February: due on 2 March, tomorrow.
	c, err := fx.ts.store.CreateCase(ctx, store.NewCase{UserID: fx.user.ID, Kind: store.CaseRectification, Details: "fix my name",
		ReceivedAt: now.AddDate(0, -1, 1), Channel: store.ChannelLetter, RecordedBy: fx.dpoUser.ID})
	require.NoError(t, err)
	require.Equal(t, "2026-03-02", c.DueAt.Format(time.DateOnly))
	// A case due in a fortnight is not yet anyone's worry.
	far, err := fx.ts.store.CreateCase(ctx, store.NewCase{UserID: fx.user.ID, Kind: store.CaseAccess})
	require.NoError(t, err)

	home := func(client *testServer) (breaches, cases string, page string) {
		t.Helper()
		res, body := client.get(t, "/console")
		require.Equal(t, http.StatusOK, res.StatusCode)
		d := doc(t, body)
		return d.Find(`[data-testid="attention-breaches"]`).Text(), d.Find(`[data-testid="attention-cases"]`).Text(), body
	}
	for name, client := range map[string]*testServer{"first officer": fx.dpo, "second officer": second} {
		breaches, cases, body := home(client)
		assert.Contains(t, breaches, "Lost laptop", name)
		assert.Contains(t, breaches, "11 hours left to notify the authority", name)
		assert.Contains(t, body, "/console/rights/"+c.ID, name)
		assert.Contains(t, cases, "due 2 March 2026", name)
		assert.NotContains(t, body, "/console/rights/"+far.ID, "%s: not due soon", name)
		d := doc(t, body)
		assert.Equal(t, "2", d.Find(`[data-testid="cases-open"]`).Text(), name)
		assert.Equal(t, "1", d.Find(`[data-testid="cases-due"]`).Text(), name)
		assert.Equal(t, "1", d.Find(`[data-testid="breach-clocks"]`).Text(), name)
		assert.Contains(t, d.Find(`[data-testid="nav-attention"]`).Text(), "2 need attention", name)
		assert.Contains(t, d.Find(`[data-testid="nav-breaches"]`).Text(), "1 clock running", name)
	}
	_, _, body := home(operator)
	assert.Zero(t, doc(t, body).Find(`[data-testid="attention-privacy"]`).Length(), "deadlines are the privacy officers'")
	assert.NotContains(t, body, "Lost laptop")

	// The daily mail reaches every privacy officer.
	require.NoError(t, fx.ts.jobs.RunNow(ctx, "attention_digest"))
	fx.ts.deliver(t)
	digests := lastMails(fx.smtpd, "need you")
	require.Len(t, digests, 2)
	for _, to := range []string{fx.dpoUser.Email, secondUser.Email} {
		m := mailTo(t, digests, to)
		assert.Contains(t, m.Text, `Breach "Lost laptop": 11 hours left to notify the authority.`)
		assert.Contains(t, m.Text, "/console/rights/"+c.ID)
		assert.Contains(t, m.Text, "due 2 March 2026")
		assert.NotContains(t, m.Text, far.ID)
		assert.NotContains(t, m.Text, "siti", "no one's name or address")
	}

	// Two days on, both are overdue: the mail says so.
	fx.ts.clock.Add(48 * time.Hour)
	_, cases, _ := home(fx.dpo)
	assert.Contains(t, cases, "overdue")
	breaches, _, _ := home(fx.dpo)
	assert.Contains(t, breaches, "Overdue by 1 day 13 hours")

	// The authority notification stops the clock: the breach leaves the
	// home page and the mail.
	res, _ = fx.dpo.postForm(t, "/console/breaches/"+b.ID+"/authority", url.Values{
		"authority_at": {fx.ts.clock.Now().UTC().Format(datetimeLocal)}, "reference": {"PDP-7"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	breaches, _, body = home(second)
	assert.Empty(t, breaches)
	assert.Equal(t, "0", doc(t, body).Find(`[data-testid="breach-clocks"]`).Text())
	fx.ts.clock.Add(24 * time.Hour)
	res, body = fx.dpo.get(t, "/console/breaches/"+b.ID)
	require.Equal(t, http.StatusOK, res.StatusCode)
	clock := doc(t, body).Find(`[data-testid="countdown"]`)
	assert.Equal(t, "notified", clock.AttrOr("data-state", ""))
	assert.Contains(t, clock.Text(), "Authority notified after 109 hours (later than 72 hours).", "stopped, not still counting")
	sent := len(fx.smtpd.Messages())
	require.NoError(t, fx.ts.jobs.RunNow(ctx, "attention_digest"))
	fx.ts.deliver(t)
	var later []string
	for _, m := range fx.smtpd.Messages()[sent:] {
		later = append(later, m.Text)
	}
	require.Len(t, later, 2, "the overdue request is still mailed")
	assert.NotContains(t, strings.Join(later, "\n"), "Lost laptop")
	assert.Contains(t, strings.Join(later, "\n"), "OVERDUE since 2 March 2026")
}
