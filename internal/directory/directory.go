// Package directory checks the passwords of directory users against an
// org's LDAP directory (OpenLDAP, Active Directory) and finds their entries.
//
// A sign-in searches the user with the directory's service account (the
// username escaped per RFC 4515, so input cannot change the filter), then
// binds as the entry's DN with the password given. Twofold never stores or
// hashes a directory password. Connections bound as the service account are
// pooled per org; at most MaxConns operations run at once, and one that
// cannot start or finish within Timeout fails with ErrUnavailable, so a slow
// directory holds a bounded number of requests for a bounded time.
package directory

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/twofold-id/twofold/internal/problem"
	"github.com/twofold-id/twofold/internal/secretbox"
	"github.com/twofold-id/twofold/internal/store"
)

// Keys seals and opens bind passwords (a *secretbox.Keyring).
type Keys interface {
	Seal(plaintext, ad []byte) (ciphertext []byte, keyID string, err error)
	Open(ciphertext []byte, keyID string, ad []byte) ([]byte, error)
}

var _ Keys = (*secretbox.Keyring)(nil)

// ErrUnavailable is a directory that cannot be reached, answers too slowly,
// or refuses the service account. It counts against no one.
var ErrUnavailable = problem.Define(http.StatusServiceUnavailable, "directory_unavailable",
	"The directory cannot be reached right now. Please try again later.")

// ErrNoDirectory means no org of the chain has a directory.
var ErrNoDirectory = errors.New("directory: none configured")

// ErrRejected is an unknown, ambiguous, disabled or deleted entry, or a
// wrong password: the caller answers all of them alike.
var ErrRejected = errors.New("directory: unknown user or wrong password")

// An Entry is what the directory says about one user.
type Entry struct {
	DN       string
	ID       string // entryUUID, or objectGUID in hex
	Username string // the username attribute's value
	Email    string
	Name     string
	Admin    bool // member of the admin group (false when none is configured)
	Disabled bool // Active Directory's userAccountControl "account disabled" bit
}

// Options bound the directory's use.
type Options struct {
	Timeout  time.Duration // per dial and per operation, and to wait for a slot; default 5 s
	MaxConns int           // operations at once, over all orgs; default 8
	MaxIdle  int           // idle pooled connections per org; default 2
}

// Service talks to org directories. It is safe for concurrent use.
type Service struct {
	store store.Store
	keys  Keys
	log   *slog.Logger
	opts  Options
	slots chan struct{}

	mu   sync.Mutex
	idle map[string][]*ldap.Conn // by poolKey
}

// New returns a Service.
func New(st store.Store, keys Keys, log *slog.Logger, o Options) *Service {
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	if o.MaxConns <= 0 {
		o.MaxConns = 8
	}
	if o.MaxIdle <= 0 {
		o.MaxIdle = 2
	}
	if log == nil {
		log = slog.Default()
	}
	return &Service{store: st, keys: keys, log: log, opts: o, slots: make(chan struct{}, o.MaxConns), idle: map[string][]*ldap.Conn{}}
}

// Resolve returns the directory that applies to the last org of chain
// (root first): its own, or the nearest ancestor's. None is ErrNoDirectory.
func (s *Service) Resolve(ctx context.Context, chain []store.Org) (store.Directory, error) {
	for i := len(chain) - 1; i >= 0; i-- {
		d, err := s.store.GetDirectory(ctx, chain[i].ID)
		if err == nil {
			return d, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return store.Directory{}, err
		}
	}
	return store.Directory{}, ErrNoDirectory
}

// Authenticate finds username in directory d (see Resolve) and checks
// password by binding as the entry. It returns the entry, or ErrRejected
// (unknown, ambiguous or disabled entry, wrong or empty password) or
// ErrUnavailable.
func (s *Service) Authenticate(ctx context.Context, d store.Directory, username, password string) (Entry, error) {
	if password == "" || username == "" {
		// An empty password would be an unauthenticated bind, which many
		// servers answer with success.
		return Entry{}, ErrRejected
	}
	var e Entry
	err := s.pooled(ctx, d, func(conn *ldap.Conn, cfg Config) (err error) {
		e, err = s.check(conn, cfg, username, password)
		return err
	})
	return e, err
}

// Lookup finds the entry with the stable id entryID (see Entry.ID) below
// the user search base, with the user filter, using the service account.
// An entry that is gone, moved out of the base or no longer matches the
// filter is ErrRejected; Disabled reports Active Directory's disabled bit.
func (s *Service) Lookup(ctx context.Context, d store.Directory, entryID string) (Entry, error) {
	filter, ok := idFilter(entryID)
	if !ok {
		return Entry{}, ErrRejected
	}
	var e Entry
	err := s.pooled(ctx, d, func(conn *ldap.Conn, cfg Config) (err error) {
		e, err = s.search(conn, cfg, filter)
		return err
	})
	return e, err
}

