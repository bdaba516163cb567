package app

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"kelas/store"
)

// TestTrainingFormsRefuseBadInput: each sub-form of a training answers a
// bad value with 422 on the form and stores nothing; what does not exist
// (a session of a self-study training, an unknown session or learner) is
// 404.
func TestTrainingFormsRefuseBadInput(t *testing.T) {
	ts := newTestServer(t)
	op, _ := ts.person(t, "ops@example.org", store.RoleOperator, "")
	smecorp := member(t, ts, "SME Corporation Malaysia")

	// An operator names the Member; a made-up one is refused.
	for _, bad := range []string{"", "not-an-id", store.NewID()} {
		v := trainingValues()
		v.Set("member_id", bad)
		res, body := op.postForm(t, "/console/trainings", v)
		require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode, bad)
		assert.NotEmpty(t, doc(t, body).Find(`[data-testid="error-member_id"]`).Text())
	}
	ts0, err := ts.store.Trainings(t.Context(), store.CatalogueFilter{IncludeUnpublished: true})
	require.NoError(t, err)
	v := trainingValues()
	v.Set("member_id", smecorp)
	id := createTraining(t, op, v)
	tr, err := ts.store.Training(t.Context(), id)
	require.NoError(t, err)
	assert.Equal(t, smecorp, tr.MemberID)
	all, err := ts.store.Trainings(t.Context(), store.CatalogueFilter{IncludeUnpublished: true})
	require.NoError(t, err)
	assert.Len(t, all, len(ts0)+1, "only the valid form made a training")

	// Details: a pass mark out of range.
	bad := trainingValues()
	bad.Set("pass_mark", "101")
	res, body := op.postForm(t, "/console/trainings/"+id, bad)
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	assert.NotEmpty(t, doc(t, body).Find(`[data-testid="error-pass_mark"]`).Text())
	tr, err = ts.store.Training(t.Context(), id)
	require.NoError(t, err)
	assert.Equal(t, 60, tr.PassMark)

	// Materials: a page without text, a link without an address, a file
	// kind without a file.
	for _, m := range []url.Values{
		{"material_kind": {"page"}, "material_title": {"Empty page"}},
		{"material_kind": {"video"}, "material_title": {"A video"}},
		{"material_kind": {"link"}, "material_title": {"A link"}, "material_url": {"not a link"}},
		{"material_kind": {"file"}, "material_title": {"A file"}},
	} {
		res, _ := op.postMultipart(t, "/console/trainings/"+id+"/materials", m, "", "", nil)
		require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode, m.Get("material_kind"))
	}
	ms, err := ts.store.Materials(t.Context(), id)
	require.NoError(t, err)
	assert.Empty(t, ms)

	// Questions: the correct choice must be one filled in.
	res, body = op.postForm(t, "/console/trainings/"+id+"/questions", url.Values{"question_prompt": {"Which is an asset?"},
		"question_choice_1": {"Cash"}, "question_choice_2": {"A loan"}, "question_correct": {"3"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	assert.NotEmpty(t, doc(t, body).Find(`[data-testid="error-question_correct"]`).Text())
	qs, err := ts.store.Quiz(t.Context(), id)
	require.NoError(t, err)
	assert.Empty(t, qs)

	// Sessions belong to live trainings only, with real dates.
	res, _ = op.postForm(t, "/console/trainings/"+id+"/sessions", url.Values{"session_starts": {"2026-04-01T10:00"}, "session_ends": {"2026-04-01T12:00"}})
	assert.Equal(t, http.StatusNotFound, res.StatusCode)
	live := trainingValues()
	live.Set("member_id", smecorp)
	live.Set("kind", "live")
	live.Set("place", "Kuala Lumpur")
	liveID := createTraining(t, op, live)
	res, body = op.postForm(t, "/console/trainings/"+liveID+"/sessions", url.Values{"session_starts": {"tomorrow"}, "session_ends": {"later"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	d := doc(t, body)
	assert.NotEmpty(t, d.Find(`[data-testid="error-session_starts"]`).Text())
	assert.NotEmpty(t, d.Find(`[data-testid="error-session_ends"]`).Text())
	ss, err := ts.store.TrainingSessions(t.Context(), liveID)
	require.NoError(t, err)
	assert.Empty(t, ss)

	// Attendance: forged or unknown ids.
	res, _ = op.postForm(t, "/console/trainings/"+liveID+"/sessions", url.Values{"session_starts": {"2026-04-01T10:00"}, "session_ends": {"2026-04-01T12:00"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	ss, err = ts.store.TrainingSessions(t.Context(), liveID)
	require.NoError(t, err)
	require.Len(t, ss, 1)
	_, learner := ts.person(t, "learner@example.org", store.RoleLearner, "")
	for name, path := range map[string]string{
		"forged session id":  "/console/trainings/" + liveID + "/sessions/x/attendance",
		"unknown session id": "/console/trainings/" + liveID + "/sessions/" + store.NewID() + "/attendance",
	} {
		res, _ := op.postForm(t, path, url.Values{"user_id": {learner.ID}})
		assert.Equal(t, http.StatusNotFound, res.StatusCode, name)
	}
	res, _ = op.postForm(t, "/console/trainings/"+liveID+"/sessions/"+ss[0].ID+"/attendance", url.Values{"user_id": {"forged"}})
	assert.Equal(t, http.StatusNotFound, res.StatusCode)
}

// TestTrainingWritesSurviveStoreFailures: when the database refuses the
// write behind a training form, the answer is the error page and nothing
// is half-stored; an upload whose folder cannot be made stores no
// material either.
func TestTrainingWritesSurviveStoreFailures(t *testing.T) {
	ts := newTestServer(t)
	staff, _ := ts.person(t, "staff@example.org", store.RoleMemberStaff, member(t, ts, "SME Corporation Malaysia"))
	id := createTraining(t, staff, trainingValues())

	steps := []struct {
		name, op, table, path string
		form                  url.Values
		multipart             bool
	}{
		{"new training", "INSERT", "trainings", "/console/trainings", trainingValues(), false},
		{"details", "UPDATE", "trainings", "/console/trainings/" + id, trainingValues(), false},
		{"page", "INSERT", "materials", "/console/trainings/" + id + "/materials",
			url.Values{"material_kind": {"page"}, "material_title": {"Cash book"}, "material_body": {"Write down every sale."}}, true},
		{"question", "INSERT", "questions", "/console/trainings/" + id + "/questions", url.Values{"question_prompt": {"Which is an asset?"},
			"question_choice_1": {"Cash"}, "question_choice_2": {"A loan"}, "question_correct": {"1"}}, false},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			fault(t, ts, s.op, s.table)
			n := injectedFailures(ts)
			var res *http.Response
			var body string
			if s.multipart {
				res, body = staff.postMultipart(t, s.path, s.form, "", "", nil)
			} else {
				res, body = staff.postForm(t, s.path, s.form)
			}
			failsInside(t, ts, n, res, body)
		})
	}
	ms, err := ts.store.Materials(t.Context(), id)
	require.NoError(t, err)
	assert.Empty(t, ms)
	qs, err := ts.store.Quiz(t.Context(), id)
	require.NoError(t, err)
	assert.Empty(t, qs)

	// The files folder is a file: the upload cannot be kept.
	files := filepath.Join(ts.app.cfg.DataDir, "files")
	require.NoError(t, os.RemoveAll(files))
	require.NoError(t, os.WriteFile(files, []byte("in the way"), 0o600))
	res, _ := staff.postMultipart(t, "/console/trainings/"+id+"/materials", url.Values{"material_kind": {"file"},
		"material_title": {"Template"}}, "material_file", "template.txt", []byte("Date, sale, amount\n"))
	require.Equal(t, http.StatusInternalServerError, res.StatusCode)
	ms, err = ts.store.Materials(t.Context(), id)
	require.NoError(t, err)
	assert.Empty(t, ms, "no material without its file")

	// A live training's session cannot be stored.
	live := trainingValues()
	live.Set("kind", "live")
	liveID := createTraining(t, staff, live)
	fault(t, ts, "INSERT", "training_sessions")
	n := injectedFailures(ts)
	res, body := staff.postForm(t, "/console/trainings/"+liveID+"/sessions", url.Values{"session_starts": {"2026-04-01T10:00"}, "session_ends": {"2026-04-01T12:00"}})
	failsInside(t, ts, n, res, body)
}
