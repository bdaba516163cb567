package app

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"net/http/httptest"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Distinctive strings planted in metadata; none may survive processing.
var pictureSecrets = []string{
	"GPSLAT-51.5074-SECRET",
	"JPEG-COMMENT-SECRET",
	"XMP-AUTHOR-SECRET",
	"ICC-PROFILE-SECRET",
	"PNG-TEXT-SECRET",
}

// testImage is a w×h gradient, so that the encoders have something to do.
func testImage(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.NRGBA{uint8(x), uint8(y), uint8(x + y), 255})
		}
	}
	return img
}

func encodeJPEG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, jpeg.Encode(&buf, img, nil))
	return buf.Bytes()
}

func encodePNG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, img))
	return buf.Bytes()
}

// jpegSegment builds a JPEG marker segment; the length counts itself.
func jpegSegment(marker byte, payload []byte) []byte {
	seg := []byte{0xFF, marker, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
	return append(seg, payload...)
}

// jpegWithMetadata is a w×h JPEG carrying EXIF (with a GPS-like value), XMP,
// an ICC profile and a comment, inserted right after the SOI marker as
// cameras and editors do.
func jpegWithMetadata(t testing.TB, w, h int) []byte {
	t.Helper()
	plain := encodeJPEG(t, testImage(w, h))
	exif := append([]byte("Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08"), "GPSLAT-51.5074-SECRET"...)
	xmp := append([]byte("http://ns.adobe.com/xap/1.0/\x00"), "<x:xmpmeta><dc:creator>XMP-AUTHOR-SECRET</dc:creator></x:xmpmeta>"...)
	icc := append([]byte("ICC_PROFILE\x00\x01\x01"), "ICC-PROFILE-SECRET"...)
	var out []byte
	out = append(out, plain[:2]...) // SOI
	out = append(out, jpegSegment(0xE1, exif)...)
	out = append(out, jpegSegment(0xE1, xmp)...)
	out = append(out, jpegSegment(0xE2, icc)...)
	out = append(out, jpegSegment(0xFE, []byte("JPEG-COMMENT-SECRET"))...)
	return append(out, plain[2:]...)
}

// pngChunk builds a PNG chunk with its CRC over type and data.
func pngChunk(typ string, data []byte) []byte {
	c := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	c = append(c, typ...)
	c = append(c, data...)
	return binary.BigEndian.AppendUint32(c, crc32.ChecksumIEEE(c[4:]))
}

// pngWithText is a w×h PNG with a tEXt chunk right after IHDR.
func pngWithText(t testing.TB, w, h int) []byte {
	t.Helper()
	plain := encodePNG(t, testImage(w, h))
	const afterIHDR = 8 + 8 + 13 + 4 // signature, IHDR length+type, data, CRC
	var out []byte
	out = append(out, plain[:afterIHDR]...)
	out = append(out, pngChunk("tEXt", []byte("Comment\x00PNG-TEXT-SECRET"))...)
	return append(out, plain[afterIHDR:]...)
}

// pngBomb is a tiny, well-formed PNG whose IHDR declares a w×h RGB canvas.
func pngBomb(w, h uint32) []byte {
	ihdr := binary.BigEndian.AppendUint32(nil, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 2, 0, 0, 0) // 8-bit truecolour, deflate, adaptive, no interlace
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	_, _ = zw.Write(make([]byte, 64))
	_ = zw.Close()
	out := []byte("\x89PNG\r\n\x1a\n")
	out = append(out, pngChunk("IHDR", ihdr)...)
	out = append(out, pngChunk("IDAT", z.Bytes())...)
	return append(out, pngChunk("IEND", nil)...)
}

// jpegBomb is a small valid JPEG whose SOF header is patched to declare w×h.
func jpegBomb(t testing.TB, w, h uint16) []byte {
	t.Helper()
	b := encodeJPEG(t, testImage(16, 16))
	i := bytes.Index(b, []byte{0xFF, 0xC0}) // baseline SOF0, what image/jpeg writes
	require.GreaterOrEqual(t, i, 0)
	binary.BigEndian.PutUint16(b[i+5:], h)
	binary.BigEndian.PutUint16(b[i+7:], w)
	return b
}

func gifBytes(t testing.TB) []byte {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, gif.Encode(&buf, testImage(32, 32), nil))
	return buf.Bytes()
}

