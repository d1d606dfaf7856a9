package policy

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/twofold-id/twofold/internal/store"
)

func org(slug string, mfa store.MFAMode, locked bool, methods ...string) store.Org {
	o := store.Org{ID: slug, Slug: slug, Name: slug, Policy: store.OrgPolicy{MFA: mfa, Locked: locked}}
	if methods != nil {
		o.Policy.AllowedMethods = methods
	}
	return o
}

const (
	inh = store.MFAInherit
	off = store.MFAOff
	opt = store.MFAOptional
	req = store.MFARequired
)

func TestForOrg(t *testing.T) {
	for _, tc := range []struct {
		name        string
		chain       []store.Org
		wantMFA     store.MFAMode
		wantLocker  string // slug of MFALockedBy, "" for none
		wantMethods []string
		wantMLocker string
	}{
		{"no orgs means optional with every method", nil, opt, "", AllMethods, ""},
		{"an unset root is optional", []store.Org{org("root", inh, false)}, opt, "", AllMethods, ""},
		{"a child inherits its parent's setting", []store.Org{org("root", req, false), org("acme", inh, false)}, req, "", AllMethods, ""},
		{"an unlocked parent can be weakened", []store.Org{org("root", req, false), org("acme", opt, false)}, opt, "", AllMethods, ""},
		{"a locked parent cannot be weakened", []store.Org{org("root", req, true), org("acme", off, false)}, req, "root", AllMethods, "root"},
		{"a lock reaches through inheriting levels", []store.Org{org("root", opt, false), org("reseller", req, true), org("customer", inh, false), org("dept", off, false)}, req, "reseller", AllMethods, "reseller"},
		{"a lock holds against a weaker middle level", []store.Org{org("root", opt, false), org("reseller", req, true), org("customer", opt, false), org("dept", inh, false)}, req, "reseller", AllMethods, "reseller"},
		{"a locked floor can be strengthened", []store.Org{org("root", opt, true), org("acme", req, false)}, req, "root", AllMethods, "root"},
		{"a locked floor stops off below it", []store.Org{org("root", opt, true), org("acme", off, false)}, opt, "root", AllMethods, "root"},
		{"the strongest of several locks applies", []store.Org{org("root", opt, true), org("reseller", req, true), org("dept", off, false)}, req, "reseller", AllMethods, "reseller"},
		{"a weaker lock below a stronger one changes nothing", []store.Org{org("root", req, true), org("reseller", opt, true), org("dept", off, false)}, req, "root", AllMethods, "reseller"},
		{"a lock on the org itself binds only its descendants", []store.Org{org("root", opt, false), org("acme", off, true)}, off, "", AllMethods, ""},
		{"the nearest methods list decides when nothing is locked", []store.Org{org("root", inh, false, "totp"), org("acme", inh, false, "totp", "email")}, opt, "", []string{"totp", "email"}, ""},
		{"a locked methods list is a ceiling", []store.Org{org("root", inh, true, "totp", "email"), org("acme", inh, false, "totp", "sms")}, opt, "root", []string{"totp"}, "root"},
		{"an inheriting child keeps the locked list", []store.Org{org("root", inh, true, "totp"), org("acme", inh, false)}, opt, "root", []string{"totp"}, "root"},
		{"several locked lists intersect", []store.Org{org("root", inh, true, "totp", "email"), org("mid", inh, true, "email", "sms"), org("leaf", inh, false, "totp", "email", "sms")}, opt, "root", []string{"email"}, "mid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := ForOrg(tc.chain)
			if e.MFA != tc.wantMFA {
				t.Errorf("MFA = %q, want %q", e.MFA, tc.wantMFA)
			}
			if got := slugOf(e.MFALockedBy); got != tc.wantLocker {
				t.Errorf("MFALockedBy = %q, want %q", got, tc.wantLocker)
			}
			if !slices.Equal(e.AllowedMethods, tc.wantMethods) {
				t.Errorf("AllowedMethods = %v, want %v", e.AllowedMethods, tc.wantMethods)
			}
			if got := slugOf(e.MethodsLockedBy); got != tc.wantMLocker {
				t.Errorf("MethodsLockedBy = %q, want %q", got, tc.wantMLocker)
			}
			if e.Required != (tc.wantMFA == req) {
				t.Errorf("Required = %v with MFA %q", e.Required, e.MFA)
			}
		})
	}
}

