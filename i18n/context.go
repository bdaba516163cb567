package i18n

import (
	"context"
	"strings"
	"time"

	"golang.org/x/text/language"
)

// Printer is what a request needs to speak to one person: their
// language, their time zone and the site's name (the {site} placeholder
// of every message).
type Printer struct {
	*Locale
	Zone *time.Location
	Site string
}

// NewPrinter is a printer for language code in zone (UTC when nil).
func NewPrinter(code string, zone *time.Location, site string) *Printer {
	if zone == nil {
		zone = time.UTC
	}
	if site == "" {
		site = "kelas"
	}
	return &Printer{Locale: Get(code), Zone: zone, Site: site}
}

type ctxKey struct{}

// With returns ctx carrying p.
func With(ctx context.Context, p *Printer) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// From returns the printer ctx carries, or an English one in UTC.
func From(ctx context.Context) *Printer {
	if ctx != nil {
		if p, ok := ctx.Value(ctxKey{}).(*Printer); ok {
			return p
		}
	}
	return NewPrinter(Default, time.UTC, "")
}

// T is the message of key (see Locale.T), with {site} filled in.
func (p *Printer) T(key string, args ...any) string {
	m := p.lookup(key)
	if m == nil {
		return key
	}
	segs, ok := m.forms[""]
	if !ok {
		segs = m.forms["other"]
	}
	return p.fillSite(segs, args)
}

// N is the plural message of key for n (see Locale.N), with {site}.
func (p *Printer) N(key string, n int, args ...any) string {
	return p.Locale.N(key, n, append(args, "site", p.Site)...)
}

// fillSite is fill with {site} taken from the printer when args do not
// name it.
func (p *Printer) fillSite(segs []segment, args []any) string {
	if len(segs) == 1 && !segs[0].arg {
		return segs[0].text
	}
	var b strings.Builder
	for _, s := range segs {
		switch {
		case !s.arg:
			b.WriteString(s.text)
		case s.text == "site" && !hasArg(args, "site"):
			b.WriteString(p.Site)
		default:
			b.WriteString(argValue(s.text, args))
		}
	}
	return b.String()
}

func hasArg(args []any, name string) bool {
	for i := 0; i+1 < len(args); i += 2 {
		if k, _ := args[i].(string); k == name {
			return true
		}
	}
	return false
}

// Local is t in the person's zone.
func (p *Printer) Local(t time.Time) time.Time { return t.In(p.Zone) }

// Date is t's date in the person's zone and language.
func (p *Printer) Date(t time.Time) string { return p.Locale.Date(p.Local(t)) }

// DateShort is t's date with a short month, in the person's zone.
func (p *Printer) DateShort(t time.Time) string { return p.Locale.DateShort(p.Local(t)) }

// DayMonth is t's day and month in the person's zone.
func (p *Printer) DayMonth(t time.Time) string { return p.Locale.DayMonth(p.Local(t)) }

// WeekdayDay is t's weekday, day and month in the person's zone.
func (p *Printer) WeekdayDay(t time.Time) string { return p.Locale.WeekdayDay(p.Local(t)) }

// Clock is t's time of day in the person's zone.
func (p *Printer) Clock(t time.Time) string { return p.Locale.Clock(p.Local(t)) }

// DateTime is t's date and time in the person's zone.
func (p *Printer) DateTime(t time.Time) string { return p.Locale.DateTime(p.Local(t)) }

// ZoneName is the abbreviation of the person's zone at t ("WIB", "ICT",
// or an offset such as "+07" where the zone has no abbreviation).
func (p *Printer) ZoneName(t time.Time) string {
	name, _ := t.In(p.Zone).Zone()
	return name
}

// matcher matches Accept-Language against the languages kelas speaks.
var matcher = func() language.Matcher {
	tags := make([]language.Tag, len(languages))
	for i, l := range languages {
		tags[i] = language.MustParse(l.Code)
	}
	return language.NewMatcher(tags)
}()

// Match picks the language of an Accept-Language header: the best
// supported match, English when nothing matches with at least low
// confidence.
func Match(acceptLanguage string) string {
	code, _ := MatchOK(acceptLanguage)
	return code
}

// MatchOK is Match, and whether anything in the header matched (false:
// English by default).
func MatchOK(acceptLanguage string) (string, bool) {
	if acceptLanguage == "" {
		return Default, false
	}
	tags, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil || len(tags) == 0 {
		return Default, false
	}
	_, i, conf := matcher.Match(tags...)
	if conf == language.No {
		return Default, false
	}
	return languages[i].Code, true
}