// decodeOutput decodes processPicture's output with the decoder its content
// type names, so a mislabelled output fails.
func decodeOutput(t testing.TB, out []byte, contentType string) image.Image {
	t.Helper()
	var (
		img image.Image
		err error
	)
	switch contentType {
	case "image/jpeg":
		img, err = jpeg.Decode(bytes.NewReader(out))
	case "image/png":
		img, err = png.Decode(bytes.NewReader(out))
	default:
		t.Fatalf("unexpected content type %q", contentType)
	}
	require.NoError(t, err)
	return img
}

func TestProcessPictureStripsMetadataAndShrinks(t *testing.T) {
	tests := []struct {
		name    string
		data    []byte
		planted string // a secret the input carries
		ctype   string
		wantWH  image.Point
	}{
		{"jpeg landscape", jpegWithMetadata(t, 800, 600), "GPSLAT-51.5074-SECRET", "image/jpeg", image.Pt(512, 384)},
		{"jpeg portrait", jpegWithMetadata(t, 300, 1000), "JPEG-COMMENT-SECRET", "image/jpeg", image.Pt(154, 512)},
		{"jpeg small kept", jpegWithMetadata(t, 200, 100), "XMP-AUTHOR-SECRET", "image/jpeg", image.Pt(200, 100)},
		{"png landscape", pngWithText(t, 1024, 256), "PNG-TEXT-SECRET", "image/png", image.Pt(512, 128)},
		{"png small kept", pngWithText(t, 64, 48), "PNG-TEXT-SECRET", "image/png", image.Pt(64, 48)},
		{"png thin strip", encodePNG(t, testImage(4096, 1)), "", "image/png", image.Pt(512, 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Contains(t, string(tt.data), tt.planted, "the input must carry the metadata")
			out, ctype, err := processPicture(tt.data)
			require.NoError(t, err)
			assert.Equal(t, tt.ctype, ctype)
			for _, s := range pictureSecrets {
				assert.NotContains(t, string(out), s)
			}
			img := decodeOutput(t, out, ctype)
			assert.Equal(t, tt.wantWH, img.Bounds().Size())
			assert.LessOrEqual(t, max(img.Bounds().Dx(), img.Bounds().Dy()), 512)
			if ctype == "image/jpeg" {
				// No APPn or COM segment at all, not just none with our strings.
				for _, m := range jpegMarkers(t, out) {
					assert.False(t, m >= 0xE0 && m <= 0xEF || m == 0xFE, "marker FF%02X kept", m)
				}
			}
		})
	}
}

// jpegMarkers lists the markers of the segments before the scan data.
func jpegMarkers(t testing.TB, b []byte) []byte {
	t.Helper()
	require.True(t, bytes.HasPrefix(b, []byte{0xFF, 0xD8}))
	var markers []byte
	for i := 2; i+4 <= len(b); {
		require.Equal(t, byte(0xFF), b[i], "segment start at %d", i)
		m := b[i+1]
		markers = append(markers, m)
		if m == 0xDA { // SOS: entropy-coded data follows
			break
		}
		i += 2 + int(binary.BigEndian.Uint16(b[i+2:]))
	}
	return markers
}

func TestProcessPicturePNGTextChunkRemoved(t *testing.T) {
	in := pngWithText(t, 100, 100)
	require.Contains(t, string(in), "tEXt")
	out, _, err := processPicture(in)
	require.NoError(t, err)
	for _, chunk := range []string{"tEXt", "zTXt", "iTXt", "eXIf", "iCCP", "tIME"} {
		assert.NotContains(t, string(out), chunk)
	}
}

