package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/internal/cbuild"
	"github.com/clawd-go/clawd/internal/scaffold"
	"github.com/clawd-go/clawd/internal/wasmscan"
	"github.com/clawd-go/clawd/loader"
	"github.com/clawd-go/clawd/manifest"
	"github.com/clawd-go/clawd/wasm"
)

// TestNewBuildsRunsAndPassesCheck: for each language, `new` writes a
// project into a temporary directory, the project's own build command
// builds it, the library plays every callback through loader, and `check`
// passes on the directory. A missing toolchain skips the language, or
// fails it under REQUIRE_ALL_TOOLCHAINS.
func TestNewBuildsRunsAndPassesCheck(t *testing.T) {
	for _, lang := range scaffold.Langs {
		t.Run(lang, func(t *testing.T) {
			t.Parallel()
			shown, build := newProjectBuild(t, lang)
			name := "demo-" + lang
			dir := filepath.Join(t.TempDir(), name)
			r := cli(t, "new", "--lang", lang, name, dir)
			if r.exit != 0 || !strings.Contains(r.stdout, "created "+lang+" plugin "+name) || r.stderr != "" {
				t.Fatalf("new: exit %d\nstdout: %s\nstderr: %s", r.exit, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stdout, "\n  "+shown+"   # writes ") {
				t.Errorf("new does not tell to run %q:\n%s", shown, r.stdout)
			}
			if _, err := cbuild.Run(dir, nil, build...); err != nil {
				t.Fatal(err)
			}
			m, err := manifest.LoadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			playEveryCallback(t, m.EntryPath(), name)

			// The check verb (conformance suite) must pass the fresh project.
			if r := cli(t, "check", dir); r.exit != 0 {
				t.Fatalf("check %s: exit %d\n%s%s", dir, r.exit, r.stdout, r.stderr)
			}
		})
	}
}

// newProjectBuild returns the build command `new` tells the user to run,
// and the one the test runs (the same, made offline-proof or pointed at
// the Zig the tests found), after making sure the toolchain is here.
func newProjectBuild(t *testing.T, lang string) (shown string, run []string) {
	switch lang {
	case "c":
		cbuild.RequireTool(t, []string{"make"})
		cbuild.RequireTool(t, cbuild.CC())
	case "cpp":
		cbuild.RequireTool(t, []string{"make"})
		cbuild.RequireTool(t, cbuild.CXX())
	case "rust":
		cbuild.RequireTool(t, []string{"cargo"})
		// No dependencies: --offline only makes sure of it.
		return "cargo build --release", []string{"cargo", "build", "--release", "--offline"}
	case "zig":
		cbuild.RequireTool(t, []string{"make"})
		// The Makefile finds zig by itself; this passes the one the tests found.
		return "make", []string{"make", "ZIG=" + strings.Join(cbuild.RequireZig(t), " ")}
	default:
		t.Fatalf("no build command for %s", lang)
	}
	return "make", []string{"make"}
}

// playEveryCallback opens lib, calls every callback and checks the
// template's log lines and event.
func playEveryCallback(t *testing.T, lib, name string) {
	t.Helper()
	core, logs := observer.New(zapcore.DebugLevel)
	var mu sync.Mutex
	var events []string
	sink := clawd.SinkFunc(func(_ context.Context, ev clawd.Event) error {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, ev.Method+" "+string(ev.Params))
		return nil
	})
	p, err := loader.Open(lib, clawd.WithLogger(zap.New(core)), clawd.WithEventSink(sink),
		clawd.WithCapabilities(abi.CapNetworkRelay))
	if err != nil {
		t.Fatal(err)
	}
	if p.Name() != name || p.Version() != scaffold.Version || len(p.Callbacks()) != abi.NumCallbacks || len(p.Warnings()) != 0 {
		t.Errorf("loaded %s %s, callbacks %v, warnings %v", p.Name(), p.Version(), p.Callbacks(), p.Warnings())
	}
	ctx := context.Background()
	// Cut to one log line: at 511 bytes, on a character boundary ("é" is 2
	// bytes and "message from user: " 19, so a naive cut splits one).
	long := `"` + strings.Repeat("é", 1000) + `"`
	for _, err := range []error{
		p.Call(ctx, clawd.SessionStart("s1")),
		p.Call(ctx, clawd.Message("s1", "user", `{"text":"hi"}`)),
		p.Call(ctx, clawd.ToolCall("s1", "grep", `{"pattern":"TODO"}`)),
		p.Call(ctx, clawd.Message("s1", "user", long)),
		p.Call(ctx, clawd.SessionEnd("s1")),
		p.Close(),
	} {
		if err != nil {
			t.Error(err)
		}
	}
	var got []string
	for _, e := range logs.All() {
		if e.Level == zapcore.InfoLevel && e.LoggerName == "" && slices.ContainsFunc(e.Context, func(f zapcore.Field) bool { return f.Key == "plugin" }) {
			got = append(got, e.Message)
		}
	}
	want := []string{
		name + " loaded",
		"session s1 started",
		`message from user: {"text":"hi"}`,
		`tool grep called with {"pattern":"TODO"}`,
		("message from user: " + long)[:510],
		"session s1 ended",
		name + " unloading",
	}
	if !slices.Equal(got, want) {
		t.Errorf("plugin log lines:\n got %q\nwant %q", got, want)
	}
	if w := name + `.tool_called {"tool":"grep"}`; !slices.Equal(events, []string{w}) {
		t.Errorf("events %q, want [%q]", events, w)
	}
}

