package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// TwilioConfig configures a [TwilioTexter].
type TwilioConfig struct {
	// AccountSID is the Twilio account ("AC…"). Required.
	AccountSID string
	// AuthToken is the account's auth token (or an API key secret when
	// AccountSID is paired with it by the provider). Required; never logged.
	AuthToken string
	// From is the sending number in E.164 form, or a messaging service SID
	// ("MG…") or alphanumeric sender ID the provider accepts. Required.
	From string
	// BaseURL is the API's base; empty means https://api.twilio.com. Any
	// service that speaks Twilio's Messages API works. It must be https
	// except for a loopback host.
	BaseURL string
	// Timeout bounds one SendSMS call, retries included; 0 means 10 s.
	Timeout time.Duration
	// HTTPClient sends the requests; nil means a client that follows no
	// redirects.
	HTTPClient *http.Client
}

// A TwilioTexter sends text messages through Twilio's Messages API:
// POST {BaseURL}/2010-04-01/Accounts/{AccountSID}/Messages.json, form
// fields To, From and Body, HTTP basic authentication with the account SID
// and auth token. It tries each message up to three times when the provider
// answers 429 or 5xx or times out. It is safe for concurrent use.
type TwilioTexter struct {
	endpoint string
	sid      string
	token    string
	from     string
	client   *http.Client
	retry    retrier
}

// NewTwilio checks cfg and returns a texter for it. It does not contact the
// provider.
func NewTwilio(cfg TwilioConfig) (*TwilioTexter, error) {
	if cfg.AccountSID == "" || cfg.AuthToken == "" || cfg.From == "" {
		return nil, errors.New("notify: twilio: account SID, auth token and from are required")
	}
	if strings.ContainsAny(cfg.AccountSID, "/?#%") {
		return nil, errors.New("notify: twilio: account SID contains URL characters")
	}
	from := cfg.From
	if strings.HasPrefix(strings.TrimSpace(from), "+") {
		f, err := ValidateE164(from)
		if err != nil {
			return nil, fmt.Errorf("notify: twilio: from: %w", err)
		}
		from = f
	}
	base := cfg.BaseURL
	if base == "" {
		base = "https://api.twilio.com"
	}
	u, err := checkEndpoint(base)
	if err != nil {
		return nil, fmt.Errorf("notify: twilio: base URL: %w", err)
	}
	r, err := newRetrier(cfg.Timeout)
	if err != nil {
		return nil, fmt.Errorf("notify: twilio: %w", err)
	}
	client := cfg.HTTPClient
	if client == nil {
		client = newHTTPClient()
	}
	endpoint := strings.TrimSuffix(u.String(), "/") +
		"/2010-04-01/Accounts/" + url.PathEscape(cfg.AccountSID) + "/Messages.json"
	return &TwilioTexter{
		endpoint: endpoint, sid: cfg.AccountSID, token: cfg.AuthToken, from: from,
		client: client, retry: r,
	}, nil
}

// twilioError is the error document of Twilio's REST API.
type twilioError struct {
	Code     int    `json:"code"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
	Status   int    `json:"status"`
}

// SendSMS sends m. It returns nil when Twilio answers 2xx (201 Created).
// An invalid number gives an error wrapping [ErrInvalidPhone] and sends
// nothing; a refusal gives a [*ProviderError] with Twilio's error code (for
// example 21211, invalid "To" number), which is retried only when Temporary.
func (t *TwilioTexter) SendSMS(ctx context.Context, m SMS) error {
	to, err := ValidateE164(m.To)
	if err != nil {
		return err
	}
	if m.Body == "" {
		return invalidMessage("empty text message")
	}
	form := url.Values{"To": {to}, "From": {t.from}, "Body": {m.Body}}.Encode()
	return t.retry.do(ctx, func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.endpoint, strings.NewReader(form))
		if err != nil {
			return fmt.Errorf("notify: twilio: %w", err)
		}
		req.SetBasicAuth(t.sid, t.token)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		status, body, err := roundTrip(ctx, t.client, "twilio", req)
		if err != nil {
			return err
		}
		if status >= 200 && status < 300 {
			return nil
		}
		pe := &ProviderError{
			Provider:  "twilio",
			Status:    status,
			Message:   http.StatusText(status),
			Temporary: statusTemporary(status),
		}
		var te twilioError
		if json.Unmarshal(body, &te) == nil && (te.Code != 0 || te.Message != "") {
			pe.Code = te.Code
			pe.Message = te.Message
		}
		return pe
	})
}
