package methods_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/twofold-id/twofold/internal/factor"
	"github.com/twofold-id/twofold/internal/factor/methods"
)

func TestEveryMethodSaysWhatItIs(t *testing.T) {
	all := methods.Default.All()
	if len(all) < 4 {
		t.Fatalf("only %d methods registered", len(all))
	}
	recovery := 0
	for _, m := range all {
		tr := m.Traits()
		if m.Kind() == "" || tr.Name == "" || tr.AMR == "" || tr.RFC8176 == "" {
			t.Errorf("method %q lacks a kind, name or amr value: %+v", m.Kind(), tr)
		}
		if tr.Recovery {
			recovery++
			continue
		}
		if tr.DefaultLabel == "" {
			t.Errorf("method %q users add has no default label", m.Kind())
		}
		if tr.Enrollment == factor.Issued {
			t.Errorf("method %q is a policy choice but cannot be added by users", m.Kind())
		}
		if (tr.Enrollment == factor.SentCode) != factor.Sent(tr) {
			t.Errorf("method %q: confirmed by a sent code but nothing is sent (or the other way round)", m.Kind())
		}
	}
	if recovery != 1 {
		t.Errorf("%d recovery methods; the portal offers exactly one (\"use a backup code\")", recovery)
	}
	sms, ok := methods.Default.TraitsOf("sms")
	if !ok || !sms.Restricted || sms.RFC8176 != "sms" {
		t.Errorf("text messages must be a restricted method with amr sms: %+v", sms)
	}
	if _, ok := methods.Default.Lookup("carrier-pigeon"); ok {
		t.Error("an unknown kind was found")
	}
}

func TestARepeatedKindIsRefusedAtStartUp(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("registering a kind twice did not panic")
		}
	}()
	m := methods.Default.All()[0]
	factor.NewRegistry(m, m)
}

// TestNoCodeOutsideTheFactorPackagesComparesAMethodName is the design rule
// of the registry: code outside internal/factor never compares a value with
// a method's name written as a literal (== "sms", case "totp":). It asks
// the registry for traits instead, so that adding a method changes no
// switch elsewhere.
func TestNoCodeOutsideTheFactorPackagesComparesAMethodName(t *testing.T) {
	kinds := methods.Default.Kinds(nil)
	root := filepath.Join("..", "..", "..")
	isKind := func(e ast.Expr) bool {
		lit, ok := e.(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			return false
		}
		v, err := strconv.Unquote(lit.Value)
		return err == nil && slices.Contains(kinds, v)
	}
	checked := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			// Test-support packages (storetest …) hold data, not decisions.
			if rel == filepath.Join("internal", "factor") || (rel != "." && strings.HasPrefix(d.Name(), ".")) ||
				d.Name() == "node_modules" || strings.HasSuffix(d.Name(), "test") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			return err
		}
		checked++
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.BinaryExpr:
				if (n.Op == token.EQL || n.Op == token.NEQ) && (isKind(n.X) || isKind(n.Y)) {
					t.Errorf("%s compares with a method name; ask the factor registry", rel)
				}
			case *ast.CaseClause:
				if slices.ContainsFunc(n.List, isKind) {
					t.Errorf("%s switches on a method name; ask the factor registry", rel)
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 100 {
		t.Fatalf("checked only %d files; has the layout changed?", checked)
	}
}
