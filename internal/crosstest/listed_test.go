package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd/internal/cbuild"
)

// TestCrossBuildTestsListed: every test that calls cbuild.RequireCross
// (itself or through a helper of its package) is in the Makefile's list for
// its platform, with its package, and the lists name nothing else. make
// test leaves such a test out; a test missing from the lists would run
// nowhere.
func TestCrossBuildTestsListed(t *testing.T) {
	root, err := cbuild.RepoRoot()
	require.NoError(t, err)
	found := map[string]map[string]bool{} // platform -> "pkg TestName"
	dirs := map[string]bool{}
	require.NoError(t, filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "bench") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(p, "_test.go") {
			dirs[filepath.Dir(p)] = true
		}
		return nil
	}))
	for dir := range dirs {
		rel, err := filepath.Rel(root, dir)
		require.NoError(t, err)
		pkg := "./" + filepath.ToSlash(rel) + "/"
		if rel == "." {
			pkg = "./"
		}
		for name, platform := range crossTests(t, dir) {
			if found[platform] == nil {
				found[platform] = map[string]bool{}
			}
			found[platform][pkg+" "+name] = true
		}
	}

	mk, err := os.ReadFile(filepath.Join(root, "Makefile"))
	require.NoError(t, err)
	for platform, prefix := range map[string]string{"windows": "WINDOWS", "arm64": "ARM64", "wasm-cxx": "WASMCXX"} {
		tests, pkgs := makeVar(t, mk, prefix+"_BUILD_TESTS"), makeVar(t, mk, prefix+"_BUILD_PKGS")
		var want, gotTests, gotPkgs []string
		wantPkgs := map[string]bool{}
		for k := range found[platform] {
			pkg, name, _ := strings.Cut(k, " ")
			want = append(want, name)
			wantPkgs[pkg] = true
		}
		gotTests = append(gotTests, tests...)
		gotPkgs = append(gotPkgs, pkgs...)
		var wantPkgList []string
		for p := range wantPkgs {
			wantPkgList = append(wantPkgList, p)
		}
		sort.Strings(want)
		sort.Strings(gotTests)
		sort.Strings(wantPkgList)
		sort.Strings(gotPkgs)
		require.NotEmpty(t, want, "no test calls cbuild.RequireCross(t, %q)", platform)
		require.Equal(t, want, gotTests, "the Makefile's %s_BUILD_TESTS must list every test that calls cbuild.RequireCross(t, %q), and only those", prefix, platform)
		require.Equal(t, wantPkgList, gotPkgs, "the Makefile's %s_BUILD_PKGS must list the packages of those tests", prefix)
	}
}

// crossTests returns the Test functions of the package in dir that call
// cbuild.RequireCross, directly or through functions of the package, with
// the platform each asks for.
func crossTests(t *testing.T, dir string) map[string]string {
	t.Helper()
	fset := token.NewFileSet()
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	funcs := map[string]*ast.FuncDecl{}
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, e.Name()), nil, 0)
		require.NoError(t, err)
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil && fd.Body != nil {
				funcs[fd.Name.Name] = fd
			}
		}
	}
	// platform of each function: its own RequireCross call, or a callee's.
	platform := map[string]string{}
	for changed := true; changed; {
		changed = false
		for name, fd := range funcs {
			if platform[name] != "" {
				continue
			}
			ast.Inspect(fd.Body, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok || platform[name] != "" {
					return platform[name] == ""
				}
				switch fn := call.Fun.(type) {
				case *ast.SelectorExpr:
					if x, ok := fn.X.(*ast.Ident); ok && x.Name == "cbuild" && fn.Sel.Name == "RequireCross" && len(call.Args) == 2 {
						if lit, ok := call.Args[1].(*ast.BasicLit); ok {
							if s, err := strconv.Unquote(lit.Value); err == nil {
								platform[name] = s
							}
						}
					}
				case *ast.Ident:
					if p := platform[fn.Name]; p != "" && fn.Name != name {
						platform[name] = p
					}
				}
				return true
			})
			if platform[name] != "" {
				changed = true
			}
		}
	}
	out := map[string]string{}
	for name, p := range platform {
		if strings.HasPrefix(name, "Test") {
			out[name] = p
		}
	}
	return out
}

// makeVar returns the words of the Makefile's `NAME := ...` line.
func makeVar(t *testing.T, mk []byte, name string) []string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + name + ` := (.*)$`).FindSubmatch(mk)
	require.NotNil(t, m, "the Makefile has no %s", name)
	return strings.Fields(string(m[1]))
}
