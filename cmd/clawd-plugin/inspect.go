package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/child"
	"github.com/clawd-go/clawd/internal/contain"
	"github.com/clawd-go/clawd/internal/vtable"
	"github.com/clawd-go/clawd/internal/wasmopt"
	"github.com/clawd-go/clawd/internal/wasmscan"
	"github.com/clawd-go/clawd/loader"
	"github.com/clawd-go/clawd/manifest"
	"github.com/clawd-go/clawd/wasm"
)

// inspectChildVerb is the hidden verb of the re-executed child: a hint for
// ps; the child goes by its hand-off (internal/child), role roleInspect.
const inspectChildVerb = "__inspect-child"

// roleInspect is the child role that opens one plugin; its argument is an
// inspectArgs.
const roleInspect = "inspect"

// inspectArgs is what the inspecting child opens: the library's (or
// module's) absolute path, and whether it is a WebAssembly module.
type inspectArgs struct {
	Lib  string `json:"lib"`
	WASM bool   `json:"wasm,omitempty"`
}

func init() { child.Register(roleInspect, inspectChild) }

const defaultTimeout = 10 * time.Second

// report is what the child sends back over the result pipe; the parent
// turns it into one of the two shapes of docs/cli.md (inspect --json).
type report struct {
	OK         bool          `json:"ok"`
	Name       string        `json:"name,omitempty"`
	Version    string        `json:"version,omitempty"`
	ABIVersion uint32        `json:"abi_version,omitempty"`
	Callbacks  []string      `json:"callbacks,omitempty"`
	Warnings   []string      `json:"warnings,omitempty"`
	Manifest   *manifestJSON `json:"manifest,omitempty"`
	Error      *errorJSON    `json:"error,omitempty"`
	// Sandbox is what the operating system enforced on the child that
	// opened the plugin: the process sandbox's confinement.
	Sandbox *contain.Report `json:"sandbox,omitempty"`
	// Runtime is the runtime a host runs the plugin in: "native",
	// "process" (the manifest's sandbox) or "wasm"; Grants what the wasm
	// sandbox gives it (wasm only). Set by the parent.
	Runtime string          `json:"-"`
	Grants  *wasmopt.Grants `json:"-"`
}

type errorJSON struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// The --json shapes: exactly these fields, and [] rather than null.
type okJSON struct {
	Schema     int             `json:"schema"`
	OK         bool            `json:"ok"`
	Name       string          `json:"name"`
	Version    string          `json:"version"`
	ABIVersion uint32          `json:"abi_version"`
	Callbacks  []string        `json:"callbacks"`
	Warnings   []string        `json:"warnings"`
	Manifest   *manifestJSON   `json:"manifest,omitempty"`
	Runtime    string          `json:"runtime"`
	Grants     *wasmopt.Grants `json:"grants,omitempty"`
}

// manifestJSON is what inspect shows of a plugin directory's manifest.
type manifestJSON struct {
	Path             string   `json:"path"`
	Name             string   `json:"name"`
	Version          string   `json:"version"`
	Runtime          string   `json:"runtime"`
	Entry            string   `json:"entry"`
	Capabilities     []string `json:"capabilities"`
	SignaturePresent bool     `json:"signature_present"` // the manifest carries a signature; whether it verifies is verify's question (host.PluginInfo.Signed means verified)
	Sandbox          string   `json:"sandbox"`
	Concurrent       bool     `json:"concurrent"`
}

type failJSON struct {
	Schema int       `json:"schema"`
	OK     bool      `json:"ok"`
	Error  errorJSON `json:"error"`
}

