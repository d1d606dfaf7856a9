package config

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
)

// A Loader completes a configuration after its flags are parsed: it reads
// the config file (from --config or TWOFOLD_CONFIG), then the environment,
// then the flags that were set explicitly, and reads secrets from their
// files.
type Loader struct {
	configFile string
	explicit   map[string]string // flag name → value, for flags given on the command line
	getenv     func(string) string
	environ    func() []string
}

// Register adds every setting as a flag to fs and returns a function that
// completes and validates the configuration after fs.Parse (see Loader.Load).
func Register(fs *flag.FlagSet, getenv func(string) string) func() (Config, error) {
	return NewLoader(fs, getenv, nil).Load
}

// NewLoader adds every setting as a flag to fs — and, for each secret, a
// flag naming the file that holds it — and returns the Loader that reads
// them once fs is parsed. environ lists the process environment (for
// Check's report of unknown TWOFOLD_ variables); it may be nil.
func NewLoader(fs *flag.FlagSet, getenv func(string) string, environ func() []string) *Loader {
	l := &Loader{explicit: map[string]string{}, getenv: getenv, environ: environ}
	fs.StringVar(&l.configFile, "config", "", "config file of TWOFOLD_*=value lines (env TWOFOLD_CONFIG)")
	def := Default()
	for _, f := range fields {
		f := f
		fs.Func(f.name, f.usage+" (env "+envName(f.name)+", default "+quoteDefault(f.get(&def))+")", func(v string) error {
			var probe Config
			if err := f.set(&probe, v); err != nil {
				return err
			}
			l.explicit[f.name] = v
			return nil
		})
		if f.secret {
			fs.Func(f.name+"-file", "file holding the "+f.name+" (env "+fileEnvName(f.name)+")", func(v string) error {
				l.explicit[f.name+"-file"] = v
				return nil
			})
		}
	}
	return l
}

func quoteDefault(s string) string {
	if s == "" {
		return `""`
	}
	return s
}

// Load returns the configuration, or an error listing everything that
// keeps it from working: unknown keys in the config file, values that do
// not parse, unreadable secret files, a secret set both directly and by
// file, and settings Validate refuses. Insecure combinations are not
// errors here; see Check.
func (l *Loader) Load() (Config, error) {
	c, probs := l.load()
	return c, joinErrors(probs)
}

// Check returns the configuration and every problem with it, most severe
// first: what Load refuses (Error), combinations that work but are unsafe
// (Insecure), and things worth a look (Warning), such as TWOFOLD_
// environment variables that are no setting.
func (l *Loader) Check() (Config, []Problem) {
	c, probs := l.load()
	probs = append(probs, c.insecure()...)
	probs = append(probs, l.unknownEnv()...)
	slices.SortStableFunc(probs, func(a, b Problem) int { return int(a.Severity) - int(b.Severity) })
	return c, probs
}

// source is one layer of settings, looked up by key (flag name, or flag
// name + "-file" for a secret's file).
type source struct {
	name   string
	lookup func(key string) (string, bool)
}

// load applies the layers in order of precedence, lowest first.
func (l *Loader) load() (Config, []Problem) {
	c := Default()
	var probs []Problem
	var layers []source
	file := l.configFile
	if file == "" {
		file = l.getenv("TWOFOLD_CONFIG")
	}
	if file != "" {
		vals, fileProbs := readEnvFile(file)
		probs = append(probs, fileProbs...)
		layers = append(layers, source{"config file " + file, func(key string) (string, bool) {
			v, ok := vals[envKey(key)]
			return v, ok
		}})
	}
	layers = append(layers, source{"environment", func(key string) (string, bool) {
		v := l.getenv(envKey(key))
		return v, v != ""
	}}, source{"flag", func(key string) (string, bool) {
		v, ok := l.explicit[key]
		return v, ok
	}})

	secretFile := map[string]string{}  // setting → file path (the highest layer wins)
	secretValue := map[string]string{} // setting → the layer that set it directly
	secretFrom := map[string]string{}  // setting → the layer that named the file
	for _, src := range layers {
		for _, f := range fields {
			if v, ok := src.lookup(f.name); ok {
				if err := f.set(&c, v); err != nil {
					probs = append(probs, Problem{Severity: Error, Key: envName(f.name),
						Message: fmt.Sprintf("%s: %s: %v", src.name, envName(f.name), err)})
				}
				if f.secret {
					secretValue[f.name] = src.name
				}
			}
			if !f.secret {
				continue
			}
			if p, ok := src.lookup(f.name + "-file"); ok {
				secretFile[f.name], secretFrom[f.name] = p, src.name
			}
		}
	}
	for _, f := range fields {
		path, ok := secretFile[f.name]
		if !ok {
			continue
		}
		key := fileEnvName(f.name)
		if from, both := secretValue[f.name]; both {
			probs = append(probs, Problem{Severity: Error, Key: key, Message: fmt.Sprintf(
				"%s is set (%s) and so is %s (%s): set one of them, not both", envName(f.name), from, key, secretFrom[f.name])})
			continue
		}
		v, err := readSecretFile(path)
		if err != nil {
			probs = append(probs, Problem{Severity: Error, Key: key, Message: fmt.Sprintf("%s: %s: %v", secretFrom[f.name], key, err)})
			continue
		}
		f.set(&c, v)
	}
	for _, err := range c.validate() {
		probs = append(probs, Problem{Severity: Error, Message: err.Error()})
	}
	return c, probs
}

