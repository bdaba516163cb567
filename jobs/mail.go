package jobs

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	netmail "net/mail"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"kelas/store"

	gomail "github.com/wneessen/go-mail"
)

// Mail is one outgoing message as handed to a Mailer.
type Mail struct {
	// FromName is the sender's display name; the address is the
	// mailer's own. Empty: the name KELAS_MAIL_FROM gives, if any.
	FromName string
	To       string
	Subject  string
	Text     string
	HTML     string
	// Headers are extra headers, e.g. List-Unsubscribe.
	Headers map[string]string
}

// Mailer delivers one message. The SMTP implementation is the real one;
// tests use it against an SMTP server on loopback.
type Mailer interface {
	Send(ctx context.Context, m Mail) error
}

// smtpTimeout bounds connecting and each SMTP command, so a stalled server
// cannot hold the outbox loop.
const smtpTimeout = 30 * time.Second

// smtpConfig is a parsed KELAS_SMTP_URL.
type smtpConfig struct {
	host        string
	port        int
	implicitTLS bool // smtps://: TLS from the first byte
	requireTLS  bool // smtp://...?starttls=required
	user, pass  string
}

// smtpURLForms ends every URL error: it shows the accepted shapes and never
// repeats the URL, which may hold a password.
const smtpURLForms = "want smtp://[user:pass@]host[:port][?starttls=required] or smtps://[user:pass@]host[:port]"

// SMTPRelay reads KELAS_SMTP_URL as the mailer does and names its relay,
// host:port, for `kelas doctor`.
func SMTPRelay(rawURL string) (string, error) {
	c, err := parseSMTPURL(rawURL)
	if err != nil {
		return "", err
	}
	return net.JoinHostPort(c.host, strconv.Itoa(c.port)), nil
}

// parseSMTPURL reads KELAS_SMTP_URL. smtp:// uses STARTTLS when the server
// offers it (or demands it with ?starttls=required) and defaults to port
// 587; smtps:// is TLS from the start and defaults to port 465. Errors
// never contain the password, nor any other part of the userinfo.
func parseSMTPURL(raw string) (smtpConfig, error) {
	var c smtpConfig
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error repeats the whole URL: say only that it did not parse.
		return c, fmt.Errorf("mail: the SMTP URL does not parse; %s", smtpURLForms)
	}
	switch u.Scheme {
	case "smtp":
		c.port = 587
	case "smtps":
		c.port, c.implicitTLS = 465, true
	case "":
		return c, fmt.Errorf("mail: the SMTP URL has no scheme; %s", smtpURLForms)
	default:
		return c, fmt.Errorf("mail: SMTP URL scheme %q is not supported; %s", u.Scheme, smtpURLForms)
	}
	if u.Opaque != "" || u.Host == "" {
		return c, fmt.Errorf("mail: the SMTP URL has no host; %s", smtpURLForms)
	}
	if (u.Path != "" && u.Path != "/") || u.Fragment != "" {
		return c, fmt.Errorf("mail: the SMTP URL must not have a path or fragment; %s", smtpURLForms)
	}
	c.host = u.Hostname()
	if c.host == "" {
		return c, fmt.Errorf("mail: the SMTP URL has no host; %s", smtpURLForms)
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return c, fmt.Errorf("mail: the SMTP URL port is not a number from 1 to 65535; %s", smtpURLForms)
		}
		c.port = n
	}
	if u.User != nil {
		c.user = u.User.Username()
		c.pass, _ = u.User.Password()
		if c.user == "" {
			return c, fmt.Errorf("mail: the SMTP URL has a password but no user name; %s", smtpURLForms)
		}
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return c, fmt.Errorf("mail: the SMTP URL query does not parse; %s", smtpURLForms)
	}
	for k, v := range q {
		switch {
		case k == "starttls" && len(v) == 1 && v[0] == "required":
			c.requireTLS = true
		case k == "starttls" && len(v) == 1 && v[0] == "opportunistic":
		case k == "starttls":
			return c, errors.New("mail: SMTP URL option starttls must be required or opportunistic")
		default:
			return c, fmt.Errorf("mail: unknown SMTP URL option %q; %s", k, smtpURLForms)
		}
	}
	if c.implicitTLS && q.Has("starttls") {
		return c, errors.New("mail: starttls does not apply to smtps://, which is TLS from the start")
	}
	return c, nil
}