func inspect(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("inspect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print one JSON object")
	timeout := fs.Duration("timeout", defaultTimeout, "how long the plugin may take to load")
	fs.Usage = func() { printVerbHelp(stderr, "inspect", fs) }
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return flagFailure(err, args, stdout)
	}
	if len(pos) != 1 || *timeout <= 0 {
		msg := "--timeout must be positive"
		switch {
		case len(pos) == 0:
			msg = "missing LIB"
		case len(pos) > 1:
			msg = fmt.Sprintf("one LIB expected, got %d arguments", len(pos))
		}
		usageFailure(stdout, stderr, *asJSON, "inspect", "%s", msg)
		fs.Usage()
		return exitUsage
	}
	lib := pos[0]

	rep := inspectInChild(lib, *timeout)
	if *asJSON {
		writeJSON(stdout, rep)
	} else {
		writeHuman(stdout, lib, rep)
	}
	if !rep.OK {
		return exitInvalid
	}
	return exitOK
}

// inspectInChild opens lib in a child process and returns its report, or
// a failure report (crashed, timeout, unavailable) when it gave none.
func inspectInChild(lib string, timeout time.Duration) report {
	fail := func(err error) report {
		code := clawerr.CodeOf(err)
		if code == "" {
			code = clawerr.Unavailable
		}
		return report{Error: &errorJSON{Code: string(code), Message: err.Error()}}
	}
	// Absolute, so the dynamic loader does not search its path for a bare
	// file name, and the child's view matches ours.
	path, err := filepath.Abs(lib)
	if err != nil {
		return fail(clawerr.New(clawerr.OpenFailed, lib, "inspect", "", err))
	}
	var m *manifest.Manifest
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		if m, err = manifest.LoadDir(path); err != nil {
			return fail(err)
		}
		path = m.EntryPath()
	}
	runtime, grants := runtimeOf(path, m)
	exe, err := os.Executable()
	if err != nil {
		return fail(clawerr.New(clawerr.Unavailable, lib, "inspect", "cannot find this executable to re-run it", err))
	}
	// Ctrl-C goes to our process group only: without this the child (in a
	// group of its own) would outlive us, hanging forever on a hung plugin.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := child.Run(ctx, child.Spec{
		Path:     exe,
		Args:     []string{inspectChildVerb, path},
		Role:     roleInspect,
		RoleArgs: inspectArgs{Lib: path, WASM: runtime == clawd.RuntimeWasm},
		Timeout:  timeout,
		Contain:  inspectPolicy(path, m),
	})
	if err != nil {
		return fail(clawerr.New(clawerr.Unavailable, path, "inspect", "running the child process", err))
	}
	if err := res.Err(path, "inspect"); err != nil {
		return fail(err)
	}
	var rep report
	if err := json.Unmarshal(res.Payload, &rep); err != nil || (!rep.OK && rep.Error == nil) {
		return fail(clawerr.New(clawerr.Unavailable, path, "inspect", "the child process sent an unreadable report", err))
	}
	rep.Runtime, rep.Grants = runtime, grants
	if grants != nil {
		rep.Sandbox = nil // the child's confinement is not the guest's: Grants is
	}
	if m != nil && rep.OK {
		rep.Manifest = describeManifest(m)
		if m.Name != rep.Name {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("the manifest names the plugin %q, the library %q", m.Name, rep.Name))
		}
		if m.Version != rep.Version {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("the manifest says version %q, the library %q", m.Version, rep.Version))
		}
	}
	return rep
}

// runtimeOf is the runtime a host runs the plugin at path in, and for
// wasm what its sandbox grants: the manifest's capabilities, memory cap
// and call timeout, with the working directory as the project directory
// (as run's default --project).
func runtimeOf(path string, m *manifest.Manifest) (string, *wasmopt.Grants) {
	rt := clawd.RuntimeNative
	if m != nil {
		if placed, _, err := m.Placement(""); err == nil { // a loaded manifest names a known runtime
			rt = placed
		}
	} else if wasmscan.IsModuleFile(path) {
		rt = clawd.RuntimeWasm
	}
	if rt != clawd.RuntimeWasm {
		return rt, nil
	}
	var opts []clawd.Option
	if m != nil {
		wd, _ := os.Getwd()
		opts = append(opts, clawd.WithCapabilities(m.Capabilities...), clawd.WithProjectDir(wd),
			clawd.WithCallTimeout(m.CallTimeout), clawd.WithConcurrent(m.Concurrent))
		if m.MemoryLimitMB > 0 {
			opts = append(opts, clawd.WithMemoryLimitMB(m.MemoryLimitMB))
		}
	}
	g := wasmopt.GrantsFor(opts...)
	return rt, &g
}

