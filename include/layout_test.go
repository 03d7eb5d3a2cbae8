// Tests of include/clawd_plugin.h against a real C (and C++) compiler: the
// struct layout the compiler produces must match the Go mirrors in package
// abi line for line, the header must compile warning-free in every language
// mode it promises, and CLAWD_PLUGIN_EXPORT must survive -fvisibility=hidden.
// The C sources live in testdata/ because the go tool refuses .c files in a
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
	"github.com/clawd-go/clawd/internal/cbuild"
)

func TestMain(m *testing.M) {
	code := m.Run()
	cbuild.Cleanup()
	os.Exit(code)
}

// goLayout is what layout_print.c must print, computed from the Go mirrors.
func goLayout() map[string]uintptr {
	var p abi.Plugin
	var c abi.Context
	var e abi.Code
	m := map[string]uintptr{
		"ClawaPlugin.size":         unsafe.Sizeof(p),
		"ClawaPlugin.align":        unsafe.Alignof(p),
		"ClawaContext.size":        unsafe.Sizeof(c),
		"ClawaContext.align":       unsafe.Alignof(c),
		"ClawaError.size":          unsafe.Sizeof(e),
		"ClawaError.align":         unsafe.Alignof(e),
		"CLAWD_PLUGIN_ABI_VERSION": abi.Version,
		"CLAWD_PLUGIN_RESERVED":    abi.Reserved,
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

func TestLayoutMatchesGo(t *testing.T) {
	prog := cbuild.Program(t, "include/testdata/layout_print.c", "-std=c99", "-pedantic")
	out, err := exec.Command(prog).Output()
	if err != nil {
		t.Fatalf("%s: %v", prog, err)
	}
	want := goLayout()
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), " ")
		n, err := strconv.ParseUint(val, 10, 64)
		if !ok || err != nil {
			t.Errorf("malformed line %q", sc.Text())
			continue
		}
		w, known := want[key]
		switch {
		case !known:
			t.Errorf("C prints %s %d, which the test does not map to Go", key, n)
		case uint64(w) != n:
			t.Errorf("%s: C says %d, Go says %d", key, n, w)
		}
		if seen[key] {
			t.Errorf("%s printed twice", key)
		}
		seen[key] = true
	}
	for key := range want {
		if !seen[key] {
			t.Errorf("C did not print %s", key)
		}
	}
	// The exported size constants must agree with the compiler too.
	if want["ClawaPlugin.size"] != abi.SizeofPlugin || want["ClawaContext.size"] != abi.SizeofContext {
		t.Errorf("abi.SizeofPlugin=%d abi.SizeofContext=%d, structs are %d and %d",
			abi.SizeofPlugin, abi.SizeofContext, want["ClawaPlugin.size"], want["ClawaContext.size"])
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
