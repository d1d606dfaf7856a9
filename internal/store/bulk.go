package store

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"
	"time"
)

// ErrUnavailable marks a failure to reach the database (refused or broken
// connection, the server shutting down). It says nothing about the request:
// the same request may succeed a moment later. Stores wrap such failures
// with it where they can; Unavailable also recognizes the network errors
// underneath.
var ErrUnavailable = errors.New("store: database unavailable")

// Unavailable reports whether err means the database could not be reached,
// as opposed to a failure of the request itself. A cancelled context is not
// unavailability: the caller went away.
func Unavailable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	if errors.Is(err, ErrUnavailable) {
		return true
	}
	var ne net.Error
	var oe *net.OpError
	return errors.As(err, &oe) || errors.As(err, &ne) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, io.ErrUnexpectedEOF)
}

// ImportedUser is a user brought in with credentials it already has: a
// password hash made elsewhere (argon2id or bcrypt) and confirmed factors
// whose secrets are already sealed for this user and factor id.
type ImportedUser struct {
	User    User
	Factors []Factor
}

// UserImporter creates many users at once.
type UserImporter interface {
	// ImportUsers inserts every user with its factors and appends events,
	// all in one transaction: on any error nothing is written. A username
	// already taken in its org (or twice in users) is ErrConflict; an
	// unknown org is ErrNotFound. IDs must be set by the caller (sealed
	// secrets are bound to them).
	ImportUsers(ctx context.Context, users []ImportedUser, events []AuditEvent) error
}

// AuditPruner deletes old audit events.
type AuditPruner interface {
	// DeleteAuditBefore deletes at most limit of the oldest events with At
	// before cutoff, in one short transaction, and returns how many it
	// deleted. Callers repeat it until it returns fewer than limit, so that
	// a large backlog never holds the database for long.
	DeleteAuditBefore(ctx context.Context, cutoff time.Time, limit int) (int, error)
}
