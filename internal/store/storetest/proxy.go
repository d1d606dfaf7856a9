package storetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/store"
)

// proxyTests cover clients of kind proxy: hosts unique across clients,
// the lookup by host, and rules kept as given.
var proxyTests = []subtest{
	{"proxy clients: hosts and rules round trip, lookup by host, hosts unique across clients", func(t *testing.T, s store.Store) {
		root, _ := mustFixture(t, s)
		rules := []store.ProxyRule{{PathPrefix: "/admin", ACR: "mfa", MaxAge: 5 * time.Minute}, {PathPrefix: "/", ACR: "pwd"}}
		c, err := s.CreateClient(ctx(t), store.Client{OrgID: root.ID, Name: "Wiki", Kind: store.ClientProxy,
			Hosts: []string{"wiki.example.test", "wiki.example.test:8443"}, Rules: rules, CreatedAt: at(0), UpdatedAt: at(0)})
		noErr(t, "CreateClient(proxy)", err)
		got, err := s.GetClientByHost(ctx(t), "wiki.example.test:8443")
		noErr(t, "GetClientByHost", err)
		if got.ID != c.ID || got.Kind != store.ClientProxy || !slices.Equal(got.Rules, rules) ||
			!slices.Equal(got.Hosts, []string{"wiki.example.test", "wiki.example.test:8443"}) {
			t.Errorf("GetClientByHost = %+v", got)
		}
		_, err = s.GetClientByHost(ctx(t), "other.example.test")
		wantErr(t, "GetClientByHost(unknown)", err, store.ErrNotFound)

		// A second client may not take a host the first has; nothing of it is stored.
		_, err = s.CreateClient(ctx(t), store.Client{OrgID: root.ID, Name: "Thief", Kind: store.ClientProxy,
			Hosts: []string{"blog.example.test", "wiki.example.test"}, Rules: rules})
		wantErr(t, "CreateClient(taken host)", err, store.ErrConflict)
		all, err := s.ListClients(ctx(t), "")
		noErr(t, "ListClients", err)
		sameIDs(t, "ListClients after the refused create", ids(all, clientID), []string{c.ID})
		_, err = s.GetClientByHost(ctx(t), "blog.example.test")
		wantErr(t, "GetClientByHost(host of the refused create)", err, store.ErrNotFound)

		other, err := s.CreateClient(ctx(t), store.Client{OrgID: root.ID, Name: "Blog", Kind: store.ClientProxy,
			Hosts: []string{"blog.example.test"}, Rules: rules[1:]})
		noErr(t, "CreateClient(blog)", err)
		other.Hosts = []string{"wiki.example.test"}
		_, err = s.UpdateClient(ctx(t), other)
		wantErr(t, "UpdateClient(taken host)", err, store.ErrConflict)
		if got, err := s.GetClientByHost(ctx(t), "blog.example.test"); err != nil || got.ID != other.ID {
			t.Errorf("after a refused update the client lost its host: %+v, %v", got, err)
		}

		// Moving a host: the first client drops it, the second takes it.
		c.Hosts, c.Rules = []string{"wiki.example.test:8443"}, rules[:1]
		up, err := s.UpdateClient(ctx(t), c)
		noErr(t, "UpdateClient(drop host)", err)
		if !slices.Equal(up.Hosts, []string{"wiki.example.test:8443"}) || !slices.Equal(up.Rules, rules[:1]) {
			t.Errorf("UpdateClient = %+v", up)
		}
		other.Hosts = []string{"blog.example.test", "wiki.example.test"}
		_, err = s.UpdateClient(ctx(t), other)
		noErr(t, "UpdateClient(take freed host)", err)
		if got, err := s.GetClientByHost(ctx(t), "wiki.example.test"); err != nil || got.ID != other.ID {
			t.Errorf("GetClientByHost(moved host) = %+v, %v", got, err)
		}

		// Deleting a client frees its hosts.
		noErr(t, "DeleteClient", s.DeleteClient(ctx(t), other.ID))
		_, err = s.GetClientByHost(ctx(t), "wiki.example.test")
		wantErr(t, "GetClientByHost(deleted client)", err, store.ErrNotFound)

		// A web client has neither hosts nor rules.
		web := mustClient(t, s, root, "Web")
		if got, err := s.GetClient(ctx(t), web.ID); err != nil || got.Hosts != nil || got.Rules != nil {
			t.Errorf("web client = %+v, %v", got, err)
		}
	}},
	{"50 clients racing for one host: exactly one gets it", func(t *testing.T, s store.Store) {
		root, _ := mustFixture(t, s)
		wins := countWins(t, racers, func(i int) (bool, error) {
			_, err := s.CreateClient(ctx(t), store.Client{OrgID: root.ID, Name: fmt.Sprintf("App %d", i), Kind: store.ClientProxy,
				Hosts: []string{"contested.example.test"}, Rules: []store.ProxyRule{{PathPrefix: "/", ACR: "mfa"}}})
			if errors.Is(err, store.ErrConflict) {
				return false, nil
			}
			return err == nil, err
		})
		if wins != 1 {
			t.Fatalf("%d of %d clients got the host, want 1", wins, racers)
		}
		all, err := s.ListClients(ctx(t), "")
		noErr(t, "ListClients", err)
		if len(all) != 1 {
			t.Errorf("%d clients stored, want 1", len(all))
		}
	}},
}
