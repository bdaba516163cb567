package app

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"kelas/store"
)

const newPolicyText = `# Privacy policy

This portal keeps the personal data you give at registration and in your profile to run your
account and the trainings you take.

## Reports for Members

Members now receive aggregate reports of how their trainings are used.

<script>alert("raw HTML is dropped")</script>`

func policyValues(version, effective string, material bool, body string) url.Values {
	v := url.Values{"version": {version}, "policy_summary": {"Members now receive aggregate reports."},
		"effective_on": {effective}, "body_md": {body}}
	if material {
		v.Set("material", "on")
	}
	return v
}

// publishPolicy has the privacy officer save a draft and publish it.
func publishPolicy(t *testing.T, dpo *testServer, v url.Values) {
	t.Helper()
	res, _ := dpo.postForm(t, "/console/policies", v)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	draft := res.Header.Get("Location")
	require.Regexp(t, `^/console/policies/[a-z2-7]{26}$`, draft)
	res, _ = dpo.postForm(t, draft+"/publish", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	require.Equal(t, "/console/policies", res.Header.Get("Location"))
}

func bannerOn(t *testing.T, c *testServer, path string) string {
	t.Helper()
	res, body := c.get(t, path)
	require.Equal(t, http.StatusOK, res.StatusCode)
	return strings.TrimSpace(doc(t, body).Find(`[data-testid="policy-banner"]`).Text())
}

// TestMaterialPolicyIsMailedBannerAndAcceptedAtLogin: publishing a material
// version mails every active account once, shows a banner, and the next
// login goes through the acceptance page, which records version and time.
func TestMaterialPolicyIsMailedBannerAndAcceptedAtLogin(t *testing.T) {
	ts, smtpd := newMailTestServer(t)
	dpo, _ := dpoClient(t, ts)
	ana := learnerAccount(t, ts, "ana", "MY", "C", false, false)
	budi := learnerAccount(t, ts, "budi", "ID", "C", false, false)
	require.NoError(t, ts.store.SetRestricted(t.Context(), budi.ID, true))
	visitor := &testServer{Server: ts.Server, client: &http.Client{CheckRedirect: ts.client.CheckRedirect}}
	assert.Empty(t, bannerOn(t, visitor, "/trainings"))

	// Draft, preview (raw HTML dropped) and changes.
	res, _ := dpo.postForm(t, "/console/policies", policyValues("2026-03", "2026-03-01", true, newPolicyText))
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	draft := res.Header.Get("Location")
	res, body := dpo.get(t, draft)
	require.Equal(t, http.StatusOK, res.StatusCode)
	d := doc(t, body)
	assert.Equal(t, "Reports for Members", d.Find(`[data-testid="preview"] h2`).Text())
	assert.NotContains(t, body, "<script>alert")
	assert.GreaterOrEqual(t, d.Find(`[data-testid="diff-ins"]`).Length(), 3)
	assert.Zero(t, smtpd.Messages(), "a draft sends nothing")

	res, _ = dpo.postForm(t, draft+"/publish", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	ts.deliverAll(t)
	active, err := ts.store.ActiveAccountIDs(t.Context())
	require.NoError(t, err)
	msgs := smtpd.Messages()
	assert.Len(t, msgs, len(active), "one mail per active account")
	got := recipients(msgs)
	assert.Equal(t, len(got), len(slices.Compact(slices.Clone(got))), "nobody twice")
	assert.Contains(t, got, ana.Email)
	assert.Contains(t, got, budi.Email, "a restricted person is told of a policy change too")
	for _, m := range msgs {
		assert.Equal(t, "Our privacy policy has changed", m.Subject)
		assert.Contains(t, m.Text, "Members now receive aggregate reports.")
		assert.Contains(t, m.Text, "/privacy/versions?from=2023-10-09&to=2026-03")
	}
	v, err := ts.store.PolicyVersionByLabel(t.Context(), "2026-03")
	require.NoError(t, err)
	assert.True(t, v.Material)
	actions := auditActions(t, ts)
	for _, want := range []string{store.AuditPolicyDraft, store.AuditPolicyPublish, store.AuditPolicyNotify} {
		assert.Contains(t, actions, want)
	}

	banner := bannerOn(t, visitor, "/trainings")
	assert.Contains(t, banner, "Our privacy policy changed on 1 March 2026.")
	assert.Contains(t, banner, "Members now receive aggregate reports.")

	// The next login goes through the acceptance page first.
	c := ts.newClient(t)
	res = c.logIn(t, ana.Email, "/dashboard")
	require.Equal(t, "/privacy/accept?next=%2Fdashboard", res.Header.Get("Location"))
	res, body = c.get(t, "/privacy/accept?next=%2Fdashboard")
	require.Equal(t, http.StatusOK, res.StatusCode)
	d = doc(t, body)
	assert.Equal(t, "Members now receive aggregate reports.", d.Find(`[data-testid="accept-summary"]`).Text())
	assert.Equal(t, 1, d.Find(`a[href="/privacy/versions/2026-03"]`).Length())
	assert.GreaterOrEqual(t, d.Find(`[data-testid="diff-ins"]`).Length(), 1, "what changed since the version accepted")
	ts.clock.Add(3 * time.Minute)
	res, _ = c.postForm(t, "/privacy/accept", url.Values{"version": {"2026-03"}, "next": {"/dashboard"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Equal(t, "/dashboard", res.Header.Get("Location"))
	acc, err := ts.store.PolicyAcceptances(t.Context(), ana.ID)
	require.NoError(t, err)
	require.Len(t, acc, 2)
	assert.Equal(t, store.Acceptance{Version: "2026-03", AcceptedAt: ts.clock.Now().UTC(), How: store.AcceptedAtLogin}, acc[1])

	// Accepted: the next login goes straight on.
	c = ts.newClient(t)
	res = c.logIn(t, ana.Email, "/dashboard")
	assert.Equal(t, "/dashboard", res.Header.Get("Location"))

	// Someone who has not accepted cannot skip to their destination by
	// posting a stale version either.
	c = ts.newClient(t)
	c.logIn(t, budi.Email, "/")
	res, body = c.postForm(t, "/privacy/accept", url.Values{"version": {"2023-10-09"}, "next": {"/"}})
	assert.Equal(t, http.StatusOK, res.StatusCode, "the current version is shown again")
	assert.Equal(t, 1, doc(t, body).Find(`[data-testid="accept-form"]`).Length())
	acc, err = ts.store.PolicyAcceptances(t.Context(), budi.ID)
	require.NoError(t, err)
	assert.Len(t, acc, 1)

	// The banner goes away a month after the version took effect.
	ts.clock.Add(31 * 24 * time.Hour)
	assert.Empty(t, bannerOn(t, visitor, "/trainings"))
}

// TestMinorPolicyNeitherMailsNorAsks: a minor version is published without
// mail, banner or a new acceptance.
func TestMinorPolicyNeitherMailsNorAsks(t *testing.T) {
	ts, smtpd := newMailTestServer(t)
	dpo, _ := dpoClient(t, ts)
	ana := learnerAccount(t, ts, "ana", "MY", "C", false, false)
	publishPolicy(t, dpo, policyValues("2026-03-minor", "2026-03-01", false, newPolicyText))
	ts.deliverAll(t)
	assert.Empty(t, smtpd.Messages())
	assert.Empty(t, mailsOfKind(t, ts, store.MailPolicyUpdate))
	c := ts.newClient(t)
	res := c.logIn(t, ana.Email, "/dashboard")
	assert.Equal(t, "/dashboard", res.Header.Get("Location"))
	assert.Empty(t, bannerOn(t, c, "/trainings"))
	cur, err := ts.store.CurrentPolicy(t.Context())
	require.NoError(t, err)
	assert.Equal(t, "2026-03-minor", cur.Version, "it is the version in force all the same")
}

// TestPolicyPublishingRefusesBadInput: empty or unchanged texts, bad
// labels and dates are refused with 422; only the privacy officer may
// write or publish.
func TestPolicyPublishingRefusesBadInput(t *testing.T) {
	ts := newTestServer(t)
	dpo, _ := dpoClient(t, ts)
	cur, err := ts.store.CurrentPolicy(t.Context())
	require.NoError(t, err)
	for name, c := range map[string]struct {
		v     url.Values
		field string
	}{
		"empty text":  {policyValues("2026-03", "2026-03-02", true, "  \n "), "body_md"},
		"bad label":   {policyValues("../x", "2026-03-02", true, newPolicyText), "version"},
		"taken label": {policyValues("2023-10-09", "2026-03-02", true, newPolicyText), "version"},
		"past date":   {policyValues("2026-03", "2026-02-28", true, newPolicyText), "effective_on"},
		"not a date":  {policyValues("2026-03", "March", true, newPolicyText), "effective_on"},
		"no summary": {func() url.Values {
			v := policyValues("2026-03", "2026-03-02", true, newPolicyText)
			v.Del("policy_summary")
			return v
		}(), "policy_summary"},
		"too far ahead": {policyValues("2026-03", "2028-03-02", true, newPolicyText), "effective_on"},
		"sent twice": {func() url.Values {
			v := policyValues("2026-03", "2026-03-02", true, newPolicyText)
			v.Add("version", "x")
			return v
		}(), "version"},
		"material twice": {func() url.Values {
			v := policyValues("2026-03", "2026-03-02", true, newPolicyText)
			v.Set("material", "yes")
			return v
		}(), "material"},
	} {
		t.Run(name, func(t *testing.T) {
			res, body := dpo.postForm(t, "/console/policies", c.v)
			require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
			assert.Equal(t, 1, doc(t, body).Find(`[data-testid="error-`+c.field+`"]`).Length())
		})
	}
	drafts, err := ts.store.PolicyDrafts(t.Context())
	require.NoError(t, err)
	assert.Empty(t, drafts)

	// The unchanged text may be drafted (to start editing) but not published.
	res, _ := dpo.postForm(t, "/console/policies", policyValues("2026-03", "2026-03-02", true, cur.BodyMD+"\n"))
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	draft := res.Header.Get("Location")
	res, body := dpo.postForm(t, draft+"/publish", nil)
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	assert.Contains(t, doc(t, body).Find(`[data-testid="error-summary"]`).Text(), "same as the version in force")
	vs, err := ts.store.PolicyVersions(t.Context())
	require.NoError(t, err)
	assert.Len(t, vs, 1)

	// Only the privacy officer.
	op, _ := ts.person(t, "op@example.org", store.RoleOperator, "")
	for _, req := range []struct{ method, path string }{{"GET", "/console/policies"}, {"GET", draft}, {"POST", "/console/policies"},
		{"POST", draft}, {"POST", draft + "/publish"}} {
		var res *http.Response
		if req.method == "GET" {
			res, _ = op.get(t, req.path)
		} else {
			res, _ = op.postForm(t, req.path, policyValues("2026-04", "2026-03-02", true, newPolicyText))
		}
		assert.Equal(t, http.StatusForbidden, res.StatusCode, "%s %s", req.method, req.path)
	}
	vs, err = ts.store.PolicyVersions(t.Context())
	require.NoError(t, err)
	assert.Len(t, vs, 1)
}

// TestPolicyVersionsDiffAndDownloads: /privacy/versions lists every
// version, shows the diff between any two, and offers HTML and text copies.
func TestPolicyVersionsDiffAndDownloads(t *testing.T) {
	ts := newTestServer(t)
	dpo, _ := dpoClient(t, ts)
	publishPolicy(t, dpo, policyValues("2026-03", "2026-03-01", false, newPolicyText))
	visitor := &testServer{Server: ts.Server, client: &http.Client{CheckRedirect: ts.client.CheckRedirect}}

	res, body := visitor.get(t, "/privacy/versions")
	require.Equal(t, http.StatusOK, res.StatusCode)
	d := doc(t, body)
	assert.Equal(t, 2, d.Find(`[data-testid="version"]`).Length())
	assert.Zero(t, d.Find(`[data-testid="diff"]`).Length())

	res, body = visitor.get(t, "/privacy/versions?from=2023-10-09&to=2026-03")
	require.Equal(t, http.StatusOK, res.StatusCode)
	d = doc(t, body)
	assert.Equal(t, "Changes from version 2023-10-09 to version 2026-03", d.Find(`[data-testid="diff"] caption`).Text())
	var removed, added []string
	d.Find(`[data-testid="diff-del"] del`).Each(func(_ int, s *goquery.Selection) { removed = append(removed, s.Text()) })
	d.Find(`[data-testid="diff-ins"] ins`).Each(func(_ int, s *goquery.Selection) { added = append(added, s.Text()) })
	assert.Contains(t, removed, "Removed: system itself at /privacy.")
	assert.Contains(t, added, "Added: ## Reports for Members")
	assert.Contains(t, d.Find(`[data-testid="diff-summary"]`).Text(), "lines added")

	res, body = visitor.get(t, "/privacy/versions?from=nope&to=2026-03")
	assert.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	assert.Equal(t, 1, doc(t, body).Find(`[data-testid="error-from"]`).Length())

	res, body = visitor.get(t, "/privacy/versions/2026-03")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "Reports for Members", doc(t, body).Find(`[data-testid="policy-text"] h2`).Text())

	res, body = visitor.get(t, "/privacy/versions/2026-03/copy.html")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, `attachment; filename="kelas-privacy-policy-2026-03.html"`, res.Header.Get("Content-Disposition"))
	assert.Equal(t, "text/html; charset=utf-8", res.Header.Get("Content-Type"))
	assert.Contains(t, body, "<h2>Reports for Members</h2>")
	assert.NotContains(t, body, "<script>alert")
	assert.NotContains(t, body, `href="/static/`, "the copy reads offline, without the site's files")

	res, body = visitor.get(t, "/privacy/versions/2026-03/copy.txt")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, `attachment; filename="kelas-privacy-policy-2026-03.txt"`, res.Header.Get("Content-Disposition"))
	assert.Equal(t, "text/plain; charset=utf-8", res.Header.Get("Content-Type"))
	assert.True(t, strings.HasPrefix(body, "Privacy policy, version 2026-03\nEffective from 1 March 2026"))
	assert.Contains(t, body, "## Reports for Members")

	for _, path := range []string{"/privacy/versions/1999", "/privacy/versions/..%2f..%2fetc/copy.txt", "/privacy/versions/x y/copy.html"} {
		res, _ = visitor.get(t, path)
		assert.Equal(t, http.StatusNotFound, res.StatusCode, path)
	}
}

// TestLineDiff checks the edit script on small cases.
func TestLineDiff(t *testing.T) {
	for _, c := range []struct {
		a, b    string
		added   int
		removed int
	}{
		{"", "", 0, 0},
		{"a\nb\nc", "a\nb\nc", 0, 0},
		{"a\nb\nc", "a\nx\nc", 1, 1},
		{"a\nb\nc", "a\nb\nc\nd", 1, 0},
		{"a\nb\nc", "b\nc", 0, 1},
		{"", "a\nb", 2, 0},
		{"a\r\nb\r\n", "a\nb", 0, 0},
	} {
		d := policyDiff("A", c.a, "B", c.b)
		assert.Equal(t, c.added, d.Added, "%q → %q", c.a, c.b)
		assert.Equal(t, c.removed, d.Removed, "%q → %q", c.a, c.b)
	}
	long := strings.Repeat("same\n", 20) + "old\n" + strings.Repeat("same\n", 20)
	d := policyDiff("A", long, "B", strings.Replace(long, "old", "new", 1))
	require.Len(t, d.Lines, 2*diffContext+2+2, "3 lines of context on each side, the folded runs, the change")
	assert.Equal(t, '…', d.Lines[0].Op)
	assert.Equal(t, 20-diffContext, d.Lines[0].Skipped)
}

// FuzzLineDiff: the edit script always rebuilds both texts.
func FuzzLineDiff(f *testing.F) {
	f.Add("a\nb\nc", "a\nc\nd")
	f.Add("", "x")
	f.Add("x\nx\nx", "x")
	f.Add("# t\n\npara\n", "# t\n\npara two\n\nmore")
	f.Fuzz(func(t *testing.T, a, b string) {
		if len(a) > 4000 || len(b) > 4000 {
			return
		}
		la, lb := splitLines(a), splitLines(b)
		var ra, rb []string
		for _, op := range diffLines(la, lb) {
			switch op.op {
			case '=':
				require.Equal(t, la[op.old], lb[op.new])
				ra, rb = append(ra, la[op.old]), append(rb, lb[op.new])
			case '-':
				ra = append(ra, la[op.old])
			case '+':
				rb = append(rb, lb[op.new])
			}
		}
		require.Equal(t, la, ra)
		require.Equal(t, lb, rb)
	})
}

// TestPolicyTranslations: the privacy officer adds a translation of a
// published version (audited); a reader in that language gets it, a reader
// in another gets the original marked with its language and a sentence
// saying so, and an English reader the original without that sentence.
func TestPolicyTranslations(t *testing.T) {
	ts := newTestServer(t)
	dpo, _ := dpoClient(t, ts)
	visitor := &testServer{Server: ts.Server, client: &http.Client{CheckRedirect: ts.client.CheckRedirect}}

	res, body := dpo.get(t, "/console/policies/versions/2023-10-09")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, 1, doc(t, body).Find(`[data-testid="no-translations"]`).Length())
	res, body = dpo.get(t, "/console/policies")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Positive(t, doc(t, body).Find(`a[href="/console/policies/versions/2023-10-09"]`).Length())

	res, body = dpo.postForm(t, "/console/policies/versions/2023-10-09/translations",
		url.Values{"language": {"en"}, "policy_summary": {""}, "body_md": {"x"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode, "English is the original; a summary is needed")
	assert.Positive(t, doc(t, body).Find(`[data-testid="error-summary"]`).Length())
	res, _ = dpo.postForm(t, "/console/policies/versions/1999-01/translations",
		url.Values{"language": {"th"}, "policy_summary": {"สรุป"}, "body_md": {"# นโยบาย"}})
	assert.Equal(t, http.StatusNotFound, res.StatusCode)

	res, _ = dpo.postForm(t, "/console/policies/versions/2023-10-09/translations",
		url.Values{"language": {"th"}, "policy_summary": {"สรุปนโยบาย"}, "body_md": {"# นโยบายความเป็นส่วนตัว\n\nข้อความ"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Equal(t, "/console/policies/versions/2023-10-09", res.Header.Get("Location"))
	res, body = dpo.get(t, "/console/policies/versions/2023-10-09")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, 1, doc(t, body).Find(`[data-testid="translation"]`).Length())
	log, err := ts.store.AuditLog(t.Context(), 10)
	require.NoError(t, err)
	assert.True(t, slices.ContainsFunc(log, func(e store.AuditEntry) bool {
		return e.Action == store.AuditPolicyTranslate && e.TargetID == "2023-10-09" && e.Details["language"] == "th"
	}))

	res, body = visitor.get(t, "/privacy/versions/2023-10-09?lang=th")
	require.Equal(t, http.StatusOK, res.StatusCode)
	d := doc(t, body)
	assert.Contains(t, d.Find(`[data-testid="policy-text"] h1`).Text(), "นโยบายความเป็นส่วนตัว")
	assert.Zero(t, d.Find(`[data-testid="policy-original-language"]`).Length())
	assert.Empty(t, d.Find(`[data-testid="policy-text"]`).AttrOr("lang", ""), "a translation is in the page's language")
	res, body = visitor.get(t, "/privacy/versions/2023-10-09/copy.txt?lang=th")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, body, "สรุปนโยบาย")

	res, body = visitor.get(t, "/privacy/versions/2023-10-09?lang=vi")
	require.Equal(t, http.StatusOK, res.StatusCode)
	d = doc(t, body)
	assert.Equal(t, 1, d.Find(`[data-testid="policy-original-language"]`).Length(), "no Vietnamese translation: the original, said so")
	assert.Equal(t, "en", d.Find(`[data-testid="policy-text"]`).AttrOr("lang", ""))
	assert.NotContains(t, body, "นโยบาย")

	res, body = visitor.get(t, "/privacy/versions/2023-10-09?lang=en")
	require.Equal(t, http.StatusOK, res.StatusCode)
	d = doc(t, body)
	assert.Zero(t, d.Find(`[data-testid="policy-original-language"]`).Length())
	assert.NotContains(t, body, "นโยบาย")
}

// TestPrivacyNoticeSpeaksFromTheCatalogue: in the pseudo-locale every
// generated part of the notice (categories, columns, purposes, bases,
// retention, rules in force) comes from the catalogue: a data-map code
// without a message would show as plain English.
func TestPrivacyNoticeSpeaksFromTheCatalogue(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.PseudoLocale = true })
	res, body := ts.get(t, "/privacy?lang=qps")
	require.Equal(t, http.StatusOK, res.StatusCode)
	d := doc(t, body)
	for _, sel := range []string{`[data-testid="notice-categories"]`, `[data-testid="notice-retention"]`} {
		text := d.Find(sel).Text()
		require.NotEmpty(t, strings.TrimSpace(text))
		assert.Empty(t, englishWord.FindAllString(notText.ReplaceAllString(text, " "), -1), sel)
	}
}
