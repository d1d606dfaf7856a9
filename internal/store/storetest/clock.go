package storetest

import (
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/store"
)

// RunClockTests checks that a store keeps time by the clock it was opened
// with, never the wall clock: newStoreAt returns an initialized, empty
// store whose clock is now. Expiry and retention can then be tested by
// moving a clock instead of sleeping.
func RunClockTests(t *testing.T, newStoreAt func(t *testing.T, now func() time.Time) store.Store) {
	clock := time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC)
	s := newStoreAt(t, func() time.Time { return clock })
	t.Cleanup(func() { s.Close() })

	root, u := mustFixture(t, s)
	f, err := s.CreateFactor(ctx(t), store.Factor{ID: store.NewID(), UserID: u.ID, Kind: "totp", Label: "phone", Secret: []byte("x"), KeyID: "k"})
	noErr(t, "CreateFactor", err)
	got, err := s.GetFactor(ctx(t), f.ID)
	noErr(t, "GetFactor", err)
	if !got.CreatedAt.Equal(clock) {
		t.Errorf("a factor created without a time got %v, want the store's clock %v", got.CreatedAt, clock)
	}

	noErr(t, "AppendAudit", s.AppendAudit(ctx(t), store.AuditEvent{Event: "test.clock", Outcome: "success", OrgID: root.ID}))
	evs, err := s.ListAudit(ctx(t), store.AuditFilter{})
	noErr(t, "ListAudit", err)
	if len(evs) != 1 || !evs[0].At.Equal(clock) {
		t.Errorf("an audit event appended without a time: %+v, want it at %v", evs, clock)
	}

	a, b := mustOrg(t, s, root, "a"), mustOrg(t, s, root, "b")
	moved, err := s.MoveOrg(ctx(t), b.ID, a.ID)
	noErr(t, "MoveOrg", err)
	if !moved.UpdatedAt.Equal(clock) {
		t.Errorf("a moved org's updated_at is %v, want the store's clock %v", moved.UpdatedAt, clock)
	}
}
