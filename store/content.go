package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Content management: staff edit, reorder, hide and delete the parts of a
// training, duplicate and archive trainings. Every write is scoped by the
// training in SQL, so an id of another training's part is ErrNotFound.

// orderedTables are the parts of a training kept in staff-chosen order.
var orderedTables = map[string]bool{"materials": true, "questions": true}

// move swaps the part id of a training with its neighbour: up when dir < 0,
// down otherwise. At either end nothing moves and moved is false.
func (s *Store) move(ctx context.Context, table, trainingID, id string, dir int) (moved bool, err error) {
	if !orderedTables[table] {
		return false, fmt.Errorf("store: move: %q is not ordered", table)
	}
	cmp, order := ">", "ASC"
	if dir < 0 {
		cmp, order = "<", "DESC"
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		var pos int
		err := tx.QueryRowContext(ctx, "SELECT position FROM "+table+" WHERE id = ? AND training_id = ?", id, trainingID).Scan(&pos)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		var other string
		var otherPos int
		err = tx.QueryRowContext(ctx, "SELECT id, position FROM "+table+" WHERE training_id = ? AND (position "+cmp+" ? OR (position = ? AND id "+cmp+" ?)) ORDER BY position "+order+", id "+order+" LIMIT 1",
			trainingID, pos, pos, id).Scan(&other, &otherPos)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		if otherPos == pos { // equal positions (never written by kelas): make room
			otherPos = pos - 1
			if dir > 0 {
				otherPos = pos + 1
			}
		}
		if _, err := tx.ExecContext(ctx, "UPDATE "+table+" SET position = ? WHERE id = ?", otherPos, id); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, "UPDATE "+table+" SET position = ? WHERE id = ?", pos, other)
		moved = err == nil
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return false, ErrNotFound
	}
	if err != nil {
		return false, fmt.Errorf("store: move %s: %w", table, err)
	}
	return moved, nil
}

// MoveMaterial moves a material one place up (dir < 0) or down.
func (s *Store) MoveMaterial(ctx context.Context, trainingID, id string, dir int) (bool, error) {
	return s.move(ctx, "materials", trainingID, id, dir)
}

// MoveQuestion moves a quiz question one place up (dir < 0) or down.
func (s *Store) MoveQuestion(ctx context.Context, trainingID, id string, dir int) (bool, error) {
	return s.move(ctx, "questions", trainingID, id, dir)
}

// MaterialEdit is what staff may change of a material; the kind and the
// stored file stay.
type MaterialEdit struct {
	Title, BodyMD, URL string
}

// UpdateMaterial changes a material's title and its text or link.
func (s *Store) UpdateMaterial(ctx context.Context, trainingID, id string, in MaterialEdit) error {
	return s.exec1(ctx, "update material", "UPDATE materials SET title = ?, body_md = ?, url = ? WHERE id = ? AND training_id = ?",
		in.Title, nullStr(in.BodyMD), nullStr(in.URL), id, trainingID)
}

// SetMaterialHidden hides a material from learners, or shows it again.
func (s *Store) SetMaterialHidden(ctx context.Context, trainingID, id string, hidden bool) error {
	return s.exec1(ctx, "hide material", "UPDATE materials SET hidden = ? WHERE id = ? AND training_id = ?", hidden, id, trainingID)
}

// DeleteMaterial removes a material and the learners' marks of having
// viewed it; the caller removes its file.
func (s *Store) DeleteMaterial(ctx context.Context, trainingID, id string) error {
	return s.exec1(ctx, "delete material", "DELETE FROM materials WHERE id = ? AND training_id = ?", id, trainingID)
}

// ManagedQuestion returns one question of a training, hidden or not.
func (s *Store) ManagedQuestion(ctx context.Context, trainingID, id string) (Question, error) {
	qs, err := s.ManagedQuestions(ctx, trainingID)
	if err != nil {
		return Question{}, err
	}
	for _, q := range qs {
		if q.ID == id {
			return q, nil
		}
	}
	return Question{}, ErrNotFound
}

// QuestionEdit is what staff may change of a question: its prompt and
// explanation, the labels of its choices (choice id → label) and which are
// correct. The kind stays.
type QuestionEdit struct {
	Prompt, Explanation string
	Labels              map[string]string
	Correct             map[string]bool // choice id → correct
}

