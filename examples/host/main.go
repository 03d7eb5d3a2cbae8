// Command host is a small Go host for ClawD plugins, built on package
// loader directly: it opens one plugin, plays a session through it and
// prints what happens. With -sandbox the plugin runs in a child process
// (package isolate) behind the same calls.
//
//	go run ./examples/host -plugin examples/c/hello/libhello.so
//	go run ./examples/host -plugin examples/c/hello/libhello.so -sandbox
//
// Plugin log lines go to a zap console logger on stdout; events the plugin
// sends are printed as "event <plugin> <method> <params>".
//
// Traces and metrics: a program built on package host passes
// host.WithObserver an observer; the OpenTelemetry one is the module
// github.com/clawd-go/clawd/otel, whose Example (otel/example_test.go)
// wires it to the stdout trace exporter. It is a module of its own so that
// this one, the library's, depends on no OpenTelemetry package.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/isolate"
	_ "github.com/clawd-go/clawd/loader" // registers the native runtime
)

func main() {
	isolate.Main() // first: with -sandbox this program is also the plugin's child
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "host:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("host", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are returned, not printed twice
	path := fs.String("plugin", "", "path of the plugin library")
	sandbox := fs.Bool("sandbox", false, "run the plugin in a child process")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w (usage: host -plugin PATH)", err)
	}
	if *path == "" || fs.NArg() > 0 {
		return errors.New("usage: host -plugin PATH")
	}
	// Absolute: a bare file name would make the dynamic loader search its
	// library path instead of the current directory.
	lib, err := filepath.Abs(*path)
	if err != nil {
		return err
	}

	// One locked writer for the logger and our own lines: a plugin may log
	// or send events from its own threads.
	out := zapcore.Lock(zapcore.AddSync(stdout))
	enc := zap.NewDevelopmentEncoderConfig()
	enc.TimeKey = "" // stable output
	logger := zap.New(zapcore.NewCore(zapcore.NewConsoleEncoder(enc), out, zapcore.DebugLevel))

	sink := clawd.SinkFunc(func(_ context.Context, ev clawd.Event) error {
		// ev is a copy: it may be kept or handed to another goroutine.
		fmt.Fprintf(out, "event %s %s %s\n", ev.Plugin, ev.Method, ev.Params)
		return nil // nil: the plugin's send_event returns CLAWA_ERROR_NONE
	})

	runtime := clawd.RuntimeNative
	if *sandbox {
		runtime = clawd.RuntimeProcess
	}
	// One call for every runtime: the registry picks loader or isolate.
	p, err := clawd.Open(runtime, lib,
		clawd.WithLogger(logger),
		clawd.WithEventSink(sink),
		clawd.WithCapabilities(abi.CapNetworkRelay)) // allows send_event
	if err != nil {
		// A *clawerr.Error: clawerr.CodeOf(err) is its stable code (crashed
		// or timeout if a sandbox child died or hung while loading).
		return err
	}
	if s, ok := p.(clawd.Supervised); ok {
		c, _ := p.(clawd.Contained)
		fmt.Fprintf(out, "sandbox: child %d, %s\n", s.PID(), c.Containment())
	}
	names := make([]string, 0, abi.NumCallbacks)
	for _, cb := range p.Callbacks() {
		names = append(names, cb.String())
	}
	fmt.Fprintf(out, "loaded %s %s (ABI %d), callbacks: %s\n", p.Name(), p.Version(), p.ABIVersion(), strings.Join(names, ", "))
	for _, w := range p.Warnings() {
		fmt.Fprintf(out, "warning: %s\n", w)
	}

	ctx := context.Background()
	var failed error
	step := func(what string, err error) {
		if err != nil {
			fmt.Fprintf(out, "%s: error: %v\n", what, err)
			failed = errors.Join(failed, err)
			return
		}
		fmt.Fprintf(out, "%s: ok\n", what)
	}
	step("session_start s1", p.Call(ctx, clawd.SessionStart("s1")))
	step("message s1 user", p.Call(ctx, clawd.Message("s1", "user", `{"text":"find TODOs"}`)))
	step("tool_call s1 grep", p.Call(ctx, clawd.ToolCall("s1", "grep", `{"pattern":"TODO","path":"."}`)))
	step("session_end s1", p.Call(ctx, clawd.SessionEnd("s1")))

	fmt.Fprintf(out, "stats: %+v\n", p.Stats())
	step("close", p.Close()) // on_unload, then the library is closed
	return failed
}
