package totp

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"image"
	"image/png"
	"io"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
	"github.com/pquerna/otp"
)

func TestURI(t *testing.T) {
	secret := []byte("12345678901234567890")
	tests := []struct {
		name, issuer, account string
		wantLabel             string // raw (escaped) path after "/"
		wantIssuerLabel       string // decoded label prefix
		wantAccountLabel      string // decoded account part
	}{
		{"plain", "Twofold", "alice@example.com",
			"Twofold:alice@example.com", "Twofold", "alice@example.com"},
		{"spaces", "Acme Corp", "Alice Smith",
			"Acme%20Corp:Alice%20Smith", "Acme Corp", "Alice Smith"},
		{"non-ASCII", "Überwald GmbH", "jürgen",
			"%C3%9Cberwald%20GmbH:j%C3%BCrgen", "Überwald GmbH", "jürgen"},
		{"colons inside parts", "Acme: Europe", "a:b",
			"Acme%EF%BC%9A%20Europe:a%EF%BC%9Ab", "Acme： Europe", "a：b"},
		{"reserved characters", "A+B/C?D#E&F=G%", "x+y",
			"A%2BB%2FC%3FD%23E&F=G%25:x%2By", "A+B/C?D#E&F=G%", "x+y"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := URI(tt.issuer, tt.account, secret)
			u, err := url.Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			if u.Scheme != "otpauth" || u.Host != "totp" {
				t.Errorf("scheme/host = %s/%s, want otpauth/totp", u.Scheme, u.Host)
			}
			if got := strings.TrimPrefix(u.EscapedPath(), "/"); got != tt.wantLabel {
				t.Errorf("label = %q, want %q", got, tt.wantLabel)
			}
			// Apps decode the label and split it at its first colon.
			issuerPart, accountPart, found := strings.Cut(strings.TrimPrefix(u.Path, "/"), ":")
			if !found || issuerPart != tt.wantIssuerLabel || accountPart != tt.wantAccountLabel {
				t.Errorf("decoded label splits into %q, %q; want %q, %q",
					issuerPart, accountPart, tt.wantIssuerLabel, tt.wantAccountLabel)
			}
			if strings.Contains(u.RawQuery, "+") {
				t.Errorf("query %q contains '+', which some apps read literally", u.RawQuery)
			}
			q := u.Query()
			want := map[string]string{
				"secret":    "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
				"issuer":    tt.issuer,
				"algorithm": "SHA1",
				"digits":    "6",
				"period":    "30",
			}
			for k, w := range want {
				if got := q.Get(k); got != w {
					t.Errorf("parameter %s = %q, want %q", k, got, w)
				}
			}
			if len(q) != len(want) {
				t.Errorf("parameters %v, want exactly %v", q, want)
			}
			// pquerna/otp, a widely used parser, reads the same key back.
			key, err := otp.NewKeyFromURL(raw)
			if err != nil {
				t.Fatal(err)
			}
			if key.Type() != "totp" || key.Issuer() != tt.issuer ||
				key.AccountName() != tt.wantAccountLabel || key.Secret() != EncodeSecret(secret) ||
				key.Period() != 30 || key.Digits() != otp.DigitsSix || key.Algorithm() != otp.AlgorithmSHA1 {
				t.Errorf("pquerna/otp reads type %s issuer %q account %q period %d digits %v algorithm %v",
					key.Type(), key.Issuer(), key.AccountName(), key.Period(), key.Digits(), key.Algorithm())
			}
		})
	}
}

func TestURIWithoutIssuer(t *testing.T) {
	raw := URI("", "alice", []byte("12345678901234567890"))
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if u.Path != "/alice" || u.Query().Has("issuer") {
		t.Errorf("URI without issuer = %s", raw)
	}
}

// decodeQR reads a QR code from img with a real decoder.
func decodeQR(t *testing.T, img image.Image) string {
	t.Helper()
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, nil)
	if err != nil {
		t.Fatalf("QR decoder: %v", err)
	}
	return res.GetText()
}

