package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// exportSecrets are values of exportPerson found nowhere else, opened from
// sealed columns of different tables.
var exportSecrets = []string{
	"Xportfirstname", "Xportsurname", "xportmail@example.test", "Xportcompany",
	"+60 12-999 7070", "Jalan Xportstreet 9", "198.51.100.77", "Xportreason for viewing",
	"Xportsubject line",
}

// exportPerson is a learner (and Member staff) with data in every category
// of the data map that can hold personal data for an account: registration,
// profile (with a picture), account, consents (policy, opt-ins, cookie
// choices, objection, restriction, a rights case), activity log, learning
// records (enrolment, material view, quiz, certificate, attendance),
// disclosures, and security (named in a breach and notified of it).
func exportPerson(t *testing.T, s *Store) User {
	t.Helper()
	ctx := context.Background()
	_, err := s.SeedMembers(ctx)
	require.NoError(t, err)
	m, err := s.MemberByName(ctx, "SME Corporation Malaysia")
	require.NoError(t, err)

	u := createUser(t, s, NewUser{Email: "XportMail@example.test", FirstName: "Xportfirstname", Surname: "Xportsurname",
		Company: "Xportcompany", Gender: "f", Country: "MY", Industry: "manufacturing",
		PasswordHash: "$2a$10$abcdefghijklmnopqrstuv", Role: RoleLearner, Verified: true,
		AdultConfirmed: true, AcceptedPolicy: "2023-10-09", NotifyNew: true, Feedback: true})
	staff := createUser(t, s, newUser("exportstaff"))
	require.NoError(t, s.SetStaff(ctx, staff.ID, m.ID, RoleMemberStaff))
	require.NoError(t, s.SetStaff(ctx, u.ID, m.ID, RoleMemberStaff)) // member_staff (account)

	require.NoError(t, s.UpdateProfile(ctx, u.ID, Details{FirstName: u.FirstName, Surname: u.Surname, Company: u.Company, Gender: "f",
		Country: "MY", Industry: "manufacturing"}, Profile{Phone: "+60 12-999 7070", Address: "Jalan Xportstreet 9",
		Picture: []byte("\xff\xd8\xff\xe0 not really a jpeg"), PictureType: "image/jpeg"}, PictureReplace))

	_, err = s.RecordConsent(ctx, ConsentRecord{ConsentID: NewID(), UserID: u.ID, Preferences: true, How: ConsentBanner,
		PolicyVersion: "2023-10-09", Revision: strings.Repeat("ab", 32)})
	require.NoError(t, err)
	require.NoError(t, s.SetObjection(ctx, u.ID, ObjectStatistics, true))
	_, err = s.CreateCase(ctx, NewCase{UserID: u.ID, Kind: "portability", Status: CaseOpen, Details: "Xportcase details",
		Note: "Xportcase note"})
	require.NoError(t, err)

	// Learning records: a self-study training with a material and a quiz,
	// passed and certified, and a live one attended.
	tr, err := s.CreateTraining(ctx, m.ID, staff.ID, TrainingInput{Title: "Xport bookkeeping", Summary: "s", Language: "en",
		Kind: "self_study", PassMark: 50, Published: true})
	require.NoError(t, err)
	mat, err := s.AddMaterial(ctx, tr.ID, "", MaterialInput{Kind: "page", Title: "Cash book", BodyMD: "x", Required: true})
	require.NoError(t, err)
	q, err := s.AddQuestion(ctx, tr.ID, "Which?", []Choice{{Label: "right", Correct: true}, {Label: "wrong"}})
	require.NoError(t, err)
	require.NoError(t, s.Enrol(ctx, u.ID, tr.ID))
	require.NoError(t, s.RecordMaterialView(ctx, u.ID, mat.ID))
	var right string
	for _, c := range q.Choices {
		if c.Correct {
			right = c.ID
		}
	}
	_, err = s.SubmitQuiz(ctx, u.ID, tr, map[string]string{q.ID: right})
	require.NoError(t, err)
	cert, err := s.CompleteIfDone(ctx, u.ID, tr.ID)
	require.NoError(t, err)
	require.NotNil(t, cert, "the certificate must be issued")
	live, err := s.CreateTraining(ctx, m.ID, staff.ID, TrainingInput{Title: "Xport live", Summary: "s", Language: "en",
		Kind: "live", PassMark: 50, Published: true})
	require.NoError(t, err)
	sess, err := s.AddSession(ctx, live.ID, s.Now().Add(time.Hour), s.Now().Add(2*time.Hour))
	require.NoError(t, err)
	require.NoError(t, s.Enrol(ctx, u.ID, live.ID))
	require.NoError(t, s.MarkAttendance(ctx, sess.ID, u.ID, staff.ID))

	require.NoError(t, s.writeActivity(ctx, []ActivityEvent{{UserID: u.ID, TrainingID: tr.ID, Action: ActViewTraining,
		At: s.Now(), IP: netip.MustParseAddr("198.51.100.77")}}))
	require.NoError(t, s.RecordDisclosures(ctx, Disclosure{ViewerID: staff.ID, ViewerRole: string(RoleMemberStaff),
		MemberID: m.ID, View: ViewLearnerRecord, Reason: "Xportreason for viewing"}, u.ID))
	sent, err := s.EnqueueMail(ctx, NewMail{UserID: u.ID, To: u.Email, Kind: "verify", Subject: "Xportsubject line", Text: "body"})
	require.NoError(t, err)
	require.NoError(t, s.MarkMailSent(ctx, sent))
	// Mail still waiting holds a live link: it is not exported at all.
	_, err = s.EnqueueMail(ctx, NewMail{UserID: u.ID, To: u.Email, Kind: "password_reset", Subject: "Waiting subject",
		Text: "Reset: https://kelas.example/password/reset/live-secret-token"})
	require.NoError(t, err)
	_, err = s.ClaimNotification(ctx, "announcement", tr.ID, u.ID)
	require.NoError(t, err)

	b, err := s.CreateBreach(ctx, staff.ID, NewBreach{Title: "t", Description: "d", Measures: "m", Advice: "a", Contact: "c",
		Categories: []string{string(CatRegistration)}, OccurredAt: s.Now().Add(-time.Hour), DetectedAt: s.Now(),
		Scope: "list", People: []string{u.ID}})
	require.NoError(t, err)
	_, err = s.ClaimBreachNotices(ctx, b.ID, []string{u.ID})
	require.NoError(t, err)

	// Someone else, so that a missing WHERE would show.
	other := createUser(t, s, newUser("exportother"))
	require.NoError(t, s.writeActivity(ctx, []ActivityEvent{{UserID: other.ID, Action: ActEnrol, At: s.Now()}}))
	require.NoError(t, s.SetRestricted(ctx, u.ID, true))
	return u
}

