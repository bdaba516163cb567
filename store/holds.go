package store

import (
	"context"
	"time"
)

// ReminderWindow: privacy officers hear about a request five days before
// it is due; the console counts requests due within it as due soon.
const ReminderWindow = 5 * 24 * time.Hour

// HeldPeople maps each person under an active legal hold to their holds.
func (s *Store) HeldPeople(ctx context.Context) (map[string][]LegalHold, error) {
	holds, err := s.LegalHolds(ctx, false)
	if err != nil {
		return nil, err
	}
	out := map[string][]LegalHold{}
	for _, h := range holds {
		if h.UserID != "" {
			out[h.UserID] = append(out[h.UserID], h)
		}
	}
	return out, nil
}

// HeldError means a legal hold on the person blocks their erasure; Holds
// are the person's active holds.
type HeldError struct{ Holds []LegalHold }

func (e *HeldError) Error() string { return "a legal hold blocks the erasure" }
