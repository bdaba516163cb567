// Package smtptest is a real SMTP server on loopback for tests: it keeps
// and decodes what it receives, can require AUTH and TLS, and can reject.
package smtptest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"io"
	"log"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/require"
)

// Server is a real SMTP server on loopback that keeps what it receives.
// Tests point kelas at URL() and read mail back with Messages or WaitFor.
type Server struct {
	srv *smtp.Server
	// Addr is the host:port the server listens on.
	Addr string
	// Roots trusts the server's certificate when it runs with TLS.
	Roots *x509.CertPool

	addr string // where to listen; empty for a fresh port

	mu       sync.Mutex
	msgs     []Mail
	reject   *smtp.SMTPError
	user     string
	password string
}

// Mail is one message as the server got it, decoded.
type Mail struct {
	From     string   // envelope MAIL FROM
	To       []string // envelope RCPT TO
	AuthUser string   // the user name it authenticated as, if any
	TLS      bool     // whether the session was encrypted
	Subject  string   // decoded
	Header   netmail.Header
	Text     string // decoded text/plain part, with \n line ends
	HTML     string // decoded text/html part, with \n line ends
	Raw      []byte
}

// Option configures New.
type Option func(*Server)

// WithAuth makes the server require AUTH PLAIN with user and password.
func WithAuth(user, password string) Option {
	return func(s *Server) { s.user, s.password = user, password }
}

// AtAddr makes the server listen on addr, e.g. where a stopped one
// listened, instead of a fresh port.
func AtAddr(addr string) Option {
	return func(s *Server) { s.addr = addr }
}

// WithTLS gives the server a certificate for 127.0.0.1, so it offers
// STARTTLS; s.Roots trusts it.
func WithTLS(t *testing.T) Option {
	return func(s *Server) {
		cert, roots := certificate(t)
		s.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		s.Roots = roots
	}
}

// New starts a server on 127.0.0.1:0 that accepts everything until
// told to reject; it stops when the test ends.
func New(t *testing.T, opts ...Option) *Server {
	t.Helper()
	s := &Server{}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{srv: s, conn: c}, nil
	}))
	s.srv.Domain = "localhost"
	s.srv.AllowInsecureAuth = true
	s.srv.ReadTimeout = 10 * time.Second
	s.srv.WriteTimeout = 10 * time.Second
	s.srv.MaxMessageBytes = 4 << 20
	s.srv.ErrorLog = log.New(io.Discard, "", 0)
	for _, o := range opts {
		o(s)
	}
	addr := "127.0.0.1:0"
	if s.addr != "" {
		addr = s.addr
	}
	ln, err := net.Listen("tcp", addr)
	require.NoError(t, err)
	s.Addr = ln.Addr().String()
	go s.srv.Serve(ln)
	t.Cleanup(func() { s.srv.Close() })
	return s
}

// Close stops the server as a relay going down does: it stops listening
// and ends its connections. A server started AtAddr(s.Addr) takes its place.
func (s *Server) Close() error {
	return s.srv.Close()
}

// ServeImplicitTLS starts a second listener that speaks TLS from the first
// byte (smtps://) and returns its address.
func (s *Server) ServeImplicitTLS(t *testing.T) string {
	t.Helper()
	require.NotNil(t, s.srv.TLSConfig, "use WithTLS")
	ln, err := tls.Listen("tcp", "127.0.0.1:0", s.srv.TLSConfig)
	require.NoError(t, err)
	go s.srv.Serve(ln)
	return ln.Addr().String()
}

// URL is the smtp:// URL of the server, with credentials when it requires
// them.
func (s *Server) URL() string {
	u := url.URL{Scheme: "smtp", Host: s.Addr}
	if s.user != "" {
		u.User = url.UserPassword(s.user, s.password)
	}
	return u.String()
}

// Messages returns what arrived so far.
func (s *Server) Messages() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.msgs...)
}