// defaultFrom picks a sender when KELAS_MAIL_FROM is empty: the SMTP user
// name when it is an address (most providers only relay mail from the
// mailbox one logs in as), otherwise kelas@ the relay's host name, or
// kelas@localhost when the relay is named by an IP address.
func defaultFrom(c smtpConfig) string {
	if a, err := netmail.ParseAddress(c.user); err == nil && a.Name == "" {
		return a.Address
	}
	if net.ParseIP(c.host) != nil || c.host == "localhost" {
		return "kelas@localhost"
	}
	return "kelas@" + c.host
}

// smtpMailer sends each message over its own SMTP connection. It is safe for
// concurrent use: it holds only configuration.
type smtpMailer struct {
	cfg    smtpConfig
	from   netmail.Address // KELAS_MAIL_FROM: the address, and a display name if it has one
	domain string          // of the From address, for Message-IDs
	roots  *x509.CertPool  // nil: the system roots; tests pass their own
}

// NewSMTPMailer builds the SMTP Mailer from KELAS_SMTP_URL and
// KELAS_MAIL_FROM. An empty from falls back to defaultFrom. Authentication
// (PLAIN or LOGIN, whichever the server offers) is used only when the URL
// has a user name, and PLAIN/LOGIN are never sent unencrypted except to
// localhost.
func NewSMTPMailer(rawURL, from string) (Mailer, error) {
	return newSMTPMailer(rawURL, from, nil)
}

func newSMTPMailer(rawURL, from string, roots *x509.CertPool) (*smtpMailer, error) {
	cfg, err := parseSMTPURL(rawURL)
	if err != nil {
		return nil, err
	}
	if from == "" {
		from = defaultFrom(cfg)
	}
	a, err := netmail.ParseAddress(from)
	if err != nil {
		return nil, errors.New("mail: the sender address (KELAS_MAIL_FROM) is not a valid address")
	}
	_, domain, _ := strings.Cut(a.Address, "@")
	return &smtpMailer{cfg: cfg, from: *a, domain: domain, roots: roots}, nil
}

// reservedHeaders are built by the mailer itself; Mail.Headers may not set them.
var reservedHeaders = map[string]bool{
	"From": true, "To": true, "Cc": true, "Bcc": true, "Subject": true, "Date": true, "Message-Id": true,
	"Mime-Version": true, "Content-Type": true, "Content-Transfer-Encoding": true, "Sender": true, "Return-Path": true,
}

// message builds the MIME message: multipart/alternative when there are
// both a text and an HTML body. Errors never include the address.
func (s *smtpMailer) message(m Mail) (*gomail.Msg, error) {
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	from := s.from
	if m.FromName != "" {
		from.Name = m.FromName
	}
	// net/mail quotes the name, or encodes it (RFC 2047) when it is not
	// ASCII.
	if err := msg.From(from.String()); err != nil {
		return nil, &sendError{stage: "address", permanent: true}
	}
	if err := msg.To(m.To); err != nil {
		return nil, &sendError{stage: "address", permanent: true}
	}
	msg.Subject(m.Subject)
	msg.SetDate()
	msg.SetMessageIDWithValue(store.NewID() + "@" + s.domain)
	for k, v := range m.Headers {
		name := textproto.CanonicalMIMEHeaderKey(k)
		if !validHeaderName(k) || reservedHeaders[name] || strings.ContainsAny(v, "\r\n\x00") {
			return nil, &sendError{stage: "header", permanent: true}
		}
		msg.SetGenHeader(gomail.Header(k), v)
	}
	switch {
	case m.Text != "" && m.HTML != "":
		msg.SetBodyString(gomail.TypeTextPlain, m.Text)
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	case m.HTML != "":
		msg.SetBodyString(gomail.TypeTextHTML, m.HTML)
	default:
		msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	}
	return msg, nil
}

