package conformance

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/cabi"
	"github.com/clawd-go/clawd/internal/foreign"
	"github.com/clawd-go/clawd/internal/manifestfile"
	"github.com/clawd-go/clawd/internal/semver"
	"github.com/clawd-go/clawd/internal/vtable"
	"github.com/clawd-go/clawd/manifest"
)

// childChecks are the child sides of the checks, by id.
var childChecks = map[string]func(*cenv) childResult{
	"export.init":              checkExportInit,
	"export.namespace":         checkNamespace,
	"init.non_null":            checkNonNull,
	"init.idempotent":          checkIdempotent,
	"init.abi_version":         checkABIVersion,
	"init.reserved":            checkReserved,
	"strings.name":             checkName,
	"strings.version":          checkVersion,
	"strings.manifest_name":    checkManifestName,
	"strings.manifest_version": checkManifestVersion,
	"lifecycle.on_load":        checkOnLoad,
	"lifecycle.unload_once":    checkUnloadOnce,
	"lifecycle.reopen":         checkReopen,
	"lifecycle.threads":        checkThreads,
	"callbacks.empty_strings":  func(c *cenv) childResult { return survives(c, emptyInputs()) },
	"callbacks.large_input":    func(c *cenv) childResult { return survives(c, largeInputs()) },
	"callbacks.utf8":           func(c *cenv) childResult { return survives(c, utf8Inputs()) },
	"callbacks.deep_json":      func(c *cenv) childResult { return survives(c, deepInputs()) },
	"callbacks.codes":          checkCodes,
	"context.stale":            checkStale,
	"context.log_levels":       checkLogLevels,
	"context.params_object":    checkParams,
	"context.relay":            checkRelay,
	"context.hooks":            checkHooks,
	"compat.null_context":      checkNullContext,
	"hygiene.signals":          checkSignals,
	"hygiene.cwd_env_umask":    checkProcessState,
	"hygiene.stdout":           checkStdout,
	"concurrency.threads":      checkConcurrency,
	"timing.load":              checkLoadTime,
	"timing.callbacks":         checkCallbackTime,
	"manifest.valid":           checkManifestValid,
	"manifest.entry":           checkManifestEntry,
	"manifest.signature":       checkSignature,
}

func checkExportInit(c *cenv) childResult {
	c.at(probeSteps[0].where)
	d, err := openDirect(c.spec.Lib)
	if err != nil {
		return fail("the dynamic loader cannot open the library: %v: build a shared library for this OS and architecture, with its dependencies installed", err)
	}
	defer d.close()
	c.at(probeSteps[1].where)
	syms, symErr := librarySymbols(c.spec.Lib)
	if _, err := d.initFn(); err != nil {
		hint := "define it as CLAWD_PLUGIN_EXPORT ClawaPlugin *clawd_plugin_init(void) (include/clawd_plugin.h)"
		for _, s := range syms {
			switch {
			case s.name == abi.InitSymbol && !s.exported:
				hint = "it is defined but hidden: mark it CLAWD_PLUGIN_EXPORT, which keeps default visibility under -fvisibility=hidden"
			case s.name != abi.InitSymbol && strings.Contains(s.name, abi.InitSymbol) && s.exported:
				hint = fmt.Sprintf("the library exports %q instead: give it C linkage (extern \"C\", which CLAWD_PLUGIN_EXPORT adds in C++)", s.name)
			}
		}
		return fail("%s is not exported: %s", abi.InitSymbol, hint)
	}
	for _, s := range syms {
		if s.name == abi.InitSymbol && s.exported && !s.function {
			return fail("%s is exported but is not a function: define it as a function returning ClawaPlugin *", abi.InitSymbol)
		}
	}
	if symErr != nil && !errors.Is(symErr, errFormat) {
		return pass("%s is exported (the symbol table could not be read: %v)", abi.InitSymbol, symErr)
	}
	return pass("%s is exported", abi.InitSymbol)
}

