package conformance

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/child"
	"github.com/clawd-go/clawd/loader"
	"github.com/clawd-go/clawd/manifest"
	"github.com/clawd-go/clawd/wasm"
)

// childVerb is the argument a check's child process is started with. It
// is a hint for people reading ps; the child goes by the hand-off.
const childVerb = "__conformance-child"

// roleCheck is the child role (internal/child) that runs one check; its
// arguments are a childSpec.
const roleCheck = "conformance-check"

func init() { child.Register(roleCheck, childMain) }

// probeID names the first child of a run, which finds how far the plugin
// loads; it is not a check.
const probeID = "probe"

// childSpec is what the parent tells a child.
type childSpec struct {
	Check    string   `json:"check"`
	Lib      string   `json:"lib,omitempty"`
	Manifest string   `json:"manifest,omitempty"` // the manifest file; "" if none was found
	Dir      string   `json:"dir,omitempty"`      // the plugin directory, if one was given
	Keys     []string `json:"keys,omitempty"`     // base64 Ed25519 public keys
	Progress string   `json:"progress,omitempty"` // file the child writes where it is
	WASM     bool     `json:"wasm,omitempty"`     // Lib is a WebAssembly module: open it in the wasm runtime
	// CacheDir is the run's own compilation cache of a WebAssembly
	// module: the probe compiles it, every later check reuses the code.
	// It lives in the run's scratch directory and goes with it.
	CacheDir string `json:"cache_dir,omitempty"`
	// The timing checks' budgets; zero: the defaults.
	LoadBudget     time.Duration `json:"load_budget,omitempty"`
	CallbackBudget time.Duration `json:"callback_budget,omitempty"`
}

// childResult is what a child reports.
type childResult struct {
	Status  Status       `json:"status"`
	Message string       `json:"message"`
	Probe   *probeResult `json:"probe,omitempty"`
}

// probeResult is how far the plugin loads.
type probeResult struct {
	Reached   stage    `json:"reached"`
	Code      string   `json:"code,omitempty"` // why it got no further: a clawerr code
	Callbacks []string `json:"callbacks,omitempty"`
}

func childMain(raw json.RawMessage) int {
	var spec childSpec
	if err := json.Unmarshal(raw, &spec); err != nil {
		fmt.Fprintln(os.Stderr, "conformance: bad child spec:", err)
		return 2
	}
	c := &cenv{spec: spec}
	if spec.Progress != "" {
		c.prog, _ = os.OpenFile(spec.Progress, os.O_WRONLY, 0)
	}
	// Plugin log lines go to stderr: the parent quotes the last one when
	// the plugin crashes. Nothing of ours goes to stdout (hygiene.stdout).
	enc := zap.NewDevelopmentEncoderConfig()
	enc.TimeKey = ""
	c.core = zapcore.NewCore(zapcore.NewConsoleEncoder(enc), zapcore.Lock(os.Stderr), zapcore.DebugLevel)
	// manifest.valid loads the manifest itself: it is the check that may
	// find it broken. The others run only when it loaded in the parent.
	if spec.Manifest != "" && spec.Check != "manifest.valid" {
		m, err := manifest.Load(spec.Manifest)
		if err != nil {
			fmt.Fprintln(os.Stderr, "conformance: the manifest no longer loads:", err)
			return 2
		}
		c.man = m
	}
	var res childResult
	checks := childChecks
	if spec.WASM {
		checks = wasmChecks
	}
	if spec.Check == probeID {
		if spec.WASM {
			res = probeWASM(c)
		} else {
			res = probe(c)
		}
	} else if f := checks[spec.Check]; f != nil {
		res = f(c)
		if why := c.fault(); why != "" && res.Status != StatusFail {
			res = fail("%s: a WASM plugin must not trap or run past its deadline on any input", why)
		}
	} else {
		fmt.Fprintln(os.Stderr, "conformance: unknown check", spec.Check)
		return 2
	}
	c.at("after the check finished")
	if err := child.Report(res); err != nil {
		fmt.Fprintln(os.Stderr, "conformance: reporting to the parent:", err)
		return 2
	}
	return 0
}

// cenv is the child's side of one check.
type cenv struct {
	spec childSpec
	man  *manifest.Manifest
	prog *os.File
	note string // a second progress line: what the probe learnt, should it crash later
	core zapcore.Core

	// The first call that faulted without ending this process: a trap or
	// a deadline in the wasm runtime, which returns crashed or timeout
	// where a shared library would have killed the child.
	faultMu    sync.Mutex
	firstFault string
}

