package clawd_test

import (
	"go/ast"
	"go/doc"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/clawd-go/clawd"
)

// apiBudget is the most exported names the public packages may hold
// together. The public API is kept small enough to hold in one's head; a
// new name should replace an old one rather than sit beside it.
const apiBudget = 297

// TestAPIBudget counts the exported names of every public package (every
// package of this module not under internal/, cmd/, examples/, bench/ or
// testdata, nor in a nested module) as go/doc sees them: functions, types,
// methods, constants and variables, fields not counted, a type's
// constructors, methods, constants and variables counted with it, one per
// name. It fails above apiBudget and names the largest packages.
func TestAPIBudget(t *testing.T) {
	counts := exportedNames(t, ".")
	type pkg struct {
		dir   string
		names []string
	}
	var pkgs []pkg
	total := 0
	for dir, names := range counts {
		pkgs = append(pkgs, pkg{dir, names})
		total += len(names)
	}
	sort.Slice(pkgs, func(i, j int) bool {
		if len(pkgs[i].names) != len(pkgs[j].names) {
			return len(pkgs[i].names) > len(pkgs[j].names)
		}
		return pkgs[i].dir < pkgs[j].dir
	})
	var b strings.Builder
	for _, p := range pkgs {
		b.WriteString("  ")
		b.WriteString(p.dir)
		b.WriteString(": ")
		b.WriteString(strconv.Itoa(len(p.names)))
		b.WriteString("\n")
	}
	t.Logf("%d exported names in %d public packages (budget %d):\n%s", total, len(pkgs), apiBudget, b.String())
	if testing.Verbose() {
		for _, p := range pkgs {
			t.Logf("%s: %s", p.dir, strings.Join(p.names, " "))
		}
	}
	if len(pkgs) == 0 || total == 0 {
		t.Fatal("no public package found: the count cannot be trusted")
	}
	if total > apiBudget {
		t.Errorf("the public API has %d exported names, over the budget of %d; the largest packages:\n%s"+
			"remove a name (move mechanism under internal/, drop a second name for the same idea) rather than raise the budget",
			total, apiBudget, b.String())
	}
}

// exportedNames maps each public package directory under root to the
// sorted names go/doc shows for it (Type.Method for methods).
func exportedNames(t *testing.T, root string) map[string][]string {
	t.Helper()
	skip := map[string]bool{"internal": true, "cmd": true, "examples": true, "bench": true, "testdata": true}
	out := map[string][]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if path != root {
			name := d.Name()
			if skip[name] || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
				return filepath.SkipDir // a module of its own
			}
		}
		names := packageNames(t, path)
		if len(names) > 0 {
			out[filepath.ToSlash(path)] = names
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// packageNames parses the non-test Go files of dir (all of them, whatever
// their build constraints, a name declared per OS counted once) and lists
// the exported names go/doc shows.
func packageNames(t *testing.T, dir string) []string {
	t.Helper()
	fset := token.NewFileSet()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]*ast.File{}
	pkgName := ""
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || !strings.HasSuffix(n, ".go") || strings.HasSuffix(n, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, n), nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		if f.Name.Name == "main" {
			return nil
		}
		pkgName = f.Name.Name
		files[n] = f
	}
	if len(files) == 0 {
		return nil
	}
	//lint:ignore SA1019 ast.Package is what doc.New takes; the count is go/doc's.
	p := doc.New(&ast.Package{Name: pkgName, Files: files}, dir, 0)
	set := map[string]bool{}
	addValues := func(vs []*doc.Value) {
		for _, v := range vs {
			for _, n := range v.Names {
				if token.IsExported(n) {
					set[n] = true
				}
			}
		}
	}
	addFuncs := func(prefix string, fs []*doc.Func) {
		for _, f := range fs {
			set[prefix+f.Name] = true
		}
	}
	addValues(p.Consts)
	addValues(p.Vars)
	addFuncs("", p.Funcs)
	for _, ty := range p.Types {
		set[ty.Name] = true
		addValues(ty.Consts)
		addValues(ty.Vars)
		addFuncs("", ty.Funcs)
		addFuncs(ty.Name+".", ty.Methods)
	}
	names := make([]string, 0, len(set))
	for n := range set {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// clawd.Containment is a type of this package, so that go doc shows its
// fields (an alias of an internal type showed none).
func TestContainmentIsAPublicType(t *testing.T) {
	ty := reflect.TypeOf(clawd.Containment{})
	if ty.PkgPath() != "github.com/clawd-go/clawd" || ty.Name() != "Containment" {
		t.Fatalf("clawd.Containment is %s.%s, a type of another package", ty.PkgPath(), ty.Name())
	}
	c := clawd.Containment{OS: "linux", NoNewPrivs: true}
	if s := c.String(); !strings.Contains(s, "no_new_privs") {
		t.Errorf("String() = %q, want it to name no_new_privs", s)
	}
}
