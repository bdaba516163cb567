package app

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"kelas/store"
	"kelas/views"
)

// Console lists read their search, sort and page from the query string, so
// they work with plain links and GET forms, without JavaScript:
//
//	q     the search text, trimmed and cut at 100 characters (lists that search)
//	sort  a key of the list's whitelist; absent or empty: the list's default
//	dir   "asc" or "desc"; absent or empty: the sort key's own direction
//	      (dates newest first, names A to Z)
//	page  1, 2, …; absent or empty: 1
//
// A parameter that is present but not understood (a sort key the list does
// not offer, a dir other than asc or desc, a page that is not a whole number
// from 1 to maxListPage) answers 400: kelas's own links and forms never send
// one, so it comes from an edited address, and quietly showing something
// else would hide the mistake. A page past the last one shows the last page
// (the list shrank since the link was made). Only a whitelisted key reaches
// the store, which maps it to its own constant ORDER BY columns.

// listPageSize is how many rows a console list shows at once.
const listPageSize = 50

// maxListPage bounds the page number (and so the offset).
const maxListPage = 100000

// sortKey is one column a list may be sorted by and the direction it
// starts in.
type sortKey struct {
	key  string
	desc bool
}

// listSpec is a list's sort whitelist; the first key is the default.
type listSpec []sortKey

func (s listSpec) find(key string) (sortKey, bool) {
	for _, k := range s {
		if k.key == key {
			return k, true
		}
	}
	return sortKey{}, false
}

// listParams are a list's parameters as read from the request.
type listParams struct {
	Q    string
	Sort string
	Desc bool
	Page int
}

// errBadList answers a list parameter that is not understood.
var errBadList = &Error{Status: http.StatusBadRequest, Key: "lists.error.bad_parameter"}

// readList reads and checks the list parameters of r against spec.
func readList(r *http.Request, spec listSpec) (listParams, error) {
	q := r.URL.Query()
	p := listParams{Q: boundedQuery(q.Get("q"), 100), Sort: spec[0].key, Desc: spec[0].desc, Page: 1}
	if v := q.Get("sort"); v != "" {
		k, ok := spec.find(v)
		if !ok {
			return p, errBadList
		}
		p.Sort, p.Desc = k.key, k.desc
	}
	switch q.Get("dir") {
	case "":
	case "asc":
		p.Desc = false
	case "desc":
		p.Desc = true
	default:
		return p, errBadList
	}
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxListPage {
			return p, errBadList
		}
		p.Page = n
	}
	return p, nil
}

// query is the store's window for p.
func (p listParams) query() store.ListQuery {
	return store.ListQuery{Sort: p.Sort, Desc: p.Desc, Limit: listPageSize, Offset: (p.Page - 1) * listPageSize}
}

// pages is how many pages total rows fill (at least one).
func pages(total int) int { return max(1, (total+listPageSize-1)/listPageSize) }

// fetchPage reads p's page through get; a page past the last reads the
// last page instead and p says so.
func fetchPage[T any](p *listParams, get func(store.ListQuery) (store.Page[T], error)) (store.Page[T], error) {
	pg, err := get(p.query())
	if err != nil || p.Page <= pages(pg.Total) {
		return pg, err
	}
	p.Page = pages(pg.Total)
	return get(p.query())
}

// state is what the pager and the column headers need: keep holds the
// list's filters, carried by every link (the search text is added here).
func (p listParams) state(r *http.Request, keep url.Values, total int) views.ListState {
	if keep == nil {
		keep = url.Values{}
	}
	if p.Q != "" {
		keep.Set("q", p.Q)
	}
	// A language chosen for this page only (?lang= without remembering)
	// stays on the next page.
	if l := r.URL.Query().Get("lang"); l != "" {
		keep.Set("lang", l)
	}
	for k, vs := range keep {
		if len(vs) == 0 || len(vs) == 1 && strings.TrimSpace(vs[0]) == "" {
			keep.Del(k)
		}
	}
	return views.ListState{Path: r.URL.Path, Keep: keep, Sort: p.Sort, Desc: p.Desc, Page: p.Page, Pages: pages(total), Total: total}
}

// dayRange reads the "from" and "until" fields of a filter as UTC days
// (YYYY-MM-DD): from is the start of its day, until the start of the day
// after, so the range holds both days whole. A field that is not a day
// gets msg in errs and leaves its end open.
func dayRange(from, until string, errs map[string]string, msg string) (start, end time.Time) {
	for _, d := range []struct {
		name, val string
		dst       *time.Time
		days      int
	}{{"from", from, &start, 0}, {"until", until, &end, 1}} {
		if d.val == "" {
			continue
		}
		t, err := time.Parse(time.DateOnly, d.val)
		if err != nil {
			errs[d.name] = msg
			continue
		}
		*d.dst = t.AddDate(0, 0, d.days)
	}
	return start, end
}