// validHeaderName accepts RFC 5322 field names: printable ASCII but ':'.
func validHeaderName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		if c := k[i]; c <= ' ' || c > '~' || c == ':' {
			return false
		}
	}
	return true
}

// Send delivers m over one SMTP connection. A failure is a *sendError,
// which says where it failed and whether retrying can help but carries no
// server text (servers quote the recipient's address).
func (s *smtpMailer) Send(ctx context.Context, m Mail) error {
	msg, err := s.message(m)
	if err != nil {
		return err
	}
	var mu sync.Mutex
	var conn net.Conn
	opts := []gomail.Option{
		gomail.WithPort(s.cfg.port),
		gomail.WithTimeout(smtpTimeout),
		gomail.WithTLSConfig(&tls.Config{ServerName: s.cfg.host, MinVersion: tls.VersionTLS12, RootCAs: s.roots}),
		// Dial ourselves so that a connection whose greeting, STARTTLS or
		// AUTH fails is closed rather than left to the garbage collector.
		gomail.WithDialContextFunc(func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := s.dial(ctx, network, addr)
			mu.Lock()
			conn = c
			mu.Unlock()
			return c, err
		}),
	}
	switch {
	case s.cfg.implicitTLS:
		opts = append(opts, gomail.WithSSL())
	case s.cfg.requireTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	}
	if s.cfg.user != "" {
		opts = append(opts, gomail.WithUsername(s.cfg.user), gomail.WithPassword(s.cfg.pass),
			gomail.WithOpportunisticSMTPAuth(gomail.SMTPAuthPlain, gomail.SMTPAuthLogin))
	}
	client, err := gomail.NewClient(s.cfg.host, opts...)
	if err != nil {
		return &sendError{stage: "config", permanent: false}
	}
	sc, err := client.DialToSMTPClientWithContext(ctx)
	if err != nil {
		mu.Lock()
		if conn != nil {
			conn.Close()
		}
		mu.Unlock()
		return dialError(ctx, err)
	}
	err = client.SendWithSMTPClient(sc, msg)
	// The message is accepted once the server answered the end of DATA; a
	// failing QUIT or RSET after that does not undo it.
	_ = client.CloseWithSMTPClient(sc)
	if err != nil && !msg.IsDelivered() {
		return transactionError(ctx, err)
	}
	return nil
}

func (s *smtpMailer) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{Timeout: smtpTimeout}
	if !s.cfg.implicitTLS {
		return d.DialContext(ctx, network, addr)
	}
	td := &tls.Dialer{NetDialer: d, Config: &tls.Config{ServerName: s.cfg.host, MinVersion: tls.VersionTLS12, RootCAs: s.roots}}
	return td.DialContext(ctx, network, addr)
}

// sendError is a delivery failure described without personal data: where it
// happened, the SMTP reply code if any, and whether retrying can help.
type sendError struct {
	stage     string // config, connect, tls, auth, greeting, address, header, sender, recipient, data, canceled
	code      int    // SMTP reply code; 0 when there was none
	enhanced  string // enhanced status code, e.g. 5.1.1
	permanent bool
}

func (e *sendError) Error() string {
	var b strings.Builder
	b.WriteString("smtp " + e.stage)
	if e.code != 0 {
		fmt.Fprintf(&b, ": %d", e.code)
		if e.enhanced != "" {
			b.WriteString(" " + e.enhanced)
		}
	}
	if e.permanent {
		b.WriteString(" (permanent)")
	} else {
		b.WriteString(" (temporary)")
	}
	return b.String()
}