func slugOf(o *store.Org) string {
	if o == nil {
		return ""
	}
	return o.Slug
}

// TestEveryCombinationOfTwoLevels checks the invariant behind S2 for every
// combination of parent and child settings: the effective mode is never
// weaker than a locked parent's, and equals the child's own setting
// otherwise (or the parent's when the child inherits).
func TestEveryCombinationOfTwoLevels(t *testing.T) {
	modes := []store.MFAMode{inh, off, opt, req}
	for _, pm := range modes {
		for _, plock := range []bool{false, true} {
			for _, cm := range modes {
				for _, clock := range []bool{false, true} {
					for _, userReq := range []bool{false, true} {
						chain := []store.Org{org("p", pm, plock), org("c", cm, clock)}
						e := ForUser(chain, store.User{MFARequired: userReq})
						parentEff := ForOrg(chain[:1]).MFA
						want := cm
						if cm == inh {
							want = parentEff
						}
						if plock && Rank(want) < Rank(parentEff) {
							want = parentEff
						}
						name := fmt.Sprintf("parent=%q locked=%v child=%q locked=%v user=%v", pm, plock, cm, clock, userReq)
						if e.MFA != want {
							t.Errorf("%s: MFA = %q, want %q", name, e.MFA, want)
						}
						if e.Required != (want == req || userReq) {
							t.Errorf("%s: Required = %v", name, e.Required)
						}
						if e.CanDisable() == e.Required {
							t.Errorf("%s: CanDisable = %v with Required = %v", name, e.CanDisable(), e.Required)
						}
						if got, wantEnroll := e.CanEnroll("totp"), want != off || userReq; got != wantEnroll {
							t.Errorf("%s: CanEnroll(totp) = %v, want %v", name, got, wantEnroll)
						}
					}
				}
			}
		}
	}
}

func TestUserFlagRequiresMFAEvenWhereTheOrgIsOff(t *testing.T) {
	e := ForUser([]store.Org{org("root", off, false)}, store.User{MFARequired: true})
	if !e.Required || !e.CanEnroll("totp") || e.CanDisable() {
		t.Fatalf("Required=%v CanEnroll=%v CanDisable=%v", e.Required, e.CanEnroll("totp"), e.CanDisable())
	}
	if e.CanEnroll("webauthn") {
		t.Fatal("a method outside the allowed list can be enrolled")
	}
}

func TestDurationsInheritAndAreCapped(t *testing.T) {
	root := org("root", opt, false)
	root.Policy.EnrollmentGrace = 72 * time.Hour
	root.Policy.OTPCodeTTL = 5 * time.Minute
	child := org("acme", inh, false)
	child.Policy.OTPCodeTTL = time.Hour
	e := ForOrg([]store.Org{root, child})
	if e.Grace != 72*time.Hour {
		t.Errorf("Grace = %s, want inherited 72h", e.Grace)
	}
	if e.OTPCodeTTL != MaxOTPCodeTTL {
		t.Errorf("OTPCodeTTL = %s, want the 10m ceiling", e.OTPCodeTTL)
	}
	if d := ForOrg(nil).OTPCodeTTL; d != DefaultOTPCodeTTL {
		t.Errorf("default OTPCodeTTL = %s", d)
	}
}

// BenchmarkForOrgSixLevels measures policy resolution for a six-level
// chain with locks, which runs on every sign-in.
func BenchmarkForOrgSixLevels(b *testing.B) {
	chain := []store.Org{org("root", opt, false, "totp", "email", "sms"), org("reseller", req, true), org("customer", inh, false, "totp", "email"),
		org("region", inh, true), org("dept", opt, false), org("team", inh, false)}
	u := store.User{MFARequired: true}
	for b.Loop() {
		ForUser(chain, u)
	}
}
