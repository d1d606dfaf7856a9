package backup

import (
	"errors"
	"regexp"
	"strings"
	"testing"
)

// tiny keeps the tests fast; the code paths are the same as with
// DefaultParams.
var tiny = Params{Memory: 64, Time: 1, Threads: 1}

func generate(t testing.TB) (codes, hashes []string) {
	t.Helper()
	codes, hashes, err := Generate(tiny)
	if err != nil {
		t.Fatal(err)
	}
	return codes, hashes
}

func TestAlphabet(t *testing.T) {
	if len(Alphabet) != 32 {
		t.Fatalf("Alphabet has %d symbols, want 32 (5 bits each)", len(Alphabet))
	}
	seen := map[rune]bool{}
	for _, c := range Alphabet {
		if seen[c] {
			t.Errorf("symbol %q appears twice", c)
		}
		seen[c] = true
		if !strings.ContainsRune("23456789abcdefghijklmnopqrstuvwxyz", c) {
			t.Errorf("symbol %q is not a lowercase letter or digit 2-9", c)
		}
	}
	for _, c := range "01il" {
		if seen[c] {
			t.Errorf("ambiguous symbol %q is in Alphabet", c)
		}
	}
	if EntropyBits < 50 || EntropyBits != Length*5 {
		t.Errorf("EntropyBits = %d, want Length×5 ≥ 50", EntropyBits)
	}
}

func TestDefaultParams(t *testing.T) {
	if p := DefaultParams(); p != (Params{Memory: 19456, Time: 2, Threads: 1}) {
		t.Errorf("DefaultParams = %+v", p)
	}
}

