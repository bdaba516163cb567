package app

import (
	"context"
	"errors"
	"net/http"

	"kelas/i18n"
	"kelas/store"
	"kelas/views"
)

// GET /console/members
func (a *App) handleMembers(w http.ResponseWriter, r *http.Request) error {
	x := actorFrom(r.Context())
	if !x.isOperator() {
		return errForbidden
	}
	lp, err := readList(r, memberListSpec)
	if err != nil {
		return err
	}
	pg, err := fetchPage(&lp, func(q store.ListQuery) (store.Page[store.Member], error) {
		return a.store.MemberList(r.Context(), store.MemberFilter{Query: lp.Q, ListQuery: q})
	})
	if err != nil {
		return err
	}
	return a.render(w, r, http.StatusOK, views.ConsoleMembers(a.page(r, tr(r, "members.title")), views.MembersConsole{Nav: a.consoleNav(r.Context(), x),
		Members: pg.Items, Query: lp.Q, List: lp.state(r, nil, pg.Total)}))
}

// memberListSpec: the Member list sorts by country (then name) first.
var memberListSpec = listSpec{{key: "country"}, {key: "name"}, {key: "kind"}, {key: "status"}}

func readMemberForm(f *form) (views.MemberForm, store.MemberInput) {
	vm := views.MemberForm{
		Name:    f.text("name", "fieldlabel.name", 2, 200),
		Country: f.choice("country", "fieldlabel.country", store.ValidCountry, false),
		Kind:    f.choice("kind", "fieldlabel.kind", store.ValidMemberKind, true),
		Active:  f.checkbox("active"),
	}
	return vm, store.MemberInput{Name: vm.Name, Country: vm.Country, Kind: vm.Kind, Active: vm.Active}
}

// GET /console/members/new
func (a *App) handleNewMember(w http.ResponseWriter, r *http.Request) error {
	x := actorFrom(r.Context())
	return a.render(w, r, http.StatusOK, views.ConsoleNewMember(a.page(r, tr(r, "members.new_title")), views.NewMemberConsole{Nav: a.consoleNav(r.Context(), x),
		Form: views.MemberForm{Action: "/console/members", Active: true, Countries: memberCountryOptions(r)}}))
}

// POST /console/members
func (a *App) handleCreateMember(w http.ResponseWriter, r *http.Request) error {
	x := actorFrom(r.Context())
	f, err := parseForm(r)
	if err != nil {
		return err
	}
	vm, in := readMemberForm(f)
	var m store.Member
	if f.Valid() {
		m, err = a.store.CreateMember(r.Context(), in)
		if errors.Is(err, store.ErrConflict) {
			f.fail("name", tr(r, "members.error.name_taken"))
		} else if err != nil {
			return err
		}
	}
	if !f.Valid() {
		vm.Action, vm.Countries, vm.Errors = "/console/members", memberCountryOptions(r), f.Errors
		return a.render(w, r, http.StatusUnprocessableEntity, views.ConsoleNewMember(a.page(r, tr(r, "members.new_title")), views.NewMemberConsole{Nav: a.consoleNav(r.Context(), x), Form: vm}))
	}
	a.auditReq(r, "member.create", "member", m.ID, nil)
	a.redirect(w, r, "/console/members/"+m.ID, tr(r, "members.flash.saved"))
	return nil
}

// consoleMember loads the Member in the path for someone who may see it;
// other Members are 404 for staff.
func (a *App) consoleMember(r *http.Request) (store.Member, actor, error) {
	x := actorFrom(r.Context())
	m, err := load(r, "id", func(ctx context.Context, id string) (store.Member, error) {
		if !mayViewMember(x, id) {
			return store.Member{}, errNotFound
		}
		return a.store.Member(ctx, id)
	})
	return m, x, err
}

func (a *App) memberView(r *http.Request, x actor, m store.Member) (views.MemberConsole, error) {
	v := views.MemberConsole{Nav: a.consoleNav(r.Context(), x), Member: m, CanEdit: mayManageMembers(x), CanStaff: mayManageStaffOf(x, m.ID),
		Form: views.MemberForm{Action: "/console/members/" + m.ID, Name: m.Name, Country: m.Country, Kind: m.Kind, Active: m.Active,
			Countries: memberCountryOptions(r)}, Errors: views.Errors{}}
	var err error
	if v.Staff, err = a.store.MemberStaff(r.Context(), m.ID); err != nil {
		return v, err
	}
	for _, s := range v.Staff {
		if s.Role == store.RoleMemberAdmin {
			v.Admins++
		}
	}
	v.Pending, err = a.store.PendingInvitations(r.Context(), m.ID)
	return v, err
}

// GET /console/members/{id}
func (a *App) handleMember(w http.ResponseWriter, r *http.Request) error {
	m, x, err := a.consoleMember(r)
	if err != nil {
		return err
	}
	v, err := a.memberView(r, x, m)
	if err != nil {
		return err
	}
	ids := make([]string, len(v.Staff))
	for i, s := range v.Staff {
		ids[i] = s.UserID
	}
	if err := a.disclose(r, x, store.ViewStaffList, "", "@staff_list:"+m.Name, ids...); err != nil {
		return err
	}
	return a.render(w, r, http.StatusOK, views.ConsoleMember(a.page(r, m.Name), v))
}

// POST /console/members/{id}
func (a *App) handleUpdateMember(w http.ResponseWriter, r *http.Request) error {
	m, x, err := a.consoleMember(r)
	if err != nil {
		return err
	}
	if !mayManageMembers(x) {
		return errForbidden
	}
	f, err := parseForm(r)
	if err != nil {
		return err
	}
	vm, in := readMemberForm(f)
	if f.Valid() {
		err = a.store.UpdateMember(r.Context(), m.ID, in)
		if errors.Is(err, store.ErrConflict) {
			f.fail("name", tr(r, "members.error.name_taken"))
		} else if err != nil {
			return err
		}
	}
	if !f.Valid() {
		v, err := a.memberView(r, x, m)
		if err != nil {
			return err
		}
		vm.Action, vm.Countries, vm.Errors = v.Form.Action, v.Form.Countries, f.Errors
		v.Form = vm
		return a.render(w, r, http.StatusUnprocessableEntity, views.ConsoleMember(a.page(r, m.Name), v))
	}
	a.auditReq(r, "member.update", "member", m.ID, map[string]any{"active": boolString(in.Active)})
	a.redirect(w, r, "/console/members/"+m.ID, tr(r, "members.flash.saved"))
	return nil
}

// memberCountryOptions lists the countries for the Member form, ASEAN's
// first, named in the reader's language.
func memberCountryOptions(r *http.Request) []views.OptionGroup {
	p := i18n.From(r.Context())
	asean := map[string]bool{}
	for _, c := range store.ASEANCountries() {
		asean[c] = true
	}
	var first, rest []views.Option
	for _, c := range store.Countries() {
		o := views.Option{Value: c.Code, Label: p.Country(c.Code, c.Name)}
		if asean[c.Code] {
			first = append(first, o)
		} else {
			rest = append(rest, o)
		}
	}
	return []views.OptionGroup{{Label: p.T("members.form.countries_asean"), Options: first},
		{Label: p.T("members.form.countries_other"), Options: rest}}
}
