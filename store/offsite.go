package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"kelas/store/offsite"
)

// Off-site states of one backup file. A file with no record for the
// target is only local.
const (
	OffsiteLocal    = "local"
	OffsiteUploaded = "uploaded"
	OffsiteVerified = "verified"
	OffsiteFailed   = "failed"
)

// OffsiteFile is the off-site state of one backup file at one target.
type OffsiteFile struct {
	Target      string // the target's URL without secrets
	File        string
	Kind        string
	State       string
	SHA256      string
	Attempts    int
	Error       string
	Stamp       time.Time // when the backup was taken
	UpdatedAt   time.Time
	DeletedAt   time.Time // the retention rules removed the remote copy
	DeleteError string    // the last removal failed (retried next run)
}

// OffsiteOptions tune uploads.
type OffsiteOptions struct {
	// Attempts per file before it is marked failed; 0 means 4.
	Attempts int
	// Backoff is the wait after the first failed attempt, doubled after
	// each further one; 0 means 5 seconds.
	Backoff time.Duration
}

// UploadOffsite copies every local backup file that is not verified at t
// yet: uploaded under a temporary name and committed (see offsite.Target),
// then downloaded again and its sha256 compared with the local file's. A
// failed attempt is retried with back-off; a file that still fails is
// recorded as failed with the reason (the local file stays) and tried again
// at the next run. A refusal (credentials, host key, missing bucket) is
// not retried within the run. It returns the states written.
func (s *Store) UploadOffsite(ctx context.Context, t offsite.Target, o OffsiteOptions) ([]OffsiteFile, error) {
	if o.Attempts <= 0 {
		o.Attempts = 4
	}
	if o.Backoff <= 0 {
		o.Backoff = 5 * time.Second
	}
	files, err := listBackupFiles(s.backupsDir())
	if err != nil {
		return nil, fmt.Errorf("store: off-site upload: %w", err)
	}
	known, err := s.offsiteByFile(ctx, t.String())
	if err != nil {
		return nil, err
	}
	var out []OffsiteFile
	var errs []error
	// Oldest first, so a pair's keys file follows its data file.
	for _, f := range slices.Backward(files) {
		if k, ok := known[f.name]; ok && (k.State == OffsiteVerified || !k.DeletedAt.IsZero()) {
			continue
		}
		st := OffsiteFile{Target: t.String(), File: f.name, Kind: f.kind, Stamp: f.at, Attempts: known[f.name].Attempts}
		var lastErr error
		wait := o.Backoff
		for attempt := range o.Attempts {
			if attempt > 0 {
				select {
				case <-ctx.Done():
				case <-time.After(wait):
				}
				wait *= 2
			}
			if ctx.Err() != nil {
				lastErr = ctx.Err()
				break
			}
			st.Attempts++
			sum, uploaded, err := s.uploadOne(ctx, t, f.name)
			st.SHA256 = sum
			if err == nil {
				st.State, st.Error, lastErr = OffsiteVerified, "", nil
				break
			}
			lastErr = err
			if uploaded {
				st.State = OffsiteUploaded
			}
			if errors.Is(err, offsite.ErrRefused) {
				break // waiting will not change the answer
			}
		}
		if lastErr != nil {
			st.State, st.Error = OffsiteFailed, truncate(lastErr.Error(), 500)
			errs = append(errs, fmt.Errorf("%s: %w", f.name, lastErr))
		}
		st.UpdatedAt = s.Now()
		if err := s.recordOffsite(context.WithoutCancel(ctx), st); err != nil {
			errs = append(errs, err)
		}
		out = append(out, st)
	}
	if err := errors.Join(errs...); err != nil {
		return out, fmt.Errorf("store: off-site upload to %s: %w", t, err)
	}
	return out, nil
}

