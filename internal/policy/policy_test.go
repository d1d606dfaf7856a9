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
	if e.CanEnroll("carrier_pigeon") {
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

// enforced returns o with a lock that the ancestor by placed on it, fixing
// floor.
func enforced(o store.Org, by string, floor store.LockFloor) store.Org {
	o.Policy.Locked = true
	o.Policy.Lock = store.Lock{Scope: store.LockEnforced, OrgID: by, Floor: floor}
	return o
}

func TestALockEnforcedFromAboveBindsTheOrgItself(t *testing.T) {
	reqFloor := store.LockFloor{MFA: req, AllowedMethods: []string{"totp", "email"}}
	for _, tc := range []struct {
		name        string
		chain       []store.Org
		wantMFA     store.MFAMode
		wantLocker  string
		wantFloor   store.MFAMode
		wantMethods []string
	}{
		{"the org's own weaker setting gives way",
			[]store.Org{org("root", opt, false), org("reseller", opt, false), enforced(org("acme", off, false), "reseller", reqFloor)},
			req, "reseller", req, []string{"totp", "email"}},
		{"the floor is the recorded one, not the parent's current setting",
			[]store.Org{org("root", opt, false), org("reseller", off, false), enforced(org("acme", inh, false), "reseller", reqFloor)},
			req, "reseller", req, []string{"totp", "email"}},
		{"the org may be stricter",
			[]store.Org{org("root", opt, false), enforced(org("acme", req, false, "totp"), "root", store.LockFloor{MFA: opt, AllowedMethods: AllMethods})},
			req, "root", opt, []string{"totp"}},
		{"it binds the descendants too",
			[]store.Org{org("root", opt, false), org("reseller", opt, false), enforced(org("acme", req, false), "reseller", reqFloor), org("dept", off, false, "sms", "totp")},
			req, "reseller", req, []string{"totp"}},
		{"an own lock still binds only the descendants",
			[]store.Org{org("root", opt, false), func() store.Org {
				o := org("acme", off, true)
				o.Policy.Lock = store.Lock{Scope: store.LockDescendants, OrgID: "root"}
				return o
			}()},
			off, "", "", AllMethods},
		{"an enforcer missing from the chain is reported as the org itself",
			[]store.Org{org("root", opt, false), enforced(org("acme", off, false), "gone", reqFloor)},
			req, "acme", req, []string{"totp", "email"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := ForOrg(tc.chain)
			if e.MFA != tc.wantMFA || slugOf(e.MFALockedBy) != tc.wantLocker || e.MFAFloor != tc.wantFloor {
				t.Errorf("MFA %q locked by %q floor %q, want %q locked by %q floor %q", e.MFA, slugOf(e.MFALockedBy), e.MFAFloor,
					tc.wantMFA, tc.wantLocker, tc.wantFloor)
			}
			if !slices.Equal(e.AllowedMethods, tc.wantMethods) {
				t.Errorf("AllowedMethods = %v, want %v", e.AllowedMethods, tc.wantMethods)
			}
		})
	}
}

func TestALockThatFixesRequiredCapsTheGracePeriodBelowIt(t *testing.T) {
	reseller := org("reseller", req, true)
	reseller.Policy.EnrollmentGrace = 24 * time.Hour
	acme := org("acme", inh, false)
	acme.Policy.EnrollmentGrace = 90 * 24 * time.Hour
	e := ForOrg([]store.Org{org("root", opt, false), reseller, acme})
	if e.Grace != 24*time.Hour || slugOf(e.GraceLockedBy) != "reseller" || e.GraceCeiling != 24*time.Hour {
		t.Errorf("Grace %s ceiling %s by %q, want 24h by reseller", e.Grace, e.GraceCeiling, slugOf(e.GraceLockedBy))
	}
	// No grace at the lock: setup at the next sign-in, below it too.
	reseller.Policy.EnrollmentGrace = 0
	if e := ForOrg([]store.Org{org("root", opt, false), reseller, acme}); e.Grace != 0 {
		t.Errorf("Grace = %s below a required lock without grace, want 0", e.Grace)
	}
	// A lock that fixes only "optional" leaves the grace period alone.
	loose := org("reseller", opt, true)
	acme.Policy.MFA = req
	if e := ForOrg([]store.Org{org("root", opt, false), loose, acme}); e.Grace != 90*24*time.Hour || e.GraceLockedBy != nil {
		t.Errorf("Grace = %s (by %q) below an optional lock, want the org's own 90 days", e.Grace, slugOf(e.GraceLockedBy))
	}
	// An enforced floor caps the org itself.
	own := enforced(acme, "root", store.LockFloor{MFA: req, AllowedMethods: AllMethods, EnrollmentGrace: time.Hour, RequireMFAForNewDirectoryUsers: true})
	e = ForOrg([]store.Org{org("root", opt, false), own})
	if e.Grace != time.Hour || !e.RequireMFAForNewDirectoryUsers {
		t.Errorf("under an enforced floor: Grace %s, directory %v; want 1h and true", e.Grace, e.RequireMFAForNewDirectoryUsers)
	}
}

func TestWeaker(t *testing.T) {
	base := Effective{MFA: req, AllowedMethods: []string{"totp"}, Grace: time.Hour, OTPCodeTTL: 90 * time.Second,
		RequireMFAForNewDirectoryUsers: true, MFAFloor: opt, MethodsCeiling: []string{"totp", "email"},
		GraceLockedBy: &store.Org{ID: "r"}, GraceCeiling: 2 * time.Hour}
	for _, tc := range []struct {
		name   string
		change func(e *Effective)
		weaker bool
	}{
		{"nothing changes", func(e *Effective) {}, false},
		{"a lower mode", func(e *Effective) { e.MFA = opt }, true},
		{"a stronger floor", func(e *Effective) { e.MFAFloor = req }, false},
		{"a floor lifted", func(e *Effective) { e.MFAFloor = "" }, true},
		{"a method more", func(e *Effective) { e.AllowedMethods = []string{"totp", "sms"} }, true},
		{"a method fewer", func(e *Effective) { e.AllowedMethods = []string{} }, false},
		{"a ceiling lifted", func(e *Effective) { e.MethodsCeiling = nil }, true},
		{"a ceiling widened", func(e *Effective) { e.MethodsCeiling = AllMethods }, true},
		{"a ceiling narrowed", func(e *Effective) { e.MethodsCeiling = []string{"totp"} }, false},
		{"a longer grace period", func(e *Effective) { e.Grace = 2 * time.Hour }, true},
		{"a shorter grace period", func(e *Effective) { e.Grace = 0 }, false},
		{"a grace ceiling lifted", func(e *Effective) { e.GraceLockedBy = nil }, true},
		{"a longer grace ceiling", func(e *Effective) { e.GraceCeiling = 3 * time.Hour }, true},
		{"a longer code lifetime", func(e *Effective) { e.OTPCodeTTL = 2 * time.Minute }, true},
		{"a shorter code lifetime", func(e *Effective) { e.OTPCodeTTL = time.Minute }, false},
		{"directory users no longer required", func(e *Effective) { e.RequireMFAForNewDirectoryUsers = false }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			after := base
			after.AllowedMethods = slices.Clone(base.AllowedMethods)
			tc.change(&after)
			if got := Weaker(base, after); got != tc.weaker {
				t.Errorf("Weaker = %v, want %v", got, tc.weaker)
			}
		})
	}
	if Weaker(Effective{MFA: off, AllowedMethods: AllMethods}, Effective{MFA: req, AllowedMethods: AllMethods}) {
		t.Error("off to required counts as weaker")
	}
}
