package jobs

import (
	"archive/zip"
	"bufio"
	"compress/flate"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"kelas/store"
	"kelas/views"
)

// Portability export (GDPR Art. 20, SPEC §6): the rights portal starts an
// export after re-authenticating the person. The ZIP is built in the
// background from store.PersonalData and handed to the store as a stream,
// which seals it chunk by chunk: no plaintext copy ever reaches the disk.

// exportFailed is what a failed export tells the person: a fixed phrase,
// never the error, which is logged with the export id instead.
const exportFailed = "the export could not be built; please ask for a new one"

// StartExport queues an export of userID's data and builds it in the
// background; it returns the export id at once. While an export of the
// person is already being built it returns that one's id instead of
// starting a second. The caller must have re-authenticated the person.
func (r *Runner) StartExport(ctx context.Context, userID string) (string, error) {
	id, err := r.store.CreateExport(ctx, userID)
	if errors.Is(err, store.ErrConflict) {
		j, err := r.store.LatestExport(ctx, userID)
		if err == nil && j.Active() {
			return j.ID, nil
		}
		return "", store.ErrConflict
	}
	if err != nil {
		return "", err
	}
	// The request that asked may end long before the build does.
	bg := context.WithoutCancel(ctx)
	r.exports.run(func() {
		if err := r.BuildExport(bg, userID, id); err != nil {
			r.log.Error("export failed", "export_id", id, "err", err)
			if ferr := r.store.FailExport(bg, id, exportFailed); ferr != nil && !errors.Is(ferr, store.ErrNotFound) {
				r.log.Error("export: record failure", "export_id", id, "err", ferr)
			}
			return
		}
		r.log.Info("export ready", "export_id", id)
	})
	return id, nil
}

// BuildExport gathers the person's data, writes the ZIP into the store's
// sealing writer through a pipe, and marks the export ready. Progress: 5%
// when started, 20% once the data is read, then by file written.
func (r *Runner) BuildExport(ctx context.Context, userID, id string) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("export: panic: %v", p)
		}
	}()
	if err := r.store.SetExportProgress(ctx, id, 5); err != nil {
		return err
	}
	pd, err := r.store.PersonalData(ctx, userID)
	if err != nil {
		return err
	}
	prof, err := r.store.Profile(ctx, userID)
	if err != nil {
		return err
	}
	if err := r.store.SetExportProgress(ctx, id, 20); err != nil {
		return err
	}
	progress := func(done, total int) error {
		return r.store.SetExportProgress(ctx, id, 20+75*done/total)
	}
	pr, pw := io.Pipe()
	werr := make(chan error, 1)
	go func() {
		err := writeExport(pw, pd, prof.Picture, prof.PictureType, progress)
		pw.CloseWithError(err)
		werr <- err
	}()
	size, sum, err := r.store.WriteExportFile(ctx, userID, id, pr)
	pr.CloseWithError(errors.New("export: sealing stopped")) // unblocks the writer if sealing failed
	if zerr := <-werr; zerr != nil {
		return zerr
	}
	if err != nil {
		return err
	}
	return r.store.FinishExport(ctx, id, size, sum)
}

// exportCategories are the data-map categories as an export names them.
var exportCategories = map[store.Category]struct{ title, about string }{
	store.CatRegistration: {"Registration", "What you gave when you registered."},
	store.CatProfile:      {"Profile", "Your optional profile."},
	store.CatAccount:      {"Account", "Your account: role, status and times, your Member organisation if you work for one, and the emails kelas sent you."},
	store.CatConsents:     {"Consents and requests", "What you agreed to and when, your cookie choices, objections, restriction, notifications sent to you, and your requests about your data."},
	store.CatActivity:     {"Activity log", "What you did in trainings, when, and from which address (addresses are shortened and then removed after a while)."},
	store.CatLearning:     {"Learning records", "Your enrolments, materials viewed, quiz attempts, attendance and certificates."},
	store.CatDisclosures:  {"Disclosures", "Who else saw your personal data, when, and under which access grant or reason."},
	store.CatSecurity:     {"Security", "Personal data breaches you were named in, and when you were told."},
}

func exportTitle(c store.Category) (title, about string) {
	if t, ok := exportCategories[c]; ok {
		return t.title, t.about
	}
	return strings.ReplaceAll(string(c), "_", " "), ""
}

// WriteExportZip writes a portability export as SPEC §6 defines it:
// data.json (keys: the data-map categories and schema_version), one CSV per
// dataset (category/table.csv), the profile picture as its own file,
// index.html readable offline without JavaScript, and SHA256SUMS over every
// other file.
func WriteExportZip(w io.Writer, pd store.PersonalData, picture []byte, pictureType string) error {
	return writeExport(w, pd, picture, pictureType, nil)
}

