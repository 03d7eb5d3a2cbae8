package conformance

import "github.com/clawd-go/clawd/abi"

// Status is the verdict of one check.
type Status string

// The four verdicts. Only StatusFail makes a report fail.
const (
	StatusPass Status = "pass"
	StatusFail Status = "fail"
	StatusWarn Status = "warn"
	StatusSkip Status = "skip" // the check does not apply to this plugin
)

// Severity is what a violation of a check costs: SeverityFail fails the
// report, SeverityWarn only warns.
type Severity string

// The two severities.
const (
	SeverityFail Severity = "fail"
	SeverityWarn Severity = "warn"
)

// Check describes one check of the suite. IDs are stable: tools and CI
// configurations select checks by them (Only, Skip, --only, --skip).
type Check struct {
	ID          string
	Description string   // one line: what the check verifies
	Severity    Severity // the status a violation gets
	needs       stage    // how far the plugin must load for the check to run
	applies     applies  // when the check applies; nil: always
	// crashWarns, if set, is why a crash of the check's child is only a
	// warning (what the check provokes is a crash elsewhere, not here),
	// added to the crash's message. A timeout still fails.
	crashWarns string
}

// stage is how far a plugin gets on its way to a loaded plugin. The probe
// (the first child process of a run) finds the furthest stage; a check
// whose stage was not reached is skipped with "plugin does not load: CODE",
// so a broken plugin fails only the check that owns its first failure.
type stage int

const (
	stageFile   stage = iota // a library file exists (the checks that own opening it)
	stageOpen                // the dynamic loader opened it
	stageSymbol              // clawd_plugin_init is exported
	stageInit                // clawd_plugin_init returned a table
	stageABI                 // abi_version is 1: the rest of the table can be read
	stageValid               // the table passes the loader's validation
	stageLoaded              // loader.Open succeeded, on_load included
	stageNone   stage = -1   // needs no library at all (manifest checks)
)

// facts are what the parent knows before it starts a check's child: the
// manifest and the probe's findings.
type facts struct {
	manifestGiven bool // a directory or WithManifest: the manifest checks apply
	manifest      bool // the manifest loaded and validated
	entryOK       bool // its entry exists
	signed        bool // it carries a signature or a sha256 pin
	concurrent    bool // it says concurrent = true
	wasm          bool // the plugin is a WebAssembly module (the wasm runtime)
	callbacks     [abi.NumCallbacks]bool
}

// applies returns "" when the check applies, or why it does not (the skip
// message).
type applies func(f *facts) string

func anyOf(cbs ...abi.Callback) applies {
	return func(f *facts) string {
		for _, c := range cbs {
			if f.callbacks[c] {
				return ""
			}
		}
		if len(cbs) == 1 {
			return "the plugin does not set " + cbs[0].String()
		}
		names := ""
		for i, c := range cbs {
			if i > 0 {
				names += ", "
			}
			names += c.String()
		}
		return "the plugin sets none of " + names
	}
}

var (
	events     = anyOf(abi.OnSessionStart, abi.OnSessionEnd, abi.OnToolCall, abi.OnMessage)
	jsonEvents = anyOf(abi.OnToolCall, abi.OnMessage)
	anyCB      = anyOf(abi.OnLoad, abi.OnUnload, abi.OnSessionStart, abi.OnSessionEnd, abi.OnToolCall, abi.OnMessage)
)

func withManifest(f *facts) string {
	if !f.manifestGiven {
		return "no manifest: check the plugin's directory to check its manifest"
	}
	return ""
}

// manifestAnd: a manifest, and next.
func manifestAnd(next applies) applies {
	return func(f *facts) string {
		if s := withManifest(f); s != "" {
			return s
		}
		return next(f)
	}
}

