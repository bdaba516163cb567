package app

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"

	"kelas/store"
)

// visibleText is the text a reader sees on a page: its text nodes outside
// scripts and styles, in one line, lower-cased.
func visibleText(d *goquery.Document) string {
	var b strings.Builder
	d.Find("body *").Each(func(_ int, sel *goquery.Selection) {
		n := sel.Get(0)
		if n.Data == "script" || n.Data == "style" {
			return
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if c.Type == html.TextNode {
				b.WriteString(c.Data)
				b.WriteString(" ")
			}
		}
	})
	return strings.ToLower(strings.Join(strings.Fields(b.String()), " "))
}

// TestPrivacyNoticeSpeaksNoColumnNames: the notice tells what is kept in
// plain words, never by the data map's column names, and says how long in
// words people use.
//
// Every column name of every table comes from the data map itself. Many
// are also everyday words ("email", "country", "role", "reason"), which a
// plain sentence must be free to use, so the rule is:
//   - a name with an underscore ("first_name", "body_html") never appears
//     as written: no one writes like that;
//   - its humanised form ("body html", "marked by", "created at") never
//     appears either, except the few that are how people say it anyway
//     (everyday, below);
//   - of the one-word names, those that are codes rather than words
//     ("id", "n", "seq", "dpo", "sha256") never appear as a word.
//
// A word here is bounded by anything but a letter, digit, underscore or
// dot, so a Member's web address ("Ukmindonesia.id") is no column.
func TestPrivacyNoticeSpeaksNoColumnNames(t *testing.T) {
	ts := newTestServer(t)
	_, op := ts.person(t, "op@example.org", store.RoleOperator, "")
	// Rules at their edges: no weekly backups, the audit log in years.
	require.NoError(t, ts.store.SetRetentionRules(t.Context(), op.ID, map[string]int{store.RetWeeklyBackups: 0, store.RetAudit: 6 * 365}))
	res, body := ts.get(t, "/privacy")
	require.Equal(t, http.StatusOK, res.StatusCode)
	d := doc(t, body)
	text := visibleText(d)
	require.Contains(t, text, "your first name, surname and email address", "the page shows its plain items")

	columns := map[string]bool{}
	for _, f := range store.DataMap() {
		columns[f.Column] = true
	}
	require.Greater(t, len(columns), 150, "every column of every table")

	// Humanised names that are how people say it; each is a column.
	everyday := []string{"first name", "time zone", "id number", "policy version"}
	for _, e := range everyday {
		require.True(t, columns[strings.ReplaceAll(e, " ", "_")], "%q is no column name; drop it from the list", e)
		text = strings.ReplaceAll(text, e, " ")
	}
	codes := []string{"id", "n", "seq", "dpo", "sha256"}
	word := func(s string) *regexp.Regexp {
		return regexp.MustCompile(`(?:^|[^\pL\pN_.])` + regexp.QuoteMeta(s) + `(?:$|[^\pL\pN_.])`)
	}
	var found []string
	for col := range columns {
		switch {
		case strings.Contains(col, "_"):
			if strings.Contains(text, col) || word(strings.ReplaceAll(col, "_", " ")).MatchString(text) {
				found = append(found, col)
			}
		case slicesContains(codes, col):
			if word(col).MatchString(text) {
				found = append(found, col)
			}
		}
	}
	for _, c := range codes {
		require.True(t, columns[c], "%q is no column name; drop it from the list", c)
	}
	assert.Empty(t, found, "column names on the privacy notice")

	nothing := regexp.MustCompile(`(?:^|\D)0 (?:days?|weeks?|years?|backups?)\b`)
	assert.Empty(t, nothing.FindAllString(text, -1), "no period of nothing")
	rules := d.Find(`[data-testid="notice-retention"]`).Text()
	assert.Contains(t, rules, "Weekly data backups: none kept")
	assert.Contains(t, rules, "Audit log of administrative and privacy actions: 6 years")
	assert.Contains(t, rules, "Daily data backups: one for each of the last 7 days")
	assert.Contains(t, rules, "Login sessions: as long as you stay logged in, at most 24 hours, or 4 hours without using the site",
		"as the session manager is set up")
}

func slicesContains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestPrivacyNoticeSaysWhatIsEncrypted: each item of the notice is marked
// encrypted exactly when the data map seals its columns.
func TestPrivacyNoticeSaysWhatIsEncrypted(t *testing.T) {
	ts := newTestServer(t)
	res, body := ts.get(t, "/privacy")
	require.Equal(t, http.StatusOK, res.StatusCode)
	d := doc(t, body)

	sealed := map[string]bool{}
	for _, f := range store.DataMap() {
		if f.Personal {
			sealed[f.Plain] = f.Encrypted // an item's columns agree (a store test)
		}
	}
	items := d.Find(`[data-testid="notice-item"]`)
	require.Equal(t, len(store.PlainItems()), items.Length(), "every item is shown once")
	items.Each(func(_ int, li *goquery.Selection) {
		code := li.AttrOr("data-item", "")
		require.Contains(t, sealed, code)
		assert.Equal(t, sealed[code], li.Find(`[data-testid="notice-encrypted"]`).Length() == 1, "item %s: %s", code, li.Text())
	})

	names := d.Find(`[data-item="name_contact"]`).Text()
	assert.Contains(t, names, "surname")
	assert.Contains(t, names, "encrypted", "names and email are sealed")
	place := d.Find(`[data-item="country_industry"]`).Text()
	assert.Contains(t, place, "country of residence")
	assert.NotContains(t, place, "encrypted", "country and industry are kept readable for statistics")
}

// TestPrivacyNoticeShowsThePolicyInForce: the operator's policy text goes
// with the generated notice, its headings under the notice's.
func TestPrivacyNoticeShowsThePolicyInForce(t *testing.T) {
	ts := newTestServer(t)
	policy, err := ts.store.CurrentPolicy(t.Context())
	require.NoError(t, err)
	res, body := ts.get(t, "/privacy")
	require.Equal(t, http.StatusOK, res.StatusCode)
	d := doc(t, body)
	sec := d.Find(`[data-testid="notice-policy"]`)
	assert.Contains(t, sec.Find("h2").Text(), policy.Version)
	text := sec.Find(`[data-testid="notice-policy-text"]`)
	assert.Contains(t, strings.Join(strings.Fields(text.Text()), " "), "This portal keeps the personal data you give at registration")
	assert.Equal(t, 1, d.Find("h1").Length(), "one page heading")
	assert.Equal(t, 1, text.Find("h3").Length(), "the policy's own heading sits under the section's")

	res, body = ts.get(t, "/privacy?lang=th")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "en", doc(t, body).Find(`[data-testid="notice-policy-text"]`).AttrOr("lang", ""), "an untranslated policy is marked as English")

	// Once the privacy officer translates it, a Thai reader gets the translation.
	_, dpo := ts.person(t, "dpo@example.org", store.RoleOperator, "")
	_, err = ts.store.SavePolicyTranslation(t.Context(), dpo.ID, store.PolicyTranslation{Version: policy.Version, Language: "th",
		Summary: "สรุปนโยบาย", BodyMD: "# นโยบายความเป็นส่วนตัว\n\nข้อความ"})
	require.NoError(t, err)
	res, body = ts.get(t, "/privacy?lang=th")
	require.Equal(t, http.StatusOK, res.StatusCode)
	text = doc(t, body).Find(`[data-testid="notice-policy-text"]`)
	assert.Contains(t, text.Find("h3").Text(), "นโยบายความเป็นส่วนตัว")
	assert.Empty(t, text.AttrOr("lang", ""), "a translation is in the page's language")
}
