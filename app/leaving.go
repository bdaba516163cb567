package app

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"

	"kelas/views"
)

// maxLeavingURL bounds the address /leaving accepts.
const maxLeavingURL = 2048

// externalURL parses an absolute http(s) address of another site: no
// credentials in it, no control characters. ok is false for anything else
// (a relative link, another scheme), which is not an external link.
func externalURL(s string) (*url.URL, bool) {
	if s == "" || len(s) > maxLeavingURL || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return nil, false
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return nil, false
	}
	return u, true
}

// leavingLink is the address of the notice shown before an external link.
func leavingLink(dest string) string { return "/leaving?to=" + url.QueryEscape(dest) }

// GET /leaving
func (a *App) handleLeaving(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	if len(q["to"]) != 1 {
		return errBadRequest
	}
	u, ok := externalURL(q.Get("to"))
	if !ok {
		return errBadRequest
	}
	// The site left for learns nothing of the page the person came from.
	w.Header().Set("Referrer-Policy", "no-referrer")
	back := "/"
	if ref, err := url.Parse(r.Referer()); err == nil && ref.Host == r.Host {
		back = safeNext(ref.RequestURI())
	}
	return a.render(w, r, http.StatusOK, views.Leaving(a.page(r, tr(r, "leaving.title")), views.LeavingPage{
		URL: u.String(), Host: u.Hostname(), Back: back}))
}

// externalLinks sends every link of training content that leaves kelas
// through /leaving, so people are told whose privacy policy applies
// before they go. Links to pages of kelas itself stay as they are.
type externalLinks struct{}

func (externalLinks) Transform(doc *ast.Document, reader text.Reader, _ parser.Context) {
	src := reader.Source()
	var autolinks []*ast.AutoLink
	ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch l := n.(type) {
		case *ast.Link:
			if _, ok := externalURL(string(l.Destination)); ok {
				l.Destination = []byte(leavingLink(string(l.Destination)))
			}
		case *ast.AutoLink:
			autolinks = append(autolinks, l)
		}
		return ast.WalkContinue, nil
	})
	for _, al := range autolinks {
		dest := string(al.URL(src))
		if al.AutoLinkType == ast.AutoLinkURL && !strings.Contains(dest, "://") {
			dest = "http://" + dest // linkify's www.example.org
		}
		if _, ok := externalURL(dest); !ok {
			continue
		}
		link := ast.NewLink()
		link.Destination = []byte(leavingLink(dest))
		link.AppendChild(link, ast.NewString(al.Label(src)))
		al.Parent().ReplaceChild(al.Parent(), al, link)
	}
}

// markdownOptions are the parser options of training content.
func markdownOptions() parser.Option {
	return parser.WithASTTransformers(util.Prioritized(externalLinks{}, 100))
}
