// Package twiliotest runs a local HTTP server for tests that speaks
// Twilio's Messages API (POST /2010-04-01/Accounts/{sid}/Messages.json) and
// keeps the text messages it accepted.
//
// It is test support: only _test.go files import it, and it is never part
// of the twofold binary.
//
//	sms := twiliotest.Start(t, sid, token)
//	cfg.TwilioBaseURL, cfg.TwilioAccountSID, cfg.TwilioAuthToken = sms.URL(), sid, token
//	…
//	m := sms.WaitFor(t, func(m twiliotest.SMS) bool { return m.To == "+442079460958" }, 5*time.Second)
//
// The server checks the path, the method and HTTP basic authentication with
// the account SID and auth token, and requires the form fields To, From and
// Body; it answers 201 Created with a message resource like Twilio's, and
// mistakes with Twilio's error document. FailWith and Hang make it
// misbehave.
package twiliotest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// SMS is one text message the server accepted.
type SMS struct {
	// Index is the message's position in the order of arrival, from 0:
	// Messages()[i].Index == i.
	Index          int
	To, From, Body string
}

// Server is a running fake of Twilio's Messages API. Its methods are safe
// for concurrent use.
type Server struct {
	sid, token string
	srv        *httptest.Server
	done       chan struct{} // closed when the test ends: releases Hang

	mu         sync.Mutex
	failStatus int
	failCode   int
	hang       time.Duration
	requests   int
	msgs       []SMS
	changed    chan struct{} // closed and replaced when a message arrives
}

// Start runs the server on a loopback port until the test ends. It accepts
// requests for account sid authenticated with sid and token.
func Start(t testing.TB, sid, token string) *Server {
	t.Helper()
	s := &Server{sid: sid, token: token, done: make(chan struct{}), changed: make(chan struct{})}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(func() {
		close(s.done) // first, or Close would wait for hanging handlers
		s.srv.Close()
	})
	return s
}

// URL is the base URL of the API, for TwilioBaseURL: http://127.0.0.1:port
// without a path.
func (s *Server) URL() string { return s.srv.URL }

// Messages returns the text messages accepted so far, oldest first.
func (s *Server) Messages() []SMS {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SMS(nil), s.msgs...)
}

// Requests is the number of HTTP requests received so far, whatever they
// were answered, or whether they were answered at all.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// FailWith makes the server answer every later authenticated request with
// HTTP status and Twilio's error document carrying twilioCode (for example
// 500 and 20500, or 400 and 21211 for an invalid "To" number) instead of
// sending the message.
func (s *Server) FailWith(status, twilioCode int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failStatus, s.failCode = status, twilioCode
}

// Hang makes the server hold every later authenticated request for d
// before answering it, or until the client gives up or the test ends.
func (s *Server) Hang(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hang = d
}

// Succeed undoes FailWith and Hang: later messages are accepted at once.
func (s *Server) Succeed() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failStatus, s.failCode, s.hang = 0, 0, 0
}

// WaitFor returns the oldest accepted message that match accepts, waiting
// up to timeout for it to arrive. It fails the test, listing what did
// arrive, when none does. match is called on the test's goroutine without
// locks held, so it may call t.Fatal.
func (s *Server) WaitFor(t testing.TB, match func(SMS) bool, timeout time.Duration) SMS {
	t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	seen := 0
	for {
		s.mu.Lock()
		msgs, changed := s.msgs[seen:len(s.msgs):len(s.msgs)], s.changed
		s.mu.Unlock()
		for _, m := range msgs {
			if match(m) {
				return m
			}
		}
		seen += len(msgs)
		select {
		case <-changed:
		case <-timer.C:
			var got []string
			for _, m := range s.Messages() {
				got = append(got, fmt.Sprintf("#%d to %s %q", m.Index, m.To, m.Body))
			}
			t.Fatalf("twiliotest: no matching text message within %v; accepted %d: %s", timeout, len(got), strings.Join(got, ", "))
			return SMS{}
		}
	}
}

// errorMessages are the texts Twilio gives with some error codes.
var errorMessages = map[int]string{
	20003: "Authenticate",
	20404: "The requested resource was not found",
	20429: "Too Many Requests",
	20500: "Internal Server Error",
	21211: "The 'To' number is not a valid phone number.",
	21602: "Message body is required.",
	21603: "A 'From' phone number is required.",
	21604: "A 'To' phone number is required.",
	30003: "Unreachable destination handset",
}

// fail answers with Twilio's error document.
func fail(w http.ResponseWriter, status, code int) {
	msg, ok := errorMessages[code]
	if !ok {
		msg = http.StatusText(status)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{
		"code": code, "message": msg, "status": status,
		"more_info": fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code),
	})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests++
	failStatus, failCode, hang := s.failStatus, s.failCode, s.hang
	s.mu.Unlock()

	if r.Method != http.MethodPost || r.URL.Path != "/2010-04-01/Accounts/"+s.sid+"/Messages.json" {
		fail(w, http.StatusNotFound, 20404)
		return
	}
	if user, pass, ok := r.BasicAuth(); !ok || user != s.sid || pass != s.token {
		fail(w, http.StatusUnauthorized, 20003)
		return
	}
	if err := r.ParseForm(); err != nil {
		fail(w, http.StatusBadRequest, 21602)
		return
	}
	if hang > 0 {
		timer := time.NewTimer(hang)
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-r.Context().Done():
			return
		case <-s.done:
			return
		}
	}
	if failStatus != 0 {
		fail(w, failStatus, failCode)
		return
	}
	m := SMS{To: r.PostForm.Get("To"), From: r.PostForm.Get("From"), Body: r.PostForm.Get("Body")}
	switch {
	case m.To == "":
		fail(w, http.StatusBadRequest, 21604)
		return
	case m.From == "":
		fail(w, http.StatusBadRequest, 21603)
		return
	case m.Body == "":
		fail(w, http.StatusBadRequest, 21602)
		return
	}
	s.mu.Lock()
	m.Index = len(s.msgs)
	s.msgs = append(s.msgs, m)
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()

	now := time.Now().UTC().Format(time.RFC1123Z)
	msid := fmt.Sprintf("SM%032x", m.Index+1)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(map[string]any{
		"sid": msid, "account_sid": s.sid, "api_version": "2010-04-01",
		"to": m.To, "from": m.From, "body": m.Body,
		"status": "queued", "direction": "outbound-api", "num_segments": "1",
		"date_created": now, "date_updated": now, "date_sent": nil,
		"error_code": nil, "error_message": nil, "price": nil, "price_unit": "USD",
		"uri": "/2010-04-01/Accounts/" + s.sid + "/Messages/" + msid + ".json",
	})
}