// EditQuestion changes a question as staff edited it; the choices must
// still fit the question's kind (ErrBadQuestion).
func (s *Store) EditQuestion(ctx context.Context, trainingID, id string, in QuestionEdit) error {
	q, err := s.ManagedQuestion(ctx, trainingID, id)
	if err != nil {
		return err
	}
	var after []Choice
	for _, c := range q.Choices {
		label, ok := in.Labels[c.ID]
		if !ok {
			label = c.Label
		}
		after = append(after, Choice{ID: c.ID, Label: label, Correct: in.Correct[c.ID] || q.Kind == QuestionShort})
	}
	for cid := range in.Labels {
		if !slices.ContainsFunc(q.Choices, func(c Choice) bool { return c.ID == cid }) {
			return ErrNotFound // a choice of another question
		}
	}
	if err := checkChoices(q.Kind, after); err != nil {
		return fmt.Errorf("store: update question: %w", err)
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE questions SET prompt = ?, explanation = ? WHERE id = ? AND training_id = ?",
			in.Prompt, nullStr(in.Explanation), id, trainingID)
		if err != nil {
			return err
		}
		if err := mustAffect(res); err != nil {
			return err
		}
		for _, c := range after {
			res, err := tx.ExecContext(ctx, "UPDATE choices SET label = ?, correct = ? WHERE id = ? AND question_id = ?", c.Label, c.Correct, c.ID, id)
			if err != nil {
				return err
			}
			if err := mustAffect(res); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, ErrNotFound) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("store: update question: %w", err)
	}
	return nil
}

// SetQuestionHidden takes a question out of the quiz, or puts it back.
func (s *Store) SetQuestionHidden(ctx context.Context, trainingID, id string, hidden bool) error {
	return s.exec1(ctx, "hide question", "UPDATE questions SET hidden = ? WHERE id = ? AND training_id = ?", hidden, id, trainingID)
}

// DeleteQuestion removes a question and its choices; attempts already
// graded keep their grade.
func (s *Store) DeleteQuestion(ctx context.Context, trainingID, id string) error {
	return s.exec1(ctx, "delete question", "DELETE FROM questions WHERE id = ? AND training_id = ?", id, trainingID)
}

// TrainingSession returns one date of a training.
func (s *Store) TrainingSession(ctx context.Context, trainingID, id string) (Session, error) {
	var se Session
	err := s.readRow(ctx, "SELECT id, training_id, starts_at, ends_at, zone, hidden FROM training_sessions WHERE id = ? AND training_id = ?", id, trainingID).
		Scan(&se.ID, &se.TrainingID, tsInto(&se.StartsAt), tsInto(&se.EndsAt), &se.Zone, &se.Hidden)
	if errors.Is(err, sql.ErrNoRows) {
		return se, ErrNotFound
	}
	if err != nil {
		return se, fmt.Errorf("store: session: %w", err)
	}
	return se, nil
}

// SetSessionHidden hides a date of a live training from learners and
// visitors, or shows it again.
func (s *Store) SetSessionHidden(ctx context.Context, trainingID, id string, hidden bool) error {
	return s.exec1(ctx, "hide session", "UPDATE training_sessions SET hidden = ? WHERE id = ? AND training_id = ?", hidden, id, trainingID)
}

// UpdateSession moves a date of a live training; start and end are
// instants, zone the organiser's (one of AllZones).
func (s *Store) UpdateSession(ctx context.Context, trainingID, id string, start, end time.Time, zone string) error {
	if !ValidZone(zone) {
		return fmt.Errorf("store: update session: invalid zone %q", zone)
	}
	return s.exec1(ctx, "update session", "UPDATE training_sessions SET starts_at = ?, ends_at = ?, zone = ? WHERE id = ? AND training_id = ?",
		ts(start), ts(end), zone, id, trainingID)
}

// ErrAttended means a session has attendance recorded: deleting it would
// delete those learning records.
var ErrAttended = errors.New("store: the session has attendance recorded")