// checks is the suite, in report order.
var checks = []Check{
	{ID: "export.init", Severity: SeverityFail, needs: stageFile,
		Description: "the library opens and exports clawd_plugin_init with default visibility and C linkage"},
	{ID: "export.namespace", Severity: SeverityWarn, needs: stageFile,
		Description: "the library exports no function besides clawd_plugin_init"},
	{ID: "init.non_null", Severity: SeverityFail, needs: stageSymbol,
		Description: "clawd_plugin_init returns a table, not NULL"},
	{ID: "init.idempotent", Severity: SeverityFail, needs: stageInit,
		Description: "a second call of clawd_plugin_init returns the same table"},
	{ID: "init.abi_version", Severity: SeverityFail, needs: stageInit,
		Description: "abi_version is CLAWD_PLUGIN_ABI_VERSION (1)"},
	{ID: "init.reserved", Severity: SeverityFail, needs: stageABI,
		Description: "every _reserved slot of the table is NULL"},
	{ID: "strings.name", Severity: SeverityFail, needs: stageABI,
		Description: "name is set, NUL-terminated UTF-8 of 1 to 128 bytes"},
	{ID: "strings.version", Severity: SeverityFail, needs: stageABI,
		Description: "version is set and a Semantic Versioning 2.0 version"},
	{ID: "strings.manifest_name", Severity: SeverityFail, needs: stageABI, applies: withManifest,
		Description: "the library's name is the manifest's name"},
	{ID: "strings.manifest_version", Severity: SeverityWarn, needs: stageABI, applies: withManifest,
		Description: "the library's version is the manifest's version"},
	{ID: "lifecycle.on_load", Severity: SeverityFail, needs: stageValid, applies: anyOf(abi.OnLoad),
		Description: "on_load returns CLAWA_ERROR_NONE"},
	{ID: "lifecycle.unload_once", Severity: SeverityFail, needs: stageLoaded,
		Description: "closing calls on_unload once; no context is used after it"},
	{ID: "lifecycle.reopen", Severity: SeverityFail, needs: stageLoaded,
		Description: "open, close and open again works"},
	{ID: "lifecycle.threads", Severity: SeverityWarn, needs: stageLoaded,
		Description: "no thread the plugin started is still running after close"},
	{ID: "callbacks.empty_strings", Severity: SeverityFail, needs: stageLoaded, applies: events,
		Description: `every event callback survives empty strings ("" ids and names, "" as JSON)`},
	{ID: "callbacks.large_input", Severity: SeverityFail, needs: stageLoaded, applies: jsonEvents,
		Description: "on_tool_call and on_message survive a 1 MiB JSON input"},
	{ID: "callbacks.utf8", Severity: SeverityFail, needs: stageLoaded, applies: events,
		Description: "every event callback survives multi-byte UTF-8 in every string"},
	{ID: "callbacks.deep_json", Severity: SeverityFail, needs: stageLoaded, applies: jsonEvents,
		Description: "on_tool_call and on_message survive JSON nested 10000 levels deep"},
	{ID: "callbacks.codes", Severity: SeverityFail, needs: stageLoaded, applies: events,
		Description: "callbacks return only ClawaError values 0 to 5"},
	{ID: "context.stale", Severity: SeverityFail, needs: stageLoaded, applies: anyCB,
		Description: "no context is used after its callback returned"},
	{ID: "context.log_levels", Severity: SeverityFail, needs: stageLoaded, applies: anyCB,
		Description: "log gets a level 0 to 4 and a non-NULL UTF-8 message"},
	{ID: "context.params_object", Severity: SeverityFail, needs: stageLoaded, applies: anyCB,
		Description: "send_event gets a non-empty UTF-8 method and a JSON object as params"},
	{ID: "context.relay", Severity: SeverityFail, needs: stageLoaded, applies: manifestAnd(anyCB),
		Description: "no send_event unless the manifest asks for network.relay"},
	{ID: "context.hooks", Severity: SeverityFail, needs: stageLoaded, applies: jsonEvents,
		Description: "hook events (hook.block, hook.intercept) only from inside on_tool_call or on_message, on its thread, with valid payloads, for hooks the manifest asks for"},
	{ID: "compat.null_context", Severity: SeverityWarn, needs: stageLoaded, applies: anyCB, crashWarns: nullContextWhy,
		Description: "every callback survives a NULL context, as the reference daemon passes one"},
	{ID: "hygiene.signals", Severity: SeverityFail, needs: stageLoaded,
		Description: "opening, init and on_load leave the process's signal actions unchanged"},
	{ID: "hygiene.cwd_env_umask", Severity: SeverityFail, needs: stageLoaded,
		Description: "the plugin leaves the working directory, environment and umask unchanged"},
	{ID: "hygiene.stdout", Severity: SeverityFail, needs: stageLoaded,
		Description: "the plugin writes nothing to stdout"},
	{ID: "concurrency.threads", Severity: SeverityFail, needs: stageLoaded, applies: manifestAnd(concurrentOnly),
		Description: "a plugin whose manifest says concurrent = true survives calls from several threads at once"},
	{ID: "timing.load", Severity: SeverityWarn, needs: stageLoaded,
		Description: "opening the library plus on_load takes under 100 ms"},
	{ID: "timing.callbacks", Severity: SeverityWarn, needs: stageLoaded, applies: events,
		Description: "each event callback takes under 10 ms on a small input"},
	{ID: "manifest.valid", Severity: SeverityFail, needs: stageNone, applies: withManifest,
		Description: "the manifest parses and validates"},
	{ID: "manifest.entry", Severity: SeverityFail, needs: stageNone, applies: withManifest,
		Description: "the manifest's entry for this OS exists and is a regular file"},
	{ID: "manifest.signature", Severity: SeverityFail, needs: stageNone, applies: manifestAnd(signedEntry),
		Description: "the manifest's signature (and sha256 pin) verify against the entry"},
}

func concurrentOnly(f *facts) string {
	if !f.concurrent {
		return "the manifest does not say concurrent = true: the host serializes calls"
	}
	return ""
}

func signedEntry(f *facts) string {
	if !f.signed {
		return "the manifest has neither a signature nor a sha256 pin (unsigned)"
	}
	return ""
}

// Checks returns the suite's checks in report order.
func Checks() []Check { return append([]Check(nil), checks...) }
