package app

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"kelas/jobs"
	"kelas/store"
)

// exportSecrets are the learner's values that appear nowhere else.
var exportSecrets = []string{"Zqexportfirst", "Zqexportsurname", "zqexport@example.org", "+60 12-555 0199", "Jalan Zqexport 3",
	"203.0.113.177", "Zqexport reason"}

// exportLearner is a learner with a profile (and picture), activity with an
// address, a cookie choice, an enrolment and a disclosure.
func exportLearner(t testing.TB, ts *testServer) store.User {
	t.Helper()
	ctx := context.Background()
	u, err := ts.store.CreateUser(ctx, store.NewUser{Email: "zqexport@example.org", FirstName: "Zqexportfirst", Surname: "Zqexportsurname",
		Company: "Zqexport Sdn Bhd", Country: "MY", Industry: "manufacturing", PasswordHash: "$2a$04$abcdefghijklmnopqrstuv",
		Role: store.RoleLearner, Verified: true, AdultConfirmed: true, AcceptedPolicy: "2023-10-09", Feedback: true})
	require.NoError(t, err)
	require.NoError(t, ts.store.UpdateProfile(ctx, u.ID, store.Details{FirstName: u.FirstName, Surname: u.Surname, Company: u.Company,
		Country: "MY", Industry: "manufacturing"}, store.Profile{Phone: "+60 12-555 0199", Address: "Jalan Zqexport 3",
		Picture: []byte("\xff\xd8\xff\xe0 jpeg bytes"), PictureType: "image/jpeg"}, store.PictureReplace))
	m, err := ts.store.MemberByName(ctx, "SME Corporation Malaysia")
	require.NoError(t, err)
	tr, err := ts.store.CreateTraining(ctx, m.ID, "", store.TrainingInput{Title: "Cash flow", Summary: "s", Language: "en",
		Kind: "self_study", PassMark: 50, Published: true})
	require.NoError(t, err)
	require.NoError(t, ts.store.Enrol(ctx, u.ID, tr.ID))
	w := ts.store.NewActivityWriter(16, nil)
	require.NoError(t, w.Record(ctx, store.ActivityEvent{UserID: u.ID, TrainingID: tr.ID, Action: store.ActEnrol,
		IP: netip.MustParseAddr("203.0.113.177")}))
	require.NoError(t, w.Close(ctx))
	_, err = ts.store.RecordConsent(ctx, store.ConsentRecord{ConsentID: store.NewID(), UserID: u.ID, Statistics: true,
		How: store.ConsentSettings, PolicyVersion: "2023-10-09", Revision: strings.Repeat("cd", 32)})
	require.NoError(t, err)
	require.NoError(t, ts.store.RecordDisclosures(ctx, store.Disclosure{ViewerID: store.NewID(), ViewerRole: string(store.RoleOperator),
		View: store.ViewLearnerRecord, Reason: "Zqexport reason"}, u.ID))
	return u
}

// waitExport waits for the background build of id and returns the job.
func waitExport(t testing.TB, ts *testServer, userID, id string) store.ExportJob {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, ts.jobs.WaitExports(ctx))
	j, err := ts.store.Export(context.Background(), userID, id)
	require.NoError(t, err)
	return j
}

// download calls serveExport as the lead's route will: for userID, export id.
func download(ts *testServer, userID, id string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, "/rights/exports/"+id, nil)
	ts.app.serve(anyone, func(w http.ResponseWriter, r *http.Request) error {
		return ts.app.serveExport(w, r, userID, id)
	}).ServeHTTP(rec, r)
	return rec
}

func openZip(t *testing.T, b []byte) map[string][]byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	require.NoError(t, err)
	out := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		require.NoError(t, err)
		body, err := io.ReadAll(rc)
		require.NoError(t, err)
		rc.Close()
		require.NotContains(t, out, f.Name, "duplicate file in the ZIP")
		out[f.Name] = body
	}
	return out
}

