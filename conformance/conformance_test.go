package conformance_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"github.com/clawd-go/clawd/internal/sigkey"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/clawd-go/clawd/conformance"
	"github.com/clawd-go/clawd/internal/cbuild"
	"github.com/clawd-go/clawd/internal/manifestfile"
)

// verdict is what one plugin must get: exactly these failing and warning
// ids, everything else pass or skip.
type verdict struct {
	name string
	path func(t *testing.T) string
	opts []conformance.Option

	fail, warn []string
	// notLoaded: the code every check that needs the plugin loaded is
	// skipped with ("plugin does not load: CODE"); "" means it loads.
	notLoaded string
	// messages: id -> a prefix its message must start with.
	messages map[string]string
	// timed: the timing checks run with their real budgets. Other
	// verdicts give them a minute, so that a busy machine cannot add a
	// timing warning to a verdict about something else.
	timed bool
	// contained: the checks' children run in the sandbox, as the
	// command line runs them (see runOpts).
	contained bool
}

func plugin(name string, flags ...string) func(*testing.T) string {
	return func(t *testing.T) string { return cbuild.Plugin(t, name, flags...) }
}

// onLinux keeps ids that only Linux can observe (signal actions, threads).
func onLinux(ids ...string) []string {
	if runtime.GOOS != "linux" {
		return nil
	}
	return ids
}

// signalsMessage is what hygiene.signals says of testplugins/signals.c,
// which installs SIGUSR1 and SIGSEGV handlers without SA_ONSTACK.
func signalsMessage() map[string]string {
	if runtime.GOOS != "linux" {
		return nil
	}
	return map[string]string{"hygiene.signals": "the plugin changed the action of SIGUSR1 (a handler without SA_ONSTACK), SIGSEGV (a handler without SA_ONSTACK): leave signal handling to the host; a handler without SA_ONSTACK aborts a Go host on the next signal"}
}

// hello builds examples/c/hello into a plugin directory with its manifest,
// changed by edit.
func hello(edit func(t *testing.T, dir string, m map[string]any)) func(*testing.T) string {
	return func(t *testing.T) string {
		root, err := cbuild.RepoRoot()
		if err != nil {
			t.Fatal(err)
		}
		return pluginDir(t, cbuild.Library(t, "examples/c/hello/hello.c"), "libhello"+cbuild.LibExt,
			filepath.Join(root, "examples/c/hello/clawd-plugin.json"), edit)
	}
}

// pluginDir copies lib into a new directory as entry and writes the
// manifest read from manifestPath (or a minimal one), changed by edit.
func pluginDir(t *testing.T, lib, entry, manifestPath string, edit func(*testing.T, string, map[string]any)) string {
	t.Helper()
	dir := t.TempDir()
	data, err := os.ReadFile(lib)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, entry), data, 0o755); err != nil {
		t.Fatal(err)
	}
	m := map[string]any{"runtime": "dylib", "signature": ""}
	if manifestPath != "" {
		raw, err := os.ReadFile(manifestPath)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
	}
	m["entry"] = entry
	if edit != nil {
		edit(t, dir, m)
	}
	out, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, manifestfile.JSONName), out, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// dirFor puts a test plugin in a directory with a manifest.
func dirFor(name string, fields map[string]any) func(*testing.T) string {
	return func(t *testing.T) string {
		return pluginDir(t, cbuild.Plugin(t, name), "lib"+name+cbuild.LibExt, "", func(_ *testing.T, _ string, m map[string]any) {
			m["name"], m["version"] = name, "1.0.0"
			for k, v := range fields {
				m[k] = v
			}
		})
	}
}

var signer = func() ed25519.PrivateKey {
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		panic(err)
	}
	return priv
}()

func sign(t *testing.T, dir string, m map[string]any) {
	data, err := os.ReadFile(filepath.Join(dir, m["entry"].(string)))
	if err != nil {
		t.Fatal(err)
	}
	m["signature"] = sigkey.Sign(signer, data)
}