func TestNewUsage(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args   []string
		stderr string
	}{
		{[]string{"new"}, "missing --lang"},
		{[]string{"new", "x"}, "missing --lang"},
		{[]string{"new", "--lang", "cobol", "x"}, `unknown language "cobol"`},
		{[]string{"new", "--lang", "c"}, "missing NAME"},
		{[]string{"new", "--lang", "c", "x", "y", "z"}, "NAME and at most one DIR"},
		{[]string{"new", "--lang", "c", "Bad"}, "invalid plugin name"},
		{[]string{"new", "--lang", "rust", "fn", filepath.Join(dir, "fn")}, "reserved in Rust"},
	} {
		r := cli(t, tc.args...)
		if r.exit != 2 || r.stdout != "" || !strings.Contains(r.stderr, tc.stderr) || !strings.Contains(r.stderr, newUsage) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want 2 and %q", tc.args, r.exit, r.stdout, r.stderr, tc.stderr)
		}
	}
	// A mistyped flag is one line, not the usage page.
	if r := cli(t, "new", "--bogus"); r.exit != 2 || r.stderr != "clawd-plugin new: unknown flag --bogus ("+bin+" new --help lists the flags)\n" {
		t.Errorf("new --bogus: exit %d, stderr %q", r.exit, r.stderr)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("usage errors wrote %v", ents)
	}
}

func TestNewRefusesNonEmptyDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "keep"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	r := cli(t, "new", "--lang", "c", "x", dir)
	if r.exit != 1 || !strings.Contains(r.stderr, "not empty") {
		t.Fatalf("exit %d, stderr %q", r.exit, r.stderr)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("new wrote into a non-empty dir: %v", ents)
	}
}

// DIR defaults to ./NAME, and flags may follow the arguments.
func TestNewDefaultDir(t *testing.T) {
	wd := t.TempDir()
	abs, err := filepath.Abs(bin)
	if err != nil {
		t.Fatal(err)
	}
	out, err := cbuild.Run(wd, nil, abs, "new", "my_plugin", "--lang", "zig")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(wd, "my_plugin", "plugin.zig")); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
}

// TestNewWASMBuildsAndPassesCheck: for C and Zig, `new --target wasm`
// writes a project whose Makefile builds a .wasm with the pinned Zig,
// whose manifest says runtime "wasm" and names that module, and which
// plays every callback in the wasm runtime and passes check.
func TestNewWASMBuildsAndPassesCheck(t *testing.T) {
	for _, lang := range []string{"c", "zig"} {
		t.Run(lang, func(t *testing.T) {
			t.Parallel()
			newWASM(t, lang)
		})
	}
}

