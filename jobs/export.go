package jobs

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"kelas/i18n"
	"kelas/store"
	"kelas/views"

	kflate "github.com/klauspost/compress/flate"
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
	lang := i18n.Default
	if u, err := r.store.User(ctx, userID); err == nil && i18n.Supported(u.Language) {
		lang = u.Language
	}
	// index.html names who holds the data, as the settings say now.
	st, err := r.store.Settings(ctx)
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
		err := writeExport(pw, pd, prof.Picture, prof.PictureType, i18n.NewPrinter(lang, nil, st.Get(store.SettingSiteName)),
			views.IdentityOf(st), progress)
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

// exportCategories are the catalogue keys of the data-map categories as an
// export names them: a title and a sentence about each.
var exportCategories = map[store.Category]struct{ title, about string }{
	store.CatRegistration: {"export.category.registration.title", "export.category.registration.about"},
	store.CatProfile:      {"export.category.profile.title", "export.category.profile.about"},
	store.CatAccount:      {"export.category.account.title", "export.category.account.about"},
	store.CatConsents:     {"export.category.consents.title", "export.category.consents.about"},
	store.CatActivity:     {"export.category.activity_log.title", "export.category.activity_log.about"},
	store.CatLearning:     {"export.category.learning_records.title", "export.category.learning_records.about"},
	store.CatDisclosures:  {"export.category.disclosures.title", "export.category.disclosures.about"},
	store.CatSecurity:     {"export.category.security.title", "export.category.security.about"},
}

// exportTitle names a category in English.
func exportTitle(c store.Category) (title, about string) {
	return exportTitleIn(i18n.NewPrinter(i18n.Default, nil, "kelas"), c)
}

// exportTitleIn names a category in p's language.
func exportTitleIn(p *i18n.Printer, c store.Category) (title, about string) {
	if t, ok := exportCategories[c]; ok {
		return p.T(t.title), p.T(t.about)
	}
	return strings.ReplaceAll(string(c), "_", " "), ""
}

// WriteExportZip writes a portability export as SPEC §6 defines it:
// data.json (keys: the data-map categories and schema_version), one CSV per
// dataset (category/table.csv), the profile picture as its own file,
// index.html readable offline without JavaScript, and SHA256SUMS over every
// other file.
func WriteExportZip(w io.Writer, pd store.PersonalData, picture []byte, pictureType string) error {
	return writeExport(w, pd, picture, pictureType, i18n.NewPrinter(i18n.Default, nil, "kelas"), views.Identity{}, nil)
}

// writeExport is WriteExportZip with a progress report after each step
// (data.json, each category's CSV files, index.html); an error from
// progress stops the export.
//
// The files are independent, so they are rendered and compressed in
// parallel, each into memory (compressed: about a sixth of the data), and
// then written into the ZIP in their fixed order with their checksums and
// sizes known. Deflate uses klauspost/compress, about twice as fast as the
// standard library at the same level; exports are rebuilt on request and
// kept a few days, so speed matters more than the last few percent of size.
//
// index.html speaks the language of p, the person's saved language, and
// names who holds the data (id).
func writeExport(w io.Writer, pd store.PersonalData, picture []byte, pictureType string, p *i18n.Printer, id views.Identity,
	progress func(done, total int) error) error {
	order := pd.CategoryOrder()
	var files []*exportEntry
	add := func(name string, method uint16, write func(io.Writer) error) *exportEntry {
		e := &exportEntry{name: name, method: method, write: write, done: make(chan struct{})}
		files = append(files, e)
		return e
	}
	// Progress is reported once the last file of each step is in the ZIP.
	var stepEnds []*exportEntry
	stepEnds = append(stepEnds, add("data.json", zip.Deflate, func(w io.Writer) error { return writeDataJSON(w, pd, order) }))
	for _, c := range order {
		var last *exportEntry
		for _, d := range pd.Categories[c] {
			last = add(exportCSVName(c, d), zip.Deflate, func(w io.Writer) error { return writeDatasetCSV(w, d) })
		}
		stepEnds = append(stepEnds, last)
	}
	pictureFile := ""
	if len(picture) > 0 {
		pictureFile = store.PictureFile(pictureType)
		// Images are compressed already.
		add(pictureFile, zip.Store, func(w io.Writer) error { _, err := w.Write(picture); return err })
	}
	idx := views.ExportIndex{ExportedAt: pd.GeneratedAt, SchemaVersion: pd.SchemaVersion, Picture: pictureFile, Identity: id}
	for _, c := range order {
		title, about := exportTitleIn(p, c)
		sec := views.ExportSection{ID: string(c), Title: title, About: about}
		for _, d := range pd.Categories[c] {
			sec.Dataset = append(sec.Dataset, views.ExportDataset{Name: d.Name, CSV: exportCSVName(c, d), Columns: d.Columns, Rows: d.Rows})
		}
		idx.Sections = append(idx.Sections, sec)
	}
	stepEnds = append(stepEnds, add("index.html", zip.Deflate, func(w io.Writer) error {
		return views.ExportIndexPage(idx).Render(i18n.With(context.Background(), p), w)
	}))

	// Largest first, so the long ones start at once and the small ones fill
	// the gaps; one worker per core.
	queue := make(chan *exportEntry, len(files))
	bySize := slices.Clone(files)
	slices.SortStableFunc(bySize, func(a, b *exportEntry) int { return b.weight(pd) - a.weight(pd) })
	for _, e := range bySize {
		queue <- e
	}
	close(queue)
	stop := make(chan struct{})
	defer close(stop)
	for range min(runtime.GOMAXPROCS(0), len(files)) {
		go func() {
			for e := range queue {
				select {
				case <-stop:
					e.err = errors.New("export stopped")
				default:
					e.compress()
				}
				close(e.done)
			}
		}()
	}

	zw := zip.NewWriter(w)
	var sums strings.Builder
	total, done := len(order)+2, 0
	for _, e := range files {
		<-e.done
		if e.err != nil {
			return fmt.Errorf("export %s: %w", e.name, e.err)
		}
		if err := e.writeTo(zw, pd.GeneratedAt); err != nil {
			return err
		}
		e.data = bytes.Buffer{} // written: let it go
		// sha256sum's format: the digest, two spaces, the name.
		fmt.Fprintf(&sums, "%s  %s\n", hex.EncodeToString(e.sum[:]), e.name)
		for _, end := range stepEnds {
			if end != e {
				continue
			}
			done++
			if progress != nil {
				if err := progress(done, total); err != nil {
					return err
				}
			}
		}
	}
	last := &exportEntry{name: "SHA256SUMS", method: zip.Deflate, write: func(w io.Writer) error {
		_, err := io.WriteString(w, sums.String())
		return err
	}}
	if last.compress(); last.err != nil {
		return last.err
	}
	if err := last.writeTo(zw, pd.GeneratedAt); err != nil {
		return err
	}
	return zw.Close()
}