// dataset finds the dataset of table in category c.
func dataset(pd PersonalData, c Category, table string) (Dataset, bool) {
	for _, d := range pd.Categories[c] {
		if d.Name == table {
			return d, true
		}
	}
	return Dataset{}, false
}

// linkedTables are the data-map tables with an exportable column, and
// whether the export knows how to find the person's rows in them.
func linkedTables() map[string]bool {
	out := map[string]bool{}
	for _, t := range exportSources() {
		_, ok := t.link()
		out[t.name] = ok
	}
	return out
}

// TestExportHasEveryCategoryWithData fails when a data-map category that
// holds data for a person is missing from the export: the person has data in
// every category that can hold some, so each category with an exportable
// column of a person-linked table must come out with rows.
func TestExportHasEveryCategoryWithData(t *testing.T) {
	s := newTestStore(t)
	u := exportPerson(t, s)
	pd, err := s.PersonalData(context.Background(), u.ID)
	require.NoError(t, err)
	assert.Equal(t, ExportSchemaVersion, pd.SchemaVersion)

	want := map[Category]bool{}
	for _, f := range DataMap() {
		if f.DB == DBMain && f.Export == ExportInclude {
			want[f.Category] = true
		}
	}
	for _, c := range []Category{CatRegistration, CatProfile, CatAccount, CatConsents, CatActivity, CatLearning, CatDisclosures, CatSecurity} {
		assert.True(t, want[c], "the data map exports nothing of category %s any more: update this test deliberately", c)
	}
	for c := range want {
		t.Run(string(c), func(t *testing.T) {
			sets, ok := pd.Categories[c]
			require.True(t, ok, "category %s is missing from the export", c)
			rows := 0
			for _, d := range sets {
				rows += len(d.Rows)
			}
			assert.Positive(t, rows, "category %s holds data for this person but the export has no rows of it", c)
		})
	}
	assert.NotContains(t, pd.Categories, CatSystem)
	assert.NotContains(t, pd.Categories, CatVisitorStats, "aggregate counters hold no one's data")

	// Spot checks: sealed values come out opened, times as RFC 3339, the
	// picture as a file name, lookups beside ids.
	reg, ok := dataset(pd, CatRegistration, "users")
	require.True(t, ok)
	require.Len(t, reg.Rows, 1)
	assert.Equal(t, "xportmail@example.test", cell(t, reg, 0, "email"))
	assert.Equal(t, "Xportfirstname", cell(t, reg, 0, "first_name"))
	assert.Equal(t, "MY", cell(t, reg, 0, "country"))
	acc, _ := dataset(pd, CatAccount, "users")
	assert.Equal(t, u.ID, cell(t, acc, 0, "id"))
	assert.NotContains(t, acc.Columns, "password_hash")
	assert.NotContains(t, acc.Columns, "email_index")
	_, err = time.Parse(time.RFC3339, cell(t, acc, 0, "created_at"))
	assert.NoError(t, err)
	assert.True(t, strings.HasSuffix(cell(t, acc, 0, "created_at"), "Z"), "times are UTC")

	prof, _ := dataset(pd, CatProfile, "profiles")
	assert.Equal(t, "+60 12-999 7070", cell(t, prof, 0, "phone"))
	assert.Equal(t, "profile/picture.jpg", cell(t, prof, 0, "picture"))
	assert.Equal(t, PictureFile("image/jpeg"), cell(t, prof, 0, "picture"))

	act, _ := dataset(pd, CatActivity, "activity_log")
	require.Len(t, act.Rows, 1, "only this person's activity")
	assert.Equal(t, "198.51.100.77", cell(t, act, 0, "ip"))
	assert.Equal(t, "198.51.100.0/24", cell(t, act, 0, "ip_prefix"))
	assert.Equal(t, "Xport bookkeeping", cell(t, act, 0, "training_title"))

	disc, _ := dataset(pd, CatDisclosures, "disclosures")
	require.Len(t, disc.Rows, 1)
	assert.Equal(t, "Xportreason for viewing", cell(t, disc, 0, "reason"))
	assert.Equal(t, "SME Corporation Malaysia", cell(t, disc, 0, "member_name"))

	cert, _ := dataset(pd, CatLearning, "certificates")
	require.Len(t, cert.Rows, 1)
	assert.Equal(t, "Xportfirstname Xportsurname", cell(t, cert, 0, "holder_name"))
	mail, _ := dataset(pd, CatAccount, "outbox")
	require.Len(t, mail.Rows, 1, "the mail sent, not the one waiting")
	assert.Equal(t, "Xportsubject line", cell(t, mail, 0, "subject"))
	assert.NotEmpty(t, cell(t, mail, 0, "sent_at"))
	assert.NotContains(t, mail.Columns, "body_text", "bodies carry links")
	assert.NotContains(t, mail.Columns, "body_html")
	assert.NotContains(t, fmt.Sprint(pd), "live-secret-token")
	assert.NotContains(t, fmt.Sprint(pd), "Waiting subject")

	cookies, _ := dataset(pd, CatConsents, "consent_records")
	records, err := s.ConsentRecords(context.Background(), u.ID)
	require.NoError(t, err)
	assert.Len(t, cookies.Rows, len(records), "every cookie consent record of the person")
	disclosures, err := s.Disclosures(context.Background(), u.ID)
	require.NoError(t, err)
	assert.Len(t, disc.Rows, len(disclosures))
	if cases, ok := dataset(pd, CatConsents, "rights_cases"); ok {
		assert.Equal(t, "Xportcase details", cell(t, cases, 0, "details"))
	}
}

