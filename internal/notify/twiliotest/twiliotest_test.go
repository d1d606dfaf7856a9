package twiliotest

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

const sid, token = "AC00000000000000000000000000000001", "tok"

func post(t *testing.T, ctx context.Context, s *Server, user, pass string, form url.Values) (int, map[string]any, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL()+"/2010-04-01/Accounts/"+sid+"/Messages.json", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(user, pass)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	var doc map[string]any
	json.NewDecoder(res.Body).Decode(&doc)
	return res.StatusCode, doc, nil
}

func TestServer(t *testing.T) {
	s := Start(t, sid, token)
	ok := url.Values{"To": {"+15551234567"}, "From": {"+15550001111"}, "Body": {"code 123456"}}
	if st, doc, _ := post(t, t.Context(), s, sid, token, ok); st != 201 || doc["status"] != "queued" || doc["to"] != "+15551234567" {
		t.Fatalf("send: %d %v", st, doc)
	}
	if st, doc, _ := post(t, t.Context(), s, sid, "wrong", ok); st != 401 || doc["code"] != float64(20003) {
		t.Fatalf("wrong token: %d %v", st, doc)
	}
	if st, doc, _ := post(t, t.Context(), s, sid, token, url.Values{"To": {"+15551234567"}, "From": {"+1555"}}); st != 400 || doc["code"] != float64(21602) {
		t.Fatalf("no body: %d %v", st, doc)
	}
	s.FailWith(503, 30003)
	if st, doc, _ := post(t, t.Context(), s, sid, token, ok); st != 503 || doc["code"] != float64(30003) {
		t.Fatalf("FailWith: %d %v", st, doc)
	}
	s.Succeed()
	s.Hang(time.Hour)
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if _, _, err := post(t, ctx, s, sid, token, ok); err == nil {
		t.Fatal("Hang: answered")
	}
	s.Succeed()
	post(t, t.Context(), s, sid, token, url.Values{"To": {"+15557654321"}, "From": {"+15550001111"}, "Body": {"second"}})
	if m := s.WaitFor(t, func(m SMS) bool { return m.Body == "second" }, 5*time.Second); m.Index != 1 || m.To != "+15557654321" {
		t.Fatalf("WaitFor: %+v", m)
	}
	if got := s.Messages(); len(got) != 2 || got[0] != (SMS{Index: 0, To: "+15551234567", From: "+15550001111", Body: "code 123456"}) {
		t.Fatalf("Messages = %+v", got)
	}
	if s.Requests() != 6 {
		t.Fatalf("Requests = %d, want 6", s.Requests())
	}
}
