package clientip

import (
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func mustPrefixes(t testing.TB, s string) []netip.Prefix {
	t.Helper()
	p, err := ParsePrefixes(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func request(remote string, xff, fwd []string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = remote
	for _, v := range xff {
		r.Header.Add("X-Forwarded-For", v)
	}
	for _, v := range fwd {
		r.Header.Add("Forwarded", v)
	}
	return r
}

func TestClientAddressOverHeaderCombinations(t *testing.T) {
	trusted := mustPrefixes(t, "10.0.0.0/8, 2001:db8:ffff::/48")
	xffProxy := &Resolver{Trusted: trusted}
	fwdProxy := &Resolver{Trusted: trusted, Header: Forwarded}
	loopback := &Resolver{Trusted: Loopback()}
	const peer = "10.0.0.3:50123" // a trusted proxy
	for _, tc := range []struct {
		name     string
		res      *Resolver
		remote   string
		xff, fwd []string
		want     string
	}{
		// Who may speak at all.
		{"no trusted proxy/headers are ignored", &Resolver{}, "203.0.113.5:4711", []string{"198.51.100.1"}, []string{"for=198.51.100.2"}, "203.0.113.5"},
		{"untrusted peer/its X-Forwarded-For is ignored", xffProxy, "203.0.113.5:4711", []string{"198.51.100.1"}, nil, "203.0.113.5"},
		{"untrusted peer/its Forwarded is ignored", fwdProxy, "203.0.113.5:4711", nil, []string{"for=198.51.100.1"}, "203.0.113.5"},
		{"untrusted peer/inside the trusted range only by its header", xffProxy, "203.0.113.5:4711", []string{"10.0.0.9"}, nil, "203.0.113.5"},
		{"trusted peer without a header is the client", xffProxy, peer, nil, nil, "10.0.0.3"},
		{"trusted peer/empty header is the peer", xffProxy, peer, []string{""}, nil, "10.0.0.3"},
		{"peer without a port", xffProxy, "203.0.113.5", nil, nil, "203.0.113.5"},
		{"peer with a zone loses it", xffProxy, "[fe80::1%eth0]:4711", nil, nil, "fe80::1"},
		{"peer that is not an address is unknown", xffProxy, "@", []string{"198.51.100.1"}, nil, "0.0.0.0"},
		{"IPv4-mapped peer is unmapped and trusted", xffProxy, "[::ffff:10.0.0.3]:4711", []string{"198.51.100.1"}, nil, "198.51.100.1"},
		{"IPv4-mapped untrusted peer is unmapped", xffProxy, "[::ffff:203.0.113.5]:4711", []string{"198.51.100.1"}, nil, "203.0.113.5"},

		// X-Forwarded-For: one list over all lines, walked from the right.
		{"xff/one entry", xffProxy, peer, []string{"198.51.100.1"}, nil, "198.51.100.1"},
		{"xff/spoofed left part in one line", xffProxy, peer, []string{"6.6.6.6, 198.51.100.1"}, nil, "198.51.100.1"},
		{"xff/client's line first, proxy's line second (issue 10)", xffProxy, peer, []string{"6.6.6.6", "198.51.100.1"}, nil, "198.51.100.1"},
		{"xff/lists on several lines", xffProxy, peer, []string{"6.6.6.6, 7.7.7.7", "8.8.8.8,198.51.100.1"}, nil, "198.51.100.1"},
		{"xff/tabs and spaces around entries", xffProxy, peer, []string{"6.6.6.6,\t198.51.100.1 "}, nil, "198.51.100.1"},
		{"xff/empty entries are skipped", xffProxy, peer, []string{"198.51.100.1,, ", "", " , "}, nil, "198.51.100.1"},
		{"xff/chain of trusted proxies", xffProxy, "10.0.0.3:1", []string{"6.6.6.6, 198.51.100.1, 10.0.0.1", "10.0.0.2"}, nil, "198.51.100.1"},
		{"xff/chain through IPv6 proxies", xffProxy, "[2001:db8:ffff::2]:443", []string{"6.6.6.6, 198.51.100.1, 2001:db8:ffff::1"}, nil, "198.51.100.1"},
		{"xff/every hop trusted: the leftmost hop", xffProxy, peer, []string{"10.0.0.1, 10.0.0.2"}, nil, "10.0.0.1"},
		{"xff/IPv6 client", xffProxy, peer, []string{"6.6.6.6", "2001:db8::1"}, nil, "2001:db8::1"},
		{"xff/IPv6 client in brackets", xffProxy, peer, []string{"[2001:db8::1]"}, nil, "2001:db8::1"},
		{"xff/IPv4-mapped client is unmapped", xffProxy, peer, []string{"::ffff:198.51.100.1"}, nil, "198.51.100.1"},
		{"xff/IPv4-mapped trusted hop is skipped", xffProxy, peer, []string{"198.51.100.1, ::ffff:10.0.0.2"}, nil, "198.51.100.1"},
		{"xff/garbage left of the client is never read", xffProxy, peer, []string{"<script>, 198.51.100.1"}, nil, "198.51.100.1"},
		{"xff/garbage rightmost: the proxy's view", xffProxy, peer, []string{"198.51.100.1, garbage"}, nil, "10.0.0.3"},
		{"xff/garbage behind a trusted hop: that hop", xffProxy, peer, []string{"198.51.100.1, garbage, 10.0.0.2"}, nil, "10.0.0.2"},
		{"xff/garbage line rightmost: the proxy's view", xffProxy, peer, []string{"198.51.100.1", "garbage"}, nil, "10.0.0.3"},
		{"xff/IPv4:port is malformed", xffProxy, peer, []string{"6.6.6.6", "198.51.100.1:4711"}, nil, "10.0.0.3"},
		{"xff/[IPv6]:port is malformed", xffProxy, peer, []string{"6.6.6.6", "[2001:db8::1]:443"}, nil, "10.0.0.3"},
		{"xff/a client's IP:port on the left cannot choose", xffProxy, peer, []string{"6.6.6.6:80", "198.51.100.1"}, nil, "198.51.100.1"},
		{"xff/unknown is malformed", xffProxy, peer, []string{"6.6.6.6, unknown"}, nil, "10.0.0.3"},
		{"xff/zone is malformed", xffProxy, peer, []string{"6.6.6.6, fe80::1%eth0"}, nil, "10.0.0.3"},
		{"xff/quoted address is malformed", xffProxy, peer, []string{`6.6.6.6, "198.51.100.1"`}, nil, "10.0.0.3"},
		{"xff/IPv4 in brackets is malformed", xffProxy, peer, []string{"6.6.6.6, [198.51.100.1]"}, nil, "10.0.0.3"},
		{"xff/leading zeros are malformed", xffProxy, peer, []string{"6.6.6.6, 198.051.100.001"}, nil, "10.0.0.3"},

		// Forwarded (RFC 7239).
		{"forwarded/for=", fwdProxy, peer, nil, []string{"for=198.51.100.1"}, "198.51.100.1"},
		{"forwarded/parameter names ignore case", fwdProxy, peer, nil, []string{"For=198.51.100.1;Proto=https;BY=10.0.0.3"}, "198.51.100.1"},
		{"forwarded/quoted IPv6 with port", fwdProxy, peer, nil, []string{`for="[2001:db8::1]:4711"`}, "2001:db8::1"},
		{"forwarded/quoted IPv6 without port", fwdProxy, peer, nil, []string{`for="[2001:db8::1]"`}, "2001:db8::1"},
		{"forwarded/bare IPv6 is accepted", fwdProxy, peer, nil, []string{`for="2001:db8::1"`}, "2001:db8::1"},
		{"forwarded/quoted IPv4 with port", fwdProxy, peer, nil, []string{`for="198.51.100.1:4711"`}, "198.51.100.1"},
		{"forwarded/unquoted IPv4 with port", fwdProxy, peer, nil, []string{`for=198.51.100.1:4711`}, "198.51.100.1"},
		{"forwarded/obfuscated port", fwdProxy, peer, nil, []string{`for="198.51.100.1:_p1"`}, "198.51.100.1"},
		{"forwarded/spoofed element on the left", fwdProxy, peer, nil, []string{"for=6.6.6.6, for=198.51.100.1"}, "198.51.100.1"},
		{"forwarded/client's line first, proxy's line second", fwdProxy, peer, nil, []string{"for=6.6.6.6", "for=198.51.100.1;proto=https"}, "198.51.100.1"},
		{"forwarded/chain of trusted proxies", fwdProxy, peer, nil, []string{`for=6.6.6.6, for=198.51.100.1;by=10.0.0.1, for=10.0.0.1`, `for="[2001:db8:ffff::1]:8080"`}, "198.51.100.1"},
		{"forwarded/commas and semicolons inside quotes", fwdProxy, peer, nil, []string{`for=198.51.100.1;ext="a,b;c=d"`}, "198.51.100.1"},
		{"forwarded/escaped quote inside quotes", fwdProxy, peer, nil, []string{`for=198.51.100.1;ext="a\"b,for=6.6.6.6"`}, "198.51.100.1"},
		{"forwarded/empty elements are skipped", fwdProxy, peer, nil, []string{"for=198.51.100.1,, ", ""}, "198.51.100.1"},
		{"forwarded/obfuscated identifier: the proxy's view", fwdProxy, peer, nil, []string{"for=6.6.6.6, for=_hidden"}, "10.0.0.3"},
		{"forwarded/unknown: the proxy's view", fwdProxy, peer, nil, []string{"for=6.6.6.6, for=unknown"}, "10.0.0.3"},
		{"forwarded/obfuscated behind a trusted hop: that hop", fwdProxy, peer, nil, []string{"for=6.6.6.6, for=_hidden, for=10.0.0.2"}, "10.0.0.2"},
		{"forwarded/element without for=", fwdProxy, peer, nil, []string{"for=6.6.6.6, by=10.0.0.3;proto=https"}, "10.0.0.3"},
		{"forwarded/two for= in one element", fwdProxy, peer, nil, []string{"for=6.6.6.6;for=198.51.100.1"}, "10.0.0.3"},
		{"forwarded/empty for=", fwdProxy, peer, nil, []string{`for=6.6.6.6, for=""`}, "10.0.0.3"},
		{"forwarded/pair without =", fwdProxy, peer, nil, []string{"for=6.6.6.6, for"}, "10.0.0.3"},
		{"forwarded/space around = is malformed", fwdProxy, peer, nil, []string{"for=6.6.6.6, for = 198.51.100.1"}, "10.0.0.3"},
		{"forwarded/IPv4 in brackets is malformed", fwdProxy, peer, nil, []string{`for="[198.51.100.1]"`}, "10.0.0.3"},
		{"forwarded/port out of range", fwdProxy, peer, nil, []string{`for="198.51.100.1:65536"`}, "10.0.0.3"},
		{"forwarded/empty port", fwdProxy, peer, nil, []string{`for="[2001:db8::1]:"`}, "10.0.0.3"},
		{"forwarded/text after brackets", fwdProxy, peer, nil, []string{`for="[2001:db8::1]x"`}, "10.0.0.3"},
		{"forwarded/unterminated quote cannot swallow the proxy's line", fwdProxy, peer, nil, []string{`for="6.6.6.6`, "for=198.51.100.1"}, "198.51.100.1"},
		{"forwarded/unterminated quote in the proxy's line: the proxy's view", fwdProxy, peer, nil, []string{`for="6.6.6.6, for=198.51.100.1`}, "10.0.0.3"},
		{"forwarded/garbage after a quoted string", fwdProxy, peer, nil, []string{`for="198.51.100.1"x`}, "10.0.0.3"},

		// Both headers: only the configured one is read.
		{"both/X-Forwarded-For resolver ignores a client's Forwarded", xffProxy, peer, []string{"198.51.100.1"}, []string{"for=6.6.6.6"}, "198.51.100.1"},
		{"both/Forwarded resolver ignores a client's X-Forwarded-For", fwdProxy, peer, []string{"6.6.6.6"}, []string{"for=198.51.100.1"}, "198.51.100.1"},
		{"both/Forwarded resolver without Forwarded is the peer", fwdProxy, peer, []string{"6.6.6.6"}, nil, "10.0.0.3"},
		{"both/X-Forwarded-For resolver without X-Forwarded-For is the peer", xffProxy, peer, nil, []string{"for=6.6.6.6"}, "10.0.0.3"},

		// --trust-proxy alone trusts loopback.
		{"loopback/IPv4 proxy", loopback, "127.0.0.1:5555", []string{"6.6.6.6", "198.51.100.1"}, nil, "198.51.100.1"},
		{"loopback/IPv6 proxy", loopback, "[::1]:5555", []string{"6.6.6.6", "198.51.100.1"}, nil, "198.51.100.1"},
		{"loopback/other peers are not proxies", loopback, "10.0.0.3:5555", []string{"198.51.100.1"}, nil, "10.0.0.3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.res.Addr(request(tc.remote, tc.xff, tc.fwd))
			if got.String() != tc.want {
				t.Fatalf("RemoteAddr %q, X-Forwarded-For %q, Forwarded %q: client %s, want %s", tc.remote, tc.xff, tc.fwd, got, tc.want)
			}
		})
	}
}

func TestParsePrefixes(t *testing.T) {
	got, err := ParsePrefixes(" 10.0.0.0/8,192.0.2.7 , 2001:db8::/32,::1, ::ffff:10.1.0.0/112")
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.7/32"),
		netip.MustParsePrefix("2001:db8::/32"), netip.MustParsePrefix("::1/128"), netip.MustParsePrefix("10.1.0.0/16")}
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("ParsePrefixes = %v, %v; want %v", got, err, want)
	}
	for _, bad := range []string{"", "10.0.0.0/8,", "10.0.0.0/8,,::1", "proxy.example.com", "10.1.2.3/8",
		"10.0.0.0/33", "0.0.0.0/0", "::/0", "::ffff:0.0.0.0/96", "fe80::1%eth0", "10.0.0.1:80", "::ffff:0:0/80"} {
		if p, err := ParsePrefixes(bad); err == nil {
			t.Errorf("ParsePrefixes(%q) = %v, want an error", bad, p)
		}
	}
}

