package conformance

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/child"
	"github.com/clawd-go/clawd/internal/contain"
	"github.com/clawd-go/clawd/internal/optdefaults"
	"github.com/clawd-go/clawd/manifest"
)

// Result is the verdict of one check. Its JSON form is the element of
// "checks" in the Report (docs/cli.md: check --json adds duration_ms): {"id","status","message"}.
type Result struct {
	ID       string        `json:"id"`
	Status   Status        `json:"status"`
	Message  string        `json:"message"`
	Duration time.Duration `json:"-"` // wall time of the check's child process; 0 if none ran
}

// Report is the outcome of a run. Its JSON form is what
// `clawd-plugin check --json` prints.
type Report struct {
	OK       bool     `json:"ok"` // no check failed (warnings allowed)
	Checks   []Result `json:"checks"`
	Library  string   `json:"-"` // the library checked ("" if the manifest gave none)
	Manifest string   `json:"-"` // the manifest file, "" if none
}

// Count returns how many checks have status s.
func (r *Report) Count(s Status) int {
	n := 0
	for _, c := range r.Checks {
		if c.Status == s {
			n++
		}
	}
	return n
}

// Option configures Run; the With* functions make them.
type Option interface{ apply(*options) }

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

type options struct {
	timeout     time.Duration
	only, skip  []string
	manifest    string
	keys        []ed25519.PublicKey
	concurrency int
	// The timing checks' budgets (zero: the defaults); only tests set
	// them, so that a verdict about something else never warns because
	// the machine was busy.
	loadBudget, callbackBudget time.Duration
	// uncontained runs the checks' children without the sandbox's
	// policy: for the tests of verdicts, which judge the plugin, not the
	// sandbox (the sandbox has tests of its own, and the suite's own
	// tests keep it).
	uncontained bool
}

// WithTimeout bounds each check's child process (default 10s).
// A check that runs longer fails with "timeout:".
func WithTimeout(d time.Duration) Option { return optionFunc(func(o *options) { o.timeout = d }) }

// Only runs only the checks whose id matches the regular expression; given
// more than once, a check matching any of them runs.
func Only(pattern string) Option {
	return optionFunc(func(o *options) { o.only = append(o.only, pattern) })
}

// Skip leaves out the checks whose id matches the regular expression.
// Checks left out do not appear in the report.
func Skip(pattern string) Option {
	return optionFunc(func(o *options) { o.skip = append(o.skip, pattern) })
}

// WithManifest checks the library against the manifest file at path (its
// name, capabilities, concurrency and signature) as if the library's
// directory had been given. Not needed when Run is given a directory.
func WithManifest(path string) Option { return optionFunc(func(o *options) { o.manifest = path }) }

// WithKeys gives the public keys manifest.signature verifies against.
// Without keys a signature can only be checked for form, and warns.
func WithKeys(keys ...ed25519.PublicKey) Option {
	return optionFunc(func(o *options) { o.keys = append(o.keys, keys...) })
}

// WithConcurrency sets how many checks run at once (default GOMAXPROCS).
// The timing checks measure wall time, so a machine that is busy with
// other work may want fewer.
func WithConcurrency(n int) Option { return optionFunc(func(o *options) { o.concurrency = n }) }

// Run checks the plugin at path, a shared library or a plugin directory
// with a manifest, and returns the report. The error is non-nil only when
// the suite cannot run at all (path missing, a bad pattern, the program
// cannot re-execute itself); a broken plugin is a report with failures.
// Cancelling ctx kills the checks' child processes and returns ctx's
// error.
//
// The suite re-executes the running program for each check: a program
// that calls Run (or RunT) calls isolate.Main first thing in main (or
// TestMain), the one child entry of this module, which runs the check
// when the process is one of the suite's children and exits.
func Run(ctx context.Context, path string, opts ...Option) (*Report, error) {
	o := options{timeout: optdefaults.CheckTimeout, concurrency: runtime.GOMAXPROCS(0)}
	for _, opt := range opts {
		if opt != nil {
			opt.apply(&o)
		}
	}
	if child.Role() == roleCheck {
		return nil, errors.New("conformance: Run called inside a conformance child process: call isolate.Main() first thing in main or TestMain")
	}
	if o.timeout <= 0 {
		return nil, errors.New("conformance: the timeout must be positive")
	}
	if o.concurrency < 1 {
		o.concurrency = 1
	}
	sel, err := selectChecks(o.only, o.skip)
	if err != nil {
		return nil, err
	}
	r, err := newRunner(ctx, path, &o)
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(r.tmp)
	return r.run(sel)
}

