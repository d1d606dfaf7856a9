package password

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

func newTestHasher(t testing.TB, maxConcurrent int) *Hasher {
	t.Helper()
	return NewHasher(TestParams(), maxConcurrent)
}

var phcPattern = regexp.MustCompile(`^\$argon2id\$v=19\$m=8,t=1,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)

func TestHashVerifyRoundTrip(t *testing.T) {
	ctx := t.Context()
	h := newTestHasher(t, 0)
	for _, pw := range []string{"correct horse battery staple", "пароль-пароль", strings.Repeat("x", MaxBytes), ""} {
		enc, err := h.Hash(ctx, pw)
		if err != nil {
			t.Fatal(err)
		}
		if !phcPattern.MatchString(enc) {
			t.Fatalf("Hash = %q; not a PHC string with h's parameters", enc)
		}
		ok, rehash, err := h.Verify(ctx, pw, enc)
		if !ok || rehash || err != nil {
			t.Fatalf("Verify(right password) = %v, %v, %v; want true, false, nil", ok, rehash, err)
		}
		again, _ := h.Hash(ctx, pw)
		if again == enc {
			t.Fatal("two hashes of one password are equal: salt not random")
		}
	}
}

func TestVerifyWrongPassword(t *testing.T) {
	ctx := t.Context()
	h := newTestHasher(t, 0)
	enc, _ := h.Hash(ctx, "correct horse battery staple")
	for _, pw := range []string{"", "correct horse battery stapl", "Correct horse battery staple", "correct horse battery staple "} {
		ok, rehash, err := h.Verify(ctx, pw, enc)
		if ok || rehash || err != nil {
			t.Errorf("Verify(%q) = %v, %v, %v; want false, false, nil", pw, ok, rehash, err)
		}
	}
}

func TestVerifyNormalizesNFKC(t *testing.T) {
	ctx := t.Context()
	h := newTestHasher(t, 0)
	enc, _ := h.Hash(ctx, "caf\u00e9-au-lait") // precomposed é
	for _, pw := range []string{"cafe\u0301-au-lait", "ｃａｆ\u00e9-au-lait"} {
		if ok, _, err := h.Verify(ctx, pw, enc); !ok || err != nil {
			t.Errorf("Verify(%q) = %v, %v; want the NFKC-equal password to match", pw, ok, err)
		}
	}
}

// TestVerifyReferenceVectors checks interoperability with hashes made by the
// argon2 reference implementation (phc-winner-argon2, src/test.c).
func TestVerifyReferenceVectors(t *testing.T) {
	ctx := t.Context()
	h := newTestHasher(t, 0)
	for _, enc := range []string{
		"$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
		"$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
	} {
		ok, rehash, err := h.Verify(ctx, "password", enc)
		if !ok || !rehash || err != nil {
			t.Errorf("Verify(reference %s) = %v, %v, %v; want true, true (other params), nil", enc, ok, rehash, err)
		}
		if ok, _, _ := h.Verify(ctx, "passwore", enc); ok {
			t.Errorf("Verify(reference %s) accepted a wrong password", enc)
		}
	}
}

func TestVerifyBcryptImport(t *testing.T) {
	ctx := t.Context()
	h := newTestHasher(t, 0)
	pw := "imported password"
	raw, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	for _, prefix := range []string{"$2a$", "$2b$", "$2y$"} {
		enc := prefix + string(raw[4:])
		ok, rehash, err := h.Verify(ctx, pw, enc)
		if !ok || !rehash || err != nil {
			t.Errorf("Verify(%s hash) = %v, %v, %v; want true, true, nil", prefix, ok, rehash, err)
		}
		ok, rehash, err = h.Verify(ctx, "wrong password", enc)
		if ok || rehash || err != nil {
			t.Errorf("Verify(%s hash, wrong) = %v, %v, %v; want false, false, nil", prefix, ok, rehash, err)
		}
	}

	// bcrypt uses only the first 72 bytes; an imported user whose old system
	// truncated silently still signs in with the whole password.
	long := strings.Repeat("0123456789", 8) // 80 bytes
	raw, _ = bcrypt.GenerateFromPassword([]byte(long[:72]), bcrypt.MinCost)
	if ok, _, err := h.Verify(ctx, long, string(raw)); !ok || err != nil {
		t.Errorf("Verify(80-byte password, bcrypt of its first 72) = %v, %v; want true", ok, err)
	}

	// After the rehash the user has an argon2id hash that needs nothing more.
	enc, _ := h.Hash(ctx, pw)
	if ok, rehash, _ := h.Verify(ctx, pw, enc); !ok || rehash {
		t.Errorf("Verify(rehashed) = %v, %v; want true, false", ok, rehash)
	}
}

func TestVerifyParamChangeNeedsRehash(t *testing.T) {
	ctx := t.Context()
	old := newTestHasher(t, 0)
	enc, _ := old.Hash(ctx, "a fine password")
	for name, change := range map[string]func(*Params){
		"memory":      func(p *Params) { p.Memory = 16 },
		"time":        func(p *Params) { p.Time = 2 },
		"threads":     func(p *Params) { p.Threads = 2; p.Memory = 16 },
		"key length":  func(p *Params) { p.KeyLen = 64 },
		"salt length": func(p *Params) { p.SaltLen = 32 },
	} {
		t.Run(name, func(t *testing.T) {
			p := TestParams()
			change(&p)
			h := NewHasher(p, 0)
			ok, rehash, err := h.Verify(ctx, "a fine password", enc)
			if !ok || !rehash || err != nil {
				t.Fatalf("Verify with changed %s = %v, %v, %v; want true, true, nil", name, ok, rehash, err)
			}
			if ok, rehash, _ := h.Verify(ctx, "a wrong password", enc); ok || rehash {
				t.Fatalf("Verify(wrong) = %v, %v; want false, false", ok, rehash)
			}
			fresh, _ := h.Hash(ctx, "a fine password")
			if ok, rehash, _ := h.Verify(ctx, "a fine password", fresh); !ok || rehash {
				t.Fatalf("Verify(fresh hash) = %v, %v; want true, false", ok, rehash)
			}
		})
	}
}

func TestVerifyMalformed(t *testing.T) {
	ctx := t.Context()
	h := newTestHasher(t, 0)
	good, _ := h.Hash(ctx, "password")
	fields := strings.Split(good, "$") // "", argon2id, v=19, m=8,t=1,p=1, salt, key
	salt, key := fields[4], fields[5]
	argon := func(v, params, s, k string) string { return "$argon2id$" + v + "$" + params + "$" + s + "$" + k }
	bc, _ := bcrypt.GenerateFromPassword([]byte("password"), bcrypt.MinCost)
	bcs := string(bc)

	tests := []struct{ name, enc string }{
		{"empty", ""},
		{"plain text", "password"},
		{"only dollars", "$$$$$"},
		{"argon2i", "$argon2i$v=19$m=8,t=1,p=1$" + salt + "$" + key},
		{"argon2d", "$argon2d$v=19$m=8,t=1,p=1$" + salt + "$" + key},
		{"upper-case algorithm", "$ARGON2ID$v=19$m=8,t=1,p=1$" + salt + "$" + key},
		{"version 16", argon("v=16", "m=8,t=1,p=1", salt, key)},
		{"missing version", "$argon2id$m=8,t=1,p=1$" + salt + "$" + key},
		{"missing key", "$argon2id$v=19$m=8,t=1,p=1$" + salt},
		{"extra field", good + "$x"},
		{"trailing newline", good + "\n"},
		{"no leading dollar", good[1:]},
		{"params out of order", argon("v=19", "t=1,m=8,p=1", salt, key)},
		{"missing param", argon("v=19", "m=8,t=1", salt, key)},
		{"extra param", argon("v=19", "m=8,t=1,p=1,keyid=x", salt, key)},
		{"empty param", argon("v=19", "m=,t=1,p=1", salt, key)},
		{"plus sign", argon("v=19", "m=+8,t=1,p=1", salt, key)},
		{"leading zero", argon("v=19", "m=08,t=1,p=1", salt, key)},
		{"negative", argon("v=19", "m=-8,t=1,p=1", salt, key)},
		{"memory zero", argon("v=19", "m=0,t=1,p=1", salt, key)},
		{"memory below 8 per thread", argon("v=19", "m=15,t=1,p=2", salt, key)},
		{"memory above 256 MiB", argon("v=19", "m=262145,t=1,p=1", salt, key)},
		{"memory overflows uint32", argon("v=19", "m=4294967296,t=1,p=1", salt, key)},
		{"time zero", argon("v=19", "m=8,t=0,p=1", salt, key)},
		{"time above 32", argon("v=19", "m=8,t=33,p=1", salt, key)},
		{"threads zero", argon("v=19", "m=8,t=1,p=0", salt, key)},
		{"threads above 255", argon("v=19", "m=4096,t=1,p=256", salt, key)},
		{"salt not base64", argon("v=19", "m=8,t=1,p=1", "!!!!", key)},
		{"salt padded", argon("v=19", "m=8,t=1,p=1", salt+"==", key)},
		{"salt too short", argon("v=19", "m=8,t=1,p=1", "c2FsdA", key)},
		{"salt empty", argon("v=19", "m=8,t=1,p=1", "", key)},
		{"key too short", argon("v=19", "m=8,t=1,p=1", salt, "c2hvcnQ")},
		{"key not base64", argon("v=19", "m=8,t=1,p=1", salt, strings.Repeat("*", 43))},
		{"key with non-canonical last char", argon("v=19", "m=8,t=1,p=1", salt, key[:42]+"B")},
		{"key url-safe base64", argon("v=19", "m=8,t=1,p=1", salt, strings.Repeat("_", 43))},
		{"bcrypt truncated", bcs[:59]},
		{"bcrypt too long", bcs + "x"},
		{"bcrypt $2x$", "$2x$" + bcs[4:]},
		{"bcrypt $2$", "$2$" + bcs[4:] + "x"},
		{"bcrypt cost 31", "$2a$31$" + bcs[7:]},
		{"bcrypt cost 15", "$2a$15$" + bcs[7:]},
		{"bcrypt cost 03", "$2a$03$" + bcs[7:]},
		{"bcrypt cost not digits", "$2a$xx$" + bcs[7:]},
		{"bcrypt bad base64", "$2a$04$" + strings.Repeat("!", 53)},
		{"scrypt", "$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E"},
		{"invalid UTF-8", "$argon2id$v=19$m=8,t=1,p=1$\xff\xfe$" + key},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, rehash, err := h.Verify(ctx, "password", tt.enc)
			if ok || rehash || !errors.Is(err, ErrMalformedHash) {
				t.Fatalf("Verify(%q) = %v, %v, %v; want false, false, ErrMalformedHash", tt.enc, ok, rehash, err)
			}
			if strings.Contains(err.Error(), "password\"") {
				t.Fatalf("error mentions the password: %v", err)
			}
		})
	}
}

// gate instruments a Hasher: every computation announces itself on entered
// once it holds a slot, and keeps the slot until the test sends on release.
type gate struct {
	entered, release chan struct{}
	cur, max         atomic.Int32
}

func instrument(h *Hasher) *gate {
	g := &gate{entered: make(chan struct{}), release: make(chan struct{})}
	h.inSlot = func() {
		n := g.cur.Add(1)
		for m := g.max.Load(); n > m && !g.max.CompareAndSwap(m, n); m = g.max.Load() {
		}
		g.entered <- struct{}{}
		<-g.release
		g.cur.Add(-1)
	}
	return g
}

func TestHasherCapsConcurrentComputations(t *testing.T) {
	const limit, callers = 2, 7
	ctx := t.Context()
	h := newTestHasher(t, limit)
	enc, _ := h.Hash(ctx, "password")
	g := instrument(h)

	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			switch i % 3 {
			case 0:
				if _, err := h.Hash(ctx, "password"); err != nil {
					t.Error(err)
				}
			case 1:
				if ok, _, err := h.Verify(ctx, "password", enc); !ok || err != nil {
					t.Error("Verify failed", err)
				}
			case 2:
				h.VerifyDummy(ctx, "password")
			}
		})
	}
	// Let computations in one at a time once the first limit are in: each
	// time, exactly limit hold a slot and every other caller waits.
	for range limit {
		<-g.entered
	}
	for range callers - limit {
		if n := g.cur.Load(); n != limit {
			t.Fatalf("%d computations hold a slot; want %d", n, limit)
		}
		g.release <- struct{}{}
		<-g.entered
	}
	for range limit {
		g.release <- struct{}{}
	}
	wg.Wait()
	if m := g.max.Load(); m != limit {
		t.Fatalf("at most %d computations ran at once; want exactly %d", m, limit)
	}
}

// testGate records what a Gate sees.
type testGate struct {
	h                   *Hasher
	refuse              error
	enteredInSlot, left bool
	leftInSlot, match   bool
}

func (g *testGate) Enter() error {
	g.enteredInSlot = len(g.h.sem) == 1
	return g.refuse
}

func (g *testGate) Leave(match bool) { g.left, g.leftInSlot, g.match = true, len(g.h.sem) == 1, match }

func TestTheGateRunsInsideTheSlotAndCanRefuse(t *testing.T) {
	ctx := t.Context()
	h := newTestHasher(t, 1)
	enc, _ := h.Hash(ctx, "password")
	bc, _ := bcrypt.GenerateFromPassword([]byte("password"), bcrypt.MinCost)
	for _, stored := range []string{enc, string(bc), ""} {
		for _, pw := range []string{"password", "wrong"} {
			g := &testGate{h: h}
			ok, _, err := h.VerifyGated(ctx, pw, stored, g)
			want := stored != "" && pw == "password"
			if err != nil || ok != want || !g.enteredInSlot || !g.left || !g.leftInSlot || g.match != want {
				t.Errorf("VerifyGated(%.10q, %q): ok=%v err=%v, gate %+v", stored, pw, ok, err, *g)
			}
		}
		g := &testGate{h: h, refuse: errors.New("refused")}
		ok, _, err := h.VerifyGated(ctx, "password", stored, g)
		if ok || !errors.Is(err, g.refuse) || g.left {
			t.Errorf("refusing gate: ok=%v err=%v left=%v", ok, err, g.left)
		}
		if len(h.sem) != 0 {
			t.Fatal("a refusing gate kept the slot")
		}
	}
}

func TestQueuedCallerGivesUpWhenContextEnds(t *testing.T) {
	h := newTestHasher(t, 1)
	enc, _ := h.Hash(t.Context(), "password")
	g := instrument(h)

	held := make(chan struct{})
	go func() { // holds the only slot until released
		h.Hash(context.Background(), "password")
		close(held)
	}()
	<-g.entered

	ctx, cancel := context.WithCancel(context.Background())
	errs := make(chan error, 3)
	go func() { _, err := h.Hash(ctx, "password"); errs <- err }()
	go func() { _, _, err := h.Verify(ctx, "password", enc); errs <- err }()
	go func() { h.VerifyDummy(ctx, "password"); errs <- ctx.Err() }()
	cancel()
	for range 3 {
		if err := <-errs; !errors.Is(err, context.Canceled) {
			t.Errorf("queued call returned %v; want context.Canceled", err)
		}
	}
	if n := g.cur.Load(); n != 1 {
		t.Errorf("%d computations hold a slot; want only the first", n)
	}
	g.release <- struct{}{}
	<-held
}

func TestEndedContextNeverComputes(t *testing.T) {
	h := newTestHasher(t, 1)
	enc, _ := h.Hash(t.Context(), "password")
	var computed atomic.Int32
	h.inSlot = func() { computed.Add(1) }
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.Hash(ctx, "password"); !errors.Is(err, context.Canceled) {
		t.Errorf("Hash(ended ctx) = %v; want context.Canceled", err)
	}
	if ok, _, err := h.Verify(ctx, "password", enc); ok || !errors.Is(err, context.Canceled) {
		t.Errorf("Verify(ended ctx) = %v, %v; want false, context.Canceled", ok, err)
	}
	if n := computed.Load(); n != 0 {
		t.Errorf("%d computations ran with an ended context; want 0", n)
	}
}

func TestVerifyDummyCostsOneVerification(t *testing.T) {
	h := newTestHasher(t, 0)
	a, err := parseArgon2id(h.dummy)
	if err != nil {
		t.Fatalf("dummy hash does not parse: %v", err)
	}
	if a.params != h.Params() {
		t.Fatalf("dummy hash params = %+v; want the hasher's %+v, so it costs the same", a.params, h.Params())
	}
	var computed atomic.Int32
	h.inSlot = func() { computed.Add(1) }
	h.VerifyDummy(t.Context(), "password")
	h.VerifyDummy(t.Context(), "")
	if n := computed.Load(); n != 2 {
		t.Fatalf("two VerifyDummy calls ran %d computations; want 2", n)
	}
	if other := newTestHasher(t, 0); other.dummy == h.dummy {
		t.Fatal("two hashers share a dummy hash")
	}
}

func TestValidate(t *testing.T) {
	if err := DefaultParams().validate(false); err != nil {
		t.Errorf("DefaultParams invalid: %v", err)
	}
	if err := TestParams().Validate(); err != nil {
		t.Errorf("TestParams invalid in a test binary: %v", err)
	}
	if err := TestParams().validate(false); err == nil {
		t.Error("TestParams valid outside tests; want an error")
	}
	ok := []Params{
		{Memory: 38 * 1024, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16},
		{Memory: 64 * 1024, Time: 3, Threads: 4, KeyLen: 32, SaltLen: 16},
		{Memory: MaxMemory, Time: MaxTime, Threads: 255, KeyLen: 64, SaltLen: 64},
	}
	for _, p := range ok {
		if err := p.validate(false); err != nil {
			t.Errorf("%+v: %v; want valid", p, err)
		}
	}
	d := DefaultParams()
	bad := map[string]Params{
		"memory below 19 MiB":          {Memory: MinMemory - 1, Time: 4, Threads: 1, KeyLen: 32, SaltLen: 16},
		"19 MiB with one pass":         {Memory: MinMemory, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16},
		"memory above maximum":         {Memory: MaxMemory + 1, Time: 2, Threads: 1, KeyLen: 32, SaltLen: 16},
		"time zero":                    {Memory: d.Memory, Time: 0, Threads: 1, KeyLen: 32, SaltLen: 16},
		"time above maximum":           {Memory: d.Memory, Time: MaxTime + 1, Threads: 1, KeyLen: 32, SaltLen: 16},
		"threads zero":                 {Memory: d.Memory, Time: 2, Threads: 0, KeyLen: 32, SaltLen: 16},
		"key too short":                {Memory: d.Memory, Time: 2, Threads: 1, KeyLen: 15, SaltLen: 16},
		"key too long":                 {Memory: d.Memory, Time: 2, Threads: 1, KeyLen: 65, SaltLen: 16},
		"salt too short":               {Memory: d.Memory, Time: 2, Threads: 1, KeyLen: 32, SaltLen: 8},
		"salt too long":                {Memory: d.Memory, Time: 2, Threads: 1, KeyLen: 32, SaltLen: 65},
		"zero value":                   {},
		"test memory with two threads": {Memory: 8, Time: 1, Threads: 2, KeyLen: 32, SaltLen: 16},
	}
	for name, p := range bad {
		if err := p.validate(false); err == nil {
			t.Errorf("%s: %+v valid; want an error", name, p)
		}
	}
}

func TestNewHasherPanicsOnInvalidParams(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("NewHasher(Params{}) did not panic")
		}
	}()
	NewHasher(Params{}, 1)
}

func FuzzVerify(f *testing.F) {
	h := NewHasher(TestParams(), 0)
	good, _ := h.Hash(context.Background(), "password")
	bc, _ := bcrypt.GenerateFromPassword([]byte("password"), bcrypt.MinCost)
	for _, s := range []string{
		good, string(bc), "",
		"$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
		"$argon2id$v=19$m=8,t=1,p=1$$", "$2y$04$" + string(bc[7:]), "$argon2id$v=19$m=4294967295,t=1,p=1$c29tZXNhbHQ$c29tZXNhbHQ",
	} {
		f.Add("password", s)
	}
	f.Fuzz(func(t *testing.T, password, encoded string) {
		// Verify parses before it computes. Parse first here and skip the
		// computation for costly (but valid) parameters, to keep the fuzzer
		// fast; the parse itself is what this fuzzes.
		if a, err := parseArgon2id(encoded); err == nil {
			if a.params.Memory > 1024 || a.params.Time > 4 || a.params.Threads > 4 {
				return
			}
			if got := encodeArgon2id(a.params, a.salt, a.key); got != encoded {
				t.Fatalf("parse/encode not canonical: %q -> %q", encoded, got)
			}
		} else if strings.HasPrefix(encoded, "$2") {
			if cost, err := bcrypt.Cost([]byte(encoded)); err == nil && cost > 5 {
				return
			}
		}
		ok, rehash, err := h.Verify(context.Background(), password, encoded)
		if err != nil && (ok || rehash || !errors.Is(err, ErrMalformedHash)) {
			t.Fatalf("Verify(%q) = %v, %v, %v; an error must be ErrMalformedHash with false, false", encoded, ok, rehash, err)
		}
		if rehash && !ok {
			t.Fatalf("Verify(%q): needsRehash without a match", encoded)
		}
	})
}

func BenchmarkHashDefault(b *testing.B) {
	h := NewHasher(DefaultParams(), 0)
	ctx := context.Background()
	for b.Loop() {
		if _, err := h.Hash(ctx, "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHashDefaultParallel measures throughput with every core hashing:
// the password-hash bound of sign-ins per second is 1e9 / (ns/op).
func BenchmarkHashDefaultParallel(b *testing.B) {
	h := NewHasher(DefaultParams(), 0)
	ctx := context.Background()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := h.Hash(ctx, "correct horse battery staple"); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkVerifyDefault(b *testing.B) {
	h := NewHasher(DefaultParams(), 0)
	ctx := context.Background()
	enc, _ := h.Hash(ctx, "correct horse battery staple")
	for b.Loop() {
		if ok, _, err := h.Verify(ctx, "correct horse battery staple", enc); !ok || err != nil {
			b.Fatal("Verify failed", err)
		}
	}
}

func TestHasherReportsItsQueueAndWaits(t *testing.T) {
	ctx := t.Context()
	h := newTestHasher(t, 1)
	var waits []time.Duration
	var mu sync.Mutex
	h.OnWait(func(d time.Duration) { mu.Lock(); waits = append(waits, d); mu.Unlock() })
	spans := atomic.Int32{}
	h.OnCompute(func(context.Context) func() { spans.Add(1); return func() {} })
	g := instrument(h)

	var wg sync.WaitGroup
	wg.Go(func() { h.Hash(ctx, "first") })
	<-g.entered // the first holds the only slot
	wg.Go(func() { h.Hash(ctx, "second") })
	for h.Stats().Waiting != 1 {
		time.Sleep(time.Millisecond)
	}
	if s := h.Stats(); s.Running != 1 || s.Capacity != 1 {
		t.Fatalf("Stats = %+v", s)
	}
	time.Sleep(5 * time.Millisecond)
	g.release <- struct{}{}
	<-g.entered
	g.release <- struct{}{}
	wg.Wait()
	if s := h.Stats(); s != (Stats{Capacity: 1}) {
		t.Fatalf("Stats after = %+v", s)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(waits) != 2 || waits[0] != 0 || waits[1] < 5*time.Millisecond {
		t.Fatalf("waits = %v, want [0 ≥5ms]", waits)
	}
	if spans.Load() != 2 {
		t.Fatalf("%d spans, want 2", spans.Load())
	}
}