// FuzzClientIP checks, for any RemoteAddr and header lines, that the result
// is a valid address; that an untrusted peer is always the client; and that
// nothing a client puts in front of what a trusted proxy appends can choose
// the address.
func FuzzClientIP(f *testing.F) {
	for _, s := range [][4]string{
		{"10.0.0.3:1", "6.6.6.6", "198.51.100.1", ""},
		{"127.0.0.1:1", "6.6.6.6, garbage", "198.51.100.1:80", "for=6.6.6.6"},
		{"[::1]:1", "[2001:db8::1]:443", "", `for="[2001:db8::1]:4711", for=_x`},
		{"10.0.0.3:1", "10.0.0.1,10.0.0.2", "::ffff:1.2.3.4", `for="6.6.6.6`},
		{"@", ",,,", "\t", `for=1.2.3.4;for=5.6.7.8`},
		{"[fe80::1%eth0]:1", "fe80::1%eth0", "unknown", `by=1;proto=https, for="a\"b"`},
		{"203.0.113.5:1", "1.2.3.4", "", `for=unknown;ext=",;"`},
	} {
		f.Add(s[0], s[1], s[2], s[3])
	}
	trusted := mustPrefixes(f, "10.0.0.0/8, 127.0.0.0/8, ::1")
	resolvers := []*Resolver{{}, {Trusted: trusted}, {Trusted: trusted, Header: Forwarded}}
	valid := func(t *testing.T, a netip.Addr) {
		t.Helper()
		if !a.IsValid() || a.Zone() != "" || a.Is4In6() || net.ParseIP(a.String()) == nil {
			t.Fatalf("result %q is not a plain valid address", a)
		}
	}
	f.Fuzz(func(t *testing.T, remote, line1, line2, fwd string) {
		for _, res := range resolvers {
			r := request(remote, []string{line1, line2}, []string{fwd, line1})
			a := res.Addr(r)
			valid(t, a)
			if p, ok := Peer(r); ok && !res.Trusts(p) && a != p {
				t.Fatalf("untrusted peer %s, client %s", p, a)
			}
		}
		const client = "203.0.113.7"
		// The proxy adds its own line.
		xff := request("10.0.0.3:1", []string{line1, line2, client}, []string{fwd})
		if a := resolvers[1].Addr(xff); a.String() != client {
			t.Fatalf("X-Forwarded-For %q then the proxy's %s: client %s", []string{line1, line2}, client, a)
		}
		fw := request("10.0.0.3:1", []string{line1}, []string{fwd, line2, "for=" + client})
		if a := resolvers[2].Addr(fw); a.String() != client {
			t.Fatalf("Forwarded %q then the proxy's for=%s: client %s", []string{fwd, line2}, client, a)
		}
		// The proxy appends to the client's line.
		xff = request("10.0.0.3:1", []string{line1 + ", " + client}, nil)
		if a := resolvers[1].Addr(xff); a.String() != client {
			t.Fatalf("X-Forwarded-For %q: client %s", line1+", "+client, a)
		}
		fw = request("10.0.0.3:1", nil, []string{fwd + ", for=" + client})
		if a := resolvers[2].Addr(fw); a.String() != client && a.String() != "10.0.0.3" {
			t.Fatalf("Forwarded %q: client %s, want %s or the proxy", fwd+", for="+client, a, client)
		}
	})
}

func TestXForwardedForIsWalkedWithoutReadingTheClientsPart(t *testing.T) {
	// The walk stops at the first untrusted entry from the right, and
	// X-Forwarded-For is scanned in place: a long client-written part costs
	// nothing.
	res := &Resolver{Trusted: Loopback()}
	r := request("127.0.0.1:1", []string{strings.Repeat("garbage,", 10000), "6.6.6.6, 198.51.100.1"}, nil)
	if got := res.IP(r); got != "198.51.100.1" {
		t.Fatalf("client %s", got)
	}
	if n := testing.AllocsPerRun(100, func() { res.Addr(r) }); n != 0 {
		t.Fatalf("%v allocations per request, want 0", n)
	}
}
