package conformance

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/cabi"
	"github.com/clawd-go/clawd/internal/manifestfile"
	"github.com/clawd-go/clawd/internal/semver"
	"github.com/clawd-go/clawd/internal/wasmscan"
	"github.com/clawd-go/clawd/manifest"
	_ "github.com/clawd-go/clawd/wasm" // the wasm runtime, which checks a module
)

// A WebAssembly module is checked through the wasm runtime (package wasm),
// behind the same plugin interface as a shared library: the behaviour
// checks (callbacks.*, context.*, lifecycle.*, concurrency.*, timing.*)
// are the same code. What only a dynamic loader can see (the table read
// before the loader judges it, a second call of init, the process's
// signals, threads, working directory and stdout) either is judged from
// what the wasm runtime reports when it opens the module, or cannot apply
// to a guest that has no access to any of it, and is skipped with the
// reason (notForWASM).

// isWASM says whether the plugin at lib is a WebAssembly module: its
// manifest places it in the wasm runtime (manifest.Placement), its name
// ends in .wasm, or its bytes open with the WebAssembly magic.
func isWASM(lib string, m *manifest.Manifest) bool {
	if m != nil {
		if rt, _, err := m.Placement(""); err == nil && rt == clawd.RuntimeWasm {
			return true
		}
	}
	return strings.EqualFold(filepath.Ext(lib), ".wasm") || wasmscan.IsModuleFile(lib)
}

// notForWASM are the checks that cannot apply to a WASM guest, with why.
var notForWASM = map[string]string{
	"export.namespace":      "a WASM module's exports are its own namespace: they cannot clash with the host's or another plugin's",
	"init.idempotent":       "the wasm runtime calls clawd_plugin_init once per instance and never again",
	"lifecycle.threads":     "a WASM guest (wasm32-wasi) has no threads",
	"hygiene.signals":       "a WASM guest cannot see or change the process's signal actions",
	"hygiene.cwd_env_umask": "a WASM guest cannot change the host's working directory, environment or umask (WASI gives it its own)",
	"hygiene.stdout":        "a WASM guest's stdout becomes log lines of the plugin, never the host's stdout",
	"compat.null_context":   "the reference daemon loads shared libraries only: it never runs a WASM module",
}

// wasmChecks are the child sides of the checks for a WASM module: the
// table checks judged from the wasm runtime's load, the rest shared.
var wasmChecks = func() map[string]func(*cenv) childResult {
	m := map[string]func(*cenv) childResult{}
	for id, f := range childChecks {
		if _, no := notForWASM[id]; !no {
			m[id] = f
		}
	}
	m["export.init"] = wasmExportInit
	m["init.non_null"] = wasmNonNull
	m["init.abi_version"] = wasmABIVersion
	m["init.reserved"] = wasmReserved
	m["strings.name"] = wasmName
	m["strings.version"] = wasmVersion
	m["strings.manifest_name"] = func(c *cenv) childResult {
		return wasmCompare(c, "name", func(p clawd.Plugin) string { return p.Name() }, c.man.Name, StatusFail)
	}
	m["strings.manifest_version"] = func(c *cenv) childResult {
		return wasmCompare(c, "version", func(p clawd.Plugin) string { return p.Version() }, c.man.Version, StatusWarn)
	}
	return m
}()

// wasmStage is how far a WASM module got, from the code its load failed with.
func wasmStage(err error) stage {
	switch clawerr.CodeOf(err) {
	case clawerr.OpenFailed, clawerr.RuntimeUnsupported:
		return stageFile
	case clawerr.MissingInit:
		return stageOpen
	case clawerr.InitNull:
		return stageSymbol
	case clawerr.ABIMismatch:
		return stageInit
	case clawerr.ReservedSlotSet, clawerr.BadName, clawerr.BadVersion:
		return stageABI
	case clawerr.OnLoadFailed:
		return stageValid
	}
	if onLoadFault(err) {
		return stageValid // a trap or a deadline in on_load
	}
	return stageSymbol // a trap or a deadline in _initialize or clawd_plugin_init
}

// onLoadFault: err happened in on_load (so the table was valid and sets it).
func onLoadFault(err error) bool {
	var ce *clawerr.Error
	return errors.As(err, &ce) && ce.Op == abi.OnLoad.String()
}

// probeWASM opens the module in the wasm runtime and reports how far it got.
func probeWASM(c *cenv) childResult {
	p := &probeResult{Reached: stageFile}
	res := childResult{Status: StatusPass, Probe: p}
	c.at("opening the module in the wasm runtime")
	pl, err := c.open()
	if err != nil {
		p.Reached, p.Code = wasmStage(err), codeOf(err, clawerr.OpenFailed)
		if p.Reached == stageValid {
			p.Callbacks = []string{abi.OnLoad.String()} // it failed on_load: it sets it
		}
		return res
	}
	p.Reached = stageLoaded
	for _, cb := range pl.Callbacks() {
		p.Callbacks = append(p.Callbacks, cb.String())
	}
	c.at(probeSteps[6].where)
	_ = pl.Close()
	return res
}

