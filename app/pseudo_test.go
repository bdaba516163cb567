package app

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"

	"kelas/i18n"
	"kelas/store"
)

// englishWord is a run of ASCII letters: in the pseudo-locale every
// letter of the catalogue's text is accented, so one left is text that
// bypassed the catalogue, unless it is people's own content.
var englishWord = regexp.MustCompile(`[A-Za-z]{2,}`)

// notText removes what is not prose from a text: addresses, emails,
// file names, ids and codes.
var notText = regexp.MustCompile(`https?://\S+|\S+@\S+|/\S*|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:org|net|com)\b|\b[a-z2-7]{26}\b|\b[\w-]+\.(?:pdf|png|jpg|txt|csv|zip|json|html|ics)\b|\b[A-Za-z0-9_-]*\d[A-Za-z0-9_-]*\b`)

// userContent are the words of the matrix fixture's and the seed's own
// content (names, titles, Member names), which stay as people wrote them.
func userContent(t *testing.T, st *store.Store) map[string]bool {
	words := map[string]bool{"kelas": true}
	add := func(s string) {
		for _, w := range englishWord.FindAllString(s, -1) {
			words[w] = true
		}
	}
	for _, s := range []string{"Matrix", "Other", "Page", "File", "Lost laptop", "M X", "s", "x", "d", "m", "a",
		"matrix", "case", "Which", "court case", "fix"} {
		add(s)
	}
	for _, l := range i18n.Languages() {
		add(l.Name) // each language named in itself, in the language select
	}
	members, err := st.Members(t.Context())
	require.NoError(t, err)
	for _, m := range members {
		add(m.Name)
	}
	return words
}

// untranslated lists the English words of an HTML page outside people's
// content: text nodes and the attributes people read (title, aria-label,
// placeholder, alt, button values).
func untranslated(body string, allowed map[string]bool) []string {
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(body))
	if err != nil {
		return []string{"unparsable page"}
	}
	seen := map[string]bool{}
	check := func(s string) {
		s = notText.ReplaceAllString(s, " ")
		for _, w := range englishWord.FindAllString(s, -1) {
			if !allowed[w] {
				seen[w] = true
			}
		}
	}
	doc.Find("*").Each(func(_ int, sel *goquery.Selection) {
		n := sel.Get(0)
		switch n.Data {
		case "script", "style", "code", "pre", "textarea":
			return // code, and what people typed into a form
		}
		if sel.Closest("[lang]").AttrOr("lang", "") != "en-XA" {
			return // text in another language on purpose: the switcher
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if c.Type == html.TextNode {
				check(c.Data)
			}
		}
		for _, a := range n.Attr {
			switch a.Key {
			case "title", "aria-label", "placeholder", "alt":
				check(a.Val)
			case "value":
				// An input button shows its value; a <button>'s value is
				// what the form sends (choice=accept_all), not text.
				if t, _ := sel.Attr("type"); n.Data == "input" && (t == "submit" || t == "button") {
					check(a.Val)
				}
			}
		}
	})
	var out []string
	for w := range seen {
		out = append(out, w)
	}
	sort.Strings(out)
	return out
}

// TestPseudoLocaleShowsNoEnglish: every page of the authorisation matrix,
// as every role sees it, rendered in the pseudo-locale, shows no English
// word outside people's own content: all its text comes from the
// catalogue. Action routes are sent an empty form, so the refusals their
// forms give at each field are checked too.
func TestPseudoLocaleShowsNoEnglish(t *testing.T) {
	if testing.Short() {
		// Every route for every role: a check of text, run in the plain
		// pass; the race detector would only slow it.
		t.Skip("runs in full without -short")
	}
	fx := newMatrixFixture(t, true)
	fx.ts.app.cfg.PseudoLocale = true
	allowed := userContent(t, fx.ts.store)
	// The certificate code is random: one in about 60 has no digit, which
	// would otherwise read as English words.
	for _, w := range englishWord.FindAllString(fx.certificate, -1) {
		allowed[w] = true
	}
	roles := map[string][]string{}
	for _, rt := range fx.ts.app.routeTable {
		post := strings.HasPrefix(rt.pattern, "POST ")
		for _, role := range matrixRoles {
			c := fx.reader(t, role)
			if post && role != "visitor" {
				c = fx.client(t, role) // what a form does stays with this client
			}
			var cs *testServer
			if role != "visitor" {
				cs = c
			}
			pr := fx.probe(t, cs, rt.pattern, role)
			sep := "?"
			if strings.Contains(pr.path, "?") {
				sep = "&"
			}
			var form io.Reader
			if post {
				// An empty form: the refusal at every field, in words.
				form = strings.NewReader("")
			}
			req, err := http.NewRequest(pr.method, c.URL+pr.path+sep+"lang=qps", form)
			require.NoError(t, err)
			if post {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			res, err := c.client.Do(req)
			require.NoError(t, err)
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") || res.StatusCode/100 == 3 {
				continue
			}
			if words := untranslated(string(body), allowed); len(words) > 0 {
				key := fmt.Sprintf("%s (%d): %s", rt.pattern, res.StatusCode, strings.Join(words, " "))
				roles[key] = append(roles[key], role)
			}
		}
	}
	var problems []string
	for key, rs := range roles {
		problems = append(problems, key+"\n    as "+strings.Join(rs, ", "))
	}
	sort.Strings(problems)
	if len(problems) > 0 {
		t.Errorf("English text outside the catalogue on %d pages:\n%s", len(problems), strings.Join(problems, "\n"))
	}
}