func cell(t *testing.T, d Dataset, row int, column string) string {
	t.Helper()
	i := slices.Index(d.Columns, column)
	require.GreaterOrEqual(t, i, 0, "column %s missing from %s (%v)", column, d.Name, d.Columns)
	require.Greater(t, len(d.Rows), row, "%s has too few rows", d.Name)
	require.Len(t, d.Rows[row], len(d.Columns), "row width of %s", d.Name)
	return d.Rows[row][i]
}

// TestExportCoversDataMap walks the data map: every exportable column of a
// kelas.db table must be linkable to a person and appear in the export's
// columns under its category, and a table with sealed exportable columns
// must declare how they are bound.
func TestExportCoversDataMap(t *testing.T) {
	s := newTestStore(t)
	u := exportPerson(t, s)
	pd, err := s.PersonalData(context.Background(), u.ID)
	require.NoError(t, err)
	linked := linkedTables()
	for _, src := range exportSources() {
		if src.needsBinding() {
			_, declared := exportLinks()[src.name]
			assert.True(t, declared, "%s has sealed exportable columns: declare its row binding in exportLinks", src.name)
		}
	}
	for _, f := range DataMap() {
		if f.Export != ExportInclude {
			continue
		}
		t.Run(fieldKey(f), func(t *testing.T) {
			require.Equal(t, DBMain, f.DB, "only kelas.db holds exportable data")
			require.True(t, linked[f.Table], "%s has exportable columns but no column linking it to a person: declare it in exportLinks", f.Table)
			d, ok := dataset(pd, f.Category, f.Table)
			require.True(t, ok, "%s.%s (%s) is missing from the export", f.Table, f.Column, f.Category)
			assert.Contains(t, d.Columns, f.Column)
		})
	}
	// And nothing the map omits comes out.
	omitted := map[string]bool{}
	for _, f := range DataMap() {
		if f.Export == ExportOmit {
			omitted[f.Table+"."+f.Column] = true
		}
	}
	for _, sets := range pd.Categories {
		for _, d := range sets {
			for _, c := range d.Columns {
				assert.False(t, omitted[d.Name+"."+c], "%s.%s is ExportOmit but was exported", d.Name, c)
			}
		}
	}
}