// faulted records err if it is a contained fault of the call labelled
// label. Safe for concurrent use (concurrency.threads).
func (c *cenv) faulted(label string, err error) {
	if code := clawerr.CodeOf(err); code != clawerr.Crashed && code != clawerr.Timeout {
		return
	}
	c.faultMu.Lock()
	defer c.faultMu.Unlock()
	if c.firstFault == "" {
		c.firstFault = fmt.Sprintf("%s in %s: %v", clawerr.CodeOf(err), label, err)
	}
}

func (c *cenv) fault() string {
	c.faultMu.Lock()
	defer c.faultMu.Unlock()
	return c.firstFault
}

// at records where the child is, so that a crash or a hang can be told
// apart: "crashed: SIGSEGV in on_tool_call (1 MiB input_json)". The file
// survives the process; one write per step, no fsync needed.
func (c *cenv) at(where string) {
	if c.prog != nil {
		line := where + "\n" + c.note
		_, _ = c.prog.WriteAt([]byte(line), 0)
		_ = c.prog.Truncate(int64(len(line)))
	}
}

// observe adds an in-memory copy of the plugin's log lines.
func (c *cenv) observe() *observer.ObservedLogs {
	obs, logs := observer.New(zapcore.DebugLevel)
	c.core = zapcore.NewTee(c.core, obs)
	return logs
}

// relay reports whether a host would grant network.relay: a manifest's
// capabilities decide; without a manifest, it is granted, so that code that
// sends events is exercised.
func (c *cenv) relay() bool {
	if c.man == nil {
		return true
	}
	for _, cp := range c.man.Capabilities {
		if cp == abi.CapNetworkRelay {
			return true
		}
	}
	return false
}

// open loads the plugin as a host would: the manifest's capabilities and
// concurrency, and a sink that accepts every event; a WASM module in the
// wasm runtime (its manifest's memory cap and call timeout), a shared
// library in this process.
func (c *cenv) open(extra ...clawd.Option) (clawd.Plugin, error) {
	p, err := c.openRaw(extra...)
	if c.spec.WASM {
		c.faulted("opening the module (on_load)", err) // where a shared library would have killed the child
	}
	return p, err
}

// openRaw is open without recording a fault.
func (c *cenv) openRaw(extra ...clawd.Option) (clawd.Plugin, error) {
	opts := []clawd.Option{
		clawd.WithLogger(zap.New(c.core)),
		clawd.WithEventSink(clawd.SinkFunc(func(context.Context, clawd.Event) error { return nil })),
	}
	if c.relay() {
		opts = append(opts, clawd.WithCapabilities(abi.CapNetworkRelay))
	}
	if c.man != nil && c.man.Concurrent {
		opts = append(opts, clawd.WithConcurrent(true))
	}
	opts = append(opts, extra...)
	if c.spec.WASM {
		if m := c.man; m != nil {
			if m.MemoryLimitMB > 0 {
				opts = append(opts, clawd.WithMemoryLimitMB(m.MemoryLimitMB))
			}
			if m.CallTimeout > 0 {
				opts = append(opts, clawd.WithCallTimeout(m.CallTimeout))
			}
		}
		if c.spec.CacheDir != "" {
			opts = append(opts, wasm.WithCacheDir(c.spec.CacheDir))
		}
		p, err := wasm.Open(c.spec.Lib, opts...)
		if err != nil {
			return nil, err // an untyped nil in the interface
		}
		return p, nil
	}
	p, err := loader.Open(c.spec.Lib, opts...)
	if err != nil {
		return nil, err
	}
	return p, nil
}

func pass(format string, args ...any) childResult {
	return childResult{Status: StatusPass, Message: fmt.Sprintf(format, args...)}
}

func fail(format string, args ...any) childResult {
	return childResult{Status: StatusFail, Message: fmt.Sprintf(format, args...)}
}

func warn(format string, args ...any) childResult {
	return childResult{Status: StatusWarn, Message: fmt.Sprintf(format, args...)}
}

func skip(format string, args ...any) childResult {
	return childResult{Status: StatusSkip, Message: fmt.Sprintf(format, args...)}
}

// budget is set, or def when the run left it at zero.
func (s *childSpec) budget(set, def time.Duration) time.Duration {
	if set > 0 {
		return set
	}
	return def
}