func otherKey() ed25519.PublicKey {
	pub, _, err := ed25519.GenerateKey(nil)
	if err != nil {
		panic(err)
	}
	return pub
}

// nullCtx warns for the test plugins that call ctx->log or send_event
// without testing ctx for NULL first: they would crash in the reference
// daemon, which passes NULL (examples/c/hello tests it, and passes).
const nullCtx = "compat.null_context"

func verdicts() []verdict {
	return []verdict{
		// The good ones pass everything that applies to them.
		{name: "echo", warn: []string{nullCtx}, path: plugin("echo"), messages: map[string]string{
			nullCtx: "crashed: SIGSEGV in on_load (NULL context): the reference daemon passes a NULL context to every callback, so this plugin crashes there: check ctx for NULL"}},
		{name: "minimal", path: plugin("minimal")},
		{name: "examples/c/hello", contained: true, path: hello(nil), messages: map[string]string{
			nullCtx: "every callback survives a NULL context, as the reference daemon passes one"}},
		{name: "echo concurrent", warn: []string{nullCtx}, path: dirFor("echo", map[string]any{"concurrent": true, "capabilities": []string{"network.relay"}})},
		{name: "not_reentrant serialized", path: plugin("not_reentrant")},
		{name: "hello signed", path: hello(sign), opts: []conformance.Option{conformance.WithKeys(signer.Public().(ed25519.PublicKey))}},

		// What the loader refuses: the owner check fails, the rest skip.
		{name: "bad_abi", path: plugin("bad_abi"), fail: []string{"init.abi_version"}, notLoaded: "abi_mismatch"},
		{name: "reserved_slot", path: plugin("reserved_slot"), fail: []string{"init.reserved"}, notLoaded: "reserved_slot_set"},
		{name: "bad_name_utf8", path: plugin("bad_name_utf8"), fail: []string{"strings.name"}, notLoaded: "bad_name"},
		{name: "bad_name_unterminated", path: plugin("bad_name_unterminated"), fail: []string{"strings.name"}, notLoaded: "bad_name"},
		{name: "bad_version", path: plugin("bad_version"), fail: []string{"strings.version"}, notLoaded: "bad_version"},
		{name: "init_null", path: plugin("init_null"), fail: []string{"init.non_null"}, notLoaded: "init_null"},
		{name: "missing_init", path: plugin("missing_init"), fail: []string{"export.init"}, warn: []string{"export.namespace"}, notLoaded: "missing_init"},
		{name: "on_load_fails", path: plugin("on_load_fails"), fail: []string{"lifecycle.on_load"}, notLoaded: "on_load_failed",
			messages: map[string]string{"lifecycle.on_load": "on_load returned InitFailed (1)"}},
		{name: "crash_init", contained: true, path: plugin("crash_init"), fail: []string{"init.non_null"}, notLoaded: "crashed",
			messages: map[string]string{"init.non_null": "crashed: SIGSEGV in clawd_plugin_init"}},
		{name: "exit_init", path: plugin("exit_init"), fail: []string{"init.non_null"}, notLoaded: "crashed",
			messages: map[string]string{"init.non_null": "crashed: exit status 3 in clawd_plugin_init"}},
		{name: "hang_init", contained: true, path: plugin("hang_init"), opts: []conformance.Option{conformance.WithTimeout(1500 * time.Millisecond)},
			fail: []string{"lifecycle.on_load"}, notLoaded: "timeout",
			messages: map[string]string{"lifecycle.on_load": "timeout: the check did not finish within 1.5s in on_load"}},

		// What loads but breaks a rule: exactly that rule fails.
		{name: "bad_name_unterminated 255", warn: []string{nullCtx}, path: plugin("bad_name_unterminated", "-DTERMINATE_AT=255"), fail: []string{"strings.name"}},
		{name: "null_name", warn: []string{nullCtx}, path: plugin("null_name"), fail: []string{"strings.name", "strings.version"}},
		{name: "null_name NULL_VERSION", warn: []string{nullCtx}, path: plugin("null_name", "-DNULL_VERSION"), fail: []string{"strings.name", "strings.version"}},
		{name: "init_twice", path: plugin("init_twice"), fail: []string{"init.idempotent"}},
		{name: "unknown_code", path: plugin("unknown_code"), fail: []string{"callbacks.codes"}},
		{name: "bad_args", path: plugin("bad_args"), fail: []string{"context.log_levels", "context.params_object"}},
		{name: "log_level", warn: []string{nullCtx}, path: plugin("log_level"), fail: []string{"context.log_levels"}},
		{name: "keep_context", warn: []string{nullCtx}, path: plugin("keep_context"), fail: []string{"context.stale"}},
		{name: "use_after_unload", warn: []string{nullCtx}, path: plugin("use_after_unload"), fail: []string{"lifecycle.unload_once"}},
		{name: "signals", warn: []string{nullCtx}, path: plugin("signals"), fail: onLinux("hygiene.signals"), messages: signalsMessage()},
		{name: "signals in constructor", warn: []string{nullCtx}, path: plugin("signals", "-DSIGNALS_IN_CONSTRUCTOR"), fail: onLinux("hygiene.signals"), messages: signalsMessage()},
		{name: "process_state", contained: true, warn: []string{nullCtx}, path: plugin("process_state"), fail: []string{"hygiene.cwd_env_umask"}},
		{name: "stdout_noise", warn: []string{nullCtx}, path: plugin("stdout_noise"), fail: []string{"hygiene.stdout"}},
		{name: "fragile on empty strings", path: plugin("fragile", "-DFRAGILE_EMPTY"), fail: []string{"callbacks.empty_strings"},
			messages: map[string]string{"callbacks.empty_strings": "crashed: SIGSEGV in on_tool_call (empty strings)"}},
		{name: "fragile on UTF-8", path: plugin("fragile", "-DFRAGILE_UTF8"), fail: []string{"callbacks.utf8"}},
		{name: "fragile on deep JSON", path: plugin("fragile", "-DFRAGILE_DEEP"), fail: []string{"callbacks.deep_json"}},
		{name: "tool_call_segv", path: plugin("tool_call_segv"), fail: []string{"callbacks.large_input"},
			messages: map[string]string{"callbacks.large_input": "crashed: SIGSEGV in on_tool_call (1 MiB JSON)"}},
		{name: "not_reentrant concurrent", path: dirFor("not_reentrant", map[string]any{"concurrent": true}),
			fail:     []string{"concurrency.threads"},
			messages: map[string]string{"concurrency.threads": "crashed: SIGABRT in concurrent calls from 4 threads"}},
		{name: "hook_use declared", path: dirFor("hook_use", map[string]any{"hooks": []string{"tool_call"}}),
			messages: map[string]string{"context.hooks": "1 verdict, from inside the callbacks, with valid payloads"}},
		{name: "hook_use undeclared", path: dirFor("hook_use", nil), fail: []string{"context.hooks"},
			messages: map[string]string{"context.hooks": "the plugin gives verdicts in tool_call, but its manifest does not ask for them: add hooks = [\"tool_call\"]"}},
		{name: "hook_use outside", warn: []string{nullCtx}, path: plugin("hook_use", "-DHOOK_OUTSIDE"), fail: []string{"context.hooks"},
			messages: map[string]string{"context.hooks": "1 hook event was refused: a verdict counts only from inside on_tool_call or on_message"}},
		{name: "hook_use invalid", path: plugin("hook_use", "-DHOOK_INVALID"), fail: []string{"context.hooks"},
			messages: map[string]string{"context.hooks": "1 hook event had an invalid payload"}},
		{name: "hello without network.relay", path: hello(func(_ *testing.T, _ string, m map[string]any) { m["capabilities"] = []string{} }),
			fail: []string{"context.relay"}},
		{name: "hello named otherwise", path: hello(func(_ *testing.T, _ string, m map[string]any) { m["name"], m["version"] = "other", "2.0.0" }),
			fail: []string{"strings.manifest_name"}, warn: []string{"strings.manifest_version"}},
		{name: "hello signed, no key", path: hello(sign), warn: []string{"manifest.signature"}},
		{name: "hello signed, wrong key", path: hello(sign), opts: []conformance.Option{conformance.WithKeys(otherKey())},
			fail: []string{"manifest.signature"}},
		{name: "manifest invalid", path: hello(func(_ *testing.T, _ string, m map[string]any) { m["capabilities"] = []string{"net"} }),
			fail: []string{"manifest.valid"}, notLoaded: "capability_unknown"},
		{name: "directory without a manifest", path: func(t *testing.T) string {
			dir := pluginDir(t, cbuild.Plugin(t, "echo"), "libecho"+cbuild.LibExt, "", nil)
			if err := os.Remove(filepath.Join(dir, manifestfile.JSONName)); err != nil {
				t.Fatal(err)
			}
			return dir
		}, fail: []string{"manifest.valid"}, notLoaded: "manifest_invalid",
			messages: map[string]string{"manifest.valid": "clawd: "}},
		{name: "entry missing", path: hello(func(t *testing.T, dir string, m map[string]any) {
			if err := os.Remove(filepath.Join(dir, m["entry"].(string))); err != nil {
				t.Fatal(err)
			}
		}), fail: []string{"manifest.entry"}, notLoaded: "open_failed (the manifest's entry libhello" + cbuild.LibExt + " is missing or not a file)"},

		// Advice: warnings only.
		{name: "bench", path: plugin("bench"), warn: []string{"export.namespace"}},
		{name: "lingering_thread", contained: true, path: plugin("lingering_thread"), warn: append(onLinux("lifecycle.threads"), nullCtx)},
		{name: "slow", timed: true, path: plugin("slow"), warn: []string{nullCtx, "timing.load", "timing.callbacks"},
			opts: []conformance.Option{conformance.WithConcurrency(8)}}, // it sleeps, it does not compute
	}
}

