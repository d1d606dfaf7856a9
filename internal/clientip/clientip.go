// Package clientip finds the address a request came from, also behind
// reverse proxies the operator runs, without letting the client choose it.
//
// The peer of the connection (RemoteAddr) is the client unless it is a
// trusted proxy. Only then is one forwarding header read — X-Forwarded-For
// or RFC 7239 Forwarded, whichever the proxy writes — as one list made of
// all its header lines (RFC 9110 §5.3), walked from the right: each trusted
// proxy vouches for the entry to its left, so the first entry that is not a
// trusted proxy is the client. Everything further left was written by the
// client and is never read.
//
// An entry that is not an address — garbage, an X-Forwarded-For entry with a
// port, Forwarded's "unknown" or an obfuscated "_name", an element without
// for= — ends the walk: the client is then the last trusted hop, the
// address the proxies themselves can vouch for. Neither the malformed entry
// nor anything to its left can choose the result, so a client that sends
// garbage shares one address (and one rate-limit bucket) with every other
// such client instead of escaping limits.
//
// The result is always a valid address without a zone, IPv4-mapped IPv6
// addresses unmapped.
package clientip

import (
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
)

// The forwarding headers a Resolver can read.
const (
	XForwardedFor = "X-Forwarded-For"
	Forwarded     = "Forwarded"
)

// Unknown is the address reported when the peer of a connection is not an
// IP address (a Unix socket, a test that set no RemoteAddr).
var Unknown = netip.IPv4Unspecified()

// A Resolver finds the client address of requests. The zero value trusts no
// proxy and reports the peer of the connection.
type Resolver struct {
	// Trusted are the proxies whose forwarding header is believed. Empty
	// means none: headers are ignored.
	Trusted []netip.Prefix
	// Header is the forwarding header the trusted proxies write:
	// XForwardedFor (also when empty) or Forwarded. The other one is
	// ignored, because a proxy that writes one passes the client's copy of
	// the other through untouched.
	Header string
}

// Loopback returns the prefixes of the loopback addresses, 127.0.0.0/8 and
// ::1/128.
func Loopback() []netip.Prefix {
	return []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
}

// ParsePrefixes parses a comma-separated list of CIDR prefixes and bare
// addresses (one host each). IPv4-mapped IPv6 prefixes become IPv4 ones.
// It refuses empty entries, host bits set beyond the prefix length, zones,
// and prefixes of length 0, which would trust every address and let any
// client choose its own.
func ParsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			return nil, errors.New("empty entry in the list")
		}
		var p netip.Prefix
		if strings.Contains(f, "/") {
			var err error
			if p, err = netip.ParsePrefix(f); err != nil {
				return nil, fmt.Errorf("%q is not a CIDR prefix or an IP address", f)
			}
			if p != p.Masked() {
				return nil, fmt.Errorf("%q has bits set after the prefix length (did you mean %s?)", f, p.Masked())
			}
		} else {
			a, err := netip.ParseAddr(f)
			if err != nil || a.Zone() != "" {
				return nil, fmt.Errorf("%q is not a CIDR prefix or an IP address", f)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		if a := p.Addr(); a.Is4In6() {
			if p.Bits() < 96 {
				return nil, fmt.Errorf("%q mixes IPv4-mapped and other IPv6 addresses", f)
			}
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
		}
		if p.Bits() == 0 {
			return nil, fmt.Errorf("%q trusts every address, so any client could choose its own", f)
		}
		out = append(out, p)
	}
	return out, nil
}

// Addr returns the client address of r: always valid, never zoned, never
// IPv4-mapped.
func (res *Resolver) Addr(r *http.Request) netip.Addr {
	hop, ok := Peer(r)
	if !ok {
		return Unknown
	}
	if !res.trusts(hop) {
		return hop
	}
	if strings.EqualFold(res.Header, Forwarded) {
		return walk(hop, res.trusts, forwardedFor(r.Header.Values("Forwarded")))
	}
	return walk(hop, res.trusts, xForwardedFor(r.Header.Values("X-Forwarded-For")))
}

// IP returns Addr(r) as a string.
func (res *Resolver) IP(r *http.Request) string { return res.Addr(r).String() }

// Trusts reports whether a is a trusted proxy.
func (res *Resolver) Trusts(a netip.Addr) bool { return res.trusts(a.WithZone("").Unmap()) }

func (res *Resolver) trusts(a netip.Addr) bool {
	for _, p := range res.Trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Peer returns the address of the other end of r's connection, normalized,
// and whether RemoteAddr held one.
func Peer(r *http.Request) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		return ap.Addr().WithZone("").Unmap(), true
	}
	if a, err := netip.ParseAddr(r.RemoteAddr); err == nil {
		return a.WithZone("").Unmap(), true
	}
	return netip.Addr{}, false
}

// An entry is one hop of a forwarding list: the address it names, or !ok
// when it names none.
type entry struct {
	addr netip.Addr
	ok   bool
}

// walk goes through entries from the right, starting at hop, a trusted
// proxy. It returns the first entry that is not trusted; when an entry is
// not an address, or the list ends, it returns the last trusted hop.
func walk(hop netip.Addr, trusts func(netip.Addr) bool, entries iter.Seq[entry]) netip.Addr {
	for e := range entries {
		if !e.ok {
			break
		}
		hop = e.addr
		if !trusts(hop) {
			break
		}
	}
	return hop
}