// dialError classifies a failure before any message was offered. These are
// about the server or kelas's own configuration, not the message, so they
// are temporary even with a 5xx reply: the mail waits (within its retry
// budget) for the operator to fix the relay settings.
func dialError(ctx context.Context, err error) error {
	e := &sendError{stage: "connect"}
	var tp *textproto.Error
	var certErr *tls.CertificateVerificationError
	var hostErr x509.HostnameError
	var unknownCA x509.UnknownAuthorityError
	var recErr tls.RecordHeaderError
	msg := err.Error()
	switch {
	case ctx.Err() != nil:
		e.stage = "canceled"
	case errors.As(err, &certErr), errors.As(err, &hostErr), errors.As(err, &unknownCA), errors.As(err, &recErr),
		strings.Contains(msg, "STARTTLS"), strings.HasPrefix(msg, "tls:"):
		e.stage = "tls"
	case strings.Contains(strings.ToUpper(msg), "SMTP AUTH"):
		// go-mail reports every authentication problem as "SMTP AUTH ...".
		e.stage = "auth"
	case errors.As(err, &tp):
		e.stage = "greeting"
	}
	if errors.As(err, &tp) {
		e.code = tp.Code
	}
	return e
}

// transactionError classifies a failure of MAIL FROM, RCPT TO or DATA. A
// 5xx reply there is the server's final word on this message: permanent.
func transactionError(ctx context.Context, err error) error {
	var se *gomail.SendError
	if !errors.As(err, &se) {
		if ctx.Err() != nil {
			return &sendError{stage: "canceled"}
		}
		return &sendError{stage: "data"}
	}
	e := &sendError{code: se.ErrorCode(), enhanced: se.EnhancedStatusCode()}
	switch se.Reason {
	case gomail.ErrGetSender, gomail.ErrGetRcpts:
		e.stage, e.permanent = "address", true
		return e
	case gomail.ErrNoUnencoded:
		e.stage, e.permanent = "data", true
		return e
	case gomail.ErrSMTPMailFrom:
		e.stage = "sender"
	case gomail.ErrSMTPRcptTo:
		e.stage = "recipient"
	case gomail.ErrConnCheck, gomail.ErrSMTPReset:
		e.stage = "connect"
	default:
		e.stage = "data"
	}
	if ctx.Err() != nil {
		e.stage = "canceled"
	}
	e.permanent = e.code >= 500 && e.code <= 599
	return e
}

// Outbox delivery.

const (
	// mailBatch is how many mails one delivery pass takes from the outbox.
	mailBatch = 20
	// maxMailAttempts is the retry budget of one mail, about 33 hours with
	// mailBackoff.
	maxMailAttempts = 8
)

// mailBackoff is the wait after the nth failed attempt; the last step
// repeats.
var mailBackoff = []time.Duration{time.Minute, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 6 * time.Hour, 12 * time.Hour}

func retryDelay(attempt int) time.Duration {
	if attempt < 1 {
		attempt = 1
	}
	return mailBackoff[min(attempt, len(mailBackoff))-1]
}

// senderName is the display name of mail sent now, read from the
// settings at each delivery pass: the sender name entered in the settings;
// while it is left at its default, the name KELAS_MAIL_FROM gives ("": the
// mailer keeps it), else the site's name.
func (r *Runner) senderName(ctx context.Context) string {
	st, err := r.store.Settings(ctx)
	if err != nil {
		r.log.Error("mail settings unreadable", "err", err)
		return ""
	}
	return senderName(st, r.cfg.MailFrom)
}

func senderName(st store.Settings, mailFrom string) string {
	if n := st.Get(store.SettingMailSenderName); n != "" && n != store.SettingDefault(store.SettingMailSenderName) {
		return n
	}
	if a, err := netmail.ParseAddress(mailFrom); err == nil && a.Name != "" {
		return ""
	}
	return st.Get(store.SettingSiteName)
}

// DeliverMail makes one delivery pass over the due outbox mail and reports
// how many were sent.
func (r *Runner) DeliverMail(ctx context.Context) (sent int, err error) {
	_, sent, err = r.deliverBatch(ctx)
	return sent, err
}

