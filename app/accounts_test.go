package app

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"io/fs"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"kelas/jobs/smtptest"
	"kelas/store"
)

func registration() url.Values {
	return url.Values{
		"first_name":    {"Siti"},
		"surname":       {"Rahmawati"},
		"email":         {"siti.rahmawati@example.org"},
		"country":       {"ID"},
		"company":       {"Batik Nusantara"},
		"industry":      {"C"},
		"gender":        {"female"},
		"password":      {"kain batik tulis 2026"},
		"adult":         {"on"},
		"accept_policy": {"on"},
		"feedback":      {"on"},
	}
}

// mailServer starts a loopback SMTP server and a test server that sends to it.
func newMailTestServer(t *testing.T, mods ...func(*Config)) (*testServer, *smtptest.Server) {
	t.Helper()
	smtpd := smtptest.New(t)
	ts := newTestServer(t, append([]func(*Config){func(c *Config) { c.SMTPURL = smtpd.URL() }}, mods...)...)
	return ts, smtpd
}

// deliver runs one outbox pass and returns the n-th..last received mails.
func (ts *testServer) deliver(t *testing.T) {
	t.Helper()
	ts.jobs.WaitMailings() // mass mailings queue in the background
	_, err := ts.jobs.DeliverMail(t.Context())
	require.NoError(t, err)
}

var linkRE = regexp.MustCompile(`https?://[^\s"<>]+`)

// linkIn finds the first link in a mail's text part under path prefix.
func linkIn(t *testing.T, m smtptest.Mail, prefix string) string {
	t.Helper()
	for _, l := range linkRE.FindAllString(m.Text, -1) {
		u, err := url.Parse(l)
		require.NoError(t, err)
		if strings.HasPrefix(u.Path, prefix) {
			return u.RequestURI()
		}
	}
	t.Fatalf("no %s link in mail %q", prefix, m.Text)
	return ""
}

func countUsers(t *testing.T, ts *testServer) int {
	t.Helper()
	n := 0
	for _, e := range []string{"siti.rahmawati@example.org"} {
		if _, err := ts.store.UserByEmail(t.Context(), e); err == nil {
			n++
		}
	}
	return n
}

func flashOf(t *testing.T, ts *testServer, path string) string {
	t.Helper()
	res, body := ts.get(t, path)
	require.Equal(t, http.StatusOK, res.StatusCode)
	return strings.TrimSpace(doc(t, body).Find(`[data-testid="flash"]`).Text())
}

// jpegWithEXIF returns a JPEG carrying an EXIF segment with marker inside.
func jpegWithEXIF(t *testing.T, marker string) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 800, 600))
	for x := 0; x < 800; x++ {
		for y := 0; y < 600; y++ {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 120, 255})
		}
	}
	var plain bytes.Buffer
	require.NoError(t, jpeg.Encode(&plain, img, nil))
	payload := append([]byte("Exif\x00\x00"), []byte(marker)...)
	seg := []byte{0xFF, 0xE1, byte((len(payload) + 2) >> 8), byte(len(payload) + 2)}
	b := plain.Bytes()
	out := append([]byte{}, b[:2]...) // SOI
	out = append(out, seg...)
	out = append(out, payload...)
	return append(out, b[2:]...)
}

func (ts *testServer) postMultipart(t *testing.T, path string, v url.Values, fileField, fileName string, file []byte) (*http.Response, string) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, vs := range v {
		for _, x := range vs {
			require.NoError(t, mw.WriteField(k, x))
		}
	}
	if fileField != "" {
		fw, err := mw.CreateFormFile(fileField, fileName)
		require.NoError(t, err)
		fw.Write(file)
	}
	require.NoError(t, mw.Close())
	req, err := http.NewRequest(http.MethodPost, ts.URL+path, &body)
	require.NoError(t, err)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return ts.do(t, req)
}

func profileValues() url.Values {
	v := registration()
	for _, k := range []string{"password", "adult", "accept_policy"} {
		v.Del(k)
	}
	v.Set("phone", "+62 21 555 0199")
	v.Set("mobile", "+62 812 3456 7890")
	v.Set("institution", "Koperasi Sejahtera")
	v.Set("address", "Jalan Melati 12\nYogyakarta")
	return v
}