func TestGenerate(t *testing.T) {
	codes, hashes := generate(t)
	if len(codes) != Count || len(hashes) != Count || Count != 10 {
		t.Fatalf("got %d codes and %d hashes, want 10 each", len(codes), len(hashes))
	}
	format := regexp.MustCompile(`^[` + Alphabet + `]{5}-[` + Alphabet + `]{5}$`)
	hashFormat := regexp.MustCompile(`^\$argon2id\$v=19\$m=64,t=1,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
	seen := map[string]bool{}
	for i, c := range codes {
		if !format.MatchString(c) {
			t.Errorf("code %d is not formatted xxxxx-xxxxx", i)
		}
		if seen[c] {
			t.Errorf("code %d repeats an earlier code", i)
		}
		seen[c] = true
		if !hashFormat.MatchString(hashes[i]) {
			t.Errorf("hash %d = %q is not an encoded argon2id hash", i, hashes[i])
		}
		bare := strings.ReplaceAll(c, "-", "")
		for _, h := range hashes {
			l := strings.ToLower(h)
			if strings.Contains(l, bare) || strings.Contains(l, c) ||
				strings.Contains(l, c[:5]) && strings.Contains(l, c[6:]) {
				t.Errorf("code %d appears in a stored hash", i)
			}
		}
	}
}

func TestGenerateRejectsInvalidParams(t *testing.T) {
	for name, p := range map[string]Params{
		"zero":               {},
		"no threads":         {Memory: 64, Time: 1},
		"no passes":          {Memory: 64, Threads: 1},
		"memory below 8×p":   {Memory: 15, Time: 1, Threads: 2},
		"memory above 4 GiB": {Memory: maxMemory + 1, Time: 1, Threads: 1},
		"absurd pass count":  {Memory: 64, Time: maxTime + 1, Threads: 1},
	} {
		if _, _, err := Generate(p); !errors.Is(err, ErrInvalidParams) {
			t.Errorf("%s: Generate err = %v, want ErrInvalidParams", name, err)
		}
	}
}

func TestEachCodeMatchesItsOwnIndex(t *testing.T) {
	codes, hashes := generate(t)
	for i, c := range codes {
		idx, ok, err := Match(c, hashes)
		if err != nil || !ok || idx != i {
			t.Errorf("code %d: Match = (%d, %v, %v), want (%d, true, nil)", i, idx, ok, err, i)
		}
	}
	// Once the caller drops a used code, the others keep their positions
	// in the shorter list.
	idx, ok, err := Match(codes[7], append(hashes[:3:3], hashes[4:]...))
	if err != nil || !ok || idx != 6 {
		t.Errorf("after removing one hash: Match = (%d, %v, %v), want (6, true, nil)", idx, ok, err)
	}
	if _, ok, _ := Match(codes[3], append(hashes[:3:3], hashes[4:]...)); ok {
		t.Error("a removed (used) code still matched")
	}
}

func TestMatchAcceptsTypingVariants(t *testing.T) {
	codes, hashes := generate(t)
	c := codes[4]
	bare := strings.ReplaceAll(c, "-", "")
	for name, in := range map[string]string{
		"as shown":        c,
		"without dash":    bare,
		"uppercase":       strings.ToUpper(c),
		"spaces":          " " + c[:2] + " " + c[2:5] + "  " + c[6:] + " ",
		"space for dash":  c[:5] + " " + c[6:],
		"several dashes":  c[:2] + "-" + c[2:5] + "--" + c[6:],
		"zero for letter": strings.ReplaceAll(c, "o", "0"),
		"tab":             c[:5] + "\t" + c[6:],
	} {
		idx, ok, err := Match(in, hashes)
		if err != nil || !ok || idx != 4 {
			t.Errorf("%s: Match = (%d, %v, %v), want (4, true, nil)", name, idx, ok, err)
		}
	}
}

func TestMatchRejectsWrongCodes(t *testing.T) {
	codes, hashes := generate(t)
	other, _ := generate(t)
	c := codes[0]
	for name, in := range map[string]string{
		"empty":                 "",
		"code of another batch": other[0],
		"one symbol changed":    flip(c),
		"too short":             c[:10],
		"too long":              c + "a",
		"excluded symbol":       "1" + c[1:],
		"non-ASCII":             "ä" + c[2:],
		"full-width digit":      "２" + c[1:],
		"a stored hash":         hashes[0],
	} {
		idx, ok, err := Match(in, hashes)
		if err != nil || ok || idx != -1 {
			t.Errorf("%s: Match = (%d, %v, %v), want (-1, false, nil)", name, idx, ok, err)
		}
	}
	if _, ok, err := Match(c, nil); ok || err != nil {
		t.Errorf("Match against no hashes = (%v, %v), want (false, nil)", ok, err)
	}
}

// flip changes the first symbol of code to the next symbol of Alphabet.
func flip(code string) string {
	i := strings.IndexByte(Alphabet, code[0])
	return string(Alphabet[(i+1)%len(Alphabet)]) + code[1:]
}

func TestBatchesHaveDifferentSalts(t *testing.T) {
	_, a := generate(t)
	_, b := generate(t)
	salt := func(h string) string { return strings.Split(h, "$")[4] }
	if salt(a[0]) == salt(b[0]) {
		t.Error("two batches share a salt")
	}
	for i := range a {
		if salt(a[i]) != salt(a[0]) {
			t.Errorf("hash %d of one batch has a different salt", i)
		}
	}
}

func TestMatchReportsBadStoredHashes(t *testing.T) {
	codes, hashes := generate(t)
	_, other := generate(t)
	replace := func(i int, h string) []string {
		out := append([]string(nil), hashes...)
		out[i] = h
		return out
	}
	good := hashes[2]
	tests := []struct {
		name   string
		hashes []string
		want   error
	}{
		{"empty string", replace(2, ""), ErrMalformedHash},
		{"bcrypt", replace(2, "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"), ErrMalformedHash},
		{"argon2i", replace(2, strings.Replace(good, "argon2id", "argon2i", 1)), ErrMalformedHash},
		{"old version", replace(2, strings.Replace(good, "v=19", "v=16", 1)), ErrMalformedHash},
		{"huge memory", replace(0, strings.Replace(hashes[0], "m=64", "m=99999999999", 1)), ErrMalformedHash},
		{"parameters reordered", replace(2, strings.Replace(good, "m=64,t=1", "t=1,m=64", 1)), ErrMalformedHash},
		{"signed number", replace(2, strings.Replace(good, "t=1", "t=+1", 1)), ErrMalformedHash},
		{"bad base64", replace(2, good[:len(good)-2]+"!!"), ErrMalformedHash},
		{"short key", replace(2, good[:len(good)-30]), ErrMalformedHash},
		{"extra field", replace(2, good+"$x"), ErrMalformedHash},
		{"hash of another batch", replace(5, other[5]), ErrMixedBatch},
		{"other parameters", replace(5, strings.Replace(good, "t=1", "t=2", 1)), ErrMixedBatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			idx, ok, err := Match(codes[2], tt.hashes)
			if !errors.Is(err, tt.want) || ok || idx != -1 {
				t.Errorf("Match = (%d, %v, %v), want (-1, false, %v)", idx, ok, err, tt.want)
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{"abcde-fghjk", "abcdefghjk", true},
		{"ABCDE FGHJK", "abcdefghjk", true},
		{"2345678900", "23456789oo", true},
		{"abcde-fghj", "", false},
		{"abcde-fghjkm", "", false},
		{"abcde-fghji", "", false},
		{"abcde_fghjk", "", false},
		{"abcde\u2010fghjk", "", false},
		{strings.Repeat(" ", 100) + "abcdefghjk", "", false},
	}
	for _, tt := range tests {
		got, ok := Normalize(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Normalize(%q) = (%q, %v), want (%q, %v)", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func FuzzMatch(f *testing.F) {
	codes, hashes := generate(f)
	f.Add(codes[0], hashes[1])
	f.Add("", "")
	f.Add("00000-00000", "$argon2id$v=19$m=64,t=1,p=1$$")
	f.Add(strings.ToUpper(codes[9]), strings.Replace(hashes[0], "m=64", "m=4194304", 1))
	f.Fuzz(func(t *testing.T, input, stored string) {
		// Any input against a real batch.
		idx, ok, err := Match(input, hashes)
		if err != nil {
			t.Fatalf("error for a well-formed batch: %v", err)
		}
		if ok != (idx >= 0) || idx >= len(hashes) {
			t.Fatalf("Match = (%d, %v)", idx, ok)
		}
		if ok && !strings.EqualFold(mustNormalize(t, input), mustNormalize(t, codes[idx])) {
			t.Fatalf("matched index %d with a different code", idx)
		}
		// Any stored string must parse or fail cleanly; only hash with it
		// when its cost is small, to keep the fuzzer fast.
		e, err := decode(stored)
		if err != nil {
			return
		}
		if e.params.Memory <= 1024 && e.params.Time <= 2 {
			if _, _, err := Match(input, []string{stored, stored}); err != nil {
				t.Fatalf("decoded hash rejected by Match: %v", err)
			}
		}
	})
}

func mustNormalize(t *testing.T, s string) string {
	n, ok := Normalize(s)
	if !ok {
		t.Fatalf("Normalize rejected a matching input")
	}
	return n
}

// BenchmarkMatch measures one attempt against a full batch at the default
// parameters: one argon2id computation, not one per code.
func BenchmarkMatch(b *testing.B) {
	codes, hashes, err := Generate(DefaultParams())
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, ok, err := Match(codes[9], hashes); !ok || err != nil {
			b.Fatal("no match")
		}
	}
}