// uploadOne puts one local file and checks the remote copy's sha256. A
// copy that does not match is deleted again. uploaded reports whether the
// commit succeeded.
func (s *Store) uploadOne(ctx context.Context, t offsite.Target, name string) (sum string, uploaded bool, err error) {
	path := filepath.Join(s.backupsDir(), name)
	sum, size, err := fileSHA256(path)
	if err != nil {
		return "", false, err
	}
	f, err := os.Open(path)
	if err != nil {
		return sum, false, err
	}
	defer f.Close()
	if err := t.Put(ctx, name, f, size); err != nil {
		return sum, false, err
	}
	remote, err := remoteSHA256(ctx, t, name)
	if err != nil {
		return sum, true, fmt.Errorf("verify: %w", err)
	}
	if remote != sum {
		derr := t.Delete(ctx, name)
		return sum, false, errors.Join(fmt.Errorf("verify: the remote copy's sha256 %s differs from the local %s; it was removed", remote, sum), derr)
	}
	return sum, true, nil
}

func remoteSHA256(ctx context.Context, t offsite.Target, name string) (string, error) {
	h := sha256.New()
	if err := t.Get(ctx, name, h); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func (s *Store) recordOffsite(ctx context.Context, f OffsiteFile) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO offsite_files (target, file, kind, state, sha256, attempts, error, stamp, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (target, file) DO UPDATE SET state = excluded.state, sha256 = excluded.sha256,
			attempts = excluded.attempts, error = excluded.error, updated_at = excluded.updated_at`,
			f.Target, f.File, f.Kind, f.State, nullStr(f.SHA256), f.Attempts, nullStr(f.Error), ts(f.Stamp), ts(f.UpdatedAt))
		return err
	})
}

// PruneOffsite applies the backup retention rules to the files stored at
// t (keys backups after the keys window, data backups by the daily and
// weekly rule), and removes leftovers of interrupted uploads older than a
// day. It works from t's listing, so files the records do not know are
// pruned too. A removal that fails is recorded and returned; the next run
// tries again.
func (s *Store) PruneOffsite(ctx context.Context, t offsite.Target) ([]string, error) {
	rules, err := s.RetentionRules(ctx)
	if err != nil {
		return nil, err
	}
	keep := map[string]int{}
	for _, r := range rules {
		keep[r.Category] = r.Keep
	}
	names, err := t.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: off-site prune: %w", err)
	}
	now := s.Now()
	remove := selectPrune(parseBackupNames(names), keep, now, nil)
	for _, n := range names {
		if !offsite.IsPartial(n) {
			continue
		}
		// A partial's name carries its backup's stamp.
		m := backupName.FindStringSubmatch(strings.TrimSuffix(n, ".partial"))
		if m == nil {
			continue
		}
		if at, err := time.Parse(stampLayout, m[2]); err == nil && at.Before(now.Add(-24*time.Hour)) {
			remove = append(remove, n)
		}
	}
	var removed []string
	var errs []error
	for _, n := range remove {
		derr := t.Delete(ctx, n)
		if derr != nil {
			errs = append(errs, fmt.Errorf("%s: %w", n, derr))
		} else {
			removed = append(removed, n)
		}
		if offsite.IsPartial(n) {
			continue
		}
		m := backupName.FindStringSubmatch(n)
		at, _ := time.Parse(stampLayout, m[2])
		rec := context.WithoutCancel(ctx)
		err := s.tx(rec, func(tx *sql.Tx) error {
			var delAt, delErr any
			if derr == nil {
				delAt = ts(now)
			} else {
				delErr = truncate(derr.Error(), 500)
			}
			_, err := tx.ExecContext(rec, `INSERT INTO offsite_files (target, file, kind, state, stamp, updated_at, deleted_at, delete_error)
				VALUES (?, ?, ?, 'verified', ?, ?, ?, ?)
				ON CONFLICT (target, file) DO UPDATE SET deleted_at = excluded.deleted_at, delete_error = excluded.delete_error,
				updated_at = excluded.updated_at`, t.String(), n, m[1], ts(at), ts(now), delAt, delErr)
			return err
		})
		if err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return removed, fmt.Errorf("store: off-site prune at %s: %w", t, err)
	}
	return removed, nil
}

const offsiteColumns = `target, file, kind, state, COALESCE(sha256, ''), attempts, COALESCE(error, ''), stamp, updated_at,
	deleted_at, COALESCE(delete_error, '')`

func scanOffsite(rows *sql.Rows) ([]OffsiteFile, error) {
	defer rows.Close()
	var out []OffsiteFile
	for rows.Next() {
		var f OffsiteFile
		if err := rows.Scan(&f.Target, &f.File, &f.Kind, &f.State, &f.SHA256, &f.Attempts, &f.Error, tsInto(&f.Stamp), tsInto(&f.UpdatedAt),
			tsInto(&f.DeletedAt), &f.DeleteError); err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

func (s *Store) offsiteByFile(ctx context.Context, target string) (map[string]OffsiteFile, error) {
	rows, err := s.rdb.QueryContext(ctx, "SELECT "+offsiteColumns+" FROM offsite_files WHERE target = ?", target)
	if err != nil {
		return nil, fmt.Errorf("store: off-site files: %w", err)
	}
	list, err := scanOffsite(rows)
	if err != nil {
		return nil, fmt.Errorf("store: off-site files: %w", err)
	}
	out := map[string]OffsiteFile{}
	for _, f := range list {
		out[f.File] = f
	}
	return out, nil
}

// OffsiteStatus summarises off-site copies at one target for the console
// and `kelas doctor`.
type OffsiteStatus struct {
	Target string
	// Files are the local backup files, newest first, each with its state
	// at the target (OffsiteLocal when never uploaded).
	Files []OffsiteFile
	// Failing are files whose last upload failed.
	Failing []OffsiteFile
	// DeleteFailing are remote copies whose removal failed and that are
	// still there.
	DeleteFailing []OffsiteFile
	// Overdue are keys backups recorded at the target, past the keys
	// window and not recorded as deleted: an erased person's key may
	// still be there.
	Overdue   []OffsiteFile
	LastDrill Drill // zero ID if none
}

// OffsiteStatus reports the off-site state of the local backup files and
// of remote copies the retention rules should have removed.
func (s *Store) OffsiteStatus(ctx context.Context, target string) (OffsiteStatus, error) {
	st := OffsiteStatus{Target: target}
	known, err := s.offsiteByFile(ctx, target)
	if err != nil {
		return st, err
	}
	// An unreadable backups directory is the backups check's to report.
	files, _ := listBackupFiles(s.backupsDir())
	for _, f := range files {
		o, ok := known[f.name]
		if !ok {
			o = OffsiteFile{Target: target, File: f.name, Kind: f.kind, State: OffsiteLocal, Stamp: f.at}
		}
		st.Files = append(st.Files, o)
		if o.State == OffsiteFailed {
			st.Failing = append(st.Failing, o)
		}
	}
	keysDays := 7
	if rules, err := s.RetentionRules(ctx); err == nil {
		for _, r := range rules {
			if r.Category == RetKeysBackups {
				keysDays = r.Keep
			}
		}
	}
	// An hour of slack: pruning runs hourly.
	cutoff := s.Now().Add(-time.Duration(keysDays)*24*time.Hour - time.Hour)
	for _, o := range known {
		if !o.DeletedAt.IsZero() {
			continue
		}
		if o.DeleteError != "" {
			st.DeleteFailing = append(st.DeleteFailing, o)
		}
		if o.Kind == BackupKeys && o.State != OffsiteFailed && o.Stamp.Before(cutoff) {
			st.Overdue = append(st.Overdue, o)
		}
	}
	byName := func(a, b OffsiteFile) int { return strings.Compare(a.File, b.File) }
	slices.SortFunc(st.DeleteFailing, byName)
	slices.SortFunc(st.Overdue, byName)
	if st.LastDrill, err = s.LastDrill(ctx); err != nil {
		return st, err
	}
	return st, nil
}

// OffsiteTarget returns the target URL set on the console, and whether one
// is set; without one KELAS_BACKUP_TARGET applies.
func (s *Store) OffsiteTarget(ctx context.Context) (string, bool, error) {
	var u string
	err := s.rdb.QueryRowContext(ctx, "SELECT url FROM offsite_target WHERE id = 1").Scan(&u)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("store: off-site target: %w", err)
	}
	return u, true, nil
}

// SetOffsiteTarget records the target URL chosen on the console (already
// checked, holding no secret); an empty url clears it. Audited with the
// redacted URLs.
func (s *Store) SetOffsiteTarget(ctx context.Context, url, actor string) error {
	old, _, err := s.OffsiteTarget(ctx)
	if err != nil {
		return err
	}
	details := map[string]any{"from": "", "to": ""}
	if old != "" {
		details["from"] = offsite.Redact(old)
	}
	if url != "" {
		details["to"] = offsite.Redact(url)
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		if url == "" {
			_, err = tx.ExecContext(ctx, "DELETE FROM offsite_target WHERE id = 1")
		} else {
			_, err = tx.ExecContext(ctx, `INSERT INTO offsite_target (id, url, updated_at, updated_by) VALUES (1, ?, ?, ?)
				ON CONFLICT (id) DO UPDATE SET url = excluded.url, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
				url, ts(s.Now()), actor)
		}
		if err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, s.Now(), AuditEntry{ActorID: actor, Action: AuditBackupTarget, TargetType: "backup", Details: details})
	})
}

