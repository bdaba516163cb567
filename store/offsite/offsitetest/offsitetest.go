// Package offsitetest runs off-site targets for tests: an S3 protocol
// server (gofakes3, in memory) and a real OpenSSH sshd, both on 127.0.0.1
// and stopped when the test ends. Only tests import it.
package offsitetest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"kelas/store/offsite"
)

const (
	S3Bucket    = "kelas-backups"
	S3AccessKey = "AKIATESTKELAS"
	S3SecretKey = "test-secret-that-must-not-leak"
)

// S3Server is an S3 protocol server (gofakes3, in memory) that also checks
// the access key id, as a real store would.
type S3Server struct {
	URL     string // s3://kelas-backups/nightly?endpoint=http://127.0.0.1:PORT
	Addr    string
	Backend *s3mem.Backend
	// FailDeletes makes every DELETE fail with AccessDenied, like a key
	// without the delete permission.
	FailDeletes atomic.Bool
}

var credentialRe = regexp.MustCompile(`Credential=([^/]+)/`)

// StartS3 starts an S3 server with the bucket S3Bucket.
func StartS3(t testing.TB) *S3Server {
	t.Helper()
	backend := s3mem.New()
	faker := gofakes3.New(backend, gofakes3.WithoutVersioning())
	require.NoError(t, backend.CreateBucket(S3Bucket))
	api := faker.Server()
	srv := &S3Server{Backend: backend}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m := credentialRe.FindStringSubmatch(r.Header.Get("Authorization"))
		if m == nil || m[1] != S3AccessKey {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>InvalidAccessKeyId</Code>`+
				`<Message>The AWS Access Key Id you provided does not exist in our records.</Message></Error>`)
			return
		}
		if r.Method == http.MethodDelete && srv.FailDeletes.Load() {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`)
			return
		}
		api.ServeHTTP(w, r)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	hs := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	srv.Addr = ln.Addr().String()
	srv.URL = "s3://" + S3Bucket + "/nightly?endpoint=http://" + srv.Addr + "&region=us-east-1"
	return srv
}

// S3Creds are credentials the server accepts, with short retries.
func S3Creds() offsite.Credentials {
	return offsite.Credentials{S3AccessKey: S3AccessKey, S3SecretKey: S3SecretKey, S3MaxRetries: 1, DialTimeoutSecs: 2}
}

// OpenTarget opens url, closed when the test ends.
func OpenTarget(t testing.TB, url string, c offsite.Credentials) offsite.Target {
	t.Helper()
	tg, err := offsite.Open(url, c)
	require.NoError(t, err)
	t.Cleanup(func() { tg.Close() })
	return tg
}

// SSHServer is a real OpenSSH sshd on a free loopback port with a host key
// and a client key of its own.
type SSHServer struct {
	URL     string // sftp://USER@127.0.0.1:PORT/DIR
	Dir     string // the remote directory (a local path)
	Creds   offsite.Credentials
	Addr    string
	HostKey ssh.PublicKey
}

// StartSSHD starts /usr/sbin/sshd -D for the test. Without sshd the test is
// skipped, except under CI=true where .ci/run installs it.
func StartSSHD(t testing.TB) *SSHServer {
	t.Helper()
	sshd := "/usr/sbin/sshd"
	if _, err := os.Stat(sshd); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI needs %s (Debian's openssh-server): %v", sshd, err)
		}
		t.Skipf("%s not installed (apt-get install openssh-server)", sshd)
	}
	dir := t.TempDir()
	// sshd refuses keys and configs in directories others may write.
	require.NoError(t, os.Chmod(dir, 0o700))
	hostKey, hostPub := WriteSSHKey(t, filepath.Join(dir, "host_key"))
	_, clientPub := WriteSSHKey(t, filepath.Join(dir, "client_key"))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "authorized_keys"), ssh.MarshalAuthorizedKey(clientPub), 0o600))
	remote := filepath.Join(dir, "remote")
	require.NoError(t, os.Mkdir(remote, 0o700))
	_ = hostKey

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	_, port, _ := net.SplitHostPort(addr)
	if os.Geteuid() == 0 {
		// sshd running as root wants its privilege separation directory.
		require.NoError(t, os.MkdirAll("/run/sshd", 0o755))
	}
	cfg := strings.Join([]string{
		"Port " + port,
		"ListenAddress 127.0.0.1",
		"HostKey " + filepath.Join(dir, "host_key"),
		"PidFile " + filepath.Join(dir, "sshd.pid"),
		"AuthorizedKeysFile " + filepath.Join(dir, "authorized_keys"),
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"PubkeyAuthentication yes",
		"PermitRootLogin prohibit-password",
		"UsePAM no",
		"StrictModes no",
		"Subsystem sftp internal-sftp",
		"LogLevel ERROR",
	}, "\n") + "\n"
	cfgPath := filepath.Join(dir, "sshd_config")
	require.NoError(t, os.WriteFile(cfgPath, []byte(cfg), 0o600))
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, sshd, "-D", "-e", "-f", cfgPath)
	var logs strings.Builder
	cmd.Stderr = &logs
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
	})
	// Wait (bounded) until it accepts connections.
	up := false
	for range 100 {
		if c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond); err == nil {
			c.Close()
			up = true
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	require.True(t, up, "sshd did not start: %s", logs.String())

	known := filepath.Join(dir, "known_hosts")
	line := fmt.Sprintf("[127.0.0.1]:%s %s", port, ssh.MarshalAuthorizedKey(hostPub))
	require.NoError(t, os.WriteFile(known, []byte(line), 0o600))
	user := os.Getenv("USER")
	if user == "" {
		user = "root"
	}
	if out, err := exec.Command("id", "-un").Output(); err == nil {
		user = strings.TrimSpace(string(out))
	}
	return &SSHServer{
		URL:     "sftp://" + user + "@" + addr + remote,
		Dir:     remote,
		Addr:    addr,
		Creds:   offsite.Credentials{SFTPKeyFile: filepath.Join(dir, "client_key"), SFTPKnownHosts: known, DialTimeoutSecs: 5},
		HostKey: hostPub,
	}
}

// WriteSSHKey writes a new ed25519 private key in OpenSSH format to path.
func WriteSSHKey(t testing.TB, path string) (ed25519.PrivateKey, ssh.PublicKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	block, err := ssh.MarshalPrivateKey(priv, "")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, pem.EncodeToMemory(block), 0o600))
	sp, err := ssh.NewPublicKey(pub)
	require.NoError(t, err)
	return priv, sp
}