// inspectPolicy confines the inspecting child as the process sandbox would
// confine the plugin: its own directories read-only, the working directory
// as the project under the manifest's fs grants, no TCP, the default
// limits (contain.Sandbox, the definition isolate uses). inspect then shows
// what this system enforced.
func inspectPolicy(lib string, m *manifest.Manifest) *contain.Policy {
	s := contain.Sandbox{Library: lib, AddressSpace: contain.DefaultAddressSpace, MaxProcesses: contain.DefaultMaxProcesses}
	if m != nil {
		s.PluginDir, s.Capabilities = m.Dir, m.Capabilities
		if wd, err := os.Getwd(); err == nil {
			s.ProjectDir = wd
		}
	}
	p := s.Policy()
	return &p
}

func describeManifest(m *manifest.Manifest) *manifestJSON {
	caps := make([]string, len(m.Capabilities))
	for i, c := range m.Capabilities {
		caps[i] = string(c)
	}
	_, sandbox, err := m.Placement("") // what a host reports (wasm whatever the manifest's sandbox says)
	if err != nil {
		sandbox = m.Sandbox
	}
	return &manifestJSON{Path: m.Path, Name: m.Name, Version: m.Version, Runtime: string(m.Runtime),
		Entry: m.Entry, Capabilities: caps, SignaturePresent: m.Signature != "", Sandbox: string(sandbox), Concurrent: m.Concurrent}
}

