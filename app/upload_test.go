package app

import (
	"bytes"
	"errors"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzParseUploadForm: whatever the multipart body, reading it as an
// upload form never keeps a file over its limit nor more field bytes than
// allowed, and a failure is only "too large" or "bad request".
func FuzzParseUploadForm(f *testing.F) {
	const maxFile, maxValues = 64, 256
	seed := func(fields map[string]string, file []byte) []byte {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		_ = mw.SetBoundary("fuzzboundary")
		for k, v := range fields {
			_ = mw.WriteField(k, v)
		}
		if file != nil {
			w, _ := mw.CreateFormFile("picture", "p.jpg")
			_, _ = w.Write(file)
		}
		_ = mw.Close()
		return b.Bytes()
	}
	f.Add(seed(map[string]string{"company": "Kedai"}, []byte("small")))
	f.Add(seed(map[string]string{"company": "Kedai"}, bytes.Repeat([]byte("x"), 200)))
	f.Add(seed(map[string]string{"description": string(bytes.Repeat([]byte("y"), 300))}, nil))
	f.Add([]byte("--fuzzboundary\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nb\r\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/profile", bytes.NewReader(body))
		r.Header.Set("Content-Type", "multipart/form-data; boundary=fuzzboundary")
		fm, err := parseUploadForm(r, maxFile, maxValues)
		if err != nil {
			var tooBig *http.MaxBytesError
			if !errors.As(err, &tooBig) && !errors.Is(err, errBadRequest) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		n := 0
		for _, vs := range r.PostForm {
			for _, v := range vs {
				n += len(v)
			}
		}
		if n > maxValues {
			t.Fatalf("%d field bytes kept, at most %d allowed", n, maxValues)
		}
		for name, up := range fm.files {
			if len(up.data) > maxFile || (up.tooLarge && up.data != nil) {
				t.Fatalf("file %q: %d bytes kept (too large: %v)", name, len(up.data), up.tooLarge)
			}
		}
	})
}
