package directory_test

import (
	"context"
	"errors"
	"io"
	"net"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/twofold-id/twofold/internal/directory"
	"github.com/twofold-id/twofold/internal/directory/slapdtest"
	"github.com/twofold-id/twofold/internal/secretbox"
	"github.com/twofold-id/twofold/internal/store"
	"github.com/twofold-id/twofold/internal/store/sqlite"
)

type fixture struct {
	srv   *slapdtest.Server
	st    store.Store
	dir   *directory.Service
	chain []store.Org
	ctx   context.Context
}

func setup(t *testing.T, edit func(*directory.Config)) *fixture {
	t.Helper()
	srv := slapdtest.Start(t, "")
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	root, err := st.CreateOrg(ctx, store.Org{Slug: "root", Name: "Root"})
	if err != nil {
		t.Fatal(err)
	}
	child, err := st.CreateOrg(ctx, store.Org{Slug: "child", Name: "Child", ParentID: root.ID})
	if err != nil {
		t.Fatal(err)
	}
	keys := secretbox.Generate()
	cfg := directory.Config{URL: srv.URL, StartTLS: true, CACert: srv.CACert, BindDN: slapdtest.ServiceDN,
		BindPassword: slapdtest.ServicePW, UserBaseDN: slapdtest.PeopleDN, UserFilter: slapdtest.UserFilter,
		AdminGroupDN: slapdtest.AdminGroupDN}
	cfg.Defaults()
	if edit != nil {
		edit(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	d, err := directory.Seal(keys, root.ID, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.PutDirectory(ctx, d); err != nil {
		t.Fatal(err)
	}
	svc := directory.New(st, keys, nil, directory.Options{Timeout: 2 * time.Second})
	t.Cleanup(svc.Close)
	return &fixture{srv: srv, st: st, dir: svc, chain: []store.Org{root, child}, ctx: ctx}
}

// auth resolves the child org's (inherited) directory and authenticates.
func (f *fixture) auth(user, pw string) (directory.Entry, error) {
	d, err := f.dir.Resolve(f.ctx, f.chain)
	if err != nil {
		return directory.Entry{}, err
	}
	return f.dir.Authenticate(f.ctx, d, user, pw)
}

func TestAuthenticate(t *testing.T) {
	f := setup(t, nil)
	e, err := f.auth("dana", "dana-pw")
	if err != nil {
		t.Fatalf("Authenticate(dana): %v", err)
	}
	if e.Username != "dana" || e.Email != "dana@example.org" || e.Name != "Dana Scully" || e.ID == "" || e.Admin {
		t.Errorf("dana = %+v", e)
	}
	erin, err := f.auth("erin", "erin-pw")
	if err != nil || !erin.Admin {
		t.Errorf("Authenticate(erin) = %+v, %v; want an admin", erin, err)
	}
	for _, tc := range []struct{ name, user, pw string }{
		{"wrong password", "dana", "nope"},
		{"empty password", "dana", ""},
		{"unknown user", "nobody", "x"},
		{"a filter injection finds nobody", "*)(uid=*", "dana-pw"},
		{"a wildcard finds nobody", "*", "dana-pw"},
		{"the service account is not a user", "twofold", slapdtest.ServicePW},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := f.auth(tc.user, tc.pw); !errors.Is(err, directory.ErrRejected) {
				t.Errorf("Authenticate(%q) = %v, want ErrRejected", tc.user, err)
			}
		})
	}
	// The pooled connection is still the service account's after a failed bind.
	if _, err := f.auth("dana", "dana-pw"); err != nil {
		t.Errorf("Authenticate after failures: %v", err)
	}
}

func TestRenamedEntryKeepsItsID(t *testing.T) {
	f := setup(t, nil)
	before, err := f.auth("dana", "dana-pw")
	if err != nil {
		t.Fatal(err)
	}
	f.srv.Admin(func(c *ldap.Conn) error {
		return c.ModifyDN(ldap.NewModifyDNRequest("uid=dana,"+slapdtest.PeopleDN, "uid=dana.k", true, ""))
	})
	after, err := f.auth("dana.k", "dana-pw")
	if err != nil {
		t.Fatal(err)
	}
	if after.ID != before.ID || after.Username != "dana.k" {
		t.Errorf("renamed = %+v, want id %s", after, before.ID)
	}
	if _, err := f.auth("dana", "dana-pw"); !errors.Is(err, directory.ErrRejected) {
		t.Errorf("old name: %v, want ErrRejected", err)
	}
}

func TestDisabledADAccountIsRejected(t *testing.T) {
	f := setup(t, nil)
	f.srv.Admin(func(c *ldap.Conn) error {
		m := ldap.NewModifyRequest("uid=dana,"+slapdtest.PeopleDN, nil)
		m.Add("objectClass", []string{"twofoldTestADUser"})
		m.Add("userAccountControl", []string{"514"}) // NORMAL_ACCOUNT | ACCOUNTDISABLE
		return c.Modify(m)
	})
	if _, err := f.auth("dana", "dana-pw"); !errors.Is(err, directory.ErrRejected) {
		t.Errorf("disabled: %v, want ErrRejected", err)
	}
	f.srv.Admin(func(c *ldap.Conn) error {
		m := ldap.NewModifyRequest("uid=dana,"+slapdtest.PeopleDN, nil)
		m.Replace("userAccountControl", []string{"512"})
		return c.Modify(m)
	})
	if _, err := f.auth("dana", "dana-pw"); err != nil {
		t.Errorf("enabled again: %v", err)
	}
}

func TestUnavailableAndRecovery(t *testing.T) {
	f := setup(t, nil)
	if _, err := f.auth("dana", "dana-pw"); err != nil {
		t.Fatal(err)
	}
	f.srv.Stop()
	if _, err := f.auth("dana", "dana-pw"); !errors.Is(err, directory.ErrUnavailable) {
		t.Fatalf("stopped: %v, want ErrUnavailable", err)
	}
	f.srv.Restart()
	if _, err := f.auth("dana", "dana-pw"); err != nil {
		t.Fatalf("after restart: %v", err)
	}
}

func TestPlainLDAPIsRefusedByTheServer(t *testing.T) {
	// The test server requires TLS: without StartTLS (allowed for loopback)
	// the service bind fails and the directory counts as unavailable.
	f := setup(t, func(c *directory.Config) { c.StartTLS = false })
	if _, err := f.auth("dana", "dana-pw"); !errors.Is(err, directory.ErrUnavailable) {
		t.Fatalf("plain: %v, want ErrUnavailable", err)
	}
}

func TestFind(t *testing.T) {
	f := setup(t, nil)
	d, err := f.dir.Resolve(f.ctx, f.chain)
	if err != nil {
		t.Fatal(err)
	}
	e, err := f.dir.Find(f.ctx, d, "erin")
	if err != nil || e.Username != "erin" || !e.Admin || e.DN != "uid=erin,"+slapdtest.PeopleDN {
		t.Errorf("Find(erin) = %+v, %v", e, err)
	}
	if _, err := f.dir.Find(f.ctx, d, "*)(uid=*"); !errors.Is(err, directory.ErrRejected) {
		t.Errorf("Find(injection) = %v, want ErrRejected", err)
	}
}

func TestResolveNone(t *testing.T) {
	f := setup(t, nil)
	if err := f.st.DeleteDirectory(f.ctx, f.chain[0].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.auth("dana", "dana-pw"); !errors.Is(err, directory.ErrNoDirectory) {
		t.Errorf("no directory: %v", err)
	}
}

func TestValidate(t *testing.T) {
	ok := directory.Config{URL: "ldaps://ldap.example.org", BindDN: "cn=svc,dc=x", BindPassword: "pw", UserBaseDN: "dc=x"}
	ok.Defaults()
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	for _, tc := range []struct {
		name  string
		edit  func(*directory.Config)
		field string
	}{
		{"error/plain ldap to a remote host", func(c *directory.Config) { c.URL = "ldap://ldap.example.org" }, "start_tls"},
		{"error/other scheme", func(c *directory.Config) { c.URL = "http://ldap.example.org" }, "url"},
		{"error/starttls on ldaps", func(c *directory.Config) { c.StartTLS = true }, "start_tls"},
		{"error/bad filter", func(c *directory.Config) { c.UserFilter = "(objectClass=person" }, "user_filter"},
		{"error/bad attribute", func(c *directory.Config) { c.UsernameAttribute = "uid)(x" }, "username_attribute"},
		{"error/bad base", func(c *directory.Config) { c.UserBaseDN = "not a dn" }, "user_base_dn"},
		{"error/bad ca", func(c *directory.Config) { c.CACert = "nope" }, "ca_cert"},
		{"error/no bind dn", func(c *directory.Config) { c.BindDN = "" }, "bind_dn"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.edit(&c)
			err := c.Validate()
			if err == nil {
				t.Fatal("Validate accepted it")
			}
			if !errors.Is(err, directory.ErrInvalidConfig) || directory.FieldOf(err) != tc.field {
				t.Errorf("Validate = %v (field %q), want field %q", err, directory.FieldOf(err), tc.field)
			}
		})
	}
	plain := ok
	plain.URL = "ldap://127.0.0.1:389"
	if err := plain.Validate(); err != nil {
		t.Errorf("plain ldap to loopback: %v", err)
	}
}

// A directory that accepts connections and never answers holds at most
// MaxConns operations, each for at most Timeout; the others give up after
// waiting Timeout for a slot. Every caller gets ErrUnavailable.
func TestASlowDirectoryHoldsABoundedNumberOfRequests(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var accepted atomic.Int32
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			go io.Copy(io.Discard, c) // read and never answer
		}
	}()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	keys := secretbox.Generate()
	cfg := directory.Config{URL: "ldap://" + l.Addr().String(), BindDN: "cn=svc,dc=x", BindPassword: "pw", UserBaseDN: "dc=x"}
	cfg.Defaults()
	d, err := directory.Seal(keys, "org", cfg)
	if err != nil {
		t.Fatal(err)
	}
	const timeout = 300 * time.Millisecond
	svc := directory.New(st, keys, nil, directory.Options{Timeout: timeout, MaxConns: 2})
	defer svc.Close()

	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() { _, errs[i] = svc.Authenticate(context.Background(), d, "dana", "pw") })
	}
	wg.Wait()
	elapsed := time.Since(start)
	for i, err := range errs {
		if !errors.Is(err, directory.ErrUnavailable) {
			t.Errorf("caller %d: %v, want ErrUnavailable", i, err)
		}
	}
	// Two run (one timeout each, the bind); the others wait one timeout for
	// a slot, and those that get one as the first two give up run one more
	// timeout: at most two rounds of two connections, and nobody is held
	// much past two timeouts.
	if n := accepted.Load(); n > 4 {
		t.Errorf("8 callers opened %d connections, want at most 4 (2 slots, 2 rounds)", n)
	}
	if elapsed > 4*timeout {
		t.Errorf("8 callers took %v, want at most %v", elapsed, 4*timeout)
	}
}

