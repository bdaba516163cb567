package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"
)

func settingsTables() []table {
	t := systemTable(DBMain, "settings",
		"the operator's settings: the site's name, the controller's and privacy officer's contact details, the supervisory authority, defaults; sealed, as contact details may name people",
		"key", "value", "updated_at", "updated_by")
	t.sealed = []string{"value"}
	// The controller's and privacy officer's contacts are published on the
	// privacy notice, as the law requires; names and addresses of people
	// may be among them, so they are sealed at rest like personal data.
	t.override = map[string]Field{"value": {Category: CatAccount, Personal: true, Basis: BasisLegal,
		Purposes:  []string{"tell people who is responsible for their data and how to reach them"},
		Retention: "until an operator changes the setting", Export: ExportOmit, Erasure: EraseKeep,
		Why: "the operator's published contact details, not data about a learner; operators change them in the settings"}}
	return []table{t, systemTable(DBMain, "settings_revision", "how many times the settings were saved, to refuse a form sent from a stale page",
		"id", "revision")}
}

// Setting keys, as on /console/settings and `kelas settings set`.
const (
	SettingSiteName            = "site_name"
	SettingSiteTagline         = "site_tagline"
	SettingControllerName      = "controller_name"
	SettingControllerAddress   = "controller_address"
	SettingControllerEmail     = "controller_email"
	SettingControllerPhone     = "controller_phone"
	SettingDPOName             = "dpo_name"
	SettingDPOEmail            = "dpo_email"
	SettingAuthorityName       = "authority_name"
	SettingAuthorityURL        = "authority_url"
	SettingMailSenderName      = "mail_sender_name"
	SettingDefaultLanguage     = "default_language"
	SettingDefaultTimezone     = "default_timezone"
	SettingAccentColor         = "accent_color"
	SettingConfidentialityText = "confidentiality_text"
	// SettingLogo holds the logo as re-encoded PNG bytes (not a text
	// setting: set through SaveLogo).
	SettingLogo = "logo"
)

// SettingKeys lists the text settings in the order forms show them.
func SettingKeys() []string {
	return []string{SettingSiteName, SettingSiteTagline, SettingControllerName, SettingControllerAddress, SettingControllerEmail,
		SettingControllerPhone, SettingDPOName, SettingDPOEmail, SettingAuthorityName, SettingAuthorityURL, SettingMailSenderName,
		SettingDefaultLanguage, SettingDefaultTimezone, SettingAccentColor, SettingConfidentialityText}
}

// settingDefaults are the values of a fresh install.
var settingDefaults = map[string]string{
	SettingSiteName:        "kelas",
	SettingSiteTagline:     "Online trainings for small businesses",
	SettingMailSenderName:  "kelas",
	SettingDefaultLanguage: "en",
	SettingDefaultTimezone: "UTC",
	SettingAccentColor:     "#0b5cad",
}

// SettingDefault is the value key has on a fresh install.
func SettingDefault(key string) string { return settingDefaults[key] }

// Settings are the operator's settings: every text setting by key
// (defaults filled in), the logo, and the revision a change must name.
type Settings struct {
	Values   map[string]string
	Logo     []byte // PNG; nil when none was uploaded
	Revision int64
}

// Get is the value of key.
func (st Settings) Get(key string) string { return st.Values[key] }

// ControllerComplete reports whether the controller's identity and contact
// are filled in, which a privacy notice cannot do without.
func (st Settings) ControllerComplete() bool {
	for _, k := range []string{SettingControllerName, SettingControllerAddress, SettingControllerEmail} {
		if st.Values[k] == "" {
			return false
		}
	}
	return true
}

// ErrStaleSettings means the settings were saved by someone else after the
// revision a change was based on.
var ErrStaleSettings = errors.New("store: settings changed meanwhile")

type settingsKey struct{}

// Settings reads the operator's settings; the result is cached until the
// next write.
func (s *Store) Settings(ctx context.Context) (Settings, error) {
	now := s.Now()
	if v, ok := s.cache.get(settingsKey{}, now); ok {
		return cloneSettings(v.(Settings)), nil
	}
	gen := s.cache.generation()
	st := Settings{Values: map[string]string{}}
	for k, v := range settingDefaults {
		st.Values[k] = v
	}
	if err := s.rdb.QueryRowContext(ctx, "SELECT revision FROM settings_revision WHERE id = 1").Scan(&st.Revision); err != nil {
		return st, fmt.Errorf("store: settings: %w", err)
	}
	rows, err := s.rdb.QueryContext(ctx, "SELECT key, value FROM settings")
	if err != nil {
		return st, fmt.Errorf("store: settings: %w", err)
	}
	type row struct {
		key   string
		value []byte
	}
	var sealed []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.key, &r.value); err != nil {
			rows.Close()
			return st, fmt.Errorf("store: settings: %w", err)
		}
		sealed = append(sealed, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return st, fmt.Errorf("store: settings: %w", err)
	}
	if len(sealed) > 0 {
		dk, err := s.systemDataKey(ctx)
		if err != nil {
			return st, fmt.Errorf("store: settings: %w", err)
		}
		for _, r := range sealed {
			v, err := sealer{dk: dk, table: "settings", row: r.key}.open("value", r.value)
			if err != nil {
				return st, fmt.Errorf("store: settings: %w", err)
			}
			if r.key == SettingLogo {
				st.Logo = []byte(v)
			} else {
				st.Values[r.key] = v
			}
		}
	}
	// Kept until this process writes, or for a few seconds at most: `kelas
	// settings set` may change them from another process.
	s.cache.put(gen, settingsKey{}, cacheEntry{v: cloneSettings(st), until: now.Add(5 * time.Second)})
	return st, nil
}