// TestExportZip builds an export in the background and checks the ZIP
// against SPEC §6: data.json with every data-map category that has data and
// schema_version, a CSV per dataset, index.html without JavaScript or
// external references, SHA256SUMS that verifies; the file on disk holds none
// of the person's strings.
func TestExportZip(t *testing.T) {
	ts := newTestServer(t)
	u := exportLearner(t, ts)
	ctx := context.Background()

	id, err := ts.app.startExport(ctx, u.ID)
	require.NoError(t, err)
	require.True(t, store.ValidID(id))
	again, err := ts.app.startExport(ctx, u.ID)
	require.NoError(t, err)
	j := waitExport(t, ts, u.ID, id)
	require.Equal(t, store.ExportReady, j.Status, "export error: %q; log: %s", j.Error, ts.logs.String())
	assert.Equal(t, 100, j.Progress)
	if again != id {
		// The first build had finished already: a second one was started.
		waitExport(t, ts, u.ID, again)
	}

	// On disk: sealed, none of the person's strings.
	files, err := filepath.Glob(filepath.Join(ts.store.Dir(), store.ExportsDir, "*"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, s := range append(exportSecrets, "PK\x03\x04", "data.json", "schema_version") {
			assert.NotContains(t, string(raw), s, "%s holds %q in plaintext", filepath.Base(f), s)
		}
	}

	rec := download(ts, u.ID, id)
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, "application/zip", rec.Header().Get("Content-Type"))
	assert.Equal(t, `attachment; filename="kelas-export-2026-03-01.zip"`, rec.Header().Get("Content-Disposition"))
	assert.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
	assert.Equal(t, fmt.Sprint(j.Size), rec.Header().Get("Content-Length"))
	sum := sha256.Sum256(rec.Body.Bytes())
	assert.Equal(t, j.SHA256, hex.EncodeToString(sum[:]))

	pd, err := ts.store.PersonalData(ctx, u.ID)
	require.NoError(t, err)
	zipFiles := openZip(t, rec.Body.Bytes())

	t.Run("data.json", func(t *testing.T) {
		var doc map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(zipFiles["data.json"], &doc))
		assert.JSONEq(t, "1", string(doc["schema_version"]))
		// Every category of the data map that has data for this person.
		withData := map[string]bool{}
		for _, c := range pd.CategoryOrder() {
			for _, d := range pd.Categories[c] {
				if len(d.Rows) > 0 {
					withData[string(c)] = true
				}
			}
		}
		for _, c := range []store.Category{store.CatRegistration, store.CatProfile, store.CatAccount, store.CatConsents,
			store.CatActivity, store.CatLearning, store.CatDisclosures} {
			assert.True(t, withData[string(c)], "the learner has %s data", c)
		}
		for c := range withData {
			assert.Contains(t, doc, c)
		}
		for k := range doc {
			if k != "schema_version" {
				assert.Contains(t, pd.Categories, store.Category(k), "top-level keys are data-map categories")
			}
		}
		var reg map[string][]map[string]string
		require.NoError(t, json.Unmarshal(doc["registration"], &reg))
		require.Len(t, reg["users"], 1)
		assert.Equal(t, "zqexport@example.org", reg["users"][0]["email"])
		var prof map[string][]map[string]string
		require.NoError(t, json.Unmarshal(doc["profile"], &prof))
		assert.Equal(t, "+60 12-555 0199", prof["profiles"][0]["phone"], "data.json keeps exact values")
		assert.Equal(t, "profile/picture.jpg", prof["profiles"][0]["picture"])
	})

	t.Run("a CSV per dataset", func(t *testing.T) {
		for _, c := range pd.CategoryOrder() {
			for _, d := range pd.Categories[c] {
				name := string(c) + "/" + d.Name + ".csv"
				b, ok := zipFiles[name]
				require.True(t, ok, "%s missing", name)
				recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
				require.NoError(t, err, name)
				require.NotEmpty(t, recs, "%s has a header row", name)
				assert.Equal(t, d.Columns, recs[0], name)
				assert.Len(t, recs, len(d.Rows)+1, name)
			}
		}
		recs, err := csv.NewReader(bytes.NewReader(zipFiles["profile/profiles.csv"])).ReadAll()
		require.NoError(t, err)
		phone := slices.Index(recs[0], "phone")
		assert.Equal(t, "'+60 12-555 0199", recs[1][phone], "a cell starting with + is defused")
		assert.Equal(t, []byte("\xff\xd8\xff\xe0 jpeg bytes"), zipFiles["profile/picture.jpg"])
	})

	t.Run("index.html", func(t *testing.T) {
		page := string(zipFiles["index.html"])
		lower := strings.ToLower(page)
		for _, bad := range []string{"<script", "javascript:", "http://", "https://", "<link", "@import", "url(", "src=\"//", "href=\"//", "<iframe", " on"} {
			if bad == " on" {
				// No inline event handler attributes (onload=, onclick=...).
				assert.NotRegexp(t, `<[^>]+\son[a-z]+\s*=`, lower)
				continue
			}
			assert.NotContains(t, lower, bad)
		}
		d := doc(t, page)
		assert.Equal(t, len(pd.CategoryOrder()), d.Find(`[data-testid="export-section"]`).Length())
		assert.Contains(t, d.Find(`[data-testid="export-date"]`).Text(), "1 March 2026")
		assert.Contains(t, page, "zqexport@example.org")
		assert.Contains(t, page, "Zqexport reason")
		assert.Equal(t, 1, d.Find(`img[src="profile/picture.jpg"]`).Length())
		d.Find("a[href]").Each(func(_ int, a *goquery.Selection) {
			href, _ := a.Attr("href")
			if !strings.HasPrefix(href, "#") {
				assert.Contains(t, zipFiles, href, "links point into the ZIP")
			}
		})
	})

	t.Run("SHA256SUMS", func(t *testing.T) {
		listed := map[string]bool{}
		sc := bufio.NewScanner(bytes.NewReader(zipFiles["SHA256SUMS"]))
		for sc.Scan() {
			sum, name, ok := strings.Cut(sc.Text(), "  ")
			require.True(t, ok, "sha256sum format: %q", sc.Text())
			body, ok := zipFiles[name]
			require.True(t, ok, "%s listed but not in the ZIP", name)
			got := sha256.Sum256(body)
			assert.Equal(t, hex.EncodeToString(got[:]), sum, name)
			listed[name] = true
		}
		for name := range zipFiles {
			if name != "SHA256SUMS" {
				assert.True(t, listed[name], "%s not in SHA256SUMS", name)
			}
		}
	})
}

