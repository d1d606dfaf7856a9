package api_test

import (
	"bytes"
	"encoding/base64"
	"image/png"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"github.com/twofold-id/twofold/internal/factor/totp"
)

// scanQR decodes a data:image/png;base64 QR code as a phone camera would.
func scanQR(t *testing.T, dataURL string) string {
	t.Helper()
	b64, ok := strings.CutPrefix(dataURL, "data:image/png;base64,")
	if !ok {
		t.Fatalf("qr_png is not a PNG data URL: %.40q", dataURL)
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, nil)
	if err != nil {
		t.Fatalf("QR code does not scan: %v", err)
	}
	return res.GetText()
}

// enrollOverHTTP adds and confirms an authenticator app for the session
// tok and returns it with the backup codes.
func enrollOverHTTP(t *testing.T, s *server, tok, label string) (phone, []string) {
	t.Helper()
	r := s.post("/api/v1/me/factors/totp", tok, map[string]string{"label": label})
	if r.status != http.StatusCreated {
		t.Fatalf("start TOTP: %d %s", r.status, r.body)
	}
	m := r.json(t)
	secret, err := totp.DecodeSecret(m["secret"].(string))
	if err != nil {
		t.Fatal(err)
	}
	p := phone{secret: secret, v: totp.Default()}
	c := s.post("/api/v1/me/factors/"+m["factor_id"].(string)+"/confirm", tok, map[string]string{"code": p.code(s.clock.Now())})
	if c.status != http.StatusOK {
		t.Fatalf("confirm: %d %s", c.status, c.body)
	}
	var codes []string
	if list, ok := c.json(t)["backup_codes"].([]any); ok {
		for _, x := range list {
			codes = append(codes, x.(string))
		}
	}
	s.clock.Advance(30 * time.Second)
	return p, codes
}

