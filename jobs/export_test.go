package jobs

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"kelas/i18n"
	"kelas/store"
	"kelas/views"
)

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

// TestExportDefusesFormulasAndEscapesHTML: CSV cells that a spreadsheet
// would run are prefixed with a quote; HTML is escaped; JSON is exact.
func TestExportDefusesFormulasAndEscapesHTML(t *testing.T) {
	evil := []string{`=HYPERLINK("http://evil.example","x")`, "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "<script>alert(1)</script>",
		"line\nbreak, \"quoted\"", "plain", "ünïcødé 日本"}
	pd := store.PersonalData{SchemaVersion: 1, GeneratedAt: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC),
		Categories: map[store.Category][]store.Dataset{store.CatProfile: {{Name: "profiles", Columns: []string{"v"}}}}}
	for _, v := range evil {
		pd.Categories[store.CatProfile][0].Rows = append(pd.Categories[store.CatProfile][0].Rows, []string{v})
	}
	var buf bytes.Buffer
	require.NoError(t, WriteExportZip(&buf, pd, nil, ""))
	files := openZip(t, buf.Bytes())

	recs, err := csv.NewReader(bytes.NewReader(files["profile/profiles.csv"])).ReadAll()
	require.NoError(t, err)
	require.Len(t, recs, len(evil)+1)
	for i, v := range evil {
		got := recs[i+1][0]
		if strings.ContainsAny(v[:1], "=+-@\t\r") {
			// (encoding/csv's reader drops a lone \r inside a quoted field.)
			assert.Equal(t, "'"+strings.ReplaceAll(v, "\r", ""), got, "defused: %q", v)
		} else {
			assert.Equal(t, v, got)
		}
	}
	var doc struct {
		Profile map[string][]map[string]string `json:"profile"`
	}
	require.NoError(t, json.Unmarshal(files["data.json"], &doc))
	for i, v := range evil {
		assert.Equal(t, v, doc.Profile["profiles"][i]["v"])
	}
	page := string(files["index.html"])
	assert.NotContains(t, page, "<script>")
	assert.Contains(t, page, "&lt;script&gt;alert(1)&lt;/script&gt;")
	assert.NotContains(t, page, "evil.example\"") // inside an escaped cell, never an attribute
	_, hasPicture := files["profile/picture.jpg"]
	assert.False(t, hasPicture)
}

func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"", "plain", `quote " and \ backslash`, "\x00\x01\x1f\x7f", "tab\tnl\ncr\r", "ünïcødé 日本 😀",
		"bad \xff utf8 \xc3", "\u2028\u2029", "<>&"} {
		got := appendJSONString(nil, s)
		require.True(t, json.Valid(got), "%q → %s", s, got)
		var back string
		require.NoError(t, json.Unmarshal(got, &back))
		assert.Equal(t, runes(s), back)
	}
}

// FuzzAppendJSONString: whatever the bytes, the result is one valid JSON
// string that decodes to the input (invalid UTF-8 replaced).
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "a\"b", "\\", "\x00", "\xff", "日本", "\xe6\x97"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := appendJSONString(nil, s)
		if !json.Valid(got) {
			t.Fatalf("invalid JSON for %q: %s", s, got)
		}
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatal(err)
		}
		if want := runes(s); back != want {
			t.Fatalf("%q decoded as %q", s, back)
		}
	})
}

// runes is s with each invalid byte replaced by U+FFFD, as encoding/json
// and appendJSONString do.
func runes(s string) string {
	var b strings.Builder
	for _, r := range s {
		b.WriteRune(r)
	}
	return b.String()
}

// TestExportIndexSpeaksThePersonsLanguage: index.html is written by the
// printer of the person's language (here the pseudo-locale, whose every
// catalogue letter is accented): no English sentence is left, and <html
// lang> follows.
func TestExportIndexSpeaksThePersonsLanguage(t *testing.T) {
	pd := store.PersonalData{SchemaVersion: 1, GeneratedAt: time.Date(2026, 3, 1, 10, 4, 0, 0, time.UTC),
		Categories: map[store.Category][]store.Dataset{store.CatProfile: {{Name: "profiles", Columns: []string{"v"}, Rows: [][]string{{"a"}}}}}}
	var en, qps bytes.Buffer
	require.NoError(t, WriteExportZip(&en, pd, nil, ""))
	require.NoError(t, writeExport(&qps, pd, nil, "", i18n.NewPrinter(i18n.Pseudo, nil, "kelas"), views.Identity{}, nil))
	enIdx, qpsIdx := string(openZip(t, en.Bytes())["index.html"]), string(openZip(t, qps.Bytes())["index.html"])
	assert.Contains(t, enIdx, `<html lang="en">`)
	assert.Contains(t, enIdx, "Your data held by kelas")
	assert.Contains(t, enIdx, "Your optional profile.")
	assert.Contains(t, qpsIdx, `<html lang="en-XA">`)
	for _, s := range []string{"Your data held", "Your optional profile", "Exported on", "Contents", "1 entry"} {
		assert.NotContains(t, qpsIdx, s)
	}
}
