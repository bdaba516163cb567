package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Card is a training as the catalogue and the home page show it: its
// details and a few facts counted from its content, all read in one query.
type Card struct {
	Training
	// Materials counts the materials learners see; Sessions the dates of
	// a live training that learners see.
	Materials, Sessions int
	// NextStart is when the next visible live session starts (zero: none
	// to come).
	NextStart time.Time
	// Followers counts the people enrolled.
	Followers int
	// CoverAt is when the cover was uploaded (zero: no cover); it versions
	// the cover's address so that a new cover is fetched at once.
	CoverAt time.Time
}

// cardColumns are trainingColumns and the card's facts; the one
// placeholder is the store's clock, for the next session.
const cardColumns = trainingColumns + `,
	(SELECT COUNT(*) FROM materials mt WHERE mt.training_id = t.id AND mt.hidden = 0),
	(SELECT COUNT(*) FROM training_sessions ss WHERE ss.training_id = t.id AND ss.hidden = 0),
	(SELECT MIN(ss.starts_at) FROM training_sessions ss WHERE ss.training_id = t.id AND ss.hidden = 0 AND ss.starts_at > ?),
	(SELECT COUNT(*) FROM enrolments e WHERE e.training_id = t.id) AS followers,
	(SELECT c.updated_at FROM training_covers c WHERE c.training_id = t.id)`

// cardsKey is the read cache's key of one list of cards.
type cardsKey struct {
	f     CatalogueFilter
	order string
	limit int
}

// Cards lists the catalogue's trainings matching f as cards, in the order
// of Trainings.
func (s *Store) Cards(ctx context.Context, f CatalogueFilter) ([]Card, error) {
	return s.cards(ctx, cardsKey{f: f, order: "newest", limit: 500})
}

// NewestCards lists the n trainings published last, of the catalogue.
func (s *Store) NewestCards(ctx context.Context, n int) ([]Card, error) {
	return s.cards(ctx, cardsKey{order: "newest", limit: n})
}

// MostFollowedCards lists the n catalogue trainings with the most people
// enrolled, the newest first among equals.
func (s *Store) MostFollowedCards(ctx context.Context, n int) ([]Card, error) {
	return s.cards(ctx, cardsKey{order: "followers", limit: n})
}

// cards reads one list of cards, through the read cache: a list holds
// until the next write, or until one of its next sessions starts.
func (s *Store) cards(ctx context.Context, key cardsKey) ([]Card, error) {
	now := s.Now()
	if v, ok := s.cache.get(key, now); ok {
		return slices.Clone(v.([]Card)), nil
	}
	gen := s.cache.generation()
	where, args := catalogueWhere(key.f)
	args = append([]any{ts(now)}, args...)
	query := "SELECT " + cardColumns + " FROM trainings t JOIN members m ON m.id = t.member_id"
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	switch {
	case key.order == "followers":
		query += " ORDER BY followers DESC, t.created_at DESC"
	case key.f.FirstLanguage != "":
		query += " ORDER BY t.language = ? DESC, t.created_at DESC"
		args = append(args, key.f.FirstLanguage)
	default:
		query += " ORDER BY t.created_at DESC"
	}
	query += " LIMIT ?"
	args = append(args, key.limit)
	rows, err := s.readQuery(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: cards: %w", err)
	}
	defer rows.Close()
	var out []Card
	var until time.Time
	for rows.Next() {
		var c Card
		t := &c.Training
		if err := rows.Scan(&t.ID, &t.MemberID, &t.MemberName, &t.Title, &t.Summary, &t.Language, &t.Country, &t.Kind,
			&t.Place, &t.JoinURL, &t.PassMark, &t.Published, tsInto(&t.CreatedAt), tsInto(&t.UpdatedAt), &t.MemberActive, tsInto(&t.ArchivedAt), &t.MaxAttempts,
			&c.Materials, &c.Sessions, tsInto(&c.NextStart), &c.Followers, tsInto(&c.CoverAt)); err != nil {
			return nil, fmt.Errorf("store: cards: %w", err)
		}
		if !c.NextStart.IsZero() && (until.IsZero() || c.NextStart.Before(until)) {
			until = c.NextStart
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: cards: %w", err)
	}
	s.cache.put(gen, key, cacheEntry{v: slices.Clone(out), until: until})
	return out, nil
}

// Cover is a training's cover image, re-encoded by the app.
type Cover struct {
	Image       []byte
	ContentType string
	UpdatedAt   time.Time
}

// TrainingCover returns the cover of a training, or ErrNotFound.
func (s *Store) TrainingCover(ctx context.Context, trainingID string) (Cover, error) {
	var c Cover
	err := s.readRow(ctx, "SELECT image, content_type, updated_at FROM training_covers WHERE training_id = ?", trainingID).
		Scan(&c.Image, &c.ContentType, tsInto(&c.UpdatedAt))
	if errors.Is(err, sql.ErrNoRows) {
		return c, ErrNotFound
	}
	if err != nil {
		return c, fmt.Errorf("store: training cover: %w", err)
	}
	return c, nil
}

// SetTrainingCover stores image as the training's cover, replacing any.
// image must already be re-encoded (PNG or JPEG, no metadata).
func (s *Store) SetTrainingCover(ctx context.Context, trainingID string, image []byte, contentType string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO training_covers (training_id, image, content_type, updated_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (training_id) DO UPDATE SET image = excluded.image, content_type = excluded.content_type, updated_at = excluded.updated_at`,
			trainingID, image, contentType, ts(s.Now()))
		return err
	})
	if err != nil {
		return fmt.Errorf("store: set training cover: %w", err)
	}
	return nil
}

// RemoveTrainingCover removes the training's cover, if it has one.
func (s *Store) RemoveTrainingCover(ctx context.Context, trainingID string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "DELETE FROM training_covers WHERE training_id = ?", trainingID)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: remove training cover: %w", err)
	}
	return nil
}
