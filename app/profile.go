package app

import (
	"context"
	"io"
	"net/http"

	"kelas/store"
	"kelas/store/crypt"
	"kelas/views"
)

// profileBodyBytes bounds the profile form: the largest picture plus room
// for the other fields.
const profileBodyBytes = maxPictureBytes + 128<<10

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
	}
	vm.TimeZone, vm.NameOrder = personZone(u), nameOrder(u)
	if err := a.profileExtras(r, u, &vm, p.Picture != nil); err != nil {
		return err
	}
	return a.render(w, r, http.StatusOK, views.Profile(a.page(r, "Your profile"), vm))
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
	vm.Countries, vm.Industries, vm.Genders = countryOptions(), industryOptions(), genderOptions()
	vm.Zones, vm.NameOrders, vm.NamePreview = zoneOptions(r, false, u.TimeZone), nameOrderOptions(r), u.DisplayName()
	return nil
}

// POST /profile
func (a *App) handleProfile(w http.ResponseWriter, r *http.Request) error {
	u := currentUser(r.Context())
	f, err := parseMultipart(r, profileBodyBytes)
	if err != nil {
		return err
	}
	vm := views.ProfileForm{
		FirstName:       f.text("first_name", "First name", 1, 100),
		Surname:         f.text("surname", "Surname", 0, 100),
		Email:           f.email("email"),
		Country:         f.choice("country", "country of residence", store.ValidCountry, true),
		Company:         f.text("company", "Company name", 1, 200),
		Industry:        f.choice("industry", "industry", store.ValidIndustry, true),
		Gender:          f.choice("gender", "gender", store.ValidGender, false),
		Description:     f.multiline("description", "About you", 2000),
		AdditionalNames: f.text("additional_names", "Additional names", 0, 200),
		Interests:       f.text("interests", "Interests", 0, 500),
		IDNumber:        f.text("id_number", "ID number", 0, 50),
		Institution:     f.text("institution", "Institution", 0, 200),
		Department:      f.text("department", "Department", 0, 200),
		Phone:           f.phone("phone", "Phone"),
		Mobile:          f.phone("mobile", "Mobile phone"),
		Address:         f.multiline("address", "Address", 500),
		NotifyNew:       f.checkbox("notify_new"),
		Feedback:        f.checkbox("feedback"),
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
		f.fail("email", "We have sent several confirmation links in the last hour. Please wait before changing your address again.")
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
			f.fail("current_password", "Enter your current password to change your email address.")
		case !ok:
			a.limits.loginAccount.hit("user:" + u.ID)
			f.fail("current_password", "That is not your current password.")
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
		return a.render(w, r, http.StatusUnprocessableEntity, views.Profile(a.page(r, "Your profile"), vm))
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
	flash := "Your profile is saved."
	if emailChange {
		a.limits.mailAccount.hit(u.ID)
		if err := a.mailVerification(r.Context(), *u, vm.Email); err != nil {
			return err
		}
		if err := a.mailEmailChangeNotice(r.Context(), *u); err != nil {
			return err
		}
		flash += " We have sent a confirmation link to your new address; your email changes when you open it."
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
	if f.r.MultipartForm == nil {
		return nil, false
	}
	files := f.r.MultipartForm.File[name]
	if len(files) == 0 || (files[0].Size == 0 && files[0].Filename == "") {
		return nil, false
	}
	if len(files) > 1 {
		f.fail(name, "Choose one file only.")
		return nil, false
	}
	if files[0].Size > max {
		f.fileTooLarge = true
		return nil, false
	}
	fh, err := files[0].Open()
	if err != nil {
		f.fail(name, "The file could not be read. Please try again.")
		return nil, false
	}
	defer fh.Close()
	data, err = io.ReadAll(io.LimitReader(fh, max+1))
	if err != nil || int64(len(data)) > max {
		f.fileTooLarge = err == nil
		if err != nil {
			f.fail(name, "The file could not be read. Please try again.")
		}
		return nil, false
	}
	if len(data) == 0 {
		f.fail(name, "The file is empty.")
		return nil, false
	}
	return data, true
}
