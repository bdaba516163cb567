package app

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"kelas/i18n"
	"kelas/store"
)

// TestEveryMessageKeyIsInTheCatalogue: each message key an error of the
// HTTP package names has its text in a catalogue, so no answer ever shows
// a bare key.
func TestEveryMessageKeyIsInTheCatalogue(t *testing.T) {
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	key := regexp.MustCompile(`Key: "([a-z_.]+)"`)
	en := i18n.Get(i18n.Default)
	found := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, m := range key.FindAllStringSubmatch(string(b), -1) {
			found++
			_, page := messages[m[1]]
			page = page && en.Has(m[1]+".heading")
			field := en.Has("field." + m[1])
			assert.True(t, page || field || en.Has(m[1]), "%s: message key %q has no text", f, m[1])
		}
	}
	assert.Greater(t, found, 20, "the scan finds the keys")
	for status, k := range statusKeys {
		assert.Contains(t, messages, k, "status %d", status)
		assert.True(t, en.Has(k+".heading"), "status %d", status)
	}
}

// TestServeTurnsErrorsIntoAnswers: the one adapter answers each kind of
// error with its status and the catalogue's words, logs only what is ours
// to fix, and never shows the internal cause.
func TestServeTurnsErrorsIntoAnswers(t *testing.T) {
	ts := newTestServer(t)
	for _, tc := range []struct {
		err    error
		status int
		text   string
		logged bool
	}{
		{store.ErrNotFound, http.StatusNotFound, "Page not found", false},
		{errForbidden, http.StatusForbidden, "You cannot open this page", false},
		{store.ErrConflict, http.StatusConflict, "That conflicts", false},
		{tooMany(90e9), http.StatusTooManyRequests, "try again in about 2 minutes", false},
		{&Error{Status: http.StatusConflict, Key: "error.last_admin", Args: []any{"member", "Koperasi Maju"}, Link: "/console/members/x"},
			http.StatusConflict, "nobody at Koperasi Maju can invite", false},
		{errors.New("disk on fire: /secret/path"), http.StatusInternalServerError, "Something went wrong on our side", true},
	} {
		before := strings.Count(ts.logs.String(), "request failed")
		rec := httptest.NewRecorder()
		ts.app.serve(anyone, func(http.ResponseWriter, *http.Request) error { return tc.err }).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, ts.URL+"/x", nil))
		assert.Equal(t, tc.status, rec.Code, "%v", tc.err)
		assert.Contains(t, rec.Body.String(), tc.text, "%v", tc.err)
		assert.NotContains(t, rec.Body.String(), "/secret/path", "the cause is never shown")
		assert.Equal(t, tc.logged, strings.Count(ts.logs.String(), "request failed") > before, "%v logged", tc.err)
	}
	// An answer already begun is not followed by an error page.
	rec := httptest.NewRecorder()
	ts.app.serve(anyone, func(w http.ResponseWriter, _ *http.Request) error {
		w.WriteHeader(http.StatusOK)
		w.Write([]byte("partial"))
		return errors.New("stream broke")
	}).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, ts.URL+"/x", nil))
	assert.Equal(t, "partial", rec.Body.String())
	assert.Contains(t, ts.logs.String(), "request failed after the answer started")
}
