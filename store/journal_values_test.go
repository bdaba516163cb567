package store

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestJournalValuesRoundTrip: every Go type a row image can hold comes
// back from the journal's JSON as the value SQLite would store, so a
// replayed record is the record that was written (an empty blob included,
// which JSON would otherwise turn into NULL).
func TestJournalValuesRoundTrip(t *testing.T) {
	at := time.Date(2026, 3, 1, 9, 0, 0, 123, time.UTC)
	for _, c := range []struct {
		in   any
		want any
	}{
		{nil, nil},
		{int64(-7), int64(-7)},
		{int64(0), int64(0)},
		{2.5, 2.5},
		{0.0, 0.0},
		{"", ""},
		{"text", "text"},
		{[]byte("blob"), []byte("blob")},
		{[]byte{}, []byte{}},
		{[]byte(nil), []byte{}},
		{true, int64(1)},
		{false, int64(0)},
		{at, ts(at)},
		{uint8(3), "3"},
	} {
		b, err := json.Marshal(toJournalValue(c.in))
		require.NoError(t, err)
		var back journalValue
		require.NoError(t, json.Unmarshal(b, &back))
		assert.Equal(t, c.want, back.value(), "%#v", c.in)
	}
	assert.Equal(t, "a/1/<nil>", keyString([]journalValue{toJournalValue("a"), toJournalValue(int64(1)), toJournalValue(nil)}))
}

// TestExportTextOfEachType: the CSV of a portability export writes every
// stored type readably: numbers as numbers, stored times as RFC 3339,
// blobs as base64.
func TestExportTextOfEachType(t *testing.T) {
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.FixedZone("WIB", 7*3600))
	for _, c := range []struct {
		in   any
		want string
	}{
		{nil, ""},
		{int64(42), "42"},
		{2.5, "2.5"},
		{true, "1"},
		{false, "0"},
		{"plain", "plain"},
		{ts(at), "2026-03-01T02:00:00Z"},
		{[]byte{0xff, 0x00}, "/wA="},
		{at, "2026-03-01T02:00:00Z"},
	} {
		assert.Equal(t, c.want, exportText(c.in), "%#v", c.in)
	}
}
