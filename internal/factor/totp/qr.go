package totp

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/png"
	"strconv"
	"strings"

	"github.com/boombuler/barcode"
	"github.com/boombuler/barcode/qr"
)

// QuietZone is the width, in modules, of the light margin around the QR
// symbol that ISO/IEC 18004 requires and camera scanners rely on.
const QuietZone = 4

// MaxQRSize is the largest PNG edge, in pixels, QRPNG draws.
const MaxQRSize = 4096

// matrix encodes uri as a QR symbol with error correction level M.
//
// pquerna/otp's Key.Image draws the same symbol but scales it to the full
// image with no quiet zone, so this package draws the symbol itself.
func matrix(uri string) (barcode.Barcode, int, error) {
	code, err := qr.Encode(uri, qr.M, qr.Auto)
	if err != nil {
		return nil, 0, err
	}
	return code, code.Bounds().Dx(), nil
}

// QRPNG returns uri as a QR code (error correction level M) in a PNG image of
// size×size pixels: black modules on white, a quiet zone of at least
// QuietZone modules, every module the same whole number of pixels, the
// symbol centred. size must be at least the symbol's width in modules plus
// the quiet zone (for a typical key URI about 41+8 = 49) and at most
// MaxQRSize; 256 or more reads well on screens.
func QRPNG(uri string, size int) ([]byte, error) {
	code, n, err := matrix(uri)
	if err != nil {
		return nil, err
	}
	total := n + 2*QuietZone
	if size < total || size > MaxQRSize {
		return nil, errors.New("totp: QR image size must be between " +
			strconv.Itoa(total) + " and " + strconv.Itoa(MaxQRSize) + " pixels")
	}
	scale := size / total
	offset := (size - n*scale) / 2

	img := image.NewPaletted(image.Rect(0, 0, size, size),
		color.Palette{color.Gray{Y: 0xff}, color.Gray{Y: 0}})
	// Index 0, white, is the zero value: only dark modules are drawn.
	for y := range n {
		for x := range n {
			if !isDark(code, x, y) {
				continue
			}
			for py := offset + y*scale; py < offset+(y+1)*scale; py++ {
				row := img.Pix[py*img.Stride:]
				for px := offset + x*scale; px < offset+(x+1)*scale; px++ {
					row[px] = 1
				}
			}
		}
	}
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// QRSVG returns uri as a QR code (error correction level M) in a standalone
// SVG document: a white background and one black path of unit squares, in a
// viewBox measured in modules that includes a QuietZone-module margin, with
// shape-rendering="crispEdges". It has no width or height, so it fills the
// box the page gives it; set one with CSS.
func QRSVG(uri string) (string, error) {
	code, n, err := matrix(uri)
	if err != nil {
		return "", err
	}
	total := strconv.Itoa(n + 2*QuietZone)
	var b strings.Builder
	b.WriteString(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 `)
	b.WriteString(total + " " + total)
	b.WriteString(`" shape-rendering="crispEdges" role="img" aria-label="QR code">`)
	b.WriteString(`<rect width="` + total + `" height="` + total + `" fill="#fff"/>`)
	b.WriteString(`<path fill="#000" d="`)
	// Each horizontal run of dark modules becomes one rectangle.
	for y := range n {
		for x := 0; x < n; {
			if !isDark(code, x, y) {
				x++
				continue
			}
			start := x
			for x < n && isDark(code, x, y) {
				x++
			}
			run := strconv.Itoa(x - start)
			b.WriteString("M" + strconv.Itoa(start+QuietZone) + " " + strconv.Itoa(y+QuietZone) +
				"h" + run + "v1h-" + run + "z")
		}
	}
	b.WriteString(`"/></svg>`)
	return b.String(), nil
}

// isDark reports whether the module at (x, y) is dark.
func isDark(code barcode.Barcode, x, y int) bool {
	r, _, _, _ := code.At(x, y).RGBA()
	return r < 0x8000
}
