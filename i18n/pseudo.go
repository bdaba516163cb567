package i18n

import (
	"strings"

	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// pseudoLetters maps ASCII letters to accented look-alikes.
var pseudoLetters = map[rune]rune{
	'a': 'ȧ', 'b': 'ƀ', 'c': 'ƈ', 'd': 'ḓ', 'e': 'ḗ', 'f': 'ƒ', 'g': 'ɠ', 'h': 'ħ', 'i': 'ī', 'j': 'ĵ',
	'k': 'ķ', 'l': 'ŀ', 'm': 'ḿ', 'n': 'ƞ', 'o': 'ǿ', 'p': 'ƥ', 'q': 'ɋ', 'r': 'ř', 's': 'ş', 't': 'ŧ',
	'u': 'ŭ', 'v': 'ṽ', 'w': 'ẇ', 'x': 'ẋ', 'y': 'ẏ', 'z': 'ẑ',
	'A': 'Ȧ', 'B': 'Ɓ', 'C': 'Ƈ', 'D': 'Ḓ', 'E': 'Ḗ', 'F': 'Ƒ', 'G': 'Ɠ', 'H': 'Ħ', 'I': 'Ī', 'J': 'Ĵ',
	'K': 'Ķ', 'L': 'Ŀ', 'M': 'Ḿ', 'N': 'Ƞ', 'O': 'Ǿ', 'P': 'Ƥ', 'Q': 'Ɋ', 'R': 'Ř', 'S': 'Ş', 'T': 'Ŧ',
	'U': 'Ŭ', 'V': 'Ṽ', 'W': 'Ẇ', 'X': 'Ẋ', 'Y': 'Ẏ', 'Z': 'Ẑ',
}

// PseudoText is s with its letters accented, as the pseudo-locale shows
// English text.
func PseudoText(s string) string {
	return strings.Map(func(r rune) rune {
		if p, ok := pseudoLetters[r]; ok {
			return p
		}
		return r
	}, s)
}

// pseudoLocale is English with every message's text accented; placeholders
// are kept, so the values filled in (user content) stay as they are.
func pseudoLocale(en *Locale) *Locale {
	l := &Locale{Code: Pseudo, Tag: language.English, msgs: map[string]*msg{}, same: map[string]bool{},
		fallback: nil, printer: message.NewPrinter(language.English), dates: dateFormats["en"]}
	for key, m := range en.msgs {
		pm := &msg{forms: map[string][]segment{}}
		for form, segs := range m.forms {
			out := make([]segment, len(segs))
			for i, s := range segs {
				if !s.arg {
					s.text = PseudoText(s.text)
				}
				out[i] = s
			}
			pm.forms[form] = out
		}
		l.msgs[key] = pm
	}
	d := l.dates
	for i := range d.months {
		d.months[i] = PseudoText(d.months[i])
		d.shortMonths[i] = PseudoText(d.shortMonths[i])
	}
	for i := range d.weekdays {
		d.weekdays[i] = PseudoText(d.weekdays[i])
	}
	l.dates = d
	return l
}
