package app

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"net/http"

	"golang.org/x/image/draw"
)

// Limits for profile pictures. The byte limit matches what the profile
// handler reads; the pixel limits are checked from the header alone, before
// anything is decoded, so a small file that declares a huge canvas (a
// decompression bomb) never gets its pixels allocated.
const (
	maxPictureBytes  = 2 << 20
	maxPictureSide   = 4096
	maxPicturePixels = maxPictureSide * maxPictureSide // 16 megapixels
	pictureSide      = 512                             // longer side of what is stored
	pictureQuality   = 85                              // JPEG re-encoding quality
)

// The picture errors carry messages meant for the person uploading: the
// profile form shows them beside the field.
var (
	errPictureFormat     = &Error{Status: http.StatusUnprocessableEntity, Key: "picture.format"}
	errPictureTooLarge   = &Error{Status: http.StatusUnprocessableEntity, Key: "picture.too_large"}
	errPictureDimensions = &Error{Status: http.StatusUnprocessableEntity, Key: "picture.dimensions"}
)

var (
	jpegMagic = []byte{0xFF, 0xD8, 0xFF}
	pngMagic  = []byte("\x89PNG\r\n\x1a\n")
)

// processPicture turns an uploaded profile picture into what kelas stores:
// the same format (JPEG or PNG, judged by content only), at most pictureSide
// pixels on the longer side, and re-encoded from pixels so that no metadata
// from the original (EXIF with GPS position, XMP, ICC profiles, comments,
// PNG text chunks) survives.
//
// EXIF orientation is not applied: a phone photo stored rotated by its
// camera may show sideways. That is a display nuisance, not a privacy one,
// and reading it would mean parsing EXIF we otherwise throw away.
func processPicture(data []byte) (out []byte, contentType string, err error) {
	if len(data) > maxPictureBytes {
		return nil, "", errPictureTooLarge
	}
	// The decoders parse hostile input; a bug in one must cost the upload,
	// not the server.
	defer func() {
		if r := recover(); r != nil {
			out, contentType, err = nil, "", errPictureFormat
		}
	}()

	// Sniff the magic bytes and call the format's own decoder rather than
	// image.Decode, whose registry is process-wide: a GIF or WebP decoder
	// imported anywhere else must not widen what is accepted here.
	var (
		decodeConfig func([]byte) (image.Config, error)
		decode       func([]byte) (image.Image, error)
	)
	switch {
	case bytes.HasPrefix(data, jpegMagic):
		contentType = "image/jpeg"
		decodeConfig = func(b []byte) (image.Config, error) { return jpeg.DecodeConfig(bytes.NewReader(b)) }
		decode = func(b []byte) (image.Image, error) { return jpeg.Decode(bytes.NewReader(b)) }
	case bytes.HasPrefix(data, pngMagic):
		contentType = "image/png"
		decodeConfig = func(b []byte) (image.Config, error) { return png.DecodeConfig(bytes.NewReader(b)) }
		decode = func(b []byte) (image.Image, error) { return png.Decode(bytes.NewReader(b)) }
	default:
		return nil, "", errPictureFormat
	}

	cfg, err := decodeConfig(data)
	if err != nil || cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, "", errPictureFormat
	}
	if cfg.Width > maxPictureSide || cfg.Height > maxPictureSide ||
		int64(cfg.Width)*int64(cfg.Height) > maxPicturePixels {
		return nil, "", errPictureDimensions
	}

	img, err := decode(data)
	if err != nil {
		return nil, "", errPictureFormat
	}
	img = shrinkPicture(img)

	var buf bytes.Buffer
	if contentType == "image/jpeg" {
		err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: pictureQuality})
	} else {
		err = (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&buf, img)
	}
	if err != nil {
		return nil, "", fmt.Errorf("app: encode picture: %w", err)
	}
	return buf.Bytes(), contentType, nil
}

// shrinkPicture scales img down, keeping its aspect ratio, so that its longer
// side is at most pictureSide; smaller images are returned as they are.
func shrinkPicture(img image.Image) image.Image {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	long := max(w, h)
	if long <= pictureSide {
		return img
	}
	nw := max(1, (w*pictureSide+long/2)/long)
	nh := max(1, (h*pictureSide+long/2)/long)
	dst := image.NewRGBA(image.Rect(0, 0, nw, nh))
	draw.CatmullRom.Scale(dst, dst.Bounds(), img, b, draw.Src, nil)
	return dst
}
