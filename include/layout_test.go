// Tests of the ABI's declarations against real compilers: the struct layout
// that C, Rust (include/clawd_plugin.rs) and Zig (include/clawd_plugin.zig)
// produce must be include.Layout, and so must the Go mirrors in package abi; the header must compile warning-free in every language mode
// it promises, and CLAWD_PLUGIN_EXPORT must survive -fvisibility=hidden.
// The printers live in testdata/ because the go tool refuses .c files in a
// package directory that does not use cgo.
package include_test

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/include"
	"github.com/clawd-go/clawd/internal/cabi"
	"github.com/clawd-go/clawd/internal/cbuild"
)

func TestMain(m *testing.M) {
	code := m.Run()
	cbuild.Cleanup()
	os.Exit(code)
}

// goLayout is the layout the Go mirrors in package abi have, in the keys
// of include.Layout.
func goLayout() map[string]uintptr {
	var p cabi.Plugin
	var c cabi.Context
	var e abi.Code
	m := map[string]uintptr{
		"ClawaPlugin.size":         unsafe.Sizeof(p),
		"ClawaPlugin.align":        unsafe.Alignof(p),
		"ClawaContext.size":        unsafe.Sizeof(c),
		"ClawaContext.align":       unsafe.Alignof(c),
		"ClawaError.size":          unsafe.Sizeof(e),
		"ClawaError.align":         unsafe.Alignof(e),
		"CLAWD_PLUGIN_ABI_VERSION": abi.Version,
		"CLAWD_PLUGIN_RESERVED":    cabi.Reserved,
	}
	field := func(key string, off, size uintptr) {
		m[key] = off
		m[key+".size"] = size
	}
	// C field name -> Go field name, spelled out so a rename on either side
	// shows up here.
	field("ClawaPlugin.abi_version", unsafe.Offsetof(p.ABIVersion), unsafe.Sizeof(p.ABIVersion))
	field("ClawaPlugin.name", unsafe.Offsetof(p.Name), unsafe.Sizeof(p.Name))
	field("ClawaPlugin.version", unsafe.Offsetof(p.Version), unsafe.Sizeof(p.Version))
	field("ClawaPlugin.on_load", unsafe.Offsetof(p.OnLoad), unsafe.Sizeof(p.OnLoad))
	field("ClawaPlugin.on_unload", unsafe.Offsetof(p.OnUnload), unsafe.Sizeof(p.OnUnload))
	field("ClawaPlugin.on_session_start", unsafe.Offsetof(p.OnSessionStart), unsafe.Sizeof(p.OnSessionStart))
	field("ClawaPlugin.on_session_end", unsafe.Offsetof(p.OnSessionEnd), unsafe.Sizeof(p.OnSessionEnd))
	field("ClawaPlugin.on_tool_call", unsafe.Offsetof(p.OnToolCall), unsafe.Sizeof(p.OnToolCall))
	field("ClawaPlugin.on_message", unsafe.Offsetof(p.OnMessage), unsafe.Sizeof(p.OnMessage))
	field("ClawaPlugin._reserved", unsafe.Offsetof(p.Reserved), unsafe.Sizeof(p.Reserved))
	field("ClawaContext._inner", unsafe.Offsetof(c.Inner), unsafe.Sizeof(c.Inner))
	field("ClawaContext.send_event", unsafe.Offsetof(c.SendEvent), unsafe.Sizeof(c.SendEvent))
	field("ClawaContext.log", unsafe.Offsetof(c.Log), unsafe.Sizeof(c.Log))
	field("ClawaContext._reserved", unsafe.Offsetof(c.Reserved), unsafe.Sizeof(c.Reserved))
	return m
}

// TestLayoutMatchesGo: the one list of expected values, include.Layout,
// is what the Go mirrors in package abi say, key for key.
func TestLayoutMatchesGo(t *testing.T) {
	skipUnless64Bit(t)
	got := goLayout()
	for _, f := range include.Layout {
		if g, ok := got[f.Key]; !ok {
			t.Errorf("include.Layout has %s, which the test does not map to Go", f.Key)
		} else if uint64(g) != f.Value {
			t.Errorf("%s: include.Layout says %d, Go says %d", f.Key, f.Value, g)
		}
		delete(got, f.Key)
	}
	for key := range got {
		t.Errorf("include.Layout lacks %s", key)
	}
	// The exported size constants must agree too.
	if cabi.SizeofPlugin != unsafe.Sizeof(cabi.Plugin{}) || cabi.SizeofContext != unsafe.Sizeof(cabi.Context{}) {
		t.Errorf("cabi.SizeofPlugin=%d cabi.SizeofContext=%d, mirrors are %d and %d", cabi.SizeofPlugin,
			cabi.SizeofContext, unsafe.Sizeof(cabi.Plugin{}), unsafe.Sizeof(cabi.Context{}))
	}
}

// The layout printers, one per language whose declarations plugins compile
// against. Each prints "<key> <n>" lines that must be include.Layout.

func TestLayoutC(t *testing.T) {
	skipUnless64Bit(t)
	checkPrinted(t, "C", cbuild.Program(t, "include/testdata/layout_print.c", "-std=c99", "-pedantic"))
}

// TestLayoutRust checks include/clawd_plugin.rs, which the Rust example and
// `clawd-plugin new --lang rust` use.
func TestLayoutRust(t *testing.T) {
	skipUnless64Bit(t)
	checkPrinted(t, "Rust", cbuild.RustProgram(t, "include/testdata/layout_print.rs"))
}

