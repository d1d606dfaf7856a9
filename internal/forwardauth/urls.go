// Package forwardauth decides for a forward-auth proxy (nginx auth_request,
// Traefik ForwardAuth, Caddy forward_auth) whether a browser's request to a
// protected app may pass, and checks where the portal may send a browser
// back to after it signed in.
//
// A protected app is a registered client of kind proxy (store.Client): the
// hosts it answers on and its rules. Every decision is made from current
// data — the session, the user, its org, its policy, the client and its
// rules are read again for every request — so a revoked session, a
// disabled user, a moved org or a changed rule takes effect at the next
// request.
//
// The HTTP endpoints live in the portal (internal/web), which owns the
// session cookie; this package holds the decisions and the URL checks.
package forwardauth

import (
	"errors"
	"net"
	"net/url"
	"path"
	"strconv"
	"strings"

	"golang.org/x/net/idna"
)

// errBadURL is a URL that is no absolute http(s) URL Twofold would send a
// browser to.
var errBadURL = errors.New("forwardauth: not an acceptable absolute http(s) URL")

// maxURL bounds the URLs read from headers and from rd.
const maxURL = 4096

// CanonicalHost returns the registered form of host ("name" or
// "name:port"): lower-case ASCII (IDNA, so "Wiki.Example.TEST" and
// "wïki.example" have one spelling), no trailing dot, and no port when the
// port is 80 or 443 (the default ports: a host registered without a port
// means https on 443, or http on 80). It refuses user info, paths,
// wildcards and anything else that is not a host.
func CanonicalHost(host string) (string, error) {
	name, port, err := splitHost(host)
	if err != nil {
		return "", err
	}
	if port == "80" || port == "443" {
		port = ""
	}
	return joinHost(name, port), nil
}

// hostFor returns the canonical host of a URL host for scheme: the port is
// dropped only when it is that scheme's default.
func hostFor(scheme, host string) (string, error) {
	name, port, err := splitHost(host)
	if err != nil {
		return "", err
	}
	if (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
		port = ""
	}
	return joinHost(name, port), nil
}

func joinHost(name, port string) string {
	if strings.Contains(name, ":") {
		name = "[" + name + "]"
	}
	if port == "" {
		return name
	}
	return name + ":" + port
}

// splitHost checks a host[:port] and returns its lower-case ASCII name and
// its port ("" when none).
func splitHost(host string) (name, port string, err error) {
	if host == "" || len(host) > 300 || strings.ContainsAny(host, "@/\\?#%*, \t\r\n") {
		return "", "", errBadURL
	}
	name = host
	if h, p, err := net.SplitHostPort(host); err == nil {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != p {
			return "", "", errBadURL
		}
		name, port = h, p
	} else if strings.HasPrefix(host, "[") || strings.Count(host, ":") > 0 {
		return "", "", errBadURL // a colon without a valid port, or an unclosed IPv6 literal
	}
	if ip := net.ParseIP(name); ip != nil {
		return strings.ToLower(ip.String()), port, nil
	}
	if strings.HasSuffix(name, ".") || strings.HasPrefix(name, ".") {
		return "", "", errBadURL
	}
	ascii, err := idna.Lookup.ToASCII(name)
	if err != nil || ascii == "" {
		return "", "", errBadURL
	}
	return strings.ToLower(ascii), port, nil
}

// A Target is the request a proxy asks about: the URL the browser asked
// for, with its host in canonical form.
type Target struct {
	URL  *url.URL // absolute, re-serialized; the host in canonical ASCII form
	Host string   // the canonical host (CanonicalHost rules, port kept unless the scheme's default)
	Path string   // the path the app will see, decoded and cleaned (NormalizePath)
}

// ParseTarget reads an absolute http or https URL (from X-Original-URL, a
// reassembled X-Forwarded-* triple, or rd). It refuses anything a browser
// or an app might read differently from Go: user info, backslashes,
// control characters or spaces, opaque or scheme-relative forms, and
// paths that cannot be decoded.
func ParseTarget(raw string) (Target, error) {
	if raw == "" || len(raw) > maxURL || strings.ContainsAny(raw, "\\ \t\r\n") || hasControl(raw) {
		return Target{}, errBadURL
	}
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" || u.User != nil || u.Host == "" {
		return Target{}, errBadURL
	}
	u.Scheme = strings.ToLower(u.Scheme)
	if u.Scheme != "http" && u.Scheme != "https" {
		return Target{}, errBadURL
	}
	// The raw text must say scheme://host itself: no "https:/host" or
	// other forms a browser could complete differently.
	if i := strings.Index(raw, "://"); i < 0 || !strings.EqualFold(raw[:i], u.Scheme) {
		return Target{}, errBadURL
	}
	host, err := hostFor(u.Scheme, u.Host)
	if err != nil {
		return Target{}, errBadURL
	}
	p, err := NormalizePath(u.EscapedPath())
	if err != nil {
		return Target{}, err
	}
	if strings.HasPrefix(u.EscapedPath(), "//") {
		return Target{}, errBadURL
	}
	out := &url.URL{Scheme: u.Scheme, Host: host, Path: u.Path, RawPath: u.RawPath, RawQuery: u.RawQuery}
	if out.Path == "" {
		out.Path = "/"
	}
	return Target{URL: out, Host: host, Path: p}, nil
}

// NormalizePath returns the path an app will most likely act on for an
// escaped request path: percent-decoded (once), with "." and ".."
// segments resolved and repeated slashes collapsed, so "/%61dmin",
// "/public/../admin" and "//admin" all match rules for "/admin". A path
// that does not start with "/" or does not decode is refused.
func NormalizePath(escaped string) (string, error) {
	if escaped == "" {
		return "/", nil
	}
	if !strings.HasPrefix(escaped, "/") {
		return "", errBadURL
	}
	p, err := url.PathUnescape(escaped)
	if err != nil || hasControl(p) || strings.Contains(p, "\\") {
		return "", errBadURL
	}
	clean := path.Clean(p)
	if strings.HasSuffix(p, "/") && clean != "/" {
		clean += "/"
	}
	return clean, nil
}

func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return true
		}
	}
	return false
}