// TestVerdicts runs the suite on every test plugin and the example, and
// checks each one's exact verdicts.
func TestVerdicts(t *testing.T) {
	all := verdicts()
	if runtime.GOOS == "linux" {
		all = append(all, verdict{name: "once_only", warn: []string{nullCtx}, path: plugin("once_only", "-Wl,-z,nodelete"), fail: []string{"lifecycle.reopen"}})
	}
	covered := map[string]bool{}
	for _, v := range all {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			rep, err := conformance.Run(context.Background(), v.path(t), v.runOpts()...)
			if err != nil {
				t.Fatal(err)
			}
			checkVerdict(t, v, rep)
		})
		for _, id := range append(v.fail, v.warn...) {
			covered[id] = true
		}
	}
	// Every check is shown to catch something (or, for the ones only
	// Linux can observe, is known not to here).
	for _, c := range conformance.Checks() {
		if !covered[c.ID] && (runtime.GOOS == "linux" || (c.ID != "hygiene.signals" && c.ID != "lifecycle.threads")) {
			t.Errorf("no plugin in the table makes %s fail or warn", c.ID)
		}
	}
}

func checkVerdict(t *testing.T, v verdict, rep *conformance.Report) {
	t.Helper()
	if len(rep.Checks) != len(conformance.Checks()) {
		t.Errorf("%d results, want one per check (%d)", len(rep.Checks), len(conformance.Checks()))
	}
	var fails, warns []string
	for _, c := range rep.Checks {
		switch c.Status {
		case conformance.StatusFail:
			fails = append(fails, c.ID)
		case conformance.StatusWarn:
			warns = append(warns, c.ID)
		case conformance.StatusPass, conformance.StatusSkip:
		default:
			t.Errorf("%s: status %q", c.ID, c.Status)
		}
		if c.Message == "" {
			t.Errorf("%s: empty message", c.ID)
		}
		if want, ok := v.messages[c.ID]; ok && !strings.HasPrefix(c.Message, want) {
			t.Errorf("%s: message %q, want it to start with %q", c.ID, c.Message, want)
		}
		notLoaded, dependent := strings.CutPrefix(c.Message, "plugin does not load: ")
		switch {
		case dependent && c.Status != conformance.StatusSkip:
			t.Errorf("%s: %s with %q, want skip", c.ID, c.Status, c.Message)
		case dependent && notLoaded != v.notLoaded:
			t.Errorf("%s: skipped for %q, want %q", c.ID, notLoaded, v.notLoaded)
		}
	}
	if v.notLoaded != "" && rep.Count(conformance.StatusSkip) == 0 {
		t.Errorf("nothing skipped for a plugin that does not load")
	}
	if v.notLoaded != "" {
		if c := result(rep, "hygiene.stdout"); c.Status != conformance.StatusSkip {
			t.Errorf("hygiene.stdout is %s for a plugin that does not load (%s)", c.Status, c.Message)
		}
	}
	if !sameSet(fails, v.fail) || !sameSet(warns, v.warn) {
		t.Errorf("fail %v, warn %v; want fail %v, warn %v\n%s", fails, warns, v.fail, v.warn, dump(rep))
	}
	if rep.OK != (len(v.fail) == 0) {
		t.Errorf("ok = %v with failures %v", rep.OK, fails)
	}
}

