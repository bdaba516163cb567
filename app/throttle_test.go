package app

import (
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"
)

// postFrom posts a form as if from client address ip (through the trusted
// loopback proxy).
func (ts *testServer) postFrom(t *testing.T, ip, path string, v url.Values) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, ts.URL+path, strings.NewReader(v.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-For", ip)
	return ts.do(t, req)
}

func proxied(c *Config) { c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")} }

// TestWrongPasswordsElsewhereDoNotLockTheOwnerOut: five wrong passwords
// from anywhere used to lock the owner out for 15 minutes, renewable by
// anyone forever. Now failures count per account and client network.
func TestWrongPasswordsElsewhereDoNotLockTheOwnerOut(t *testing.T) {
	ts := newTestServer(t, proxied)
	res, _ := ts.postForm(t, "/register", registration())
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	wrong := url.Values{"email": {"siti.rahmawati@example.org"}, "password": {"not the password"}}
	for i := range 6 {
		res, _ := ts.postFrom(t, "203.0.113.9", "/login", wrong)
		if i < 5 {
			require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
		} else {
			require.Equal(t, http.StatusTooManyRequests, res.StatusCode, "the guessing network is held")
		}
	}
	owner := ts.newClient(t)
	res, _ = owner.postFrom(t, "198.51.100.20", "/login", url.Values{"email": {"siti.rahmawati@example.org"}, "password": {"kain batik tulis 2026"}})
	assert.Equal(t, http.StatusSeeOther, res.StatusCode, "the owner, elsewhere, logs in")
}

// TestGlobalCeilingSparesKnownNetworks: guessing from many networks hits
// the slower per-account ceiling, which does not hold the network the owner
// logged in from before.
func TestGlobalCeilingSparesKnownNetworks(t *testing.T) {
	ts := newTestServer(t, proxied)
	res, _ := ts.postForm(t, "/register", registration())
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	right := url.Values{"email": {"siti.rahmawati@example.org"}, "password": {"kain batik tulis 2026"}}
	res, _ = ts.newClient(t).postFrom(t, "198.51.100.20", "/login", right)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	wrong := url.Values{"email": {"siti.rahmawati@example.org"}, "password": {"not the password"}}
	for i := range ts.app.limits.loginGlobal.limit {
		res, _ := ts.postFrom(t, "203.0.113."+strconv.Itoa(i%250+1), "/login", wrong)
		require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	}
	res, _ = ts.postFrom(t, "192.0.2.1", "/login", right)
	assert.Equal(t, http.StatusTooManyRequests, res.StatusCode, "a new network waits")
	res, _ = ts.newClient(t).postFrom(t, "198.51.100.20", "/login", right)
	assert.Equal(t, http.StatusSeeOther, res.StatusCode, "the owner's known network does not")
}

// TestIPv6ThrottledPerSlash64: each address of a /64 used to be its own
// key, so one subscriber had unlimited attempts.
func TestIPv6ThrottledPerSlash64(t *testing.T) {
	ts := newTestServer(t, proxied)
	limit := ts.app.limits.loginIP.limit
	for i := range limit {
		ip := "2001:db8:1:2::" + strconv.FormatInt(int64(i+1), 16)
		res, _ := ts.postFrom(t, ip, "/login", url.Values{"email": {"user" + strconv.Itoa(i) + "@example.org"}, "password": {"whatever123"}})
		require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	}
	res, _ := ts.postFrom(t, "2001:db8:1:2:ffff:ffff:ffff:fffe", "/login", url.Values{"email": {"fresh@example.org"}, "password": {"whatever123"}})
	assert.Equal(t, http.StatusTooManyRequests, res.StatusCode, "the same /64")
	res, _ = ts.postFrom(t, "2001:db8:1:3::1", "/login", url.Values{"email": {"fresh@example.org"}, "password": {"whatever123"}})
	assert.Equal(t, http.StatusUnprocessableEntity, res.StatusCode, "another /64")
}

// TestLimiterEvictsOldestWhenFull: a full limiter used to stop tracking new
// keys (failing open); now it forgets the oldest windows instead.
func TestLimiterEvictsOldestWhenFull(t *testing.T) {
	clock := &testClock{now: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	l := newLimiter(2, time.Hour, clock.Now)
	l.maxKeys = 3
	for _, k := range []string{"a", "b", "c"} {
		l.hit(k)
		clock.Add(time.Second)
	}
	l.hit("attacker")
	l.hit("attacker")
	blocked, _ := l.blocked("attacker")
	assert.True(t, blocked, "a new key is tracked even when the map is full of live windows")
	assert.Len(t, l.hits, 3)
	assert.False(t, l.seen("a"), "the oldest went")
	assert.True(t, l.seen("c"))
	l.reset("c")
	assert.Equal(t, l.order.Len(), len(l.hits))
}

func TestClientNetwork(t *testing.T) {
	assert.Equal(t, "203.0.113.9", clientNetwork(netip.MustParseAddr("203.0.113.9")))
	assert.Equal(t, "2001:db8:1:2::/64", clientNetwork(netip.MustParseAddr("2001:db8:1:2:aaaa::1")))
}

// TestDummyHashIsMadeInTheBackground: newHasher returns before the dummy
// hash exists (kelas listens at once), and an unknown account's login waits
// for it rather than answering faster.
func TestDummyHashIsMadeInTheBackground(t *testing.T) {
	h := newHasher(14) // about a second or more: long enough to look before it is done
	go h.makeDummy()   // as New has the runner do
	select {
	case <-h.dummyReady:
		t.Fatal("the dummy hash was made before newHasher returned")
	default:
	}
	ok, err := h.compare(t.Context(), "", "any password")
	require.NoError(t, err)
	assert.False(t, ok)
	select {
	case <-h.dummyReady:
	default:
		t.Fatal("an unknown account was answered without the dummy comparison")
	}
	assert.NoError(t, bcrypt.CompareHashAndPassword(h.dummy, []byte("kelas dummy password")), "a real hash of the dummy password")
	cost, err := bcrypt.Cost(h.dummy)
	require.NoError(t, err)
	assert.Equal(t, 14, cost, "the same cost as real hashes")
}
