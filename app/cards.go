package app

import (
	"errors"
	"net/http"
	"strconv"

	"kelas/store"
	"kelas/views"
)

// Cards on the home page: the newest trainings and the most followed, so
// many of each.
const homeCards = 6

// trainingBodyBytes bounds the training details form: its fields and a
// cover picture.
const trainingBodyBytes = maxPictureBytes + 256<<10

// coverURL is the address of a training's cover, versioned by its upload
// time so that a replaced cover is not taken from a cache.
func coverURL(id string, at int64) string {
	return "/trainings/" + id + "/cover?v=" + strconv.FormatInt(at, 10)
}

// readCover takes the cover picture of the training details form, if one
// was sent, re-encoded from its pixels as profile pictures are: a refused
// file is an error at the field (the form is shown again).
func (a *App) readCover(f *form) (image []byte, contentType string) {
	data, ok := f.file("cover", maxPictureBytes)
	if !ok {
		if f.Errors["cover"] == "" && f.fileTooLarge {
			f.fail("cover", messageOf(f.r, errPictureTooLarge))
		}
		return nil, ""
	}
	out, ctype, err := a.processPicture(f.r.Context(), data)
	if err != nil {
		f.fail("cover", messageOf(f.r, err))
		return nil, ""
	}
	return out, ctype
}

// saveCover applies the cover part of the training details form.
func (a *App) saveCover(r *http.Request, t store.Training, image []byte, contentType string, remove bool) error {
	switch {
	case image != nil:
		return a.store.SetTrainingCover(r.Context(), t.ID, image, contentType)
	case remove:
		return a.store.RemoveTrainingCover(r.Context(), t.ID)
	}
	return nil
}

// coverForm fills the cover part of the training details form.
func (a *App) coverForm(r *http.Request, t store.Training, f *views.TrainingForm) error {
	f.CoverField = true
	c, err := a.store.TrainingCover(r.Context(), t.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil
	case err != nil:
		return err
	}
	f.CoverURL = coverURL(t.ID, c.UpdatedAt.Unix())
	return nil
}

// GET /trainings/{id}/cover
//
// Whoever may see a training may see its cover. Covers of the catalogue's
// trainings are public and cached like the logo; a draft's is not cached.
func (a *App) handleTrainingCover(w http.ResponseWriter, r *http.Request) error {
	t, _, err := a.trainingFor(r)
	if err != nil {
		return err
	}
	c, err := a.store.TrainingCover(r.Context(), t.ID)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", c.ContentType)
	if t.Published && t.MemberActive && !t.Archived() {
		w.Header().Set("Cache-Control", "public, max-age=86400")
	} else {
		w.Header().Set("Cache-Control", "private, no-store")
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Write(c.Image)
	return nil
}

// homeView is the home page's lists of trainings.
func (a *App) homeView(r *http.Request) (views.HomeView, error) {
	var v views.HomeView
	var err error
	if v.Newest, err = a.store.NewestCards(r.Context(), homeCards); err != nil {
		return v, err
	}
	if v.Popular, err = a.store.MostFollowedCards(r.Context(), homeCards); err != nil {
		return v, err
	}
	return v, nil
}

// outline is what a training holds, shown before enrolling: the titles of
// its materials and the size of its quiz, never their content.
func (a *App) outline(r *http.Request, t store.Training, v *views.TrainingView) error {
	mats, err := a.store.StudyMaterials(r.Context(), t.ID)
	if err != nil {
		return err
	}
	for _, m := range mats {
		v.Outline = append(v.Outline, views.OutlineItem{Title: m.Title, Kind: m.Kind})
	}
	quiz, err := a.store.Quiz(r.Context(), t.ID)
	if err != nil {
		return err
	}
	v.OutlineQuiz = len(quiz)
	v.ShowOutline = true
	return nil
}
