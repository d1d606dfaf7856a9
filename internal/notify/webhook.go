package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Webhook signing.
//
// Every webhook request carries the header
//
//	X-Twofold-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>
//
// where the HMAC is computed with the shared secret over the ASCII decimal
// timestamp, a ".", and the raw request body, exactly as received:
//
//	v1 = hex(HMAC-SHA256(secret, t + "." + body))
//
// A receiver recomputes the HMAC over the body bytes it read, compares it in
// constant time, and rejects the request when t is further than a few
// minutes from its own clock (replay protection). [VerifyWebhookSignature]
// does all of this. The header may carry several v1 values (during a secret
// rotation); one match suffices. The scheme is the one Stripe uses for its
// webhooks.
//
// The body is the JSON object {"to":"+15551234567","body":"…","timestamp":t}
// with the same t as the header. Retries of one message are signed anew (a
// fresh t) and carry the same X-Twofold-Delivery header, a random id the
// receiver may use to drop duplicates.
const (
	// SignatureHeader is the name of the webhook signature header.
	SignatureHeader = "X-Twofold-Signature"
	// DeliveryHeader is the name of the header with the delivery id, which
	// is the same on every retry of one message.
	DeliveryHeader = "X-Twofold-Delivery"
	// DefaultSignatureTolerance is how far a webhook timestamp may be from
	// the receiver's clock when VerifyWebhookSignature is given no
	// tolerance.
	DefaultSignatureTolerance = 5 * time.Minute
)

// Signature verification errors.
var (
	// ErrInvalidSignature means the signature header is missing, malformed
	// or does not match the body.
	ErrInvalidSignature = errors.New("notify: invalid webhook signature")
	// ErrStaleSignature means the signature matches but its timestamp is
	// outside the tolerance: a replay or a badly wrong clock.
	ErrStaleSignature = errors.New("notify: webhook signature timestamp outside tolerance")
)

// WebhookConfig configures a [WebhookTexter].
type WebhookConfig struct {
	// URL receives the POST requests. It must be https except for a loopback
	// host. Required.
	URL string
	// Secret is the shared HMAC key, at least 16 bytes (32 random bytes
	// recommended). Required; never logged.
	Secret []byte
	// Timeout bounds one SendSMS call, retries included; 0 means 10 s.
	Timeout time.Duration
	// HTTPClient sends the requests; nil means a client that follows no
	// redirects.
	HTTPClient *http.Client
}

// A WebhookTexter hands text messages to an operator-provided HTTP endpoint
// as signed JSON (see [SignatureHeader] for the scheme). Any 2xx answer
// means the message was accepted; 429, 5xx and timeouts are retried up to
// three attempts in all. It is safe for concurrent use.
type WebhookTexter struct {
	url    string
	secret []byte
	client *http.Client
	retry  retrier
	now    func() time.Time
}

// NewWebhook checks cfg and returns a texter for it. It does not contact the
// endpoint.
func NewWebhook(cfg WebhookConfig) (*WebhookTexter, error) {
	u, err := checkEndpoint(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("notify: webhook: %w", err)
	}
	if len(cfg.Secret) < 16 {
		return nil, errors.New("notify: webhook: secret must be at least 16 bytes")
	}
	r, err := newRetrier(cfg.Timeout)
	if err != nil {
		return nil, fmt.Errorf("notify: webhook: %w", err)
	}
	client := cfg.HTTPClient
	if client == nil {
		client = newHTTPClient()
	}
	return &WebhookTexter{
		url: u.String(), secret: bytes.Clone(cfg.Secret), client: client, retry: r, now: time.Now,
	}, nil
}

// webhookPayload is the JSON body of a webhook request.
type webhookPayload struct {
	To        string `json:"to"`
	Body      string `json:"body"`
	Timestamp int64  `json:"timestamp"`
}

