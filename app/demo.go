package app

import (
	"context"
	"fmt"
	"time"

	"kelas/store"
)

// seedDemo adds a few realistic trainings, with materials, a quiz and a
// live training with sessions, so a newcomer sees a living portal. It does
// nothing when any training exists.
func (a *App) seedDemo(ctx context.Context) error {
	existing, err := a.store.Trainings(ctx, store.CatalogueFilter{IncludeUnpublished: true})
	if err != nil || len(existing) > 0 {
		return err
	}
	member := func(name string) (string, error) {
		m, err := a.store.MemberByName(ctx, name)
		if err != nil {
			return "", fmt.Errorf("demo member %q: %w", name, err)
		}
		return m.ID, nil
	}
	smecorp, err := member("SME Corporation Malaysia")
	if err != nil {
		return err
	}
	dti, err := member("Department of Trade and Industry")
	if err != nil {
		return err
	}
	smesco, err := member("SMESCO Indonesia")
	if err != nil {
		return err
	}

	t1, err := a.store.CreateTraining(ctx, smecorp, "", store.TrainingInput{
		Title: "Digital marketing basics for small businesses", Language: "en", Country: "MY", Kind: store.KindSelfStudy,
		Summary:  "Reach customers online on a small budget: a clear offer, a simple website, social media that works and measuring what matters.",
		PassMark: 70, Published: true})
	if err != nil {
		return err
	}
	pages := []store.MaterialInput{
		{Kind: store.MaterialPage, Title: "Know your customer", Required: true, BodyMD: "## Who buys from you?\n\n" +
			"Write down three kinds of customers and what each needs from you. A good offer answers one need very well.\n\n" +
			"| Customer | Need | Your answer |\n|---|---|---|\n| Office workers | Quick lunch | Pre-ordered rice boxes |\n| Students | Low price | Student set menu |\n"},
		{Kind: store.MaterialPage, Title: "A website in one afternoon", Required: true, BodyMD: "A one-page site is enough to start:\n\n" +
			"1. What you sell, in one sentence\n2. Prices or a price range\n3. How to order or visit, with opening hours\n4. Photos of real products\n\n" +
			"Keep the page fast: small images, no pop-ups."},
		{Kind: store.MaterialLink, Title: "Further reading: marketing checklists", URL: "https://www.smecorp.gov.my/", Required: false},
	}
	for _, m := range pages {
		if _, err := a.store.AddMaterial(ctx, t1.ID, "", m); err != nil {
			return err
		}
	}
	checklist := []byte("Weekly marketing checklist\n\n[ ] Post twice on your main social channel\n[ ] Answer every message within a day\n" +
		"[ ] Ask two happy customers for a review\n[ ] Check which post brought the most orders\n")
	fileID := store.NewID()
	sum, err := a.saveMaterialFile(fileID, checklist)
	if err != nil {
		return err
	}
	if _, err := a.store.AddMaterial(ctx, t1.ID, fileID, store.MaterialInput{Kind: store.MaterialFile, Title: "Weekly checklist (text file)",
		FileName: "weekly-checklist.txt", FileType: "text/plain; charset=utf-8", FileSize: int64(len(checklist)), FileHash: sum, Required: true}); err != nil {
		return err
	}
	quiz := []struct {
		prompt  string
		choices []string
	}{
		{"What should a one-page website say first?", []string{"What you sell, in one sentence", "The history of the company", "A list of every product"}},
		{"How quickly should you answer customer messages?", []string{"Within a day", "Within a month", "Only when there is time"}},
		{"What tells you which post worked best?", []string{"The orders it brought", "The number of hashtags", "The length of the text"}},
	}
	for _, q := range quiz {
		var cs []store.Choice
		for i, c := range q.choices {
			cs = append(cs, store.Choice{Label: c, Correct: i == 0})
		}
		if _, err := a.store.AddQuestion(ctx, t1.ID, q.prompt, cs); err != nil {
			return err
		}
	}

	t2, err := a.store.CreateTraining(ctx, dti, "", store.TrainingInput{
		Title: "Export readiness: documents and logistics", Language: "en", Kind: store.KindSelfStudy,
		Summary:  "The documents, incoterms and logistics choices a first-time exporter in the region needs, with worked examples.",
		PassMark: 60, Published: true})
	if err != nil {
		return err
	}
	if _, err := a.store.AddMaterial(ctx, t2.ID, "", store.MaterialInput{Kind: store.MaterialPage, Title: "The export document set", Required: true,
		BodyMD: "Most shipments need:\n\n- a commercial invoice\n- a packing list\n- a certificate of origin (for preferential tariffs under ATIGA)\n- a bill of lading or air waybill\n"}); err != nil {
		return err
	}
	if _, err := a.store.AddMaterial(ctx, t2.ID, "", store.MaterialInput{Kind: store.MaterialVideo, Title: "Video: choosing an incoterm",
		URL: "https://www.youtube.com/results?search_query=incoterms+explained", Required: false}); err != nil {
		return err
	}
	if _, err := a.store.AddQuestion(ctx, t2.ID, "Which document proves where goods were made?", []store.Choice{
		{Label: "Certificate of origin", Correct: true}, {Label: "Packing list"}, {Label: "Commercial invoice"}}); err != nil {
		return err
	}

	t3, err := a.store.CreateTraining(ctx, smesco, "", store.TrainingInput{
		Title: "Klinik pembukuan UMKM (live)", Language: "id", Country: "ID", Kind: store.KindLive,
		Summary: "Two evening sessions on simple bookkeeping for micro and small enterprises: cash book, stock and monthly profit.",
		Place:   "SMESCO Indonesia, Jakarta, and online", JoinURL: "https://meet.example.org/pembukuan", PassMark: 70, Published: true})
	if err != nil {
		return err
	}
	first := a.clock().UTC().Truncate(24*time.Hour).AddDate(0, 0, 14).Add(11 * time.Hour)
	for i := range 2 {
		start := first.AddDate(0, 0, 7*i)
		if _, err := a.store.AddSessionIn(ctx, t3.ID, start, start.Add(2*time.Hour), "Asia/Jakarta"); err != nil {
			return err
		}
	}
	a.log.Info("demo trainings added", "count", 3)
	return nil
}
