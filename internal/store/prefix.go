package store

import "strings"

// PrefixRange returns the range [lo, hi) of strings in byte order that
// start with prefix lowercased: the stores' index-served prefix search.
// (A string continuing the prefix with U+10FFFF itself falls outside it.)
func PrefixRange(prefix string) (lo, hi string) {
	lo = strings.ToLower(prefix)
	return lo, lo + "\U0010FFFF"
}