// SendSMS posts m to the webhook. It returns nil on a 2xx answer. An invalid
// number gives an error wrapping [ErrInvalidPhone] and sends nothing; other
// answers give a [*ProviderError] with the HTTP status (and the "code" and
// "message" of a JSON error body, if the receiver sends one).
func (w *WebhookTexter) SendSMS(ctx context.Context, m SMS) error {
	to, err := ValidateE164(m.To)
	if err != nil {
		return err
	}
	if m.Body == "" {
		return invalidMessage("empty text message")
	}
	var id [16]byte
	if _, err := rand.Read(id[:]); err != nil {
		return fmt.Errorf("notify: webhook: %w", err)
	}
	delivery := hex.EncodeToString(id[:])
	return w.retry.do(ctx, func(ctx context.Context) error {
		ts := w.now().Unix()
		body, err := json.Marshal(webhookPayload{To: to, Body: m.Body, Timestamp: ts})
		if err != nil {
			return fmt.Errorf("notify: webhook: %w", err)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
		if err != nil {
			return fmt.Errorf("notify: webhook: %w", err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(SignatureHeader, SignWebhook(w.secret, body, ts))
		req.Header.Set(DeliveryHeader, delivery)
		status, answer, err := roundTrip(ctx, w.client, "webhook", req)
		if err != nil {
			return err
		}
		if status >= 200 && status < 300 {
			return nil
		}
		pe := &ProviderError{
			Provider:  "webhook",
			Status:    status,
			Message:   http.StatusText(status),
			Temporary: statusTemporary(status),
		}
		var e struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		}
		if json.Unmarshal(answer, &e) == nil && e.Message != "" {
			pe.Code, pe.Message = e.Code, e.Message
		}
		return pe
	})
}

// SignWebhook returns the X-Twofold-Signature header value for body sent at
// unix time ts: "t=<ts>,v1=<hex HMAC-SHA256(secret, "<ts>.<body>")>".
func SignWebhook(secret, body []byte, ts int64) string {
	t := strconv.FormatInt(ts, 10)
	return "t=" + t + ",v1=" + hex.EncodeToString(webhookMAC(secret, t, body))
}

func webhookMAC(secret []byte, t string, body []byte) []byte {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(t))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return mac.Sum(nil)
}

// VerifyWebhookSignature checks a webhook request for receivers: header is
// the X-Twofold-Signature value, body the raw request body, now the
// receiver's clock. It returns nil when one v1 signature in header is the
// HMAC of body under secret and the header's timestamp is within tolerance
// of now (tolerance <= 0 means [DefaultSignatureTolerance]). Otherwise the
// error wraps [ErrInvalidSignature] (missing, malformed or wrong signature)
// or [ErrStaleSignature] (right signature, timestamp too old or too far in
// the future). Signatures are compared in constant time.
func VerifyWebhookSignature(secret, body []byte, header string, now time.Time, tolerance time.Duration) error {
	if tolerance <= 0 {
		tolerance = DefaultSignatureTolerance
	}
	var t string
	var sigs [][]byte
	for part := range strings.SplitSeq(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return fmt.Errorf("%w: malformed header", ErrInvalidSignature)
		}
		switch k {
		case "t":
			if t != "" {
				return fmt.Errorf("%w: two timestamps", ErrInvalidSignature)
			}
			t = v
		case "v1":
			sig, err := hex.DecodeString(v)
			if err != nil || len(sig) != sha256.Size {
				return fmt.Errorf("%w: malformed v1", ErrInvalidSignature)
			}
			sigs = append(sigs, sig)
		}
		// Other keys (future schemes) are ignored.
	}
	if t == "" || len(sigs) == 0 {
		return fmt.Errorf("%w: missing t or v1", ErrInvalidSignature)
	}
	ts, err := strconv.ParseInt(t, 10, 64)
	if err != nil || strconv.FormatInt(ts, 10) != t {
		return fmt.Errorf("%w: malformed timestamp", ErrInvalidSignature)
	}
	want := webhookMAC(secret, t, body)
	matched := false
	for _, sig := range sigs {
		if hmac.Equal(sig, want) {
			matched = true
		}
	}
	if !matched {
		return fmt.Errorf("%w: no matching v1", ErrInvalidSignature)
	}
	age := now.Sub(time.Unix(ts, 0))
	if age > tolerance || age < -tolerance {
		return ErrStaleSignature
	}
	return nil
}
