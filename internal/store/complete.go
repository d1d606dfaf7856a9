package store

import (
	"context"
	"time"
)

// SignInCompleter finishes verified sign-ins.
type SignInCompleter interface {
	// CompleteSignIn finishes a sign-in in one transaction: it consumes the
	// flow flowID at at (it must not be consumed yet), clears the second
	// factor failure counter of sess.UserID, inserts sess (ID generated when
	// empty) and appends events. When the flow is already consumed or does
	// not exist, or its user has been disabled or has a SecurityVersion
	// other than the flow's and sess.UserVersion (decided under a lock on
	// the user's row, as in CreateSession), it changes nothing and reports
	// false; exactly one of several concurrent callers for one flow gets
	// true.
	CompleteSignIn(ctx context.Context, flowID string, at time.Time, sess Session, events []AuditEvent) (Session, bool, error)
}