// idFilter is the filter that finds an entry by its stable id: entryUUID
// (a UUID string) or objectGUID (hex of its 16 bytes, escaped byte by byte).
func idFilter(id string) (string, bool) {
	if len(id) == 36 && strings.Count(id, "-") == 4 {
		return "(entryUUID=" + ldap.EscapeFilter(id) + ")", true
	}
	raw, err := hex.DecodeString(id)
	if err != nil || len(raw) != 16 {
		return "", false
	}
	var b strings.Builder
	b.WriteString("(objectGUID=")
	for _, c := range raw {
		fmt.Fprintf(&b, "\\%02x", c)
	}
	b.WriteString(")")
	return b.String(), true
}

// pooled runs fn on a pooled connection of d bound as the service account,
// within a slot. A pooled connection may have died since it was last used
// (the directory restarted): then fn runs once more on a new one. fn's
// ErrRejected is an answer; any other error makes the directory
// unavailable.
func (s *Service) pooled(ctx context.Context, d store.Directory, fn func(*ldap.Conn, Config) error) error {
	cfg, err := open(s.keys, d)
	if err != nil {
		return fmt.Errorf("directory: open bind password of org %s: %w", d.OrgID, err)
	}
	release, err := s.acquire(ctx)
	if err != nil {
		return err
	}
	defer release()
	key := poolKey(d)
	for try := 0; ; try++ {
		conn, pooled, err := s.take(key, cfg)
		if err != nil {
			return s.unavailable(d, err)
		}
		err = fn(conn, cfg)
		if err == nil || errors.Is(err, ErrRejected) {
			s.put(key, conn)
			return err
		}
		conn.Close()
		if !pooled || try > 0 {
			return s.unavailable(d, err)
		}
	}
}

// check runs a sign-in on conn (bound as the service account) and leaves
// conn bound as the service account again.
func (s *Service) check(conn *ldap.Conn, cfg Config, username, password string) (Entry, error) {
	e, err := s.find(conn, cfg, username)
	if err != nil {
		return Entry{}, err
	}
	if e.Disabled {
		return Entry{}, ErrRejected
	}
	if err := conn.Bind(e.DN, password); err != nil {
		if ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
			// Put the connection back under the service account.
			if err := conn.Bind(cfg.BindDN, cfg.BindPassword); err != nil {
				return Entry{}, err
			}
			return Entry{}, ErrRejected
		}
		return Entry{}, err
	}
	if err := conn.Bind(cfg.BindDN, cfg.BindPassword); err != nil {
		return Entry{}, err
	}
	if e.Admin, err = s.isAdmin(conn, cfg, e); err != nil {
		return Entry{}, err
	}
	return e, nil
}

// Find searches username in the directory d with the service account on a
// new connection and reports the entry (and group membership) without any
// password check: the admin's "test connection". Nobody found is
// ErrRejected.
func (s *Service) Find(ctx context.Context, d store.Directory, username string) (Entry, error) {
	cfg, err := open(s.keys, d)
	if err != nil {
		return Entry{}, fmt.Errorf("directory: open bind password of org %s: %w", d.OrgID, err)
	}
	release, err := s.acquire(ctx)
	if err != nil {
		return Entry{}, err
	}
	defer release()
	conn, err := s.dial(cfg)
	if err != nil {
		return Entry{}, s.unavailable(d, err)
	}
	defer conn.Close()
	e, err := s.find(conn, cfg, username)
	if err == nil {
		e.Admin, err = s.isAdmin(conn, cfg, e)
	}
	if err != nil && !errors.Is(err, ErrRejected) {
		return Entry{}, s.unavailable(d, err)
	}
	return e, err
}

// attributes requested for a user entry.
func attributes(cfg Config) []string {
	return []string{cfg.UsernameAttribute, cfg.EmailAttribute, cfg.NameAttribute, "entryUUID", "objectGUID", "userAccountControl"}
}

// find searches exactly one user entry named username.
func (s *Service) find(conn *ldap.Conn, cfg Config, username string) (Entry, error) {
	return s.search(conn, cfg, "("+cfg.UsernameAttribute+"="+ldap.EscapeFilter(username)+")")
}

// search finds exactly one user entry matching filter (and the user filter)
// below the user search base.
func (s *Service) search(conn *ldap.Conn, cfg Config, filter string) (Entry, error) {
	if cfg.UserFilter != "" {
		filter = "(&" + cfg.UserFilter + filter + ")"
	}
	secs := int(s.opts.Timeout / time.Second)
	req := ldap.NewSearchRequest(cfg.UserBaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 2, secs, false,
		filter, attributes(cfg), nil)
	res, err := conn.Search(req)
	if ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) {
		return Entry{}, ErrRejected // more than one: ambiguous, nobody signs in
	}
	if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
		return Entry{}, ErrRejected
	}
	if err != nil {
		return Entry{}, err
	}
	if len(res.Entries) != 1 {
		return Entry{}, ErrRejected
	}
	le := res.Entries[0]
	e := Entry{DN: le.DN, Username: le.GetAttributeValue(cfg.UsernameAttribute),
		Email: le.GetAttributeValue(cfg.EmailAttribute), Name: le.GetAttributeValue(cfg.NameAttribute)}
	if id := le.GetAttributeValue("entryUUID"); id != "" {
		e.ID = id
	} else if guid := le.GetRawAttributeValue("objectGUID"); len(guid) > 0 {
		e.ID = hex.EncodeToString(guid)
	}
	if e.ID == "" {
		s.log.Warn("directory entry without entryUUID or objectGUID", "dn", le.DN)
		return Entry{}, ErrRejected
	}
	if uac, err := strconv.ParseInt(le.GetAttributeValue("userAccountControl"), 10, 64); err == nil && uac&2 != 0 {
		e.Disabled = true
	}
	return e, nil
}

