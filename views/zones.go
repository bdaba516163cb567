package views

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"kelas/i18n"
	"kelas/store"
)

// ZoneKey is the catalogue key of a zone's label ("zones.zone.asia_jakarta");
// every zone of store.AllZones has one.
func ZoneKey(name string) string {
	return "zones.zone." + strings.ToLower(strings.ReplaceAll(name, "/", "_"))
}

// ZoneLabel is the name of an accepted zone in the reader's language
// ("Indonesia: Jakarta (WIB)").
func ZoneLabel(ctx context.Context, name string) string { return i18n.From(ctx).T(ZoneKey(name)) }

// ZoneAbbrKey is the catalogue key of a zone abbreviation written with
// letters ("zones.abbr.wib"); numeric ones ("+07") are written as offsets.
func ZoneAbbrKey(abbr string) string { return "zones.abbr." + strings.ToLower(abbr) }

// zoneAbbr is the short name of loc's time at t: the catalogue's text for
// a lettered abbreviation it knows ("WIB", "CEST"), otherwise the offset
// from UTC ("UTC+7", "UTC+6:30").
func zoneAbbr(p *i18n.Printer, t time.Time, loc *time.Location) string {
	name, off := t.In(loc).Zone()
	if strings.Trim(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == "" && i18n.Get(i18n.Default).Has(ZoneAbbrKey(name)) {
		return p.T(ZoneAbbrKey(name))
	}
	return p.T("zones.offset", "offset", utcOffset(off))
}

// utcOffset writes an offset in seconds as "+7", "-5" or "+6:30".
func utcOffset(off int) string {
	sign := "+"
	if off < 0 {
		sign, off = "-", -off
	}
	s := sign + strconv.Itoa(off/3600)
	if m := off % 3600 / 60; m != 0 {
		s += fmt.Sprintf(":%02d", m)
	}
	return s
}

// sessionWhen writes when a live session takes place: in the reader's own
// zone with the organiser's beside it when they differ, or, for a visitor
// whose zone is not known, in the organiser's zone only.
func sessionWhen(ctx context.Context, s store.Session, personal bool) string {
	p := i18n.From(ctx)
	org := *p
	if loc := store.LoadZone(s.Zone); loc != nil {
		org.Zone = loc
	} else {
		org.Zone = time.UTC
	}
	when := func(q *i18n.Printer) (date, start, end, zone string) {
		return q.DateShort(s.StartsAt), q.Clock(s.StartsAt), q.Clock(s.EndsAt), zoneAbbr(q, s.StartsAt, q.Zone)
	}
	od, os, oe, oz := when(&org)
	if !personal {
		return p.T("zones.session.organiser_only", "date", od, "start", os, "end", oe, "zone", oz)
	}
	d, st, e, z := when(p)
	_, mine := s.StartsAt.In(p.Zone).Zone()
	_, theirs := s.StartsAt.In(org.Zone).Zone()
	if mine == theirs {
		return p.T("zones.session.same", "date", d, "start", st, "end", e, "zone", z)
	}
	return p.T("zones.session.both", "date", d, "start", st, "end", e, "zone", z,
		"org_date", od, "org_start", os, "org_end", oe, "org_zone", oz)
}
