package views

import (
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"kelas/i18n"
)

// The column header of the current sort links to the other direction with
// aria-sort; another column links to its own default direction; every link
// keeps the list's filters and starts again at page 1.
func TestSortHeaderAndPager(t *testing.T) {
	ctx := i18n.With(t.Context(), i18n.NewPrinter(i18n.Default, nil, "kelas"))
	l := ListState{Path: "/console/audit", Keep: url.Values{"action": {"grant"}}, Sort: "when", Desc: true, Page: 2, Pages: 3, Total: 120}
	var b strings.Builder
	require.NoError(t, sortHeader(l, "when", "When").Render(ctx, &b))
	require.NoError(t, sortHeader(l, "action", "Action").Render(ctx, &b))
	require.NoError(t, pager(l).Render(ctx, &b))
	d, err := goquery.NewDocumentFromReader(strings.NewReader("<table><tr>" + b.String()))
	require.NoError(t, err)

	when := d.Find(`[data-testid="sort-when"]`)
	assert.Equal(t, "descending", when.AttrOr("aria-sort", ""))
	assert.Equal(t, "/console/audit?action=grant&dir=asc&sort=when", when.Find("a").AttrOr("href", ""))
	action := d.Find(`[data-testid="sort-action"]`)
	_, sorted := action.Attr("aria-sort")
	assert.False(t, sorted)
	assert.Equal(t, "/console/audit?action=grant&sort=action", action.Find("a").AttrOr("href", ""))

	assert.Equal(t, "/console/audit?action=grant&dir=desc&sort=when", d.Find(`[data-testid="pager-prev"]`).AttrOr("href", ""))
	assert.Equal(t, "/console/audit?action=grant&dir=desc&page=3&sort=when", d.Find(`[data-testid="pager-next"]`).AttrOr("href", ""))
	assert.Equal(t, "Page 2 of 3", d.Find(`[data-testid="pager-page"]`).Text())
	assert.Equal(t, "120 entries", d.Find(`[data-testid="pager-count"]`).Text())

	// One page: the count, no page links.
	b.Reset()
	require.NoError(t, pager(ListState{Path: "/console/members", Page: 1, Pages: 1, Total: 1}).Render(ctx, &b))
	assert.Contains(t, b.String(), "1 entry")
	assert.NotContains(t, b.String(), "pager-page")
}