// isAdmin reports whether e is a member of the admin group (member or
// uniqueMember holds its DN, or memberUid its username).
func (s *Service) isAdmin(conn *ldap.Conn, cfg Config, e Entry) (bool, error) {
	if cfg.AdminGroupDN == "" {
		return false, nil
	}
	dn := ldap.EscapeFilter(e.DN)
	filter := "(|(member=" + dn + ")(uniqueMember=" + dn + ")(memberUid=" + ldap.EscapeFilter(e.Username) + "))"
	req := ldap.NewSearchRequest(cfg.AdminGroupDN, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, int(s.opts.Timeout/time.Second),
		false, filter, []string{"1.1"}, nil)
	res, err := conn.Search(req)
	if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
		s.log.Warn("directory admin group not found", "dn", cfg.AdminGroupDN)
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return len(res.Entries) > 0, nil
}

// acquire takes one of the MaxConns slots, waiting at most Timeout.
func (s *Service) acquire(ctx context.Context) (func(), error) {
	t := time.NewTimer(s.opts.Timeout)
	defer t.Stop()
	select {
	case s.slots <- struct{}{}:
		return func() { <-s.slots }, nil
	case <-t.C:
		return nil, ErrUnavailable
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// poolKey names the pool of one version of one org's settings, so a
// changed setting never reuses a connection made under the old one.
func poolKey(d store.Directory) string {
	return d.OrgID + "@" + strconv.FormatInt(d.UpdatedAt.UnixNano(), 10)
}

// take returns an idle connection of key, or a new one bound as the
// service account; pooled says which.
func (s *Service) take(key string, cfg Config) (conn *ldap.Conn, pooled bool, err error) {
	s.mu.Lock()
	if l := s.idle[key]; len(l) > 0 {
		conn = l[len(l)-1]
		s.idle[key] = l[:len(l)-1]
	}
	s.mu.Unlock()
	if conn != nil && !conn.IsClosing() {
		return conn, true, nil
	}
	if conn != nil {
		conn.Close()
	}
	conn, err = s.dial(cfg)
	return conn, false, err
}

// put keeps conn for key, or closes it when the pool is full.
func (s *Service) put(key string, conn *ldap.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.idle[key]) < s.opts.MaxIdle && !conn.IsClosing() {
		s.idle[key] = append(s.idle[key], conn)
		return
	}
	conn.Close()
}

// Seal returns the store record of c for org orgID, its bind password
// sealed with the service's keys.
func (s *Service) Seal(orgID string, c Config) (store.Directory, error) {
	return Seal(s.keys, orgID, c)
}

// Forget closes the pooled connections of org orgID (after its settings
// changed or were removed).
func (s *Service) Forget(orgID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, l := range s.idle {
		if len(k) > len(orgID) && k[:len(orgID)+1] == orgID+"@" {
			for _, c := range l {
				c.Close()
			}
			delete(s.idle, k)
		}
	}
}

// Close closes every pooled connection.
func (s *Service) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, l := range s.idle {
		for _, c := range l {
			c.Close()
		}
		delete(s.idle, k)
	}
}

// dial connects per cfg (TLS or StartTLS as configured) and binds as the
// service account.
func (s *Service) dial(cfg Config) (*ldap.Conn, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, err
	}
	tc := &tls.Config{ServerName: u.Hostname(), MinVersion: tls.VersionTLS12}
	if cfg.CACert != "" {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM([]byte(cfg.CACert)) {
			return nil, errors.New("directory: CA certificate unreadable")
		}
		tc.RootCAs = pool
	}
	conn, err := ldap.DialURL(cfg.URL, ldap.DialWithDialer(&net.Dialer{Timeout: s.opts.Timeout}), ldap.DialWithTLSConfig(tc))
	if err != nil {
		return nil, err
	}
	conn.SetTimeout(s.opts.Timeout)
	if u.Scheme == "ldap" && cfg.StartTLS {
		if err := conn.StartTLS(tc); err != nil {
			conn.Close()
			return nil, err
		}
	}
	if err := conn.Bind(cfg.BindDN, cfg.BindPassword); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

// unavailable logs why d could not be used and returns ErrUnavailable with
// that cause.
func (s *Service) unavailable(d store.Directory, err error) error {
	if errors.Is(err, ErrUnavailable) {
		return err
	}
	s.log.Warn("directory unavailable", "org", d.OrgID, "url", d.URL, "err", err)
	e := *ErrUnavailable
	e.Err = err
	return &e
}
