package offsite

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// sftpTarget stores files in a directory of an SSH server. The server's
// host key must be listed in the known_hosts file: an unknown or changed
// key is refused, never trusted on first use.
type sftpTarget struct {
	raw     string
	addr    string
	dir     string
	config  *ssh.ClientConfig
	timeout time.Duration

	mu     sync.Mutex
	conn   *ssh.Client
	client *sftp.Client
}

func newSFTP(u *url.URL, c Credentials) (*sftpTarget, error) {
	if u.Host == "" || u.User == nil || u.User.Username() == "" {
		return nil, fmt.Errorf("%w: use sftp://USER@HOST[:PORT]/PATH", ErrConfig)
	}
	if c.SFTPKeyFile == "" {
		return nil, fmt.Errorf("%w: set KELAS_BACKUP_SFTP_KEY to the private key file to log in with", ErrConfig)
	}
	if c.SFTPKnownHosts == "" {
		return nil, fmt.Errorf("%w: set KELAS_BACKUP_SFTP_KNOWN_HOSTS to a known_hosts file listing the server's host key", ErrConfig)
	}
	pem, err := os.ReadFile(c.SFTPKeyFile)
	if err != nil {
		return nil, fmt.Errorf("%w: KELAS_BACKUP_SFTP_KEY: %v", ErrConfig, err)
	}
	signer, err := ssh.ParsePrivateKey(pem)
	if err != nil {
		// The parser's message could quote the file; say only what is wrong.
		return nil, fmt.Errorf("%w: KELAS_BACKUP_SFTP_KEY is not an unencrypted private key (OpenSSH or PEM)", ErrConfig)
	}
	hosts, err := knownhosts.New(c.SFTPKnownHosts)
	if err != nil {
		return nil, fmt.Errorf("%w: KELAS_BACKUP_SFTP_KNOWN_HOSTS: %v", ErrConfig, err)
	}
	timeout := time.Duration(c.DialTimeoutSecs) * time.Second
	if timeout <= 0 {
		timeout = 15 * time.Second
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "22")
	}
	dir := u.Path
	if dir == "" {
		dir = "."
	}
	return &sftpTarget{raw: Redact(u.String()), addr: addr, dir: dir, timeout: timeout,
		config: &ssh.ClientConfig{User: u.User.Username(), Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)},
			HostKeyCallback: hosts, Timeout: timeout}}, nil
}

func (t *sftpTarget) String() string { return t.raw }

// session returns the open SFTP client, connecting when there is none.
func (t *sftpTarget) session(ctx context.Context) (*sftp.Client, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.client != nil {
		return t.client, nil
	}
	d := net.Dialer{Timeout: t.timeout}
	nc, err := d.DialContext(ctx, "tcp", t.addr)
	if err != nil {
		return nil, fmt.Errorf("sftp: cannot reach %s: %v", t.addr, err)
	}
	c, chans, reqs, err := ssh.NewClientConn(nc, t.addr, t.config)
	if err != nil {
		nc.Close()
		var keyErr *knownhosts.KeyError
		if errors.As(err, &keyErr) {
			if len(keyErr.Want) > 0 {
				return nil, refused("sftp: the host key of %s does not match KELAS_BACKUP_SFTP_KNOWN_HOSTS: refusing to connect "+
					"(if the server's key really changed, update the file)", t.addr)
			}
			return nil, refused("sftp: the host key of %s is not in KELAS_BACKUP_SFTP_KNOWN_HOSTS: add it (ssh-keyscan) after checking it", t.addr)
		}
		if strings.Contains(err.Error(), "unable to authenticate") {
			return nil, refused("sftp: %s refused the key in KELAS_BACKUP_SFTP_KEY for user %s", t.addr, t.config.User)
		}
		return nil, fmt.Errorf("sftp: %s: %v", t.addr, err)
	}
	conn := ssh.NewClient(c, chans, reqs)
	client, err := sftp.NewClient(conn)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("sftp: %s has no SFTP subsystem: %v", t.addr, err)
	}
	if st, err := client.Stat(t.dir); err != nil || !st.IsDir() {
		client.Close()
		conn.Close()
		return nil, refused("sftp: the directory %s does not exist on %s; create it first", t.dir, t.addr)
	}
	t.conn, t.client = conn, client
	return client, nil
}

// drop closes the connection after an error, so the next call reconnects.
func (t *sftpTarget) drop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.client != nil {
		t.client.Close()
		t.conn.Close()
		t.client, t.conn = nil, nil
	}
}

func (t *sftpTarget) Close() error {
	t.drop()
	return nil
}

func (t *sftpTarget) path(name string) string { return path.Join(t.dir, path.Base(name)) }

// Put writes NAME.partial, syncs and closes it, then renames it to NAME.
func (t *sftpTarget) Put(ctx context.Context, name string, r io.Reader, size int64) (err error) {
	c, err := t.session(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil && ctx.Err() == nil {
			t.drop()
		}
	}()
	tmp := t.path(PartialName(name))
	f, err := c.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC)
	if err != nil {
		return fmt.Errorf("sftp upload: %v", err)
	}
	n, err := io.Copy(f, &ctxReader{ctx: ctx, r: r})
	if err == nil && n != size {
		err = fmt.Errorf("wrote %d of %d bytes", n, size)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		c.Remove(tmp)
		return fmt.Errorf("sftp upload: %v", err)
	}
	if err := c.PosixRename(tmp, t.path(name)); err != nil {
		c.Remove(tmp)
		return fmt.Errorf("sftp commit: %v", err)
	}
	return nil
}

func (t *sftpTarget) Get(ctx context.Context, name string, w io.Writer) error {
	c, err := t.session(ctx)
	if err != nil {
		return err
	}
	f, err := c.Open(t.path(name))
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("sftp download: %s: %w", name, ErrNotFound)
	}
	if err != nil {
		t.drop()
		return fmt.Errorf("sftp download: %v", err)
	}
	defer f.Close()
	if _, err := io.Copy(w, &ctxReader{ctx: ctx, r: f}); err != nil {
		t.drop()
		return fmt.Errorf("sftp download: %v", err)
	}
	return nil
}

func (t *sftpTarget) List(ctx context.Context) ([]string, error) {
	c, err := t.session(ctx)
	if err != nil {
		return nil, err
	}
	entries, err := c.ReadDir(t.dir)
	if err != nil {
		t.drop()
		return nil, fmt.Errorf("sftp list: %v", err)
	}
	var out []string
	for _, e := range entries {
		if e.Mode().IsRegular() {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

func (t *sftpTarget) Delete(ctx context.Context, name string) error {
	c, err := t.session(ctx)
	if err != nil {
		return err
	}
	if err := c.Remove(t.path(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.drop()
		return fmt.Errorf("sftp delete: %v", err)
	}
	return nil
}

// ctxReader stops a long copy when ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
