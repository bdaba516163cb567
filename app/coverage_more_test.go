package app

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"kelas/store"
)

// TestSuspensionRefusals: who may not be suspended is not found, a second
// suspension or a reinstatement of an active account is a conflict, and
// a refused database write is the plain 500 page with the account as it
// was. A mail that cannot be queued does not undo the suspension.
func TestSuspensionRefusals(t *testing.T) {
	ts := newTestServer(t)
	op, opUser := ts.person(t, "ops@example.org", store.RoleOperator, "")
	_, other := ts.person(t, "other-ops@example.org", store.RoleOperator, "")
	_, u := ts.person(t, "learner@example.org", store.RoleLearner, "")
	reason := url.Values{"reason": {"You sent advertising to every learner of your training."}}
	status := func() string {
		got, err := ts.store.User(t.Context(), u.ID)
		require.NoError(t, err)
		return got.Status
	}

	for _, id := range []string{opUser.ID, other.ID, store.NewID()} {
		res, _ := op.postForm(t, "/console/learners/"+id+"/suspend", reason)
		assert.Equal(t, http.StatusNotFound, res.StatusCode, "operators are managed elsewhere; unknown ids are not found")
	}
	res, _ := op.postForm(t, "/console/learners/"+u.ID+"/reinstate", nil)
	assert.Equal(t, http.StatusConflict, res.StatusCode, "not suspended")

	lift := fault(t, ts, "INSERT", "suspensions")
	n := injectedFailures(ts)
	res, body := op.postForm(t, "/console/learners/"+u.ID+"/suspend", reason)
	failsInside(t, ts, n, res, body)
	assert.Equal(t, "active", status())
	lift()

	// The suspension stands without its mail; the failure is logged.
	lift = fault(t, ts, "INSERT", "outbox")
	res, _ = op.postForm(t, "/console/learners/"+u.ID+"/suspend", reason)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Equal(t, "disabled", status())
	assert.Contains(t, ts.logs.String(), "suspension mail not queued")
	assert.NotContains(t, outboxKinds(t, ts), "suspension")

	res, _ = op.postForm(t, "/console/learners/"+u.ID+"/suspend", reason)
	assert.Equal(t, http.StatusConflict, res.StatusCode, "already suspended")

	// Reinstating: refused by the database, then without its mail.
	liftDelete := fault(t, ts, "DELETE", "suspensions")
	n = injectedFailures(ts)
	res, body = op.postForm(t, "/console/learners/"+u.ID+"/reinstate", nil)
	failsInside(t, ts, n, res, body)
	assert.Equal(t, "disabled", status())
	liftDelete()
	res, _ = op.postForm(t, "/console/learners/"+u.ID+"/reinstate", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Equal(t, "active", status())
	assert.Contains(t, ts.logs.String(), "reinstatement mail not queued")
	lift()
}

// TestSuspendedLoginWithoutContact: with no privacy contact configured,
// the suspended person is told why, without an address; when the reason
// cannot be read the login fails whole instead of letting them in.
func TestSuspendedLoginWithoutContact(t *testing.T) {
	ts := newTestServer(t)
	_, u := ts.person(t, "learner@example.org", store.RoleLearner, "")
	st, err := ts.store.Settings(t.Context())
	require.NoError(t, err)
	require.Empty(t, st.Get(store.SettingDPOEmail)+st.Get(store.SettingControllerEmail), "the fixture has no contact")
	require.NoError(t, ts.store.SuspendUser(t.Context(), "op", u.ID, "Advertising sent to other learners"))

	c := ts.newClient(t)
	login := url.Values{"email": {"learner@example.org"}, "password": {"a long test password"}}
	res, body := c.postForm(t, "/login", login)
	require.Equal(t, http.StatusForbidden, res.StatusCode)
	msg := doc(t, body).Find(`[data-testid="error-password"]`).Text()
	assert.Contains(t, msg, "Advertising sent to other learners")
	assert.NotContains(t, msg, "@")

	restore := hide(t, ts, "suspensions")
	n := injectedFailures(ts)
	res, body = c.postForm(t, "/login", login)
	failsInside(t, ts, n, res, body)
	restore()
	res, _ = c.get(t, "/dashboard")
	assert.Equal(t, http.StatusSeeOther, res.StatusCode, "not logged in")
}

// TestRetentionFormsSayWhatTheStoreRefused: each refusal of the store is
// shown at its field in the reader's words, the form kept; a failing
// database is the plain 500 page, nothing saved.
func TestRetentionFormsSayWhatTheStoreRefused(t *testing.T) {
	ts := newTestServer(t)
	loginAs(t, ts, "holder", store.RoleOperator)

	for _, tc := range []struct {
		name      string
		v         url.Values
		field     string
		want      string
		typedBack string
	}{
		{"not an account id", url.Values{"user_id": {strings.Repeat("x", 26)}, "reason": {"Case 1"}}, "user_id",
			"not an account id", strings.Repeat("x", 26)},
		{"no such account", url.Values{"user_id": {store.NewID()}, "reason": {"Case 1"}}, "user_id", "No account has this id", ""},
		{"not a purged category", url.Values{"category": {"shoe_sizes"}, "reason": {"Case 1"}}, "category", "not a category", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, body := ts.postForm(t, "/console/retention/holds", tc.v)
			require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
			d := doc(t, body)
			assert.Contains(t, strings.ToLower(d.Find(`[data-testid="error-`+tc.field+`"]`).Text()), strings.ToLower(tc.want))
			if tc.typedBack != "" {
				assert.Equal(t, tc.typedBack, d.Find("#"+tc.field).AttrOr("value", ""), "what was typed is shown again")
			}
		})
	}

	v := rulesForm(t, ts)
	v.Set("keep_activity_ip_prefix", "3650")
	res, body := ts.postForm(t, "/console/retention/rules", v)
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	assert.Contains(t, doc(t, body).Find(`[data-testid="error-keep_activity_ip_prefix"]`).Text(), "cannot be kept longer")
	v = rulesForm(t, ts)
	v.Set("keep_"+store.RetDailyBackups, "100000")
	res, body = ts.postForm(t, "/console/retention/rules", v)
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	assert.Contains(t, doc(t, body).Find(`[data-testid="error-keep_`+store.RetDailyBackups+`"]`).Text(), "backups")

	// A failing database: the plain 500 page, nothing changed.
	before, err := ts.store.RetentionRules(t.Context())
	require.NoError(t, err)
	fault(t, ts, "INSERT", "retention_rules")
	fault(t, ts, "UPDATE", "retention_rules")
	fault(t, ts, "INSERT", "legal_holds")
	v = rulesForm(t, ts)
	v.Set("keep_access_log", "7")
	n := injectedFailures(ts)
	res, body = ts.postForm(t, "/console/retention/rules", v)
	failsInside(t, ts, n, res, body)
	after, err := ts.store.RetentionRules(t.Context())
	require.NoError(t, err)
	assert.Equal(t, before, after)
	n = injectedFailures(ts)
	res, body = ts.postForm(t, "/console/retention/holds", url.Values{"category": {store.RetAudit}, "reason": {"Regulator inquiry"}})
	failsInside(t, ts, n, res, body)
	holds, err := ts.store.LegalHolds(t.Context(), false)
	require.NoError(t, err)
	assert.Empty(t, holds)

	restore := hide(t, ts, "retention_runs")
	n = injectedFailures(ts)
	res, body = ts.get(t, "/console/retention")
	failsInside(t, ts, n, res, body)
	restore()
}

