package app

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"kelas/store"
)

// TestStudyFromTheDashboard: a learner logs in and lands on the dashboard,
// continues where they left off, moves on to the next material, marks it
// done, and sees the progress bar move; then they leave the training after
// a page that says what is kept and for how long.
func TestStudyFromTheDashboard(t *testing.T) {
	ts := newTestServer(t)
	staff, _ := ts.person(t, "staff@example.org", store.RoleMemberStaff, member(t, ts, "SME Corporation Malaysia"))
	id := createTraining(t, staff, trainingValues())
	for _, title := range []string{"Alpha", "Bravo", "Charlie"} {
		addPage(t, staff, id, title)
	}
	mats := managedIDs(t, staff, id, "manage-material")
	require.Len(t, mats, 3)

	hash, err := bcrypt.GenerateFromPassword([]byte("a long test password"), bcrypt.MinCost)
	require.NoError(t, err)
	u, err := ts.store.CreateUser(t.Context(), store.NewUser{AcceptedPolicy: seededPolicy, Email: "ani@example.org", FirstName: "Ani",
		Surname: "Learner", PasswordHash: string(hash), Role: store.RoleLearner, Verified: true})
	require.NoError(t, err)
	require.NoError(t, ts.store.Enrol(t.Context(), u.ID, id))

	learner := ts.newClient(t)
	res, _ := learner.postForm(t, "/login", url.Values{"email": {"ani@example.org"}, "password": {"a long test password"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	require.Equal(t, "/dashboard", res.Header.Get("Location"), "a learner lands on their dashboard, not the home page")

	res, body := learner.get(t, "/dashboard")
	require.Equal(t, http.StatusOK, res.StatusCode)
	d := doc(t, body)
	assert.Equal(t, "0", d.Find(`[data-testid="progress-bar"]`).AttrOr("value", ""))
	assert.Contains(t, d.Find(`[data-testid="dashboard-progress"]`).Text(), "0 of 3 required materials", "the progress in words too")
	cont := d.Find(`[data-testid="continue"]`).AttrOr("href", "")
	require.Equal(t, "/trainings/"+id+"/materials/"+mats[0], cont, "continue starts at the first material")

	res, body = learner.get(t, cont)
	require.Equal(t, http.StatusOK, res.StatusCode)
	d = doc(t, body)
	assert.Zero(t, d.Find(`[data-testid="prev"]`).Length(), "the first material has no previous one")
	next := d.Find(`[data-testid="next"]`).AttrOr("href", "")
	require.Equal(t, "/trainings/"+id+"/materials/"+mats[1], next)
	assert.Equal(t, 1, d.Find(`[data-testid="done"]`).Length(), "opening a page counts it as done")

	v, m := dashboardProgress(t, learner)
	assert.Equal(t, []string{"1", "3"}, []string{v, m})
	res, body = learner.get(t, "/dashboard")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "/trainings/"+id+"/materials/"+mats[1], doc(t, body).Find(`[data-testid="continue"]`).AttrOr("href", ""),
		"continue goes to where the learner left off")

	res, body = learner.get(t, next)
	require.Equal(t, http.StatusOK, res.StatusCode)
	d = doc(t, body)
	assert.Equal(t, "/trainings/"+id+"/materials/"+mats[0], d.Find(`[data-testid="prev"]`).AttrOr("href", ""))
	assert.Equal(t, "/trainings/"+id+"/materials/"+mats[2], d.Find(`[data-testid="next"]`).AttrOr("href", ""))

	// The last material: marked done by hand, without opening it.
	res, _ = learner.postForm(t, "/trainings/"+id+"/materials/"+mats[2]+"/done", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Equal(t, "/trainings/"+id, res.Header.Get("Location"), "after the last material, back to the training")
	v, m = dashboardProgress(t, learner)
	assert.Equal(t, []string{"1", "1"}, []string{v, m}, "all done: the training is complete")
	res, body = learner.get(t, "/dashboard")
	require.Equal(t, http.StatusOK, res.StatusCode)
	d = doc(t, body)
	assert.Zero(t, d.Find(`[data-testid="continue"]`).Length(), "nothing left to continue")
	assert.Contains(t, d.Find(`[data-testid="dashboard-progress"]`).Text(), "Completed")
	e, err := ts.store.Enrolment(t.Context(), u.ID, id)
	require.NoError(t, err)
	require.NotEmpty(t, e.CertificateCode)

	t.Run("marking done moves on to the next material", func(t *testing.T) {
		other := createTraining(t, staff, trainingValues())
		addPage(t, staff, other, "One")
		addPage(t, staff, other, "Two")
		ms := managedIDs(t, staff, other, "manage-material")
		require.NoError(t, ts.store.Enrol(t.Context(), u.ID, other))
		res, _ := learner.postForm(t, "/trainings/"+other+"/materials/"+ms[0]+"/done", nil)
		require.Equal(t, http.StatusSeeOther, res.StatusCode)
		assert.Equal(t, "/trainings/"+other+"/materials/"+ms[1], res.Header.Get("Location"))
		e, err := ts.store.Enrolment(t.Context(), u.ID, other)
		require.NoError(t, err)
		assert.Equal(t, 1, e.MaterialsViewed)
		// Someone not enrolled has no progress to mark.
		res, _ = staff.postForm(t, "/trainings/"+other+"/materials/"+ms[1]+"/done", nil)
		assert.Equal(t, http.StatusForbidden, res.StatusCode)
	})

	t.Run("leaving says what is kept and for how long", func(t *testing.T) {
		// The periods come from the data map and the rules in force: an
		// operator's change shows here.
		require.NoError(t, ts.store.SetRetentionRules(t.Context(), "x", map[string]int{store.RetActivity: 200}))
		res, body := learner.get(t, "/trainings/"+id+"/leave")
		require.Equal(t, http.StatusOK, res.StatusCode)
		d := doc(t, body)
		kept := d.Find(`[data-testid="leave-kept"]`).Text()
		assert.Contains(t, kept, "Your quiz attempts and grades: while your account exists", "the data map's retention of learning records")
		assert.Contains(t, kept, "Activity log entries: 200 days", "the activity log's retention rule in force")
		assert.Contains(t, d.Find(`[data-testid="leave-certificate"]`).Text(), e.CertificateCode)

		res, _ = learner.postForm(t, "/trainings/"+id+"/leave", nil)
		require.Equal(t, http.StatusSeeOther, res.StatusCode)
		assert.Equal(t, "/dashboard", res.Header.Get("Location"))
		_, err := ts.store.Enrolment(t.Context(), u.ID, id)
		assert.ErrorIs(t, err, store.ErrNotFound)
		viewed, err := ts.store.ViewedMaterials(t.Context(), u.ID, id)
		require.NoError(t, err)
		assert.Empty(t, viewed, "the record of materials done goes")
		c, err := ts.store.CertificateByCode(t.Context(), e.CertificateCode)
		require.NoError(t, err, "the certificate stays valid")
		assert.Equal(t, id, c.TrainingID)
		res, _ = learner.get(t, "/trainings/"+id+"/leave")
		assert.Equal(t, http.StatusNotFound, res.StatusCode, "nothing left to leave")

		// Coming back and finishing again keeps the first certificate.
		res, _ = learner.postForm(t, "/trainings/"+id+"/enrol", nil)
		require.Equal(t, http.StatusSeeOther, res.StatusCode)
		for _, mid := range mats {
			res, _ = learner.postForm(t, "/trainings/"+id+"/materials/"+mid+"/done", nil)
			require.Equal(t, http.StatusSeeOther, res.StatusCode)
		}
		again, err := ts.store.Enrolment(t.Context(), u.ID, id)
		require.NoError(t, err)
		assert.True(t, again.Completed())
		assert.Equal(t, e.CertificateCode, again.CertificateCode)
	})
}