// envKey returns the environment name of a lookup key: a setting's flag
// name, or a flag name + "-file" for a secret's file.
func envKey(key string) string {
	if name, ok := strings.CutSuffix(key, "-file"); ok && isSecret(name) {
		return fileEnvName(name)
	}
	return envName(key)
}

func isSecret(name string) bool {
	for _, f := range fields {
		if f.name == name {
			return f.secret
		}
	}
	return false
}

// readSecretFile returns the content of a secret's file without its
// trailing line breaks. An empty file is an error.
func readSecretFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	v := strings.TrimRight(string(b), "\r\n")
	if v == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	return v, nil
}

// knownKeys returns every key a config file or the environment may set.
func knownKeys() map[string]bool {
	known := map[string]bool{"TWOFOLD_CONFIG": true}
	for _, f := range fields {
		known[envName(f.name)] = true
		if f.secret {
			known[fileEnvName(f.name)] = true
		}
	}
	return known
}

// testEnv are TWOFOLD_ variables the tests read, not settings.
var testEnv = map[string]bool{
	"TWOFOLD_TEST_POSTGRES_DSN": true, "TWOFOLD_REQUIRE_POSTGRES": true, "TWOFOLD_REQUIRE_BROWSER": true,
	"TWOFOLD_CHROMIUM": true, "TWOFOLD_SCREENSHOTS": true,
}

// readEnvFile parses KEY=value lines (the systemd EnvironmentFile format):
// # comments, blank lines, an optional "export ", values optionally in
// double quotes (with Go escapes) or single quotes (taken as they are). It
// returns the values it could read and a problem for every line it could
// not, and for every unknown key.
func readEnvFile(path string) (map[string]string, []Problem) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, []Problem{{Severity: Error, Key: "TWOFOLD_CONFIG", Message: fmt.Sprintf("config file: %v", err)}}
	}
	known := knownKeys()
	out := map[string]string{}
	var probs []Problem
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			probs = append(probs, Problem{Severity: Error, Message: fmt.Sprintf("config file %s:%d: expected KEY=value", path, n)})
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !known[k] {
			msg := fmt.Sprintf("config file %s:%d: unknown key %q", path, n, k)
			if s := suggest(k, known); s != "" {
				msg += fmt.Sprintf(" (did you mean %s?)", s)
			}
			probs = append(probs, Problem{Severity: Error, Key: k, Message: msg})
			continue
		}
		switch {
		case len(v) >= 2 && v[0] == '"':
			uq, err := strconv.Unquote(v)
			if err != nil {
				probs = append(probs, Problem{Severity: Error, Key: k, Message: fmt.Sprintf("config file %s:%d: %s: bad quoting", path, n, k)})
				continue
			}
			v = uq
		case len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'':
			v = v[1 : len(v)-1]
		}
		if _, dup := out[k]; dup {
			probs = append(probs, Problem{Severity: Warning, Key: k, Message: fmt.Sprintf("config file %s:%d: %s is set again; the last line wins", path, n, k)})
		}
		out[k] = v
	}
	if err := sc.Err(); err != nil {
		probs = append(probs, Problem{Severity: Error, Message: fmt.Sprintf("config file %s: %v", path, err)})
	}
	return out, probs
}

// unknownEnv warns of TWOFOLD_ environment variables that are no setting.
func (l *Loader) unknownEnv() []Problem {
	if l.environ == nil {
		return nil
	}
	return UnknownEnvironment(l.environ())
}

// UnknownEnvironment returns a warning for each TWOFOLD_ variable of
// environ (KEY=value strings) that is no setting: most likely a typo that
// leaves a setting at its default.
func UnknownEnvironment(environ []string) []Problem {
	known := knownKeys()
	var probs []Problem
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(k, "TWOFOLD_") || known[k] || testEnv[k] {
			continue
		}
		msg := fmt.Sprintf("environment: unknown variable %s is ignored", k)
		if s := suggest(k, known); s != "" {
			msg += fmt.Sprintf(" (did you mean %s?)", s)
		}
		probs = append(probs, Problem{Severity: Warning, Key: k, Message: msg})
	}
	slices.SortFunc(probs, func(a, b Problem) int { return strings.Compare(a.Key, b.Key) })
	return probs
}

// suggest returns the known key closest to k, if it is close enough to be
// a typo of it.
func suggest(k string, known map[string]bool) string {
	best, bestD := "", 4
	for cand := range known {
		if d := distance(k, cand); d < bestD || d == bestD && cand < best {
			best, bestD = cand, d
		}
	}
	if bestD > 3 {
		return ""
	}
	return best
}

// distance is the Levenshtein distance of a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
