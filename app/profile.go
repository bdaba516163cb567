package app

import (
	"context"
	"io"
	"net/http"

	"kelas/i18n"
	"kelas/store"
	"kelas/store/crypt"
	"kelas/views"
)

// profileBodyBytes bounds the profile form's body: far beyond the largest
// picture, so a photo straight from a phone's camera is read past and
// refused at its field, the form kept (only the picture is held in memory,
// and only up to maxPictureBytes). profileFieldBytes bounds the other
// fields together.
const (
	profileBodyBytes  = 16 << 20
	profileFieldBytes = 128 << 10
)

// GET /profile
func (a *App) handleProfileForm(w http.ResponseWriter, r *http.Request) error {
	u := currentUser(r.Context())
	p, err := a.store.Profile(r.Context(), u.ID)
	if err != nil {
		return err
	}
	c, err := a.store.Consents(r.Context(), u.ID)
	if err != nil {
		return err
	}
	vm := views.ProfileForm{
		FirstName: u.FirstName, Surname: u.Surname, Email: u.Email, Country: u.Country, Company: u.Company,
		Industry: u.Industry, Gender: u.Gender, Description: p.Description, AdditionalNames: p.AdditionalNames,
		Interests: p.Interests, IDNumber: p.IDNumber, Institution: p.Institution, Department: p.Department,
		Phone: p.Phone, Mobile: p.Mobile, Address: p.Address, NotifyNew: c.NotifyNew, Feedback: c.Feedback,
		Language: u.Language,
	}
	vm.TimeZone, vm.NameOrder = personZone(u), nameOrder(u)
	if err := a.profileExtras(r, u, &vm, p.Picture != nil); err != nil {
		return err
	}
	return a.render(w, r, http.StatusOK, views.Profile(a.page(r, tr(r, "profile.title")), vm))
}

// profileExtras fills what the form shows beside the person's own values.
func (a *App) profileExtras(r *http.Request, u *store.User, vm *views.ProfileForm, hasPicture bool) error {
	pending, err := a.store.PendingEmail(r.Context(), u.ID)
	if err != nil {
		return err
	}
	vm.PendingEmail = pending
	vm.TwoFactor = u.TwoFactor
	vm.HasPicture = hasPicture
	vm.PictureURL = "/profile/picture"
	vm.Countries, vm.Industries, vm.Genders = countryOptionsIn(r.Context()), industryOptionsIn(r.Context()), genderOptionsIn(r.Context())
	vm.Languages = languageChoices()
	vm.Zones, vm.NameOrders, vm.NamePreview = zoneOptions(r, false, u.TimeZone), nameOrderOptions(r), u.DisplayName()
	return nil
}

// languageChoices offers every language kelas speaks, each named in
// itself.
func languageChoices() []views.OptionGroup {
	var opts []views.Option
	for _, l := range i18n.Languages() {
		opts = append(opts, views.Option{Value: l.Code, Label: l.Name, Lang: l.Code})
	}
	return []views.OptionGroup{{Options: opts}}
}

