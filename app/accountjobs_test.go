package app

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func outboxKinds(t *testing.T, ts *testServer) []string {
	t.Helper()
	mails, err := ts.store.OutboxMails(t.Context(), 100)
	require.NoError(t, err)
	var kinds []string
	for _, m := range mails {
		kinds = append(kinds, m.Kind)
	}
	return kinds
}

// TestForgotAndRegisterAnswerBeforeAnyAddressWork: /password/forgot took
// longer for an existing account (its lookup, token and mail ran before the
// answer). Now the answer does the same work for every address: nothing
// that depends on the address runs until the answer is sent. With the
// background workers held, both answers are given and nothing was looked
// up or mailed yet; the same holds for /register.
func TestForgotAndRegisterAnswerBeforeAnyAddressWork(t *testing.T) {
	ts := newTestServer(t)
	res, _ := ts.postForm(t, "/register", registration())
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	before := len(outboxKinds(t, ts))
	held := &heldWork{Background: ts.app.bg} // account jobs wait in a list
	ts.app.bg = held

	post := func(path string, v url.Values) *http.Response {
		req, err := http.NewRequest(http.MethodPost, ts.URL+path, strings.NewReader(v.Encode()))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res, err := ts.client.Do(req)
		require.NoError(t, err)
		res.Body.Close()
		return res
	}
	known := post("/password/forgot", url.Values{"email": {"siti.rahmawati@example.org"}})
	unknown := post("/password/forgot", url.Values{"email": {"nobody@example.org"}})
	assert.Equal(t, known.StatusCode, unknown.StatusCode)
	assert.Equal(t, known.Header.Get("Location"), unknown.Header.Get("Location"))
	ops := ts.app.hasher.Ops()
	again := post("/register", registration())
	fresh := registration()
	fresh.Set("email", "new.person@example.org")
	newcomer := post("/register", fresh)
	assert.Equal(t, again.StatusCode, newcomer.StatusCode)
	assert.Equal(t, again.Header.Get("Location"), newcomer.Header.Get("Location"))
	assert.Equal(t, ops, ts.app.hasher.Ops(), "no hashing before the answer")
	held.mu.Lock()
	defer held.mu.Unlock()
	assert.Len(t, held.jobs, 4, "every answer left the same one job")
	assert.Len(t, outboxKinds(t, ts), before, "nothing mailed before the answers")

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	for _, job := range held.jobs {
		job(ctx)
	}
	kinds := outboxKinds(t, ts)
	assert.Contains(t, kinds, "reset")
	assert.Contains(t, kinds, "duplicate_notice")
	assert.Len(t, kinds, before+3, "a reset, a notice, a new account's link; nothing for the unknown address")
}

// TestDuplicateNoticeAtMostDaily: registering an existing address again
// mailed its owner every time, without limit.
func TestDuplicateNoticeAtMostDaily(t *testing.T) {
	ts := newTestServer(t)
	res, _ := ts.postForm(t, "/register", registration())
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	notices := func() int {
		n := 0
		for _, k := range outboxKinds(t, ts) {
			if k == "duplicate_notice" {
				n++
			}
		}
		return n
	}
	for range 5 {
		res, _ := ts.postForm(t, "/register", registration())
		require.Equal(t, http.StatusSeeOther, res.StatusCode)
	}
	assert.Equal(t, 1, notices(), "one notice however often")
	ts.clock.Add(24 * time.Hour)
	res, _ = ts.postForm(t, "/register", registration())
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Equal(t, 2, notices(), "another the next day")
}

// heldWork holds account jobs instead of running them.
type heldWork struct {
	Background
	mu   sync.Mutex
	jobs []func(context.Context)
}

func (h *heldWork) AfterAnswer(_ context.Context, work func(context.Context)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.jobs = append(h.jobs, work)
}
