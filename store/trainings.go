package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Training kinds.
const (
	KindSelfStudy = "self_study"
	KindLive      = "live"
)

// Material kinds.
const (
	MaterialPage  = "page"
	MaterialFile  = "file"
	MaterialVideo = "video"
	MaterialLink  = "link"
)

func trainingTables() []table {
	content := func(why string) Field {
		return Field{Category: CatSystem, Export: ExportOmit, Erasure: EraseNone, Why: why}
	}
	learning := Field{Category: CatLearning, Personal: true, Purposes: []string{"run the trainings the person takes and record their results"},
		Basis: BasisContract, Retention: "while the account exists", Export: ExportInclude, Erasure: EraseDelete}
	staff := Field{Category: CatAccount, Personal: true, Purposes: []string{"let Member staff manage their organisation's trainings"},
		Basis: BasisContract, Retention: "while the person works for the Member", Export: ExportInclude, Erasure: EraseDelete}
	activity := Field{Category: CatActivity, Personal: true, Purposes: []string{"record how trainings are used, for the person and for reports"},
		Basis: BasisLegitimate, Retention: "see the retention rules for the activity log", Export: ExportInclude, Erasure: EraseDelete}
	return []table{
		{db: DBMain, name: "members", base: content("Member organisations: public facts, not personal data"),
			columns: []string{"id", "name", "country", "kind", "active", "created_at"}},
		{db: DBMain, name: "member_staff", base: staff, columns: []string{"user_id", "member_id", "role", "added_at"}},
		{db: DBMain, name: "trainings", base: content("training content published by Members"),
			columns: []string{"id", "member_id", "title", "summary", "language", "country", "kind", "place", "join_url",
				"pass_mark", "published", "created_by", "created_at", "updated_at", "archived_at", "max_attempts"},
			override: map[string]Field{"created_by": {Category: CatAccount, Personal: true, Purposes: []string{"know who published a training"},
				Basis: BasisLegitimate, Retention: "while the training exists", Export: ExportOmit, Erasure: EraseAnonymise,
				Why: "staff id on Member content; cleared when the staff account is erased"}}},
		{db: DBMain, name: "training_covers", base: content("cover images of trainings, re-encoded from their pixels"),
			columns: []string{"training_id", "image", "content_type", "updated_at"}},
		{db: DBMain, name: "training_sessions", base: content("dates of live trainings"),
			columns: []string{"id", "training_id", "starts_at", "ends_at", "zone", "hidden"}},
		{db: DBMain, name: "materials", base: content("training materials"),
			columns: []string{"id", "training_id", "position", "kind", "title", "body_md", "url", "file_name", "file_type",
				"file_size", "file_sha256", "required", "created_at", "hidden"}},
		{db: DBMain, name: "questions", base: content("quiz questions"), columns: []string{"id", "training_id", "position", "prompt", "hidden", "kind", "explanation"}},
		{db: DBMain, name: "choices", base: content("quiz answers to choose from, or the answers accepted for a short-answer question"),
			columns: []string{"id", "question_id", "position", "label", "correct"}},
		{db: DBMain, name: "enrolments", base: learning, columns: []string{"user_id", "training_id", "enrolled_at", "completed_at"}},
		{db: DBMain, name: "material_views", base: learning, columns: []string{"user_id", "material_id", "first_viewed_at"}},
		{db: DBMain, name: "quiz_attempts", base: learning, sealed: []string{"typed"},
			columns: []string{"id", "user_id", "training_id", "submitted_at", "answers", "score", "passed", "layout", "typed"}},
		{db: DBMain, name: "quiz_sittings", base: learning, columns: []string{"id", "user_id", "training_id", "started_at", "layout"}},
		{db: DBMain, name: "attendance", base: learning, columns: []string{"user_id", "session_id", "marked_by", "marked_at"},
			override: map[string]Field{"marked_by": actorField("know who recorded attendance")}},
		{db: DBMain, name: "certificates", base: learning, sealed: []string{"holder_name"},
			columns: []string{"code", "user_id", "training_id", "holder_name", "issued_at"}},
		{db: DBMain, name: "activity_log", base: activity, sealed: []string{"ip", "ip_prefix"},
			columns: []string{"id", "user_id", "training_id", "at", "action", "object_type", "object_id", "ip", "ip_prefix"}},
		{db: DBMain, name: "activity_days", columns: []string{"training_id", "day", "user_id", "n"},
			base: Field{Category: CatActivity, Personal: true, Purposes: []string{"report how trainings are used"},
				Basis: BasisLegitimate, Retention: "as the activity log rows it counts", Export: ExportOmit, Erasure: EraseDelete,
				Why: "counts of the person's activity_log rows per training and day, derived from rows the export holds in full"}},
	}
}