// xForwardedFor yields the entries of X-Forwarded-For lines from the right.
// Empty entries are skipped (RFC 9110 §5.6.1). An entry is an IP address;
// IPv6 may be in brackets; a port makes it malformed.
func xForwardedFor(lines []string) iter.Seq[entry] {
	return func(yield func(entry) bool) {
		for i := len(lines) - 1; i >= 0; i-- {
			rest := lines[i]
			for {
				j := strings.LastIndexByte(rest, ',')
				f := strings.Trim(rest[j+1:], " \t")
				if f != "" {
					a, ok := parseNode(f, false)
					if !yield(entry{a, ok}) {
						return
					}
				}
				if j < 0 {
					break
				}
				rest = rest[:j]
			}
		}
	}
}

// forwardedFor yields the for= node of each Forwarded element, from the
// right. Each line is parsed on its own, so a quote a client leaves open
// cannot swallow the line a proxy added. An element without exactly one
// for=, or with a syntax error, yields a malformed entry; an unterminated
// quote makes the rest of its line one malformed entry, since where the
// elements end is then unknown.
func forwardedFor(lines []string) iter.Seq[entry] {
	return func(yield func(entry) bool) {
		for i := len(lines) - 1; i >= 0; i-- {
			elems := splitQuoted(lines[i], ',')
			for j := len(elems) - 1; j >= 0; j-- {
				el := strings.Trim(elems[j].s, " \t")
				if el == "" && !elems[j].open {
					continue
				}
				a, ok := forwardedElement(el)
				if elems[j].open {
					ok = false
				}
				if !yield(entry{a, ok}) {
					return
				}
			}
		}
	}
}

// A part is a piece of a string split outside quoted strings; open means a
// quoted string in it was not closed.
type part struct {
	s    string
	open bool
}

// splitQuoted splits s at sep outside RFC 9110 quoted strings.
func splitQuoted(s string, sep byte) []part {
	var out []part
	start, quoted, escaped := 0, false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case escaped:
			escaped = false
		case quoted && c == '\\':
			escaped = true
		case c == '"':
			quoted = !quoted
		case !quoted && c == sep:
			out = append(out, part{s: s[start:i]})
			start = i + 1
		}
	}
	return append(out, part{s: s[start:], open: quoted})
}

// forwardedElement returns the address of the one for= pair of el.
func forwardedElement(el string) (netip.Addr, bool) {
	var node string
	found := false
	for _, p := range splitQuoted(el, ';') {
		pair := strings.Trim(p.s, " \t")
		if pair == "" {
			continue
		}
		name, value, ok := strings.Cut(pair, "=")
		if !ok || !isToken(name) {
			return netip.Addr{}, false
		}
		v, ok := forwardedValue(value)
		if !ok {
			return netip.Addr{}, false
		}
		if strings.EqualFold(name, "for") {
			if found {
				return netip.Addr{}, false
			}
			node, found = v, true
		}
	}
	if !found {
		return netip.Addr{}, false
	}
	return parseNode(node, true)
}

// forwardedValue decodes a token or a quoted string.
func forwardedValue(v string) (string, bool) {
	if !strings.HasPrefix(v, `"`) {
		// Unquoted: a token, leniently also ':' '[' ']' which proxies
		// write for ports and IPv6 although RFC 7239 wants them quoted.
		for i := 0; i < len(v); i++ {
			if c := v[i]; !isTchar(c) && c != ':' && c != '[' && c != ']' {
				return "", false
			}
		}
		return v, v != ""
	}
	if len(v) < 2 || v[len(v)-1] != '"' {
		return "", false
	}
	var b strings.Builder
	in := v[1 : len(v)-1]
	for i := 0; i < len(in); i++ {
		c := in[i]
		if c == '\\' {
			if i++; i == len(in) {
				return "", false
			}
			c = in[i]
		} else if c == '"' {
			return "", false
		}
		b.WriteByte(c)
	}
	return b.String(), true
}

func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isTchar(s[i]) {
			return false
		}
	}
	return s != ""
}

func isTchar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// parseNode parses a hop's address: IPv4, IPv6 bare or in brackets, and,
// when ports are allowed (Forwarded), IPv4:port or [IPv6]:port where port is
// a number or an obfuscated "_name". Zones are refused: they mean nothing
// beyond the host that wrote them.
func parseNode(s string, ports bool) (netip.Addr, bool) {
	host, port, bracketed := s, "", false
	switch {
	case strings.HasPrefix(s, "["):
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return netip.Addr{}, false
		}
		host, port, bracketed = s[1:end], s[end+1:], true
		if port != "" && port[0] != ':' {
			return netip.Addr{}, false
		}
	case strings.Count(s, ":") == 1:
		// IPv6 has at least two colons, so this is IPv4:port or garbage.
		i := strings.IndexByte(s, ':')
		host, port = s[:i], s[i:]
	}
	if port != "" && (!ports || !validPort(port[1:])) {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(host)
	if err != nil || a.Zone() != "" || bracketed && !a.Is6() {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// validPort reports whether p is an RFC 7239 node-port: 1 to 5 digits up to
// 65535, or "_" and obfuscation characters.
func validPort(p string) bool {
	if strings.HasPrefix(p, "_") {
		if len(p) < 2 {
			return false
		}
		for i := 1; i < len(p); i++ {
			c := p[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
				return false
			}
		}
		return true
	}
	if len(p) < 1 || len(p) > 5 {
		return false
	}
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return false
		}
	}
	n, _ := strconv.Atoi(p)
	return n <= 65535
}
