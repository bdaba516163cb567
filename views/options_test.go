package views

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A select rendered from prerendered Options is byte for byte the select
// rendered from the same groups, whatever is selected.
func TestPrerenderedOptionsRenderLikeGroups(t *testing.T) {
	groups := []OptionGroup{
		{Label: "ASEAN member states", Options: []Option{{Value: "ID", Label: "Indonesia"}, {Value: "MY", Label: "Malaysia"}}},
		{Label: `Others & "friends"`, Options: []Option{{Value: "CI", Label: "Côte d'Ivoire"}, {Value: `<x>`, Label: "<b>bold</b>"}}},
		{Options: []Option{{Value: "ZZ", Label: "No group"}, {Value: "ID", Label: "Indonesia again"}}},
	}
	opts := NewOptions(groups)
	for _, value := range []string{"", "ID", "MY", "CI", "<x>", "ZZ", "unknown"} {
		var want, got strings.Builder
		require.NoError(t, selectField(fieldSelect{Filter: true, Name: "country", Label: "Country", Value: value, Groups: groups, Blank: "Any"}).
			Render(t.Context(), &want))
		require.NoError(t, selectField(fieldSelect{Filter: true, Name: "country", Label: "Country", Value: value, Options: opts, Blank: "Any"}).
			Render(t.Context(), &got))
		assert.Equal(t, want.String(), got.String(), "selected %q", value)
		if value == "ID" {
			assert.Equal(t, 2, strings.Count(got.String(), " selected"), "every option with the value is selected")
		}
	}
}
