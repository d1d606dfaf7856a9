package totp

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"hash"
	"math"
	"testing"
	"time"
)

// RFC 4226 Appendix D: HOTP values for the ASCII secret
// "12345678901234567890" and counters 0..9.
func TestCodeMatchesRFC4226Vectors(t *testing.T) {
	secret := []byte("12345678901234567890")
	want := []string{
		"755224", "287082", "359152", "969429", "338314",
		"254676", "287922", "162583", "399871", "520489",
	}
	v := Default()
	for count, w := range want {
		if got := v.Code(secret, int64(count)); got != w {
			t.Errorf("HOTP count %d = %s, want %s", count, got, w)
		}
	}
}

// RFC 6238 Appendix B: 8-digit TOTP values, 30-second steps, each algorithm
// with its own seed.
func TestCodeMatchesRFC6238Vectors(t *testing.T) {
	seeds := map[string][]byte{
		"SHA1":   []byte("12345678901234567890"),
		"SHA256": []byte("12345678901234567890123456789012"),
		"SHA512": []byte("1234567890123456789012345678901234567890123456789012345678901234"),
	}
	algs := map[string]func() hash.Hash{"SHA1": sha1.New, "SHA256": sha256.New, "SHA512": sha512.New}
	tests := []struct {
		unix int64
		alg  string
		want string
	}{
		{59, "SHA1", "94287082"},
		{59, "SHA256", "46119246"},
		{59, "SHA512", "90693936"},
		{1111111109, "SHA1", "07081804"},
		{1111111109, "SHA256", "68084774"},
		{1111111109, "SHA512", "25091201"},
		{1111111111, "SHA1", "14050471"},
		{1111111111, "SHA256", "67062674"},
		{1111111111, "SHA512", "99943326"},
		{1234567890, "SHA1", "89005924"},
		{1234567890, "SHA256", "91819424"},
		{1234567890, "SHA512", "93441116"},
		{2000000000, "SHA1", "69279037"},
		{2000000000, "SHA256", "90698825"},
		{2000000000, "SHA512", "38618901"},
		{20000000000, "SHA1", "65353130"},
		{20000000000, "SHA256", "77737706"},
		{20000000000, "SHA512", "47863826"},
	}
	for _, tt := range tests {
		v := Verifier{Period: 30, Digits: 8, Skew: 1, Algorithm: algs[tt.alg]}
		now := time.Unix(tt.unix, 0)
		step := v.Step(now)
		if got := v.Code(seeds[tt.alg], step); got != tt.want {
			t.Errorf("%s at %d: Code = %s, want %s", tt.alg, tt.unix, got, tt.want)
		}
		got, ok := v.Match(seeds[tt.alg], tt.want, now, math.MinInt64)
		if !ok || got != step {
			t.Errorf("%s at %d: Match = (%d, %v), want (%d, true)", tt.alg, tt.unix, got, ok, step)
		}
	}
}

func TestStep(t *testing.T) {
	v := Default()
	tests := []struct {
		unix int64
		want int64
	}{
		{0, 0}, {29, 0}, {30, 1}, {59, 1}, {1111111109, 37037036}, {-1, -1}, {-30, -1}, {-31, -2},
	}
	for _, tt := range tests {
		if got := v.Step(time.Unix(tt.unix, 0)); got != tt.want {
			t.Errorf("Step(%d) = %d, want %d", tt.unix, got, tt.want)
		}
	}
}

func TestZeroFieldsMeanDefaults(t *testing.T) {
	secret := []byte("12345678901234567890")
	if got, want := (Verifier{}).Code(secret, 1), Default().Code(secret, 1); got != want {
		t.Errorf("zero Verifier Code = %s, want %s", got, want)
	}
}

func TestInvalidVerifierNeverMatches(t *testing.T) {
	secret := []byte("12345678901234567890")
	now := time.Unix(1111111109, 0)
	for name, v := range map[string]Verifier{
		"negative period": {Period: -30},
		"negative skew":   {Skew: -1},
		"skew too large":  {Skew: MaxSkew + 1},
		"eleven digits":   {Digits: 11},
		"negative digits": {Digits: -6},
	} {
		if c := v.Code(secret, 1); c != "" {
			t.Errorf("%s: Code = %q, want empty", name, c)
		}
		if _, ok := v.Match(secret, "", now, math.MinInt64); ok {
			t.Errorf("%s: Match accepted an empty code", name)
		}
	}
}