// FetchOffsite downloads the newest backup pair stored at t, or the pair
// of stamp at (20060102T150405Z, or a data file's name), into dir, and
// returns the data file's path. The keys file of the same run is fetched
// when the target still has it. Downloads go to a temporary name first.
func FetchOffsite(ctx context.Context, t offsite.Target, at, dir string) (string, error) {
	names, err := t.List(ctx)
	if err != nil {
		return "", err
	}
	var pick *backupFile
	files := parseBackupNames(names)
	var stamps []string
	for i, f := range files {
		if f.kind != BackupData {
			continue
		}
		stamps = append(stamps, f.at.Format(stampLayout))
		if at == "" || at == f.name || at == f.at.Format(stampLayout) {
			pick = &files[i]
			break
		}
	}
	if pick == nil {
		if at == "" {
			return "", fmt.Errorf("%w: %s holds no data backup", ErrBackupUnreadable, t)
		}
		return "", fmt.Errorf("%w: %s holds no data backup of %s (it has: %s)", ErrBackupUnreadable, t, at, strings.Join(stamps, ", "))
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	get := func(name string) error {
		final := filepath.Join(dir, name)
		f, err := os.OpenFile(final+".tmp", os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return err
		}
		err = t.Get(ctx, name, f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(final + ".tmp")
			return err
		}
		return os.Rename(final+".tmp", final)
	}
	if err := get(pick.name); err != nil {
		return "", err
	}
	keys := "kelas-keys-" + strings.TrimPrefix(pick.name, "kelas-data-")
	if slices.Contains(names, keys) {
		if err := get(keys); err != nil {
			return "", err
		}
	}
	return filepath.Join(dir, pick.name), nil
}

// RestoreFrom is Restore of a backup pair fetched from t (the newest, or
// the one of stamp at): downloaded into a temporary directory inside
// o.Dir, restored as by `kelas restore FILE` (checked, the journal and
// every tombstone re-applied), and the downloads removed.
func RestoreFrom(ctx context.Context, o RestoreOptions, t offsite.Target, at string) (RestoreResult, error) {
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return RestoreResult{}, fmt.Errorf("store: restore: %w", err)
	}
	// Refuse early, before a long download, when kelas is running.
	unlock, err := LockDir(o.Dir, true)
	if err != nil {
		if errors.Is(err, ErrLocked) {
			return RestoreResult{}, fmt.Errorf("%w: stop `kelas serve` (and any other kelas command) before restoring", err)
		}
		return RestoreResult{}, err
	}
	unlock()
	stage, err := os.MkdirTemp(o.Dir, ".fetch-")
	if err != nil {
		return RestoreResult{}, fmt.Errorf("store: restore: %w", err)
	}
	defer os.RemoveAll(stage)
	if o.File, err = FetchOffsite(ctx, t, at, stage); err != nil {
		return RestoreResult{}, fmt.Errorf("store: restore from %s: %w (nothing was changed)", t, err)
	}
	return Restore(ctx, o)
}