func TestLookupByStableID(t *testing.T) {
	f := setup(t, nil)
	dana, err := f.auth("dana", "dana-pw")
	if err != nil {
		t.Fatal(err)
	}
	d, err := f.dir.Resolve(f.ctx, f.chain)
	if err != nil {
		t.Fatal(err)
	}
	if e, err := f.dir.Lookup(f.ctx, d, dana.ID); err != nil || e.Username != "dana" || e.Disabled {
		t.Fatalf("Lookup(dana) = %+v, %v", e, err)
	}
	for _, id := range []string{"*", "not-an-id", "00000000-0000-0000-0000-000000000000", "00112233445566778899aabbccddeeff"} {
		if _, err := f.dir.Lookup(f.ctx, d, id); !errors.Is(err, directory.ErrRejected) {
			t.Errorf("Lookup(%q) = %v, want ErrRejected", id, err)
		}
	}
	f.srv.Admin(func(c *ldap.Conn) error {
		m := ldap.NewModifyRequest("uid=dana,"+slapdtest.PeopleDN, nil)
		m.Add("objectClass", []string{"twofoldTestADUser"})
		m.Add("userAccountControl", []string{"514"})
		return c.Modify(m)
	})
	if e, err := f.dir.Lookup(f.ctx, d, dana.ID); err != nil || !e.Disabled {
		t.Fatalf("Lookup(disabled dana) = %+v, %v", e, err)
	}
	f.srv.Admin(func(c *ldap.Conn) error { return c.Del(ldap.NewDelRequest("uid=dana,"+slapdtest.PeopleDN, nil)) })
	if _, err := f.dir.Lookup(f.ctx, d, dana.ID); !errors.Is(err, directory.ErrRejected) {
		t.Fatalf("Lookup(deleted dana) = %v, want ErrRejected", err)
	}
}