// exportEntry is one file of an export ZIP, compressed in memory.
type exportEntry struct {
	name   string
	method uint16
	write  func(io.Writer) error
	done   chan struct{}

	data       bytes.Buffer // compressed (or stored) content
	size       uint64       // uncompressed size
	crc        uint32
	sum        [sha256.Size]byte
	err        error
	rowsWeight int
}

// weight is a rough size of the entry, to start the large ones first.
func (e *exportEntry) weight(pd store.PersonalData) int {
	if e.rowsWeight == 0 {
		switch {
		case e.name == "data.json" || e.name == "index.html":
			for _, ds := range pd.Categories {
				for _, d := range ds {
					e.rowsWeight += len(d.Rows) + 1
				}
			}
			if e.name == "index.html" {
				e.rowsWeight *= 2
			}
		default:
			for c, ds := range pd.Categories {
				for _, d := range ds {
					if exportCSVName(c, d) == e.name {
						e.rowsWeight = len(d.Rows) + 1
					}
				}
			}
		}
	}
	return e.rowsWeight
}

// compress renders the entry through CRC-32, SHA-256 and the compressor
// into memory.
func (e *exportEntry) compress() {
	crc := crc32.NewIEEE()
	sum := sha256.New()
	var out io.Writer = &e.data
	var fw *kflate.Writer
	if e.method == zip.Deflate {
		var err error
		if fw, err = kflate.NewWriter(&e.data, kflate.BestSpeed); err != nil {
			e.err = err
			return
		}
		out = fw
	}
	cw := &countingWriter{w: io.MultiWriter(out, crc, sum)}
	bw := bufio.NewWriterSize(cw, 64<<10)
	if e.err = e.write(bw); e.err != nil {
		return
	}
	if e.err = bw.Flush(); e.err != nil {
		return
	}
	if fw != nil {
		if e.err = fw.Close(); e.err != nil {
			return
		}
	}
	e.size, e.crc = cw.n, crc.Sum32()
	sum.Sum(e.sum[:0])
}

// writeTo adds the compressed entry to zw as CreateHeader would have
// written it (extended timestamp, version 2.0), with its sizes and CRC in
// the local header.
func (e *exportEntry) writeTo(zw *zip.Writer, modified time.Time) error {
	fh := &zip.FileHeader{Name: e.name, Method: e.method, CRC32: e.crc, CompressedSize64: uint64(e.data.Len()),
		UncompressedSize64: e.size, CreatorVersion: 20, ReaderVersion: 20, Modified: modified}
	fh.ModifiedDate, fh.ModifiedTime = msDosTime(modified)
	var mbuf [9]byte
	binary.LittleEndian.PutUint16(mbuf[0:], 0x5455) // extended timestamp
	binary.LittleEndian.PutUint16(mbuf[2:], 5)
	mbuf[4] = 1 // modification time only
	binary.LittleEndian.PutUint32(mbuf[5:], uint32(modified.Unix()))
	fh.Extra = mbuf[:]
	fw, err := zw.CreateRaw(fh)
	if err != nil {
		return err
	}
	_, err = fw.Write(e.data.Bytes())
	return err
}

// msDosTime is t in the MS-DOS date and time fields of a ZIP header.
func msDosTime(t time.Time) (date, clock uint16) {
	date = uint16(t.Day() + int(t.Month())<<5 + (t.Year()-1980)<<9)
	clock = uint16(t.Second()/2 + t.Minute()<<5 + t.Hour()<<11)
	return date, clock
}

type countingWriter struct {
	w io.Writer
	n uint64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += uint64(n)
	return n, err
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
