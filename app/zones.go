package app

import (
	"net/http"

	"kelas/store"
	"kelas/views"
)

// zoneOptions lists the zones a person chooses from: the region's, then
// UTC; with elsewhere, also the zones abroad an organiser may use. A
// person whose saved zone is in neither list still sees it.
func zoneOptions(r *http.Request, elsewhere bool, current string) []views.OptionGroup {
	opt := func(z store.Zone) views.Option {
		return views.Option{Value: z.Name, Label: views.ZoneLabel(r.Context(), z.Name)}
	}
	region := views.OptionGroup{Label: tr(r, "zones.group.region")}
	others := views.OptionGroup{Label: tr(r, "zones.group.elsewhere")}
	for _, z := range store.RegionZones() {
		region.Options = append(region.Options, opt(z))
	}
	for _, z := range store.OtherZones() {
		if elsewhere || z.Name == current {
			others.Options = append(others.Options, opt(z))
		}
	}
	groups := []views.OptionGroup{region}
	if len(others.Options) > 0 {
		groups = append(groups, others)
	}
	return groups
}

// personZoneAllowed reports whether a person may choose zone: one of the
// region's (or UTC), or the one they have.
func personZoneAllowed(zone, current string) bool {
	if !store.ValidZone(zone) {
		return false
	}
	for _, z := range store.RegionZones() {
		if z.Name == zone {
			return true
		}
	}
	return zone == current
}

// nameOrderOptions are the two ways of writing a name.
func nameOrderOptions(r *http.Request) []views.OptionGroup {
	return []views.OptionGroup{{Options: []views.Option{
		{Value: store.NameGivenFirst, Label: tr(r, "names.order.given_first")},
		{Value: store.NameFamilyFirst, Label: tr(r, "names.order.family_first")},
	}}}
}

// personZone is the zone a person's times are shown in: theirs, else UTC.
func personZone(u *store.User) string {
	if u != nil && store.ValidZone(u.TimeZone) {
		return u.TimeZone
	}
	return store.ZoneUTC
}

// nameOrder is the person's name order, given name first by default.
func nameOrder(u *store.User) string {
	if store.ValidNameOrder(u.NameOrder) {
		return u.NameOrder
	}
	return store.NameGivenFirst
}
