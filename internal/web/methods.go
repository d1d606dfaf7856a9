package web

import (
	"github.com/twofold-id/twofold/internal/factor"
	"github.com/twofold-id/twofold/internal/factor/methods"
)

// traitsOf returns the traits of a method kind (zero for an unknown one).
func traitsOf(kind string) factor.Traits {
	t, _ := methods.Default.TraitsOf(kind)
	return t
}

// byEmail reports whether codes of kind are mailed.
func byEmail(kind string) bool { return traitsOf(kind).Channel == factor.ByEmail }

func bySMSTraits(t factor.Traits) bool { return t.Channel == factor.BySMS }

// recoveryKind is the method of backup codes: offered beside the others as
// "use a backup code".
var recoveryKind = methods.Default.Kinds(func(t factor.Traits) bool { return t.Recovery })[0]

// portalMethod reports whether the portal can set up and answer a method:
// every selectable one whose answer is typed. A WebAuthn ceremony needs
// the browser's navigator.credentials, which the portal does not call yet.
func portalMethod(t factor.Traits) bool {
	return factor.Selectable(t) && t.Enrollment != factor.Ceremony
}