func writeJSON(w io.Writer, rep report) {
	var v any
	if rep.OK {
		v = okJSON{Schema: schemaVersion, OK: true, Name: rep.Name, Version: rep.Version, ABIVersion: rep.ABIVersion,
			Callbacks: nonNil(rep.Callbacks), Warnings: nonNil(rep.Warnings), Manifest: rep.Manifest,
			Runtime: rep.Runtime, Grants: rep.Grants}
	} else {
		v = failJSON{Schema: schemaVersion, Error: *rep.Error}
	}
	data, _ := json.Marshal(v) // plain structs of strings: cannot fail
	fmt.Fprintf(w, "%s\n", data)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func writeHuman(w io.Writer, lib string, rep report) {
	if rep.OK {
		fmt.Fprintf(w, "plugin:    %s %s\n", safe(rep.Name), safe(rep.Version))
		if rep.Manifest != nil {
			lib = filepath.Join(filepath.Dir(rep.Manifest.Path), rep.Manifest.Entry)
		}
		fmt.Fprintf(w, "library:   %s\n", lib)
		fmt.Fprintf(w, "runtime:   %s\n", rep.Runtime)
		fmt.Fprintf(w, "abi:       %d\n", rep.ABIVersion)
		cbs := "none"
		if len(rep.Callbacks) > 0 {
			cbs = strings.Join(rep.Callbacks, ", ")
		}
		fmt.Fprintf(w, "callbacks: %s\n", cbs)
		if len(rep.Warnings) == 0 {
			fmt.Fprintln(w, "warnings:  none")
		}
		for _, wn := range rep.Warnings {
			fmt.Fprintf(w, "warning:   %s\n", safe(wn))
		}
		if m := rep.Manifest; m != nil {
			fmt.Fprintf(w, "manifest:  %s (%s %s, runtime %s, sandbox %s)\n", m.Path, safe(m.Name), safe(m.Version), m.Runtime, m.Sandbox)
			caps := "none"
			if len(m.Capabilities) > 0 {
				caps = strings.Join(m.Capabilities, ", ")
			}
			sig := "none"
			if m.SignaturePresent {
				sig = "present (check it with " + self + " verify)"
			}
			fmt.Fprintf(w, "asks for:  %s\n", caps)
			fmt.Fprintf(w, "signature: %s\n", sig)
		}
	} else {
		fmt.Fprintf(w, "invalid:   %s\n", lib)
		fmt.Fprintf(w, "error:     %s\n", rep.Error.Code)
		// A crash report carries stderr lines: indent them under the message.
		fmt.Fprintf(w, "message:   %s\n", safeLines(withoutCode(rep.Error.Message, rep.Error.Code), "           "))
	}
	if rep.Sandbox != nil {
		fmt.Fprintf(w, "sandbox:   %s\n", rep.Sandbox)
	}
	if rep.Grants != nil {
		fmt.Fprintf(w, "sandbox:   wasm: %s\n", safe(rep.Grants.String()))
	}
	if rep.Grants != nil {
		fmt.Fprintln(w, "host:      wasm runtime (wazero, pure Go)")
		return
	}
	fmt.Fprintf(w, "host:      %s call path\n", vtable.Path)
}

// inspectChild runs in the re-executed child: it opens the plugin, reports
// over the result pipe and exits 0. A crash or a hang in the plugin ends
// this process, which the parent reports.
func inspectChild(raw json.RawMessage) int {
	var args inspectArgs
	if err := json.Unmarshal(raw, &args); err != nil || args.Lib == "" {
		fmt.Fprintln(os.Stderr, "clawd-plugin: "+inspectChildVerb+": the hand-off names no LIB")
		return exitUsage
	}
	// Plugin log lines go to stderr, where the parent keeps the last ones
	// for a crash or timeout message.
	enc := zap.NewDevelopmentEncoderConfig()
	enc.TimeKey = ""
	log := zap.New(zapcore.NewCore(zapcore.NewConsoleEncoder(enc), zapcore.Lock(os.Stderr), zapcore.DebugLevel))

	rep := inspectHere(args, log)
	if c, ok := contain.Applied(); ok {
		rep.Sandbox = &c
	}
	if err := child.Report(rep); err != nil {
		fmt.Fprintln(os.Stderr, "clawd-plugin: reporting to the parent:", err)
		return exitInvalid
	}
	return exitOK
}

// inspectHere opens the plugin in this process. It grants network.relay
// with a sink that accepts and drops events, as a permissive daemon would,
// so that a plugin whose on_load sends an event is not failed for it.
func inspectHere(args inspectArgs, log *zap.Logger) report {
	sink := clawd.SinkFunc(func(_ context.Context, ev clawd.Event) error {
		log.Debug("event (dropped by inspect)", zap.String("method", ev.Method))
		return nil
	})
	opts := []clawd.Option{clawd.WithLogger(log), clawd.WithEventSink(sink), clawd.WithCapabilities(abi.CapNetworkRelay)}
	var p clawd.Plugin
	var err error
	if args.WASM {
		p, err = openWASM(args.Lib, opts...)
	} else {
		p, err = openNative(args.Lib, opts...)
	}
	if err != nil {
		code := clawerr.CodeOf(err)
		if code == "" {
			code = clawerr.OpenFailed
		}
		return report{Error: &errorJSON{Code: string(code), Message: err.Error()}}
	}
	rep := report{OK: true, Name: p.Name(), Version: p.Version(), ABIVersion: p.ABIVersion()}
	for _, cb := range p.Callbacks() {
		rep.Callbacks = append(rep.Callbacks, cb.String())
	}
	rep.Warnings = p.Warnings()
	// Close too: on_unload is part of the plugin, and a crash there is a
	// crash of this inspection.
	if err := p.Close(); err != nil {
		rep.Warnings = append(rep.Warnings, "closing: "+err.Error())
	}
	return rep
}

// openWASM and openNative return an untyped nil Plugin on error.
func openWASM(path string, opts ...clawd.Option) (clawd.Plugin, error) {
	p, err := wasm.Open(path, opts...)
	if err != nil {
		return nil, err
	}
	return p, nil
}

func openNative(path string, opts ...clawd.Option) (clawd.Plugin, error) {
	p, err := loader.Open(path, opts...)
	if err != nil {
		return nil, err
	}
	return p, nil
}