func result(rep *conformance.Report, id string) conformance.Result {
	for _, c := range rep.Checks {
		if c.ID == id {
			return c
		}
	}
	return conformance.Result{}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	sort.Strings(a)
	sort.Strings(b)
	return slices.Equal(a, b)
}

func dump(rep *conformance.Report) string {
	var b strings.Builder
	for _, c := range rep.Checks {
		fmt.Fprintf(&b, "  %-4s %-26s %s\n", c.Status, c.ID, c.Message)
	}
	return b.String()
}

// TestCrashFailsOnlyItsCheck: a plugin that segfaults in on_tool_call on
// a large input fails that check with the signal named, and every other
// check ran in its own process and reported.
func TestCrashFailsOnlyItsCheck(t *testing.T) {
	rep, err := conformance.Run(context.Background(), cbuild.Plugin(t, "tool_call_segv"))
	if err != nil {
		t.Fatal(err)
	}
	ran := 0
	for _, c := range rep.Checks {
		if c.ID == "callbacks.large_input" {
			if c.Status != conformance.StatusFail || !strings.HasPrefix(c.Message, "crashed: SIGSEGV") {
				t.Errorf("callbacks.large_input: %s %q", c.Status, c.Message)
			}
			continue
		}
		if c.Status == conformance.StatusFail {
			t.Errorf("%s failed too: %s", c.ID, c.Message)
		}
		if c.Duration > 0 {
			ran++
		}
	}
	if ran < 20 {
		t.Errorf("only %d other checks ran a child process\n%s", ran, dump(rep))
	}
}

