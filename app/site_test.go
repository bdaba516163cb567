package app

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"kelas/store"
)

// TestFaviconIsServed: browsers ask every site for /favicon.ico; it is an
// icon, not a 404, and every page links its hashed, long-cached copy.
func TestFaviconIsServed(t *testing.T) {
	ts := newTestServer(t)
	res, err := ts.client.Get(ts.URL + "/favicon.ico")
	require.NoError(t, err)
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "image/x-icon", res.Header.Get("Content-Type"))
	assert.True(t, bytes.HasPrefix(body, []byte{0, 0, 1, 0}), "an ICO file")

	_, page := ts.get(t, "/trainings")
	href, ok := doc(t, page).Find(`link[rel="icon"]`).Attr("href")
	require.True(t, ok, "pages link the icon")
	res, err = ts.client.Get(ts.URL + href)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, res.Header.Get("Cache-Control"), "immutable")
}

// TestLogoutByLinkAsksFirst: GET /logout logs nobody out (a link, a
// prefetch or a crawler must not); it shows the button whose POST does.
func TestLogoutByLinkAsksFirst(t *testing.T) {
	ts := newTestServer(t)
	res, _ := ts.get(t, "/logout")
	assert.Equal(t, http.StatusSeeOther, res.StatusCode, "a visitor goes home")
	assert.Equal(t, "/", res.Header.Get("Location"))

	c, _ := ts.person(t, "leaving@example.org", store.RoleLearner, "")
	res, body := c.get(t, "/logout")
	require.Equal(t, http.StatusOK, res.StatusCode)
	form := doc(t, body).Find(`[data-testid="logout"] form[method="post"][action="/logout"]`)
	assert.Equal(t, 1, form.Length(), "the page's button logs out")
	res, _ = c.get(t, "/dashboard")
	assert.Equal(t, http.StatusOK, res.StatusCode, "still logged in after the GET")

	res, _ = c.postForm(t, "/logout", url.Values{})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	res, _ = c.get(t, "/dashboard")
	assert.Equal(t, http.StatusSeeOther, res.StatusCode, "logged out by the POST")
}
