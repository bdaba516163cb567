package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
)

type ctxKey int

const (
	ctxRequestID ctxKey = iota
	ctxClientIP
	ctxUser
	ctxSession
	ctxStaff
	ctxLangChosen
)

// requestID tags every request with a random id, echoed in X-Request-Id and
// in every log line about it, and records the client address.
func (a *App) requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := make([]byte, 8)
		rand.Read(b)
		id := hex.EncodeToString(b)
		w.Header().Set("X-Request-Id", id)
		ctx := context.WithValue(r.Context(), ctxRequestID, id)
		ctx = context.WithValue(ctx, ctxClientIP, clientIP(r.RemoteAddr, r.Header.Values("X-Forwarded-For"), a.cfg.TrustedProxies))
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(ctxRequestID).(string)
	return id
}

// ClientIP is the address of the person making the request, as established
// by clientIP. It is personal data: never log it.
func ClientIP(ctx context.Context) netip.Addr {
	ip, _ := ctx.Value(ctxClientIP).(netip.Addr)
	return ip
}

// clientIP believes X-Forwarded-For only when the direct peer is a trusted
// proxy, and then walks the chain from the right, skipping further trusted
// proxies, so a client cannot choose its own address by sending the header.
func clientIP(remoteAddr string, xff []string, trusted []netip.Prefix) netip.Addr {
	peer := parseAddr(remoteAddr)
	if !peer.IsValid() || !isTrusted(peer, trusted) || len(xff) == 0 {
		return peer
	}
	hops := strings.Split(strings.Join(xff, ","), ",")
	if len(hops) > 32 {
		hops = hops[len(hops)-32:]
	}
	for i := len(hops) - 1; i >= 0; i-- {
		ip := parseAddr(strings.TrimSpace(hops[i]))
		if !ip.IsValid() {
			// A malformed hop: stop believing the chain here.
			return peer
		}
		if !isTrusted(ip, trusted) {
			return ip
		}
		peer = ip
	}
	return peer
}

// parseAddr accepts "ip", "ip:port" and "[ipv6]:port"; the result is
// unmapped (IPv4 in IPv6 becomes IPv4) and has no zone.
func parseAddr(v string) netip.Addr {
	if host, _, err := net.SplitHostPort(v); err == nil {
		v = host
	}
	ip, err := netip.ParseAddr(v)
	if err != nil {
		return netip.Addr{}
	}
	return ip.Unmap().WithZone("")
}

func isTrusted(ip netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// contentSecurityPolicy allows nothing inline and nothing from elsewhere.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"

// securityHeaders sets the headers every response carries, error pages
// included, before anything else can write.
func (a *App) securityHeaders(next http.Handler) http.Handler {
	secure := a.cfg.Secure()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=(), browsing-topics=(), interest-cohort=()")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		if secure {
			h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		next.ServeHTTP(w, r)
	})
}

// recoverPanics turns a panic into the 500 page and one log line.
func (a *App) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			a.log.Error("panic", "request_id", requestID(r.Context()), "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			w.Header().Set("Connection", "close")
			a.errorPage(w, r, http.StatusInternalServerError)
		}()
		next.ServeHTTP(w, r)
	})
}

// statusRecorder remembers the status a handler wrote, for the request log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// logRequests writes one line per request: the route pattern (never the raw
// path, which may carry tokens), status and duration. No addresses, no
// user agents.
func (a *App) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if r.Pattern == "GET /static/" || r.Pattern == "GET /healthz" {
			return
		}
		attrs := []any{"request_id", requestID(r.Context()), "method", r.Method, "route", r.Pattern,
			"status", rec.status, "ms", time.Since(start).Milliseconds()}
		if r.Context().Err() != nil {
			// Status is what was written before the client went away (0:
			// nothing); no error is logged for it.
			attrs = append(attrs, "client_gone", true)
		}
		a.log.Info("request", attrs...)
	})
}

// crossOrigin refuses state-changing requests sent by a browser from another
// origin (CSRF), using Sec-Fetch-Site and Origin.
func (a *App) crossOrigin(next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	// One-click unsubscribe (RFC 8058): mail providers POST the link from
	// their own servers, cross-site by nature. The signed token in the path
	// is the only authority the handler uses; no cookie is involved.
	cop.AddInsecureBypassPattern("POST /unsubscribe/{token}")
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.errorPage(w, r, http.StatusForbidden)
	}))
	return cop.Handler(next)
}

// limitBody bounds what a route reads. A declared length over the limit is
// refused at once with 413; an undeclared one fails when reading passes it.
func (a *App) limitBody(n int64, next http.Handler) http.Handler {
	deadline := a.bodyDeadline(n)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > n {
			w.Header().Set("Connection", "close")
			a.errorPage(w, r, http.StatusRequestEntityTooLarge)
			return
		}
		// A body must arrive at a modest pace: a form within seconds, an
		// upload within the time its size needs. A client that trickles
		// bytes no longer holds the connection for minutes.
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(deadline))
		}
		r.Body = http.MaxBytesReader(w, r.Body, n)
		next.ServeHTTP(w, r)
	})
}

// minUploadRate is the slowest upload kelas waits for (about a poor mobile
// connection).
const minUploadRate = 32 << 10 // bytes per second

// bodyDeadline is how long a body of at most n bytes may take to arrive:
// the form time (Config.BodyTimeout) plus n at minUploadRate.
func (a *App) bodyDeadline(n int64) time.Duration {
	return a.cfg.BodyTimeout + time.Duration(n/minUploadRate)*time.Second
}

// allowedHost reports whether a request's Host names this kelas: the host
// of the base URL or the domain, or a loopback name or address. Any other
// name is refused, so a page on a hostile domain that resolves to a kelas
// on a private address (DNS rebinding) cannot use it.
func (a *App) allowedHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	if host == "" {
		return false
	}
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	if ip, err := netip.ParseAddr(host); err == nil && ip.Unmap().IsLoopback() {
		return true
	}
	if a.cfg.Domain != "" && strings.EqualFold(host, a.cfg.Domain) {
		return true
	}
	if u, err := url.Parse(a.cfg.BaseURL); err == nil && a.cfg.BaseURL != "" && strings.EqualFold(host, u.Hostname()) {
		return true
	}
	if h, _, err := net.SplitHostPort(a.cfg.Addr); err == nil && h != "" {
		if ip, err := netip.ParseAddr(h); err != nil || !ip.IsUnspecified() {
			return strings.EqualFold(host, strings.Trim(h, "[]"))
		}
	}
	return false
}

// checkHost refuses requests for any host name kelas is not configured for
// with 421 Misdirected Request, before anything else runs.
func (a *App) checkHost(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !a.allowedHost(r.Host) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Header().Set("Connection", "close")
			w.WriteHeader(http.StatusMisdirectedRequest)
			io.WriteString(w, "This server does not answer for that host name.\n")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// retryAfter sets Retry-After in whole seconds, at least one.
func retryAfter(w http.ResponseWriter, d time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(max(1, int((d+time.Second-1)/time.Second))))
}