func TestPersonalDataOfUnknownPerson(t *testing.T) {
	s := newTestStore(t)
	_, err := s.PersonalData(context.Background(), NewID())
	assert.ErrorIs(t, err, ErrNotFound)
}

// readyExport creates an export of u holding payload and finishes it.
func readyExport(t *testing.T, s *Store, userID string, payload []byte) string {
	t.Helper()
	ctx := context.Background()
	id, err := s.CreateExport(ctx, userID)
	require.NoError(t, err)
	require.NoError(t, s.SetExportProgress(ctx, id, 40))
	size, sum, err := s.WriteExportFile(ctx, userID, id, bytes.NewReader(payload))
	require.NoError(t, err)
	want := sha256.Sum256(payload)
	assert.Equal(t, int64(len(payload)), size)
	assert.Equal(t, hex.EncodeToString(want[:]), sum)
	require.NoError(t, s.FinishExport(ctx, id, size, sum))
	return id
}

func readExport(t *testing.T, s *Store, userID, id string) ([]byte, error) {
	t.Helper()
	rc, err := s.OpenExportFile(context.Background(), userID, id)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// payload is n bytes that carry the person's strings and are not all alike.
func payload(n int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "%d %s;", i, exportSecrets[i%len(exportSecrets)])
	}
	return b.Bytes()[:n]
}

func TestExportFileRoundTripsAtChunkBoundaries(t *testing.T) {
	s := newTestStore(t)
	u := createUser(t, s, newUser("chunks"))
	for _, n := range []int{0, 1, exportChunk - 1, exportChunk, exportChunk + 1, 3 * exportChunk, 3*exportChunk + 17} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			p := payload(n)
			id := readyExport(t, s, u.ID, p)
			got, err := readExport(t, s, u.ID, id)
			require.NoError(t, err)
			assert.True(t, bytes.Equal(p, got), "round trip of %d bytes", n)
			j, err := s.Export(context.Background(), u.ID, id)
			require.NoError(t, err)
			assert.Equal(t, ExportReady, j.Status)
			assert.Equal(t, 100, j.Progress)
		})
	}
}

