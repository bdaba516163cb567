package store

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEveryAcceptedZoneLoads(t *testing.T) {
	for _, z := range AllZones() {
		_, err := time.LoadLocation(z.Name)
		require.NoError(t, err, z.Name)
		assert.True(t, ValidZone(z.Name), z.Name)
	}
	for _, bad := range []string{"", "Local", "Asia/Nowhere", "../etc/passwd", "asia/jakarta"} {
		assert.False(t, ValidZone(bad), bad)
		assert.Nil(t, LoadZone(bad), bad)
	}
}

func TestDefaultZoneOfEveryASEANCountry(t *testing.T) {
	for _, c := range ASEANCountries() {
		z := DefaultZone(c)
		assert.NotEqual(t, ZoneUTC, z, c)
		assert.True(t, ValidZone(z), c)
	}
	assert.Equal(t, "Asia/Jakarta", DefaultZone("ID"))
	assert.Equal(t, ZoneUTC, DefaultZone("DE"))
	assert.Equal(t, ZoneUTC, DefaultZone(""))
	var indonesia []string
	for _, z := range RegionZones() {
		if z.Country == "ID" {
			indonesia = append(indonesia, z.Name)
		}
	}
	assert.Equal(t, []string{"Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura"}, indonesia)
}

func TestJoinName(t *testing.T) {
	tests := []struct{ given, family, order, want string }{
		{"Siti", "Rahma", NameGivenFirst, "Siti Rahma"},
		{"Siti", "Rahma", NameFamilyFirst, "Rahma Siti"},
		{"Aung", "", NameGivenFirst, "Aung"},
		{"Aung", "", NameFamilyFirst, "Aung"},
		{" Minh ", " Nguyen ", NameFamilyFirst, "Nguyen Minh"},
		{"Siti", "Rahma", "", "Siti Rahma"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, JoinName(tt.given, tt.family, tt.order), "%+v", tt)
	}
}

func TestZonePreferencesRoundTrip(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	nu := newUser("zone")
	nu.Surname, nu.TimeZone, nu.NameOrder = "", "Asia/Makassar", NameFamilyFirst
	u := createUser(t, s, nu)
	assert.Equal(t, "Asia/Makassar", u.TimeZone)
	assert.Equal(t, NameFamilyFirst, u.NameOrder)
	assert.Equal(t, "", u.Surname)

	require.NoError(t, s.SetZonePreferences(ctx, u.ID, "Asia/Jayapura", NameGivenFirst))
	got, err := s.User(ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, "Asia/Jayapura", got.TimeZone)
	assert.Equal(t, NameGivenFirst, got.NameOrder)

	require.Error(t, s.SetZonePreferences(ctx, u.ID, "Mars/Olympus", NameGivenFirst))
	require.Error(t, s.SetZonePreferences(ctx, u.ID, "UTC", "surname_first"))
	require.ErrorIs(t, s.SetZonePreferences(ctx, NewID(), "UTC", NameGivenFirst), ErrNotFound)
}

func TestSessionKeepsOrganiserZone(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	_, err := s.SeedMembers(ctx)
	require.NoError(t, err)
	var member string
	require.NoError(t, s.rdb.QueryRowContext(ctx, "SELECT id FROM members LIMIT 1").Scan(&member))
	tr, err := s.CreateTraining(ctx, member, "", TrainingInput{Title: "Live", Summary: "s", Language: "en", Kind: KindLive, PassMark: 70})
	require.NoError(t, err)
	berlin, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	start := time.Date(2026, 7, 1, 19, 0, 0, 0, berlin)
	_, err = s.AddSessionIn(ctx, tr.ID, start, start.Add(2*time.Hour), "Europe/Berlin")
	require.NoError(t, err)
	_, err = s.AddSessionIn(ctx, tr.ID, start, start.Add(time.Hour), "Mars/Olympus")
	require.Error(t, err)
	ss, err := s.TrainingSessions(ctx, tr.ID)
	require.NoError(t, err)
	require.Len(t, ss, 1)
	assert.Equal(t, "Europe/Berlin", ss[0].Zone)
	assert.Equal(t, time.Date(2026, 7, 1, 17, 0, 0, 0, time.UTC), ss[0].StartsAt)
}

func TestCatalogueListsFirstLanguageFirst(t *testing.T) {
	ctx := context.Background()
	clock := newTestClock()
	s := openTestStore(t, t.TempDir(), newMasterKey(t), clock.Now)
	_, err := s.SeedMembers(ctx)
	require.NoError(t, err)
	var member string
	require.NoError(t, s.rdb.QueryRowContext(ctx, "SELECT id FROM members LIMIT 1").Scan(&member))
	var ids []string
	for _, lang := range []string{"th", "en", "th", "vi"} {
		clock.Advance(time.Minute)
		tr, err := s.CreateTraining(ctx, member, "", TrainingInput{Title: "T " + lang, Summary: "s", Language: lang,
			Kind: KindSelfStudy, PassMark: 70, Published: true})
		require.NoError(t, err)
		ids = append(ids, tr.ID)
	}
	order := func(f CatalogueFilter) []string {
		ts, err := s.Trainings(ctx, f)
		require.NoError(t, err)
		var out []string
		for _, t := range ts {
			out = append(out, t.ID)
		}
		return out
	}
	assert.Equal(t, []string{ids[3], ids[2], ids[1], ids[0]}, order(CatalogueFilter{}), "newest first")
	assert.Equal(t, []string{ids[2], ids[0], ids[3], ids[1]}, order(CatalogueFilter{FirstLanguage: "th"}))
	assert.Equal(t, []string{ids[2], ids[0]}, order(CatalogueFilter{FirstLanguage: "en", Language: "th"}), "the filter still applies")
}
