package views

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"kelas/i18n"
	"kelas/store"
)

// TestEveryZoneHasItsTexts: the zone labels and abbreviations are built
// from zone names, so the catalogue must list every one of them.
func TestEveryZoneHasItsTexts(t *testing.T) {
	en := i18n.Get(i18n.Default)
	for _, z := range store.AllZones() {
		assert.True(t, en.Has(ZoneKey(z.Name)), "%s needs %s", z.Name, ZoneKey(z.Name))
		loc, err := time.LoadLocation(z.Name)
		require.NoError(t, err)
		for m := time.January; m <= time.December; m++ {
			abbr, _ := time.Date(2026, m, 15, 12, 0, 0, 0, loc).Zone()
			if strings.Trim(abbr, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == "" {
				assert.True(t, en.Has(ZoneAbbrKey(abbr)), "%s in %s needs %s", abbr, z.Name, ZoneAbbrKey(abbr))
			}
		}
	}
}

func TestZoneAbbreviations(t *testing.T) {
	p := i18n.NewPrinter("en", nil, "")
	at := func(zone string, m time.Month) string {
		loc, err := time.LoadLocation(zone)
		require.NoError(t, err)
		return zoneAbbr(p, time.Date(2026, m, 15, 12, 0, 0, 0, time.UTC), loc)
	}
	assert.Equal(t, "WIB", at("Asia/Jakarta", 1))
	assert.Equal(t, "WITA", at("Asia/Makassar", 1))
	assert.Equal(t, "WIT", at("Asia/Jayapura", 1))
	assert.Equal(t, "UTC+7", at("Asia/Bangkok", 1))
	assert.Equal(t, "UTC+6:30", at("Asia/Yangon", 1))
	assert.Equal(t, "CET", at("Europe/Berlin", 1))
	assert.Equal(t, "CEST", at("Europe/Berlin", 7))
	assert.Equal(t, "AEDT", at("Australia/Sydney", 1))
	assert.Equal(t, "AEST", at("Australia/Sydney", 7))
	assert.Equal(t, "UTC-5", zoneAbbr(p, time.Time{}, time.FixedZone("", -5*3600)))
}

// TestSessionWhenAcrossDates: a session late in the organiser's evening
// is the next morning for a reader further east; both dates are written.
func TestSessionWhenAcrossDates(t *testing.T) {
	jakarta, err := time.LoadLocation("Asia/Jakarta")
	require.NoError(t, err)
	ctx := i18n.With(context.Background(), i18n.NewPrinter("en", jakarta, ""))
	s := store.Session{StartsAt: time.Date(2026, 7, 1, 20, 0, 0, 0, time.UTC), EndsAt: time.Date(2026, 7, 1, 21, 0, 0, 0, time.UTC), Zone: "Europe/Berlin"}
	assert.Equal(t, "2 Jul 2026, 03:00 to 04:00 WIB (your time) · 1 Jul 2026, 22:00 to 23:00 CEST (organiser)", sessionWhen(ctx, s, true))
	assert.Equal(t, "1 Jul 2026, 22:00 to 23:00 CEST (organiser's time)", sessionWhen(ctx, s, false))
	s.Zone = "" // sessions from before zones were kept: UTC
	assert.Equal(t, "2 Jul 2026, 03:00 to 04:00 WIB (your time) · 1 Jul 2026, 20:00 to 21:00 UTC (organiser)", sessionWhen(ctx, s, true))
}
