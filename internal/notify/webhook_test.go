package notify

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var testSecret = []byte("0123456789abcdef0123456789abcdef")

// webhookRequest is one request as the test receiver got it.
type webhookRequest struct {
	Body      []byte
	Signature string
	Delivery  string
	Verified  error
}

type webhookServer struct {
	*httptest.Server
	calls atomic.Int32

	mu       sync.Mutex
	requests []webhookRequest
}

// startWebhook runs a receiver that verifies every request the way a real
// receiver would; status picks the answer to the n-th request (1-based).
func startWebhook(t *testing.T, status func(n int) int) *webhookServer {
	t.Helper()
	s := &webhookServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(s.calls.Add(1))
		body, _ := io.ReadAll(r.Body)
		sig := r.Header.Get(SignatureHeader)
		s.mu.Lock()
		s.requests = append(s.requests, webhookRequest{
			Body: body, Signature: sig, Delivery: r.Header.Get(DeliveryHeader),
			Verified: VerifyWebhookSignature(testSecret, body, sig, time.Now(), 0),
		})
		s.mu.Unlock()
		code := status(n)
		w.WriteHeader(code)
		if code >= 400 {
			w.Write([]byte(`{"code":42,"message":"receiver says no"}`))
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func newTestWebhook(t *testing.T, url string, timeout time.Duration) *WebhookTexter {
	t.Helper()
	wh, err := NewWebhook(WebhookConfig{URL: url, Secret: testSecret, Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	wh.retry.backoff = []time.Duration{time.Millisecond, 2 * time.Millisecond}
	return wh
}

func TestWebhookSendsSignedJSON(t *testing.T) {
	srv := startWebhook(t, func(int) int { return http.StatusAccepted })
	wh := newTestWebhook(t, srv.URL+"/sms?tenant=a", 0)
	before := time.Now().Unix()
	if err := wh.SendSMS(t.Context(), SMS{To: "+1 555 123 4567", Body: "Code 123456 \"quoted\" ✓"}); err != nil {
		t.Fatal(err)
	}
	if len(srv.requests) != 1 {
		t.Fatalf("receiver got %d requests", len(srv.requests))
	}
	req := srv.requests[0]
	if req.Verified != nil {
		t.Errorf("signature does not verify: %v", req.Verified)
	}
	var p struct {
		To        string `json:"to"`
		Body      string `json:"body"`
		Timestamp int64  `json:"timestamp"`
	}
	if err := json.Unmarshal(req.Body, &p); err != nil {
		t.Fatal(err)
	}
	if p.To != "+15551234567" || p.Body != "Code 123456 \"quoted\" ✓" || p.Timestamp < before || p.Timestamp > time.Now().Unix() {
		t.Errorf("payload = %+v", p)
	}
	if !strings.HasPrefix(req.Signature, "t="+jsonNumber(p.Timestamp)+",v1=") {
		t.Errorf("signature header %q does not carry the body's timestamp", req.Signature)
	}
	if len(req.Delivery) != 32 {
		t.Errorf("delivery id = %q", req.Delivery)
	}
}

func jsonNumber(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func TestVerifyWebhookSignature(t *testing.T) {
	now := time.Unix(1_760_000_000, 0)
	body := []byte(`{"to":"+15551234567","body":"code 1","timestamp":1760000000}`)
	good := SignWebhook(testSecret, body, now.Unix())
	other := SignWebhook([]byte("another secret of 32 bytes......"), body, now.Unix())
	tests := []struct {
		name   string
		secret []byte
		body   []byte
		header string
		now    time.Time
		want   error
	}{
		{"valid", testSecret, body, good, now, nil},
		{"valid within tolerance", testSecret, body, good, now.Add(4 * time.Minute), nil},
		{"valid with spaces and a second v1 during rotation", testSecret, body,
			strings.Replace(other, ",", ", ", 1) + "," + strings.SplitN(good, ",", 2)[1], now, nil},
		{"valid with an unknown scheme beside v1", testSecret, body, good + ",v0=abc", now, nil},
		{"error/tampered body", testSecret, []byte(strings.Replace(string(body), "code 1", "code 2", 1)), good, now, ErrInvalidSignature},
		{"error/wrong secret", []byte("wrong secret"), body, good, now, ErrInvalidSignature},
		{"error/old timestamp", testSecret, body, good, now.Add(6 * time.Minute), ErrStaleSignature},
		{"error/timestamp in the future", testSecret, body, good, now.Add(-6 * time.Minute), ErrStaleSignature},
		{"error/old timestamp re-signed without the secret", testSecret, body,
			strings.Replace(good, "t=1760000000", "t=1760000360", 1), now.Add(6 * time.Minute), ErrInvalidSignature},
		{"error/empty header", testSecret, body, "", now, ErrInvalidSignature},
		{"error/no v1", testSecret, body, "t=1760000000", now, ErrInvalidSignature},
		{"error/no timestamp", testSecret, body, strings.SplitN(good, ",", 2)[1], now, ErrInvalidSignature},
		{"error/two timestamps", testSecret, body, "t=1," + good, now, ErrInvalidSignature},
		{"error/timestamp with a plus sign", testSecret, body, strings.Replace(good, "t=", "t=+", 1), now, ErrInvalidSignature},
		{"error/v1 not hex", testSecret, body, "t=1760000000,v1=zz", now, ErrInvalidSignature},
		{"error/v1 truncated", testSecret, body, good[:len(good)-2], now, ErrInvalidSignature},
		{"error/part without equals sign", testSecret, body, good + ",junk", now, ErrInvalidSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := VerifyWebhookSignature(tt.secret, tt.body, tt.header, tt.now, 5*time.Minute)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestWebhookErrorsAndRetries(t *testing.T) {
	tests := []struct {
		name      string
		status    func(n int) int
		wantCalls int32
		wantErr   func(t *testing.T, pe *ProviderError)
	}{
		{
			name:      "two server errors then ok succeeds on the third attempt",
			status:    func(n int) int { return map[bool]int{true: 500, false: 200}[n <= 2] },
			wantCalls: 3,
		},
		{
			name: "error/bad request is permanent and not retried", status: func(int) int { return 400 },
			wantCalls: 1,
			wantErr: func(t *testing.T, pe *ProviderError) {
				if pe.Provider != "webhook" || pe.Status != 400 || pe.Temporary || pe.Code != 42 || pe.Message != "receiver says no" {
					t.Errorf("ProviderError = %+v", pe)
				}
			},
		},
		{
			name: "error/unavailable gives up after three attempts", status: func(int) int { return 503 },
			wantCalls: 3,
			wantErr: func(t *testing.T, pe *ProviderError) {
				if pe.Status != 503 || !pe.Temporary {
					t.Errorf("ProviderError = %+v", pe)
				}
			},
		},
		{
			name: "error/a redirect is not followed", status: func(int) int { return 302 },
			wantCalls: 1,
			wantErr: func(t *testing.T, pe *ProviderError) {
				if pe.Status != 302 || pe.Temporary {
					t.Errorf("ProviderError = %+v", pe)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startWebhook(t, tt.status)
			wh := newTestWebhook(t, srv.URL, 5*time.Second)
			err := wh.SendSMS(t.Context(), SMS{To: "+15551234567", Body: "code 735102"})
			if got := srv.calls.Load(); got != tt.wantCalls {
				t.Errorf("receiver got %d requests, want %d", got, tt.wantCalls)
			}
			deliveries := map[string]bool{}
			for _, r := range srv.requests {
				if r.Verified != nil {
					t.Errorf("attempt not verifiable: %v", r.Verified)
				}
				deliveries[r.Delivery] = true
			}
			if len(deliveries) != 1 {
				t.Errorf("retries carry %d delivery ids, want one", len(deliveries))
			}
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("SendSMS: %v", err)
				}
				return
			}
			if err == nil || strings.Contains(err.Error(), "735102") {
				t.Fatalf("err = %v, want an error without the body", err)
			}
			tt.wantErr(t, providerErr(t, err))
		})
	}
}

func TestWebhookSlowReceiverFailsWithinTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // lets the server notice the client leaving
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	t.Cleanup(srv.Close)
	wh := newTestWebhook(t, srv.URL, 300*time.Millisecond)
	start := time.Now()
	err := wh.SendSMS(t.Context(), SMS{To: "+15551234567", Body: "x"})
	if elapsed := time.Since(start); elapsed > 1300*time.Millisecond {
		t.Errorf("SendSMS took %v with a 300ms timeout", elapsed)
	}
	if !IsTemporary(err) {
		t.Errorf("err = %v, want a temporary ProviderError", err)
	}
}

func TestNewWebhookChecksConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  WebhookConfig
		ok   bool
	}{
		{"https", WebhookConfig{URL: "https://sms.example.com/send", Secret: testSecret}, true},
		{"http to localhost", WebhookConfig{URL: "http://localhost:8080/send", Secret: testSecret}, true},
		{"error/http to a remote host", WebhookConfig{URL: "http://sms.example.com/send", Secret: testSecret}, false},
		{"error/relative URL", WebhookConfig{URL: "/send", Secret: testSecret}, false},
		{"error/short secret", WebhookConfig{URL: "https://sms.example.com", Secret: []byte("short")}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewWebhook(tt.cfg); (err == nil) != tt.ok {
				t.Errorf("NewWebhook error = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}