func TestProcessPictureRefuses(t *testing.T) {
	validJPEG := encodeJPEG(t, testImage(200, 200))
	validPNG := encodePNG(t, testImage(200, 200))
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, errPictureFormat},
		{"text renamed", []byte("Dear colleague,\nthis is not a picture.\n"), errPictureFormat},
		{"html renamed", []byte("<!DOCTYPE html><html><script>alert(1)</script></html>"), errPictureFormat},
		{"svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`), errPictureFormat},
		{"gif", gifBytes(t), errPictureFormat},
		{"webp", append([]byte("RIFF\x24\x00\x00\x00WEBPVP8 "), make([]byte, 32)...), errPictureFormat},
		{"jpeg magic only", []byte{0xFF, 0xD8, 0xFF}, errPictureFormat},
		{"png signature only", []byte("\x89PNG\r\n\x1a\n"), errPictureFormat},
		{"truncated jpeg header", validJPEG[:20], errPictureFormat},
		{"truncated jpeg data", validJPEG[:len(validJPEG)/2], errPictureFormat},
		{"truncated png data", validPNG[:len(validPNG)/2], errPictureFormat},
		{"corrupt jpeg data", corruptTail(validJPEG), errPictureFormat},
		{"png bomb", pngBomb(50000, 50000), errPictureDimensions},
		{"png one pixel too wide", encodePNG(t, image.NewGray(image.Rect(0, 0, 4097, 1))), errPictureDimensions},
		{"png too tall", pngBomb(1, 4097), errPictureDimensions},
		{"jpeg bomb", jpegBomb(t, 65000, 65000), errPictureDimensions},
		{"jpeg zero height", jpegBomb(t, 16, 0), errPictureFormat},
		{"over 2 MB", append(bytes.Clone(validJPEG), make([]byte, 2<<20)...), errPictureTooLarge},
		{"over 2 MB of text", bytes.Repeat([]byte("a"), 2<<20+1), errPictureTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, ctype, err := processPicture(tt.data)
			require.ErrorIs(t, err, tt.want)
			assert.Nil(t, out)
			assert.Empty(t, ctype)
		})
	}
}

// corruptTail overwrites the entropy-coded data of a JPEG with marker bytes
// the decoder cannot accept there.
func corruptTail(b []byte) []byte {
	c := bytes.Clone(b)
	for i := len(c) / 2; i < len(c)-2; i += 2 {
		c[i], c[i+1] = 0xFF, 0xC4
	}
	return c
}

func TestProcessPictureExactly2MB(t *testing.T) {
	// Trailing bytes after EOI are ignored by the decoder, so this is a
	// valid picture of exactly the limit.
	data := encodeJPEG(t, testImage(64, 64))
	data = append(data, make([]byte, 2<<20-len(data))...)
	require.Len(t, data, 2<<20)
	_, ctype, err := processPicture(data)
	require.NoError(t, err)
	assert.Equal(t, "image/jpeg", ctype)
}

func TestProcessPictureBombNotAllocated(t *testing.T) {
	// A 50000×50000 RGB canvas is 7.5 GB; refusing it from the header must
	// cost next to nothing.
	bomb := pngBomb(50000, 50000)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, _, err := processPicture(bomb)
	runtime.ReadMemStats(&after)
	require.ErrorIs(t, err, errPictureDimensions)
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(1<<20))
}

func TestPictureErrorsSpeakToPeople(t *testing.T) {
	for _, err := range []error{errPictureFormat, errPictureTooLarge, errPictureDimensions} {
		assert.Regexp(t, `^The picture .*\.$`, messageOf(httptest.NewRequest("GET", "/", nil), err))
	}
}

func FuzzProcessPicture(f *testing.F) {
	f.Add(jpegWithMetadata(f, 40, 30))
	f.Add(pngWithText(f, 30, 40))
	f.Add(encodePNG(f, testImage(600, 10)))
	f.Add(pngBomb(50000, 50000))
	f.Add(jpegBomb(f, 65000, 65000))
	f.Add(gifBytes(f))
	f.Add([]byte("<html><body>not a picture</body></html>"))
	j := encodeJPEG(f, testImage(32, 32))
	f.Add(j[:len(j)/2])
	f.Fuzz(func(t *testing.T, data []byte) {
		out, ctype, err := processPicture(data)
		if err != nil {
			ok := errors.Is(err, errPictureFormat) || errors.Is(err, errPictureDimensions) ||
				errors.Is(err, errPictureTooLarge)
			require.True(t, ok, "unexpected error: %v", err)
			return
		}
		img := decodeOutput(t, out, ctype)
		size := img.Bounds().Size()
		require.True(t, size.X > 0 && size.Y > 0)
		require.LessOrEqual(t, max(size.X, size.Y), 512)
	})
}

// BenchmarkProcessPicture measures the worst accepted case: a picture at the
// pixel limit, decoded in full and scaled down to 512 px.
func BenchmarkProcessPicture(b *testing.B) {
	data := encodeJPEG(b, testImage(4096, 4096))
	require.LessOrEqual(b, len(data), 2<<20)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := processPicture(data); err != nil {
			b.Fatal(err)
		}
	}
}
