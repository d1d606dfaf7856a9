package config

import (
	"bufio"
	"os"
	"regexp"
	"strings"
	"testing"
)

// exampleFile is the example config file operators start from.
const exampleFile = "../../deploy/twofold.env"

// keyLine matches a setting line of the example file, set or commented out.
var keyLine = regexp.MustCompile(`^#?(TWOFOLD_[A-Z0-9_]+)=`)

func TestTheExampleConfigFileNamesEverySettingWithAComment(t *testing.T) {
	f, err := os.Open(exampleFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	seen := map[string]int{}
	prevComment := false
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if m := keyLine.FindStringSubmatch(line); m != nil {
			seen[m[1]]++
			if !prevComment {
				t.Errorf("%s:%d: %s has no comment of its own above it", exampleFile, n, m[1])
			}
			prevComment = false
			continue
		}
		prevComment = strings.HasPrefix(line, "# ") || line == "#"
	}
	known := knownKeys()
	delete(known, "TWOFOLD_CONFIG")
	for k := range known {
		if seen[k] == 0 {
			t.Errorf("%s lacks %s: add it with a comment", exampleFile, k)
		}
	}
	for k, n := range seen {
		if !known[k] {
			t.Errorf("%s names %s, which is no setting", exampleFile, k)
		}
		if n > 1 {
			t.Errorf("%s names %s %d times", exampleFile, k, n)
		}
	}
}

func TestTheExampleConfigFilePassesTheCheck(t *testing.T) {
	c, probs := check(t, []string{"--config", exampleFile}, nil, nil)
	for _, p := range probs {
		t.Errorf("%s: %s", p.Severity, p.Message)
	}
	if c.PublicURL != "https://id.example.com" || c.Listen != "127.0.0.1:8080" {
		t.Fatalf("the example file was not read: %+v", c)
	}
}
