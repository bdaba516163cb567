package views

import (
	"context"
	"html"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"

	"kelas/i18n"
)

// t is the message of key in the reader's language, placeholders filled
// from args given as name, value pairs: { t(ctx, "layout.nav.trainings") }.
func t(ctx context.Context, key string, args ...any) string {
	return i18n.From(ctx).T(key, args...)
}

// tn is the plural message of key for n (its {count} is n).
func tn(ctx context.Context, key string, n int, args ...any) string {
	return i18n.From(ctx).N(key, n, args...)
}

// date writes t's date in the reader's language and time zone.
func date(ctx context.Context, t time.Time) string { return i18n.From(ctx).Date(t) }

// dateShort writes t's date with a short month name.
func dateShort(ctx context.Context, t time.Time) string { return i18n.From(ctx).DateShort(t) }

// dayMonth writes t's day and month.
func dayMonth(ctx context.Context, t time.Time) string { return i18n.From(ctx).DayMonth(t) }

// dateTime writes t's date and time of day in the reader's zone.
func dateTime(ctx context.Context, t time.Time) string { return i18n.From(ctx).DateTime(t) }

// clock writes t's time of day in the reader's zone.
func clock(ctx context.Context, t time.Time) string { return i18n.From(ctx).Clock(t) }

// number writes n with the reader's digits and grouping.
func number(ctx context.Context, n int) string { return i18n.From(ctx).Number(n) }

// langCode is the code of the page's language, for <html lang>.
func langCode(ctx context.Context) string {
	if c := i18n.From(ctx).Code; c != i18n.Pseudo {
		return c
	}
	return "en-XA"
}

// languageLink is one entry of the language switcher.
type languageLink struct {
	Code, Name, URL string
	Current         bool
}

// languageLinks lists the switcher's links for the page at path: each
// language named in itself, linking to the same page in that language.
func languageLinks(ctx context.Context, path string) []languageLink {
	if path == "" {
		path = "/"
	}
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	cur := i18n.From(ctx).Code
	var out []languageLink
	for _, l := range i18n.Languages() {
		out = append(out, languageLink{Code: l.Code, Name: l.Name, Current: l.Code == cur,
			URL: path + sep + "lang=" + l.Code + "&remember=1"})
	}
	return out
}

// country is the name of a country in the reader's language.
func country(ctx context.Context, code, english string) string {
	return i18n.From(ctx).Country(code, english)
}

// linked renders message key with its {link} placeholder as a link to
// href whose text is label (both from the catalogue), so a sentence with a
// link inside is translated whole: "Read the {link} first."
func linked(key, href, label string, args ...any) templ.Component {
	return templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
		const mark = "\x00"
		text := i18n.From(ctx).T(key, append(args, "link", mark)...)
		before, after, _ := strings.Cut(text, mark)
		var b strings.Builder
		b.WriteString(html.EscapeString(before))
		b.WriteString(`<a href="`)
		b.WriteString(html.EscapeString(string(templ.URL(href))))
		b.WriteString(`">`)
		b.WriteString(html.EscapeString(label))
		b.WriteString(`</a>`)
		b.WriteString(html.EscapeString(after))
		_, err := io.WriteString(w, b.String())
		return err
	})
}

func int64String(n int64) string { return strconv.FormatInt(n, 10) }

// languageOptions are the languages kelas speaks, each named in itself.
func languageOptions(ctx context.Context) []OptionGroup {
	var opts []Option
	for _, l := range i18n.Languages() {
		opts = append(opts, Option{Value: l.Code, Label: l.Name})
	}
	return []OptionGroup{{Options: opts}}
}