// TestSiteTimeZoneIsLoadedOnce: the site's zone is loaded by name once
// and reused; a name that does not load is UTC rather than a failure.
func TestSiteTimeZoneIsLoadedOnce(t *testing.T) {
	ts := newTestServer(t)
	jakarta := ts.app.zone("Asia/Jakarta")
	assert.Equal(t, "Asia/Jakarta", jakarta.String())
	_, offset := time.Date(2026, 1, 1, 0, 0, 0, 0, jakarta).Zone()
	assert.Equal(t, 7*3600, offset)
	assert.Same(t, jakarta, ts.app.zone("Asia/Jakarta"), "loaded once")
	assert.Same(t, time.UTC, ts.app.zone("Mars/Olympus"))
	assert.Same(t, time.UTC, ts.app.zone(""))

	st, err := ts.store.Settings(t.Context())
	require.NoError(t, err)
	_, err = ts.store.SaveSettings(t.Context(), "op", st.Revision, map[string]string{store.SettingDefaultTimezone: "Asia/Jakarta"})
	require.NoError(t, err)
	res, _ := ts.get(t, "/")
	require.Equal(t, http.StatusOK, res.StatusCode)
	var names []string
	ts.app.zones.Range(func(k, _ any) bool { names = append(names, k.(string)); return true })
	assert.True(t, slices.Contains(names, "Asia/Jakarta"))
}