// Training is one course or live event.
type Training struct {
	ID, MemberID, MemberName string
	Title, Summary           string
	Language, Country, Kind  string
	Place, JoinURL           string
	PassMark                 int
	// MaxAttempts limits how often a learner may take the quiz; 0 means
	// no limit.
	MaxAttempts          int
	Published            bool
	CreatedAt, UpdatedAt time.Time
	// MemberActive is false once the owning Member is deactivated: the
	// training leaves the catalogue.
	MemberActive bool
	// ArchivedAt is set once staff archived the training: it leaves the
	// catalogue and takes no new enrolments.
	ArchivedAt time.Time
}

// Archived reports whether the training was archived.
func (t Training) Archived() bool { return !t.ArchivedAt.IsZero() }

// Live reports whether the training is held as live sessions.
func (t Training) Live() bool { return t.Kind == KindLive }

// TrainingInput is what staff edit.
type TrainingInput struct {
	Title, Summary, Language, Country, Kind, Place, JoinURL string
	PassMark, MaxAttempts                                   int
	Published                                               bool
}

const trainingColumns = `t.id, t.member_id, m.name, t.title, t.summary, t.language, COALESCE(t.country, ''), t.kind,
	COALESCE(t.place, ''), COALESCE(t.join_url, ''), t.pass_mark, t.published, t.created_at, t.updated_at, m.active, t.archived_at, t.max_attempts`

func scanTraining(sc interface{ Scan(...any) error }) (Training, error) {
	var t Training
	err := sc.Scan(&t.ID, &t.MemberID, &t.MemberName, &t.Title, &t.Summary, &t.Language, &t.Country, &t.Kind,
		&t.Place, &t.JoinURL, &t.PassMark, &t.Published, tsInto(&t.CreatedAt), tsInto(&t.UpdatedAt), &t.MemberActive, tsInto(&t.ArchivedAt), &t.MaxAttempts)
	return t, err
}

// CreateTraining adds a training owned by memberID.
func (s *Store) CreateTraining(ctx context.Context, memberID, createdBy string, in TrainingInput) (Training, error) {
	id := NewID()
	now := ts(s.Now())
	err := s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO trainings (id, member_id, title, summary, language, country, kind, place, join_url,
			pass_mark, published, created_by, created_at, updated_at, max_attempts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			id, memberID, in.Title, in.Summary, in.Language, nullStr(in.Country), in.Kind, nullStr(in.Place), nullStr(in.JoinURL),
			in.PassMark, in.Published, nullStr(createdBy), now, now, in.MaxAttempts)
		return err
	})
	if err != nil {
		return Training{}, fmt.Errorf("store: create training: %w", err)
	}
	return s.Training(ctx, id)
}

// UpdateTraining changes a training's details.
func (s *Store) UpdateTraining(ctx context.Context, id string, in TrainingInput) error {
	return s.exec1(ctx, "update training", `UPDATE trainings SET title = ?, summary = ?, language = ?, country = ?, kind = ?,
		place = ?, join_url = ?, pass_mark = ?, max_attempts = ?, published = ?, updated_at = ? WHERE id = ?`,
		in.Title, in.Summary, in.Language, nullStr(in.Country), in.Kind, nullStr(in.Place), nullStr(in.JoinURL),
		in.PassMark, in.MaxAttempts, in.Published, ts(s.Now()), id)
}