func checkNamespace(c *cenv) childResult {
	syms, err := librarySymbols(c.spec.Lib)
	if errors.Is(err, errFormat) {
		return skip("listing exports supports ELF, Mach-O and PE libraries")
	}
	if err != nil {
		return warn("cannot read the library's symbol table: %v", err)
	}
	var extra []string
	for _, s := range syms {
		// _init and _fini are the linker's, exported by some toolchains.
		if s.exported && s.function && s.name != abi.InitSymbol && s.name != "_init" && s.name != "_fini" {
			extra = append(extra, s.name)
		}
	}
	if len(extra) == 0 {
		return pass("only %s is exported", abi.InitSymbol)
	}
	sort.Strings(extra)
	list := extra
	if len(list) > 8 {
		list = append(list[:8:8], "…")
	}
	return warn("the library also exports %s: %s; build with -fvisibility=hidden and export only %s (CLAWD_PLUGIN_EXPORT), so its functions cannot clash with the host's or other plugins'",
		plural(len(extra), "function", "functions"), strings.Join(list, ", "), abi.InitSymbol)
}

func checkNonNull(c *cenv) childResult {
	c.at(probeSteps[0].where)
	d, err := openDirect(c.spec.Lib)
	if err != nil {
		return skip("plugin does not load: %s", clawerr.OpenFailed)
	}
	defer d.close()
	fn, err := d.initFn()
	if err != nil {
		return skip("plugin does not load: %s", clawerr.MissingInit)
	}
	c.at(probeSteps[2].where)
	if d.callInit(fn) == 0 {
		return fail("%s returned NULL: return the address of a static ClawaPlugin table that lives until the library is closed", abi.InitSymbol)
	}
	return pass("%s returned a table", abi.InitSymbol)
}

func checkIdempotent(c *cenv) childResult {
	d, first, bad := c.initTable()
	if bad != nil {
		return *bad
	}
	defer d.close()
	fn, _ := d.initFn()
	c.at(abi.InitSymbol + " (second call)")
	second := d.callInit(fn)
	if second != first {
		return fail("the first call returned %#x, the second %#x: return the same static table on every call", first, second)
	}
	return pass("two calls returned the same table")
}

func checkABIVersion(c *cenv) childResult {
	d, addr, bad := c.initTable()
	if bad != nil {
		return *bad
	}
	defer d.close()
	c.at(probeSteps[3].where)
	raw, err := readTable(addr)
	if err != nil {
		return fail("the table at %#x cannot be read (%v): return the address of a static ClawaPlugin", addr, err)
	}
	if raw.ABIVersion != abi.Version {
		return fail("abi_version is %d: set it to CLAWD_PLUGIN_ABI_VERSION (%d), and build against include/clawd_plugin.h for ABI v1", raw.ABIVersion, abi.Version)
	}
	return pass("abi_version is %d", abi.Version)
}

func checkReserved(c *cenv) childResult {
	d, raw, bad := c.v1Table()
	if bad != nil {
		return *bad
	}
	defer d.close()
	var set []string
	for i, r := range raw.Reserved {
		if r != 0 {
			set = append(set, fmt.Sprintf("_reserved[%d] = %#x", i, r))
		}
	}
	if len(set) > 0 {
		return fail("%s: leave every reserved slot NULL (zero-initialize the table; list the fields in order or use designated initializers)", strings.Join(set, ", "))
	}
	return pass("all %d reserved slots are NULL", cabi.Reserved)
}

// tableString reads the name or version the way the loader does, and
// says what is wrong with it, if anything.
func tableString(field string, addr uintptr) (string, string) {
	if addr == 0 {
		return "", field + " is NULL"
	}
	s, err := foreign.String(addr, vtable.MaxString)
	switch {
	case errors.Is(err, foreign.ErrUnterminated):
		return "", fmt.Sprintf("%s has no NUL terminator within %d bytes", field, vtable.MaxString)
	case errors.Is(err, foreign.ErrNotUTF8):
		return "", field + " is not valid UTF-8"
	case err != nil:
		return "", fmt.Sprintf("%s cannot be read: %v", field, err)
	}
	return s, ""
}

func checkName(c *cenv) childResult {
	d, raw, bad := c.v1Table()
	if bad != nil {
		return *bad
	}
	defer d.close()
	name, problem := tableString("name", raw.Name)
	switch {
	case problem != "":
	case name == "":
		problem = "name is empty"
	case len(name) > manifestfile.MaxNameLen:
		problem = fmt.Sprintf("name is %d bytes long", len(name))
	}
	if problem != "" {
		return fail("%s: set name to a NUL-terminated UTF-8 string of 1 to %d bytes in static storage (hosts fall back to the file name, and logs and events carry it)", problem, manifestfile.MaxNameLen)
	}
	return pass("name %q", name)
}

