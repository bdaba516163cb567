package app

import (
	"bufio"
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"kelas/store"
)

// TestRegisterWithOneName: the surname may be left empty; the new account
// gets the time zone of its country.
func TestRegisterWithOneName(t *testing.T) {
	ts, smtpd := newMailTestServer(t)
	v := registration()
	v.Set("surname", "")
	res, _ := ts.postForm(t, "/register", v)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	u, err := ts.store.UserByEmail(t.Context(), v.Get("email"))
	require.NoError(t, err)
	assert.Equal(t, "Siti", u.FirstName)
	assert.Empty(t, u.Surname)
	assert.Equal(t, "Siti", u.DisplayName())
	assert.Equal(t, "Asia/Jakarta", u.TimeZone, "Indonesia starts in WIB")
	ts.deliver(t)
	smtpd.WaitFor(t, 1) // the confirmation link is mailed

	res, body := ts.get(t, "/register")
	require.Equal(t, http.StatusOK, res.StatusCode)
	_, required := doc(t, body).Find("#surname").Attr("required")
	assert.False(t, required, "the surname field is optional")
}

// oneNameProfile is a profile form for a person made by ts.person.
func oneNameProfile(u store.User) url.Values {
	return url.Values{"first_name": {u.FirstName}, "surname": {u.Surname}, "email": {u.Email}, "country": {"ID"},
		"company": {"Warung Kopi"}, "industry": {"C"}}
}

