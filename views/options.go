package views

import (
	"context"
	"io"
	"strings"

	"github.com/a-h/templ"
)

// Options is an option list rendered once: long fixed lists (every country,
// every language) would otherwise be rendered and escaped option by option
// on every page that offers them. Rendering with a selected value only
// inserts " selected" at the right places. The HTML is exactly what
// selectField renders from the same groups (options_test.go).
type Options struct {
	html string
	at   map[string][]int // value → offsets just after its value attribute
}

// NewOptions renders groups once.
func NewOptions(groups []OptionGroup) *Options {
	var b strings.Builder
	o := &Options{at: map[string][]int{}}
	option := func(opt Option) {
		b.WriteString(`<option value="`)
		b.WriteString(templ.EscapeString(opt.Value))
		b.WriteString(`"`)
		o.at[opt.Value] = append(o.at[opt.Value], b.Len())
		b.WriteString(`>`)
		b.WriteString(templ.EscapeString(opt.Label))
		b.WriteString(`</option>`)
	}
	for _, g := range groups {
		if g.Label == "" {
			for _, opt := range g.Options {
				option(opt)
			}
			continue
		}
		b.WriteString(`<optgroup label="`)
		b.WriteString(templ.EscapeString(g.Label))
		b.WriteString(`">`)
		for _, opt := range g.Options {
			option(opt)
		}
		b.WriteString(`</optgroup>`)
	}
	o.html = b.String()
	return o
}

// selected writes the options with value selected.
func (o *Options) selected(value string) templ.Component {
	return templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
		last := 0
		for _, i := range o.at[value] {
			if _, err := io.WriteString(w, o.html[last:i]); err != nil {
				return err
			}
			if _, err := io.WriteString(w, " selected"); err != nil {
				return err
			}
			last = i
		}
		_, err := io.WriteString(w, o.html[last:])
		return err
	})
}
