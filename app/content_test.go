package app

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"kelas/store"
)

// addPage has staff add a page material over HTTP.
func addPage(t *testing.T, staff *testServer, trainingID, title string) {
	t.Helper()
	res, _ := staff.postMultipart(t, "/console/trainings/"+trainingID+"/materials", url.Values{"material_kind": {"page"},
		"material_title": {title}, "material_body": {"About " + title + "."}}, "", "", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
}

// addQuestion has staff add a question over HTTP.
func addQuestion(t *testing.T, staff *testServer, trainingID, prompt string) {
	t.Helper()
	res, _ := staff.postForm(t, "/console/trainings/"+trainingID+"/questions", url.Values{"question_prompt": {prompt},
		"question_choice_1": {"Yes"}, "question_choice_2": {"No"}, "question_correct": {"1"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
}

// learnerMaterials is the titles of the materials a learner sees on the
// training page, in order.
func learnerMaterials(t *testing.T, learner *testServer, id string) []string {
	t.Helper()
	res, body := learner.get(t, "/trainings/"+id)
	require.Equal(t, http.StatusOK, res.StatusCode)
	var out []string
	doc(t, body).Find(`[data-testid="materials"] li a`).Each(func(_ int, s *goquery.Selection) {
		out = append(out, strings.TrimSpace(s.Text()))
	})
	return out
}

// dashboardProgress is the learner's progress bar of their only training.
func dashboardProgress(t *testing.T, learner *testServer) (value, max string) {
	t.Helper()
	res, body := learner.get(t, "/dashboard")
	require.Equal(t, http.StatusOK, res.StatusCode)
	bar := doc(t, body).Find(`[data-testid="progress-bar"]`)
	require.Equal(t, 1, bar.Length(), "one progress bar per training")
	return bar.AttrOr("value", ""), bar.AttrOr("max", "")
}

// managedIDs are the ids of the items of a list on the staff page.
func managedIDs(t *testing.T, staff *testServer, id, testid string) []string {
	t.Helper()
	res, body := staff.get(t, "/console/trainings/"+id)
	require.Equal(t, http.StatusOK, res.StatusCode)
	var out []string
	doc(t, body).Find(`[data-testid="` + testid + `"]`).Each(func(_ int, s *goquery.Selection) {
		out = append(out, s.AttrOr("data-id", ""))
	})
	return out
}

// auditedBy reports whether the audit log holds action on target by actor.
func auditedBy(t *testing.T, ts *testServer, action, target, actor string) bool {
	t.Helper()
	entries, err := ts.store.AuditLog(t.Context(), 500)
	require.NoError(t, err)
	for _, e := range entries {
		if e.Action == action && e.TargetID == target && e.ActorID == actor {
			return true
		}
	}
	return false
}

// TestStaffManageAPublishedTraining: Member staff edit, reorder, hide and
// delete the materials and questions of a published training over HTTP; a
// learner enrolled before the edits sees the new order at once and keeps
// their progress; every change is audited with who made it; another
// Member's staff and forged ids get 404 and change nothing.
func TestStaffManageAPublishedTraining(t *testing.T) {
	ts := newTestServer(t)
	staff, su := ts.person(t, "staff@example.org", store.RoleMemberStaff, member(t, ts, "SME Corporation Malaysia"))
	other, _ := ts.person(t, "other@example.org", store.RoleMemberStaff, member(t, ts, "SMESCO Indonesia"))
	id := createTraining(t, staff, trainingValues())
	for _, title := range []string{"Alpha", "Bravo", "Charlie"} {
		addPage(t, staff, id, title)
	}
	addQuestion(t, staff, id, "First question?")
	addQuestion(t, staff, id, "Second question?")
	mats := managedIDs(t, staff, id, "manage-material")
	qs := managedIDs(t, staff, id, "manage-question")
	require.Len(t, mats, 3)
	require.Len(t, qs, 2)
	alpha, bravo, charlie := mats[0], mats[1], mats[2]

	learner, _ := ts.person(t, "learner@example.org", store.RoleLearner, "")
	res, _ := learner.postForm(t, "/trainings/"+id+"/enrol", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	res, _ = learner.get(t, "/trainings/"+id+"/materials/"+alpha)
	require.Equal(t, http.StatusOK, res.StatusCode)
	v, m := dashboardProgress(t, learner)
	require.Equal(t, []string{"1", "3"}, []string{v, m})

	t.Run("preview renders the markdown and saves nothing", func(t *testing.T) {
		res, body := staff.postForm(t, "/console/trainings/"+id+"/materials/"+bravo, url.Values{"material_title": {"Bravo two"},
			"material_body": {"# Heading\n\nSome **bold** text."}, "preview": {"1"}})
		require.Equal(t, http.StatusOK, res.StatusCode)
		d := doc(t, body)
		assert.Equal(t, "bold", d.Find(`[data-testid="preview"] strong`).Text())
		assert.Equal(t, "Bravo two", d.Find(`#material_title`).AttrOr("value", ""), "the form keeps what was typed")
		assert.Contains(t, d.Find(`#material_body`).Text(), "Some **bold** text.")
		mt, err := ts.store.Material(t.Context(), id, bravo)
		require.NoError(t, err)
		assert.Equal(t, "Bravo", mt.Title, "a preview saves nothing")
	})

	t.Run("an invalid edit is refused at the field with the form kept", func(t *testing.T) {
		res, body := staff.postForm(t, "/console/trainings/"+id+"/materials/"+bravo, url.Values{"material_title": {""},
			"material_body": {"Kept text."}})
		require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
		d := doc(t, body)
		assert.NotEmpty(t, d.Find(`[data-testid="error-material_title"]`).Text())
		assert.Contains(t, d.Find(`#material_body`).Text(), "Kept text.")
	})

	t.Run("an edit is seen at once and audited", func(t *testing.T) {
		res, _ := staff.postForm(t, "/console/trainings/"+id+"/materials/"+bravo, url.Values{"material_title": {"Bravo two"},
			"material_body": {"New text."}})
		require.Equal(t, http.StatusSeeOther, res.StatusCode)
		assert.Equal(t, []string{"Alpha", "Bravo two", "Charlie"}, learnerMaterials(t, learner, id))
		assert.True(t, auditedBy(t, ts, "training.material.update", id, su.ID))
		v := trainingValues()
		v.Set("title", "Bookkeeping, second edition")
		res, _ = staff.postForm(t, "/console/trainings/"+id, v)
		require.Equal(t, http.StatusSeeOther, res.StatusCode)
		_, body := learner.get(t, "/trainings/"+id)
		assert.Equal(t, "Bookkeeping, second edition", doc(t, body).Find("h1").Text())
		assert.True(t, auditedBy(t, ts, "training.update", id, su.ID), "the edit of a published training is audited with who made it")
	})

	t.Run("another Member's staff and forged ids get 404 and change nothing", func(t *testing.T) {
		for _, path := range []string{
			"/console/trainings/" + id + "/materials/" + charlie + "/move",
			"/console/trainings/" + id + "/materials/" + charlie + "/delete",
			"/console/trainings/" + id + "/materials/" + charlie + "/hide",
			"/console/trainings/" + id + "/questions/" + qs[1] + "/delete",
		} {
			res, _ := other.postForm(t, path, url.Values{"direction": {"up"}})
			assert.Equal(t, http.StatusNotFound, res.StatusCode, path)
		}
		otherID := createTraining(t, other, trainingValues())
		addPage(t, other, otherID, "Elsewhere")
		foreign := managedIDs(t, other, otherID, "manage-material")[0]
		for _, path := range []string{
			"/console/trainings/" + id + "/materials/" + foreign + "/delete", // another training's material
			"/console/trainings/" + id + "/materials/" + store.NewID() + "/move",
			"/console/trainings/" + id + "/materials/not-an-id/hide",
			"/console/trainings/" + id + "/questions/" + store.NewID() + "/delete",
			"/console/trainings/" + id + "/sessions/" + store.NewID() + "/delete",
		} {
			res, _ := staff.postForm(t, path, url.Values{"direction": {"up"}})
			assert.Equal(t, http.StatusNotFound, res.StatusCode, path)
		}
		_, err := ts.store.Material(t.Context(), otherID, foreign)
		assert.NoError(t, err, "the other Member's material is still there")
		assert.Equal(t, []string{"Alpha", "Bravo two", "Charlie"}, learnerMaterials(t, learner, id))
	})

	t.Run("reorder: the learner sees the new order and keeps progress", func(t *testing.T) {
		res, _ := staff.postForm(t, "/console/trainings/"+id+"/materials/"+charlie+"/move", url.Values{"direction": {"up"}})
		require.Equal(t, http.StatusSeeOther, res.StatusCode)
		res, _ = staff.postForm(t, "/console/trainings/"+id+"/materials/"+charlie+"/move", url.Values{"direction": {"up"}})
		require.Equal(t, http.StatusSeeOther, res.StatusCode)
		res, _ = staff.postForm(t, "/console/trainings/"+id+"/materials/"+alpha+"/move", url.Values{"direction": {"down"}})
		require.Equal(t, http.StatusSeeOther, res.StatusCode)
		assert.Equal(t, []string{"Charlie", "Bravo two", "Alpha"}, learnerMaterials(t, learner, id))
		v, m := dashboardProgress(t, learner)
		assert.Equal(t, []string{"1", "3"}, []string{v, m}, "progress survives the reorder")
		res, _ = staff.postForm(t, "/console/trainings/"+id+"/materials/"+alpha+"/move", url.Values{"direction": {"sideways"}})
		assert.Equal(t, http.StatusBadRequest, res.StatusCode)
		assert.True(t, auditedBy(t, ts, "training.material.move", id, su.ID))
	})

	t.Run("hide and delete materials", func(t *testing.T) {
		res, _ := staff.postForm(t, "/console/trainings/"+id+"/materials/"+bravo+"/hide", nil)
		require.Equal(t, http.StatusSeeOther, res.StatusCode)
		assert.Equal(t, []string{"Charlie", "Alpha"}, learnerMaterials(t, learner, id))
		res, _ = learner.get(t, "/trainings/"+id+"/materials/"+bravo)
		assert.Equal(t, http.StatusNotFound, res.StatusCode, "a hidden material is not there for learners")
		v, m := dashboardProgress(t, learner)
		assert.Equal(t, []string{"1", "2"}, []string{v, m}, "a hidden material does not count")
		_, body := staff.get(t, "/console/trainings/"+id)
		assert.Equal(t, 1, doc(t, body).Find(`[data-testid="hidden"]`).Length(), "staff still see it, marked hidden")

		res, _ = staff.postForm(t, "/console/trainings/"+id+"/materials/"+bravo+"/show", nil)
		require.Equal(t, http.StatusSeeOther, res.StatusCode)
		assert.Equal(t, []string{"Charlie", "Bravo two", "Alpha"}, learnerMaterials(t, learner, id))

		res, _ = staff.postForm(t, "/console/trainings/"+id+"/materials/"+charlie+"/delete", nil)
		require.Equal(t, http.StatusSeeOther, res.StatusCode)
		assert.Equal(t, []string{"Bravo two", "Alpha"}, learnerMaterials(t, learner, id))
		v, m = dashboardProgress(t, learner)
		assert.Equal(t, []string{"1", "2"}, []string{v, m}, "the learner keeps what they did")
		assert.True(t, auditedBy(t, ts, "training.material.delete", id, su.ID))
	})

	t.Run("edit, reorder, hide and delete questions", func(t *testing.T) {
		q, err := ts.store.ManagedQuestion(t.Context(), id, qs[0])
		require.NoError(t, err)
		res, body := staff.postForm(t, "/console/trainings/"+id+"/questions/"+qs[0], url.Values{"question_prompt": {"First, reworded?"},
			"question_choice_1": {""}, "question_choice_2": {"No"}, "question_correct": {q.Choices[1].ID}})
		require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
		assert.NotEmpty(t, doc(t, body).Find(`[data-testid="error-question_choice_1"]`).Text())
		assert.Equal(t, "First, reworded?", doc(t, body).Find(`#question_prompt`).AttrOr("value", ""))
		res, _ = staff.postForm(t, "/console/trainings/"+id+"/questions/"+qs[0], url.Values{"question_prompt": {"First, reworded?"},
			"question_choice_1": {"Yes"}, "question_choice_2": {"No"}, "question_correct": {q.Choices[1].ID}})
		require.Equal(t, http.StatusSeeOther, res.StatusCode)
		res, _ = staff.postForm(t, "/console/trainings/"+id+"/questions/"+qs[1]+"/move", url.Values{"direction": {"up"}})
		require.Equal(t, http.StatusSeeOther, res.StatusCode)
		quiz := func() []string {
			// A new attempt each time: an open one keeps the questions
			// it was started with.
			_, err := rawDB(t, ts).ExecContext(t.Context(), "DELETE FROM quiz_sittings")
			require.NoError(t, err)
			res, _ := learner.postForm(t, "/trainings/"+id+"/quiz/start", nil)
			if res.StatusCode == http.StatusNotFound {
				return nil
			}
			require.Equal(t, http.StatusSeeOther, res.StatusCode)
			res, body := learner.get(t, "/trainings/"+id+"/quiz")
			require.Equal(t, http.StatusOK, res.StatusCode)
			var out []string
			doc(t, body).Find(`legend`).Each(func(_ int, s *goquery.Selection) { out = append(out, strings.TrimSpace(s.Text())) })
			return out
		}
		assert.Equal(t, []string{"1. Second question?", "2. First, reworded?"}, quiz())
		res, _ = staff.postForm(t, "/console/trainings/"+id+"/questions/"+qs[1]+"/hide", nil)
		require.Equal(t, http.StatusSeeOther, res.StatusCode)
		assert.Equal(t, []string{"1. First, reworded?"}, quiz())
		res, _ = staff.postForm(t, "/console/trainings/"+id+"/questions/"+qs[0]+"/delete", nil)
		require.Equal(t, http.StatusSeeOther, res.StatusCode)
		assert.Nil(t, quiz(), "no visible question left: no quiz")
		assert.Len(t, managedIDs(t, staff, id, "manage-question"), 1, "the hidden question stays for staff")
		assert.True(t, auditedBy(t, ts, "training.question.update", id, su.ID))
	})

	t.Run("duplicate and archive", func(t *testing.T) {
		res, _ := staff.postForm(t, "/console/trainings/"+id+"/duplicate", nil)
		require.Equal(t, http.StatusSeeOther, res.StatusCode)
		copyID := strings.TrimPrefix(res.Header.Get("Location"), "/console/trainings/")
		require.NotEqual(t, id, copyID)
		c, err := ts.store.Training(t.Context(), copyID)
		require.NoError(t, err)
		assert.False(t, c.Published, "the copy is a draft")
		assert.Len(t, managedIDs(t, staff, copyID, "manage-material"), 2)

		res, _ = staff.postForm(t, "/console/trainings/"+id+"/archive", nil)
		require.Equal(t, http.StatusSeeOther, res.StatusCode)
		_, body := learner.get(t, "/trainings")
		assert.NotContains(t, body, "/trainings/"+id+`"`, "an archived training leaves the catalogue")
		newcomer, _ := ts.person(t, "newcomer@example.org", store.RoleLearner, "")
		_, body = newcomer.get(t, "/trainings/"+id)
		assert.Zero(t, doc(t, body).Find(`[data-testid="enrol"]`).Length(), "closed to new enrolments")
		res, _ = newcomer.postForm(t, "/trainings/"+id+"/enrol", nil)
		assert.Equal(t, http.StatusForbidden, res.StatusCode)
		v, m := dashboardProgress(t, learner)
		assert.Equal(t, []string{"1", "2"}, []string{v, m}, "the enrolled learner keeps their record")
		assert.True(t, auditedBy(t, ts, "training.archive", id, su.ID))
	})
}

// TestLiveSessionsEditAndDelete: staff move a session's date and delete
// one; a session with attendance recorded stays.
func TestLiveSessionsEditAndDelete(t *testing.T) {
	ts := newTestServer(t)
	staff, _ := ts.person(t, "staff@example.org", store.RoleMemberStaff, member(t, ts, "SME Corporation Malaysia"))
	v := trainingValues()
	v.Set("kind", store.KindLive)
	id := createTraining(t, staff, v)
	now := ts.clock.Now()
	a, err := ts.store.AddSession(t.Context(), id, now.Add(24*time.Hour), now.Add(25*time.Hour))
	require.NoError(t, err)
	b, err := ts.store.AddSession(t.Context(), id, now.Add(48*time.Hour), now.Add(49*time.Hour))
	require.NoError(t, err)

	res, body := staff.get(t, "/console/trainings/"+id+"/sessions/"+a.ID)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.NotEmpty(t, doc(t, body).Find(`#session_starts`).AttrOr("value", ""))
	res, body = staff.postForm(t, "/console/trainings/"+id+"/sessions/"+a.ID, url.Values{"session_starts": {"2026-04-02T10:00"},
		"session_ends": {"2026-04-02T09:00"}, "session_zone": {"UTC"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	assert.NotEmpty(t, doc(t, body).Find(`[data-testid="error-session_ends"]`).Text())
	res, _ = staff.postForm(t, "/console/trainings/"+id+"/sessions/"+a.ID, url.Values{"session_starts": {"2026-04-02T10:00"},
		"session_ends": {"2026-04-02T12:00"}, "session_zone": {"UTC"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	se, err := ts.store.TrainingSession(t.Context(), id, a.ID)
	require.NoError(t, err)
	assert.Equal(t, time.Date(2026, 4, 2, 10, 0, 0, 0, time.UTC), se.StartsAt)

	learner, lu := ts.person(t, "learner@example.org", store.RoleLearner, "")
	res, _ = learner.postForm(t, "/trainings/"+id+"/enrol", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	require.NoError(t, ts.store.MarkAttendance(t.Context(), b.ID, lu.ID, "x"))
	res, _ = staff.postForm(t, "/console/trainings/"+id+"/sessions/"+b.ID+"/delete", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	_, err = ts.store.TrainingSession(t.Context(), id, b.ID)
	assert.NoError(t, err, "a session with attendance stays")
	res, _ = staff.postForm(t, "/console/trainings/"+id+"/sessions/"+a.ID+"/delete", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	_, err = ts.store.TrainingSession(t.Context(), id, a.ID)
	assert.ErrorIs(t, err, store.ErrNotFound)
}
