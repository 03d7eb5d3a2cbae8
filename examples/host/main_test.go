package main

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/cbuild"
	"github.com/clawd-go/clawd/isolate"
)

func TestMain(m *testing.M) {
	isolate.Main() // -sandbox re-executes this test binary as the child
	code := m.Run()
	cbuild.Cleanup()
	os.Exit(code)
}

func TestHelloSession(t *testing.T) {
	playSession(t, cbuild.Library(t, "examples/c/hello/hello.c"), "hello")
}

// The same session through the process sandbox prints the same lines, and
// one more that says which child runs the plugin and how it is confined.
func TestHelloSessionSandboxed(t *testing.T) {
	playSession(t, cbuild.Library(t, "examples/c/hello/hello.c"), "hello", "-sandbox")
}

// playSession plays the demo session through the plugin at lib with run
// and checks every line: the examples in every language log the same lines
// and send the same event, under their own name.
func playSession(t *testing.T, lib, name string, flags ...string) {
	t.Helper()
	var out bytes.Buffer
	if err := run(append([]string{"-plugin", lib}, flags...), &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	fields := "\t{\"plugin\": \"" + name + "\", \"version\": \"1.0.0\"}"
	want := []string{
		"INFO\thello plugin loaded" + fields,
		"loaded " + name + " 1.0.0 (ABI 1), callbacks: on_load, on_unload, on_session_start, on_session_end, on_tool_call, on_message",
		"INFO\tsession s1 started" + fields,
		"session_start s1: ok",
		`INFO	message from user: {"text":"find TODOs"}` + fields,
		"message s1 user: ok",
		`INFO	tool grep called with {"pattern":"TODO","path":"."}` + fields,
		"event " + name + ` hello.tool_called {"tool":"grep"}`,
		"tool_call s1 grep: ok",
		"INFO\tsession s1 ended" + fields,
		"session_end s1: ok",
		"stats: {EventsSent:1 EventsRefused:0 StaleLogs:0 StaleEvents:0 InvalidArgs:0 Panics:0 ",
		"INFO\tgoodbye" + fields,
		"close: ok",
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(flags) > 0 { // -sandbox: after on_load's line, the child's
		if len(lines) < 2 || !strings.HasPrefix(lines[1], "sandbox: child ") {
			t.Fatalf("no sandbox line:\n%s", out.String())
		}
		lines = append(lines[:1:1], lines[2:]...)
	}
	if len(lines) != len(want) {
		t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(want), out.String())
	}
	for i, w := range want {
		if lines[i] != w && !(strings.HasPrefix(w, "stats: ") && strings.HasPrefix(lines[i], w)) {
			t.Fatalf("line %d:\ngot  %q\nwant %q\nall:\n%s", i, lines[i], w, out.String())
		}
	}
}

func TestUsage(t *testing.T) {
	var out bytes.Buffer
	for _, args := range [][]string{nil, {"-plugin"}, {"-bogus"}, {"-plugin", "x", "extra"}} {
		if err := run(args, &out); err == nil || !strings.Contains(err.Error(), "usage: host -plugin PATH") {
			t.Errorf("%q: %v", args, err)
		}
	}
}

func TestOpenFailure(t *testing.T) {
	var out bytes.Buffer
	err := run([]string{"-plugin", "/nonexistent/libnothing.so"}, &out)
	if clawerr.CodeOf(err) != clawerr.OpenFailed {
		t.Fatalf("%v", err)
	}
}
