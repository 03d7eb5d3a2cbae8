package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/clawd-go/clawd/internal/cbuild"
	"github.com/clawd-go/clawd/internal/child"
	"github.com/clawd-go/clawd/internal/contain"
	"github.com/clawd-go/clawd/internal/vtable"
	"github.com/clawd-go/clawd/isolate"
)

// testCLIEnv names a prebuilt clawd-plugin for the tests to run instead of
// building one.
const testCLIEnv = "CLAWD_TEST_CLI"

// bin is the command built once by TestMain: inspect re-executes itself,
// which a test binary cannot stand in for.
var bin string

func TestMain(m *testing.M) {
	isolate.Main() // run --sandbox process, called in this test binary, re-executes it
	// Where no go command runs (a test binary under an emulator), the
	// harness builds the command for the target and names it.
	if bin = os.Getenv(testCLIEnv); bin == "" {
		bin = filepath.Join("tmp", "clawd-plugin")
		out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
		if err != nil {
			fmt.Fprintf(os.Stderr, "building clawd-plugin: %v\n%s", err, out)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll("tmp")
	cbuild.Cleanup()
	os.Exit(code)
}

// segvName is how a crash report names a NULL dereference: the signal on
// Unix, the exception on Windows.
var segvName = map[bool]string{false: "SIGSEGV", true: "exception 0xC0000005 (access violation)"}[runtime.GOOS == "windows"]

type result struct {
	stdout, stderr string
	exit           int
}

func cli(t *testing.T, args ...string) result {
	t.Helper()
	cmd := child.Exec(bin, args...) // through the emulator's launcher, if any
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.exit = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return r
}

// inspectJSON runs inspect --json and decodes stdout, which must hold
// exactly one JSON object and nothing else.
func inspectJSON(t *testing.T, wantExit int, args ...string) (map[string]any, result) {
	t.Helper()
	r := cli(t, append([]string{"inspect", "--json"}, args...)...)
	if r.exit != wantExit {
		t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.exit, wantExit, r.stdout, r.stderr)
	}
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		t.Fatalf("stdout is not a JSON object: %v\n%s", err, r.stdout)
	}
	if _, err := dec.Token(); err != io.EOF || !strings.HasSuffix(r.stdout, "}\n") || strings.Count(r.stdout, "\n") != 1 {
		t.Fatalf("stdout holds more than one JSON object:\n%s", r.stdout)
	}
	return obj, r
}

func keys(m map[string]any) []string { return slices.Sorted(maps.Keys(m)) }

var allCallbacks = []any{"on_load", "on_unload", "on_session_start", "on_session_end", "on_tool_call", "on_message"}

func wantOK(t *testing.T, obj map[string]any, name, version string, callbacks []any) {
	t.Helper()
	want := map[string]any{
		"schema": float64(1), "ok": true, "name": name, "version": version, "abi_version": float64(1),
		"callbacks": callbacks, "warnings": []any{}, "runtime": "native",
	}
	if !reflect.DeepEqual(obj, want) {
		t.Fatalf("got  %#v\nwant %#v", obj, want)
	}
}

// wantError checks the failure shape and returns the message.
func wantError(t *testing.T, obj map[string]any, code string) string {
	t.Helper()
	if got := keys(obj); !reflect.DeepEqual(got, []string{"error", "ok", "schema"}) || obj["ok"] != false || obj["schema"] != float64(1) {
		t.Fatalf("failure object: %#v", obj)
	}
	e, _ := obj["error"].(map[string]any)
	if got := keys(e); !reflect.DeepEqual(got, []string{"code", "message"}) {
		t.Fatalf("error object: %#v", obj["error"])
	}
	if e["code"] != code {
		t.Fatalf("code %v, want %s; message: %v", e["code"], code, e["message"])
	}
	msg, _ := e["message"].(string)
	return msg
}

func TestInspectEcho(t *testing.T) {
	obj, _ := inspectJSON(t, 0, cbuild.Plugin(t, "echo"))
	wantOK(t, obj, "echo", "1.0.0", allCallbacks)
}

