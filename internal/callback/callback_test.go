package callback_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd/internal/callback"
)

func TestCheck(t *testing.T) {
	ok := []any{
		func() uintptr { return 0 },
		func(ctx, level, msg uintptr) uintptr { return 0 },
		func(p unsafe.Pointer, n int32, b bool) uintptr { return 0 },
	}
	for _, fn := range ok {
		assert.NoError(t, callback.Check(fn), "%T", fn)
	}
	bad := map[string]any{
		"no result (the void log callback that panicked on Windows)": func(ctx, level, msg uintptr) {},
		"int32 result (the send_event callback that panicked)":       func(ctx, m, p uintptr) int32 { return 0 },
		"two results":    func() (uintptr, uintptr) { return 0, 0 },
		"float argument": func(x float64) uintptr { return 0 },
		"string":         func(s string) uintptr { return 0 },
		"struct":         func(s struct{ a, b uintptr }) uintptr { return 0 },
		"variadic":       func(a ...uintptr) uintptr { return 0 },
		"not a function": 42,
		"nil":            nil,
	}
	for name, fn := range bad {
		assert.Error(t, callback.Check(fn), name)
	}
	assert.Panics(t, func() { callback.New(func(ctx, level, msg uintptr) {}) })
}

// TestEveryCallbackInTheTree reads every Go file of the module, whatever
// its build tags (so the purego glue is checked in a cgo build too, and the
// Windows-only files on Linux): a callback is made only through
// callback.New, from a function literal whose arguments and one result are
// uintptr. This is the test that would have caught the init panic of the
// Windows build.
func TestEveryCallbackInTheTree(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	_, err = os.Stat(filepath.Join(root, "go.mod"))
	require.NoError(t, err)
	fset := token.NewFileSet()
	var made int
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case "tmp", "bin", "target", "node_modules", ".git", "testdata":
				return filepath.SkipDir
			}
			if path != root {
				if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
					return filepath.SkipDir // another module (bench/)
				}
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		home := filepath.ToSlash(rel) == "internal/callback/callback.go"
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			pkg, ok := sel.X.(*ast.Ident)
			if !ok {
				return true
			}
			pos := fset.Position(call.Pos())
			switch {
			case sel.Sel.Name == "NewCallback" || sel.Sel.Name == "NewCallbackCDecl":
				if !home {
					t.Errorf("%s:%d: %s.%s called directly: make callbacks with callback.New", rel, pos.Line, pkg.Name, sel.Sel.Name)
				}
			case pkg.Name == "callback" && sel.Sel.Name == "New" && !strings.HasSuffix(rel, "_test.go"):
				made++
				checkLiteral(t, rel, pos.Line, call)
			}
			return true
		})
		return nil
	})
	require.NoError(t, err)
	// log and send_event in internal/clawctx, log in internal/benchfloor.
	assert.GreaterOrEqual(t, made, 3, "callbacks made through callback.New")
}

func checkLiteral(t *testing.T, rel string, line int, call *ast.CallExpr) {
	t.Helper()
	if len(call.Args) != 1 {
		t.Errorf("%s:%d: callback.New takes one function", rel, line)
		return
	}
	lit, ok := call.Args[0].(*ast.FuncLit)
	if !ok {
		t.Errorf("%s:%d: pass callback.New a function literal, so that this test can read its signature", rel, line)
		return
	}
	isUintptr := func(e ast.Expr) bool { id, ok := e.(*ast.Ident); return ok && id.Name == "uintptr" }
	for _, p := range lit.Type.Params.List {
		if !isUintptr(p.Type) {
			t.Errorf("%s:%d: callback argument of type %s: use uintptr", rel, line, types(p.Type))
		}
	}
	res := lit.Type.Results
	if res == nil || len(res.List) != 1 || len(res.List[0].Names) > 1 || !isUintptr(res.List[0].Type) {
		t.Errorf("%s:%d: a callback must return exactly one uintptr (Windows' syscall.NewCallback panics otherwise)", rel, line)
	}
}

func types(e ast.Expr) string {
	if id, ok := e.(*ast.Ident); ok {
		return id.Name
	}
	return "non-uintptr"
}
