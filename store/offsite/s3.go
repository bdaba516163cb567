package offsite

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// s3Target stores files as objects under bucket/prefix.
type s3Target struct {
	raw    string
	client *minio.Client
	bucket string
	prefix string // "" or ending in "/"
	host   string
}

// newS3 reads s3://bucket/prefix?endpoint=HOST[:PORT]&region=R. The endpoint
// may carry a scheme: http:// turns TLS off (for a store on the same host or
// network only); the default is AWS S3 over HTTPS.
func newS3(u *url.URL, c Credentials) (*s3Target, error) {
	if u.Host == "" {
		return nil, fmt.Errorf("%w: s3:// URL without a bucket", ErrConfig)
	}
	if c.S3AccessKey == "" || c.S3SecretKey == "" {
		return nil, fmt.Errorf("%w: set KELAS_BACKUP_S3_ACCESS_KEY and KELAS_BACKUP_S3_SECRET_KEY", ErrConfig)
	}
	q := u.Query()
	endpoint, secure := q.Get("endpoint"), true
	if endpoint == "" {
		endpoint = "s3.amazonaws.com"
	}
	if e, err := url.Parse(endpoint); err == nil && (e.Scheme == "http" || e.Scheme == "https") {
		endpoint, secure = e.Host, e.Scheme == "https"
	}
	retries := c.S3MaxRetries
	if retries <= 0 {
		retries = 2
	}
	timeout := time.Duration(c.DialTimeoutSecs) * time.Second
	if timeout <= 0 {
		timeout = 15 * time.Second
	}
	tr, err := minio.DefaultTransport(secure)
	if err != nil {
		return nil, err
	}
	tr.DialContext = (&net.Dialer{Timeout: timeout}).DialContext
	tr.ResponseHeaderTimeout = 2 * time.Minute
	client, err := minio.New(endpoint, &minio.Options{
		Creds:      credentials.NewStaticV4(c.S3AccessKey, c.S3SecretKey, ""),
		Secure:     secure,
		Region:     q.Get("region"),
		Transport:  tr,
		MaxRetries: retries,
	})
	if err != nil {
		return nil, fmt.Errorf("%w: s3 endpoint %q: %v", ErrConfig, endpoint, err)
	}
	prefix := strings.Trim(u.Path, "/")
	if prefix != "" {
		prefix += "/"
	}
	return &s3Target{raw: Redact(u.String()), client: client, bucket: u.Host, prefix: prefix, host: endpoint}, nil
}

func (t *s3Target) String() string { return t.raw }
func (t *s3Target) Close() error   { return nil }

func (t *s3Target) key(name string) string { return t.prefix + path.Base(name) }

// Put uploads to NAME.partial, then copies it server-side to NAME and
// removes the partial object: an object under the final name is complete.
func (t *s3Target) Put(ctx context.Context, name string, r io.Reader, size int64) error {
	tmp := t.key(PartialName(name))
	if _, err := t.client.PutObject(ctx, t.bucket, tmp, r, size, minio.PutObjectOptions{ContentType: "application/octet-stream"}); err != nil {
		return t.explain("upload", err)
	}
	st, err := t.client.StatObject(ctx, t.bucket, tmp, minio.StatObjectOptions{})
	if err != nil {
		return t.explain("upload", err)
	}
	if st.Size != size {
		t.client.RemoveObject(ctx, t.bucket, tmp, minio.RemoveObjectOptions{})
		return fmt.Errorf("upload of %s stored %d of %d bytes", name, st.Size, size)
	}
	_, err = t.client.CopyObject(ctx, minio.CopyDestOptions{Bucket: t.bucket, Object: t.key(name)},
		minio.CopySrcOptions{Bucket: t.bucket, Object: tmp})
	if err != nil {
		return t.explain("commit", err)
	}
	if err := t.client.RemoveObject(ctx, t.bucket, tmp, minio.RemoveObjectOptions{}); err != nil {
		return t.explain("remove the temporary upload", err)
	}
	return nil
}

func (t *s3Target) Get(ctx context.Context, name string, w io.Writer) error {
	obj, err := t.client.GetObject(ctx, t.bucket, t.key(name), minio.GetObjectOptions{})
	if err != nil {
		return t.explain("download", err)
	}
	defer obj.Close()
	if _, err := io.Copy(w, obj); err != nil {
		return t.explain("download", err)
	}
	return nil
}

func (t *s3Target) List(ctx context.Context) ([]string, error) {
	var out []string
	for o := range t.client.ListObjects(ctx, t.bucket, minio.ListObjectsOptions{Prefix: t.prefix}) {
		if o.Err != nil {
			return nil, t.explain("list", o.Err)
		}
		name := strings.TrimPrefix(o.Key, t.prefix)
		if name != "" && !strings.Contains(name, "/") {
			out = append(out, name)
		}
	}
	return out, nil
}

func (t *s3Target) Delete(ctx context.Context, name string) error {
	if err := t.client.RemoveObject(ctx, t.bucket, t.key(name), minio.RemoveObjectOptions{}); err != nil {
		return t.explain("delete", err)
	}
	return nil
}

// explain turns S3 errors into sentences an operator can act on. It never
// repeats credentials (the client's errors hold none).
func (t *s3Target) explain(op string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("s3 %s: %w", op, err)
	}
	resp := minio.ToErrorResponse(err)
	switch resp.Code {
	case "NoSuchBucket":
		return refused("s3 %s: the bucket %q does not exist at %s; create it first", op, t.bucket, t.host)
	case "InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "InvalidSecretKey":
		return refused("s3 %s: %s refused the credentials (%s): check KELAS_BACKUP_S3_ACCESS_KEY, KELAS_BACKUP_S3_SECRET_KEY and the bucket's permissions",
			op, t.host, resp.Code)
	case "NoSuchKey":
		return fmt.Errorf("s3 %s: no such object: %w", op, ErrNotFound)
	}
	var netErr net.Error
	var opErr *net.OpError
	if errors.As(err, &opErr) || errors.As(err, &netErr) {
		return fmt.Errorf("s3 %s: cannot reach %s: %v", op, t.host, err)
	}
	if resp.StatusCode == http.StatusForbidden {
		return refused("s3 %s: %s refused access: check the credentials and the bucket's permissions", op, t.host)
	}
	return fmt.Errorf("s3 %s: %v", op, err)
}

// ErrNotFound means the named file is not stored at the target.
var ErrNotFound = errors.New("not found")
