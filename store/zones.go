package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Zone is a time zone people may choose: an IANA name and the country it
// belongs to ("" for UTC and zones outside the region).
type Zone struct{ Name, Country string }

// ZoneUTC is the zone of people who have not chosen one, and of sessions
// whose organiser had none.
const ZoneUTC = "UTC"

// regionZones are the zones of the ten ASEAN countries, in the order of
// ASEANCountries; a country's first zone is its default. Indonesia has
// three (WIB, WITA, WIT).
var regionZones = []Zone{
	{"Asia/Brunei", "BN"}, {"Asia/Phnom_Penh", "KH"},
	{"Asia/Jakarta", "ID"}, {"Asia/Makassar", "ID"}, {"Asia/Jayapura", "ID"},
	{"Asia/Vientiane", "LA"}, {"Asia/Kuala_Lumpur", "MY"}, {"Asia/Yangon", "MM"},
	{"Asia/Manila", "PH"}, {"Asia/Singapore", "SG"}, {"Asia/Bangkok", "TH"}, {"Asia/Ho_Chi_Minh", "VN"},
}

// otherZones are zones outside the region an organiser may hold a session
// in (a trainer abroad); people choose their own from the region's.
var otherZones = []Zone{
	{"Asia/Tokyo", ""}, {"Asia/Shanghai", ""}, {"Asia/Kolkata", ""}, {"Australia/Sydney", ""},
	{"Europe/Berlin", ""}, {"Europe/London", ""}, {"America/New_York", ""},
}

// RegionZones lists the zones of the region, then UTC: what a person
// chooses from.
func RegionZones() []Zone { return append(append([]Zone(nil), regionZones...), Zone{Name: ZoneUTC}) }

// OtherZones lists the zones outside the region a session may be held in.
func OtherZones() []Zone { return append([]Zone(nil), otherZones...) }

// AllZones lists every zone kelas accepts.
func AllZones() []Zone { return append(RegionZones(), otherZones...) }

// ValidZone reports whether name is one of the accepted zones and is known
// to the time zone database.
func ValidZone(name string) bool {
	for _, z := range AllZones() {
		if z.Name == name {
			_, err := time.LoadLocation(name)
			return err == nil
		}
	}
	return false
}

// DefaultZone is the zone a person from country gets until they choose:
// the country's first zone, UTC outside the region.
func DefaultZone(country string) string {
	for _, z := range regionZones {
		if z.Country == country {
			return z.Name
		}
	}
	return ZoneUTC
}

// LoadZone is the location of an accepted zone name; nil for "" or a name
// that is not accepted.
func LoadZone(name string) *time.Location {
	if name == "" || !ValidZone(name) {
		return nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil
	}
	return loc
}

// How a person's name is written.
const (
	NameGivenFirst  = "given_first"
	NameFamilyFirst = "family_first"
)

// ValidNameOrder reports whether v is one of the name orders.
func ValidNameOrder(v string) bool { return v == NameGivenFirst || v == NameFamilyFirst }

// JoinName writes a given and a family name in order; either may be empty
// (many people have one name).
func JoinName(given, family, order string) string {
	if order == NameFamilyFirst {
		return strings.TrimSpace(strings.TrimSpace(family) + " " + strings.TrimSpace(given))
	}
	return strings.TrimSpace(strings.TrimSpace(given) + " " + strings.TrimSpace(family))
}

// DisplayName is the person's name as they chose to have it written: on
// certificates, in the console and wherever kelas names them.
func (u User) DisplayName() string { return JoinName(u.FirstName, u.Surname, u.NameOrder) }

// SetZonePreferences saves the person's time zone and name order.
func (s *Store) SetZonePreferences(ctx context.Context, userID, zone, nameOrder string) error {
	if !ValidZone(zone) || !ValidNameOrder(nameOrder) {
		return fmt.Errorf("store: set zone preferences: invalid zone %q or name order %q", zone, nameOrder)
	}
	return s.exec1(ctx, "set zone preferences", "UPDATE users SET time_zone = ?, name_order = ? WHERE id = ?",
		zone, nameOrder, userID)
}