// POST /profile
func (a *App) handleProfile(w http.ResponseWriter, r *http.Request) error {
	u := currentUser(r.Context())
	f, err := parseUploadForm(r, maxPictureBytes, profileFieldBytes)
	if err != nil {
		return err
	}
	vm := views.ProfileForm{
		FirstName:       f.text("first_name", "form.field.first_name", 1, 100),
		Surname:         f.text("surname", "form.field.surname", 0, 100),
		Email:           f.email("email"),
		Country:         f.choice("country", "form.field.country", store.ValidCountry, true),
		Company:         f.text("company", "form.field.company", 1, 200),
		Industry:        f.choice("industry", "form.field.industry", store.ValidIndustry, true),
		Gender:          f.choice("gender", "form.field.gender", store.ValidGender, false),
		Language:        f.choice("language", "profile.field.language", i18n.Supported, false),
		Description:     f.multiline("description", "profile.field.description", 2000),
		AdditionalNames: f.text("additional_names", "profile.field.additional_names", 0, 200),
		Interests:       f.text("interests", "profile.field.interests", 0, 500),
		IDNumber:        f.text("id_number", "profile.field.id_number", 0, 50),
		Institution:     f.text("institution", "profile.field.institution", 0, 200),
		Department:      f.text("department", "profile.field.department", 0, 200),
		Phone:           f.phone("phone", "profile.field.phone"),
		Mobile:          f.phone("mobile", "profile.field.mobile"),
		Address:         f.multiline("address", "profile.field.address", 500),
		NotifyNew:       f.checkbox("notify_new"),
		Feedback:        f.checkbox("feedback"),
	}
	if vm.Language == "" {
		vm.Language = u.Language // not sent, or refused: the saved one stays
	}
	removePicture := f.checkbox("remove_picture")
	// Time zone and name order: a form without them keeps what is saved.
	vm.TimeZone, vm.NameOrder = f.raw("time_zone"), f.raw("name_order")
	if vm.TimeZone == "" {
		vm.TimeZone = personZone(u)
	} else if !personZoneAllowed(vm.TimeZone, u.TimeZone) {
		f.fail("time_zone", tr(r, "zones.profile.time_zone_error"))
	}
	if vm.NameOrder == "" {
		vm.NameOrder = nameOrder(u)
	} else if !store.ValidNameOrder(vm.NameOrder) {
		f.fail("name_order", tr(r, "names.profile.order_error"))
	}
	prof := store.Profile{Description: vm.Description, AdditionalNames: vm.AdditionalNames, Interests: vm.Interests,
		IDNumber: vm.IDNumber, Institution: vm.Institution, Department: vm.Department, Phone: vm.Phone,
		Mobile: vm.Mobile, Address: vm.Address}
	change := store.PictureKeep
	if removePicture {
		change = store.PictureRemove
	}
	if data, ok := f.file("picture", maxPictureBytes); ok {
		out, ctype, err := a.processPicture(r.Context(), data)
		if err != nil {
			f.fail("picture", messageOf(r, err))
		} else {
			prof.Picture, prof.PictureType, change = out, ctype, store.PictureReplace
		}
	} else if msg := f.Errors["picture"]; msg == "" && f.fileTooLarge {
		f.fail("picture", errPictureTooLarge.Error())
	}
	// A new address is mailed a confirmation link: limited like re-sent
	// links, so an account cannot be used to mail strangers.
	emailChange := f.Errors["email"] == "" && crypt.NormaliseEmail(vm.Email) != crypt.NormaliseEmail(u.Email)
	if blocked, _ := a.limits.mailAccount.blocked(u.ID); emailChange && blocked {
		f.fail("email", tr(r, "profile.error.email_throttled"))
	}
	// A changed address is how an account is taken over (change it, then
	// reset the password): it needs the current password and the second
	// factor, whoever holds the session.
	if emailChange && f.Errors["email"] == "" {
		if blocked, wait := a.limits.loginAccount.blocked("user:" + u.ID); blocked {
			return tooMany(wait)
		}
		current := f.raw("current_password")
		switch ok, err := a.hasher.compare(r.Context(), u.PasswordHash, current); {
		case err != nil:
			return err
		case current == "":
			f.fail("current_password", tr(r, "profile.error.current_empty"))
		case !ok:
			a.limits.loginAccount.hit("user:" + u.ID)
			f.fail("current_password", tr(r, "profile.error.current_wrong"))
		default:
			if _, err := a.stepUp(r.Context(), u, f); err != nil {
				return err
			}
		}
	}
	if !f.Valid() {
		current, err := a.store.Profile(r.Context(), u.ID)
		if err != nil {
			return err
		}
		if err := a.profileExtras(r, u, &vm, current.Picture != nil); err != nil {
			return err
		}
		vm.Errors = f.Errors
		return a.render(w, r, http.StatusUnprocessableEntity, views.Profile(a.page(r, tr(r, "profile.title")), vm))
	}
	details := store.Details{FirstName: vm.FirstName, Surname: vm.Surname, Company: vm.Company, Gender: vm.Gender,
		Country: vm.Country, Industry: vm.Industry}
	if err := a.store.UpdateProfile(r.Context(), u.ID, details, prof, change); err != nil {
		return err
	}
	if err := a.store.SetConsents(r.Context(), u.ID, vm.NotifyNew, vm.Feedback, "profile"); err != nil {
		return err
	}
	if vm.TimeZone != u.TimeZone || vm.NameOrder != u.NameOrder {
		if err := a.store.SetZonePreferences(r.Context(), u.ID, vm.TimeZone, vm.NameOrder); err != nil {
			return err
		}
	}
	// A newly chosen language speaks from the next page on, this
	// message included.
	say := i18n.From(r.Context())
	if vm.Language != "" && vm.Language != u.Language {
		if err := a.store.SetLanguage(r.Context(), u.ID, vm.Language); err != nil {
			return err
		}
		if fromURL, _ := r.Context().Value(ctxLangChosen).(bool); !fromURL {
			say = i18n.NewPrinter(vm.Language, say.Zone, say.Site)
		}
	}
	flash := say.T("profile.flash.saved")
	if emailChange {
		a.limits.mailAccount.hit(u.ID)
		if err := a.mailVerification(r.Context(), *u, vm.Email); err != nil {
			return err
		}
		if err := a.mailEmailChangeNotice(r.Context(), *u); err != nil {
			return err
		}
		flash = say.T("profile.flash.saved_email")
	}
	a.log.Info("profile updated", "user_id", u.ID)
	a.redirect(w, r, "/profile", flash)
	return nil
}

