package main

import (
	"context"
	"errors"
	"flag"
	"github.com/clawd-go/clawd/internal/sigkey"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/host"
	"github.com/clawd-go/clawd/manifest"
)

func init() { verbs["run"] = runVerb }

// stdin is where run reads its script by default; a variable for tests.
var stdin io.Reader = os.Stdin

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// runVerb is `clawd-plugin run`: a host that loads the plugins of the
// given directories, plays an event script through them and prints their
// logs, their events and each event's outcome, then a summary.
func runVerb(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var dirs multiFlag
	fs.Var(&dirs, "plugins", "a directory of plugin directories (repeatable)")
	var files multiFlag
	fs.Var(&files, "plugin", "one plugin directory `DIR` (native, process or wasm, as its manifest says), or a WebAssembly module without a manifest, run with no capabilities (repeatable)")
	events := fs.String("events", "", "the event script (JSON lines); default stdin")
	sandbox := fs.String("sandbox", "native", "process: every plugin in a child process of its own; native: as each manifest says")
	project := fs.String("project", ".", "the project directory fs.read and fs.write grant to sandboxed plugins")
	watch := fs.Bool("watch", false, "reload plugins when their files change; run until interrupted")
	asJSON := fs.Bool("json", false, "print one JSON object per line")
	policy := fs.String("trust", "warn", "signature policy: require, warn or off")
	var pubs multiFlag
	fs.Var(&pubs, "pub", "a trusted public key file (repeatable)")
	var locks multiFlag
	fs.Var(&locks, "lock", "a lock file (clawd.lock) whose plugins must match it (repeatable; each --plugins DIR's DIR/clawd.lock is used when present)")
	verbose := fs.Bool("v", false, "show debug log lines")
	strict := fs.Bool("strict", false, "exit 1 when a script line is bad or a call fails, not only when a plugin fails to load")
	metricsAddr := fs.String("metrics", "", "serve the plugins' metrics in the Prometheus text format at http://`ADDR`/metrics while run runs (host:port; port 0 picks one)")
	fs.Usage = func() { printVerbHelp(stderr, "run", fs) }
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return flagFailure(err, args, stdout)
	}
	if len(pos) > 0 {
		return usageFailure(stdout, stderr, *asJSON, "run", "unexpected argument %q", pos[0])
	}
	if *sandbox != string(manifest.SandboxNative) && *sandbox != string(manifest.SandboxProcess) {
		return usageFailure(stdout, stderr, *asJSON, "run", "--sandbox must be native or process, not %q", *sandbox)
	}
	if len(dirs) > 0 || len(files) == 0 {
		if code := checkPluginDirs(dirs, *asJSON, stdout, stderr); code != exitOK {
			return code
		}
	}
	ones, files, code := splitPluginArgs(files, *asJSON, stdout, stderr)
	if code != exitOK {
		return code
	}
	if len(dirs) == 0 && len(files) == 0 && len(ones) == 0 {
		dirs = multiFlag{"plugins"}
	}
	trust := manifest.Trust{}
	if trust.Policy, err = manifest.ParsePolicy(*policy); err != nil {
		return usageFailure(stdout, stderr, *asJSON, "run", "--trust: %v", err)
	}
	for _, f := range pubs {
		k, err := sigkey.ReadPublicKeyFile(f)
		if err != nil {
			return usageFailure(stdout, stderr, *asJSON, "run", "--pub %s: %v", f, err)
		}
		trust.Keys = append(trust.Keys, k)
	}
	script := stdin
	if *events != "" {
		f, err := os.Open(*events)
		if err != nil {
			return usageFailure(stdout, stderr, *asJSON, "run", "--events: %v", err)
		}
		defer f.Close()
		script = f
	}

	pr := &printer{w: stdout, json: *asJSON}
	if len(files) > 0 {
		root, err := bareModules(files)
		if err != nil {
			pr.print(errorRecord(err))
			return exitInvalid
		}
		defer os.RemoveAll(root)
		dirs = append(dirs, root)
	}
	level := zapcore.InfoLevel
	if *verbose {
		level = zapcore.DebugLevel
	}
	sum := &summary{}
	sink := clawd.SinkFunc(func(_ context.Context, ev clawd.Event) error {
		pr.print(record{Type: "event", Plugin: ev.Plugin, Version: ev.Version, Method: ev.Method, Params: ev.Params})
		return nil
	})
	hostOpts := []host.Option{}
	for _, d := range dirs {
		hostOpts = append(hostOpts, host.WithLockFile(filepath.Join(d, "clawd.lock")))
	}
	for _, d := range ones { // an installed plugin's lock is its parent's
		hostOpts = append(hostOpts, host.WithLockFile(filepath.Join(filepath.Dir(d), "clawd.lock")))
	}
	for _, l := range locks {
		hostOpts = append(hostOpts, host.WithLockFile(l))
	}
	h, err := host.New(append(hostOpts,
		host.WithPluginOptions(
			clawd.WithLogger(zap.New(&core{p: pr, level: level})),
			clawd.WithEventSink(sink),
			clawd.WithProjectDir(*project), // this program is the sandbox child: isolate.Main runs first in main
		),
		host.WithPluginDirs(dirs...),
		host.WithTrust(trust),
		host.WithWatch(*watch),
		host.WithSandbox(manifest.Sandbox(*sandbox)),
	)...)
	if err != nil {
		pr.print(errorRecord(err))
		return exitInvalid
	}
	defer h.Close()
	if *metricsAddr != "" {
		url, stop, err := serveMetrics(*metricsAddr, h)
		if err != nil {
			pr.print(record{Type: "error", Code: string(clawerr.InvalidArgument), Error: "--metrics: " + err.Error()})
			return exitInvalid
		}
		defer stop()
		pr.print(record{Type: "log", Level: "info", Source: "host", Msg: "serving metrics", Fields: map[string]any{"url": url}})
	}
	ctx := context.Background()
	loadErr := h.Load(ctx)
	for _, d := range ones { // a failure is a failed row of the registry too
		loadErr = errors.Join(loadErr, h.Add(d))
	}
	infos := h.Plugins()
	sum.Plugins = len(infos)
	for _, in := range infos {
		r := record{Type: "plugin", Plugin: in.Name, Version: in.Version, State: in.State.String(), Sandbox: string(in.Sandbox)}
		if in.Containment != nil {
			r.Sandbox += ": " + in.Containment.String()
		}
		if in.State == host.StatusFailed {
			sum.Failed++
		}
		if in.State == host.StatusActive && in.Sandbox == manifest.SandboxNative {
			note("native", in.Name, in.Version) // in this process: a crash of its is ours
		}
		if in.Reason != nil {
			r.setErr(in.Reason)
		}
		pr.print(r)
	}
	if sum.Plugins == 0 {
		r := noPlugins(dirs)
		pr.print(r)
		if !*watch || r.Code == codePluginDir {
			return exitInvalid // nothing to play the script to
		}
	}
	if script == stdin {
		noteStdin(stderr)
	}
	// Armed before the script: an interrupt during it ends the run as
	// one after it does.
	var interrupted chan os.Signal
	if *watch {
		interrupted = make(chan os.Signal, 1)
		signal.Notify(interrupted, os.Interrupt, syscall.SIGTERM)
		defer signal.Stop(interrupted)
	}
	if *watch { // from now on, show every reload and stop as it happens
		trans, cancel := h.Subscribe()
		defer cancel()
		go printTransitions(pr, trans)
	}

	err = readScript(script, func(s *step, err error) {
		if err != nil {
			sum.BadLines++
			r := record{Type: "error", Error: err.Error()}
			if se, ok := err.(*scriptError); ok {
				r.Line, r.Error = se.Line, se.Msg
			}
			pr.print(r)
			return
		}
		sum.Events++
		note("step", strconv.Itoa(s.Line), s.Event)
		play(ctx, h, pr, s, sum)
	})
	if err != nil {
		pr.print(record{Type: "error", Error: "reading the script: " + err.Error()})
	}
	if *watch {
		<-interrupted
	}
	final := h.Plugins()
	if *watch { // plugins added or failed while watching count too
		sum.Plugins, sum.Failed = len(final), 0
		for _, in := range final {
			if in.State == host.StatusFailed {
				sum.Failed++
			}
		}
	}
	note("close")
	if err := h.Close(); err != nil { // on_unload of each plugin, before the summary
		pr.print(record{Type: "error", Error: "closing: " + err.Error()})
	}
	// The counts are read after Close: what on_unload sent counts too.
	for _, in := range h.Plugins() {
		sum.EventsSent += int(in.Stats.Context.EventsSent)
	}
	pr.print(record{Type: "summary", Summary: sum})
	if loadErr != nil || sum.Failed > 0 || (*strict && (sum.BadLines > 0 || sum.CallsFailed > 0)) {
		return exitInvalid
	}
	return exitOK
}