func selectChecks(only, skip []string) ([]*Check, error) {
	compile := func(pats []string) ([]*regexp.Regexp, error) {
		var res []*regexp.Regexp
		for _, p := range pats {
			re, err := regexp.Compile(p)
			if err != nil {
				return nil, fmt.Errorf("conformance: bad pattern %q: %w", p, err)
			}
			res = append(res, re)
		}
		return res, nil
	}
	onlyRE, err := compile(only)
	if err != nil {
		return nil, err
	}
	skipRE, err := compile(skip)
	if err != nil {
		return nil, err
	}
	match := func(res []*regexp.Regexp, id string) bool {
		for _, re := range res {
			if re.MatchString(id) {
				return true
			}
		}
		return false
	}
	var sel []*Check
	for i := range checks {
		c := &checks[i]
		if (len(onlyRE) == 0 || match(onlyRE, c.ID)) && !match(skipRE, c.ID) {
			sel = append(sel, c)
		}
	}
	return sel, nil
}

// runner is one run's parent side.
type runner struct {
	ctx     context.Context
	o       *options
	lib     string // "" when a manifest was given but names no usable entry
	noLib   string // why there is no library: the skip message's reason
	man     *manifest.Manifest
	manPath string // the manifest file, "" if none was found
	dir     string // the plugin directory, when one was given
	manErr  error
	f       facts
	probe   *probeResult
	exe     string
	args    []string
	tmp     string
	keysB64 []string
}

func newRunner(ctx context.Context, path string, o *options) (*runner, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("conformance: %w", err)
	}
	r := &runner{ctx: ctx, o: o, lib: abs}
	switch {
	case st.IsDir():
		r.lib, r.dir = "", abs
		r.f.manifestGiven = true
		if r.manPath, err = manifest.Find(abs); err == nil {
			r.man, err = manifest.Load(r.manPath)
		}
		r.manErr = err
	case o.manifest != "":
		r.f.manifestGiven = true
		if r.manPath, err = filepath.Abs(o.manifest); err == nil {
			r.man, err = manifest.Load(r.manPath)
		}
		r.manErr = err
	}
	if r.manErr != nil {
		r.noLib = codeOf(r.manErr, clawerr.ManifestInvalid)
	}
	if m := r.man; m != nil {
		r.f.manifest = true
		r.f.signed = m.Signature != "" || m.SHA256 != ""
		r.f.concurrent = m.Concurrent
		if st, err := os.Stat(m.EntryPath()); err == nil && st.Mode().IsRegular() {
			r.f.entryOK = true
			if r.lib == "" {
				r.lib = m.EntryPath()
			}
		} else if r.lib == "" {
			r.noLib = string(clawerr.OpenFailed) + " (the manifest's entry " + m.Entry + " is missing or not a file)"
		}
	}
	r.f.wasm = r.lib != "" && isWASM(r.lib, r.man)
	for _, k := range o.keys {
		r.keysB64 = append(r.keysB64, base64.StdEncoding.EncodeToString(k))
	}
	if r.exe, err = os.Executable(); err != nil {
		return nil, fmt.Errorf("conformance: cannot find this program to re-run it: %w", err)
	}
	// A test binary stops at its flags' end; -test.run=^$ keeps one whose
	// TestMain forgot isolate.Main from running every test again.
	if testing.Testing() {
		r.args = append(r.args, "-test.run=^$")
	}
	r.args = append(r.args, childVerb)
	if r.tmp, err = os.MkdirTemp("", "clawd-conformance-"); err != nil {
		return nil, err
	}
	return r, nil
}

func codeOf(err error, def clawerr.Code) string {
	if c := clawerr.CodeOf(err); c != "" {
		return string(c)
	}
	return string(def)
}

func (r *runner) run(sel []*Check) (*Report, error) {
	rep := &Report{Library: r.lib, Manifest: r.manPath, Checks: make([]Result, len(sel))}
	needProbe := false
	for _, c := range sel {
		needProbe = needProbe || c.needs > stageFile
	}
	if needProbe && r.lib != "" {
		if err := r.runProbe(); err != nil {
			return nil, err
		}
	}
	var jobs []int
	for i, c := range sel {
		rep.Checks[i] = Result{ID: c.ID}
		if why := r.skipReason(c); why != "" {
			rep.Checks[i].Status, rep.Checks[i].Message = StatusSkip, why
			continue
		}
		jobs = append(jobs, i)
	}

	sem := make(chan struct{}, r.o.concurrency)
	var wg sync.WaitGroup
	for _, i := range jobs {
		sem <- struct{}{}
		wg.Add(1)
		go func(i int) {
			defer func() { <-sem; wg.Done() }()
			rep.Checks[i] = r.runCheck(sel[i])
		}(i)
	}
	wg.Wait()
	if err := r.ctx.Err(); err != nil {
		return nil, err
	}
	rep.OK = rep.Count(StatusFail) == 0
	return rep, nil
}