func cloneSettings(st Settings) Settings {
	out := Settings{Values: make(map[string]string, len(st.Values)), Logo: st.Logo, Revision: st.Revision}
	for k, v := range st.Values {
		out.Values[k] = v
	}
	return out
}

// SaveSettings stores changes (key → new value; "" resets a key to its
// default) made from revision, and audits which keys changed (never their
// values). A revision other than the current one is ErrStaleSettings and
// changes nothing. It returns the settings after the change.
func (s *Store) SaveSettings(ctx context.Context, actorID string, revision int64, changes map[string]string) (Settings, error) {
	if err := checkSettingKeys(changes); err != nil {
		return Settings{}, fmt.Errorf("store: save settings: %w", err)
	}
	return s.saveSettings(ctx, actorID, revision, changes, nil)
}

// checkSettingKeys refuses a key that is not a text setting.
func checkSettingKeys(changes map[string]string) error {
	valid := map[string]bool{}
	for _, k := range SettingKeys() {
		valid[k] = true
	}
	for k := range changes {
		if !valid[k] {
			return fmt.Errorf("unknown setting key %q", k)
		}
	}
	return nil
}

// SaveLogo stores the site's logo (PNG bytes; nil removes it), audited.
func (s *Store) SaveLogo(ctx context.Context, actorID string, revision int64, png []byte) (Settings, error) {
	return s.saveSettings(ctx, actorID, revision, nil, &png)
}

func (s *Store) saveSettings(ctx context.Context, actorID string, revision int64, changes map[string]string, logo *[]byte) (Settings, error) {
	cur, err := s.Settings(ctx)
	if err != nil {
		return cur, err
	}
	dk, err := s.systemDataKey(ctx)
	if err != nil {
		return cur, fmt.Errorf("store: save settings: %w", err)
	}
	now := s.Now()
	err = s.tx(ctx, func(tx *sql.Tx) error {
		rev, err := settingsRevision(ctx, tx)
		if err != nil {
			return err
		}
		if rev != revision {
			return ErrStaleSettings
		}
		return s.writeSettings(ctx, tx, dk, cur, rev, actorID, changes, logo, now)
	})
	if errors.Is(err, ErrStaleSettings) {
		return cur, err
	}
	if err != nil {
		return cur, fmt.Errorf("store: save settings: %w", err)
	}
	return s.Settings(ctx)
}

func settingsRevision(ctx context.Context, tx *sql.Tx) (int64, error) {
	var rev int64
	err := tx.QueryRowContext(ctx, "SELECT revision FROM settings_revision WHERE id = 1").Scan(&rev)
	return rev, err
}

// writeSettings stores changes and logo (see saveSettings) inside tx, at
// revision rev: what differs from cur (read just before) is written; when
// anything is, it counts a new revision and audits which keys changed
// (never their values).
func (s *Store) writeSettings(ctx context.Context, tx *sql.Tx, dk []byte, cur Settings, rev int64, actorID string,
	changes map[string]string, logo *[]byte, now time.Time) error {
	put := func(key, value string) error {
		if value == "" {
			_, err := tx.ExecContext(ctx, "DELETE FROM settings WHERE key = ?", key)
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value, updated_at, updated_by) VALUES (?, ?, ?, ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
			key, sealer{dk: dk, table: "settings", row: key}.seal("value", value), ts(now), actorID)
		return err
	}
	var changed []string
	for _, k := range SettingKeys() {
		v, ok := changes[k]
		if !ok {
			continue
		}
		if v == settingDefaults[k] {
			v = ""
		}
		old := cur.Values[k]
		if old == settingDefaults[k] {
			old = ""
		}
		if v == old {
			continue
		}
		if err := put(k, v); err != nil {
			return err
		}
		changed = append(changed, k)
	}
	if logo != nil {
		if err := put(SettingLogo, string(*logo)); err != nil {
			return err
		}
		changed = append(changed, SettingLogo)
	}
	if len(changed) == 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, "UPDATE settings_revision SET revision = revision + 1 WHERE id = 1"); err != nil {
		return err
	}
	return s.appendAudit(ctx, tx, now, AuditEntry{ActorID: actorID, Action: AuditSettingsChange, TargetType: "settings",
		TargetID: strconv.FormatInt(rev+1, 10), Details: map[string]any{"keys": changed}})
}
