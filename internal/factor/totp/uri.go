package totp

import (
	"net/url"
	"strings"
)

// labelColon replaces colons inside the issuer or account part of a key URI
// label. See URI.
const labelColon = "\uFF1A" // FULLWIDTH COLON

// URI returns the key URI that enrolls secret in an authenticator app, in the
// format Google Authenticator defines
// (https://github.com/google/google-authenticator/wiki/Key-Uri-Format):
//
//	otpauth://totp/Issuer:account?secret=…&issuer=Issuer&algorithm=SHA1&digits=6&period=30
//
// The issuer appears both as the label prefix (for older apps) and as the
// issuer parameter (which current apps prefer). Both label parts are
// percent-encoded as path text (a space becomes %20, never "+", and non-ASCII
// text is UTF-8 percent-encoded); the colon separating them is literal.
// Parameters are percent-encoded with %20 for spaces, because some apps do not
// decode "+".
//
// The format forbids a colon inside either label part, and apps split the
// decoded label at its first colon, so a colon inside issuer or account is
// shown in the label as U+FF1A FULLWIDTH COLON; the issuer parameter carries
// the issuer unchanged. An empty issuer leaves out both the label prefix and
// the issuer parameter.
//
// The parameters are this package's only supported combination (SHA1, 6
// digits, 30 seconds): the one every authenticator app honours. A secret for
// a Verifier with other settings needs its own URI.
func URI(issuer, account string, secret []byte) string {
	var b strings.Builder
	b.WriteString("otpauth://totp/")
	if issuer != "" {
		b.WriteString(labelPart(issuer))
		b.WriteByte(':')
	}
	b.WriteString(labelPart(account))
	b.WriteString("?secret=")
	b.WriteString(EncodeSecret(secret))
	if issuer != "" {
		b.WriteString("&issuer=")
		b.WriteString(queryEscape(issuer))
	}
	b.WriteString("&algorithm=SHA1&digits=6&period=30")
	return b.String()
}

// labelPart escapes one part of the label.
func labelPart(s string) string {
	s = strings.ReplaceAll(s, ":", labelColon)
	// PathEscape escapes "/", "?", "#", "%", spaces and every non-ASCII
	// byte; it keeps "@" (as in Google's examples) and "+", which decoders
	// written for form data would read as a space, so "+" is escaped here.
	return strings.ReplaceAll(url.PathEscape(s), "+", "%2B")
}

// queryEscape escapes a parameter value, writing spaces as %20. QueryEscape
// writes a literal "+" as %2B, so every "+" in its output is a space.
func queryEscape(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}