func TestInspectMinimal(t *testing.T) {
	obj, r := inspectJSON(t, 0, cbuild.Plugin(t, "minimal"))
	wantOK(t, obj, "minimal", "0.1.0", []any{})
	if !strings.Contains(r.stdout, `"callbacks":[]`) || !strings.Contains(r.stdout, `"warnings":[]`) {
		t.Fatalf("empty lists must be [] not null: %s", r.stdout)
	}
}

func TestInspectStdoutNoise(t *testing.T) {
	// The plugin prints to stdout, even a line that looks like a reply.
	obj, r := inspectJSON(t, 0, cbuild.Plugin(t, "stdout_noise"))
	wantOK(t, obj, "stdout_noise", "1.0.0", allCallbacks)
	if strings.Contains(r.stdout+r.stderr, "stdout_noise:") {
		t.Fatalf("the plugin's stdout leaked:\nstdout: %s\nstderr: %s", r.stdout, r.stderr)
	}
}

func TestInspectBadABI(t *testing.T) {
	obj, _ := inspectJSON(t, 1, cbuild.Plugin(t, "bad_abi"))
	if msg := wantError(t, obj, "abi_mismatch"); !strings.Contains(msg, "abi_version is 2") {
		t.Fatalf("message: %s", msg)
	}
}

func TestInspectCrashInInit(t *testing.T) {
	obj, _ := inspectJSON(t, 1, cbuild.Plugin(t, "crash_init"))
	msg := wantError(t, obj, "crashed")
	if !strings.Contains(msg, "signal SIGSEGV") && !strings.Contains(msg, "signal SIGBUS") && !strings.Contains(msg, segvName) {
		t.Fatalf("message does not name the signal: %s", msg)
	}
}

func TestInspectExitInInit(t *testing.T) {
	obj, _ := inspectJSON(t, 1, cbuild.Plugin(t, "exit_init"))
	if msg := wantError(t, obj, "crashed"); !strings.Contains(msg, "exited with status 3") {
		t.Fatalf("message: %s", msg)
	}
}

func TestInspectHangTimesOut(t *testing.T) {
	// on_load never returns: an inspect that did not kill it at the
	// deadline would never exit, and the test binary's -timeout would fail
	// the test. The message names the deadline that fired, --timeout's and
	// not the default. The plugin's log line before it hung is in the
	// message; a machine too busy to reach on_load before the deadline
	// gets an inspect with twice the timeout, so what is asserted does not
	// depend on its speed.
	for timeout := 500 * time.Millisecond; ; timeout *= 2 {
		obj, _ := inspectJSON(t, 1, "--timeout", timeout.String(), cbuild.Plugin(t, "hang_init"))
		msg := wantError(t, obj, "timeout")
		if !strings.Contains(msg, "within "+timeout.String()) {
			t.Fatalf("message: %s", msg)
		}
		if strings.Contains(msg, "hanging") {
			break
		}
		t.Logf("killed before on_load (%s): again with twice the timeout", msg)
	}
}