// skipReason decides, before any child runs, whether c is skipped: the
// manifest does not load, the plugin does not get as far as c needs, or c
// does not apply.
func (r *runner) skipReason(c *Check) string {
	if r.f.manifestGiven && r.man == nil && c.ID != "manifest.valid" {
		if c.needs == stageNone {
			return "the manifest does not load: " + r.noLib
		}
		return "plugin does not load: " + r.noLib
	}
	if c.needs >= stageFile {
		if r.lib == "" {
			return "plugin does not load: " + r.noLib
		}
		if p := r.probe; c.needs > stageFile && p != nil && p.Reached < c.needs {
			return "plugin does not load: " + p.Code
		}
	}
	if why, no := notForWASM[c.ID]; no && r.f.wasm {
		return why
	}
	if c.ID == "manifest.signature" && r.f.manifest && !r.f.entryOK {
		return "the manifest's entry does not exist"
	}
	if c.applies != nil {
		return c.applies(&r.f)
	}
	return ""
}

// runProbe finds how far the plugin loads, and which callbacks it sets.
func (r *runner) runProbe() error {
	o, err := r.spawn(probeID)
	if err != nil {
		return err
	}
	switch {
	case o.res.Status != child.OK:
		// The probe got as far as its progress file says; what it read of
		// the table before dying is in the file's note.
		p := &probeResult{Reached: probeStage(o.where), Code: string(clawerr.Crashed)}
		if o.res.Status == child.TimedOut {
			p.Code = string(clawerr.Timeout)
		}
		if list, ok := strings.CutPrefix(o.note, callbacksNote); ok && list != "" {
			p.Callbacks = strings.Split(list, ",")
		}
		r.probe = p
	case o.cr == nil || o.cr.Probe == nil:
		return fmt.Errorf("conformance: the probe sent an unreadable result: %q", o.res.Payload)
	default:
		r.probe = o.cr.Probe
	}
	for _, name := range r.probe.Callbacks {
		for c := abi.Callback(0); c < abi.NumCallbacks; c++ {
			if c.String() == name {
				r.f.callbacks[c] = true
			}
		}
	}
	return nil
}

// runCheck runs c in its own child process and turns the outcome into a
// result: a crash or a timeout fails the check whatever its severity,
// except a crash of a check that provokes one (Check.crashWarns).
func (r *runner) runCheck(c *Check) Result {
	out := Result{ID: c.ID}
	o, err := r.spawn(c.ID)
	if err != nil {
		out.Status, out.Message = StatusFail, "cannot run the check: "+err.Error()
		return out
	}
	out.Duration = o.res.Duration
	switch {
	case o.res.Status == child.Crashed && c.crashWarns != "":
		out.Status, out.Message = StatusWarn, failure(o.res, o.where, r.o.timeout)+": "+c.crashWarns
	case o.res.Status != child.OK:
		out.Status, out.Message = StatusFail, failure(o.res, o.where, r.o.timeout)
	case o.cr == nil:
		out.Status, out.Message = StatusFail, fmt.Sprintf("the check's child process sent an unreadable result: %q", o.res.Payload)
	default:
		out.Status, out.Message = o.cr.Status, o.cr.Message
		if post := postChecks[c.ID]; post != nil {
			post(o.res, &out)
		}
	}
	return out
}

// postChecks look at what only the parent sees: the child's stdout.
var postChecks = map[string]func(*child.Result, *Result){
	"hygiene.stdout": func(res *child.Result, out *Result) {
		if res.Stdout == "" || out.Status != StatusPass {
			return
		}
		first, _, _ := strings.Cut(strings.TrimLeft(res.Stdout, "\n"), "\n")
		if len(first) > 120 {
			first = first[:120] + "…"
		}
		out.Status = StatusFail
		out.Message = fmt.Sprintf("the plugin wrote to stdout (%q...): stdout belongs to the host; log through ctx->log, or write to stderr", first)
	},
}

// outcome is what one child process left behind.
type outcome struct {
	res         *child.Result
	cr          *childResult // its report; nil if it sent none or an unreadable one
	where, note string       // its last progress line, and the note after it
}

// spawn runs one child for id. The error is non-nil only when the child
// could not be run at all (or the run was cancelled).
func (r *runner) spawn(id string) (*outcome, error) {
	f, err := os.CreateTemp(r.tmp, "progress-")
	if err != nil {
		return nil, err
	}
	f.Close()
	spec := childSpec{Check: id, Lib: r.lib, Manifest: r.manPath, Dir: r.dir, Keys: r.keysB64, Progress: f.Name(), WASM: r.f.wasm,
		LoadBudget: r.o.loadBudget, CallbackBudget: r.o.callbackBudget}
	if r.f.wasm {
		spec.CacheDir = filepath.Join(r.tmp, "wasm-cache")
	}
	res, err := child.Run(r.ctx, child.Spec{Path: r.exe, Args: r.args, Role: roleCheck, RoleArgs: spec,
		Env: childEnv(), Timeout: r.o.timeout, Contain: r.policy()})
	if err != nil {
		return nil, err
	}
	o := &outcome{res: res}
	o.where, o.note = readProgress(f.Name())
	if res.Status == child.OK {
		var cr childResult
		if err := json.Unmarshal(res.Payload, &cr); err == nil && cr.Status != "" {
			o.cr = &cr
		}
	}
	return o, nil
}

