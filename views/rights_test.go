package views

import (
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"kelas/store"
)

// TestErasureWordingPerState: an erasure request never reads as carried
// out before it ran, and a carried-out one gives the time it ran.
func TestErasureWordingPerState(t *testing.T) {
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	at := now.Add(7 * 24 * time.Hour)
	ran := now.Add(90 * time.Minute)
	erasure := func(status string) store.Case {
		c := store.Case{ID: store.NewID(), Kind: store.CaseErasure, Status: status, ReceivedAt: now, DueAt: store.DueDate(now, 0), ExecuteAfter: at}
		if status != store.CaseOpen && status != store.CaseInProgress {
			c.ClosedAt = ran
		}
		return c
	}
	due := erasure(store.CaseOpen)
	due.ExecuteAfter = now
	cases := []struct {
		name  string
		c     store.Case
		held  bool
		label string
		state string
	}{
		{"scheduled", erasure(store.CaseOpen), false, "Scheduled", "Scheduled for 8 March 2026, 09:00 UTC."},
		{"scheduled after a hold", erasure(store.CaseInProgress), false, "Scheduled", "Scheduled for 8 March 2026, 09:00 UTC."},
		{"due", due, false, "Scheduled", "Scheduled for the next run of the erasure job, within the hour."},
		{"held", erasure(store.CaseOpen), true, "On hold", "On hold until the hold ends."},
		{"held in progress", erasure(store.CaseInProgress), true, "On hold", "On hold until the hold ends."},
		{"carried out", erasure(store.CaseCompleted), false, "Carried out", "Carried out on 1 March 2026, 10:30 UTC."},
		{"refused", erasure(store.CaseRejected), false, "Refused", "Refused."},
		{"cancelled", erasure(store.CaseCancelled), true, "Cancelled", "Cancelled."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.label, CaseLabel(tc.c, tc.held))
			assert.Equal(t, tc.state, ErasureState(tc.c, tc.held, now))
			var b strings.Builder
			require.NoError(t, CasePage(Page{Now: now}, CaseView{Case: tc.c, Held: tc.held}).Render(t.Context(), &b))
			d, err := goquery.NewDocumentFromReader(strings.NewReader(b.String()))
			require.NoError(t, err)
			assert.Equal(t, tc.state, d.Find(`[data-testid="erasure-state"]`).Text())
			assert.Equal(t, tc.label, d.Find(`[data-testid="case-status"]`).Text())
			if tc.c.Status != store.CaseCompleted {
				assert.NotContains(t, b.String(), "Carried out")
			}
			assert.Equal(t, tc.c.Open(), d.Find(`form[action$="/cancel"]`).Length() == 1, "cancellable while open, held or not")
		})
	}
	assert.Equal(t, "Done", CaseLabel(store.Case{Kind: store.CaseAccess, Status: store.CaseCompleted}, false), "other kinds keep their words")
}

func TestGraceLabel(t *testing.T) {
	for d, want := range map[time.Duration]string{
		7 * 24 * time.Hour: "7 days",
		24 * time.Hour:     "1 day",
		36 * time.Hour:     "36 hours",
		time.Hour:          "1 hour",
		90 * time.Minute:   "90 minutes",
	} {
		assert.Equal(t, want, GraceLabel(d), d.String())
	}
}
