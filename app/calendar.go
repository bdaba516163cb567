package app

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"kelas/i18n"
	"kelas/store"
)

// GET /trainings/{id}/calendar.ics
//
// The training's live sessions as an iCalendar file (RFC 5545), for
// whoever may see the training page. Times are UTC instants; calendars
// show them in their owner's zone. The join link goes only to enrolled
// learners, as on the page.
func (a *App) handleCalendar(w http.ResponseWriter, r *http.Request) error {
	t, x, err := a.trainingFor(r)
	if err != nil {
		return err
	}
	if !t.Live() {
		return store.ErrNotFound
	}
	sessions, err := a.store.VisibleSessions(r.Context(), t.ID)
	if err != nil {
		return err
	}
	_, enrolled, err := a.enrolment(r, x, t)
	if err != nil {
		return err
	}
	page := a.publicURL() + "/trainings/" + t.ID
	link := page
	if enrolled && t.JoinURL != "" {
		link = t.JoinURL
	}
	host := "kelas"
	if u, err := url.Parse(a.publicURL()); err == nil && u.Hostname() != "" {
		host = u.Hostname()
	}
	cal := calendar{Stamp: a.clock(), Events: make([]calendarEvent, 0, len(sessions))}
	p := i18n.From(r.Context())
	for _, s := range sessions {
		cal.Events = append(cal.Events, calendarEvent{
			UID: s.ID + "@" + host, Start: s.StartsAt, End: s.EndsAt, Summary: t.Title,
			Description: p.T("calendar.event.description", "title", t.Title, "member", t.MemberName),
			Location:    t.Place, URL: link,
		})
	}
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="training-`+t.ID+`.ics"`)
	w.Header().Set("Cache-Control", "private, no-store")
	_, err = w.Write(cal.encode())
	return err
}

// calendar is an iCalendar object with its events.
type calendar struct {
	Stamp  time.Time
	Events []calendarEvent
}

// calendarEvent is one VEVENT; Location and URL are left out when empty.
type calendarEvent struct {
	UID, Summary, Description, Location, URL string
	Start, End                               time.Time
}

// encode writes the calendar as RFC 5545 text: CRLF line ends, lines
// folded at 75 octets, TEXT values escaped, times in UTC.
func (c calendar) encode() []byte {
	var b bytes.Buffer
	line := func(name, value string) { b.WriteString(foldLine(name + ":" + value)) }
	line("BEGIN", "VCALENDAR")
	line("VERSION", "2.0")
	line("PRODID", "-//kelas//kelas//EN")
	line("CALSCALE", "GREGORIAN")
	line("METHOD", "PUBLISH")
	for _, e := range c.Events {
		line("BEGIN", "VEVENT")
		line("UID", icsText(e.UID))
		line("DTSTAMP", icsTime(c.Stamp))
		line("DTSTART", icsTime(e.Start))
		line("DTEND", icsTime(e.End))
		line("SUMMARY", icsText(e.Summary))
		if e.Description != "" {
			line("DESCRIPTION", icsText(e.Description))
		}
		if e.Location != "" {
			line("LOCATION", icsText(e.Location))
		}
		if e.URL != "" {
			line("URL", e.URL) // a URI value: not escaped as TEXT
		}
		line("END", "VEVENT")
	}
	line("END", "VCALENDAR")
	return b.Bytes()
}

// icsTime is t as an RFC 5545 UTC date-time ("20260701T170000Z").
func icsTime(t time.Time) string { return t.UTC().Format("20060102T150405Z") }

// icsText escapes a TEXT value (RFC 5545 §3.3.11): backslash, semicolon,
// comma and line breaks; other control characters are dropped.
func icsText(s string) string {
	var b strings.Builder
	s = strings.ReplaceAll(s, "\r\n", "\n")
	for _, r := range s {
		switch {
		case r == '\\' || r == ';' || r == ',':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n' || r == '\r':
			b.WriteString(`\n`)
		case r < 0x20 && r != '\t' || r == 0x7f:
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// foldLine ends a content line with CRLF, folding it so that no line is
// longer than 75 octets: each continuation starts with a space, and a
// UTF-8 sequence is never split (RFC 5545 §3.1).
func foldLine(s string) string {
	var b strings.Builder
	limit := 75
	for len(s) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		b.WriteString(s[:cut])
		b.WriteString("\r\n ")
		s = s[cut:]
		limit = 74 // the leading space counts
	}
	b.WriteString(s)
	b.WriteString("\r\n")
	return b.String()
}