// TestExportFileHoldsNoPlaintext greps the raw bytes of DATA/exports for
// the person's strings.
func TestExportFileHoldsNoPlaintext(t *testing.T) {
	s := newTestStore(t)
	u := createUser(t, s, newUser("plain"))
	readyExport(t, s, u.ID, payload(5*exportChunk))
	files, err := filepath.Glob(filepath.Join(s.Dir(), ExportsDir, "*"))
	require.NoError(t, err)
	require.Len(t, files, 1, "one sealed file, no temporary left")
	assert.True(t, strings.HasSuffix(files[0], ".sealed"))
	raw, err := os.ReadFile(files[0])
	require.NoError(t, err)
	for _, secret := range exportSecrets {
		assert.NotContains(t, string(raw), secret)
	}
	st, err := os.Stat(files[0])
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
}

// TestExportFileRefusesTampering: a flipped byte, a truncated file, a dropped
// or swapped chunk, appended bytes and a file moved to another export all
// fail to open.
func TestExportFileRefusesTampering(t *testing.T) {
	s := newTestStore(t)
	u := createUser(t, s, newUser("tamper"))
	p := payload(3*exportChunk + 100)
	id := readyExport(t, s, u.ID, p)
	path := s.exportPath(id)
	orig, err := os.ReadFile(path)
	require.NoError(t, err)
	frame := 4 + maxSealedChunk
	head := len(exportMagic)
	chunk := func(i int) []byte { return orig[head+i*frame : head+(i+1)*frame] }

	cases := map[string][]byte{
		"flipped byte":   flipAt(orig, len(orig)/2),
		"flipped magic":  flipAt(orig, 0),
		"truncated":      orig[:len(orig)-10],
		"cut at a chunk": orig[:head+3*frame],
		"empty":          {},
		"dropped chunk":  slices.Concat(orig[:head], chunk(0), chunk(2), orig[head+3*frame:]),
		"swapped chunks": slices.Concat(orig[:head], chunk(1), chunk(0), orig[head+2*frame:]),
		"appended":       slices.Concat(orig, chunk(0)),
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			require.NoError(t, os.WriteFile(path, b, 0o600))
			_, err := readExport(t, s, u.ID, id)
			assert.ErrorIs(t, err, ErrExportDamaged)
		})
	}
	t.Run("moved to another export", func(t *testing.T) {
		other := readyExport(t, s, u.ID, p)
		require.NoError(t, os.WriteFile(s.exportPath(other), orig, 0o600))
		_, err := readExport(t, s, u.ID, other)
		assert.ErrorIs(t, err, ErrExportDamaged)
	})
	t.Run("intact again", func(t *testing.T) {
		require.NoError(t, os.WriteFile(path, orig, 0o600))
		got, err := readExport(t, s, u.ID, id)
		require.NoError(t, err)
		assert.True(t, bytes.Equal(p, got))
	})
}

func flipAt(b []byte, i int) []byte {
	c := slices.Clone(b)
	c[i] ^= 0x40
	return c
}

// TestExportIsScopedByOwner: another person's export id is not found,
// whatever is asked of it.
func TestExportIsScopedByOwner(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	a, b := createUser(t, s, newUser("owner")), createUser(t, s, newUser("intruder"))
	id := readyExport(t, s, a.ID, payload(100))
	_, err := s.Export(ctx, b.ID, id)
	assert.ErrorIs(t, err, ErrNotFound)
	_, err = s.OpenExportFile(ctx, b.ID, id)
	assert.ErrorIs(t, err, ErrNotFound)
	_, _, err = s.WriteExportFile(ctx, b.ID, id, strings.NewReader("x"))
	assert.ErrorIs(t, err, ErrNotFound)
	_, err = s.LatestExport(ctx, b.ID)
	assert.ErrorIs(t, err, ErrNotFound)
	_, err = s.CreateExport(ctx, NewID())
	assert.ErrorIs(t, err, ErrNotFound, "no export for an unknown person")
}

