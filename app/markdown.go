package app

import (
	"bytes"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
)

// newMarkdown renders material pages. Raw HTML in the source is dropped and
// dangerous link schemes (javascript:, data: ...) are not rendered: goldmark
// does both unless told it is "unsafe", which kelas never does.
func newMarkdown() goldmark.Markdown {
	return goldmark.New(goldmark.WithExtensions(extension.Table, extension.Strikethrough, extension.Linkify))
}

// renderMarkdown returns safe HTML for a material page.
func (a *App) renderMarkdown(src string) (string, error) {
	var buf bytes.Buffer
	if err := a.md.Convert([]byte(src), &buf); err != nil {
		return "", err
	}
	return buf.String(), nil
}