// writeExport is WriteExportZip with a progress report after each step
// (data.json, each category's CSV files, index.html); an error from
// progress stops the export.
func writeExport(w io.Writer, pd store.PersonalData, picture []byte, pictureType string, progress func(done, total int) error) error {
	zw := zip.NewWriter(w)
	// Exports are rebuilt on request and kept a few days: speed matters
	// more than the last few percent of size.
	zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(out, flate.BestSpeed)
	})
	order := pd.CategoryOrder()
	total, done := len(order)+2, 0
	step := func() error {
		done++
		if progress == nil {
			return nil
		}
		return progress(done, total)
	}
	var sums strings.Builder
	add := func(name string, method uint16, write func(io.Writer) error) error {
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: method, Modified: pd.GeneratedAt})
		if err != nil {
			return err
		}
		h := sha256.New()
		bw := bufio.NewWriterSize(io.MultiWriter(fw, h), 64<<10)
		if err := write(bw); err != nil {
			return fmt.Errorf("export %s: %w", name, err)
		}
		if err := bw.Flush(); err != nil {
			return err
		}
		// sha256sum's format: the digest, two spaces, the name.
		fmt.Fprintf(&sums, "%s  %s\n", hex.EncodeToString(h.Sum(nil)), name)
		return nil
	}

	if err := add("data.json", zip.Deflate, func(w io.Writer) error { return writeDataJSON(w, pd, order) }); err != nil {
		return err
	}
	if err := step(); err != nil {
		return err
	}
	for _, c := range order {
		for _, d := range pd.Categories[c] {
			if err := add(exportCSVName(c, d), zip.Deflate, func(w io.Writer) error { return writeDatasetCSV(w, d) }); err != nil {
				return err
			}
		}
		if err := step(); err != nil {
			return err
		}
	}
	pictureFile := ""
	if len(picture) > 0 {
		pictureFile = store.PictureFile(pictureType)
		// Images are compressed already.
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
	if err := step(); err != nil {
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

// exportCSVName is a dataset's file in the ZIP: category/table.csv.
func exportCSVName(c store.Category, d store.Dataset) string {
	return string(c) + "/" + d.Name + ".csv"
}

// writeDatasetCSV writes a dataset as RFC 4180 CSV with a header row.
func writeDatasetCSV(w io.Writer, d store.Dataset) error {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if err := cw.Write(d.Columns); err != nil {
		return err
	}
	rec := make([]string, len(d.Columns))
	for _, row := range d.Rows {
		for i := range rec {
			rec[i] = ""
			if i < len(row) {
				rec[i] = csvSafe(row[i])
			}
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// csvSafe defuses CSV formula injection: spreadsheets run a cell that
// starts with = + - @ (or a tab or carriage return before one) as a
// formula, so such a cell gets a leading single quote, which they show as
// text. data.json keeps the exact value.
func csvSafe(v string) string {
	if v != "" && strings.IndexByte("=+-@\t\r", v[0]) >= 0 {
		return "'" + v
	}
	return v
}

// writeDataJSON writes data.json: schema_version, then one key per
// category holding its datasets by table name, each an array of rows as
// objects whose keys keep the column order. It streams: an export with
// 100,000 activity rows never builds the document in memory.
func writeDataJSON(w io.Writer, pd store.PersonalData, order []store.Category) error {
	var buf []byte
	flush := func() error {
		_, err := w.Write(buf)
		buf = buf[:0]
		return err
	}
	buf = append(buf, "{\n  \"schema_version\": "...)
	buf = strconv.AppendInt(buf, int64(pd.SchemaVersion), 10)
	for _, c := range order {
		buf = append(buf, ",\n  "...)
		buf = appendJSONString(buf, string(c))
		buf = append(buf, ": {"...)
		for i, d := range pd.Categories[c] {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = append(buf, "\n    "...)
			buf = appendJSONString(buf, d.Name)
			buf = append(buf, ": ["...)
			for j, row := range d.Rows {
				if j > 0 {
					buf = append(buf, ',')
				}
				buf = append(buf, "\n      {"...)
				for k, col := range d.Columns {
					if k > 0 {
						buf = append(buf, ", "...)
					}
					buf = appendJSONString(buf, col)
					buf = append(buf, ": "...)
					v := ""
					if k < len(row) {
						v = row[k]
					}
					buf = appendJSONString(buf, v)
				}
				buf = append(buf, '}')
				if len(buf) > 32<<10 {
					if err := flush(); err != nil {
						return err
					}
				}
			}
			if len(d.Rows) > 0 {
				buf = append(buf, "\n    "...)
			}
			buf = append(buf, ']')
		}
		if len(pd.Categories[c]) > 0 {
			buf = append(buf, "\n  "...)
		}
		buf = append(buf, '}')
	}
	buf = append(buf, "\n}\n"...)
	return flush()
}

// appendJSONString appends s as a JSON string: quotes, backslashes and
// control characters escaped, invalid UTF-8 replaced by U+FFFD (as
// encoding/json does), everything else as UTF-8.
func appendJSONString(buf []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' {
				i++
				continue
			}
			buf = append(buf, s[start:i]...)
			switch b {
			case '"', '\\':
				buf = append(buf, '\\', b)
			case '\n':
				buf = append(buf, '\\', 'n')
			case '\r':
				buf = append(buf, '\\', 'r')
			case '\t':
				buf = append(buf, '\\', 't')
			default:
				buf = append(buf, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf = append(buf, s[start:i]...)
			buf = append(buf, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}
