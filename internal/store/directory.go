package store

import (
	"context"
	"time"
)

// A Directory is an org's LDAP directory (OpenLDAP, Active Directory): where
// the passwords of its directory users are checked. Descendant orgs use the
// nearest ancestor's directory unless they have their own.
type Directory struct {
	OrgID string
	// URL is ldaps://host[:port] or ldap://host[:port].
	URL string
	// StartTLS upgrades an ldap:// connection before anything is sent.
	StartTLS bool
	// CACert is a PEM bundle the server certificate must chain to; empty
	// means the system roots.
	CACert string
	BindDN string
	// BindPassword is the sealed service password; KeyID names the key
	// that sealed it. The store never sees the plaintext.
	BindPassword      []byte
	KeyID             string
	UserBaseDN        string
	UsernameAttribute string
	UserFilter        string
	EmailAttribute    string
	NameAttribute     string
	// AdminGroupDN names a group whose members are org admins; empty means
	// the directory does not decide roles.
	AdminGroupDN string
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Directories keeps org directories and the link between a directory user
// and the directory entry it was created from.
//
// A directory belongs to its org (deleting the org deletes it); a link
// belongs to its user (deleting the user deletes it).
type Directories interface {
	// PutDirectory creates or replaces the directory of d.OrgID (CreatedAt
	// is kept on replace; UpdatedAt is now when zero). An unknown org is
	// ErrNotFound.
	PutDirectory(ctx context.Context, d Directory) (Directory, error)
	// GetDirectory returns the org's own directory (not an inherited one),
	// or ErrNotFound.
	GetDirectory(ctx context.Context, orgID string) (Directory, error)
	// DeleteDirectory removes the org's own directory; none is ErrNotFound.
	// Linked users stay (they cannot sign in without a directory).
	DeleteDirectory(ctx context.Context, orgID string) error
	// CreateDirectoryUser inserts u and links it to the directory entry
	// with the stable id entryID, in one transaction. A username or entry
	// already taken in the org is ErrConflict.
	CreateDirectoryUser(ctx context.Context, u User, entryID string) (User, error)
	// GetDirectoryUser returns the user of org orgID linked to entryID, or
	// ErrNotFound.
	GetDirectoryUser(ctx context.Context, orgID, entryID string) (User, error)
	// RenameDirectoryUser gives a directory user (its entry was renamed)
	// a new username, setting UpdatedAt to at, and returns the stored user.
	// A name taken in the org is ErrConflict; a local user or an unknown
	// user is ErrNotFound.
	RenameDirectoryUser(ctx context.Context, userID, username, usernameNorm string, at time.Time) (User, error)
	// DirectoryEntryOf returns the entry id the user is linked to; a local
	// user is ErrNotFound.
	DirectoryEntryOf(ctx context.Context, userID string) (string, error)
}