// Drill is the outcome of one restore drill.
type Drill struct {
	ID         string
	Target     string
	StartedAt  time.Time
	FinishedAt time.Time
	OK         bool
	File       string // the data backup restored
	People     int    // people in the restored copy, after tombstones
	LivePeople int    // people in the live database
	Error      string
}

// RestoreDrill proves the newest off-site backup restores: it fetches the
// pair from t into a temporary directory inside the data directory,
// restores it there with the master key (checks, journal, tombstones of
// the live data re-applied), then opens the copy and runs integrity_check,
// verifies the audit chain and its anchor, checks that no erased person is
// left, and counts people against the live database. The copy is deleted
// afterwards whatever the outcome. The result is recorded and audited; a
// failed drill is returned as an error too.
func (s *Store) RestoreDrill(ctx context.Context, t offsite.Target) (Drill, error) {
	d := Drill{ID: NewID(), Target: t.String(), StartedAt: s.Now()}
	err := s.drill(ctx, t, &d)
	d.FinishedAt, d.OK = s.Now(), err == nil
	if err != nil {
		d.Error = truncate(err.Error(), 500)
	}
	rec := context.WithoutCancel(ctx)
	rerr := s.tx(rec, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(rec, `INSERT INTO restore_drills (id, target, started_at, finished_at, ok, file, people, live_people, error)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, d.ID, d.Target, ts(d.StartedAt), ts(d.FinishedAt), d.OK, nullStr(d.File),
			d.People, d.LivePeople, nullStr(d.Error)); err != nil {
			return err
		}
		return s.appendAudit(rec, tx, s.Now(), AuditEntry{ActorID: ActorScheduler, Action: AuditBackupDrill, TargetType: "backup",
			TargetID: d.ID, Details: map[string]any{"ok": d.OK, "file": d.File, "people": d.People, "live_people": d.LivePeople}})
	})
	if err = errors.Join(err, rerr); err != nil {
		return d, fmt.Errorf("store: restore drill: %w", err)
	}
	return d, nil
}

func (s *Store) drill(ctx context.Context, t offsite.Target, d *Drill) error {
	// A drill cut off by a crash left its copy: remove it first (the job's
	// lease means no other drill runs now).
	if stale, err := filepath.Glob(filepath.Join(s.dir, ".drill-*")); err == nil {
		for _, dir := range stale {
			os.RemoveAll(dir)
		}
	}
	root, err := os.MkdirTemp(s.dir, ".drill-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(root)
	data, fetch := filepath.Join(root, "data"), filepath.Join(root, "fetch")
	if err := os.Mkdir(data, 0o700); err != nil {
		return err
	}
	file, err := FetchOffsite(ctx, t, "", fetch)
	if err != nil {
		return fmt.Errorf("fetch: %w", err)
	}
	d.File = filepath.Base(file)
	// The live tombstones go along, so people erased since the backup are
	// erased in the copy too, as a real restore would.
	stones, err := readTombstones(filepath.Join(s.dir, TombstonesFile))
	if err != nil {
		return err
	}
	if _, err := mergeTombstones(data, stones); err != nil {
		return err
	}
	// So is the compliance journal, so its records made after the backup
	// are re-applied as in a real restore. A copy has nothing to compare
	// with: a gap the journal does not cover is accepted there.
	if b, err := os.ReadFile(filepath.Join(s.dir, JournalFile)); err == nil {
		if err := os.WriteFile(filepath.Join(data, JournalFile), b, 0o600); err != nil {
			return err
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if _, err := Restore(ctx, RestoreOptions{Dir: data, MasterKey: s.masterKey, File: file, Clock: s.clock, AcceptLoss: true}); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	c, err := Open(ctx, Options{Dir: data, MasterKey: s.masterKey, Clock: s.clock})
	if err != nil {
		return fmt.Errorf("the restored copy does not open with the master key: %w", err)
	}
	err = func() error {
		defer c.Close()
		if bad, err := c.VerifyAudit(ctx); err != nil {
			return fmt.Errorf("the restored audit log does not verify (first bad entry %d): %w", bad, err)
		}
		if head, anchored, err := c.AuditAnchorStatus(ctx); err != nil {
			return err
		} else if head > anchored {
			return fmt.Errorf("the restored audit head (entry %d) is not anchored in %s (anchor at %d)", head, KeysDBFile, anchored)
		}
		if _, pending, err := c.TombstonesPending(ctx); err != nil {
			return err
		} else if pending > 0 {
			return fmt.Errorf("%d erased people are still in the restored copy", pending)
		}
		if d.People, err = c.countPeople(ctx); err != nil {
			return err
		}
		return nil
	}()
	if err != nil {
		return err
	}
	for _, db := range []string{MainDBFile, KeysDBFile} {
		if _, err := checkDB(ctx, filepath.Join(data, db)); err != nil {
			return fmt.Errorf("%s of the restored copy: %w", db, err)
		}
	}
	if d.LivePeople, err = s.countPeople(ctx); err != nil {
		return err
	}
	if d.People == 0 && d.LivePeople > 0 {
		return fmt.Errorf("the restored copy holds nobody while the live database holds %d people", d.LivePeople)
	}
	return nil
}

func (s *Store) countPeople(ctx context.Context) (int, error) {
	var n int
	if err := s.rdb.QueryRowContext(ctx, "SELECT COUNT(*) FROM users").Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count people: %w", err)
	}
	return n, nil
}

// LastDrill returns the newest restore drill, or a zero Drill.
func (s *Store) LastDrill(ctx context.Context) (Drill, error) {
	var d Drill
	var file, errText sql.NullString
	err := s.rdb.QueryRowContext(ctx, `SELECT id, target, started_at, finished_at, ok, file, people, live_people, error
		FROM restore_drills ORDER BY started_at DESC, id LIMIT 1`).Scan(&d.ID, &d.Target, tsInto(&d.StartedAt), tsInto(&d.FinishedAt), &d.OK, &file,
		&d.People, &d.LivePeople, &errText)
	if errors.Is(err, sql.ErrNoRows) {
		return Drill{}, nil
	}
	if err != nil {
		return d, fmt.Errorf("store: last drill: %w", err)
	}
	d.File, d.Error = file.String, errText.String
	return d, nil
}

// offsiteTables classifies the off-site records for the data map.
func offsiteTables() []table {
	return []table{
		systemTable(DBMain, "offsite_files", "off-site copies of backup files: names, states, checksums, errors",
			"target", "file", "kind", "state", "sha256", "attempts", "error", "stamp", "updated_at", "deleted_at", "delete_error"),
		{db: DBMain, name: "offsite_target", columns: []string{"id", "url", "updated_at", "updated_by"},
			base:     Field{Category: CatSystem, Export: ExportOmit, Erasure: EraseNone, Why: "the off-site backup target chosen on the console (no secrets)"},
			override: map[string]Field{"updated_by": actorField("know who changed where backups are sent")}},
		systemTable(DBMain, "restore_drills", "outcomes of restore drills: counts and errors",
			"id", "target", "started_at", "finished_at", "ok", "file", "people", "live_people", "error"),
	}
}