func TestTheAuthenticatorAppJourneyOverHTTP(t *testing.T) {
	s := newServer(t)
	s.orgAndUser()
	tok := s.login("alice", "authenticated").str(t, "session_token")

	// Start: a QR code that scans to the otpauth URI, and the secret as text.
	r := s.post("/api/v1/me/factors/totp", tok, map[string]string{"label": "Work phone"})
	if r.status != http.StatusCreated {
		t.Fatalf("start TOTP: %d %s", r.status, r.body)
	}
	m := r.json(t)
	secretText, uri := m["secret"].(string), m["otpauth_uri"].(string)
	if !regexp.MustCompile(`^[A-Z2-7]{32}$`).MatchString(secretText) {
		t.Fatalf("secret %q is not 32 base32 characters", secretText)
	}
	if grouped := m["secret_grouped"].(string); strings.ReplaceAll(grouped, " ", "") != secretText || !regexp.MustCompile(`^([A-Z2-7]{4} ){7}[A-Z2-7]{4}$`).MatchString(grouped) {
		t.Fatalf("secret_grouped %q is not the secret in groups of four", grouped)
	}
	if got := scanQR(t, m["qr_png"].(string)); got != uri {
		t.Fatalf("QR code scans to %q, want the otpauth_uri %q", got, uri)
	}
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "otpauth" || u.Host != "totp" {
		t.Fatalf("otpauth_uri %q", uri)
	}
	if q := u.Query(); q.Get("secret") != secretText || q.Get("issuer") != "Acme Corp" {
		t.Fatalf("otpauth_uri %q lacks the secret or the issuer", uri)
	}
	if !strings.Contains(u.Path, "alice") {
		t.Fatalf("otpauth_uri %q lacks the account", uri)
	}
	if svg := m["qr_svg"].(string); !strings.HasPrefix(svg, "<svg") {
		t.Fatalf("qr_svg %.20q", svg)
	}

	// Pending: sign-in is still password only.
	s.login("alice", "authenticated")

	secret, _ := totp.DecodeSecret(secretText)
	p := phone{secret: secret, v: totp.Default()}
	c := s.post("/api/v1/me/factors/"+m["factor_id"].(string)+"/confirm", tok, map[string]string{"code": p.code(s.clock.Now())})
	if c.status != http.StatusOK {
		t.Fatalf("confirm: %d %s", c.status, c.body)
	}
	codes, _ := c.json(t)["backup_codes"].([]any)
	if len(codes) != 10 {
		t.Fatalf("confirm gave %d backup codes, want 10: %s", len(codes), c.body)
	}
	s.clock.Advance(30 * time.Second)

	// The factor list shows the label and the count, never secrets.
	f := s.get("/api/v1/me/factors", tok)
	if f.status != http.StatusOK || strings.Contains(string(f.body), secretText) || strings.Contains(string(f.body), codes[0].(string)) {
		t.Fatalf("GET /me/factors: %d %s", f.status, f.body)
	}
	fm := f.json(t)
	list := fm["factors"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["label"] != "Work phone" || list[0].(map[string]any)["confirmed"] != true || fm["backup_codes_left"] != float64(10) {
		t.Fatalf("GET /me/factors: %s", f.body)
	}

	// Sign-in now asks for a code.
	l := s.login("alice", "mfa_required")
	lm := l.json(t)
	var methods []string
	for _, x := range lm["methods"].([]any) {
		methods = append(methods, x.(string))
	}
	if !slices.Equal(methods, []string{"totp", "backup_code"}) {
		t.Fatalf("methods %v", methods)
	}
	flow := lm["flow_token"].(string)
	if _, ok := lm["session_token"]; ok {
		t.Fatal("mfa_required answer carries a session token")
	}
	// The flow token is no session.
	for _, path := range []string{"/api/v1/me", "/api/v1/me/factors", "/api/v1/me/sessions"} {
		if r := s.get(path, flow); r.status != http.StatusUnauthorized || r.errorCode(t) != "unauthenticated" {
			t.Fatalf("GET %s with a flow token: %d %s", path, r.status, r.body)
		}
	}
	if r := s.post("/api/v1/me/factors/totp", flow, map[string]string{"label": "Attacker"}); r.status != http.StatusUnauthorized {
		t.Fatalf("adding a factor with a flow token: %d %s", r.status, r.body)
	}
	if r := s.post("/api/v1/auth/enroll/totp", "", map[string]string{"flow_token": flow}); r.status < 400 || r.status >= 500 {
		t.Fatalf("enrolling with an mfa flow: %d %s", r.status, r.body)
	}

	wrong := s.post("/api/v1/auth/verify", "", map[string]string{"flow_token": flow, "method": "totp", "code": p.wrong(s.clock.Now())})
	if wrong.status != http.StatusUnauthorized || wrong.errorCode(t) != "invalid_code" {
		t.Fatalf("wrong code: %d %s", wrong.status, wrong.body)
	}
	code := p.code(s.clock.Now())
	v := s.post("/api/v1/auth/verify", "", map[string]string{"flow_token": flow, "method": "totp", "code": code})
	if v.status != http.StatusOK || v.str(t, "status") != "authenticated" || v.str(t, "session_token") == "" {
		t.Fatalf("verify: %d %s", v.status, v.body)
	}
	sess := v.str(t, "session_token")
	me := s.get("/api/v1/me", sess).json(t)
	amr, _ := me["session"].(map[string]any)["amr"].([]any)
	if !slices.Contains(amr, any("otp")) {
		t.Fatalf("session amr %v lacks otp", amr)
	}

	// Replay of the same code on a new sign-in.
	flow2 := s.login("alice", "mfa_required").str(t, "flow_token")
	replay := s.post("/api/v1/auth/verify", "", map[string]string{"flow_token": flow2, "method": "totp", "code": code})
	if replay.status != http.StatusUnauthorized || replay.errorCode(t) != "invalid_code" {
		t.Fatalf("replayed code: %d %s", replay.status, replay.body)
	}
	// A backup code works on the same flow.
	b := s.post("/api/v1/auth/verify", "", map[string]string{"flow_token": flow2, "method": "backup_code", "code": codes[0].(string)})
	if b.status != http.StatusOK {
		t.Fatalf("backup code: %d %s", b.status, b.body)
	}
	if left := s.get("/api/v1/me/factors", sess).json(t)["backup_codes_left"]; left != float64(9) {
		t.Fatalf("backup_codes_left %v, want 9", left)
	}
}

func TestWrongCodesGet429WithRetryAfter(t *testing.T) {
	s := newServer(t)
	s.orgAndUser()
	tok := s.login("alice", "authenticated").str(t, "session_token")
	p, _ := enrollOverHTTP(t, s, tok, "Phone")

	var last response
	for i := 1; i <= 6; i++ {
		flow := s.login("alice", "mfa_required").str(t, "flow_token")
		last = s.post("/api/v1/auth/verify", "", map[string]string{"flow_token": flow, "method": "totp", "code": p.wrong(s.clock.Now())})
		if i <= 5 && last.status != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d %s", i, last.status, last.body)
		}
	}
	if last.status != http.StatusTooManyRequests || last.errorCode(t) != "too_many_attempts" {
		t.Fatalf("sixth wrong code: %d %s", last.status, last.body)
	}
	if ra, err := strconv.Atoi(last.header.Get("Retry-After")); err != nil || ra < 1 {
		t.Fatalf("Retry-After %q", last.header.Get("Retry-After"))
	}
}

func TestOneAddressSendingTooManyCodesGets429WithRetryAfter(t *testing.T) {
	s := newServer(t)
	s.orgAndUser()
	var limited response
	for i := 0; i < 100 && limited.status == 0; i++ {
		r := s.do(request{method: http.MethodPost, path: "/api/v1/auth/verify", ip: "203.0.113.7",
			body: map[string]string{"flow_token": "tff_nope", "method": "totp", "code": "123456"}})
		switch r.status {
		case http.StatusUnauthorized:
		case http.StatusTooManyRequests:
			limited = r
		default:
			t.Fatalf("request %d: %d %s", i, r.status, r.body)
		}
	}
	if limited.status == 0 || limited.errorCode(t) != "rate_limited" {
		t.Fatal("100 code requests from one address were never limited")
	}
	if ra, err := strconv.Atoi(limited.header.Get("Retry-After")); err != nil || ra < 1 {
		t.Fatalf("Retry-After %q", limited.header.Get("Retry-After"))
	}
	// Another address is not affected.
	if r := s.post("/api/v1/auth/verify", "", map[string]string{"flow_token": "tff_nope", "method": "totp", "code": "123456"}); r.status != http.StatusUnauthorized {
		t.Fatalf("other address: %d %s", r.status, r.body)
	}
}