// deliverBatch sends up to mailBatch due mails. A failure is retried with
// mailBackoff, up to maxMailAttempts; a permanent failure is final at once.
// processed counts the mails taken, so the loop knows whether more wait.
func (r *Runner) deliverBatch(ctx context.Context) (processed, sent int, err error) {
	if r.mailer == nil {
		return 0, 0, nil
	}
	due, err := r.store.DueMail(ctx, mailBatch)
	if err != nil {
		return 0, 0, err
	}
	// Outcomes are recorded even when ctx ends meanwhile: a mail the server
	// accepted must not be sent again after a restart.
	record := context.WithoutCancel(ctx)
	fromName := r.senderName(ctx)
	for _, m := range due {
		if ctx.Err() != nil {
			// Shutting down: the leases of the rest run out and they are
			// handed out again.
			return processed, sent, ctx.Err()
		}
		attempt := m.Attempts + 1
		// Optional mail is checked again now: restriction, objection or
		// opting out since it was queued stops it.
		if reason, err := r.sendSuppressed(record, m); err != nil {
			return processed, sent, err
		} else if reason != "" {
			processed++
			if err := r.store.MarkMailFailed(record, m.ID, reason); err != nil && !errors.Is(err, store.ErrNotFound) {
				return processed, sent, err
			}
			r.log.Info("mail suppressed", "mail_id", m.ID, "kind", m.Kind)
			continue
		}
		sendErr := r.mailer.Send(ctx, Mail{FromName: fromName, To: m.To, Subject: m.Subject, Text: m.Text, HTML: m.HTML, Headers: m.Headers})
		if sendErr != nil && ctx.Err() != nil {
			// Cut short by shutdown, which says nothing about the mail.
			return processed, sent, ctx.Err()
		}
		processed++
		if sendErr == nil {
			if err := r.store.MarkMailSent(record, m.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
				return processed, sent, err
			}
			sent++
			r.log.Info("mail sent", "mail_id", m.ID, "kind", m.Kind, "attempt", attempt)
			continue
		}
		class, code, permanent := mailErrorClass(sendErr)
		// A sendError's text is safe; other Mailers' errors are sanitised
		// by the store, which strips anything that looks like an address.
		reason := sendErr.Error()
		switch {
		case permanent || attempt >= maxMailAttempts:
			if !permanent {
				reason = fmt.Sprintf("%s; gave up after %d attempts", reason, attempt)
			}
			err = r.store.MarkMailFailed(record, m.ID, reason)
			r.log.Warn("mail failed", "mail_id", m.ID, "kind", m.Kind, "attempt", attempt, "err_class", class,
				"smtp_code", code, "permanent", permanent)
		default:
			next := r.clock().Add(retryDelay(attempt))
			err = r.store.MarkMailRetry(record, m.ID, reason, next)
			r.log.Info("mail retry scheduled", "mail_id", m.ID, "kind", m.Kind, "attempt", attempt, "err_class", class,
				"smtp_code", code, "next_attempt_at", next)
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return processed, sent, err
		}
	}
	return processed, sent, nil
}

// mailErrorClass names a delivery error for logs without its text.
func mailErrorClass(err error) (class string, code int, permanent bool) {
	var se *sendError
	if errors.As(err, &se) {
		return se.stage, se.code, se.permanent
	}
	return "other", 0, false
}

// drainOutbox delivers due mail until a pass finds less than a full batch.
func (r *Runner) drainOutbox(ctx context.Context) error {
	for {
		processed, _, err := r.deliverBatch(ctx)
		if err != nil || processed < mailBatch {
			return err
		}
	}
}

// sendSuppressed is the send-time check of the outbox: optional mail to a
// person who restricted processing, objected or opted out after it was
// queued must not go. It returns the reason to record, or "".
func (r *Runner) sendSuppressed(ctx context.Context, m store.OutboxMail) (string, error) {
	if !store.OptionalMail(m.Kind) {
		return "", nil
	}
	return r.store.MailSuppressed(ctx, m.UserID, m.Kind)
}
