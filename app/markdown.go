package app

import (
	"bytes"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/text"
)

// newMarkdown renders material pages. Raw HTML in the source is dropped and
// dangerous link schemes (javascript:, data: ...) are not rendered: goldmark
// does both unless told it is "unsafe", which kelas never does. Links to
// other sites go through the "you are leaving" notice (leaving.go).
func newMarkdown() goldmark.Markdown {
	return goldmark.New(goldmark.WithExtensions(extension.Table, extension.Strikethrough, extension.Linkify),
		goldmark.WithParserOptions(markdownOptions()))
}

// renderMarkdown returns safe HTML for a material page.
func (a *App) renderMarkdown(src string) (string, error) {
	var buf bytes.Buffer
	if err := a.md.Convert([]byte(src), &buf); err != nil {
		return "", err
	}
	return buf.String(), nil
}

// renderMarkdownUnder renders src as renderMarkdown does, for a section of
// a page under a heading of the given level: its headings move down
// below it ("#" becomes level+1), so the page keeps one outline.
func (a *App) renderMarkdownUnder(src string, level int) (string, error) {
	b := []byte(src)
	doc := a.md.Parser().Parse(text.NewReader(b))
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if h, ok := n.(*ast.Heading); ok && entering {
			h.Level = min(h.Level+level, 6)
		}
		return ast.WalkContinue, nil
	})
	var buf bytes.Buffer
	if err := a.md.Renderer().Render(&buf, b, doc); err != nil {
		return "", err
	}
	return buf.String(), nil
}
