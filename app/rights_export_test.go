package app

import (
	"archive/zip"
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"kelas/store"
)

// TestPortabilityThroughThePortal: re-authentication, background build,
// progress page, download after confirming the password, another person's
// export hidden, expiry answered with 410.
func TestPortabilityThroughThePortal(t *testing.T) {
	fx := newRightsFixture(t)
	res, _ := fx.learner.postForm(t, "/rights/export", url.Values{"password": {"not it"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	res, _ = fx.learner.postForm(t, "/rights/export", url.Values{"password": {"a long test password"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	status := res.Header.Get("Location")
	require.True(t, strings.HasPrefix(status, "/rights/export/"), status)
	id := strings.TrimPrefix(status, "/rights/export/")

	var body string
	require.Eventually(t, func() bool {
		res, body = fx.learner.get(t, status)
		return res.StatusCode == http.StatusOK && doc(t, body).Find(`[data-testid="export-ready"]`).Length() == 1
	}, 10*time.Second, 50*time.Millisecond)

	res, zipBody := fx.learner.get(t, status+"/download")
	require.Equal(t, http.StatusOK, res.StatusCode, "confirmed a moment ago: the download works")
	assert.Equal(t, "application/zip", res.Header.Get("Content-Type"))
	zr, err := zip.NewReader(bytes.NewReader([]byte(zipBody)), int64(len(zipBody)))
	require.NoError(t, err)
	names := map[string]bool{}
	for _, f := range zr.File {
		names[f.Name] = true
	}
	for _, want := range []string{"data.json", "index.html", "SHA256SUMS"} {
		assert.True(t, names[want], want)
	}

	other, _ := fx.ts.person(t, "other@example.org", store.RoleLearner, "")
	res, _ = other.get(t, status)
	assert.Equal(t, http.StatusNotFound, res.StatusCode, "another person's export")
	res, _ = other.get(t, status+"/download")
	assert.Equal(t, http.StatusNotFound, res.StatusCode)

	// Later, the download needs the password again; after 7 days it is gone.
	fx.ts.clock.Add(time.Hour)
	res, _ = fx.learner.get(t, status+"/download")
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	res, _ = fx.learner.postForm(t, status+"/download", url.Values{"password": {"a long test password"}})
	require.Equal(t, http.StatusOK, res.StatusCode)

	// With a second factor, the download asks for a code as well.
	enrolTOTP(t, fx.ts, fx.user.ID)
	require.Equal(t, http.StatusSeeOther, fx.learner.signIn(t, fx.user.Email, "a long test password").StatusCode)
	res, body = fx.learner.postForm(t, status+"/download", url.Values{"password": {"a long test password"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	assert.NotEmpty(t, doc(t, body).Find(`[data-testid="error-code"]`).Text())
	res, _ = fx.learner.get(t, status+"/download")
	require.Equal(t, http.StatusSeeOther, res.StatusCode, "a right password alone confirms nothing")
	res, _ = fx.learner.postForm(t, status+"/download", url.Values{"password": {"a long test password"}, "code": {fx.learner.code(t)}})
	require.Equal(t, http.StatusOK, res.StatusCode)
	fx.ts.clock.Add(8 * 24 * time.Hour)
	res, body = fx.learner.postForm(t, status+"/download", url.Values{"password": {"a long test password"}, "code": {fx.learner.code(t)}})
	assert.Equal(t, http.StatusGone, res.StatusCode)
	assert.Contains(t, body, "expired")

	cases, err := fx.ts.store.Cases(t.Context(), store.CaseFilter{UserID: fx.user.ID, Kind: store.CasePortability})
	require.NoError(t, err)
	assert.Len(t, cases, 1)
	_ = id
}

func TestUnverifiedCannotExport(t *testing.T) {
	ts := newTestServer(t)
	res, _ := ts.postForm(t, "/register", registration())
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	res, _ = ts.postForm(t, "/login", url.Values{"email": {"siti.rahmawati@example.org"}, "password": {"kain batik tulis 2026"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	res, _ = ts.postForm(t, "/rights/export", url.Values{"password": {"kain batik tulis 2026"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Equal(t, "/rights#portability", res.Header.Get("Location"))
	_, err := ts.store.LatestExport(t.Context(), mustUser(t, ts).ID)
	assert.ErrorIs(t, err, store.ErrNotFound)
}