// TestNewWASMCxxBuildsAndPassesCheck is the same for C++, whose build
// links libc++: on a cold Zig cache that first compiles libc++ for wasm32
// (a minute or more of CPU), so it runs under make test-wasm-cxx (and CI).
func TestNewWASMCxxBuildsAndPassesCheck(t *testing.T) {
	cbuild.RequireCross(t, "wasm-cxx")
	newWASM(t, "cpp")
}

// newWASM writes a wasm project in lang, builds it, plays it and checks it.
func newWASM(t *testing.T, lang string) {
	cbuild.RequireTool(t, []string{"make"})
	zig := cbuild.RequireZig(t)
	name := "wasm-" + lang
	dir := filepath.Join(t.TempDir(), name)
	r := cli(t, "new", "--lang", lang, "--target", "wasm", name, dir)
	if r.exit != 0 || !strings.Contains(r.stdout, "created "+lang+" (WebAssembly) plugin "+name) || r.stderr != "" {
		t.Fatalf("new: exit %d\nstdout: %s\nstderr: %s", r.exit, r.stdout, r.stderr)
	}
	if _, err := cbuild.Run(dir, nil, "make", "ZIG="+strings.Join(zig, " ")); err != nil {
		t.Fatal(err)
	}
	m, err := manifest.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m.Runtime != manifest.RuntimeWasm || filepath.Ext(m.Entry) != ".wasm" {
		t.Fatalf("manifest runtime %q entry %q, want wasm and a .wasm", m.Runtime, m.Entry)
	}
	if !wasmscan.IsModuleFile(m.EntryPath()) {
		t.Fatalf("%s is not a WebAssembly module", m.EntryPath())
	}
	p, err := wasm.Open(m.EntryPath(), clawd.WithCapabilities(m.Capabilities...),
		clawd.WithEventSink(clawd.SinkFunc(func(context.Context, clawd.Event) error { return nil })))
	if err != nil {
		t.Fatal(err)
	}
	if p.Name() != name || len(p.Callbacks()) != int(abi.NumCallbacks) {
		t.Errorf("name %q callbacks %v", p.Name(), p.Callbacks())
	}
	ctx := context.Background()
	for _, c := range []clawd.Call{clawd.SessionStart("s"), clawd.ToolCall("s", "grep", `{"q":"ü"}`),
		clawd.Message("s", "user", `"hi"`), clawd.SessionEnd("s")} {
		if err := p.Call(ctx, c); err != nil {
			t.Errorf("%s: %v", c.Op, err)
		}
	}
	if s := p.Stats(); s.EventsSent != 1 {
		t.Errorf("events sent %d, want 1 (the tool call's)", s.EventsSent)
	}
	if err := p.Close(); err != nil {
		t.Error(err)
	}
	if r := cli(t, "check", dir); r.exit != 0 || !strings.Contains(r.stdout, "skip  hygiene.signals") {
		t.Fatalf("check %s: exit %d\n%s%s", dir, r.exit, r.stdout, r.stderr)
	}
	r = cli(t, "inspect", "--json", dir)
	if r.exit != 0 || !strings.Contains(r.stdout, `"runtime":"wasm"`) || !strings.Contains(r.stdout, `"grants":{"memory_limit_mb":256`) {
		t.Fatalf("inspect --json: exit %d\n%s%s", r.exit, r.stdout, r.stderr)
	}
}

// TestNewTargetRefusals: a target that does not exist, and rust+wasm,
// are usage errors (exit 2) that say what is valid.
func TestNewTargetRefusals(t *testing.T) {
	r := cli(t, "new", "--lang", "c", "--target", "arm", "x", filepath.Join(t.TempDir(), "x"))
	if r.exit != exitUsage || !strings.Contains(r.stderr, `unknown target "arm" (want one of native, wasm)`) {
		t.Errorf("--target arm: exit %d\n%s", r.exit, r.stderr)
	}
	dir := filepath.Join(t.TempDir(), "x")
	r = cli(t, "new", "--lang", "rust", "--target", "wasm", "x", dir)
	if r.exit != exitUsage || !strings.Contains(r.stderr, "the Rust route to a WASM plugin") || !strings.Contains(r.stderr, "documented") {
		t.Errorf("rust --target wasm: exit %d\n%s", r.exit, r.stderr)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("a refused new wrote %s (%v)", dir, err)
	}
}