// TestProfileTimeZoneAndNameOrder: the profile offers the region's zones
// (Indonesia's three among them) and the two name orders, saves them,
// refuses values outside the lists, and keeps them when a form leaves
// them out.
func TestProfileTimeZoneAndNameOrder(t *testing.T) {
	ts := newTestServer(t)
	learner, lu := ts.person(t, "learner@example.org", store.RoleLearner, "")
	res, body := learner.get(t, "/profile")
	require.Equal(t, http.StatusOK, res.StatusCode)
	d := doc(t, body)
	for _, z := range []string{"Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura", "Asia/Bangkok", "Asia/Yangon", "UTC"} {
		assert.Equal(t, 1, d.Find(`select#time_zone option[value="`+z+`"]`).Length(), z)
	}
	assert.Zero(t, d.Find(`select#time_zone option[value="Europe/Berlin"]`).Length(), "people choose from the region's zones")
	assert.Equal(t, "UTC", d.Find(`select#time_zone option[selected]`).AttrOr("value", ""))
	assert.Equal(t, store.NameGivenFirst, d.Find(`select#name_order option[selected]`).AttrOr("value", ""))

	for _, bad := range []url.Values{{"time_zone": {"Europe/Berlin"}}, {"time_zone": {"Local"}}, {"name_order": {"surname_first"}}} {
		v := oneNameProfile(lu)
		for k, x := range bad {
			v[k] = x
		}
		res, body = learner.postMultipart(t, "/profile", v, "", "", nil)
		require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode, "%v", bad)
		for k := range bad {
			assert.Equal(t, 1, doc(t, body).Find(`[data-testid="error-summary"] a[href="#`+k+`"]`).Length(), k)
		}
	}

	v := oneNameProfile(lu)
	v.Set("surname", "")
	v.Set("time_zone", "Asia/Makassar")
	v.Set("name_order", store.NameFamilyFirst)
	res, _ = learner.postMultipart(t, "/profile", v, "", "", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	u, err := ts.store.User(t.Context(), lu.ID)
	require.NoError(t, err)
	assert.Equal(t, "Asia/Makassar", u.TimeZone)
	assert.Equal(t, store.NameFamilyFirst, u.NameOrder)
	assert.Empty(t, u.Surname, "the surname may be removed")

	res, _ = learner.postMultipart(t, "/profile", oneNameProfile(lu), "", "", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	u, err = ts.store.User(t.Context(), lu.ID)
	require.NoError(t, err)
	assert.Equal(t, "Asia/Makassar", u.TimeZone, "a form without the field keeps the zone")
	assert.Equal(t, store.NameFamilyFirst, u.NameOrder)
}

// liveTraining has staff create a published live training and returns its id.
func liveTraining(t *testing.T, staff *testServer, title, place string) string {
	t.Helper()
	v := trainingValues()
	v.Set("kind", "live")
	v.Set("title", title)
	v.Set("place", place)
	v.Set("join_url", "https://meet.example.org/room")
	return createTraining(t, staff, v)
}

func addSession(t *testing.T, staff *testServer, id, zone, starts, ends string) {
	t.Helper()
	v := url.Values{"session_starts": {starts}, "session_ends": {ends}}
	if zone != "" {
		v.Set("session_zone", zone)
	}
	res, _ := staff.postForm(t, "/console/trainings/"+id+"/sessions", v)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
}

// TestSessionsShownInTheReadersZone: a session organised in WITA shows in
// a learner's WIB with the organiser's time beside it; a visitor sees the
// organiser's time; the form's times are the organiser's wall clock.
func TestSessionsShownInTheReadersZone(t *testing.T) {
	ts := newTestServer(t)
	staff, su := ts.person(t, "staff@example.org", store.RoleMemberStaff, member(t, ts, "SMESCO Indonesia"))
	require.NoError(t, ts.store.SetZonePreferences(t.Context(), su.ID, "Asia/Makassar", store.NameGivenFirst))
	id := liveTraining(t, staff, "Klinik pembukuan", "")

	res, body := staff.get(t, "/console/trainings/"+id)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "Asia/Makassar", doc(t, body).Find(`select#session_zone option[selected]`).AttrOr("value", ""),
		"the staff member's own zone is the default")
	addSession(t, staff, id, "", "2026-04-01T20:00", "2026-04-01T22:00") // the staff member's zone: WITA
	res, _ = staff.postForm(t, "/console/trainings/"+id+"/sessions", url.Values{"session_starts": {"2026-04-02T20:00"},
		"session_ends": {"2026-04-02T22:00"}, "session_zone": {"Mars/Olympus"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)

	ss, err := ts.store.TrainingSessions(t.Context(), id)
	require.NoError(t, err)
	require.Len(t, ss, 1)
	assert.Equal(t, time.Date(2026, 4, 1, 12, 0, 0, 0, time.UTC), ss[0].StartsAt, "stored in UTC")
	assert.Equal(t, "Asia/Makassar", ss[0].Zone)

	learner, lu := ts.person(t, "learner@example.org", store.RoleLearner, "")
	require.NoError(t, ts.store.SetZonePreferences(t.Context(), lu.ID, "Asia/Jakarta", store.NameGivenFirst))
	res, body = learner.get(t, "/trainings/"+id)
	require.Equal(t, http.StatusOK, res.StatusCode)
	d := doc(t, body)
	assert.Equal(t, "1 Apr 2026, 19:00 to 21:00 WIB (your time) · 1 Apr 2026, 20:00 to 22:00 WITA (organiser)",
		d.Find(`[data-testid="session"]`).Text())
	assert.Equal(t, "2026-04-01T12:00:00Z", d.Find(`[data-testid="session"] time`).AttrOr("datetime", ""))
	assert.Equal(t, "/trainings/"+id+"/calendar.ics", d.Find(`[data-testid="calendar-link"]`).AttrOr("href", ""))

	require.NoError(t, ts.store.SetZonePreferences(t.Context(), lu.ID, "Asia/Kuala_Lumpur", store.NameGivenFirst))
	_, body = learner.get(t, "/trainings/"+id)
	assert.Equal(t, "1 Apr 2026, 20:00 to 22:00 UTC+8", doc(t, body).Find(`[data-testid="session"]`).Text(),
		"the same offset: one time")

	visitor := &testServer{Server: ts.Server, client: &http.Client{}}
	_, body = visitor.get(t, "/trainings/"+id)
	assert.Equal(t, "1 Apr 2026, 20:00 to 22:00 WITA (organiser's time)", doc(t, body).Find(`[data-testid="session"]`).Text())
}

// icsEvent is one VEVENT: property name → unescaped value.
type icsEvent map[string]string

// parseICS is a strict reader of what kelas writes: CRLF line ends only,
// physical lines of at most 75 octets, unfolding, one VCALENDAR with
// VERSION 2.0 and PRODID, VEVENTs with exactly one each of UID, DTSTAMP,
// DTSTART, DTEND and SUMMARY, TEXT values with only valid escapes.
func parseICS(t *testing.T, body []byte) []icsEvent {
	t.Helper()
	require.True(t, bytes.HasSuffix(body, []byte("\r\n")), "ends with CRLF")
	raw := strings.Split(strings.TrimSuffix(string(body), "\r\n"), "\r\n")
	var lines []string
	for i, l := range raw {
		require.NotContains(t, l, "\n", "line %d: a bare LF", i+1)
		require.NotContains(t, l, "\r", "line %d: a bare CR", i+1)
		require.LessOrEqual(t, len(l), 75, "line %d is longer than 75 octets", i+1)
		if strings.HasPrefix(l, " ") || strings.HasPrefix(l, "\t") {
			require.NotEmpty(t, lines, "a continuation before any line")
			lines[len(lines)-1] += l[1:]
			continue
		}
		lines = append(lines, l)
	}
	name := regexp.MustCompile(`^[A-Z0-9-]+$`)
	text := map[string]bool{"SUMMARY": true, "DESCRIPTION": true, "LOCATION": true, "UID": true}
	unescape := func(v string) string {
		var b strings.Builder
		for i := 0; i < len(v); i++ {
			c := v[i]
			switch {
			case c == '\\':
				require.Less(t, i+1, len(v), "a trailing backslash in %q", v)
				i++
				switch v[i] {
				case '\\', ';', ',':
					b.WriteByte(v[i])
				case 'n', 'N':
					b.WriteByte('\n')
				default:
					t.Fatalf("invalid escape \\%c in %q", v[i], v)
				}
			case c == ';' || c == ',':
				t.Fatalf("an unescaped %c in TEXT %q", c, v)
			default:
				b.WriteByte(c)
			}
		}
		return b.String()
	}
	require.NotEmpty(t, lines)
	require.Equal(t, "BEGIN:VCALENDAR", lines[0])
	require.Equal(t, "END:VCALENDAR", lines[len(lines)-1])
	var events []icsEvent
	var cur icsEvent
	cal := map[string]string{}
	for _, l := range lines[1 : len(lines)-1] {
		k, v, ok := strings.Cut(l, ":")
		require.True(t, ok, "no colon in %q", l)
		require.Regexp(t, name, k, "property name")
		switch {
		case l == "BEGIN:VEVENT":
			require.Nil(t, cur, "nested VEVENT")
			cur = icsEvent{}
		case l == "END:VEVENT":
			require.NotNil(t, cur, "END without BEGIN")
			for _, p := range []string{"UID", "DTSTAMP", "DTSTART", "DTEND", "SUMMARY"} {
				require.Contains(t, cur, p, "a VEVENT needs %s", p)
			}
			events = append(events, cur)
			cur = nil
		case cur != nil:
			_, dup := cur[k]
			require.False(t, dup, "%s twice in one VEVENT", k)
			if text[k] {
				v = unescape(v)
			}
			cur[k] = v
		default:
			cal[k] = v
		}
	}
	require.Nil(t, cur, "an unterminated VEVENT")
	assert.Equal(t, "2.0", cal["VERSION"])
	assert.NotEmpty(t, cal["PRODID"])
	return events
}

// icsInstant reads a UTC DATE-TIME ("20260701T170000Z").
func icsInstant(t *testing.T, v string) time.Time {
	t.Helper()
	require.Regexp(t, `^\d{8}T\d{6}Z$`, v)
	at, err := time.Parse("20060102T150405Z", v)
	require.NoError(t, err)
	return at
}

// TestCalendarFile: the .ics of a live training parses strictly and
// carries the right UTC instants for sessions organised in zones that
// observe daylight saving time, in summer, in winter and across the
// change; text is escaped and long lines folded; the join link only goes
// to enrolled learners; the audience is the training page's.
func TestCalendarFile(t *testing.T) {
	ts := newTestServer(t)
	staff, _ := ts.person(t, "staff@example.org", store.RoleMemberStaff, member(t, ts, "SMESCO Indonesia"))
	title := "Ekspor, logistik; dan \\ dokumen — การส่งออกสำหรับธุรกิจขนาดย่อม ការនាំចេញ ပို့ကုန်"
	id := liveTraining(t, staff, title, "Gedung SMESCO, Lt. 3; Jakarta")
	addSession(t, staff, id, "Europe/Berlin", "2026-07-01T19:00", "2026-07-01T21:00")    // CEST, UTC+2
	addSession(t, staff, id, "Europe/Berlin", "2026-01-15T19:00", "2026-01-15T21:00")    // CET, UTC+1
	addSession(t, staff, id, "Europe/Berlin", "2026-03-29T01:30", "2026-03-29T03:30")    // across the change: one hour
	addSession(t, staff, id, "Australia/Sydney", "2026-01-15T19:00", "2026-01-15T20:30") // AEDT, UTC+11
	addSession(t, staff, id, "Australia/Sydney", "2026-07-01T19:00", "2026-07-01T20:30") // AEST, UTC+10
	want := [][2]time.Time{
		{time.Date(2026, 1, 15, 8, 0, 0, 0, time.UTC), time.Date(2026, 1, 15, 9, 30, 0, 0, time.UTC)},
		{time.Date(2026, 1, 15, 18, 0, 0, 0, time.UTC), time.Date(2026, 1, 15, 20, 0, 0, 0, time.UTC)},
		{time.Date(2026, 3, 29, 0, 30, 0, 0, time.UTC), time.Date(2026, 3, 29, 1, 30, 0, 0, time.UTC)},
		{time.Date(2026, 7, 1, 9, 0, 0, 0, time.UTC), time.Date(2026, 7, 1, 10, 30, 0, 0, time.UTC)},
		{time.Date(2026, 7, 1, 17, 0, 0, 0, time.UTC), time.Date(2026, 7, 1, 19, 0, 0, 0, time.UTC)},
	}

	visitor := &testServer{Server: ts.Server, client: &http.Client{}}
	res, body := visitor.get(t, "/trainings/"+id+"/calendar.ics")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "text/calendar; charset=utf-8", res.Header.Get("Content-Type"))
	assert.Equal(t, `attachment; filename="training-`+id+`.ics"`, res.Header.Get("Content-Disposition"))
	events := parseICS(t, []byte(body))
	require.Len(t, events, len(want))
	uids := map[string]bool{}
	for i, e := range events {
		assert.Equal(t, want[i][0], icsInstant(t, e["DTSTART"]), "session %d starts", i)
		assert.Equal(t, want[i][1], icsInstant(t, e["DTEND"]), "session %d ends", i)
		assert.Equal(t, ts.clock.Now().UTC().Truncate(time.Second), icsInstant(t, e["DTSTAMP"]))
		assert.Equal(t, title, e["SUMMARY"], "escaped and folded text reads back whole")
		assert.Equal(t, "Gedung SMESCO, Lt. 3; Jakarta", e["LOCATION"])
		assert.Equal(t, ts.app.publicURL()+"/trainings/"+id, e["URL"], "a visitor gets the page, not the join link")
		assert.False(t, uids[e["UID"]], "UIDs are unique")
		uids[e["UID"]] = true
	}
	assert.NotContains(t, body, "meet.example.org")

	learner, _ := ts.person(t, "learner@example.org", store.RoleLearner, "")
	res, _ = learner.postForm(t, "/trainings/"+id+"/enrol", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	res, body = learner.get(t, "/trainings/"+id+"/calendar.ics")
	require.Equal(t, http.StatusOK, res.StatusCode)
	for _, e := range parseICS(t, []byte(body)) {
		assert.Equal(t, "https://meet.example.org/room", e["URL"], "enrolled learners get the join link")
	}

	draft := trainingValues()
	draft.Set("kind", "live")
	draft.Del("published")
	draftID := createTraining(t, staff, draft)
	res, _ = visitor.get(t, "/trainings/"+draftID+"/calendar.ics")
	assert.Equal(t, http.StatusNotFound, res.StatusCode, "a draft's calendar is as hidden as its page")
	res, _ = staff.get(t, "/trainings/"+draftID+"/calendar.ics")
	assert.Equal(t, http.StatusOK, res.StatusCode, "its staff may see it")
	selfStudy := createTraining(t, staff, trainingValues())
	res, _ = visitor.get(t, "/trainings/"+selfStudy+"/calendar.ics")
	assert.Equal(t, http.StatusNotFound, res.StatusCode, "self-study trainings have no sessions")
}

// TestFoldLine: folding never splits a UTF-8 sequence and no physical
// line exceeds 75 octets.
func TestFoldLine(t *testing.T) {
	for _, s := range []string{"", "SUMMARY:short", "SUMMARY:" + strings.Repeat("a", 200), "SUMMARY:" + strings.Repeat("ภาษาไทย", 30),
		"SUMMARY:" + strings.Repeat("x", 66) + "မြန်မာ"} {
		out := foldLine(s)
		require.True(t, strings.HasSuffix(out, "\r\n"))
		sc := bufio.NewScanner(strings.NewReader(out))
		var unfolded strings.Builder
		first := true
		for sc.Scan() {
			l := strings.TrimSuffix(sc.Text(), "\r")
			assert.LessOrEqual(t, len(l), 75)
			assert.True(t, utfValid(l), "line %q", l)
			if !first {
				require.True(t, strings.HasPrefix(l, " "))
				l = l[1:]
			}
			first = false
			unfolded.WriteString(l)
		}
		assert.Equal(t, s, unfolded.String())
	}
}

func utfValid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

// TestFamilyNameFirstOnCertificate: a person who writes their family name
// first is named so on the certificate and in the console.
func TestFamilyNameFirstOnCertificate(t *testing.T) {
	ts := newTestServer(t)
	staff, _ := ts.person(t, "staff@example.org", store.RoleMemberStaff, member(t, ts, "SME Corporation Malaysia"))
	id := createTraining(t, staff, trainingValues())
	res, _ := staff.postMultipart(t, "/console/trainings/"+id+"/materials", url.Values{"material_kind": {"page"},
		"material_title": {"Cash book"}, "material_body": {"Write down every sale."}}, "", "", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)

	learner, lu := ts.person(t, "learner@example.org", store.RoleLearner, "")
	v := oneNameProfile(lu)
	v.Set("first_name", "Minh Anh")
	v.Set("surname", "Nguyen")
	v.Set("name_order", store.NameFamilyFirst)
	res, _ = learner.postMultipart(t, "/profile", v, "", "", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)

	res, _ = learner.postForm(t, "/trainings/"+id+"/enrol", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	_, body := learner.get(t, "/trainings/"+id)
	ids := idInHref.FindAllStringSubmatch(body, -1)
	require.Len(t, ids, 1)
	res, _ = learner.get(t, "/trainings/"+id+"/materials/"+ids[0][1])
	require.Equal(t, http.StatusOK, res.StatusCode)
	_, body = learner.get(t, "/dashboard")
	code := regexp.MustCompile(`[A-Z2-7]{5}-[A-Z2-7]{5}-[A-Z2-7]{5}-[A-Z2-7]{5}`).FindString(body)
	require.NotEmpty(t, code, "completed: a certificate")

	visitor := &testServer{Server: ts.Server, client: &http.Client{}}
	res, body = visitor.get(t, "/certificates/"+code)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "Nguyen Minh Anh", doc(t, body).Find(`[data-testid="holder"]`).Text())

	operator, _ := ts.person(t, "ops@example.org", store.RoleOperator, "")
	res, body = operator.postForm(t, "/console/learners/"+lu.ID, url.Values{"reason": {"checking a certificate name"}})
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "Nguyen Minh Anh", doc(t, body).Find(`[data-testid="learner-name"]`).Text())
}

// TestCatalogueListsTheReadersLanguageFirst: trainings in the page's
// language come first, each group newest first; the language filter still
// narrows the list.
func TestCatalogueListsTheReadersLanguageFirst(t *testing.T) {
	ts := newTestServer(t)
	staff, _ := ts.person(t, "staff@example.org", store.RoleMemberStaff, member(t, ts, "SME Corporation Malaysia"))
	var ids []string
	for i, lang := range []string{"th", "en", "th", "vi", "en"} {
		v := trainingValues()
		v.Set("language", lang)
		v.Set("title", fmt.Sprintf("Training %d in %s", i, lang))
		ids = append(ids, createTraining(t, staff, v))
		ts.clock.Add(time.Minute)
	}
	order := func(path string) []string {
		t.Helper()
		res, body := ts.get(t, path)
		require.Equal(t, http.StatusOK, res.StatusCode)
		var out []string
		doc(t, body).Find(`[data-testid="trainings"] .card-title a`).Each(func(_ int, s *goquery.Selection) {
			out = append(out, strings.TrimPrefix(s.AttrOr("href", ""), "/trainings/"))
		})
		return out
	}
	assert.Equal(t, []string{ids[4], ids[1], ids[3], ids[2], ids[0]}, order("/trainings"), "English first")
	assert.Equal(t, []string{ids[2], ids[0], ids[4], ids[3], ids[1]}, order("/trainings?lang=th"), "Thai first")
	assert.Equal(t, []string{ids[3], ids[4], ids[2], ids[1], ids[0]}, order("/trainings?lang=vi"), "Vietnamese first")
	assert.Equal(t, []string{ids[4], ids[1]}, order("/trainings?lang=th&language=en"), "the filter still applies")
}

// TestFontStackCoversTheRegionsScripts: the CSS names system fonts for
// Thai, Khmer, Lao and Burmese and fetches no font from anywhere.
func TestFontStackCoversTheRegionsScripts(t *testing.T) {
	css, err := os.ReadFile("../static/kelas.css")
	require.NoError(t, err)
	for _, f := range []string{`"Noto Sans Thai"`, `"Leelawadee UI"`, `"Noto Sans Khmer"`, `"Khmer OS"`, `"Noto Sans Lao"`,
		`"Phetsarath OT"`, `"Noto Sans Myanmar"`, `"Myanmar Text"`, `Padauk`} {
		assert.Contains(t, string(css), f)
	}
	for _, banned := range []string{"@font-face", "@import", "url(http", "url(//"} {
		assert.NotContains(t, string(css), banned)
	}
}
