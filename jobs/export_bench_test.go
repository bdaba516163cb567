package jobs

import (
	"archive/zip"
	"bufio"
	"compress/flate"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"kelas/store"
	"kelas/views"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// cpuTime is the CPU time (user + system) the process has used so far. On a
// machine shared with other work, CPU time per operation moves much less
// than wall time, so the export benchmarks report both.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// writeExportSequential is how writeExport wrote the ZIP before: one file
// after another through the standard library's deflate at BestSpeed. It is
// the ZIP benchmark's same-run baseline.
func writeExportSequential(w io.Writer, pd store.PersonalData, picture []byte, pictureType string) error {
	zw := zip.NewWriter(w)
	zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(out, flate.BestSpeed)
	})
	order := pd.CategoryOrder()
	var sums strings.Builder
	add := func(name string, method uint16, write func(io.Writer) error) error {
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: method, Modified: pd.GeneratedAt})
		if err != nil {
			return err
		}
		h := sha256.New()
		bw := bufio.NewWriterSize(io.MultiWriter(fw, h), 64<<10)
		if err := write(bw); err != nil {
			return err
		}
		if err := bw.Flush(); err != nil {
			return err
		}
		fmt.Fprintf(&sums, "%s  %s\n", hex.EncodeToString(h.Sum(nil)), name)
		return nil
	}
	if err := add("data.json", zip.Deflate, func(w io.Writer) error { return writeDataJSON(w, pd, order) }); err != nil {
		return err
	}
	for _, c := range order {
		for _, d := range pd.Categories[c] {
			if err := add(exportCSVName(c, d), zip.Deflate, func(w io.Writer) error { return writeDatasetCSV(w, d) }); err != nil {
				return err
			}
		}
	}
	pictureFile := ""
	if len(picture) > 0 {
		pictureFile = store.PictureFile(pictureType)
		if err := add(pictureFile, zip.Store, func(w io.Writer) error { _, err := w.Write(picture); return err }); err != nil {
			return err
		}
	}
	idx := views.ExportIndex{ExportedAt: pd.GeneratedAt, SchemaVersion: pd.SchemaVersion, Picture: pictureFile}
	for _, c := range order {
		title, about := exportTitle(c)
		sec := views.ExportSection{ID: string(c), Title: title, About: about}
		for _, d := range pd.Categories[c] {
			sec.Dataset = append(sec.Dataset, views.ExportDataset{Name: d.Name, CSV: exportCSVName(c, d), Columns: d.Columns, Rows: d.Rows})
		}
		idx.Sections = append(idx.Sections, sec)
	}
	if err := add("index.html", zip.Deflate, func(w io.Writer) error {
		return views.ExportIndexPage(idx).Render(context.Background(), w)
	}); err != nil {
		return err
	}
	if err := add("SHA256SUMS", zip.Deflate, func(w io.Writer) error {
		_, err := io.WriteString(w, sums.String())
		return err
	}); err != nil {
		return err
	}
	return zw.Close()
}

// countWriter counts the bytes written to it.
type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) {
	*c += countWriter(len(p))
	return len(p), nil
}

// BenchmarkExportZIP100kActivity writes the ZIP of a learner with 100,000
// activity rows (the data of BenchmarkExport100kActivity in package app,
// read from a real store) to a counting writer: ZIP is the writer kelas
// uses, ZIP-sequential-baseline the former one, in the same run. Besides
// wall time each reports cpu-ms/op, the process's CPU time per operation.
func BenchmarkExportZIP100kActivity(b *testing.B) {
	ctx := context.Background()
	key := make([]byte, 32)
	rand.Read(key)
	st, err := store.Open(ctx, store.Options{Dir: b.TempDir(), MasterKey: key})
	require.NoError(b, err)
	b.Cleanup(func() { assert.NoError(b, st.Close()) })
	u, err := st.CreateUser(ctx, store.NewUser{Email: "zqexport@example.org", FirstName: "Zqexportfirst", Surname: "Zqexportsurname",
		Company: "Zqexport Sdn Bhd", Country: "MY", Industry: "manufacturing", PasswordHash: "$2a$04$abcdefghijklmnopqrstuv",
		Role: store.RoleLearner, Verified: true, AdultConfirmed: true, AcceptedPolicy: "2023-10-09", Feedback: true})
	require.NoError(b, err)
	require.NoError(b, st.UpdateProfile(ctx, u.ID, store.Details{FirstName: u.FirstName, Surname: u.Surname, Company: u.Company,
		Country: "MY", Industry: "manufacturing"}, store.Profile{Phone: "+60 12-555 0199", Address: "Jalan Zqexport 3",
		Picture: []byte("\xff\xd8\xff\xe0 jpeg bytes"), PictureType: "image/jpeg"}, store.PictureReplace))
	_, err = st.SeedMembers(ctx)
	require.NoError(b, err)
	m, err := st.MemberByName(ctx, "SME Corporation Malaysia")
	require.NoError(b, err)
	tr, err := st.CreateTraining(ctx, m.ID, "", store.TrainingInput{Title: "Cash flow", Summary: "s", Language: "en",
		Kind: "self_study", PassMark: 50, Published: true})
	require.NoError(b, err)
	require.NoError(b, st.Enrol(ctx, u.ID, tr.ID))
	w := st.NewActivityWriter(1<<16, func(err error) { b.Error(err) })
	start := st.Now().Add(-90 * 24 * time.Hour)
	actions := []string{store.ActViewTraining, store.ActViewMaterial, store.ActDownloadFile, store.ActStartQuiz, store.ActSubmitQuiz}
	for i := range 100_000 {
		ip := netip.AddrFrom4([4]byte{203, 0, byte(113 + i%3), byte(i % 251)})
		require.NoError(b, w.Record(ctx, store.ActivityEvent{UserID: u.ID, TrainingID: tr.ID,
			Action: actions[i%len(actions)], ObjectType: "material", ObjectID: store.NewID(), At: start.Add(time.Duration(i) * time.Minute), IP: ip}))
	}
	require.NoError(b, w.Close(ctx))
	pd, err := st.PersonalData(ctx, u.ID)
	require.NoError(b, err)
	require.GreaterOrEqual(b, len(pd.Categories[store.CatActivity][0].Rows), 100_000)

	for _, z := range []struct {
		name  string
		write func(io.Writer, store.PersonalData, []byte, string) error
	}{{"ZIP", WriteExportZip}, {"ZIP-sequential-baseline", writeExportSequential}} {
		b.Run(z.name, func(b *testing.B) {
			var n countWriter
			cpu := cpuTime()
			for b.Loop() {
				n = 0
				if err := z.write(&n, pd, nil, ""); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64((cpuTime()-cpu).Milliseconds())/float64(b.N), "cpu-ms/op")
			b.ReportMetric(float64(n)/(1<<20), "MiB/zip")
		})
	}
}