// processPicture re-encodes a picture with at most two running at once:
// decoding and scaling the largest accepted picture takes a large share of a
// core and tens of megabytes.
func (a *App) processPicture(ctx context.Context, data []byte) ([]byte, string, error) {
	select {
	case a.pictureSlots <- struct{}{}:
	case <-ctx.Done():
		return nil, "", ctx.Err()
	}
	defer func() { <-a.pictureSlots }()
	return processPicture(data)
}

// GET /profile/picture
func (a *App) handleProfilePicture(w http.ResponseWriter, r *http.Request) error {
	u := currentUser(r.Context())
	p, err := a.store.Profile(r.Context(), u.ID)
	if err != nil {
		return err
	}
	if p.Picture == nil {
		return store.ErrNotFound
	}
	w.Header().Set("Content-Type", p.PictureType)
	w.Header().Set("Cache-Control", "private, no-store")
	w.Header().Set("Content-Disposition", "inline")
	w.Write(p.Picture)
	return nil
}

// file reads an uploaded file of at most max bytes. ok is false when no file
// was chosen; fileTooLarge is set when it was over max.
func (f *form) file(name string, max int64) (data []byte, ok bool) {
	r := f.r
	if f.files != nil {
		up, sent := f.files[name]
		switch {
		case !sent:
			return nil, false
		case up.parts > 1:
			f.fail(name, tr(r, "form.error.file_one"))
			return nil, false
		case up.tooLarge || int64(len(up.data)) > max:
			f.fileTooLarge = true
			return nil, false
		case len(up.data) == 0:
			f.fail(name, tr(r, "form.error.file_empty"))
			return nil, false
		}
		return up.data, true
	}
	if f.r.MultipartForm == nil {
		return nil, false
	}
	files := f.r.MultipartForm.File[name]
	if len(files) == 0 || (files[0].Size == 0 && files[0].Filename == "") {
		return nil, false
	}
	if len(files) > 1 {
		f.fail(name, tr(r, "form.error.file_one"))
		return nil, false
	}
	if files[0].Size > max {
		f.fileTooLarge = true
		return nil, false
	}
	fh, err := files[0].Open()
	if err != nil {
		f.fail(name, tr(r, "form.error.file_unreadable"))
		return nil, false
	}
	defer fh.Close()
	data, err = io.ReadAll(io.LimitReader(fh, max+1))
	if err != nil || int64(len(data)) > max {
		f.fileTooLarge = err == nil
		if err != nil {
			f.fail(name, tr(r, "form.error.file_unreadable"))
		}
		return nil, false
	}
	if len(data) == 0 {
		f.fail(name, tr(r, "form.error.file_empty"))
		return nil, false
	}
	return data, true
}
