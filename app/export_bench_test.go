package app

import (
	"archive/zip"
	"bufio"
	"compress/flate"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"syscall"
	"time"

	"kelas/store"
	"kelas/views"
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
