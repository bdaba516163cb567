package app

import (
	"encoding/base64"

	qrcode "github.com/skip2/go-qrcode"

	"kelas/views"
)

// certificateQRSize is the side of a certificate's QR code in pixels: large
// enough to scan from a printed sheet.
const certificateQRSize = 200

// certificateQR is the QR code of a certificate's public verification
// address (GET /certificates/{code} at the configured public URL), drawn
// on the server as a PNG and inlined, so it shows and prints without
// JavaScript or another request.
func (a *App) certificateQR(code string) (views.CertificateQR, error) {
	u := a.publicURL() + "/certificates/" + code
	png, err := qrcode.Encode(u, qrcode.Medium, certificateQRSize)
	if err != nil {
		return views.CertificateQR{}, err
	}
	return views.CertificateQR{URL: u, Image: "data:image/png;base64," + base64.StdEncoding.EncodeToString(png), Size: certificateQRSize}, nil
}
