package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	testSID   = "AC0123456789abcdef0123456789abcdef"
	testToken = "tok-9f8e7d6c5b4a"
)

// twilioServer is a local HTTP server speaking Twilio's Messages API. answer
// picks the status for the n-th request (1-based); requests are recorded.
type twilioServer struct {
	*httptest.Server
	calls atomic.Int32

	mu       sync.Mutex
	requests []twilioRequest
}

type twilioRequest struct {
	Path, User, Pass, ContentType string
	To, From, Body                string
}

func startTwilio(t *testing.T, answer func(n int, w http.ResponseWriter, r *http.Request)) *twilioServer {
	t.Helper()
	s := &twilioServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(s.calls.Add(1))
		user, pass, _ := r.BasicAuth()
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.requests = append(s.requests, twilioRequest{
			Path: r.URL.Path, User: user, Pass: pass, ContentType: r.Header.Get("Content-Type"),
			To: r.PostForm.Get("To"), From: r.PostForm.Get("From"), Body: r.PostForm.Get("Body"),
		})
		s.mu.Unlock()
		if r.Method != http.MethodPost || user != testSID || pass != testToken {
			twilioFail(w, http.StatusUnauthorized, 20003, "Authenticate")
			return
		}
		answer(n, w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

// twilioCreated answers like Twilio does for a queued message.
func twilioCreated(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(map[string]any{
		"sid": "SM0123456789abcdef0123456789abcdef", "status": "queued",
		"to": r.PostForm.Get("To"), "from": r.PostForm.Get("From"), "body": r.PostForm.Get("Body"),
		"num_segments": "1", "direction": "outbound-api", "error_code": nil,
	})
}

// twilioFail answers with Twilio's error document.
func twilioFail(w http.ResponseWriter, status, code int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"code":%d,"message":%q,"more_info":"https://www.twilio.com/docs/errors/%d","status":%d}`,
		code, message, code, status)
}

func newTestTwilio(t *testing.T, baseURL string, timeout time.Duration) *TwilioTexter {
	t.Helper()
	tw, err := NewTwilio(TwilioConfig{
		AccountSID: testSID, AuthToken: testToken, From: "+1 (555) 000-1111",
		BaseURL: baseURL, Timeout: timeout,
	})
	if err != nil {
		t.Fatal(err)
	}
	tw.retry.backoff = []time.Duration{time.Millisecond, 2 * time.Millisecond}
	return tw
}

func TestTwilioSendsMessagesAPIRequest(t *testing.T) {
	srv := startTwilio(t, func(_ int, w http.ResponseWriter, r *http.Request) { twilioCreated(w, r) })
	tw := newTestTwilio(t, srv.URL+"/", 0)
	if err := tw.SendSMS(t.Context(), SMS{To: "+49 151 2345-6789", Body: "Twofold code: 123456 ✓"}); err != nil {
		t.Fatal(err)
	}
	if len(srv.requests) != 1 {
		t.Fatalf("server got %d requests, want 1", len(srv.requests))
	}
	got := srv.requests[0]
	want := twilioRequest{
		Path: "/2010-04-01/Accounts/" + testSID + "/Messages.json",
		User: testSID, Pass: testToken, ContentType: "application/x-www-form-urlencoded",
		To: "+4915123456789", From: "+15550001111", Body: "Twofold code: 123456 ✓",
	}
	if got != want {
		t.Errorf("request =\n %+v\nwant\n %+v", got, want)
	}
}

// providerErr returns the *ProviderError in err or fails the test.
func providerErr(t *testing.T, err error) *ProviderError {
	t.Helper()
	var pe *ProviderError
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v (%T), want *ProviderError", err, err)
	}
	return pe
}

func TestTwilioErrorsAndRetries(t *testing.T) {
	tests := []struct {
		name      string
		answer    func(n int, w http.ResponseWriter, r *http.Request)
		timeout   time.Duration
		wantCalls int32
		check     func(t *testing.T, err error)
	}{
		{
			name: "error/invalid number is permanent and not retried",
			answer: func(_ int, w http.ResponseWriter, _ *http.Request) {
				twilioFail(w, 400, 21211, "The 'To' number +15005550001 is not a valid phone number.")
			},
			wantCalls: 1,
			check: func(t *testing.T, err error) {
				pe := providerErr(t, err)
				if pe.Provider != "twilio" || pe.Status != 400 || pe.Code != 21211 || pe.Temporary ||
					!strings.Contains(pe.Message, "not a valid phone number") {
					t.Errorf("ProviderError = %+v", pe)
				}
			},
		},
		{
			name: "two server errors then created succeeds on the third attempt",
			answer: func(n int, w http.ResponseWriter, r *http.Request) {
				if n <= 2 {
					twilioFail(w, 500, 20500, "Internal Server Error")
					return
				}
				twilioCreated(w, r)
			},
			wantCalls: 3,
		},
		{
			name: "error/unavailable three times gives up after three attempts",
			answer: func(_ int, w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(http.StatusServiceUnavailable)
				w.Write([]byte("<html>upstream down</html>"))
			},
			wantCalls: 3,
			check: func(t *testing.T, err error) {
				pe := providerErr(t, err)
				if pe.Status != 503 || !pe.Temporary || pe.Message != "Service Unavailable" {
					t.Errorf("ProviderError = %+v", pe)
				}
			},
		},
		{
			name: "error/too many requests is temporary",
			answer: func(_ int, w http.ResponseWriter, _ *http.Request) {
				twilioFail(w, 429, 20429, "Too Many Requests")
			},
			wantCalls: 3,
			check: func(t *testing.T, err error) {
				if pe := providerErr(t, err); pe.Code != 20429 || !pe.Temporary {
					t.Errorf("ProviderError = %+v", pe)
				}
			},
		},
		{
			name: "error/a server slower than the timeout fails within the timeout",
			answer: func(_ int, w http.ResponseWriter, r *http.Request) {
				select {
				case <-r.Context().Done():
				case <-time.After(5 * time.Second):
				}
			},
			timeout: 300 * time.Millisecond,
			check: func(t *testing.T, err error) {
				if pe := providerErr(t, err); !pe.Temporary || !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("ProviderError = %+v, want temporary deadline error", pe)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startTwilio(t, tt.answer)
			timeout := tt.timeout
			if timeout == 0 {
				timeout = 5 * time.Second
			}
			tw := newTestTwilio(t, srv.URL, timeout)
			start := time.Now()
			err := tw.SendSMS(t.Context(), SMS{To: "+15551234567", Body: "code 735102"})
			elapsed := time.Since(start)
			if elapsed > timeout+time.Second {
				t.Errorf("SendSMS took %v with a %v timeout", elapsed, timeout)
			}
			if tt.wantCalls != 0 && srv.calls.Load() != tt.wantCalls {
				t.Errorf("server got %d requests, want %d", srv.calls.Load(), tt.wantCalls)
			}
			if tt.check == nil {
				if err != nil {
					t.Fatalf("SendSMS: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("SendSMS succeeded")
			}
			t.Logf("error: %v", err)
			for _, secret := range []string{"735102", testToken} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error contains %q: %v", secret, err)
				}
			}
			tt.check(t, err)
		})
	}
}

func TestTwilioRespectsCallerContext(t *testing.T) {
	srv := startTwilio(t, func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(503) })
	tw := newTestTwilio(t, srv.URL, 5*time.Second)
	tw.retry.backoff = []time.Duration{time.Hour}
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := tw.SendSMS(ctx, SMS{To: "+15551234567", Body: "x"})
	if err == nil || time.Since(start) > 2*time.Second {
		t.Fatalf("err = %v after %v; want an error soon after the caller's deadline", err, time.Since(start))
	}
	if srv.calls.Load() != 1 {
		t.Errorf("server got %d requests, want 1", srv.calls.Load())
	}
}

func TestTwilioRejectsBadInputWithoutCalling(t *testing.T) {
	srv := startTwilio(t, func(_ int, w http.ResponseWriter, r *http.Request) { twilioCreated(w, r) })
	tw := newTestTwilio(t, srv.URL, 0)
	if err := tw.SendSMS(t.Context(), SMS{To: "555-1234", Body: "x"}); !errors.Is(err, ErrInvalidPhone) {
		t.Errorf("national number: err = %v, want ErrInvalidPhone", err)
	}
	if err := tw.SendSMS(t.Context(), SMS{To: "+15551234567"}); !errors.Is(err, ErrInvalidMessage) {
		t.Errorf("empty body: err = %v, want ErrInvalidMessage", err)
	}
	if srv.calls.Load() != 0 {
		t.Errorf("server got %d requests", srv.calls.Load())
	}
}

func TestNewTwilioChecksConfig(t *testing.T) {
	ok := TwilioConfig{AccountSID: testSID, AuthToken: testToken, From: "+15550001111"}
	tests := []struct {
		name   string
		change func(*TwilioConfig)
		ok     bool
	}{
		{"defaults to api.twilio.com", func(*TwilioConfig) {}, true},
		{"messaging service as sender", func(c *TwilioConfig) { c.From = "MG0123" }, true},
		{"error/no token", func(c *TwilioConfig) { c.AuthToken = "" }, false},
		{"error/bad from number", func(c *TwilioConfig) { c.From = "+0123" }, false},
		{"error/plain http to a remote host", func(c *TwilioConfig) { c.BaseURL = "http://api.example.com" }, false},
		{"error/credentials in URL", func(c *TwilioConfig) { c.BaseURL = "https://u:p@api.example.com" }, false},
		{"error/slash in account SID", func(c *TwilioConfig) { c.AccountSID = "AC1/../x" }, false},
		{"error/negative timeout", func(c *TwilioConfig) { c.Timeout = -1 }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ok
			tt.change(&cfg)
			tw, err := NewTwilio(cfg)
			if (err == nil) != tt.ok {
				t.Fatalf("NewTwilio error = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && strings.Contains(err.Error(), testToken) {
				t.Errorf("error contains the token: %v", err)
			}
			if tt.name == "defaults to api.twilio.com" &&
				tw.endpoint != "https://api.twilio.com/2010-04-01/Accounts/"+testSID+"/Messages.json" {
				t.Errorf("endpoint = %q", tw.endpoint)
			}
		})
	}
}
