package store

import (
	"regexp"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/text/collate"
	"golang.org/x/text/language"
)

func TestCountries(t *testing.T) {
	cs := Countries()
	require.Len(t, cs, 249, "every officially assigned ISO 3166-1 alpha-2 code")

	twoUpper := regexp.MustCompile(`^[A-Z]{2}$`)
	codes := map[string]bool{}
	names := map[string]bool{}
	for _, c := range cs {
		assert.Regexp(t, twoUpper, c.Code)
		assert.NotEmpty(t, c.Name, c.Code)
		assert.False(t, codes[c.Code], "duplicate code %s", c.Code)
		assert.False(t, names[c.Name], "duplicate name %s", c.Name)
		codes[c.Code], names[c.Name] = true, true
	}

	asean := []string{"BN", "KH", "ID", "LA", "MY", "MM", "PH", "SG", "TH", "VN"}
	assert.Equal(t, asean, ASEANCountries())
	first := make([]string, 10)
	for i, c := range cs[:10] {
		first[i] = c.Code
	}
	assert.Equal(t, asean, first, "the ASEAN members come first")

	// Both blocks read alphabetically to a person, so compare as English
	// collation does (accents are secondary: "Åland" files under A).
	col := collate.New(language.English)
	byName := func(a, b Country) int { return col.CompareString(a.Name, b.Name) }
	assert.True(t, slices.IsSortedFunc(cs[:10], byName), "ASEAN members sorted by name")
	assert.True(t, slices.IsSortedFunc(cs[10:], byName), "other countries sorted by name")
	for _, c := range cs[10:] {
		assert.NotContains(t, asean, c.Code, "ASEAN members appear once")
	}
}

func TestCountryLookups(t *testing.T) {
	tests := []struct {
		code  string
		valid bool
		name  string
	}{
		{"SG", true, "Singapore"},
		{"VN", true, "Viet Nam"},
		{"MY", true, "Malaysia"},
		{"AX", true, "Åland Islands"},
		{"ZW", true, "Zimbabwe"},
		{"GB", true, "United Kingdom"},
		{"XX", false, ""},
		{"UK", false, ""}, // reserved, not assigned
		{"XK", false, ""}, // user-assigned, not ISO
		{"sg", false, ""},
		{"Sg", false, ""},
		{" SG", false, ""},
		{"SGP", false, ""},
		{"", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			assert.Equal(t, tt.valid, ValidCountry(tt.code))
			assert.Equal(t, tt.name, CountryName(tt.code))
		})
	}
}

func TestCountriesReturnFreshSlices(t *testing.T) {
	a := Countries()
	a[0] = Country{"XX", "Nowhere"}
	assert.Equal(t, "BN", Countries()[0].Code)
	assert.False(t, ValidCountry("XX"))

	asean := ASEANCountries()
	asean[0] = "XX"
	assert.Equal(t, "BN", ASEANCountries()[0])

	in := Industries()
	in[0].Name = "changed"
	assert.Equal(t, "Agriculture, forestry and fishing", IndustryName("A"))

	g := Genders()
	g[0].Code = "changed"
	assert.True(t, ValidGender("female"))
	assert.False(t, ValidGender("changed"))
}

func TestIndustries(t *testing.T) {
	ins := Industries()
	require.Len(t, ins, 21, "ISIC Rev.4 sections A to U")
	for i, in := range ins {
		assert.Equal(t, string(rune('A'+i)), in.Code)
		assert.NotEmpty(t, in.Name)
		assert.True(t, ValidIndustry(in.Code))
		assert.Equal(t, in.Name, IndustryName(in.Code))
	}
	assert.Equal(t, "Manufacturing", IndustryName("C"))
	assert.Equal(t, "Activities of extraterritorial organizations and bodies", IndustryName("U"))
	for _, code := range []string{"", "a", "c", "V", "AB", "manufacturing", "01"} {
		assert.False(t, ValidIndustry(code), code)
		assert.Empty(t, IndustryName(code), code)
	}
}

func TestGenders(t *testing.T) {
	assert.Equal(t, []Gender{
		{"female", "Female"},
		{"male", "Male"},
		{"other", "Another gender"},
		{"undisclosed", "Prefer not to say"},
	}, Genders())
	for _, g := range Genders() {
		assert.True(t, ValidGender(g.Code), g.Code)
	}
	// Empty means "not given": the caller decides that, it is not an answer.
	for _, code := range []string{"", "Female", "f", "MALE", "x"} {
		assert.False(t, ValidGender(code), code)
	}
}
