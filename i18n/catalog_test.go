package i18n

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCataloguesLoad(t *testing.T) {
	require.NoError(t, Check())
	assert.Greater(t, len(Get(Default).Keys()), 20)
}

// keyUse finds message keys given as literals to the catalogue's
// functions: t(ctx, "k"), tn(ctx, "k", n), tr(r, "k"), trn(r, "k", n),
// .T("k"), .N("k", n), and Key: "k" (errors, whose texts are
// KEY.heading and friends).
var keyUse = regexp.MustCompile(`(?:\bt\(ctx, |\btn\(ctx, |\btr\(r, |\btrn\(r, |\.T\(|\.N\()"([a-z0-9_]+(?:\.[a-z0-9_]+)+)"`)

// TestEveryKeyUsedExists: every key the code asks for is in the English
// catalogue, so no page ever shows a bare key.
func TestEveryKeyUsedExists(t *testing.T) {
	en := Get(Default)
	found := 0
	for _, dir := range []string{"../app", "../views", "../jobs", "../mail", ".."} {
		files, err := filepath.Glob(filepath.Join(dir, "*"))
		require.NoError(t, err)
		for _, f := range files {
			if !strings.HasSuffix(f, ".go") && !strings.HasSuffix(f, ".templ") || strings.HasSuffix(f, "_templ.go") {
				continue
			}
			b, err := os.ReadFile(f)
			require.NoError(t, err)
			for _, m := range keyUse.FindAllStringSubmatch(string(b), -1) {
				found++
				assert.True(t, en.Has(m[1]), "%s asks for %q, which the English catalogue lacks", f, m[1])
			}
		}
	}
	assert.Greater(t, found, 20, "the scan finds the keys")
}

// TestCataloguesAreComplete: every English key exists in every language
// with the same placeholders, plural messages cover the language's CLDR
// categories for integers, and no text is empty or the English one unless
// marked as intentionally the same.
func TestCataloguesAreComplete(t *testing.T) {
	en := Get(Default)
	for _, lang := range Languages()[1:] {
		t.Run(lang.Code, func(t *testing.T) {
			l := Get(lang.Code)
			if len(l.Keys()) == 0 {
				t.Skipf("no catalogue for %s yet", lang.Code)
			}
			cats := l.IntegerForms()
			var missing []string
			for _, key := range en.Keys() {
				if !l.Has(key) {
					missing = append(missing, key)
					continue
				}
				enForms, forms := en.Forms(key), l.Forms(key)
				enPlural := !slices.Equal(enForms, []string{""})
				if enPlural {
					for _, c := range cats {
						assert.Contains(t, forms, c, "%s: plural form %q missing", key, c)
					}
				} else {
					assert.Equal(t, []string{""}, forms, "%s: a plain message in English", key)
				}
				want := en.Placeholders(key)
				var enNames map[string]bool
				for _, names := range want {
					enNames = names // plural forms share their placeholders (count aside)
					break
				}
				for form, names := range l.Placeholders(key) {
					for n := range names {
						if n == "count" && enPlural {
							continue
						}
						assert.True(t, enNames[n], "%s (%s): placeholder {%s} not in English", key, form, n)
					}
					for n := range enNames {
						if n == "count" && enPlural {
							continue
						}
						assert.True(t, names[n], "%s (%s): placeholder {%s} missing", key, form, n)
					}
					text, _ := l.Raw(key, form)
					assert.NotEmpty(t, strings.TrimSpace(text), "%s (%s): empty", key, form)
					enText, ok := en.Raw(key, form)
					if !ok {
						enText, _ = en.Raw(key, "other")
					}
					if text == enText && !l.SameAsEnglish(key) && strings.ContainsFunc(text, isLetter) {
						t.Errorf("%s (%s): the English text, not marked as intentionally the same", key, form)
					}
				}
			}
			for _, key := range l.Keys() {
				if !en.Has(key) {
					t.Errorf("%s: not in the English catalogue", key)
				}
			}
			assert.Empty(t, missing, "keys missing in %s", lang.Code)
		})
	}
}

func isLetter(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' }

func TestPlaceholdersAndPlurals(t *testing.T) {
	en := Get(Default)
	assert.Equal(t, "a minute", en.N("duration.minutes", 1))
	assert.Equal(t, "2 minutes", en.N("duration.minutes", 2))
	assert.Equal(t, "1,234 minutes", en.N("duration.minutes", 1234))
	assert.Equal(t, "no.such.key", en.T("no.such.key"), "a missing key shows as itself")
	p := NewPrinter("en", nil, "Portal")
	assert.Equal(t, "Portal home", p.T("layout.home_label"), "{site} is filled from the printer")
	assert.Equal(t, "About · Portal", p.T("layout.title", "page", "About"))
	assert.Equal(t, "{page} · Portal", p.T("layout.title"), "a missing argument shows as its placeholder")

	_, err := parse("a {b")
	assert.Error(t, err)
	_, err = parse("a } b")
	assert.Error(t, err)
	_, err = parse("{Bad}")
	assert.Error(t, err)
	segs, err := parse("x {a} y {b_2}")
	require.NoError(t, err)
	assert.Len(t, segs, 4)
}

func TestPluralCategories(t *testing.T) {
	assert.Equal(t, []string{"one", "other"}, Get("en").IntegerForms())
	assert.Equal(t, []string{"other"}, Get("th").IntegerForms())
	assert.Equal(t, []string{"other"}, Get("vi").IntegerForms())
	assert.Equal(t, []string{"one", "other"}, Get("fil").IntegerForms())
	// Filipino: 1, 2, 3, 5, 7, 8, 10 are "one"; 4, 6, 9, 14 are "other".
	assert.Equal(t, "one", Get("fil").FormName(2))
	assert.Equal(t, "other", Get("fil").FormName(4))
}

func TestCatalogueFileRefusesDuplicateKeys(t *testing.T) {
	_, err := decodeEntries([]byte(`{"a.b": "x", "a.c": "y", "a.b": "z"}`))
	assert.ErrorContains(t, err, `"a.b" written twice`)
	es, err := decodeEntries([]byte(`{"a.b": "x", "a.c": {"one": "y", "other": "ys"}}`))
	require.NoError(t, err)
	assert.Len(t, es, 2)
	_, err = decodeEntries([]byte(`["a"]`))
	assert.Error(t, err)
}
