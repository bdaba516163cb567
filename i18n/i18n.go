// Package i18n holds kelas's message catalogues and the formatting that
// depends on a person's language and time zone: messages by key with named
// placeholders and CLDR plural forms, dates, times and numbers.
//
// Catalogues are embedded JSON files, one per language
// (catalog/<code>.json): a flat object from message key to text, where a
// text may hold named placeholders ("{name}") and a plural message is an
// object from CLDR plural category ("one", "other", ...) to text, chosen by
// the count given to N. The key "@same" lists keys whose text is
// intentionally the same as the English one (a brand, a unit).
package i18n

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/text/feature/plural"
	"golang.org/x/text/language"
	"golang.org/x/text/language/display"
	"golang.org/x/text/message"
	"golang.org/x/text/number"
)

//go:embed catalog
var catalogFS embed.FS

// Language is one language kelas speaks.
type Language struct {
	// Code is the code used in URLs and stored on accounts (?lang=th).
	Code string
	// Name is the language's name in itself, for the switcher.
	Name string
	// English is its English name, for the console.
	English string
}

// Default is the language used when nothing else is known, and the
// language every catalogue falls back to.
const Default = "en"

// Pseudo is the code of the pseudo-locale: English with every letter
// replaced by an accented look-alike and each message bracketed, so text
// that bypasses the catalogue stands out. It is selectable only where the
// App enables it (tests).
const Pseudo = "qps"

var languages = []Language{
	{"en", "English", "English"},
	{"id", "Bahasa Indonesia", "Indonesian"},
	{"ms", "Bahasa Melayu", "Malay"},
	{"th", "ไทย", "Thai"},
	{"vi", "Tiếng Việt", "Vietnamese"},
	{"fil", "Filipino", "Filipino"},
	{"km", "ខ្មែរ", "Khmer"},
	{"lo", "ລາວ", "Lao"},
	{"my", "မြန်မာ", "Burmese"},
}

// Languages lists the languages kelas speaks, English first.
func Languages() []Language { return append([]Language(nil), languages...) }

// Supported reports whether code is one of Languages.
func Supported(code string) bool {
	for _, l := range languages {
		if l.Code == code {
			return true
		}
	}
	return false
}

// segment is a piece of a message: literal text or a placeholder.
type segment struct {
	text string
	arg  bool
}

// msg is a parsed message: its segments per plural form ("" when the
// message has no plural forms).
type msg struct {
	forms map[string][]segment
}

// Locale is one language's catalogue and formats.
type Locale struct {
	Code string
	Tag  language.Tag
	msgs map[string]*msg
	// same lists keys marked as intentionally equal to English.
	same map[string]bool
	// fallback is English, for a key this catalogue lacks.
	fallback *Locale
	printer  *message.Printer
	dates    dateFormat
	// names caches country and language names by "r:CODE" / "l:CODE".
	names sync.Map
}

var (
	loadOnce sync.Once
	locales  map[string]*Locale
	loadErr  error
)

// load reads every embedded catalogue once.
func load() {
	locales = map[string]*Locale{}
	en, err := loadLocale(Default, nil)
	if err != nil {
		loadErr = err
		return
	}
	locales[Default] = en
	for _, l := range languages[1:] {
		loc, err := loadLocale(l.Code, en)
		if err != nil {
			loadErr = err
			return
		}
		locales[l.Code] = loc
	}
	locales[Pseudo] = pseudoLocale(en)
}

// Check reports a catalogue that does not load; kelas refuses to start
// with one (tests load every catalogue too).
func Check() error {
	loadOnce.Do(load)
	return loadErr
}

// Get returns the locale of code, or English for an unknown code.
func Get(code string) *Locale {
	loadOnce.Do(load)
	if loadErr != nil {
		panic("i18n: " + loadErr.Error())
	}
	if l, ok := locales[code]; ok {
		return l
	}
	return locales[Default]
}

