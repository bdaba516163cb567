package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"kelas/i18n"
	"kelas/store"
	"kelas/views"
)

// Limits of the settings form: the logo file, and the body around it.
const (
	maxLogoBytes      = 1 << 20
	settingsBodyBytes = maxLogoBytes + 256<<10
)

// SettingProblem is why a setting's value is refused: a catalogue key and
// its arguments.
type SettingProblem struct {
	Key  string
	Args []any
}

// English is the problem in English, for the command line.
func (p *SettingProblem) English() string { return i18n.Get(i18n.Default).T(p.Key, p.Args...) }

// settingLimits are the longest values, in characters.
var settingLimits = map[string]int{
	store.SettingSiteName: 80, store.SettingSiteTagline: 160, store.SettingControllerName: 200,
	store.SettingControllerAddress: 500, store.SettingControllerEmail: 254, store.SettingControllerPhone: 40,
	store.SettingDPOName: 200, store.SettingDPOEmail: 254, store.SettingAuthorityName: 200, store.SettingAuthorityURL: 500,
	store.SettingMailSenderName: 80, store.SettingDefaultLanguage: 3, store.SettingDefaultTimezone: 64,
	store.SettingAccentColor: 7, store.SettingConfidentialityText: 5000,
}

// multilineSettings may hold line breaks.
var multilineSettings = map[string]bool{store.SettingControllerAddress: true, store.SettingConfidentialityText: true}

// ValidateSetting checks value for the setting key, as the settings page
// and `kelas settings set` both do: it returns the value to store (trimmed,
// line breaks normalised) or why it is refused. An empty value means the
// setting's default, except for the site's name, which is required.
func ValidateSetting(key, value string) (string, *SettingProblem) {
	max, ok := settingLimits[key]
	if !ok {
		return "", &SettingProblem{Key: "settings.problem.unknown", Args: []any{"key", key}}
	}
	if !utf8.ValidString(value) {
		return "", &SettingProblem{Key: "settings.problem.control"}
	}
	value = strings.TrimSpace(strings.ReplaceAll(strings.ReplaceAll(value, "\r\n", "\n"), "\r", "\n"))
	for _, r := range value {
		if r == '\n' && multilineSettings[key] {
			continue
		}
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			if r == '\n' {
				return "", &SettingProblem{Key: "settings.problem.line_break"}
			}
			return "", &SettingProblem{Key: "settings.problem.control"}
		}
	}
	if n := utf8.RuneCountInString(value); n > max {
		return "", &SettingProblem{Key: "settings.problem.too_long", Args: []any{"max", max}}
	}
	if value == "" {
		if key == store.SettingSiteName {
			return "", &SettingProblem{Key: "settings.problem.required"}
		}
		return "", nil
	}
	switch key {
	case store.SettingControllerEmail, store.SettingDPOEmail:
		a, err := mail.ParseAddress(value)
		if err != nil || a.Address != value || a.Name != "" || !strings.Contains(value[strings.LastIndexByte(value, '@')+1:], ".") {
			return "", &SettingProblem{Key: "settings.problem.email"}
		}
	case store.SettingControllerPhone:
		for _, r := range value {
			if !strings.ContainsRune("0123456789 +-()./", r) {
				return "", &SettingProblem{Key: "settings.problem.phone"}
			}
		}
	case store.SettingAuthorityURL:
		u, err := url.Parse(value)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
			return "", &SettingProblem{Key: "settings.problem.url"}
		}
	case store.SettingMailSenderName:
		if strings.ContainsAny(value, "<>\"@,;") {
			return "", &SettingProblem{Key: "settings.problem.sender"}
		}
	case store.SettingDefaultLanguage:
		if !i18n.Supported(value) {
			return "", &SettingProblem{Key: "settings.problem.language"}
		}
	case store.SettingDefaultTimezone:
		if _, err := time.LoadLocation(value); err != nil || value == "Local" {
			return "", &SettingProblem{Key: "settings.problem.timezone"}
		}
	case store.SettingAccentColor:
		c, ok := parseColor(value)
		if !ok {
			return "", &SettingProblem{Key: "settings.problem.color"}
		}
		if r := contrastWithWhite(c); r < 4.5 {
			return "", &SettingProblem{Key: "settings.problem.contrast", Args: []any{"ratio", formatRatio(r)}}
		}
		value = strings.ToLower(value)
	}
	return value, nil
}

// parseColor reads #rrggbb.
func parseColor(s string) ([3]uint8, bool) {
	var c [3]uint8
	if len(s) != 7 || s[0] != '#' {
		return c, false
	}
	for i := range 3 {
		v, err := strconv.ParseUint(s[1+2*i:3+2*i], 16, 8)
		if err != nil {
			return c, false
		}
		c[i] = uint8(v)
	}
	return c, true
}

// contrastWithWhite is the WCAG contrast ratio of c against white, the
// colour of text on accent-coloured buttons and links' underlines; AA asks
// for 4.5 to 1 for normal text.
func contrastWithWhite(c [3]uint8) float64 {
	lin := func(v uint8) float64 {
		s := float64(v) / 255
		if s <= 0.03928 {
			return s / 12.92
		}
		return math.Pow((s+0.055)/1.055, 2.4)
	}
	l := 0.2126*lin(c[0]) + 0.7152*lin(c[1]) + 0.0722*lin(c[2])
	return 1.05 / (l + 0.05)
}

