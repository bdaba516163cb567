package app

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"kelas/store"
)

func TestPasswordProblem(t *testing.T) {
	personal := []string{"Siti", "Rahmawati", "siti.rahmawati@example.org", "Batik Makmur"}
	for _, tt := range []struct {
		name       string
		password   string
		privileged bool
		refused    string // part of the reason; "" means accepted
	}{
		{"digit run", "12345678", false, "too easy"},
		{"digit run for operators", "123456789012", true, "too easy"},
		{"common word", "password", false, "too easy"},
		{"email local part", "siti.rahmawati", false, "own name"},
		{"name and year", "rahmawati2026", false, "own name"},
		{"company", "batikmakmur!", false, "own name"},
		{"short", "abc", false, "at least 8"},
		{"short for operators", "Kx9#mQ2!vL", true, "at least 12"},
		{"too long", strings.Repeat("ab", 37), false, "at most 72"},
		{"repeated word", strings.Repeat("password", 9), false, "too easy"},
		{"passphrase", "kain batik tulis 2026", false, ""},
		{"learner length is enough", "Kx9#mQ2!vL", false, ""},
		{"operator passphrase", "tropical orchid greenhouse", true, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := PasswordProblem(tt.password, tt.privileged, personal...)
			if tt.refused == "" {
				assert.Empty(t, got)
			} else {
				assert.Contains(t, got, tt.refused)
			}
		})
	}
}

// BenchmarkPasswordProblem measures the check on the longest accepted
// password, the worst case for the estimator; it must stay under 5 ms.
func BenchmarkPasswordProblem(b *testing.B) {
	personal := []string{"Siti", "Rahmawati", "siti.rahmawati@example.org", "Batik Makmur"}
	cases := map[string]string{
		"typical":  "kain batik tulis 2026",
		"longest":  strings.Repeat("kain batik tulis ", 4) + "2026", // 72 bytes
		"random72": "Qz8#vL2!mK9@pX4$wR7%nT1^bY6&hJ3*cF5(dG0)sA8-eU2=iO4+kM6~lN9_oP1|qS3[rV5w",
	}
	for name, pw := range cases {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				PasswordProblem(pw, true, personal...)
			}
		})
	}
}

// TestWeakPasswordsRefusedOverHTTP: "12345678" and the email's local part
// were accepted for every role; now registration, a change and an operator's
// change refuse them with the reason at the field, and nothing changes.
func TestWeakPasswordsRefusedOverHTTP(t *testing.T) {
	ts := newTestServer(t)
	for _, pw := range []string{"12345678", "siti.rahmawati"} {
		v := registration()
		v.Set("password", pw)
		res, body := ts.postForm(t, "/register", v)
		require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode, pw)
		assert.NotEmpty(t, doc(t, body).Find(`[data-testid="error-password"]`).Text(), pw)
		assert.Equal(t, 1, doc(t, body).Find(`[data-testid="error-summary"] a[href="#password"]`).Length())
		_, err := ts.store.UserByEmail(t.Context(), "siti.rahmawati@example.org")
		require.ErrorIs(t, err, store.ErrNotFound, "no account made")
	}

	op, opUser := ts.person(t, "ops.lead@example.org", store.RoleOperator, "")
	for _, pw := range []string{"12345678", "ops-lead-2026", "Kx9#mQ2!vL"} {
		res, body := op.postForm(t, "/profile/password", url.Values{"current_password": {"a long test password"},
			"password": {pw}, "code": {totpCode(t, ts, opUser.ID)}})
		require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode, pw)
		assert.NotEmpty(t, doc(t, body).Find(`[data-testid="error-password"]`).Text(), pw)
	}
	after, err := ts.store.User(t.Context(), opUser.ID)
	require.NoError(t, err)
	assert.Equal(t, opUser.PasswordHash, after.PasswordHash, "unchanged")
}
