package app

import (
	"bytes"
	"encoding/gob"
	"slices"
	"time"

	"github.com/alexedwards/scs/v2"
)

// stableCodec encodes session data with its keys in order, so the same
// session always encodes to the same bytes. scs's own codec gob-encodes a
// map, whose order changes from one encoding to the next; the session
// store could then never tell an unchanged session from a changed one, and
// every page view would be a write.
type stableCodec struct{}

type stableSession struct {
	Deadline time.Time
	Keys     []string
	Values   []any
}

func (stableCodec) Encode(deadline time.Time, values map[string]any) ([]byte, error) {
	s := stableSession{Deadline: deadline, Keys: make([]string, 0, len(values))}
	for k := range values {
		s.Keys = append(s.Keys, k)
	}
	slices.Sort(s.Keys)
	for _, k := range s.Keys {
		s.Values = append(s.Values, values[k])
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(&s); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Decode also reads sessions written by scs's codec before this one, so an
// upgrade signs nobody out.
func (stableCodec) Decode(b []byte) (time.Time, map[string]any, error) {
	var s stableSession
	if err := gob.NewDecoder(bytes.NewReader(b)).Decode(&s); err != nil || len(s.Keys) != len(s.Values) {
		return scs.GobCodec{}.Decode(b)
	}
	values := make(map[string]any, len(s.Keys))
	for i, k := range s.Keys {
		values[k] = s.Values[i]
	}
	return s.Deadline, values, nil
}
