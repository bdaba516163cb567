package app

import (
	"math"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/trustelem/zxcvbn"

	"kelas/i18n"
)

// Password lengths. bcrypt reads at most 72 bytes, so longer passwords
// would be silently cut: they are refused instead.
const (
	minPasswordBytes           = 8
	minPrivilegedPasswordBytes = 12
	maxPasswordBytes           = 72
)

// PasswordProblem says why password may not be used, or "" when it may.
// Accounts that see other people's personal data (privileged) need 12
// bytes and a stronger estimate; everyone is refused a common password,
// keyboard or digit runs, and anything built from their own name, email
// address or company (personal). The estimate is zxcvbn's, fed those
// personal words. The reason is in English, for the console; forms show
// the catalogue's message of passwordProblemKey in the person's language.
func PasswordProblem(password string, privileged bool, personal ...string) string {
	if key := passwordProblemKey(password, privileged, personal...); key != "" {
		return i18n.NewPrinter(i18n.Default, nil, "").T(key)
	}
	return ""
}

// passwordProblemKey is the catalogue key of PasswordProblem's reason, or
// "" when password may be used.
func passwordProblemKey(password string, privileged bool, personal ...string) string {
	min := minPasswordBytes
	if privileged {
		min = minPrivilegedPasswordBytes
	}
	switch {
	case password == "":
		return "password.empty"
	case !utf8.ValidString(password):
		return "password.invalid_characters"
	case len(password) > maxPasswordBytes:
		return "password.too_long"
	case len(password) < min && privileged:
		return "password.too_short_privileged"
	case len(password) < min:
		return "password.too_short"
	}
	words := personalWords(personal)
	lower := strings.ToLower(password)
	// What is left once the person's own words are taken out must still be
	// a password: "siti2026" or "ops-lead-2026" are not.
	rest, found := lower, false
	for _, w := range words {
		if len(w) >= 3 && strings.Contains(rest, w) {
			rest, found = strings.ReplaceAll(rest, w, ""), true
		}
	}
	if found && alnumCount(rest) < minPasswordBytes {
		return "password.personal"
	}
	// zxcvbn's scores 2 and 3 start at 10^6 and 10^8 guesses.
	need := 6.0
	if privileged {
		need = 8.0
	}
	if guessesLog10(password, words, need) < need {
		return "password.too_easy"
	}
	return ""
}

// personalWords splits names and addresses into the lower-case words a
// guesser would try first: the email's local part and domain name, and
// each word of a name.
func personalWords(values []string) []string {
	var out []string
	for _, v := range values {
		v = strings.ToLower(strings.TrimSpace(v))
		if v == "" {
			continue
		}
		if local, domain, ok := strings.Cut(v, "@"); ok {
			out = append(out, local)
			if name, _, ok := strings.Cut(domain, "."); ok {
				out = append(out, name)
			}
			v = local
		}
		out = append(out, strings.FieldsFunc(v, func(r rune) bool {
			return r == ' ' || r == '.' || r == '_' || r == '-' || r == '+'
		})...)
	}
	return out
}

// estimatorWindow bounds what zxcvbn reads at once: its cost grows much
// faster than the length (a 72-byte password of mixed symbols takes a third
// of a second whole, under a millisecond in pieces of 16).
const estimatorWindow = 16

// guessesLog10 estimates log10 of the guesses needed for password: a
// password that is one unit repeated counts as the unit; the rest is
// estimated in windows whose guesses multiply, stopping as soon as enough
// is reached, so a strong password costs one window.
func guessesLog10(password string, words []string, enough float64) float64 {
	password = repeatedUnit(password)
	total := 0.0
	for start := 0; start < len(password) && total < enough; {
		end := min(start+estimatorWindow, len(password))
		for end < len(password) && !utf8.RuneStart(password[end]) {
			end--
		}
		if g := zxcvbn.PasswordStrength(password[start:end], words).Guesses; g > 1 {
			total += math.Log10(g)
		}
		start = end
	}
	return total
}

// repeatedUnit returns the shortest unit that password repeats ("abcabc"
// is "abc"), or password itself.
func repeatedUnit(password string) string {
	n := len(password)
	for size := 1; size <= n/2; size++ {
		if n%size == 0 && strings.Repeat(password[:size], n/size) == password {
			return password[:size]
		}
	}
	return password
}

func alnumCount(s string) int {
	n := 0
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			n++
		}
	}
	return n
}