// TestExportExpiresAfterSevenDays: downloadable until 7 days after ready,
// ErrExpired from then, and purged (row and file) by retention.
func TestExportExpiresAfterSevenDays(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	s := openTestStore(t, t.TempDir(), newMasterKey(t), clock.Now)
	u := createUser(t, s, newUser("expiry"))
	id := readyExport(t, s, u.ID, payload(1000))
	j, err := s.Export(ctx, u.ID, id)
	require.NoError(t, err)
	assert.Equal(t, clock.Now().AddDate(0, 0, 7), j.ExpiresAt)

	clock.Advance(7*24*time.Hour - time.Second)
	_, err = readExport(t, s, u.ID, id)
	require.NoError(t, err, "still downloadable just before expiry")
	n, err := s.PurgeExpiredExports(ctx)
	require.NoError(t, err)
	assert.Zero(t, n)

	clock.Advance(time.Second)
	_, err = readExport(t, s, u.ID, id)
	assert.ErrorIs(t, err, ErrExpired)
	j, err = s.Export(ctx, u.ID, id)
	require.NoError(t, err)
	assert.True(t, j.Expired(clock.Now()))

	n, err = s.PurgeExpiredExports(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	_, err = s.Export(ctx, u.ID, id)
	assert.ErrorIs(t, err, ErrNotFound)
	_, err = os.Stat(s.exportPath(id))
	assert.ErrorIs(t, err, os.ErrNotExist, "the file goes with the row")
}

// TestRetentionPurgesExports: the 'exports' retention rule runs the same
// purge, skipping people under a legal hold, and sweeps files without a row.
func TestRetentionPurgesExports(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	s := openTestStore(t, t.TempDir(), newMasterKey(t), clock.Now)
	u, held := createUser(t, s, newUser("purged")), createUser(t, s, newUser("held"))
	id := readyExport(t, s, u.ID, payload(100))
	heldID := readyExport(t, s, held.ID, payload(100))
	_, err := s.SetLegalHold(ctx, "op", NewLegalHold{UserID: held.ID, Reason: "case 7"})
	require.NoError(t, err)
	stray := filepath.Join(s.Dir(), ExportsDir, NewID()+".sealed")
	require.NoError(t, os.WriteFile(stray, []byte("left by an erased person"), 0o600))

	clock.Advance(8 * 24 * time.Hour)
	res, err := s.Purge(ctx, PurgeOptions{})
	require.NoError(t, err)
	var got *PurgeResult
	for i := range res {
		if res[i].Category == RetExports {
			got = &res[i]
		}
	}
	require.NotNil(t, got, "retention has an exports purge")
	assert.EqualValues(t, 1, got.Rows)
	_, err = s.Export(ctx, u.ID, id)
	assert.ErrorIs(t, err, ErrNotFound)
	_, err = os.Stat(s.exportPath(id))
	assert.ErrorIs(t, err, os.ErrNotExist)
	_, err = os.Stat(stray)
	assert.ErrorIs(t, err, os.ErrNotExist, "a file without a row is swept")
	_, err = s.Export(ctx, held.ID, heldID)
	assert.NoError(t, err, "a legal hold keeps the person's export")
}

func TestExportJobLifecycle(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	s := openTestStore(t, t.TempDir(), newMasterKey(t), clock.Now)
	u := createUser(t, s, newUser("jobs"))

	id, err := s.CreateExport(ctx, u.ID)
	require.NoError(t, err)
	_, err = s.CreateExport(ctx, u.ID)
	assert.ErrorIs(t, err, ErrConflict, "one build at a time")
	_, err = s.OpenExportFile(ctx, u.ID, id)
	assert.ErrorIs(t, err, ErrExportNotReady)

	require.NoError(t, s.SetExportProgress(ctx, id, 30))
	require.NoError(t, s.SetExportProgress(ctx, id, 10))
	j, err := s.LatestExport(ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, id, j.ID)
	assert.Equal(t, ExportBuilding, j.Status)
	assert.Equal(t, 30, j.Progress, "progress never goes back")

	require.NoError(t, s.FailExport(ctx, id, "failed"))
	assert.ErrorIs(t, s.SetExportProgress(ctx, id, 50), ErrNotFound, "a failed build stops")
	assert.ErrorIs(t, s.FinishExport(ctx, id, 1, strings.Repeat("a", 64)), ErrNotFound)
	j, err = s.Export(ctx, u.ID, id)
	require.NoError(t, err)
	assert.Equal(t, ExportFailed, j.Status)
	assert.Equal(t, "failed", j.Error)

	// A build that never finished does not block the person for ever.
	stuck, err := s.CreateExport(ctx, u.ID)
	require.NoError(t, err)
	clock.Advance(exportStale + time.Minute)
	j, err = s.LatestExport(ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, stuck, j.ID)
	assert.False(t, j.Active(), "a stale build reads as interrupted, so no page waits for it")
	assert.Equal(t, exportInterrupted, j.Error)
	fresh, err := s.CreateExport(ctx, u.ID)
	require.NoError(t, err)
	j, err = s.Export(ctx, u.ID, stuck)
	require.NoError(t, err)
	assert.Equal(t, ExportFailed, j.Status)
	assert.Equal(t, exportInterrupted, j.Error)
	all, err := s.Exports(ctx, u.ID)
	require.NoError(t, err)
	require.Len(t, all, 3)
	assert.Equal(t, fresh, all[0].ID, "newest first")

	require.NoError(t, s.DeleteExports(ctx, u.ID))
	all, err = s.Exports(ctx, u.ID)
	require.NoError(t, err)
	assert.Empty(t, all)
}

// TestExportRowsGoWithTheAccount: erasure deletes the person's export rows
// through the foreign key.
func TestExportRowsGoWithTheAccount(t *testing.T) {
	s := newTestStore(t)
	u := createUser(t, s, newUser("gone"))
	readyExport(t, s, u.ID, payload(10))
	_, err := s.db.Exec("DELETE FROM users WHERE id = ?", u.ID)
	require.NoError(t, err)
	assert.Zero(t, count(t, s.db, "exports", "user_id = ?", u.ID))
}

// TestInterruptExports: at start-up no build is running, so every queued or
// building export is marked failed and the person can ask again at once.
func TestInterruptExports(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	a, b := createUser(t, s, newUser("inta")), createUser(t, s, newUser("intb"))
	ready := readyExport(t, s, a.ID, payload(10))
	queued, err := s.CreateExport(ctx, a.ID)
	require.NoError(t, err)
	building, err := s.CreateExport(ctx, b.ID)
	require.NoError(t, err)
	require.NoError(t, s.SetExportProgress(ctx, building, 50))

	n, err := s.InterruptExports(ctx)
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	for _, c := range []struct{ user, id, status string }{{a.ID, ready, ExportReady}, {a.ID, queued, ExportFailed}, {b.ID, building, ExportFailed}} {
		j, err := s.Export(ctx, c.user, c.id)
		require.NoError(t, err)
		assert.Equal(t, c.status, j.Status, c.id)
	}
	_, err = s.CreateExport(ctx, b.ID)
	assert.NoError(t, err)
}

// TestStoredRFC3339MatchesParsing checks the export's fast time rewrite
// against parsing and formatting, on valid and invalid stored times.
func TestStoredRFC3339MatchesParsing(t *testing.T) {
	for _, v := range []string{"2025-03-14T09:26:53.123456Z", "2024-02-29T23:59:59.999999Z", "2025-02-29T10:00:00.000000Z",
		"2025-04-31T10:00:00.000000Z", "2025-13-01T10:00:00.000000Z", "2025-00-10T10:00:00.000000Z", "2025-01-10T24:00:00.000000Z",
		"2025-01-10T10:60:00.000000Z", "2025-01-10T10:00:60.000000Z", "2025-01-10T10:00:00.00000aZ", "2025-01-10 10:00:00.000000Z",
		"2025-01-10T10:00:00.000000", "hello", "", "2000-01-01T00:00:00.000000Z", "2025-12-31T23:59:59.000000Z"} {
		want, wantOK := "", false
		if tm, ok := storedTime(v); ok {
			want, wantOK = tm.Format(time.RFC3339), true
		}
		got, ok := storedRFC3339(v)
		assert.Equal(t, wantOK, ok, v)
		assert.Equal(t, want, got, v)
	}
}

func TestPictureFileByContentType(t *testing.T) {
	assert.Equal(t, "profile/picture.jpg", PictureFile("image/jpeg"))
	assert.Equal(t, "profile/picture.png", PictureFile("image/png"))
	assert.Equal(t, "profile/picture.bin", PictureFile("image/svg+xml"), "anything else is kept as bytes, never rendered")
}
