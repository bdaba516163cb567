package views

import (
	"testing"

	"kelas/i18n"
	"kelas/store"
)

// TestLearningCodesHaveMessages: every code the learning, reports and
// operations pages name through a built key has its message in English.
func TestLearningCodesHaveMessages(t *testing.T) {
	en := i18n.Get(i18n.Default)
	check := func(prefix string, codes []string) {
		t.Helper()
		if len(codes) == 0 {
			t.Errorf("%s: no codes", prefix)
		}
		for _, c := range codes {
			if !en.Has(prefix + c) {
				t.Errorf("no message %s%s", prefix, c)
			}
		}
	}
	check("trainings.material_kind.", MaterialKinds)
	check("activity.action.", ActivityActions)
	check("activity.object.", ActivityObjects)
	var industries []string
	for _, in := range store.Industries() {
		industries = append(industries, in.Code)
	}
	check("reports.industry.", industries)
	check("operations.retention.category.", store.RetentionCategories())
	check("operations.backup.kind.", BackupKinds)
	check("operations.backup.origin.", BackupOrigins)
	check("operations.offsite.state.", OffsiteStates)
}

// TestRetentionTextsMatchTheStore: in English, the console names each
// retention category and states each rule exactly as the store does.
func TestRetentionTextsMatchTheStore(t *testing.T) {
	ctx := i18n.With(t.Context(), i18n.NewPrinter(i18n.Default, nil, "kelas"))
	for _, c := range store.RetentionCategories() {
		if got, want := RetentionLabel(ctx, c), store.RetentionLabel(c); got != want {
			t.Errorf("%s: label %q, store %q", c, got, want)
		}
		for _, keep := range []int{1, 7, 365} {
			r := store.RetentionRule{Category: c, Keep: keep}
			if got, want := RetentionRuleText(ctx, r), r.Describe(); got != want {
				t.Errorf("%s, %d: rule %q, store %q", c, keep, got, want)
			}
		}
	}
}

// TestIndustryNamesMatchTheStore: in English, industries read as the
// store's ISIC titles.
func TestIndustryNamesMatchTheStore(t *testing.T) {
	p := i18n.NewPrinter(i18n.Default, nil, "kelas")
	for _, in := range store.Industries() {
		if got := IndustryName(p, in.Code); got != in.Name {
			t.Errorf("%s: %q, store %q", in.Code, got, in.Name)
		}
	}
	if got := IndustryName(p, "ZZ"); got != "" {
		t.Errorf("unknown code named %q", got)
	}
}