// loadLocale parses catalog/<code>.json and any catalog/<code>.*.json
// parts, refusing a key defined twice.
func loadLocale(code string, fallback *Locale) (*Locale, error) {
	tag := language.MustParse(code)
	l := &Locale{Code: code, Tag: tag, msgs: map[string]*msg{}, same: map[string]bool{}, fallback: fallback,
		printer: message.NewPrinter(tag), dates: dateFormats[code]}
	files, err := fs.Glob(catalogFS, "catalog/"+code+".*json")
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	for _, f := range files {
		base := path.Base(f)
		if base != code+".json" && !strings.HasPrefix(base, code+".") {
			continue
		}
		raw, err := catalogFS.ReadFile(f)
		if err != nil {
			return nil, err
		}
		entries, err := decodeEntries(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		for _, e := range entries {
			key, v := e.key, e.value
			if key == "@same" {
				var keys []string
				if err := json.Unmarshal(v, &keys); err != nil {
					return nil, fmt.Errorf("%s: @same: %w", f, err)
				}
				for _, k := range keys {
					l.same[k] = true
				}
				continue
			}
			if _, dup := l.msgs[key]; dup {
				return nil, fmt.Errorf("%s: key %q defined twice", f, key)
			}
			m, err := parseEntry(v)
			if err != nil {
				return nil, fmt.Errorf("%s: %s: %w", f, key, err)
			}
			l.msgs[key] = m
		}
	}
	return l, nil
}

// parseEntry reads a message: a string, or an object of plural forms.
func parseEntry(v json.RawMessage) (*msg, error) {
	var s string
	if err := json.Unmarshal(v, &s); err == nil {
		segs, err := parse(s)
		if err != nil {
			return nil, err
		}
		return &msg{forms: map[string][]segment{"": segs}}, nil
	}
	var forms map[string]string
	if err := json.Unmarshal(v, &forms); err != nil {
		return nil, fmt.Errorf("neither a text nor plural forms")
	}
	m := &msg{forms: map[string][]segment{}}
	for form, s := range forms {
		if _, ok := formNames[form]; !ok {
			return nil, fmt.Errorf("unknown plural form %q", form)
		}
		segs, err := parse(s)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", form, err)
		}
		m.forms[form] = segs
	}
	if _, ok := m.forms["other"]; !ok {
		return nil, fmt.Errorf("plural message without an \"other\" form")
	}
	return m, nil
}

// parse splits a text into literal and placeholder segments. A
// placeholder is {name} with name of letters, digits and underscores.
func parse(s string) ([]segment, error) {
	var segs []segment
	for s != "" {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			if strings.IndexByte(s, '}') >= 0 {
				return nil, fmt.Errorf("unmatched }")
			}
			segs = append(segs, segment{text: s})
			break
		}
		if strings.IndexByte(s[:i], '}') >= 0 {
			return nil, fmt.Errorf("unmatched }")
		}
		if i > 0 {
			segs = append(segs, segment{text: s[:i]})
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			return nil, fmt.Errorf("unclosed {")
		}
		name := s[i+1 : i+j]
		if !validName(name) {
			return nil, fmt.Errorf("bad placeholder {%s}", name)
		}
		segs = append(segs, segment{text: name, arg: true})
		s = s[i+j+1:]
	}
	return segs, nil
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

var formNames = map[string]plural.Form{
	"other": plural.Other, "zero": plural.Zero, "one": plural.One,
	"two": plural.Two, "few": plural.Few, "many": plural.Many,
}

// Has reports whether the catalogue itself (not its fallback) has key.
func (l *Locale) Has(key string) bool { _, ok := l.msgs[key]; return ok }

// lookup finds key here or in English.
func (l *Locale) lookup(key string) *msg {
	if m, ok := l.msgs[key]; ok {
		return m
	}
	if l.fallback != nil {
		if m, ok := l.fallback.msgs[key]; ok {
			return m
		}
	}
	return nil
}

// T is the message of key with its placeholders filled from args, given
// as name, value pairs: T("rights.due", "date", d). A key missing from
// every catalogue shows as the key itself, so it is seen and fixed.
func (l *Locale) T(key string, args ...any) string {
	m := l.lookup(key)
	if m == nil {
		return key
	}
	segs, ok := m.forms[""]
	if !ok {
		segs = m.forms["other"]
	}
	return l.fill(segs, args)
}

// N is the plural message of key for count n: the form the language's
// CLDR rules choose for n, with {count} set to n written in the locale's
// digits, and the other placeholders from args.
func (l *Locale) N(key string, n int, args ...any) string {
	m := l.lookup(key)
	if m == nil {
		return key
	}
	segs, ok := m.forms[l.FormName(n)]
	if !ok {
		if segs, ok = m.forms[""]; !ok {
			segs = m.forms["other"]
		}
	}
	return l.fill(segs, append(args, "count", l.Number(n)))
}

// FormName is the CLDR plural category of the integer n in this language.
func (l *Locale) FormName(n int) string {
	if n < 0 {
		n = -n
	}
	f := plural.Cardinal.MatchPlural(l.Tag, n, 0, 0, 0, 0)
	for name, v := range formNames {
		if v == f {
			return name
		}
	}
	return "other"
}

