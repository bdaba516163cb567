package app

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestHostCheck: kelas answered any Host, so a page on a hostile domain
// resolving to a kelas on a private address could use it (DNS rebinding).
func TestHostCheck(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.BaseURL = "https://learn.example.org" })
	for host, want := range map[string]int{
		"learn.example.org":      http.StatusOK,
		"LEARN.example.org:443":  http.StatusOK,
		"127.0.0.1:8080":         http.StatusOK,
		"localhost":              http.StatusOK,
		"[::1]:8080":             http.StatusOK,
		"attacker.example":       http.StatusMisdirectedRequest,
		"learn.example.org.evil": http.StatusMisdirectedRequest,
		"10.0.0.5:8080":          http.StatusMisdirectedRequest,
	} {
		req, err := http.NewRequest(http.MethodGet, ts.URL+"/healthz", nil)
		require.NoError(t, err)
		req.Host = host
		res, _ := ts.do(t, req)
		assert.Equal(t, want, res.StatusCode, host)
	}
	dom := newTestServer(t, func(c *Config) { c.Domain = "kelas.example.net" })
	assert.True(t, dom.app.allowedHost("kelas.example.net"))
	assert.False(t, dom.app.allowedHost("other.example.net"))
}

// TestSlowBodyIsCutOff: a client trickling a form body held the connection
// for two minutes; now a form body has seconds (BodyTimeout).
func TestSlowBodyIsCutOff(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.BodyTimeout = 300 * time.Millisecond })
	conn, err := net.Dial("tcp", strings.TrimPrefix(ts.URL, "http://"))
	require.NoError(t, err)
	defer conn.Close()
	start := time.Now()
	_, err = conn.Write([]byte("POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 200\r\n\r\nemail=a"))
	require.NoError(t, err)
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(5*time.Second)))
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err == nil {
		res.Body.Close()
		assert.GreaterOrEqual(t, res.StatusCode, 400)
	}
	assert.Less(t, time.Since(start), 3*time.Second, "the server gave up on the body")
	assert.Equal(t, 10*time.Second+time.Duration((20<<20)/minUploadRate)*time.Second,
		newTestServer(t).app.bodyDeadline(20<<20), "an upload gets time by size")
}