// TestExportDownloadErrors: another person's export, an unknown or malformed
// id are 404; an export still being built is 409; an expired one 410 with a
// page that says so.
func TestExportDownloadErrors(t *testing.T) {
	ts := newTestServer(t)
	u := exportLearner(t, ts)
	other, err := ts.store.CreateUser(context.Background(), store.NewUser{AcceptedPolicy: seededPolicy, Email: "other@example.org", FirstName: "O", Surname: "T",
		PasswordHash: "x", Role: store.RoleLearner, Verified: true})
	require.NoError(t, err)
	id, err := ts.app.startExport(context.Background(), u.ID)
	require.NoError(t, err)
	require.Equal(t, store.ExportReady, waitExport(t, ts, u.ID, id).Status)

	assert.Equal(t, http.StatusNotFound, download(ts, other.ID, id).Code, "another person's export")
	assert.Equal(t, http.StatusNotFound, download(ts, u.ID, store.NewID()).Code, "an unknown export")
	assert.Equal(t, http.StatusNotFound, download(ts, u.ID, "../../kelas.db").Code, "a malformed id")

	pending, err := ts.store.CreateExport(context.Background(), other.ID)
	require.NoError(t, err)
	assert.Equal(t, http.StatusConflict, download(ts, other.ID, pending).Code)

	ts.clock.Add(7*24*time.Hour - time.Minute)
	assert.Equal(t, http.StatusOK, download(ts, u.ID, id).Code, "still there just before 7 days")
	ts.clock.Add(time.Minute)
	rec := download(ts, u.ID, id)
	assert.Equal(t, http.StatusGone, rec.Code)
	assert.Contains(t, rec.Body.String(), "This download has expired")
	assert.Contains(t, rec.Body.String(), "7 days")
	assert.NotContains(t, rec.Header().Get("Content-Type"), "zip")
}

