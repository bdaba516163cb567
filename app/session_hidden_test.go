package app

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"kelas/store"
)

// TestHiddenSessions: staff hide a live session and learners and visitors
// no longer see it, on the training page, in its calendar or on its card;
// staff still see it, marked hidden, and may still mark attendance; show
// brings it back. Another Member's staff cannot touch it.
func TestHiddenSessions(t *testing.T) {
	ts := newTestServer(t)
	staff, su := ts.person(t, "staff@example.org", store.RoleMemberStaff, member(t, ts, "SME Corporation Malaysia"))
	other, _ := ts.person(t, "other@example.org", store.RoleMemberStaff, member(t, ts, "SMESCO Indonesia"))
	v := trainingValues()
	v.Set("kind", store.KindLive)
	id := createTraining(t, staff, v)
	now := ts.clock.Now()
	a, err := ts.store.AddSession(t.Context(), id, now.Add(24*time.Hour), now.Add(25*time.Hour))
	require.NoError(t, err)
	b, err := ts.store.AddSession(t.Context(), id, now.Add(48*time.Hour), now.Add(49*time.Hour))
	require.NoError(t, err)
	learner, lu := ts.person(t, "learner@example.org", store.RoleLearner, "")
	res, _ := learner.postForm(t, "/trainings/"+id+"/enrol", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)

	// sessionsSeen is the start of each session the learner's training
	// page lists, and of each event of its calendar.
	sessionsSeen := func() (page, calendar []string) {
		t.Helper()
		res, body := learner.get(t, "/trainings/"+id)
		require.Equal(t, http.StatusOK, res.StatusCode)
		for _, n := range doc(t, body).Find(`[data-testid="session"] time`).Nodes {
			for _, at := range n.Attr {
				if at.Key == "datetime" {
					page = append(page, at.Val)
				}
			}
		}
		res, body = learner.get(t, "/trainings/"+id+"/calendar.ics")
		require.Equal(t, http.StatusOK, res.StatusCode)
		for _, e := range parseICS(t, []byte(body)) {
			calendar = append(calendar, icsInstant(t, e["DTSTART"]).Format(time.RFC3339))
		}
		return page, calendar
	}
	card := func() store.Card {
		t.Helper()
		cards, err := ts.store.Cards(t.Context(), store.CatalogueFilter{})
		require.NoError(t, err)
		for _, c := range cards {
			if c.ID == id {
				return c
			}
		}
		t.Fatal("the training has no card")
		return store.Card{}
	}
	both := []string{a.StartsAt.Format(time.RFC3339), b.StartsAt.Format(time.RFC3339)}
	page, cal := sessionsSeen()
	require.Equal(t, both, page)
	require.Equal(t, both, cal)

	t.Run("another Member's staff and forged ids get 404", func(t *testing.T) {
		for _, path := range []string{
			"/console/trainings/" + id + "/sessions/" + a.ID + "/hide",
			"/console/trainings/" + id + "/sessions/" + a.ID + "/show",
		} {
			res, _ := other.postForm(t, path, nil)
			assert.Equal(t, http.StatusNotFound, res.StatusCode, path)
		}
		otherID := createTraining(t, other, v)
		foreign, err := ts.store.AddSession(t.Context(), otherID, now.Add(24*time.Hour), now.Add(25*time.Hour))
		require.NoError(t, err)
		for _, path := range []string{
			"/console/trainings/" + id + "/sessions/" + foreign.ID + "/hide", // another training's session
			"/console/trainings/" + id + "/sessions/" + store.NewID() + "/hide",
			"/console/trainings/" + id + "/sessions/not-an-id/show",
		} {
			res, _ := staff.postForm(t, path, nil)
			assert.Equal(t, http.StatusNotFound, res.StatusCode, path)
		}
		se, err := ts.store.TrainingSession(t.Context(), otherID, foreign.ID)
		require.NoError(t, err)
		assert.False(t, se.Hidden, "the other Member's session is untouched")
		page, _ := sessionsSeen()
		assert.Equal(t, both, page)
	})

	t.Run("hide: learners lose it, staff see it marked hidden", func(t *testing.T) {
		res, _ := staff.postForm(t, "/console/trainings/"+id+"/sessions/"+a.ID+"/hide", nil)
		require.Equal(t, http.StatusSeeOther, res.StatusCode)
		page, cal := sessionsSeen()
		assert.Equal(t, both[1:], page, "the training page lacks the hidden session")
		assert.Equal(t, both[1:], cal, "the calendar lacks the hidden session")
		c := card()
		assert.Equal(t, 1, c.Sessions, "the card counts only visible sessions")
		assert.Equal(t, b.StartsAt, c.NextStart.UTC(), "the card's next start skips the hidden session")
		assert.True(t, auditedBy(t, ts, "training.session.hide", id, su.ID))

		_, body := staff.get(t, "/console/trainings/"+id)
		d := doc(t, body)
		assert.Equal(t, 2, d.Find(`[data-testid="manage-session"]`).Length(), "staff still see both")
		hidden := d.Find(`[data-testid="manage-session"][data-id="` + a.ID + `"] [data-testid="hidden"]`)
		assert.Equal(t, 1, hidden.Length(), "marked hidden")
		assert.Equal(t, 1, d.Find(`form[action="/console/trainings/`+id+`/sessions/`+a.ID+`/show"]`).Length(), "with Show")

		op, _ := ts.person(t, "ops@example.org", store.RoleOperator, "")
		res, _ = op.postForm(t, "/console/trainings/"+id+"/sessions/"+a.ID+"/attendance", map[string][]string{"user_id": {lu.ID}})
		require.Equal(t, http.StatusSeeOther, res.StatusCode, "attendance at a hidden session can still be marked")
	})

	t.Run("show brings it back", func(t *testing.T) {
		res, _ := staff.postForm(t, "/console/trainings/"+id+"/sessions/"+a.ID+"/show", nil)
		require.Equal(t, http.StatusSeeOther, res.StatusCode)
		page, cal := sessionsSeen()
		assert.Equal(t, both, page)
		assert.Equal(t, both, cal)
		assert.Equal(t, 2, card().Sessions)
		_, body := staff.get(t, "/console/trainings/"+id)
		assert.Equal(t, 0, doc(t, body).Find(`[data-testid="manage-session"] [data-testid="hidden"]`).Length())
	})
}
