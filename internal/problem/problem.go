// Package problem defines the error with a public face that every service
// returns: a stable code, the HTTP status it answers with, and a message safe
// to show to anyone. The status is declared once, where the error is defined
// (Define); the API and the portal both read it, so they cannot disagree.
// The private cause is only logged.
package problem

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"sync"
	"time"
)

// An Error is a failure with a public face.
type Error struct {
	Code       string
	Status     int // the HTTP status; 0 means 400
	Message    string
	RetryAfter time.Duration // for rate limits and locks
	Field      string        // the input field at fault, when there is one
	// URL is where the user can fix what is missing (mfa_setup_required:
	// the portal page to set up a factor); "" for most errors.
	URL string
	// TriesLeft is how many more wrong attempts are allowed before
	// something is removed (invalid_passcode); nil when it does not apply.
	TriesLeft *int
	Err       error // private cause; never shown
}

// registry holds every defined code with its status.
var registry = struct {
	sync.Mutex
	status map[string]int
}{status: map[string]int{}}

// Define declares a public error: the HTTP status it answers with, its
// stable code and its default message. Several packages may define the
// same code (each with its own message), but always with the same status:
// defining a code twice with different statuses panics, so a disagreement
// is found when the program starts, not by a client.
func Define(status int, code, message string) *Error {
	registry.Lock()
	defer registry.Unlock()
	if old, ok := registry.status[code]; ok && old != status {
		panic(fmt.Sprintf("problem: code %q defined with status %d and %d", code, old, status))
	}
	registry.status[code] = status
	return &Error{Code: code, Status: status, Message: message}
}

// New is Define with status 400 Bad Request.
func New(code, message string) *Error { return Define(http.StatusBadRequest, code, message) }

// Codes returns every code defined so far (by the packages linked into the
// program) with its status.
func Codes() map[string]int {
	registry.Lock()
	defer registry.Unlock()
	return maps.Clone(registry.status)
}

// HTTPStatus is the status e answers with: its declared status, or 400.
func (e *Error) HTTPStatus() int {
	if e.Status == 0 {
		return http.StatusBadRequest
	}
	return e.Status
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Code + ": " + e.Err.Error()
	}
	return e.Code + ": " + e.Message
}

// Unwrap returns the private cause.
func (e *Error) Unwrap() error { return e.Err }

// Is matches another *Error with the same Code, so errors.Is(err, ErrX)
// works for copies that carry a RetryAfter, a field or a cause.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// WithRetry returns a copy that says when to retry.
func (e *Error) WithRetry(d time.Duration) *Error {
	c := *e
	c.RetryAfter = d
	return &c
}

// WithField returns a copy naming the input field at fault.
func (e *Error) WithField(f string) *Error {
	c := *e
	c.Field = f
	return &c
}

// WithURL returns a copy naming where the user can fix the problem.
func (e *Error) WithURL(u string) *Error {
	c := *e
	c.URL = u
	return &c
}

// WithTriesLeft returns a copy saying how many tries are left.
func (e *Error) WithTriesLeft(n int) *Error {
	c := *e
	c.TriesLeft = &n
	return &c
}

// WithMessage returns a copy with another public message.
func (e *Error) WithMessage(m string) *Error {
	c := *e
	c.Message = m
	return &c
}

// WithCause returns a copy with a private cause.
func (e *Error) WithCause(err error) *Error {
	c := *e
	c.Err = err
	return &c
}

// As returns err as an *Error, or nil when it is something else (an
// internal failure).
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}
