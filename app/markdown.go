package app

import (
	"bytes"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
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
