// Package problem defines the error with a public face that every service
// returns: a stable code and a message safe to show to anyone. The HTTP
// surfaces map codes to statuses (JSON for the API, a message on the page for
// the portal); the private cause is only logged.
package problem

import (
	"errors"
	"time"
)

// An Error is a failure with a public face.
type Error struct {
	Code       string
	Message    string
	RetryAfter time.Duration // for rate limits and locks
	Field      string        // the input field at fault, when there is one
	Err        error         // private cause; never shown
}

// New returns an Error with a code and a message.
func New(code, message string) *Error { return &Error{Code: code, Message: message} }

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