func formatRatio(r float64) string { return strconv.FormatFloat(math.Floor(r*10)/10, 'f', 1, 64) }

// settingsForm is the page's model for st.
func (a *App) settingsForm(st store.Settings) views.SettingsForm {
	f := views.SettingsForm{Values: st.Values, Revision: st.Revision, HasLogo: st.Logo != nil,
		LogoURL: "/logo?v=" + strconv.FormatInt(st.Revision, 10), Errors: views.Errors{}}
	if c, ok := parseColor(st.Get(store.SettingAccentColor)); ok {
		f.Contrast = formatRatio(contrastWithWhite(c))
	}
	return f
}

// GET /console/settings
func (a *App) handleSettings(w http.ResponseWriter, r *http.Request) error {
	st, err := a.store.Settings(r.Context())
	if err != nil {
		return err
	}
	return a.render(w, r, http.StatusOK, views.Settings(a.page(r, tr(r, "settings.title")), a.settingsForm(st)))
}

// POST /console/settings
func (a *App) handleSettingsSave(w http.ResponseWriter, r *http.Request) error {
	u := currentUser(r.Context())
	f, err := parseMultipart(r, settingsBodyBytes)
	if err != nil {
		return err
	}
	revision, err := strconv.ParseInt(f.raw("revision"), 10, 64)
	if err != nil || revision < 0 {
		return errBadRequest
	}
	sent := map[string]string{}
	changes := map[string]string{}
	for _, k := range store.SettingKeys() {
		raw := f.raw(k)
		sent[k] = raw
		v, problem := ValidateSetting(k, raw)
		if problem != nil {
			f.fail(k, tr(r, problem.Key, problem.Args...))
			continue
		}
		changes[k] = v
	}
	removeLogo := f.checkbox("remove_logo")
	var logo []byte
	if data, ok := f.file("logo", maxLogoBytes); ok {
		out, err := a.processLogo(r.Context(), data)
		if err != nil {
			f.fail("logo", tr(r, "settings.problem.logo_format"))
		} else {
			logo = out
		}
	} else if f.Errors["logo"] == "" && f.fileTooLarge {
		f.fail("logo", tr(r, "settings.problem.logo_too_large"))
	}
	cur, err := a.store.Settings(r.Context())
	if err != nil {
		return err
	}
	if !f.Valid() {
		vm := a.settingsForm(cur)
		vm.Values, vm.Revision, vm.Errors = sent, revision, f.Errors
		return a.render(w, r, http.StatusUnprocessableEntity, views.Settings(a.page(r, tr(r, "settings.title")), vm))
	}
	st, err := a.store.SaveSettings(r.Context(), u.ID, revision, changes)
	if err == nil && (logo != nil || removeLogo) {
		_, err = a.store.SaveLogo(r.Context(), u.ID, st.Revision, logo)
	}
	if errors.Is(err, store.ErrStaleSettings) {
		// Someone saved meanwhile: show what is stored now, with this
		// operator's own values beside the fields that differ, and save
		// nothing, so neither change is lost without a person deciding.
		vm := a.settingsForm(cur)
		vm.Theirs = map[string]string{}
		for k, v := range changes {
			if v != cur.Values[k] && !(v == "" && cur.Values[k] == store.SettingDefault(k)) {
				vm.Theirs[k] = sent[k]
			}
		}
		vm.Errors["_form"] = tr(r, "settings.conflict")
		return a.render(w, r, http.StatusConflict, views.Settings(a.page(r, tr(r, "settings.title")), vm))
	}
	if err != nil {
		return err
	}
	a.redirect(w, r, "/console/settings", tr(r, "settings.saved"))
	return nil
}

// processLogo re-encodes an uploaded logo from its pixels (PNG or JPEG,
// no SVG), through the same checks as profile pictures: the format by its
// content, the canvas size before decoding.
func (a *App) processLogo(ctx context.Context, data []byte) ([]byte, error) {
	if !bytes.HasPrefix(data, jpegMagic) && !bytes.HasPrefix(data, pngMagic) {
		return nil, errPictureFormat
	}
	out, _, err := a.processPicture(ctx, data)
	if err != nil {
		return nil, fmt.Errorf("logo: %w", err)
	}
	return out, nil
}

// GET /logo
func (a *App) handleLogo(w http.ResponseWriter, r *http.Request) error {
	st, err := a.store.Settings(r.Context())
	if err != nil {
		return err
	}
	if st.Logo == nil {
		return errNotFound
	}
	ctype := "image/png"
	if bytes.HasPrefix(st.Logo, jpegMagic) {
		ctype = "image/jpeg"
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Cache-Control", "public, max-age=86400")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Write(st.Logo)
	return nil
}

// siteSettings are the operator's settings, or the defaults when they
// cannot be read (logged, unless the request ended meanwhile).
func (a *App) siteSettings(ctx context.Context) store.Settings {
	st, err := a.store.Settings(ctx)
	if err != nil {
		if ctx.Err() == nil {
			// A request that ended meanwhile is not a fault of ours.
			a.log.Error("settings unreadable", "err", err)
		}
		return store.Settings{Values: map[string]string{store.SettingSiteName: "kelas", store.SettingDefaultLanguage: i18n.Default,
			store.SettingDefaultTimezone: "UTC"}}
	}
	return st
}