// play dispatches one scripted event to every plugin and prints each
// plugin's outcome.
func play(ctx context.Context, h *host.Host, pr *printer, s *step, sum *summary) {
	pr.print(record{Type: "step", Line: s.Line, Event: s.Event, Session: s.Session, Tool: s.Tool, Role: s.Role})
	var outs []host.Outcome
	switch s.Event {
	case "session_start":
		outs = h.Call(ctx, clawd.SessionStart(s.Session))
	case "session_end":
		outs = h.Call(ctx, clawd.SessionEnd(s.Session))
	case "tool_call", "message": // through the hooks, with a verdict (verdict.go)
		playHook(ctx, h, pr, s, sum)
		return
	}
	for _, o := range outs {
		us := o.Duration.Round(time.Microsecond).Microseconds()
		ok := o.Err == nil
		r := record{Type: "outcome", Plugin: o.Plugin, Version: o.Version, OK: &ok, Micros: &us, Event: s.Event, Line: s.Line}
		if ok {
			sum.CallsOK++
		} else {
			sum.CallsFailed++
			r.setErr(o.Err)
		}
		pr.print(r)
	}
}

func printTransitions(pr *printer, trans <-chan host.Transition) {
	for t := range trans {
		r := record{Type: "plugin", Plugin: t.Plugin, Version: t.Version, State: t.To.String()}
		if t.Reload {
			r.State = "reloaded"
		}
		if t.Reason != nil {
			r.setErr(t.Reason)
			if t.Reload {
				r.State = "reload failed"
			}
		}
		pr.print(r)
	}
}