// TestExportFailureIsRecorded: when the file cannot be written the job
// fails with a fixed phrase, and the log names the export, not the person.
func TestExportFailureIsRecorded(t *testing.T) {
	ts := newTestServer(t)
	u := exportLearner(t, ts)
	// A file where the exports directory should be.
	require.NoError(t, os.WriteFile(filepath.Join(ts.store.Dir(), store.ExportsDir), []byte("x"), 0o600))
	id, err := ts.app.startExport(context.Background(), u.ID)
	require.NoError(t, err)
	j := waitExport(t, ts, u.ID, id)
	assert.Equal(t, store.ExportFailed, j.Status)
	assert.Equal(t, "the export could not be built; please ask for a new one", j.Error)
	assert.Contains(t, ts.logs.String(), id)
	for _, s := range exportSecrets {
		assert.NotContains(t, ts.logs.String(), s)
	}
	// The person can ask again.
	require.NoError(t, os.Remove(filepath.Join(ts.store.Dir(), store.ExportsDir)))
	id2, err := ts.app.startExport(context.Background(), u.ID)
	require.NoError(t, err)
	assert.NotEqual(t, id, id2)
	assert.Equal(t, store.ExportReady, waitExport(t, ts, u.ID, id2).Status)
}

// BenchmarkExport100kActivity measures an export of a learner with 100,000
// activity rows, each with a sealed address and prefix: reading and opening
// everything (PersonalData), writing the ZIP, and the whole background
// build (PersonalData + ZIP + sealing to disk with fsync + progress
// updates). Target: the whole build under 3 s.
func BenchmarkExport100kActivity(b *testing.B) {
	ts := newTestServer(b)
	u := exportLearner(b, ts)
	ctx := context.Background()
	trainings, err := ts.store.Enrolments(ctx, u.ID)
	require.NoError(b, err)
	require.NotEmpty(b, trainings)
	w := ts.store.NewActivityWriter(1<<16, func(err error) { b.Error(err) })
	start := ts.clock.Now().Add(-90 * 24 * time.Hour)
	actions := []string{store.ActViewTraining, store.ActViewMaterial, store.ActDownloadFile, store.ActStartQuiz, store.ActSubmitQuiz}
	for i := range 100_000 {
		ip := netip.AddrFrom4([4]byte{203, 0, byte(113 + i%3), byte(i % 251)})
		require.NoError(b, w.Record(ctx, store.ActivityEvent{UserID: u.ID, TrainingID: trainings[0].Training.ID,
			Action: actions[i%len(actions)], ObjectType: "material", ObjectID: store.NewID(), At: start.Add(time.Duration(i) * time.Minute), IP: ip}))
	}
	require.NoError(b, w.Close(ctx))
	pd, err := ts.store.PersonalData(ctx, u.ID)
	require.NoError(b, err)
	act := pd.Categories[store.CatActivity][0]
	require.GreaterOrEqual(b, len(act.Rows), 100_000)

	b.Run("PersonalData", func(b *testing.B) {
		for b.Loop() {
			if _, err := ts.store.PersonalData(ctx, u.ID); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ZIP", func(b *testing.B) {
		var n countWriter
		for b.Loop() {
			n = 0
			if err := jobs.WriteExportZip(&n, pd, nil, ""); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(n)/(1<<20), "MiB/zip")
	})
	b.Run("Build", func(b *testing.B) {
		var size int64
		for b.Loop() {
			id, err := ts.store.CreateExport(ctx, u.ID)
			if err != nil {
				b.Fatal(err)
			}
			if err := ts.jobs.BuildExport(ctx, u.ID, id); err != nil {
				b.Fatal(err)
			}
			j, err := ts.store.Export(ctx, u.ID, id)
			if err != nil || j.Status != store.ExportReady {
				b.Fatalf("export %s: %v", j.Status, err)
			}
			size = j.Size
		}
		b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/export")
		b.ReportMetric(float64(size)/(1<<20), "MiB/zip")
	})
	b.Run("Download", func(b *testing.B) {
		id, err := ts.store.CreateExport(ctx, u.ID)
		require.NoError(b, err)
		require.NoError(b, ts.jobs.BuildExport(ctx, u.ID, id))
		for b.Loop() {
			rc, err := ts.store.OpenExportFile(ctx, u.ID, id)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.Copy(io.Discard, rc); err != nil {
				b.Fatal(err)
			}
			rc.Close()
		}
	})
}

type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) {
	*c += countWriter(len(p))
	return len(p), nil
}