// fill writes segs with the placeholders replaced by args.
func (l *Locale) fill(segs []segment, args []any) string {
	if len(segs) == 1 && !segs[0].arg {
		return segs[0].text
	}
	var b strings.Builder
	for _, s := range segs {
		if !s.arg {
			b.WriteString(s.text)
			continue
		}
		b.WriteString(argValue(s.text, args))
	}
	return b.String()
}

// argValue is the value of the placeholder name among the pairs in args,
// or the placeholder itself when it is not given.
func argValue(name string, args []any) string {
	for i := 0; i+1 < len(args); i += 2 {
		if k, _ := args[i].(string); k == name {
			switch v := args[i+1].(type) {
			case string:
				return v
			case int:
				return strconv.Itoa(v)
			case fmt.Stringer:
				return v.String()
			default:
				return fmt.Sprint(v)
			}
		}
	}
	return "{" + name + "}"
}

// Number writes n with the locale's digits and grouping.
func (l *Locale) Number(n int) string {
	if l.printer == nil {
		return strconv.Itoa(n)
	}
	return l.printer.Sprint(number.Decimal(n))
}

// Placeholders lists the placeholder names of key's text (every form), for
// the completeness test.
func (l *Locale) Placeholders(key string) map[string]map[string]bool {
	m, ok := l.msgs[key]
	if !ok {
		return nil
	}
	out := map[string]map[string]bool{}
	for form, segs := range m.forms {
		names := map[string]bool{}
		for _, s := range segs {
			if s.arg {
				names[s.text] = true
			}
		}
		out[form] = names
	}
	return out
}

// Keys lists the keys of this catalogue itself.
func (l *Locale) Keys() []string {
	keys := make([]string, 0, len(l.msgs))
	for k := range l.msgs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Raw is the text of key's form ("" for a plain message) as written in
// the catalogue, for the completeness test.
func (l *Locale) Raw(key, form string) (string, bool) {
	m, ok := l.msgs[key]
	if !ok {
		return "", false
	}
	segs, ok := m.forms[form]
	if !ok {
		return "", false
	}
	var b strings.Builder
	for _, s := range segs {
		if s.arg {
			b.WriteString("{" + s.text + "}")
		} else {
			b.WriteString(s.text)
		}
	}
	return b.String(), true
}

// Forms lists the plural forms key has in this catalogue ("" for a plain
// message).
func (l *Locale) Forms(key string) []string {
	m, ok := l.msgs[key]
	if !ok {
		return nil
	}
	var out []string
	for f := range m.forms {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

// SameAsEnglish reports whether key is marked as intentionally the same
// as English in this catalogue.
func (l *Locale) SameAsEnglish(key string) bool { return l.same[key] }

// IntegerForms lists the CLDR plural categories integers take in this
// language.
func (l *Locale) IntegerForms() []string {
	seen := map[string]bool{}
	for n := 0; n <= 1000; n++ {
		seen[l.FormName(n)] = true
	}
	var out []string
	for f := range seen {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

// Country is the name of the country with ISO code code in this language;
// english is its English name, used as it is in English.
func (l *Locale) Country(code, english string) string {
	switch l.Code {
	case Default:
		return english
	case Pseudo:
		return PseudoText(english)
	}
	if v, ok := l.names.Load("r:" + code); ok {
		return v.(string)
	}
	name := english
	if r, err := language.ParseRegion(code); err == nil {
		if n := display.Regions(l.Tag).Name(r); n != "" {
			name = n
		}
	}
	l.names.Store("r:"+code, name)
	return name
}

// LanguageName is the name of the language with code code in this
// language; english is its English name.
func (l *Locale) LanguageName(code, english string) string {
	switch l.Code {
	case Default:
		return english
	case Pseudo:
		return PseudoText(english)
	}
	if v, ok := l.names.Load("l:" + code); ok {
		return v.(string)
	}
	name := english
	if t, err := language.Parse(code); err == nil {
		if n := display.Languages(l.Tag).Name(t); n != "" {
			name = n
		}
	}
	l.names.Store("l:"+code, name)
	return name
}

type entry struct {
	key   string
	value json.RawMessage
}

// decodeEntries reads a catalogue file's object in order, refusing a key
// written twice (which a plain map would silently keep the last of).
func decodeEntries(raw []byte) ([]entry, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, fmt.Errorf("not a JSON object")
	}
	var out []entry
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := t.(string)
		if seen[key] {
			return nil, fmt.Errorf("key %q written twice", key)
		}
		seen[key] = true
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
		out = append(out, entry{key, v})
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	return out, nil
}
