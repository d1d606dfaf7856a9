package admin

import (
	"context"

	"github.com/twofold-id/twofold/internal/access"
	"github.com/twofold-id/twofold/internal/signin"
	"github.com/twofold-id/twofold/internal/store"
)

// UserDevices lists the registered devices of the user with the given id,
// for an admin who can manage the user's org.
func (s *Service) UserDevices(ctx context.Context, a access.Actor, userID string) ([]store.Device, error) {
	u, _, err := s.User(ctx, a, userID)
	if err != nil {
		return nil, err
	}
	return s.signin.Devices(ctx, u.ID)
}

// RemoveUserDevice removes a device of the user with the given id (and
// every session opened with it), for an admin who can manage the user's
// org. Removing a device only takes access away, so it needs no fresh
// second factor. The removal is audited with the admin as actor.
func (s *Service) RemoveUserDevice(ctx context.Context, a access.Actor, userID, deviceID string, c signin.Client) error {
	u, _, err := s.User(ctx, a, userID)
	if err != nil {
		return err
	}
	return s.signin.RemoveDevice(ctx, actorRecord(a), u, deviceID, c)
}