// The ±1 step window accepts codes from the neighbouring steps but not from
// two steps away.
func TestMatchSkewWindow(t *testing.T) {
	secret := []byte("12345678901234567890")
	v := Default()
	now := time.Unix(1111111109, 0)
	cur := v.Step(now)
	tests := []struct {
		name   string
		offset time.Duration
		ok     bool
	}{
		{"now", 0, true},
		{"code of 30 s ago", -30 * time.Second, true},
		{"code of 30 s ahead", 30 * time.Second, true},
		{"code of 60 s ago", -60 * time.Second, false},
		{"code of 60 s ahead", 60 * time.Second, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			codeStep := v.Step(now.Add(tt.offset))
			code := v.Code(secret, codeStep)
			step, ok := v.Match(secret, code, now, math.MinInt64)
			if ok != tt.ok {
				t.Fatalf("Match ok = %v, want %v", ok, tt.ok)
			}
			if ok && step != codeStep {
				t.Errorf("Match step = %d, want %d (current %d)", step, codeStep, cur)
			}
		})
	}
}

func TestMatchRefusesReplay(t *testing.T) {
	secret := []byte("12345678901234567890")
	v := Default()
	now := time.Unix(1234567890, 0)
	cur := v.Step(now)

	step, ok := v.Match(secret, v.Code(secret, cur), now, math.MinInt64)
	if !ok || step != cur {
		t.Fatalf("first use: Match = (%d, %v), want (%d, true)", step, ok, cur)
	}
	if _, ok := v.Match(secret, v.Code(secret, cur), now, step); ok {
		t.Error("the same code matched again after its step was recorded")
	}
	if _, ok := v.Match(secret, v.Code(secret, cur-1), now, step); ok {
		t.Error("the previous step's code matched after a later step was recorded")
	}
	// 30 s later the same code is still inside the window (as step-1).
	if _, ok := v.Match(secret, v.Code(secret, cur), now.Add(30*time.Second), step); ok {
		t.Error("the same code matched again one step later, inside the skew window")
	}
	// A code accepted from the window's future edge blocks the current one.
	ahead, ok := v.Match(secret, v.Code(secret, cur+1), now, math.MinInt64)
	if !ok || ahead != cur+1 {
		t.Fatalf("future code: Match = (%d, %v), want (%d, true)", ahead, ok, cur+1)
	}
	if _, ok := v.Match(secret, v.Code(secret, cur), now, ahead); ok {
		t.Error("the current code matched after the next step's code was accepted")
	}
	// The next step's fresh code is accepted.
	next, ok := v.Match(secret, v.Code(secret, cur+1), now.Add(30*time.Second), step)
	if !ok || next != cur+1 {
		t.Errorf("next step: Match = (%d, %v), want (%d, true)", next, ok, cur+1)
	}
}

func TestMatchRejectsMalformedInput(t *testing.T) {
	secret := []byte("12345678901234567890")
	v := Default()
	now := time.Unix(59, 0)
	good := v.Code(secret, v.Step(now))
	for name, code := range map[string]string{
		"empty":           "",
		"too short":       good[:5],
		"too long":        good + "0",
		"letters":         "abcdef",
		"spaces":          good[:3] + " " + good[3:],
		"full-width":      "７５５２２４",
		"wrong code":      wrongCode(good),
		"eight digit rfc": "94287082",
	} {
		if _, ok := v.Match(secret, code, now, math.MinInt64); ok {
			t.Errorf("%s: Match accepted %q", name, code)
		}
	}
	if _, ok := v.Match(nil, good, now, math.MinInt64); ok {
		t.Error("Match accepted a code for an empty secret")
	}
}

// wrongCode returns a code of the same length that differs in every digit.
func wrongCode(code string) string {
	b := []byte(code)
	for i := range b {
		b[i] = '0' + (b[i]-'0'+5)%10
	}
	return string(b)
}

func FuzzMatch(f *testing.F) {
	f.Add([]byte("12345678901234567890"), "287082", int64(59), int64(0), int64(30), int64(1), 6)
	f.Add([]byte{}, "", int64(-1), int64(math.MinInt64), int64(0), int64(0), 0)
	f.Add([]byte("k"), "0000000000", int64(math.MaxInt64), int64(math.MaxInt64), int64(1), int64(10), 10)
	f.Fuzz(func(t *testing.T, secret []byte, code string, unix, lastStep, period, skew int64, digits int) {
		v := Verifier{Period: period, Digits: digits, Skew: skew}
		now := time.Unix(unix, 0)
		step, ok := v.Match(secret, code, now, lastStep)
		if !ok {
			return
		}
		if step <= lastStep {
			t.Fatalf("matched step %d not after lastStep %d", step, lastStep)
		}
		if got := v.Code(secret, step); got != code {
			t.Fatalf("matched step %d whose code is not the input", step)
		}
	})
}

func BenchmarkMatch(b *testing.B) {
	secret := []byte("12345678901234567890")
	v := Default()
	now := time.Unix(1234567890, 0)
	code := v.Code(secret, v.Step(now)-1)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := v.Match(secret, code, now, 0); !ok {
			b.Fatal("no match")
		}
	}
}