// WaitFor waits (boundedly) until at least n messages arrived and returns
// them all.
func (s *Server) WaitFor(t *testing.T, n int) []Mail {
	t.Helper()
	require.Eventually(t, func() bool { return len(s.Messages()) >= n }, 5*time.Second, 10*time.Millisecond,
		"waiting for %d mail(s), have %d", n, len(s.Messages()))
	// Exactly n: a duplicate or unexpected mail arriving a moment later
	// fails here rather than passing unnoticed.
	time.Sleep(50 * time.Millisecond)
	got := s.Messages()
	require.Len(t, got, n, "expected exactly %d mail(s)", n)
	return got
}

// Reject makes the server answer RCPT TO with code: a 4xx is temporary,
// a 5xx permanent. Its text quotes the address, as real servers do. Code 0
// accepts again.
func (s *Server) Reject(code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if code == 0 {
		s.reject = nil
		return
	}
	enh := smtp.EnhancedCode{code / 100, 1, 1}
	s.reject = &smtp.SMTPError{Code: code, EnhancedCode: enh, Message: "mailbox unavailable"}
}

type session struct {
	srv      *Server
	conn     *smtp.Conn
	authUser string
	from     string
	to       []string
}

func (ss *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (ss *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		ss.srv.mu.Lock()
		defer ss.srv.mu.Unlock()
		if ss.srv.user == "" || username != ss.srv.user || password != ss.srv.password {
			return smtp.ErrAuthFailed
		}
		ss.authUser = username
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	ss.srv.mu.Lock()
	needAuth := ss.srv.user != ""
	ss.srv.mu.Unlock()
	if needAuth && ss.authUser == "" {
		return smtp.ErrAuthRequired
	}
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.srv.mu.Lock()
	rej := ss.srv.reject
	ss.srv.mu.Unlock()
	if rej != nil {
		e := *rej
		e.Message = "<" + to + ">: " + e.Message
		return &e
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, isTLS := ss.conn.TLSConnectionState()
	m, err := parseMail(raw)
	if err != nil {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "unparseable: " + err.Error()}
	}
	m.From, m.To, m.AuthUser, m.TLS = ss.from, ss.to, ss.authUser, isTLS
	ss.srv.mu.Lock()
	ss.srv.msgs = append(ss.srv.msgs, m)
	ss.srv.mu.Unlock()
	return nil
}

func (ss *session) Reset()        { ss.from, ss.to = "", nil }
func (ss *session) Logout() error { return nil }

// parseMail decodes headers and the text and HTML parts of raw,
// walking nested multiparts and undoing quoted-printable and base64.
func parseMail(raw []byte) (Mail, error) {
	msg, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return Mail{}, err
	}
	m := Mail{Header: msg.Header, Raw: raw}
	dec := new(mime.WordDecoder)
	if m.Subject, err = dec.DecodeHeader(msg.Header.Get("Subject")); err != nil {
		return m, err
	}
	ct := msg.Header.Get("Content-Type")
	if err := walkPart(ct, msg.Header.Get("Content-Transfer-Encoding"), msg.Body, &m); err != nil {
		return m, err
	}
	// Line ends come back as in the sent text; a single-part body also loses
	// the line end that SMTP's DATA needs after it.
	m.Text = strings.ReplaceAll(m.Text, "\r\n", "\n")
	m.HTML = strings.ReplaceAll(m.HTML, "\r\n", "\n")
	if !strings.HasPrefix(strings.ToLower(ct), "multipart/") {
		m.Text = strings.TrimSuffix(m.Text, "\n")
		m.HTML = strings.TrimSuffix(m.HTML, "\n")
	}
	return m, nil
}

func walkPart(contentType, encoding string, body io.Reader, m *Mail) error {
	if contentType == "" {
		contentType = "text/plain"
	}
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return err
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
			if err := walkPart(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p, m); err != nil {
				return err
			}
		}
	}
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, body)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	switch mt {
	case "text/plain":
		m.Text += string(b)
	case "text/html":
		m.HTML += string(b)
	}
	return nil
}

// certificate makes a self-signed certificate for 127.0.0.1 and
// localhost, and a pool that trusts it.
func certificate(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "kelas test smtp"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}, roots
}