// TestLayoutZig checks include/clawd_plugin.zig, which the Zig
// example and `clawd-plugin new --lang zig` import.
func TestLayoutZig(t *testing.T) {
	skipUnless64Bit(t)
	checkPrinted(t, "Zig", cbuild.ZigProgram(t, "include/testdata/layout_print.zig"))
}

// The list is for 8-byte pointers (LP64 and Win64), like the header's
// static asserts.
func skipUnless64Bit(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("include.Layout describes 64-bit targets")
	}
}

// checkPrinted runs prog and compares its output with include.Layout: every
// key once, with its value, and nothing else.
func checkPrinted(t *testing.T, lang, prog string) {
	t.Helper()
	out, err := exec.Command(prog).Output()
	if err != nil {
		t.Fatalf("%s: %v", prog, err)
	}
	checkOutput(t, lang, out, func(f include.Fact) uint64 { return f.Value })
}

// checkOutput compares a printer's output with the column col of
// include.Layout: every key once, with its value, and nothing else.
func checkOutput(t *testing.T, lang string, out []byte, col func(include.Fact) uint64) {
	t.Helper()
	want := map[string]uint64{}
	for _, f := range include.Layout {
		want[f.Key] = col(f)
	}
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), " ")
		n, err := strconv.ParseUint(val, 10, 64)
		if !ok || err != nil {
			t.Errorf("%s: malformed line %q", lang, sc.Text())
			continue
		}
		w, known := want[key]
		switch {
		case !known:
			t.Errorf("%s prints %s %d, which include.Layout does not have", lang, key, n)
		case w != n:
			t.Errorf("%s: %s is %d, include.Layout says %d", lang, key, n, w)
		}
		if seen[key] {
			t.Errorf("%s prints %s twice", lang, key)
		}
		seen[key] = true
	}
	for _, f := range include.Layout {
		if !seen[f.Key] {
			t.Errorf("%s does not print %s", lang, f.Key)
		}
	}
}

// TestHeaderCompiles compiles a plugin translation unit in every language
// mode the header promises. -include pulls the header in a second time to
// check the include guard.
func TestHeaderCompiles(t *testing.T) {
	root, err := cbuild.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	inc := filepath.Join(root, "include")
	src := filepath.Join(inc, "testdata", "plugin_tu.c")
	for _, tc := range []struct {
		cxx  bool
		std  string
		lang string
	}{
		{false, "c99", "c"},
		{false, "c11", "c"},
		{true, "c++98", "c++"},
		{true, "c++17", "c++"},
	} {
		t.Run(tc.std, func(t *testing.T) {
			t.Parallel()
			cc := cbuild.CC()
			if tc.cxx {
				cc = cbuild.CXX()
			}
			cbuild.RequireTool(t, cc)
			args := append(cc[1:len(cc):len(cc)], "-x", tc.lang, "-std="+tc.std, "-pedantic",
				"-Wall", "-Wextra", "-Werror", "-fsyntax-only",
				"-I"+inc, "-include", "clawd_plugin.h", src)
			cmd := exec.Command(cc[0], args...)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, out)
			}
		})
	}
}

// definedSymbols lists the dynamic symbols lib defines, as "TYPE NAME".
func definedSymbols(t *testing.T, lib string) []string {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("nm does not read PE export tables")
	}
	if _, err := exec.LookPath("nm"); err != nil {
		t.Skip("nm not found")
	}
	args := []string{"-D", "--defined-only", lib}
	if runtime.GOOS == "darwin" {
		args = []string{"-gU", lib}
	}
	out, err := exec.Command("nm", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("nm %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	var syms []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 {
			syms = append(syms, f[len(f)-2]+" "+strings.TrimPrefix(f[len(f)-1], "_"))
		}
	}
	return syms
}

// checkExports asserts that clawd_plugin_init is exported unmangled and that
// it is the only exported function: -fvisibility=hidden must hide the rest.
func checkExports(t *testing.T, lib string) {
	t.Helper()
	var found bool
	for _, s := range definedSymbols(t, lib) {
		typ, name, _ := strings.Cut(s, " ")
		if name == abi.InitSymbol {
			found = true
			continue
		}
		if typ == "T" || typ == "t" {
			t.Errorf("%s exports %s besides %s", filepath.Base(lib), name, abi.InitSymbol)
		}
	}
	if !found {
		t.Errorf("%s does not export %s", filepath.Base(lib), abi.InitSymbol)
	}
}

func TestExportMacroC(t *testing.T) {
	checkExports(t, cbuild.Library(t, "include/testdata/plugin_tu.c", "-std=c99", "-pedantic"))
}

func TestExportMacroCXX(t *testing.T) {
	cxx := cbuild.CXX()
	cbuild.RequireTool(t, cxx)
	root, err := cbuild.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	lib := filepath.Join(t.TempDir(), "plugin_tu_cxx"+cbuild.LibExt)
	shared := "-shared"
	if runtime.GOOS == "darwin" {
		shared = "-dynamiclib"
	}
	args := append(cxx[1:len(cxx):len(cxx)], "-x", "c++", "-std=c++17", shared, "-fPIC",
		"-fvisibility=hidden", "-Wall", "-Wextra", "-Werror",
		"-I"+filepath.Join(root, "include"), "-o", lib,
		filepath.Join(root, "include", "testdata", "plugin_tu.c"))
	cmd := exec.Command(cxx[0], args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, out)
	}
	checkExports(t, lib)
}