// TestMoreRequestsFailWholeWhenTheDatabaseFails: a page whose data cannot
// be read, and an action whose write the database refuses, is the plain
// 500 page with the injected cause logged: never a page with a part
// missing, never a redirect reporting success. Each one then works again.
func TestMoreRequestsFailWholeWhenTheDatabaseFails(t *testing.T) {
	ts := newTestServer(t)
	ctx := t.Context()
	smecorp := member(t, ts, "SME Corporation Malaysia")
	staff, _ := ts.person(t, "staff@example.org", store.RoleMemberStaff, smecorp)
	op, _ := ts.person(t, "ops@example.org", store.RoleOperator, "")
	dpo, _ := dpoClient(t, ts)
	learner, lu := ts.person(t, "learner@example.org", store.RoleLearner, "")
	anon := ts.newClient(t)
	res, _ := dpo.postForm(t, "/console/undertaking", url.Values{"version": {currentUndertakingVersion(t, ts)}, "accept": {"on"}, "next": {"/console"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)

	v := trainingValues()
	v.Set("kind", "live")
	live := createTraining(t, staff, v)
	res, _ = learner.postForm(t, "/trainings/"+live+"/enrol", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	now := ts.clock.Now()
	session, err := ts.store.AddSession(ctx, live, now.Add(-time.Hour), now.Add(time.Hour))
	require.NoError(t, err)
	draft, err := ts.store.SavePolicyDraft(ctx, "x", store.PolicyDraft{Version: "2031-01", Summary: "s", BodyMD: "# Policy\n\nNew.",
		Material: true, EffectiveAt: now.Add(24 * time.Hour)})
	require.NoError(t, err)
	rectification, err := ts.store.CreateCase(ctx, store.NewCase{UserID: lu.ID, Kind: store.CaseRectification, Details: "my name"})
	require.NoError(t, err)
	portability, err := ts.store.CreateCase(ctx, store.NewCase{UserID: lu.ID, Kind: store.CasePortability, Details: "my data"})
	require.NoError(t, err)
	token, err := ts.store.CreateInvitation(ctx, store.Invitation{MemberID: smecorp, Role: store.RoleMemberStaff,
		Email: "invited@example.org", InvitedBy: lu.ID}, time.Hour)
	require.NoError(t, err)
	legal := url.Values{"person": {lu.Email}, "requester": {"District Court"}, "basis": {store.LegalCourtOrder},
		"disclosed": {"Name and email address."}, "reference": {"DC-1"}, "disclosed_on": {now.Format(time.DateOnly)}}

	tomorrow := now.AddDate(0, 0, 1).Format(time.DateOnly)
	clients := map[string]*testServer{"operator": op, "dpo": dpo, "staff": staff, "learner": learner, "anyone": anon}
	for _, tc := range []struct {
		who, path string
		form      url.Values // nil: a GET
		op, table string     // op "": the table is hidden
	}{
		{"dpo", "/console/policies/" + draft.ID, nil, "", "policy_versions"},
		{"dpo", "/console/policies/versions/2023-10-09", nil, "", "policy_translations"},
		{"anyone", "/privacy", nil, "", "members"},
		{"learner", "/privacy/accept", nil, "", "policy_versions"},
		{"dpo", "/console/rights/" + rectification.ID, nil, "", "user_restrictions"},
		{"dpo", "/console/disclosures/legal", nil, "", "legal_disclosures"},
		{"dpo", "/console/disclosures", nil, "", "disclosures"},
		{"anyone", "/invite/" + token, nil, "", "invitations"},
		{"staff", "/console/trainings/" + live + "/learners", nil, "", "enrolments"},
		{"learner", "/trainings/" + live, nil, "", "enrolments"},
		{"learner", "/rights/cases/" + rectification.ID, nil, "", "rights_case_events"},
		{"learner", "/rights/export", url.Values{"password": {"a long test password"}}, "INSERT", "exports"},
		{"operator", "/console/trainings/" + live + "/sessions/" + session.ID + "/attendance", url.Values{"user_id": {lu.ID}}, "INSERT", "attendance"},
		{"dpo", "/console/policies/" + draft.ID + "/publish", url.Values{}, "INSERT", "policy_versions"},
		{"dpo", "/console/rights/" + rectification.ID + "/identity", url.Values{"identity": {"ID card seen"}}, "UPDATE", "rights_cases"},
		{"dpo", "/console/rights/" + rectification.ID + "/extend", url.Values{"months": {"2"}, "reason": {"many records"}}, "UPDATE", "rights_cases"},
		{"dpo", "/console/rights/" + rectification.ID, url.Values{"action": {"reject"}, "note": {"Nothing to correct."}}, "UPDATE", "rights_cases"},
		{"dpo", "/console/rights/" + portability.ID + "/export", url.Values{}, "INSERT", "exports"},
		{"dpo", "/console/disclosures/legal", legal, "INSERT", "legal_disclosures"},
		{"operator", "/console/undertaking", url.Values{"version": {currentUndertakingVersion(t, ts)}, "accept": {"on"}, "next": {"/console"}},
			"INSERT", "undertakings"},
		{"dpo", "/console/policies/" + draft.ID, policyValues("2031-01", tomorrow, true, "Changed."), "UPDATE", "policy_drafts"},
		{"dpo", "/console/policies", policyValues("2032-01", tomorrow, true, "Newer."), "INSERT", "policy_drafts"},
		{"dpo", "/console/policies/versions/2023-10-09/translations", url.Values{"language": {"th"}, "policy_summary": {"สรุป"},
			"body_md": {"# นโยบาย"}}, "INSERT", "policy_translations"},
		{"dpo", "/console/rights/new", url.Values{"email": {lu.Email}, "kind": {store.CaseRectification}, "channel": {store.ChannelLetter},
			"received_on": {now.AddDate(0, 0, -1).Format(time.DateOnly)}, "details": {"Please fix my name."}}, "INSERT", "rights_cases"},
		{"dpo", "/console/breaches", breachValues(ts), "INSERT", "breaches"},
		{"learner", "/rights/erasure", url.Values{"password": {"a long test password"}}, "INSERT", "rights_cases"},
		{"learner", "/rights/restriction", url.Values{"restrict": {"on"}}, "INSERT", "user_restrictions"},
		{"learner", "/rights/objections", url.Values{"object_statistics": {"on"}}, "INSERT", "user_objections"},
		{"learner", "/profile/password", url.Values{"current_password": {"a long test password"}, "password": {"a long new password 2026"}},
			"UPDATE", "users"},
		{"anyone", "/cookies", url.Values{"choice": {"reject_all"}, "return": {"/"}}, "INSERT", "consent_records"},
		{"staff", "/console/trainings/" + live + "/announce", url.Values{"country": {"MY"}}, "INSERT", "mass_mailings"},
		{"staff", "/console/trainings/" + live + "/sessions", url.Values{"session_starts": {now.Add(48 * time.Hour).Format(datetimeLocal)},
			"session_ends": {now.Add(50 * time.Hour).Format(datetimeLocal)}}, "INSERT", "training_sessions"},
		{"operator", "/console/members/" + smecorp, url.Values{"name": {"SME Corporation Malaysia"}, "country": {"MY"}, "kind": {"ngo"},
			"active": {"on"}}, "UPDATE", "members"},
	} {
		c := clients[tc.who]
		name := tc.who + " " + tc.path + " " + tc.op + " " + tc.table
		var lift func()
		if tc.op == "" {
			lift = hide(t, ts, tc.table)
		} else {
			lift = fault(t, ts, tc.op, tc.table)
		}
		n := injectedFailures(ts)
		var body string
		if tc.form == nil {
			res, body = c.get(t, tc.path)
		} else {
			res, body = c.postForm(t, tc.path, tc.form)
		}
		lift()
		if assert.Equal(t, http.StatusInternalServerError, res.StatusCode, name) {
			assert.NotContains(t, body, injected, name)
			assert.NotContains(t, body, "no such table", name)
			assert.Greater(t, injectedFailures(ts), n, name)
		}
		if tc.form == nil {
			res, _ = c.get(t, tc.path)
			assert.Less(t, res.StatusCode, 400, "%s once the table is back", name)
		}
	}
}

// TestSecondFactorChangeWithoutItsMail: the change of a second factor is
// made before its notice is queued; when the notice cannot be queued the
// change stands and the person still gets its result (the recovery codes,
// shown only this once), with the failure logged.
func TestSecondFactorChangeWithoutItsMail(t *testing.T) {
	ts := newTestServer(t)
	c, u := ts.person(t, "learner@example.org", store.RoleLearner, "")
	lift := fault(t, ts, "INSERT", "outbox")
	codes := enrolOverHTTP(t, c)
	assert.Len(t, codes, recoveryCodeCount)
	c.uid = u.ID
	got, err := ts.store.User(t.Context(), u.ID)
	require.NoError(t, err)
	assert.True(t, got.TwoFactor)
	assert.Contains(t, ts.logs.String(), "second factor mail not queued")

	res, _ := c.postForm(t, "/profile/2fa", url.Values{"action": {"disable"}, "code": {c.code(t)}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	got, err = ts.store.User(t.Context(), u.ID)
	require.NoError(t, err)
	assert.False(t, got.TwoFactor)
	res, _ = c.get(t, "/profile")
	assert.Equal(t, http.StatusOK, res.StatusCode, "this session goes on")

	// Reset by an operator: the same.
	_, staffUser := ts.person(t, "staff@example.org", store.RoleMemberStaff, member(t, ts, "SMESCO Indonesia"))
	op, _ := ts.person(t, "ops@example.org", store.RoleOperator, "")
	res, _ = op.postForm(t, "/console/accounts/"+staffUser.ID+"/2fa/reset", url.Values{"code": {op.code(t)}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	got, err = ts.store.User(t.Context(), staffUser.ID)
	require.NoError(t, err)
	assert.False(t, got.TwoFactor)
	lift()
	assert.Empty(t, outboxKinds(t, ts))

	// The secret cannot be read: the confirmation fails whole.
	res, body := c.get(t, "/profile/2fa")
	require.Equal(t, http.StatusOK, res.StatusCode)
	secret := strings.ReplaceAll(doc(t, body).Find(`[data-testid="totp-secret"]`).Text(), " ", "")
	require.NotEmpty(t, secret)
	restore := hide(t, ts, "user_totp")
	n := injectedFailures(ts)
	res, body = c.postForm(t, "/profile/2fa", url.Values{"action": {"enable"}, "code": {"123456"}})
	failsInside(t, ts, n, res, body)
	restore()
}

// TestLegalFormRefusesMore: a person named neither by address nor by id,
// a text too long, not UTF-8 or sent twice: 422 at the field, nothing
// recorded. A person prefilled from a link is dropped when too long.
func TestLegalFormRefusesMore(t *testing.T) {
	ts := newTestServer(t)
	dpo, _ := dpoClient(t, ts)
	_, lu := ts.person(t, "ayu@example.org", store.RoleLearner, "")
	today := ts.clock.Now().UTC().Truncate(24 * time.Hour)
	for name, tc := range map[string]struct {
		field  string
		change func(url.Values)
	}{
		"neither address nor id": {"person", func(v url.Values) { v.Set("person", "Ayu") }},
		"requester too long":     {"requester", func(v url.Values) { v.Set("requester", strings.Repeat("a", 301)) }},
		"requester not UTF-8":    {"requester", func(v url.Values) { v.Set("requester", "Court \xff") }},
		"requester twice":        {"requester", func(v url.Values) { v.Add("requester", "Another court") }},
	} {
		t.Run(name, func(t *testing.T) {
			v := legalValues(lu.Email, today)
			tc.change(v)
			res, body := dpo.postForm(t, "/console/disclosures/legal", v)
			require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
			assert.Equal(t, 1, doc(t, body).Find(`[data-testid="error-`+tc.field+`"]`).Length())
		})
	}
	reg, err := ts.store.LegalDisclosures(t.Context(), 10)
	require.NoError(t, err)
	assert.Empty(t, reg)

	res, body := dpo.get(t, "/console/disclosures/legal/new?person="+strings.Repeat("a", 255))
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Empty(t, doc(t, body).Find(`[data-testid="legal-form"] [name="person"]`).AttrOr("value", ""))
	res, body = dpo.get(t, "/console/disclosures/legal/new?person="+lu.Email)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, lu.Email, doc(t, body).Find(`[data-testid="legal-form"] [name="person"]`).AttrOr("value", ""))
}

// TestDemoSeedReportsEveryFailure: whichever write of the demo content
// the database refuses, seeding says so instead of reporting a portal
// with part of its demo missing as ready.
func TestDemoSeedReportsEveryFailure(t *testing.T) {
	ts := newTestServer(t)
	db := rawDB(t, ts)
	_, err := db.Exec("PRAGMA foreign_keys = ON")
	require.NoError(t, err)
	for _, tc := range []struct{ op, table, when string }{
		{"", "members", ""},
		{"INSERT", "trainings", ""},
		{"INSERT", "materials", ""},
		{"INSERT", "materials", "NEW.kind = 'file'"},
		{"INSERT", "questions", ""},
		{"INSERT", "trainings", "NEW.title LIKE 'Export%'"},
		{"INSERT", "materials", "NEW.title LIKE 'The export%'"},
		{"INSERT", "materials", "NEW.kind = 'video'"},
		{"INSERT", "questions", "NEW.prompt LIKE 'Which document%'"},
		{"INSERT", "trainings", "NEW.kind = 'live'"},
		{"INSERT", "training_sessions", ""},
	} {
		name := tc.op + " " + tc.table + " " + tc.when
		var lift func()
		if tc.op == "" {
			lift = hide(t, ts, tc.table)
		} else {
			when := ""
			if tc.when != "" {
				when = " WHEN " + tc.when
			}
			_, err := db.Exec(`CREATE TRIGGER demo_fault BEFORE ` + tc.op + ` ON ` + tc.table + when +
				` BEGIN SELECT RAISE(ABORT, '` + injected + `'); END`)
			require.NoError(t, err)
			lift = func() {
				_, err := db.Exec(`DROP TRIGGER demo_fault`)
				require.NoError(t, err)
			}
		}
		err := ts.app.seedDemo(t.Context())
		lift()
		if tc.op == "" {
			assert.ErrorContains(t, err, "no such table", name)
		} else {
			assert.ErrorContains(t, err, injected, name)
		}
		_, err = db.Exec("DELETE FROM trainings")
		require.NoError(t, err)
	}
	require.NoError(t, ts.app.seedDemo(t.Context()))
	all, err := ts.store.Trainings(t.Context(), store.CatalogueFilter{})
	require.NoError(t, err)
	assert.Len(t, all, 3)
}