func TestInspectNotALibrary(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notalib.so")
	if err := os.WriteFile(path, []byte("just text\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	obj, _ := inspectJSON(t, 1, path)
	wantError(t, obj, "open_failed")

	// A directory is a plugin directory: without a manifest it is invalid.
	obj, _ = inspectJSON(t, 1, t.TempDir())
	if msg := wantError(t, obj, "manifest_invalid"); !strings.Contains(msg, "no plugin.toml or clawd-plugin.json") {
		t.Fatal(msg)
	}
}

func TestInspectHuman(t *testing.T) {
	lib := cbuild.Plugin(t, "echo")
	sandbox := contain.Probe(contain.Policy{Landlock: true, DenyTCP: true, ScopeSignals: true, NoCoreDumps: true, AddressSpace: 1, MaxProcesses: contain.DefaultMaxProcesses, DenySockets: true, DenySyscalls: true, PrivateHome: true}).String()
	r := cli(t, "inspect", lib)
	if runtime.GOOS == "windows" {
		// The child's job object and token are not this process's, so
		// Probe here cannot tell its line: it is the child's own report,
		// which names its job and its restricted token.
		_, rest, _ := strings.Cut(r.stdout, "sandbox:   ")
		line, _, _ := strings.Cut(rest, "\n")
		if !strings.HasPrefix(line, "job object (") || !strings.Contains(line, "restricted token") {
			t.Fatalf("sandbox line %q\n%s", line, r.stdout)
		}
		sandbox = line
	}
	want := "plugin:    echo 1.0.0\n" +
		"library:   " + lib + "\n" +
		"runtime:   native\n" +
		"abi:       1\n" +
		"callbacks: on_load, on_unload, on_session_start, on_session_end, on_tool_call, on_message\n" +
		"warnings:  none\n" +
		"sandbox:   " + sandbox + "\n" +
		"host:      " + vtable.Path + " call path\n"
	if r.exit != 0 || r.stdout != want {
		t.Fatalf("exit %d\ngot:\n%s\nwant:\n%s", r.exit, r.stdout, want)
	}

	r = cli(t, "inspect", cbuild.Plugin(t, "bad_abi"))
	if r.exit != 1 || !strings.Contains(r.stdout, "error:     abi_mismatch\n") {
		t.Fatalf("exit %d\n%s", r.exit, r.stdout)
	}
}

// A flag after the library is read. The timeout is minutes: the inspect
// must succeed, and a busy machine must not make it miss its deadline.
func TestInspectFlagsAfterLib(t *testing.T) {
	obj, _ := inspectJSON(t, 0, cbuild.Plugin(t, "minimal"), "--timeout", "10m")
	wantOK(t, obj, "minimal", "0.1.0", []any{})
}

func TestUsage(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		stderr string
	}{
		{nil, "usage: clawd-plugin"},
		{[]string{"frobnicate"}, `unknown verb "frobnicate"`},
		{[]string{"inspect"}, "missing LIB"},
		{[]string{"inspect", "a.so", "b.so"}, "one LIB expected"},
		{[]string{"inspect", "--bogus", "a.so"}, "unknown flag --bogus"},
		{[]string{"inspect", "--timeout", "0s", "a.so"}, "--timeout must be positive"},
		{[]string{"check"}, "missing LIB or DIR"},
		{[]string{"new", "x"}, "new: missing --lang"},
		{[]string{"run", "--sandbox", "vm"}, `--sandbox must be native or process, not "vm"`},
	} {
		r := cli(t, tc.args...)
		if r.exit != 2 || r.stdout != "" || !strings.Contains(r.stderr, tc.stderr) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want 2 and %q", tc.args, r.exit, r.stdout, r.stderr, tc.stderr)
		}
	}
	// Under --json the failure is on stdout too, as an object with a code.
	r := cli(t, "inspect", "--json")
	if r.exit != 2 || r.stdout != `{"schema":1,"ok":false,"error":{"code":"usage","message":"missing LIB"}}`+"\n" || !strings.Contains(r.stderr, "missing LIB") {
		t.Errorf("inspect --json: exit %d, stdout %q, stderr %q", r.exit, r.stdout, r.stderr)
	}
}

// The hidden child verb does nothing unless started by internal/child.
func TestChildVerbNeedsParent(t *testing.T) {
	r := cli(t, inspectChildVerb, "x.so")
	if r.exit != 2 || !strings.Contains(r.stderr, "unknown verb") {
		t.Fatalf("exit %d stderr %q", r.exit, r.stderr)
	}
}

func TestRunInProcess(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"help"}, &out, &errb); code != 0 || !strings.Contains(out.String(), "inspect [--json] [--timeout DUR] LIB") {
		t.Fatalf("help: %d %q", code, out.String())
	}
	if code := run([]string{"sign"}, &out, &errb); code != 2 {
		t.Fatalf("sign: %d", code)
	}
}