// readProgress returns the child's last "where" and its note.
func readProgress(path string) (where, note string) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", ""
	}
	where, note, _ = strings.Cut(string(b), "\n")
	return where, note
}

// failure words a crash or a timeout: "crashed: SIGSEGV in on_tool_call
// (...)", naming the signal and where the plugin was.
func failure(res *child.Result, where string, timeout time.Duration) string {
	var b strings.Builder
	switch {
	case res.Status == child.TimedOut:
		fmt.Fprintf(&b, "timeout: the check did not finish within %s", timeout)
	case res.Signal != "":
		b.WriteString("crashed: " + res.Signal)
	case res.ExitCode == 0:
		b.WriteString("crashed: the child process exited without a result (does the program call isolate.Main() first thing in main or TestMain?)")
	default:
		fmt.Fprintf(&b, "crashed: exit status %d", res.ExitCode)
	}
	switch {
	case strings.HasPrefix(where, "after ") || strings.HasPrefix(where, "while "):
		b.WriteString(" " + where)
	case where != "":
		b.WriteString(" in " + where)
	}
	if line := lastLogLine(res.Stderr); line != "" {
		b.WriteString("; last stderr line: " + line)
	}
	return b.String()
}

// lastLogLine is the last line of stderr before a Go runtime crash report:
// usually the plugin's own last words.
func lastLogLine(stderr string) string {
	last := ""
	for _, l := range strings.Split(stderr, "\n") {
		t := strings.TrimSpace(l)
		if runtimeReport(t) {
			break
		}
		if t != "" {
			last = t
		}
	}
	if len(last) > 200 {
		last = last[:200] + "…"
	}
	return last
}

func runtimeReport(l string) bool {
	if strings.HasPrefix(l, "fatal error: ") || strings.HasPrefix(l, "panic: ") ||
		strings.HasPrefix(l, "[signal ") || strings.HasPrefix(l, "signal arrived during") ||
		strings.HasPrefix(l, "[") && strings.Contains(l, "bytes of Go runtime traceback omitted") {
		return true
	}
	name, _, ok := strings.Cut(l, ": ")
	return ok && len(name) > 3 && strings.HasPrefix(name, "SIG") && strings.ToUpper(name) == name && !strings.ContainsAny(name, " \t")
}

// childEnv is our environment for a child. A race-enabled binary sleeps a
// second at exit (the race runtime's atexit_sleep_ms) unless told not to;
// the children exit by the dozen.
func childEnv() []string {
	env := os.Environ()
	for i, kv := range env {
		if v, ok := strings.CutPrefix(kv, "GORACE="); ok {
			if !strings.Contains(v, "atexit_sleep_ms") {
				env[i] = kv + " atexit_sleep_ms=0"
			}
			return env
		}
	}
	return append(env, "GORACE=atexit_sleep_ms=0")
}

// policy confines a check's child with the definition isolate uses for a
// sandboxed plugin (contain.Sandbox): its process tree (PID namespace,
// pids cgroup), no_new_privs, no core dumps. Not Landlock (nor signal
// scoping, which needs it): the
// checks themselves read and write outside the plugin's grants (the
// manifest's verified copy in a temporary directory), and the checks
// judge the plugin, not the sandbox. No address-space limit either: a
// race-enabled test binary reserves far more. The scratch directory stays
// in the grants for when Landlock applies.
func (r *runner) policy() *contain.Policy {
	if r.o.uncontained {
		return nil
	}
	caps := []abi.Capability(nil)
	if r.man != nil {
		caps = r.man.Capabilities
	}
	p := contain.Sandbox{
		Library: r.lib, PluginDir: r.dir, Capabilities: caps,
		MaxProcesses: contain.DefaultMaxProcesses,
		NoLandlock:   true,
	}.Policy()
	p.ReadWrite = append(p.ReadWrite, r.tmp)
	return &p
}

// withTimingBudgets sets the budgets of timing.load and timing.callbacks
// (the tests' way to keep them out of verdicts about something else).
func withTimingBudgets(load, callback time.Duration) Option {
	return optionFunc(func(o *options) { o.loadBudget, o.callbackBudget = load, callback })
}

// withoutContainment runs each check's child without the sandbox's policy
// (a test's way to judge many plugins quickly).
func withoutContainment() Option { return optionFunc(func(o *options) { o.uncontained = true }) }