func TestQRPNGDecodesToURI(t *testing.T) {
	secret, err := GenerateSecret()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ issuer, account string }{
		{"Twofold", "alice@example.com"},
		{"Überwald GmbH: Zentrale", "Jürgen Müller-Lüdenscheidt"},
	} {
		uri := URI(tt.issuer, tt.account, secret)
		for _, size := range []int{256, 301} {
			data, err := QRPNG(uri, size)
			if err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			if b := img.Bounds(); b.Dx() != size || b.Dy() != size {
				t.Errorf("image is %v, want %dx%d", b, size, size)
			}
			if got := decodeQR(t, img); got != uri {
				t.Errorf("size %d: QR decodes to %q, want the URI", size, got)
			}
			// The corners lie in the quiet zone: light.
			if r, _, _, _ := img.At(0, 0).RGBA(); r != 0xffff {
				t.Error("corner pixel is not white")
			}
		}
	}
}

func TestQRPNGRejectsBadSizes(t *testing.T) {
	uri := URI("Twofold", "alice", []byte("12345678901234567890"))
	for _, size := range []int{-1, 0, 20, MaxQRSize + 1} {
		if _, err := QRPNG(uri, size); err == nil {
			t.Errorf("QRPNG(size %d) succeeded", size)
		}
	}
}

func TestQRSVG(t *testing.T) {
	uri := URI("Acme <&> \"Corp\"", "alice", []byte("12345678901234567890"))
	svg, err := QRSVG(uri)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(svg, "<svg ") || !strings.HasSuffix(svg, "</svg>") {
		t.Errorf("not a standalone svg element: %.60s…", svg)
	}
	var doc struct {
		XMLName        xml.Name `xml:"http://www.w3.org/2000/svg svg"`
		ViewBox        string   `xml:"viewBox,attr"`
		ShapeRendering string   `xml:"shape-rendering,attr"`
		Paths          []struct {
			D string `xml:"d,attr"`
		} `xml:"path"`
	}
	if err := xml.Unmarshal([]byte(svg), &doc); err != nil {
		t.Fatalf("SVG is not well-formed XML: %v", err)
	}
	// A strict token pass as well, to reject trailing garbage.
	dec := xml.NewDecoder(strings.NewReader(svg))
	for {
		if _, err := dec.Token(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("SVG token error: %v", err)
		}
	}
	if doc.ShapeRendering != "crispEdges" {
		t.Errorf("shape-rendering = %q", doc.ShapeRendering)
	}
	// A symbol is 21+4k modules wide; with the quiet zone, 29+4k.
	var w, h int
	if _, err := fmt.Sscanf(doc.ViewBox, "0 0 %d %d", &w, &h); err != nil || w != h || (w-29)%4 != 0 || w < 29 {
		t.Errorf("viewBox = %q", doc.ViewBox)
	}
	if len(doc.Paths) != 1 || !strings.HasPrefix(doc.Paths[0].D, "M4 4h7v1h-7z") {
		// The top-left finder pattern starts with a run of 7 dark modules
		// at (4, 4), just inside the quiet zone.
		t.Fatalf("want one path starting with the finder pattern, got %d paths", len(doc.Paths))
	}

	// The path is made of "Mx yhNv1h-Nz" runs; paint them and scan the
	// result, to show the path draws the same symbol.
	const scale = 6
	img := image.NewGray(image.Rect(0, 0, w*scale, h*scale))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	runs := regexp.MustCompile(`M(\d+) (\d+)h(\d+)v1h-(\d+)z`).FindAllStringSubmatch(doc.Paths[0].D, -1)
	if got := len(strings.Join(flatten(runs), "")); got != len(doc.Paths[0].D) {
		t.Fatalf("path has text outside the expected runs")
	}
	for _, r := range runs {
		x, _ := strconv.Atoi(r[1])
		y, _ := strconv.Atoi(r[2])
		n, _ := strconv.Atoi(r[3])
		for py := y * scale; py < (y+1)*scale; py++ {
			for px := x * scale; px < (x+n)*scale; px++ {
				img.Pix[py*img.Stride+px] = 0
			}
		}
	}
	if got := decodeQR(t, img); got != uri {
		t.Errorf("painted SVG decodes to %q, want the URI", got)
	}
}

// flatten returns the whole match of every submatch group list.
func flatten(m [][]string) []string {
	out := make([]string, len(m))
	for i, g := range m {
		out[i] = g[0]
	}
	return out
}
