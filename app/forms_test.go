package app

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"kelas/store"
)

func formWith(t testing.TB, name, value string) *form {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(url.Values{name: {value}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	f, err := parseForm(r)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// FuzzFormFields feeds arbitrary input to every field reader: whatever they
// accept is valid UTF-8, bounded, and free of control characters where the
// field is single-line.
func FuzzFormFields(f *testing.F) {
	for _, s := range []string{"Siti", "  a@b.co ", "+62 (21) 555-0199", "line\nbreak", "\x00", "\xff", "<script>", strings.Repeat("é", 101)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		check := func(kind, got string, ok bool, max int, multiline bool) {
			if !ok {
				return
			}
			if !utf8.ValidString(got) || utf8.RuneCountInString(got) > max {
				t.Fatalf("%s accepted %q", kind, got)
			}
			for _, r := range got {
				if unicode.IsControl(r) && !(multiline && (r == '\n' || r == '\t')) {
					t.Fatalf("%s accepted a control character in %q", kind, got)
				}
			}
		}
		fm := formWith(t, "x", v)
		got := fm.text("x", "X", 1, 100)
		check("text", got, fm.Valid(), 100, false)

		fm = formWith(t, "x", v)
		got = fm.email("x")
		check("email", got, fm.Valid(), 254, false)
		if fm.Valid() && !strings.Contains(got, "@") {
			t.Fatalf("email accepted %q", got)
		}

		fm = formWith(t, "x", v)
		got = fm.phone("x", "Phone")
		check("phone", got, fm.Valid(), 30, false)

		fm = formWith(t, "x", v)
		got = fm.multiline("x", "About", 2000)
		check("multiline", got, fm.Valid(), 2000, true)

		fm = formWith(t, "x", v)
		if pw := fm.password("x"); fm.Valid() && (len(pw) < 8 || len(pw) > 72 || !utf8.ValidString(pw)) {
			t.Fatalf("password accepted %q", pw)
		}
	})
}

// A malformed body is the sender's mistake: 400, and the parser's message,
// which quotes what was sent (a password, an address), stays out of the log.
func TestMalformedBodyIsBadRequest(t *testing.T) {
	ts := newTestServer(t)
	learner, _ := ts.person(t, "learner@example.org", store.RoleLearner, "")
	for name, c := range map[string]struct {
		client      *testServer
		path, ctype string
		body        string
	}{
		"bad escape in a login":      {ts, "/login", "application/x-www-form-urlencoded", "email=siti%40example.org&password=secret%zzpass"},
		"bad escape in a form":       {learner, "/rights/rectification", "application/x-www-form-urlencoded", "correction=Siti%zz"},
		"broken multipart profile":   {learner, "/profile", "multipart/form-data; boundary=xyz", "--xyz\r\nContent-Disposition: form-data; name=\"first_name\"\r\n\r\nSiti"},
		"multipart without boundary": {learner, "/profile", "multipart/form-data", "first_name=Siti"},
	} {
		t.Run(name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, c.client.URL+c.path, strings.NewReader(c.body))
			require.NoError(t, err)
			req.Header.Set("Content-Type", c.ctype)
			res, _ := c.client.do(t, req)
			assert.Equal(t, http.StatusBadRequest, res.StatusCode)
		})
	}
	assert.NotContains(t, ts.logs.String(), "secret", "no request text in the log")
	assert.NotContains(t, ts.logs.String(), "Siti")
	assert.NotContains(t, ts.logs.String(), "request failed")
}