func TestOnlyAndSkip(t *testing.T) {
	echo := cbuild.Plugin(t, "echo")
	ids := func(rep *conformance.Report) []string {
		var out []string
		for _, c := range rep.Checks {
			out = append(out, c.ID)
		}
		return out
	}
	rep, err := conformance.Run(context.Background(), echo, conformance.Only(`^init\.`), conformance.Skip(`reserved`))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"init.non_null", "init.idempotent", "init.abi_version"}; !reflect.DeepEqual(ids(rep), want) {
		t.Errorf("ids %v, want %v", ids(rep), want)
	}
	rep, err = conformance.Run(context.Background(), echo, conformance.Only(`^export\.`), conformance.Only(`^manifest\.valid$`))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"export.init", "export.namespace", "manifest.valid"}; !reflect.DeepEqual(ids(rep), want) {
		t.Errorf("ids %v, want %v", ids(rep), want)
	}
	if _, err := conformance.Run(context.Background(), echo, conformance.Only(`(`)); err == nil {
		t.Error("a bad pattern was accepted")
	}
}

func TestRunErrors(t *testing.T) {
	if _, err := conformance.Run(context.Background(), filepath.Join(t.TempDir(), "nope.so")); err == nil {
		t.Error("a missing path was accepted")
	}
	if _, err := conformance.Run(context.Background(), cbuild.Plugin(t, "echo"), conformance.WithTimeout(0)); err == nil {
		t.Error("a zero timeout was accepted")
	}
}