// DeleteSession removes a date of a live training that nobody has been
// marked as attending.
func (s *Store) DeleteSession(ctx context.Context, trainingID, id string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM attendance a JOIN training_sessions ss ON ss.id = a.session_id
			WHERE a.session_id = ? AND ss.training_id = ?`, id, trainingID).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return ErrAttended
		}
		res, err := tx.ExecContext(ctx, "DELETE FROM training_sessions WHERE id = ? AND training_id = ?", id, trainingID)
		if err != nil {
			return err
		}
		return mustAffect(res)
	})
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrAttended) {
		return err
	}
	if err != nil {
		return fmt.Errorf("store: delete session: %w", err)
	}
	return nil
}

// ArchiveTraining takes a training out of the catalogue for good; its
// learners keep their enrolments, records and certificates.
func (s *Store) ArchiveTraining(ctx context.Context, id string) error {
	now := ts(s.Now())
	return s.exec1(ctx, "archive training", "UPDATE trainings SET archived_at = ?, updated_at = ? WHERE id = ? AND archived_at IS NULL", now, now, id)
}

// DuplicateTraining copies a training as an unpublished draft named title,
// with its materials (hidden ones stay hidden) and quiz; dates of live
// sessions are not copied. It returns the copy and, for file materials,
// the new material id of each old one, so the caller copies the files.
func (s *Store) DuplicateTraining(ctx context.Context, id, createdBy, title string) (Training, map[string]string, error) {
	src, err := s.Training(ctx, id)
	if err != nil {
		return Training{}, nil, err
	}
	mats, err := s.Materials(ctx, id)
	if err != nil {
		return Training{}, nil, err
	}
	qs, err := s.ManagedQuestions(ctx, id)
	if err != nil {
		return Training{}, nil, err
	}
	copyID, now := NewID(), ts(s.Now())
	files := map[string]string{}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO trainings (id, member_id, title, summary, language, country, kind, place, join_url,
			pass_mark, published, created_by, created_at, updated_at, max_attempts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?)`,
			copyID, src.MemberID, title, src.Summary, src.Language, nullStr(src.Country), src.Kind, nullStr(src.Place), nullStr(src.JoinURL),
			src.PassMark, nullStr(createdBy), now, now, src.MaxAttempts); err != nil {
			return err
		}
		for _, m := range mats {
			mid := NewID()
			if m.Kind == MaterialFile {
				files[m.ID] = mid
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO materials (id, training_id, position, kind, title, body_md, url, file_name,
				file_type, file_size, file_sha256, required, created_at, hidden) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				mid, copyID, m.Position, m.Kind, m.Title, nullStr(m.BodyMD), nullStr(m.URL), nullStr(m.FileName), nullStr(m.FileType),
				m.FileSize, nullStr(m.FileSHA256), m.Required, now, m.Hidden); err != nil {
				return err
			}
		}
		for _, q := range qs {
			qid := NewID()
			if _, err := tx.ExecContext(ctx, "INSERT INTO questions (id, training_id, position, prompt, hidden, kind, explanation) VALUES (?, ?, ?, ?, ?, ?, ?)",
				qid, copyID, q.Position, q.Prompt, q.Hidden, q.Kind, nullStr(q.Explanation)); err != nil {
				return err
			}
			for i, c := range q.Choices {
				if _, err := tx.ExecContext(ctx, "INSERT INTO choices (id, question_id, position, label, correct) VALUES (?, ?, ?, ?, ?)",
					NewID(), qid, i+1, c.Label, c.Correct); err != nil {
					return err
				}
			}
		}
		// The cover goes with the copy (cards.go).
		_, err := tx.ExecContext(ctx, `INSERT INTO training_covers (training_id, image, content_type, updated_at)
			SELECT ?, image, content_type, ? FROM training_covers WHERE training_id = ?`, copyID, now, id)
		return err
	})
	if err != nil {
		return Training{}, nil, fmt.Errorf("store: duplicate training: %w", err)
	}
	t, err := s.Training(ctx, copyID)
	return t, files, err
}

// LeaveTraining ends userID's enrolment in a training and forgets which of
// its materials they opened. Quiz attempts, attendance and a certificate
// stay with the person's learning records; the activity log keeps its
// entries for as long as its retention rule says.
func (s *Store) LeaveTraining(ctx context.Context, userID, trainingID string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM enrolments WHERE user_id = ? AND training_id = ?", userID, trainingID)
		if err != nil {
			return err
		}
		if err := mustAffect(res); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM material_views WHERE user_id = ?
			AND material_id IN (SELECT id FROM materials WHERE training_id = ?)`, userID, trainingID)
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("store: leave training: %w", err)
	}
	return nil
}

// RetentionOf is the data map's retention period of a column ("" when the
// column is not in the map): the leave page tells what is kept, and for how
// long, from the same source as the privacy notice.
func RetentionOf(table, column string) string {
	for _, f := range DataMap() {
		if f.Table == table && f.Column == column {
			return f.Retention
		}
	}
	return ""
}

// NextMaterials is, for each training userID is enrolled in, the first
// material learners see that the person has not opened yet: where they
// left off. A training whose materials are all done has no entry.
func (s *Store) NextMaterials(ctx context.Context, userID string) (map[string]Material, error) {
	rows, err := s.readQuery(ctx, "SELECT "+materialColumns+` FROM materials
		WHERE hidden = 0 AND training_id IN (SELECT training_id FROM enrolments WHERE user_id = ?)
		AND NOT EXISTS (SELECT 1 FROM material_views v WHERE v.user_id = ? AND v.material_id = materials.id)
		ORDER BY training_id, position, id`, userID, userID)
	if err != nil {
		return nil, fmt.Errorf("store: next materials: %w", err)
	}
	defer rows.Close()
	out := map[string]Material{}
	for rows.Next() {
		m, err := scanMaterial(rows)
		if err != nil {
			return nil, fmt.Errorf("store: next materials: %w", err)
		}
		if _, ok := out[m.TrainingID]; !ok {
			out[m.TrainingID] = m
		}
	}
	return out, rows.Err()
}
