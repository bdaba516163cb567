package store

import (
	"slices"
	"strings"
	"testing"
	"unicode"
)

// FuzzNameWords: the words of any name or query (an operator's search
// box is outside input) are sorted, distinct, non-empty, lower-case
// letters and digits only; folding them again changes nothing; and a
// name always matches a query made of its own words.
func FuzzNameWords(f *testing.F) {
	for _, s := range []string{"Siti Rahmawati", "  José  Ñúñez-García ", "İstanbul", "ß", "O'Brien", "李 小龍", "\x00\xff", "a a A"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		words := nameWords(name)
		if !slices.IsSorted(words) || len(slices.Compact(slices.Clone(words))) != len(words) {
			t.Fatalf("%q: words not sorted and distinct: %q", name, words)
		}
		for _, w := range words {
			if w == "" {
				t.Fatalf("%q: an empty word", name)
			}
			for _, r := range w {
				if !unicode.IsLetter(r) && !unicode.IsNumber(r) {
					t.Fatalf("%q: word %q holds %q", name, w, r)
				}
			}
		}
		again := nameWords(strings.Join(words, " "))
		if !slices.Equal(again, words) {
			t.Fatalf("%q: folding is not stable: %q then %q", name, words, again)
		}
		if !hasWords(words, words) {
			t.Fatalf("%q: a name does not match its own words", name)
		}
		if len(words) > 1 && !hasWords(words, words[1:]) {
			t.Fatalf("%q: a name does not match part of its words", name)
		}
	})
}