// exec1 runs one statement that must change exactly one existing row.
func (s *Store) exec1(ctx context.Context, what, query string, args ...any) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, query, args...)
		if err != nil {
			return err
		}
		return mustAffect(res)
	})
	if errors.Is(err, ErrNotFound) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	return nil
}

// Training returns one training, published or not; callers decide who may
// see it.
func (s *Store) Training(ctx context.Context, id string) (Training, error) {
	key := trainingKey(id)
	if v, ok := s.cache.get(key, time.Time{}); ok {
		return v.(Training), nil
	}
	gen := s.cache.generation()
	t, err := scanTraining(s.readRow(ctx, "SELECT "+trainingColumns+
		" FROM trainings t JOIN members m ON m.id = t.member_id WHERE t.id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return t, ErrNotFound
	}
	if err != nil {
		return t, fmt.Errorf("store: training: %w", err)
	}
	s.cache.put(gen, key, cacheEntry{v: t})
	return t, nil
}

// Keys of the read cache (cache.go).
type (
	trainingKey         string
	trainingSessionsKey string
	catalogueKey        CatalogueFilter
)

// CatalogueFilter narrows the public catalogue.
type CatalogueFilter struct {
	Country, Language, Kind, Query string
	MemberID                       string // staff views: only this Member's
	IncludeUnpublished             bool
	// FirstLanguage lists trainings in this language before the others
	// (the reader's language), each group newest first.
	FirstLanguage string
}

// Trainings lists trainings matching f, newest first.
func (s *Store) Trainings(ctx context.Context, f CatalogueFilter) ([]Training, error) {
	key := catalogueKey(f)
	if v, ok := s.cache.get(key, time.Time{}); ok {
		return slices.Clone(v.([]Training)), nil
	}
	gen := s.cache.generation()
	out, err := s.trainings(ctx, f)
	if err == nil {
		s.cache.put(gen, key, cacheEntry{v: slices.Clone(out)})
	}
	return out, err
}

func (s *Store) trainings(ctx context.Context, f CatalogueFilter) ([]Training, error) {
	where, args := catalogueWhere(f)
	query := "SELECT " + trainingColumns + " FROM trainings t JOIN members m ON m.id = t.member_id"
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	order := " ORDER BY t.created_at DESC LIMIT 500"
	if f.FirstLanguage != "" {
		order = " ORDER BY t.language = ? DESC, t.created_at DESC LIMIT 500"
		args = append(args, f.FirstLanguage)
	}
	rows, err := s.readQuery(ctx, query+order, args...)
	if err != nil {
		return nil, fmt.Errorf("store: trainings: %w", err)
	}
	defer rows.Close()
	var out []Training
	for rows.Next() {
		t, err := scanTraining(rows)
		if err != nil {
			return nil, fmt.Errorf("store: trainings: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// catalogueWhere is the WHERE clause (its terms, joined by AND) and its
// arguments for f, over trainings t joined with members m.
func catalogueWhere(f CatalogueFilter) ([]string, []any) {
	var where []string
	var args []any
	if !f.IncludeUnpublished {
		// An inactive Member's trainings leave the catalogue; their
		// learners keep their records.
		where = append(where, "t.published = 1", "m.active = 1", "t.archived_at IS NULL")
	}
	if f.Country != "" {
		where = append(where, "(t.country = ? OR t.country IS NULL)")
		args = append(args, f.Country)
	}
	if f.Language != "" {
		where = append(where, "t.language = ?")
		args = append(args, f.Language)
	}
	if f.Kind != "" {
		where = append(where, "t.kind = ?")
		args = append(args, f.Kind)
	}
	if f.MemberID != "" {
		where = append(where, "t.member_id = ?")
		args = append(args, f.MemberID)
	}
	if q := strings.TrimSpace(f.Query); q != "" {
		where = append(where, "t.title LIKE ? ESCAPE '\\'")
		args = append(args, "%"+likeEscape(q)+"%")
	}
	return where, args
}

func likeEscape(v string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(v)
}

// Session is one date of a live training.
type Session struct {
	ID, TrainingID   string
	StartsAt, EndsAt time.Time
	// Zone is the IANA zone the organiser set the session in; the times
	// are UTC instants.
	Zone string
	// Hidden sessions are kept for staff (who may still mark attendance)
	// but not shown to learners and visitors.
	Hidden bool
}

// AddSession adds a date to a live training, organised in UTC.
func (s *Store) AddSession(ctx context.Context, trainingID string, start, end time.Time) (Session, error) {
	return s.AddSessionIn(ctx, trainingID, start, end, ZoneUTC)
}

// AddSessionIn adds a date to a live training organised in zone (one of
// AllZones); start and end are instants, stored in UTC.
func (s *Store) AddSessionIn(ctx context.Context, trainingID string, start, end time.Time, zone string) (Session, error) {
	if !ValidZone(zone) {
		return Session{}, fmt.Errorf("store: add session: invalid zone %q", zone)
	}
	se := Session{ID: NewID(), TrainingID: trainingID, StartsAt: start.UTC(), EndsAt: end.UTC(), Zone: zone}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO training_sessions (id, training_id, starts_at, ends_at, zone) VALUES (?, ?, ?, ?, ?)",
			se.ID, trainingID, ts(start), ts(end), zone)
		return err
	})
	if err != nil {
		return se, fmt.Errorf("store: add session: %w", err)
	}
	return se, nil
}

// VisibleSessions lists the dates of a training that learners and
// visitors see, in order: the hidden ones left out.
func (s *Store) VisibleSessions(ctx context.Context, trainingID string) ([]Session, error) {
	all, err := s.TrainingSessions(ctx, trainingID)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, se := range all {
		if !se.Hidden {
			out = append(out, se)
		}
	}
	return out, nil
}

// TrainingSessions lists a training's dates in order, hidden ones too:
// for staff. Learners and visitors see VisibleSessions.
func (s *Store) TrainingSessions(ctx context.Context, trainingID string) ([]Session, error) {
	key := trainingSessionsKey(trainingID)
	if v, ok := s.cache.get(key, time.Time{}); ok {
		return slices.Clone(v.([]Session)), nil
	}
	gen := s.cache.generation()
	out, err := s.trainingSessions(ctx, trainingID)
	if err == nil {
		s.cache.put(gen, key, cacheEntry{v: slices.Clone(out)})
	}
	return out, err
}

func (s *Store) trainingSessions(ctx context.Context, trainingID string) ([]Session, error) {
	rows, err := s.readQuery(ctx, "SELECT id, training_id, starts_at, ends_at, zone, hidden FROM training_sessions WHERE training_id = ? ORDER BY starts_at", trainingID)
	if err != nil {
		return nil, fmt.Errorf("store: sessions: %w", err)
	}
	defer rows.Close()
	var out []Session
	for rows.Next() {
		var se Session
		if err := rows.Scan(&se.ID, &se.TrainingID, tsInto(&se.StartsAt), tsInto(&se.EndsAt), &se.Zone, &se.Hidden); err != nil {
			return nil, fmt.Errorf("store: sessions: %w", err)
		}
		out = append(out, se)
	}
	return out, rows.Err()
}

// Material is one item of a training.
type Material struct {
	ID, TrainingID, Kind, Title string
	Position                    int
	BodyMD, URL                 string
	FileName, FileType          string
	FileSize                    int64
	FileSHA256                  string
	Required                    bool
	// Hidden materials are kept for staff but not shown to learners.
	Hidden bool
}

// MaterialInput is a new material; file fields come from the stored upload.
type MaterialInput struct {
	Kind, Title, BodyMD, URL     string
	FileName, FileType, FileHash string
	FileSize                     int64
	Required                     bool
}

// AddMaterial appends a material to a training. id may be given (file
// uploads name their file after it) or left empty.
func (s *Store) AddMaterial(ctx context.Context, trainingID, id string, in MaterialInput) (Material, error) {
	if id == "" {
		id = NewID()
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO materials (id, training_id, position, kind, title, body_md, url, file_name,
			file_type, file_size, file_sha256, required, created_at)
			VALUES (?, ?, (SELECT COALESCE(MAX(position), 0) + 1 FROM materials WHERE training_id = ?), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			id, trainingID, trainingID, in.Kind, in.Title, nullStr(in.BodyMD), nullStr(in.URL), nullStr(in.FileName),
			nullStr(in.FileType), in.FileSize, nullStr(in.FileHash), in.Required, ts(s.Now()))
		return err
	})
	if err != nil {
		return Material{}, fmt.Errorf("store: add material: %w", err)
	}
	return s.Material(ctx, trainingID, id)
}

const materialColumns = `id, training_id, position, kind, title, COALESCE(body_md, ''), COALESCE(url, ''), COALESCE(file_name, ''),
	COALESCE(file_type, ''), COALESCE(file_size, 0), COALESCE(file_sha256, ''), required, hidden`

func scanMaterial(sc interface{ Scan(...any) error }) (Material, error) {
	var m Material
	err := sc.Scan(&m.ID, &m.TrainingID, &m.Position, &m.Kind, &m.Title, &m.BodyMD, &m.URL, &m.FileName, &m.FileType,
		&m.FileSize, &m.FileSHA256, &m.Required, &m.Hidden)
	return m, err
}

// Material returns a material of a training; a material of another training
// is ErrNotFound.
func (s *Store) Material(ctx context.Context, trainingID, id string) (Material, error) {
	m, err := scanMaterial(s.rdb.QueryRowContext(ctx, "SELECT "+materialColumns+" FROM materials WHERE id = ? AND training_id = ?", id, trainingID))
	if errors.Is(err, sql.ErrNoRows) {
		return m, ErrNotFound
	}
	if err != nil {
		return m, fmt.Errorf("store: material: %w", err)
	}
	return m, nil
}

// Materials lists a training's materials in order, hidden ones too: the
// staff view. Learners see StudyMaterials.
func (s *Store) Materials(ctx context.Context, trainingID string) ([]Material, error) {
	return s.materials(ctx, "", trainingID)
}

// StudyMaterials lists the materials learners see, in order.
func (s *Store) StudyMaterials(ctx context.Context, trainingID string) ([]Material, error) {
	return s.materials(ctx, " AND hidden = 0", trainingID)
}

func (s *Store) materials(ctx context.Context, and, trainingID string) ([]Material, error) {
	rows, err := s.readQuery(ctx, "SELECT "+materialColumns+" FROM materials WHERE training_id = ?"+and+" ORDER BY position", trainingID)
	if err != nil {
		return nil, fmt.Errorf("store: materials: %w", err)
	}
	defer rows.Close()
	var out []Material
	for rows.Next() {
		m, err := scanMaterial(rows)
		if err != nil {
			return nil, fmt.Errorf("store: materials: %w", err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// Enrol enrols userID in a training; enrolling twice is harmless.
func (s *Store) Enrol(ctx context.Context, userID, trainingID string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO enrolments (user_id, training_id, enrolled_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
			userID, trainingID, ts(s.Now()))
		return err
	})
	if err != nil {
		return fmt.Errorf("store: enrol: %w", err)
	}
	return nil
}

// Enrolment is a learner's place in one training with their progress.
type Enrolment struct {
	Training        Training
	EnrolledAt      time.Time
	CompletedAt     time.Time
	MaterialsViewed int
	MaterialsNeeded int
	BestScore       int // -1 when no attempt yet
	Passed          bool
	Attended        bool
	CertificateCode string
}

// Completed reports whether the training is complete.
func (e Enrolment) Completed() bool { return !e.CompletedAt.IsZero() }

// Enrolment returns userID's enrolment in a training, or ErrNotFound.
func (s *Store) Enrolment(ctx context.Context, userID, trainingID string) (Enrolment, error) {
	es, err := s.enrolments(ctx, "e.user_id = ? AND e.training_id = ?", userID, trainingID)
	if err != nil {
		return Enrolment{}, err
	}
	if len(es) == 0 {
		return Enrolment{}, ErrNotFound
	}
	return es[0], nil
}

// Enrolments lists userID's trainings with progress, newest first: the
// learner dashboard.
func (s *Store) Enrolments(ctx context.Context, userID string) ([]Enrolment, error) {
	return s.enrolments(ctx, "e.user_id = ?", userID)
}

func (s *Store) enrolments(ctx context.Context, where string, args ...any) ([]Enrolment, error) {
	rows, err := s.readQuery(ctx, "SELECT "+trainingColumns+`, e.enrolled_at, COALESCE(e.completed_at, ''),
		(SELECT COUNT(*) FROM material_views v JOIN materials mt ON mt.id = v.material_id
			WHERE v.user_id = e.user_id AND mt.training_id = t.id AND mt.required = 1 AND mt.hidden = 0),
		(SELECT COUNT(*) FROM materials mt WHERE mt.training_id = t.id AND mt.required = 1 AND mt.hidden = 0),
		COALESCE((SELECT MAX(score) FROM quiz_attempts a WHERE a.user_id = e.user_id AND a.training_id = t.id), -1),
		EXISTS (SELECT 1 FROM quiz_attempts a WHERE a.user_id = e.user_id AND a.training_id = t.id AND a.passed = 1),
		EXISTS (SELECT 1 FROM attendance at JOIN training_sessions ss ON ss.id = at.session_id
			WHERE at.user_id = e.user_id AND ss.training_id = t.id),
		COALESCE((SELECT code FROM certificates c WHERE c.user_id = e.user_id AND c.training_id = t.id), '')
		FROM enrolments e JOIN trainings t ON t.id = e.training_id JOIN members m ON m.id = t.member_id
		WHERE `+where+" ORDER BY e.enrolled_at DESC", args...)
	if err != nil {
		return nil, fmt.Errorf("store: enrolments: %w", err)
	}
	defer rows.Close()
	var out []Enrolment
	for rows.Next() {
		var e Enrolment
		t := &e.Training
		if err := rows.Scan(&t.ID, &t.MemberID, &t.MemberName, &t.Title, &t.Summary, &t.Language, &t.Country, &t.Kind,
			&t.Place, &t.JoinURL, &t.PassMark, &t.Published, tsInto(&t.CreatedAt), tsInto(&t.UpdatedAt), &t.MemberActive, tsInto(&t.ArchivedAt), &t.MaxAttempts, tsInto(&e.EnrolledAt), tsInto(&e.CompletedAt),
			&e.MaterialsViewed, &e.MaterialsNeeded, &e.BestScore, &e.Passed, &e.Attended, &e.CertificateCode); err != nil {
			return nil, fmt.Errorf("store: enrolments: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// RecordMaterialView notes that userID opened a material (first time only).
func (s *Store) RecordMaterialView(ctx context.Context, userID, materialID string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO material_views (user_id, material_id, first_viewed_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
			userID, materialID, ts(s.Now()))
		return err
	})
	if err != nil {
		return fmt.Errorf("store: material view: %w", err)
	}
	return nil
}

// MarkAttendance records that userID attended a session of their training.
func (s *Store) MarkAttendance(ctx context.Context, sessionID, userID, markedBy string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO attendance (user_id, session_id, marked_by, marked_at)
			SELECT e.user_id, ss.id, ?, ? FROM training_sessions ss JOIN enrolments e ON e.training_id = ss.training_id
			WHERE ss.id = ? AND e.user_id = ? ON CONFLICT DO NOTHING`, markedBy, ts(s.Now()), sessionID, userID)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err == nil && n == 0 {
			var exists int
			if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM attendance WHERE user_id = ? AND session_id = ?", userID, sessionID).Scan(&exists); err != nil {
				return err
			}
			if exists == 0 {
				return ErrNotFound
			}
		}
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("store: mark attendance: %w", err)
	}
	return nil
}

// Certificate is the public proof of a completed training.
type Certificate struct {
	Code          string
	TrainingID    string
	TrainingTitle string
	MemberName    string
	HolderName    string
	IssuedAt      time.Time
}

// newCertificateCode returns 20 characters of base32 (100 bits), grouped
// for reading aloud: XXXXX-XXXXX-XXXXX-XXXXX.
func newCertificateCode() string {
	b := make([]byte, 13)
	rand.Read(b)
	c := strings.ToUpper(idEncoding.EncodeToString(b))[:20]
	return c[0:5] + "-" + c[5:10] + "-" + c[10:15] + "-" + c[15:20]
}

// CompleteIfDone marks the enrolment complete and issues a certificate when
// every required material is viewed and the quiz passed (when the training
// has one), or attendance is recorded (live trainings). It returns the
// certificate when one was issued now.
func (s *Store) CompleteIfDone(ctx context.Context, userID, trainingID string) (*Certificate, error) {
	e, err := s.Enrolment(ctx, userID, trainingID)
	if err != nil || e.Completed() {
		return nil, err
	}
	quiz, err := s.Quiz(ctx, trainingID)
	if err != nil {
		return nil, err
	}
	done := e.MaterialsViewed >= e.MaterialsNeeded && (len(quiz) == 0 || e.Passed)
	if e.Training.Live() {
		done = e.Attended && (len(quiz) == 0 || e.Passed)
	}
	if !done {
		return nil, nil
	}
	u, err := s.User(ctx, userID)
	if err != nil {
		return nil, err
	}
	c := &Certificate{Code: newCertificateCode(), TrainingID: trainingID, TrainingTitle: e.Training.Title,
		MemberName: e.Training.MemberName, HolderName: u.DisplayName(), IssuedAt: s.Now()}
	z, err := s.sealerFor(ctx, userID, "certificates", c.Code)
	if err != nil {
		return nil, err
	}
	issued := true
	err = s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE enrolments SET completed_at = ? WHERE user_id = ? AND training_id = ? AND completed_at IS NULL",
			ts(c.IssuedAt), userID, trainingID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrConflict // completed concurrently
		}
		// Someone who left a completed training and came back keeps the
		// certificate issued the first time.
		res, err = tx.ExecContext(ctx, `INSERT INTO certificates (code, user_id, training_id, holder_name, issued_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (user_id, training_id) DO NOTHING`, c.Code, userID, trainingID, z.seal("holder_name", c.HolderName), ts(c.IssuedAt))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			issued = false
		}
		return nil
	})
	if errors.Is(err, ErrConflict) || (err == nil && !issued) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: complete: %w", err)
	}
	return c, nil
}

// CertificateByCode looks a certificate up for public verification.
func (s *Store) CertificateByCode(ctx context.Context, code string) (Certificate, error) {
	var c Certificate
	var userID string
	var holder []byte
	err := s.rdb.QueryRowContext(ctx, `SELECT c.code, c.user_id, c.training_id, t.title, m.name, c.holder_name, c.issued_at
		FROM certificates c JOIN trainings t ON t.id = c.training_id JOIN members m ON m.id = t.member_id WHERE c.code = ?`, code).
		Scan(&c.Code, &userID, &c.TrainingID, &c.TrainingTitle, &c.MemberName, &holder, tsInto(&c.IssuedAt))
	if errors.Is(err, sql.ErrNoRows) {
		return c, ErrNotFound
	}
	if err != nil {
		return c, fmt.Errorf("store: certificate: %w", err)
	}
	z, err := s.sealerFor(ctx, userID, "certificates", c.Code)
	if errors.Is(err, ErrNotFound) {
		return Certificate{}, ErrNotFound // the holder was erased
	}
	if err != nil {
		return c, err
	}
	if c.HolderName, err = z.open("holder_name", holder); err != nil {
		return c, err
	}
	return c, nil
}

// ValidCertificateCode checks the shape of a code before any lookup.
func ValidCertificateCode(code string) bool {
	if len(code) != 23 {
		return false
	}
	for i, r := range code {
		if i%6 == 5 {
			if r != '-' {
				return false
			}
			continue
		}
		if !(r >= 'A' && r <= 'Z' || r >= '2' && r <= '7') {
			return false
		}
	}
	return true
}

// ViewedMaterials is the set of a training's materials userID has opened.
func (s *Store) ViewedMaterials(ctx context.Context, userID, trainingID string) (map[string]bool, error) {
	rows, err := s.readQuery(ctx, `SELECT v.material_id FROM material_views v JOIN materials m ON m.id = v.material_id
		WHERE v.user_id = ? AND m.training_id = ?`, userID, trainingID)
	if err != nil {
		return nil, fmt.Errorf("store: viewed materials: %w", err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("store: viewed materials: %w", err)
		}
		out[id] = true
	}
	return out, rows.Err()
}

// EnrolledLearner is a learner as the people running a training see them.
type EnrolledLearner struct {
	UserID   string
	Name     string
	Attended map[string]bool // session id → attended
}

// TrainingLearners lists the learners enrolled in a training with their
// names opened, leaving out anyone whose processing is restricted. Callers
// must be allowed to see personal data of this training's learners.
func (s *Store) TrainingLearners(ctx context.Context, trainingID string) ([]EnrolledLearner, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT e.user_id FROM enrolments e WHERE e.training_id = ?
		AND NOT EXISTS (SELECT 1 FROM user_restrictions r WHERE r.user_id = e.user_id) ORDER BY e.enrolled_at`, trainingID)
	if err != nil {
		return nil, fmt.Errorf("store: training learners: %w", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: training learners: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	attended := map[string]map[string]bool{}
	arows, err := s.rdb.QueryContext(ctx, `SELECT a.user_id, a.session_id FROM attendance a
		JOIN training_sessions ss ON ss.id = a.session_id WHERE ss.training_id = ?`, trainingID)
	if err != nil {
		return nil, fmt.Errorf("store: attendance: %w", err)
	}
	defer arows.Close()
	for arows.Next() {
		var u, se string
		if err := arows.Scan(&u, &se); err != nil {
			return nil, fmt.Errorf("store: attendance: %w", err)
		}
		if attended[u] == nil {
			attended[u] = map[string]bool{}
		}
		attended[u][se] = true
	}
	var out []EnrolledLearner
	for _, id := range ids {
		u, err := s.User(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, EnrolledLearner{UserID: id, Name: u.DisplayName(), Attended: attended[id]})
	}
	return out, nil
}

// EnrolmentCount is how many people are enrolled in a training, as staff
// may count them: people who restricted processing are left out, as they
// are from the list of names (TrainingLearners), so the count and the list
// agree and nothing says that someone was left out.
func (s *Store) EnrolmentCount(ctx context.Context, trainingID string) (int, error) {
	var n int
	if err := s.rdb.QueryRowContext(ctx, `SELECT COUNT(*) FROM enrolments e WHERE e.training_id = ?
		AND NOT EXISTS (SELECT 1 FROM user_restrictions r WHERE r.user_id = e.user_id)`, trainingID).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: enrolment count: %w", err)
	}
	return n, nil
}

// AttemptSummary is a graded quiz attempt with its training's title.
type AttemptSummary struct {
	ID, TrainingID, TrainingTitle string
	Score                         int
	Passed                        bool
	SubmittedAt                   time.Time
}

// Attempts lists a person's quiz attempts, newest first.
func (s *Store) Attempts(ctx context.Context, userID string) ([]AttemptSummary, error) {
	rows, err := s.readQuery(ctx, `SELECT a.id, a.training_id, t.title, a.score, a.passed, a.submitted_at
		FROM quiz_attempts a JOIN trainings t ON t.id = a.training_id WHERE a.user_id = ? ORDER BY a.submitted_at DESC`, userID)
	if err != nil {
		return nil, fmt.Errorf("store: attempts: %w", err)
	}
	defer rows.Close()
	var out []AttemptSummary
	for rows.Next() {
		var a AttemptSummary
		if err := rows.Scan(&a.ID, &a.TrainingID, &a.TrainingTitle, &a.Score, &a.Passed, tsInto(&a.SubmittedAt)); err != nil {
			return nil, fmt.Errorf("store: attempts: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}