// wasmOpen opens the module for a table check: the plugin, or the result
// of the check when the load failed (fail if the failure is the check's
// own code, the probe's skip otherwise). A load that got past the table
// (a failure in on_load, another check's) is no plugin and no result.
func wasmOpen(c *cenv, own ...clawerr.Code) (clawd.Plugin, *childResult) {
	c.at("opening the module in the wasm runtime")
	p, err := c.openRaw()
	if err == nil {
		return p, nil
	}
	if wasmStage(err) >= stageValid {
		return nil, nil
	}
	code := clawerr.CodeOf(err)
	for _, o := range own {
		if code == o {
			r := fail("%v", err)
			return nil, &r
		}
	}
	r := skip("plugin does not load: %s", codeOf(err, clawerr.OpenFailed))
	return nil, &r
}

func closed(p clawd.Plugin) {
	if p != nil {
		_ = p.Close()
	}
}

// wasmLoadCheck opens the module for a load check: a failure with one of
// the codes own is this check's, and gets hint; a clean open passes with ok.
func wasmLoadCheck(c *cenv, hint, ok string, own ...clawerr.Code) childResult {
	p, bad := wasmOpen(c, own...)
	if bad != nil {
		if bad.Status == StatusFail {
			bad.Message += ": " + hint
		}
		return *bad
	}
	closed(p)
	return pass("%s", ok)
}

func wasmExportInit(c *cenv) childResult {
	return wasmLoadCheck(c, "build a reactor module (zig cc -target wasm32-wasi -mexec-model=reactor) with include/clawd_plugin_wasm.c linked beside the plugin, whose header exports clawd_plugin_init",
		fmt.Sprintf("the module instantiates and exports %s", abi.InitSymbol),
		clawerr.OpenFailed, clawerr.RuntimeUnsupported, clawerr.MissingInit)
}

func wasmNonNull(c *cenv) childResult {
	// A trap or a deadline in _initialize or clawd_plugin_init is this
	// check's, as a crash in init is for a shared library.
	return wasmLoadCheck(c, "return the address of a static ClawaPlugin table",
		fmt.Sprintf("%s returned a table", abi.InitSymbol),
		clawerr.InitNull, clawerr.Crashed, clawerr.Timeout)
}

func wasmABIVersion(c *cenv) childResult {
	return wasmLoadCheck(c, "set abi_version to CLAWD_PLUGIN_ABI_VERSION (1) and give every callback slot its ABI type",
		fmt.Sprintf("abi_version is %d and every slot has its ABI type", abi.Version),
		clawerr.ABIMismatch)
}

func wasmReserved(c *cenv) childResult {
	return wasmLoadCheck(c, "leave every reserved slot NULL",
		fmt.Sprintf("all %d reserved slots are NULL", cabi.Reserved),
		clawerr.ReservedSlotSet)
}

// wasmLoaded is the plugin for the string checks, or why they cannot look.
func wasmLoaded(c *cenv, own clawerr.Code, field string) (clawd.Plugin, *childResult) {
	p, bad := wasmOpen(c, own)
	if bad != nil {
		return nil, bad
	}
	if p == nil {
		r := skip("the wasm runtime shows the table's %s once the plugin loads, and it does not (lifecycle.on_load says why)", field)
		return nil, &r
	}
	return p, nil
}

// hasWarning: the runtime warned about field ("name is NULL", "version
// ... is not semver").
func hasWarning(p clawd.Plugin, field string) string {
	for _, w := range p.Warnings() {
		if strings.HasPrefix(w, field+" ") {
			return w
		}
	}
	return ""
}

func wasmName(c *cenv) childResult {
	p, bad := wasmLoaded(c, clawerr.BadName, "name")
	if bad != nil {
		return *bad
	}
	defer closed(p)
	problem := hasWarning(p, "name")
	if problem == "" && len(p.Name()) > manifestfile.MaxNameLen {
		problem = fmt.Sprintf("name is %d bytes long", len(p.Name()))
	}
	if problem != "" {
		return fail("%s: set name to a NUL-terminated UTF-8 string of 1 to %d bytes in static storage (hosts fall back to the file name, and logs and events carry it)", problem, manifestfile.MaxNameLen)
	}
	return pass("name %q", p.Name())
}

func wasmVersion(c *cenv) childResult {
	p, bad := wasmLoaded(c, clawerr.BadVersion, "version")
	if bad != nil {
		return *bad
	}
	defer closed(p)
	problem := hasWarning(p, "version")
	if problem == "" && !semver.Valid(p.Version()) {
		problem = fmt.Sprintf("version %q is not a Semantic Versioning 2.0 version", p.Version())
	}
	if problem != "" {
		return fail("%s: set version to MAJOR.MINOR.PATCH, e.g. \"1.0.0\" (no leading v; -prerelease and +build allowed)", problem)
	}
	return pass("version %q", p.Version())
}

func wasmCompare(c *cenv, field string, pick func(clawd.Plugin) string, want string, sev Status) childResult {
	p, bad := wasmLoaded(c, "", field)
	if bad != nil {
		return *bad
	}
	defer closed(p)
	if hasWarning(p, field) != "" {
		return skip("the module's %s cannot be compared (strings.%s says why)", field, field)
	}
	if got := pick(p); got != want {
		return childResult{Status: sev, Message: fmt.Sprintf("the module says %s %q, the manifest %q: make them the same (hosts show one, and report the other)", field, got, want)}
	}
	return pass("the module and the manifest agree: %s %q", field, want)
}
