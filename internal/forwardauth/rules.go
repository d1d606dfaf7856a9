package forwardauth

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/twofold-id/twofold/internal/signin"
	"github.com/twofold-id/twofold/internal/store"
)

// Limits of a proxy client's registration.
const (
	MaxHosts  = 20
	MaxRules  = 50
	maxPrefix = 512
	// MaxRuleAge bounds a rule's max_age: a second factor older than a
	// day is not "fresh" in any useful sense.
	MaxRuleAge = 24 * time.Hour
)

// A RuleInput is a rule as an admin writes it: max_age is a Go duration
// ("5m", "1h30m") or empty.
type RuleInput struct {
	PathPrefix string
	ACR        string
	MaxAge     string
}

// A RuleError says which rule (or host) is wrong and why; its message is
// safe to show.
type RuleError struct {
	Field string // "hosts" or "rules"
	Msg   string
}

func (e *RuleError) Error() string { return e.Msg }

// CleanRules checks a proxy client's rules: at least one; each path prefix
// starts with "/" and is stored in its normalized form (NormalizePath, so
// "/admin/../x" cannot hide a rule); acr is pwd, mfa or phr; max_age is a
// positive duration of at most MaxRuleAge, and only with mfa or phr (it
// bounds the age of the second factor). Two rules for the same prefix are
// refused: the longest-prefix match must be unambiguous.
func CleanRules(in []RuleInput) ([]store.ProxyRule, error) {
	bad := func(i int, msg string) error {
		return &RuleError{Field: "rules", Msg: fmt.Sprintf("Rule %d: %s", i+1, msg)}
	}
	if len(in) == 0 {
		return nil, &RuleError{Field: "rules", Msg: "A protected app needs at least one rule, for example {\"path_prefix\":\"/\",\"acr\":\"mfa\"}."}
	}
	if len(in) > MaxRules {
		return nil, &RuleError{Field: "rules", Msg: fmt.Sprintf("At most %d rules.", MaxRules)}
	}
	out := make([]store.ProxyRule, 0, len(in))
	for i, r := range in {
		if len(r.PathPrefix) > maxPrefix || !strings.HasPrefix(r.PathPrefix, "/") || strings.ContainsAny(r.PathPrefix, "?#*") {
			return nil, bad(i, "path_prefix must start with / and hold no ?, # or *.")
		}
		prefix, err := NormalizePath(r.PathPrefix)
		if err != nil {
			return nil, bad(i, "path_prefix is not a valid path.")
		}
		if !slices.Contains(signin.ACRLevels, r.ACR) {
			return nil, bad(i, "acr must be pwd, mfa or phr.")
		}
		rule := store.ProxyRule{PathPrefix: prefix, ACR: r.ACR}
		if r.MaxAge != "" {
			d, err := time.ParseDuration(r.MaxAge)
			if err != nil || d <= 0 || d > MaxRuleAge {
				return nil, bad(i, "max_age must be a duration such as 5m or 1h, at most 24h.")
			}
			if r.ACR == signin.ACRPassword {
				return nil, bad(i, "max_age bounds the age of the second factor; use it with acr mfa or phr.")
			}
			rule.MaxAge = d
		}
		if slices.ContainsFunc(out, func(o store.ProxyRule) bool { return o.PathPrefix == prefix }) {
			return nil, bad(i, "another rule has the same path_prefix.")
		}
		out = append(out, rule)
	}
	return out, nil
}

// CleanHosts checks a proxy client's hosts and returns them in canonical
// form (CanonicalHost), without duplicates. At least one is required.
func CleanHosts(hosts []string) ([]string, error) {
	if len(hosts) == 0 {
		return nil, &RuleError{Field: "hosts", Msg: "A protected app needs at least one host, such as wiki.example.com."}
	}
	if len(hosts) > MaxHosts {
		return nil, &RuleError{Field: "hosts", Msg: fmt.Sprintf("At most %d hosts.", MaxHosts)}
	}
	out := []string{}
	for _, h := range hosts {
		c, err := CanonicalHost(strings.TrimSpace(h))
		if err != nil {
			return nil, &RuleError{Field: "hosts", Msg: fmt.Sprintf("%q is not a host name (with an optional :port); no scheme, path or wildcard.", h)}
		}
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out, nil
}

// Match returns the rule whose path prefix is the longest one that p (a
// NormalizePath result) falls under, or false when none does. A prefix
// covers a path at segment boundaries: "/admin" covers "/admin" and
// "/admin/users", not "/administrator"; a prefix ending in "/" covers
// everything below it.
func Match(rules []store.ProxyRule, p string) (store.ProxyRule, bool) {
	best, found := store.ProxyRule{}, false
	for _, r := range rules {
		if covers(r.PathPrefix, p) && (!found || len(r.PathPrefix) > len(best.PathPrefix)) {
			best, found = r, true
		}
	}
	return best, found
}

func covers(prefix, p string) bool {
	if !strings.HasPrefix(p, prefix) {
		return false
	}
	return strings.HasSuffix(prefix, "/") || len(p) == len(prefix) || p[len(prefix)] == '/'
}

// IsRuleError reports whether err is a registration error of this package.
func IsRuleError(err error) (*RuleError, bool) {
	var re *RuleError
	ok := errors.As(err, &re)
	return re, ok
}
