package app

import (
	"bytes"
	"encoding/binary"
	"encoding/gob"
	"errors"
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
	if b, ok := encodeCompact(deadline, values); ok {
		return b, nil
	}
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
	if len(b) >= 2 && b[0] == 0 && b[1] == compactVersion {
		return decodeCompact(b[2:])
	}
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

// The compact encoding covers what kelas keeps in sessions (strings,
// int64s, booleans) and costs a fraction of gob, which describes its types
// anew in every message: decoding was a fifth of a signed-in page view. It
// starts with a zero byte, which no gob stream does (a gob message is never
// empty), then the version; then the deadline in Unix nanoseconds, the
// number of keys, and each key in order with a type byte and its value.
// Sessions holding any other type fall back to stableSession in gob.
const compactVersion = 1

var errCompact = errors.New("session: malformed compact encoding")

func encodeCompact(deadline time.Time, values map[string]any) ([]byte, bool) {
	keys := make([]string, 0, len(values))
	for k, v := range values {
		switch v.(type) {
		case string, int64, bool:
		default:
			return nil, false
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b := make([]byte, 0, 64)
	b = append(b, 0, compactVersion)
	b = binary.AppendVarint(b, deadline.UnixNano())
	b = binary.AppendUvarint(b, uint64(len(keys)))
	for _, k := range keys {
		b = binary.AppendUvarint(b, uint64(len(k)))
		b = append(b, k...)
		switch v := values[k].(type) {
		case string:
			b = append(b, 's')
			b = binary.AppendUvarint(b, uint64(len(v)))
			b = append(b, v...)
		case int64:
			b = append(b, 'i')
			b = binary.AppendVarint(b, v)
		case bool:
			b = append(b, 'b')
			if v {
				b = append(b, 1)
			} else {
				b = append(b, 0)
			}
		}
	}
	return b, true
}

func decodeCompact(b []byte) (time.Time, map[string]any, error) {
	varint := func() (int64, bool) {
		v, n := binary.Varint(b)
		if n <= 0 {
			return 0, false
		}
		b = b[n:]
		return v, true
	}
	bytesOf := func() (string, bool) {
		l, n := binary.Uvarint(b)
		if n <= 0 || l > uint64(len(b)-n) {
			return "", false
		}
		v := string(b[n : n+int(l)])
		b = b[n+int(l):]
		return v, true
	}
	nanos, ok := varint()
	if !ok {
		return time.Time{}, nil, errCompact
	}
	count, n := binary.Uvarint(b)
	if n <= 0 || count > uint64(len(b)) {
		return time.Time{}, nil, errCompact
	}
	b = b[n:]
	values := make(map[string]any, count)
	for range count {
		k, ok := bytesOf()
		if !ok || len(b) == 0 {
			return time.Time{}, nil, errCompact
		}
		kind := b[0]
		b = b[1:]
		switch kind {
		case 's':
			v, ok := bytesOf()
			if !ok {
				return time.Time{}, nil, errCompact
			}
			values[k] = v
		case 'i':
			v, ok := varint()
			if !ok {
				return time.Time{}, nil, errCompact
			}
			values[k] = v
		case 'b':
			if len(b) == 0 || b[0] > 1 {
				return time.Time{}, nil, errCompact
			}
			values[k] = b[0] == 1
			b = b[1:]
		default:
			return time.Time{}, nil, errCompact
		}
	}
	if len(b) != 0 {
		return time.Time{}, nil, errCompact
	}
	return time.Unix(0, nanos).UTC(), values, nil
}