// TestAccountJourney walks the front door end to end over HTTP with a real
// SMTP server on loopback.
func TestAccountJourney(t *testing.T) {
	ts, smtpd := newMailTestServer(t)

	res, body := ts.get(t, "/register")
	require.Equal(t, http.StatusOK, res.StatusCode)
	d := doc(t, body)
	assert.Equal(t, "BN", d.Find(`#country option`).Eq(1).AttrOr("value", ""), "ASEAN countries come first")
	assert.Equal(t, 0, d.Find(`#notify_new[checked]`).Length(), "notifications are opt-in")
	assert.Equal(t, 1, d.Find(`#feedback[checked]`).Length(), "feedback requests are an opt-out, said so beside the box")
	assert.Equal(t, 0, d.Find(`#adult[checked], #accept_policy[checked]`).Length(), "nothing pre-ticked")

	res, _ = ts.postForm(t, "/register", registration())
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	require.Equal(t, "/login", res.Header.Get("Location"))
	assert.Contains(t, flashOf(t, ts, "/login"), "confirmation link")

	u, err := ts.store.UserByEmail(t.Context(), "siti.rahmawati@example.org")
	require.NoError(t, err)
	assert.False(t, u.Verified())
	c, err := ts.store.Consents(t.Context(), u.ID)
	require.NoError(t, err)
	assert.Equal(t, store.Consents{NotifyNew: false, Feedback: true, PolicyVersion: "2023-10-09", PolicyAccepted: c.PolicyAccepted}, c)
	assert.False(t, c.PolicyAccepted.IsZero())

	ts.deliver(t)
	mails := smtpd.WaitFor(t, 1)
	require.Equal(t, []string{"siti.rahmawati@example.org"}, mails[0].To)
	assert.NotEmpty(t, mails[0].HTML)
	verify := linkIn(t, mails[0], "/verify/")

	res, _ = ts.get(t, verify)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Contains(t, flashOf(t, ts, "/login"), "confirmed")
	res, body = ts.get(t, verify)
	require.Equal(t, http.StatusNotFound, res.StatusCode, "verification links are single use")
	assert.Contains(t, body, "not valid")

	res, _ = ts.postForm(t, "/login", url.Values{"email": {"SITI.Rahmawati@example.org "}, "password": {"kain batik tulis 2026"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	require.Equal(t, "/dashboard", res.Header.Get("Location"), "a learner lands on their dashboard")

	res, body = ts.get(t, "/profile")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "Batik Nusantara", doc(t, body).Find("#company").AttrOr("value", ""))

	res, _ = ts.postMultipart(t, "/profile", profileValues(), "picture", "me.jpg", jpegWithEXIF(t, "GPS-SECRET-LOCATION-1234"))
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	res, body = ts.get(t, "/profile")
	require.Equal(t, http.StatusOK, res.StatusCode)
	d = doc(t, body)
	assert.Equal(t, "+62 21 555 0199", d.Find("#phone").AttrOr("value", ""))
	assert.Equal(t, "Jalan Melati 12\nYogyakarta", d.Find("#address").Text())
	assert.Equal(t, 1, d.Find(`[data-testid="picture"]`).Length())

	res, pic := ts.get(t, "/profile/picture")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "image/jpeg", res.Header.Get("Content-Type"))
	assert.Equal(t, "nosniff", res.Header.Get("X-Content-Type-Options"))
	assert.NotContains(t, pic, "GPS-SECRET-LOCATION", "metadata is gone after re-encoding")
	assert.NotContains(t, pic, "Exif")
	cfg, format, err := image.DecodeConfig(strings.NewReader(pic))
	require.NoError(t, err)
	assert.Equal(t, "jpeg", format)
	assert.LessOrEqual(t, max(cfg.Width, cfg.Height), 512)

	res, _ = ts.postForm(t, "/logout", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	res, _ = ts.get(t, "/profile")
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Equal(t, "/login?next=%2Fprofile", res.Header.Get("Location"))
}

func TestRegisterRejectsBadInput(t *testing.T) {
	long := func(n int) string { return strings.Repeat("x", n) }
	cases := []struct {
		field, value, message string
	}{
		{"first_name", "", "Enter your first name"},
		{"first_name", long(101), "at most 100"},
		{"first_name", "Siti\u0007", "control characters"},
		{"first_name", "Siti\nRahma", "control characters"},
		{"first_name", "\xc3\x28", "invalid characters"},
		{"surname", long(101), "at most 100"},
		{"email", "", "Enter your email address"},
		{"email", "siti@", "email address like"},
		{"email", "<script>@example.org", "email address like"},
		{"email", long(250) + "@example.org", "at most 254"},
		{"country", "", "Choose your country"},
		{"country", "XX", "from the list"},
		{"country", "id", "from the list"},
		{"company", "", "Enter your company name"},
		{"company", long(201), "at most 200"},
		{"industry", "", "Choose your industry"},
		{"industry", "Z", "from the list"},
		{"gender", "robot", "from the list"},
		{"password", "", "Enter a password"},
		{"password", "seven77", "at least 8"},
		{"password", long(73), "at most 72 bytes"},
		{"password", "\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8", "invalid characters"},
		{"adult", "", "18 or older"},
		{"adult", "yes", "Unexpected value"},
		{"accept_policy", "", "accept the privacy policy"},
		{"notify_new", "true", "Unexpected value"},
	}
	ts, smtpd := newMailTestServer(t)
	for _, c := range cases {
		t.Run(c.field+"/"+c.message, func(t *testing.T) {
			v := registration()
			if c.value == "" {
				v.Del(c.field)
			} else {
				v.Set(c.field, c.value)
			}
			before := ts.app.hasher.Ops()
			res, body := ts.postForm(t, "/register", v)
			require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
			d := doc(t, body)
			assert.Contains(t, d.Find(`[data-testid="error-`+c.field+`"]`).Text(), c.message)
			assert.Equal(t, 1, d.Find(`[data-testid="error-summary"] a[href="#`+c.field+`"]`).Length(), "the summary links to the field")
			assert.Equal(t, "true", d.Find("#"+c.field).AttrOr("aria-invalid", ""))
			assert.NotContains(t, body, "kain batik tulis", "the password is never echoed")
			assert.Equal(t, before, ts.app.hasher.Ops(), "no hashing for an invalid form")
			assert.Zero(t, countUsers(t, ts), "nothing stored")
		})
	}
	t.Run("script payload is escaped", func(t *testing.T) {
		v := registration()
		v.Set("company", `<script>alert("x")</script>`)
		v.Set("country", "XX")
		res, body := ts.postForm(t, "/register", v)
		require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
		assert.NotContains(t, body, `<script>alert`)
	})
	ts.deliver(t)
	assert.Empty(t, smtpd.Messages())
}

func TestDuplicateRegistrationLooksNew(t *testing.T) {
	ts, smtpd := newMailTestServer(t)
	res1, _ := ts.postForm(t, "/register", registration())
	require.Equal(t, http.StatusSeeOther, res1.StatusCode)
	flash1 := flashOf(t, ts, "/login")
	ts.deliver(t)
	smtpd.WaitFor(t, 1)

	other, err := cookiejar.New(nil)
	require.NoError(t, err)
	ts.client.Jar = other
	v := registration()
	v.Set("email", "Siti.Rahmawati@EXAMPLE.org")
	v.Set("first_name", "Impostor")
	before := ts.app.hasher.Ops()
	res2, _ := ts.postForm(t, "/register", v)
	assert.Equal(t, int64(1), ts.app.hasher.Ops()-before, "a duplicate costs the same one hash")
	require.Equal(t, res1.StatusCode, res2.StatusCode)
	assert.Equal(t, res1.Header.Get("Location"), res2.Header.Get("Location"))
	assert.Equal(t, flash1, flashOf(t, ts, "/login"))

	ts.deliver(t)
	var notice smtptest.Mail
	for _, m := range smtpd.WaitFor(t, 2) {
		if strings.Contains(m.Subject, "tried to register") {
			notice = m
		}
	}
	assert.Equal(t, []string{"siti.rahmawati@example.org"}, notice.To)
	assert.Contains(t, notice.Subject, "tried to register")
	assert.Contains(t, notice.Text, "Hello Siti,", "the notice goes to the owner, not the impostor")
	assert.NotContains(t, notice.Text, "/verify/")

	u, err := ts.store.UserByEmail(t.Context(), "siti.rahmawati@example.org")
	require.NoError(t, err)
	assert.Equal(t, "Siti", u.FirstName, "no second account, the first unchanged")
}

func TestRegistrationHashesExactlyOnce(t *testing.T) {
	ts := newTestServer(t)
	before := ts.app.hasher.Ops()
	res, _ := ts.postForm(t, "/register", registration())
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Equal(t, int64(1), ts.app.hasher.Ops()-before)
}

func TestLoginThrottledBeforeHashing(t *testing.T) {
	ts := newTestServer(t)
	res, _ := ts.postForm(t, "/register", registration())
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	wrong := url.Values{"email": {"siti.rahmawati@example.org"}, "password": {"not the password"}}
	limit := ts.app.limits.loginAccount.limit
	for i := 0; i < limit; i++ {
		res, body := ts.postForm(t, "/login", wrong)
		require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode, "attempt %d", i+1)
		assert.Contains(t, body, "email address or the password is not right")
	}
	before := ts.app.hasher.Ops()
	res, body := ts.postForm(t, "/login", wrong)
	require.Equal(t, http.StatusTooManyRequests, res.StatusCode)
	assert.NotEmpty(t, res.Header.Get("Retry-After"))
	assert.Contains(t, body, "Too many attempts")
	assert.Equal(t, before, ts.app.hasher.Ops(), "a throttled attempt performs no bcrypt")

	// Even the right password waits out the window, then works.
	right := url.Values{"email": {"siti.rahmawati@example.org"}, "password": {"kain batik tulis 2026"}}
	res, _ = ts.postForm(t, "/login", right)
	require.Equal(t, http.StatusTooManyRequests, res.StatusCode)
	ts.clock.Add(16 * time.Minute)
	res, _ = ts.postForm(t, "/login", right)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
}

func TestLoginPerAddressThrottle(t *testing.T) {
	ts := newTestServer(t)
	limit := ts.app.limits.loginIP.limit
	for i := 0; i < limit; i++ {
		res, _ := ts.postForm(t, "/login", url.Values{"email": {"user" + strconv.Itoa(i) + "@example.org"}, "password": {"whatever123"}})
		require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	}
	before := ts.app.hasher.Ops()
	res, _ := ts.postForm(t, "/login", url.Values{"email": {"fresh@example.org"}, "password": {"whatever123"}})
	require.Equal(t, http.StatusTooManyRequests, res.StatusCode)
	assert.Equal(t, before, ts.app.hasher.Ops())
}

func TestUnknownEmailCostsAHashAndSameAnswer(t *testing.T) {
	ts := newTestServer(t)
	res, _ := ts.postForm(t, "/register", registration())
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	answer := func(email string) (int, string, int64) {
		before := ts.app.hasher.Ops()
		res, body := ts.postForm(t, "/login", url.Values{"email": {email}, "password": {"wrong password"}})
		return res.StatusCode, doc(t, body).Find(`[data-testid="error-password"]`).Text(), ts.app.hasher.Ops() - before
	}
	s1, m1, ops1 := answer("siti.rahmawati@example.org")
	s2, m2, ops2 := answer("nobody@example.org")
	assert.Equal(t, s1, s2)
	assert.Equal(t, m1, m2)
	assert.Equal(t, int64(1), ops1)
	assert.Equal(t, int64(1), ops2, "the unknown address is compared against a dummy hash")
	// The dummy hash's own password does not log anyone in.
	res, _ = ts.postForm(t, "/login", url.Values{"email": {"nobody@example.org"}, "password": {"kelas dummy password"}})
	assert.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
}

func TestPasswordResetEndsEverySession(t *testing.T) {
	ts, smtpd := newMailTestServer(t)
	res, _ := ts.postForm(t, "/register", registration())
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	login := url.Values{"email": {"siti.rahmawati@example.org"}, "password": {"kain batik tulis 2026"}}
	res, _ = ts.postForm(t, "/login", login)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	res, _ = ts.get(t, "/profile")
	require.Equal(t, http.StatusOK, res.StatusCode, "logged in on the first device")

	// A second device asks for a reset; an unknown address gets the same answer.
	jar, _ := cookiejar.New(nil)
	other := &testServer{Server: ts.Server, app: ts.app, store: ts.store, clock: ts.clock,
		client: &http.Client{Jar: jar, CheckRedirect: ts.client.CheckRedirect}}
	res1, _ := other.postForm(t, "/password/forgot", url.Values{"email": {"siti.rahmawati@example.org"}})
	flash1 := flashOf(t, other, "/password/forgot")
	res2, _ := other.postForm(t, "/password/forgot", url.Values{"email": {"nobody@example.org"}})
	flash2 := flashOf(t, other, "/password/forgot")
	require.Equal(t, http.StatusSeeOther, res1.StatusCode)
	assert.Equal(t, res1.StatusCode, res2.StatusCode)
	assert.Equal(t, res1.Header.Get("Location"), res2.Header.Get("Location"))
	assert.Equal(t, flash1, flash2)

	ts.deliver(t)
	mails := smtpd.WaitFor(t, 2) // verification + reset
	var reset string
	for _, m := range mails {
		if strings.Contains(m.Text, "/password/reset/") {
			reset = linkIn(t, m, "/password/reset/")
		}
	}
	require.NotEmpty(t, reset)
	assert.Len(t, smtpd.Messages(), 2, "no mail for the unknown address")

	res, _ = other.get(t, reset)
	require.Equal(t, http.StatusOK, res.StatusCode)
	res, _ = other.postForm(t, reset, url.Values{"password": {"short"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	res, _ = other.postForm(t, reset, url.Values{"password": {"a brand new passphrase"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	res, _ = other.postForm(t, reset, url.Values{"password": {"another new passphrase"}})
	require.Equal(t, http.StatusNotFound, res.StatusCode, "reset links are single use")

	res, _ = ts.get(t, "/profile")
	require.Equal(t, http.StatusSeeOther, res.StatusCode, "the first device was logged out")
	res, _ = ts.postForm(t, "/login", login)
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode, "the old password is gone")
	res, _ = ts.postForm(t, "/login", url.Values{"email": login["email"], "password": {"a brand new passphrase"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
}

func TestResetLinkExpiresAfterAnHour(t *testing.T) {
	ts, smtpd := newMailTestServer(t)
	res, _ := ts.postForm(t, "/register", registration())
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	ts.postForm(t, "/password/forgot", url.Values{"email": {"siti.rahmawati@example.org"}})
	ts.deliver(t)
	var reset string
	for _, m := range smtpd.WaitFor(t, 2) {
		if strings.Contains(m.Subject, "new kelas password") {
			reset = linkIn(t, m, "/password/reset/")
		}
	}
	ts.clock.Add(61 * time.Minute)
	res, body := ts.get(t, reset)
	require.Equal(t, http.StatusNotFound, res.StatusCode)
	assert.Contains(t, body, "has expired")
}

func TestEmailChangeNeedsConfirmation(t *testing.T) {
	ts, smtpd := newMailTestServer(t)
	res, _ := ts.postForm(t, "/register", registration())
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	res, _ = ts.postForm(t, "/login", url.Values{"email": {"siti.rahmawati@example.org"}, "password": {"kain batik tulis 2026"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)

	v := profileValues()
	v.Set("email", "siti.new@example.org")
	v.Set("current_password", "kain batik tulis 2026")
	res, _ = ts.postMultipart(t, "/profile", v, "", "", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	u, err := ts.store.UserByEmail(t.Context(), "siti.rahmawati@example.org")
	require.NoError(t, err, "the old address stays until the new one is confirmed")

	ts.deliver(t)
	change := mailTo(t, smtpd.WaitFor(t, 3), "siti.new@example.org")
	res, _ = ts.get(t, linkIn(t, change, "/verify/"))
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	nu, err := ts.store.UserByEmail(t.Context(), "SITI.NEW@example.org")
	require.NoError(t, err)
	assert.Equal(t, u.ID, nu.ID)
	_, err = ts.store.UserByEmail(t.Context(), "siti.rahmawati@example.org")
	assert.ErrorIs(t, err, store.ErrNotFound)
}

func TestProfileRejectsBadPictures(t *testing.T) {
	ts := newTestServer(t)
	res, _ := ts.postForm(t, "/register", registration())
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	res, _ = ts.postForm(t, "/login", url.Values{"email": {"siti.rahmawati@example.org"}, "password": {"kain batik tulis 2026"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)

	cases := map[string][]byte{
		"text renamed .jpg":  []byte("this is not an image at all, just text pretending"),
		"html renamed .jpg":  []byte("<html><script>alert(1)</script></html>"),
		"decompression bomb": pngBomb(50000, 50000),
		"over 2 MB":          bytes.Repeat([]byte{0xFF}, maxPictureBytes+10),
		"truncated jpeg":     jpegWithEXIF(t, "x")[:600],
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			res, body := ts.postMultipart(t, "/profile", profileValues(), "picture", "holiday.jpg", data)
			require.GreaterOrEqual(t, res.StatusCode, 400)
			require.Less(t, res.StatusCode, 500)
			if res.StatusCode == http.StatusUnprocessableEntity {
				assert.NotEmpty(t, doc(t, body).Find(`[data-testid="error-picture"]`).Text())
			}
			p, err := ts.store.Profile(t.Context(), mustUser(t, ts).ID)
			require.NoError(t, err)
			assert.Nil(t, p.Picture)
		})
	}
}

// mailTo picks the one mail sent to address.
func mailTo(t *testing.T, mails []smtptest.Mail, address string) smtptest.Mail {
	t.Helper()
	var found []smtptest.Mail
	for _, m := range mails {
		if len(m.To) == 1 && m.To[0] == address {
			found = append(found, m)
		}
	}
	require.Len(t, found, 1, "mails to %s", address)
	return found[0]
}

func mustUser(t *testing.T, ts *testServer) store.User {
	t.Helper()
	u, err := ts.store.UserByEmail(t.Context(), "siti.rahmawati@example.org")
	require.NoError(t, err)
	return u
}

// TestNoPlaintextPersonalDataInFiles registers and fills a profile with
// distinctive values, then greps every file kelas wrote and its log.
func TestNoPlaintextPersonalDataInFiles(t *testing.T) {
	ts, smtpd := newMailTestServer(t, func(c *Config) {
		c.TrustedProxies = mustPrefixes(t, "127.0.0.0/8")
	})
	v := registration()
	v.Set("first_name", "Qwertzuiopa")
	v.Set("surname", "Lkjhgfdsamn")
	v.Set("email", "zxcvbnm.unique@example.org")
	v.Set("company", "Mnbvcxyzcorp")
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/register", strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-For", "198.51.100.77")
	res, _ := ts.do(t, req)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	res, _ = ts.postForm(t, "/login", url.Values{"email": {"zxcvbnm.unique@example.org"}, "password": v["password"]})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	pv := profileValues()
	pv.Set("email", "zxcvbnm.unique@example.org")
	pv.Set("first_name", "Qwertzuiopa")
	pv.Set("phone", "+62 999 8877 6655")
	res, _ = ts.postMultipart(t, "/profile", pv, "", "", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	ts.deliver(t)
	smtpd.WaitFor(t, 1)

	secrets := []string{"Qwertzuiopa", "Lkjhgfdsamn", "zxcvbnm.unique", "Mnbvcxyzcorp", "999 8877 6655", "198.51.100.77", "Koperasi Sejahtera"}
	// Control: a value kelas keeps in plaintext on purpose (a migration's
	// name in kelas.db) is found, so the walk reads the bytes that matter.
	found := dataDirHolding(t, ts.app.cfg.DataDir, "0012_journal.sql")
	require.NotEmpty(t, found, "control: the walk reads the database files (kelas.db or its WAL)")
	for _, s := range secrets {
		assert.Empty(t, dataDirHolding(t, ts.app.cfg.DataDir, s), "files holding %q", s)
		assert.NotContains(t, strings.ToLower(ts.logs.String()), strings.ToLower(s), "the log holds %q", s)
	}
	assert.Contains(t, ts.logs.String(), "msg=request", "control: the log is captured")
}

// dataDirHolding lists the files under dir, at any depth, whose bytes hold
// s in any ASCII letter case (binary needles are matched exactly).
func dataDirHolding(t *testing.T, dir, s string) []string {
	t.Helper()
	var out []string
	needle := asciiLower([]byte(s))
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(asciiLower(b), needle) {
			rel, _ := filepath.Rel(dir, path)
			out = append(out, rel)
		}
		return nil
	})
	require.NoError(t, err)
	return out
}

// asciiLower lowers A-Z only, byte for byte, so binary data keeps its
// length and every other byte.
func asciiLower(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		out[i] = c
	}
	return out
}

func mustPrefixes(t *testing.T, v string) []netip.Prefix {
	t.Helper()
	return []netip.Prefix{netip.MustParsePrefix(v)}
}

// Without SMTP a newcomer can still finish registration: the link is printed
// for the operator, and the log says only that a mail waits.
func TestWithoutSMTPLinksArePrinted(t *testing.T) {
	ts := newTestServer(t)
	res, _ := ts.postForm(t, "/register", registration())
	require.Equal(t, http.StatusSeeOther, res.StatusCode)

	link := regexp.MustCompile(`http://\S+/verify/\S+`).FindString(ts.stdout.String())
	require.NotEmpty(t, link, "stdout: %s", ts.stdout.String())
	assert.Contains(t, ts.logs.String(), "mail waiting in outbox")
	assert.NotContains(t, ts.logs.String(), "siti.rahmawati")
	assert.NotContains(t, ts.logs.String(), "Confirm your email")
	assert.NotContains(t, ts.stdout.String(), "siti.rahmawati", "the printed line names the account id, not the address")

	u, err := url.Parse(link)
	require.NoError(t, err)
	res, _ = ts.get(t, u.RequestURI())
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.True(t, mustUser(t, ts).Verified())
}

func TestUnverifiedSeeABannerAndCanResend(t *testing.T) {
	ts, smtpd := newMailTestServer(t)
	res, _ := ts.postForm(t, "/register", registration())
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	res, _ = ts.postForm(t, "/login", url.Values{"email": {"siti.rahmawati@example.org"}, "password": {"kain batik tulis 2026"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	res, body := ts.get(t, "/")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, 1, doc(t, body).Find(`[data-testid="unverified"] form[action="/verify/resend"]`).Length())

	res, _ = ts.postForm(t, "/verify/resend", nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	ts.deliver(t)
	mails := smtpd.WaitFor(t, 2)
	first, second := linkIn(t, mails[0], "/verify/"), linkIn(t, mails[1], "/verify/")
	require.NotEqual(t, first, second)
	live := 0
	for _, l := range []string{first, second} {
		if res, _ := ts.get(t, l); res.StatusCode == http.StatusSeeOther {
			live++
		}
	}
	assert.Equal(t, 1, live, "a new link withdraws the older one")
	res, body = ts.get(t, "/")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Zero(t, doc(t, body).Find(`[data-testid="unverified"]`).Length())
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"":                     "/",
		"/profile":             "/profile",
		"/trainings?page=2":    "/trainings?page=2",
		"//evil.example":       "/",
		"/\\evil.example":      "/",
		"https://evil.example": "/",
		"profile":              "/",
		"/ok\r\nSet-Cookie: x": "/",
	} {
		assert.Equal(t, want, safeNext(in), in)
	}
}

func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/", "//x", "/\\x", "https://x", "/a?b=c#d", "/%2F%2Fx"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		got := safeNext(v)
		u, err := url.Parse(got)
		if err != nil || u.Host != "" || u.Scheme != "" || !strings.HasPrefix(got, "/") || strings.HasPrefix(got, "//") {
			t.Fatalf("safeNext(%q) = %q leaves the site", v, got)
		}
	})
}

// Each change of address mails a link to the address typed; without a
// limit a signed-in account could mail any number of strangers.
func TestEmailChangeMailsThrottled(t *testing.T) {
	ts := newTestServer(t)
	res, _ := ts.postForm(t, "/register", registration())
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	res, _ = ts.postForm(t, "/login", url.Values{"email": {"siti.rahmawati@example.org"}, "password": {"kain batik tulis 2026"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	links := func() int { return strings.Count(ts.stdout.String(), "email confirmation link") }
	before := links()

	var last int
	var body string
	for i := range 6 {
		v := profileValues()
		v.Set("email", "victim"+strconv.Itoa(i)+"@example.net")
		v.Set("current_password", "kain batik tulis 2026")
		res, body = ts.postMultipart(t, "/profile", v, "", "", nil)
		last = res.StatusCode
	}
	assert.Equal(t, 3, links()-before, "three changes an hour, like re-sent links")
	require.Equal(t, http.StatusUnprocessableEntity, last)
	assert.Equal(t, 1, doc(t, body).Find(`[data-testid="error-email"]`).Length())

	ts.clock.Add(time.Hour)
	v := profileValues()
	v.Set("email", "siti.new@example.org")
	v.Set("current_password", "kain batik tulis 2026")
	res, _ = ts.postMultipart(t, "/profile", v, "", "", nil)
	assert.Equal(t, http.StatusSeeOther, res.StatusCode, "allowed again after the window")
}
