package i18n

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDatesInEachLocale: the month names, order, era and digits each
// language writes dates and times with.
func TestDatesInEachLocale(t *testing.T) {
	at := time.Date(2026, 12, 2, 14, 5, 0, 0, time.UTC)
	for _, tc := range []struct {
		lang, date, short, clock, dateTime string
	}{
		{"en", "2 December 2026", "2 Dec 2026", "14:05", "2 December 2026, 14:05"},
		{"id", "2 Desember 2026", "2 Des 2026", "14.05", "2 Desember 2026 pukul 14.05"},
		{"ms", "2 Disember 2026", "2 Dis 2026", "2:05 PTG", "2 Disember 2026, 2:05 PTG"},
		// The Thai locale's default calendar is the Buddhist era.
		{"th", "2 ธันวาคม 2569", "2 ธ.ค. 2569", "14:05", "2 ธันวาคม 2569 14:05 น."},
		{"vi", "2 tháng 12, 2026", "2 thg 12, 2026", "14:05", "14:05 2 tháng 12, 2026"},
		{"fil", "Disyembre 2, 2026", "Dis 2, 2026", "2:05 PM", "Disyembre 2, 2026, 2:05 PM"},
		{"km", "2 ធ្នូ 2026", "2 ធ្នូ 2026", "14:05", "2 ធ្នូ 2026 នៅ\u200bម៉ោង 14:05"},
		{"lo", "2 ທັນວາ 2026", "2 ທ.ວ. 2026", "14:05", "2 ທັນວາ 2026, 14:05"},
		// Burmese writes its own digits.
		{"my", "၂၀၂၆၊ ဒီဇင်ဘာ ၂", "၂၀၂၆၊ ဒီ ၂", "၁၄:၀၅", "၂၀၂၆၊ ဒီဇင်ဘာ ၂ ၁၄:၀၅"},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			l := Get(tc.lang)
			assert.Equal(t, tc.date, l.Date(at))
			assert.Equal(t, tc.short, l.DateShort(at))
			assert.Equal(t, tc.clock, l.Clock(at))
			assert.Equal(t, tc.dateTime, l.DateTime(at))
		})
	}
	assert.Equal(t, "2569", Get("th").Year(at))
	assert.Equal(t, "12:00 AM", Get("fil").Clock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)), "midnight on a 12-hour clock")
	assert.Equal(t, "Wed 2 Dec", Get("en").WeekdayDay(at))
	assert.Equal(t, "2 December", Get("en").DayMonth(at))
	assert.Equal(t, "December", Get("en").MonthName(time.December))
}

// TestPrinterConvertsToThePersonsZone: a printer writes times in its
// person's zone, and names the zone.
func TestPrinterConvertsToThePersonsZone(t *testing.T) {
	at := time.Date(2026, 12, 2, 23, 30, 0, 0, time.UTC)
	jakarta, err := time.LoadLocation("Asia/Jakarta")
	require.NoError(t, err)
	p := NewPrinter("id", jakarta, "")
	assert.Equal(t, "3 Desember 2026", p.Date(at), "already the next day in Jakarta")
	assert.Equal(t, "06.30", p.Clock(at))
	assert.Equal(t, "WIB", p.ZoneName(at))
	assert.Equal(t, "2 December 2026", NewPrinter("en", nil, "").Date(at), "UTC when no zone is known")
}

func TestNumbersInEachLocale(t *testing.T) {
	assert.Equal(t, "1,234,567", Get("en").Number(1234567))
	assert.Equal(t, "1.234.567", Get("id").Number(1234567))
	assert.Equal(t, "၁,၂၃၄", Get("my").Number(1234), "Burmese digits")
	assert.Equal(t, "၅ မိနစ်", Get("my").N("duration.minutes", 5), "the count in the locale's digits")
}

func TestCountryNames(t *testing.T) {
	assert.Equal(t, "Myanmar", Get("en").Country("MM", "Myanmar"), "English keeps the store's name")
	assert.Equal(t, "เยอรมนี", Get("th").Country("DE", "Germany"))
	assert.Equal(t, "Đức", Get("vi").Country("DE", "Germany"))
	assert.Equal(t, "Ḿẏȧƞḿȧř", Get(Pseudo).Country("MM", "Myanmar"))
	assert.Equal(t, "Nowhere", Get("th").Country("??", "Nowhere"), "an unknown code keeps the name")
}

func TestMatchAcceptLanguage(t *testing.T) {
	for header, want := range map[string]string{
		"":                      "en",
		"th":                    "th",
		"th-TH,th;q=0.9":        "th",
		"en-US,en;q=0.9":        "en",
		"de,vi;q=0.5":           "vi",
		"ms-MY":                 "ms",
		"id":                    "id",
		"in":                    "id", // the old code for Indonesian
		"my-MM":                 "my",
		"km-KH,en;q=0.1":        "km",
		"lo":                    "lo",
		"tl":                    "fil", // Tagalog: Filipino is its standard form
		"zz;q=oops":             "en",
		"fr-FR,fr;q=0.9,de;q=1": "en",
	} {
		assert.Equal(t, want, Match(header), "%q", header)
	}
}