// TestWithManifest checks a library against a manifest kept elsewhere.
func TestWithManifest(t *testing.T) {
	dir := dirFor("echo", map[string]any{"name": "not-echo", "capabilities": []string{}})(t)
	rep, err := conformance.Run(context.Background(), cbuild.Plugin(t, "echo"), conformance.WithManifest(filepath.Join(dir, manifestfile.JSONName)),
		conformance.WithTimingBudgets(time.Minute, time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	checkVerdict(t, verdict{fail: []string{"strings.manifest_name", "context.relay"}, warn: []string{nullCtx}}, rep)
	if rep.Manifest == "" {
		t.Error("the report does not name the manifest")
	}
}

func TestReportJSON(t *testing.T) {
	rep, err := conformance.Run(context.Background(), cbuild.Plugin(t, "bad_abi"), conformance.Only(`^init\.(abi_version|reserved)$`))
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"ok":false,"checks":[` +
		`{"id":"init.abi_version","status":"fail","message":"abi_version is 2: set it to CLAWD_PLUGIN_ABI_VERSION (1), and build against include/clawd_plugin.h for ABI v1"},` +
		`{"id":"init.reserved","status":"skip","message":"plugin does not load: abi_mismatch"}]}`
	if string(data) != want {
		t.Errorf("JSON\n%s\nwant\n%s", data, want)
	}
}

func TestChecksAreStable(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range conformance.Checks() {
		if seen[c.ID] {
			t.Errorf("duplicate id %s", c.ID)
		}
		seen[c.ID] = true
		if c.Description == "" || (c.Severity != conformance.SeverityFail && c.Severity != conformance.SeverityWarn) {
			t.Errorf("%s: description %q, severity %q", c.ID, c.Description, c.Severity)
		}
	}
	if len(seen) != 34 {
		t.Errorf("%d checks; a check added or removed must update the docs and this count", len(seen))
	}
}

// recorder is a testing.TB that records what RunT reports.
type recorder struct {
	testing.TB
	errors, logs []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, a ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, a...))
}
func (r *recorder) Logf(format string, a ...any) { r.logs = append(r.logs, fmt.Sprintf(format, a...)) }
func (r *recorder) Fatalf(format string, a ...any) {
	r.errors = append(r.errors, "FATAL "+fmt.Sprintf(format, a...))
}

func TestRunT(t *testing.T) {
	conformance.RunT(t, cbuild.Plugin(t, "echo"), conformance.Only(`^(export|init)\.`))

	r := &recorder{TB: t}
	conformance.RunT(r, cbuild.Plugin(t, "missing_init"), conformance.Only(`^export\.`))
	if len(r.errors) != 1 || !strings.HasPrefix(r.errors[0], "export.init: clawd_plugin_init is not exported") {
		t.Errorf("errors %q", r.errors)
	}
	if len(r.logs) != 1 || !strings.HasPrefix(r.logs[0], "warning: export.namespace: ") {
		t.Errorf("logs %q", r.logs)
	}
}

// runOpts are v's options: with generous timing budgets unless v.timed,
// and without the sandbox unless v.contained (or timed): the verdicts
// judge the plugin, and a child without the sandbox's namespaces and
// second image starts in half the time. The contained ones keep the
// path the command line takes covered.
func (v verdict) runOpts() []conformance.Option {
	if v.timed {
		return v.opts
	}
	opts := []conformance.Option{conformance.WithTimingBudgets(time.Minute, time.Minute)}
	if !v.contained {
		opts = append(opts, conformance.WithoutContainment())
	}
	return append(opts, v.opts...)
}