func checkVersion(c *cenv) childResult {
	d, raw, bad := c.v1Table()
	if bad != nil {
		return *bad
	}
	defer d.close()
	v, problem := tableString("version", raw.Version)
	if problem == "" && !semver.Valid(v) {
		problem = fmt.Sprintf("version %q is not a Semantic Versioning 2.0 version", v)
	}
	if problem != "" {
		return fail("%s: set version to MAJOR.MINOR.PATCH, e.g. \"1.0.0\" (no leading v; -prerelease and +build allowed)", problem)
	}
	return pass("version %q", v)
}

// compareWithManifest compares a table string with the manifest's value.
func compareWithManifest(c *cenv, field string, pick func(*cabi.Plugin) uintptr, want string, sev Status) childResult {
	d, raw, bad := c.v1Table()
	if bad != nil {
		return *bad
	}
	defer d.close()
	got, problem := tableString(field, pick(raw))
	if problem != "" {
		return skip("the library's %s cannot be compared (strings.%s says why)", field, field)
	}
	if got != want {
		return childResult{Status: sev, Message: fmt.Sprintf("the library says %s %q, the manifest %q: make them the same (hosts show one, and report the other)", field, got, want)}
	}
	return pass("the library and the manifest agree: %s %q", field, got)
}

func checkManifestName(c *cenv) childResult {
	return compareWithManifest(c, "name", func(p *cabi.Plugin) uintptr { return p.Name }, c.man.Name, StatusFail)
}

func checkManifestVersion(c *cenv) childResult {
	return compareWithManifest(c, "version", func(p *cabi.Plugin) uintptr { return p.Version }, c.man.Version, StatusWarn)
}

func checkManifestValid(c *cenv) childResult {
	var m *manifest.Manifest
	var err error
	if c.spec.Manifest != "" {
		m, err = manifest.Load(c.spec.Manifest)
	} else {
		m, err = manifest.LoadDir(c.spec.Dir)
	}
	if err != nil {
		return fail("%v", err)
	}
	return pass("%s: %s %s, %s", m.Path, m.Name, m.Version, plural(len(m.Capabilities), "capability", "capabilities"))
}

func checkManifestEntry(c *cenv) childResult {
	m := c.man
	st, err := os.Stat(m.EntryPath())
	switch {
	case err != nil:
		return fail("the entry %q (%s) does not exist: build the library there, or fix entry in %s", m.Entry, m.EntryPath(), m.Path)
	case !st.Mode().IsRegular():
		return fail("the entry %q is not a regular file: point entry at the library itself", m.Entry)
	}
	return pass("entry %s", m.Entry)
}

func checkSignature(c *cenv) childResult {
	m := c.man
	keys, err := parseKeys(c.spec.Keys)
	if err != nil {
		return fail("%v", err)
	}
	tmp, err := os.MkdirTemp("", "clawd-conformance-verify-")
	if err != nil {
		return fail("cannot make a directory for the verified copy: %v", err)
	}
	defer os.RemoveAll(tmp)
	if len(keys) == 0 {
		// Without keys only the sha256 pin and the signature's form can
		// be checked.
		if _, err := (manifest.Trust{Policy: manifest.PolicyOff}).Verify(m, tmp); err != nil {
			return fail("%v: rebuild, then update the pin (or sign again)", err)
		}
		if m.Signature == "" {
			return pass("the sha256 pin matches the entry")
		}
		if !wellFormedSignature(m.Signature) {
			return fail("the signature is not base64 of a 64-byte Ed25519 signature: sign the entry with `clawd-plugin sign`")
		}
		return warn("the signature is well formed but not verified: no public key given (clawd-plugin check --pub FILE, or conformance.WithKeys)")
	}
	v, err := (manifest.Trust{Keys: keys, Policy: manifest.PolicyWarn}).Verify(m, tmp)
	if err != nil {
		return fail("%v: sign the entry again after every build (clawd-plugin sign)", err)
	}
	if !v.Signed {
		return pass("the sha256 pin matches the entry (no signature)")
	}
	return pass("the signature verifies with a trusted key")
}
