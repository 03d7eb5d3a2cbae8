package wasm

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/wasmscan"
)

// The exports and imports that make a module a plugin of this runtime.
const (
	exportContext = "clawd_wasm_context" // () -> ClawaContext *: the template
	exportAlloc   = "clawd_wasm_alloc"   // (uint32 size) -> void *
	exportFree    = "clawd_wasm_free"    // (void *) -> ()
	hostModule    = "clawd"              // imports: log, send_event
)

var (
	i32 = api.ValueTypeI32
	// The wasm32 signature of each callback slot, in table order.
	slotParams = [abi.NumCallbacks][]api.ValueType{
		abi.OnLoad:         {i32},
		abi.OnUnload:       {i32},
		abi.OnSessionStart: {i32, i32},
		abi.OnSessionEnd:   {i32, i32},
		abi.OnToolCall:     {i32, i32, i32, i32},
		abi.OnMessage:      {i32, i32, i32, i32},
	}
	slotResults = [abi.NumCallbacks][]api.ValueType{
		abi.OnLoad:         {i32},
		abi.OnSessionStart: {i32},
		abi.OnSessionEnd:   {i32},
		abi.OnToolCall:     {i32},
		abi.OnMessage:      {i32},
	}
	logParams       = []api.ValueType{i32, i32, i32}
	sendEventParams = []api.ValueType{i32, i32, i32}
	sendEventResult = []api.ValueType{i32}
)

// sig renders a function type as "(i32, i32) -> i32".
func sig(params, results []api.ValueType) string {
	name := func(ts []api.ValueType) string {
		s := make([]string, len(ts))
		for i, t := range ts {
			s[i] = api.ValueTypeName(t)
		}
		return strings.Join(s, ", ")
	}
	r := name(results)
	if len(results) != 1 {
		r = "(" + r + ")"
	}
	return "(" + name(params) + ") -> " + r
}

func sameTypes(a, b []api.ValueType) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// checkShape refuses a compiled module that cannot be a plugin of this
// runtime, before anything of it runs: the reference daemon's WASM shape
// (runtime_unsupported), no clawd_plugin_init of the right type
// (missing_init), a command module or one that does not link
// clawd_plugin_wasm.c (open_failed).
func checkShape(cm wazero.CompiledModule, who string) error {
	exports := cm.ExportedFunctions()
	var refImports []string
	for _, f := range cm.ImportedFunctions() {
		mod, name, _ := f.Import()
		if mod == "env" && (name == "clawd_log" || name == "clawd_send_event") {
			refImports = append(refImports, mod+"."+name)
		}
	}
	_, hasCtx := exports[exportContext]
	if len(refImports) > 0 && !hasCtx {
		var named []string
		for _, n := range []string{"on_load", "on_unload", "on_session_start", "on_session_end", "on_tool_call", "on_message"} {
			if _, ok := exports[n]; ok {
				named = append(named, n)
			}
		}
		detail := fmt.Sprintf("the module has the reference daemon's WASM shape (imports %s", strings.Join(refImports, ", "))
		if len(named) > 0 {
			detail += "; exports " + strings.Join(named, ", ")
		}
		detail += "): it lacks the ClawaPlugin table that clawd_plugin_init must return and the " +
			exportContext + "/" + exportAlloc + " exports of include/clawd_plugin_wasm.c; " +
			"build the C ABI plugin source with clawd_plugin_wasm.c instead"
		return clawerr.New(clawerr.RuntimeUnsupported, who, "open", detail, nil)
	}
	init, ok := exports[abi.InitSymbol]
	if !ok {
		return clawerr.New(clawerr.MissingInit, who, "open", "the module does not export "+abi.InitSymbol, nil)
	}
	if !sameTypes(init.ParamTypes(), nil) || !sameTypes(init.ResultTypes(), []api.ValueType{i32}) {
		return clawerr.New(clawerr.MissingInit, who, "open", fmt.Sprintf("%s has type %s, the ABI wants () -> i32",
			abi.InitSymbol, sig(init.ParamTypes(), init.ResultTypes())), nil)
	}
	if _, start := exports["_start"]; start {
		if _, reactor := exports["_initialize"]; !reactor {
			return clawerr.New(clawerr.OpenFailed, who, "open",
				"a WASI command module (exports _start): build the plugin with -mexec-model=reactor", nil)
		}
	}
	for _, want := range []struct {
		name            string
		params, results []api.ValueType
	}{
		{exportContext, nil, []api.ValueType{i32}},
		{exportAlloc, []api.ValueType{i32}, []api.ValueType{i32}},
		{exportFree, []api.ValueType{i32}, nil},
	} {
		f, ok := exports[want.name]
		if !ok {
			return clawerr.New(clawerr.OpenFailed, who, "open", fmt.Sprintf(
				"the module does not export %s: link include/clawd_plugin_wasm.c beside the plugin", want.name), nil)
		}
		if !sameTypes(f.ParamTypes(), want.params) || !sameTypes(f.ResultTypes(), want.results) {
			return clawerr.New(clawerr.OpenFailed, who, "open", fmt.Sprintf("%s has type %s, want %s", want.name,
				sig(f.ParamTypes(), f.ResultTypes()), sig(want.params, want.results)), nil)
		}
	}
	if len(cm.ExportedMemories()) == 0 {
		return clawerr.New(clawerr.OpenFailed, who, "open", "the module exports no memory", nil)
	}
	return nil
}

// caches holds one compilation cache per directory for the whole process:
// wazero's cache may be shared by runtimes, and sharing it spares a second
// open of the same module its compilation.
var caches struct {
	sync.Mutex
	m map[string]wazero.CompilationCache
}

func cacheFor(dir string) (wazero.CompilationCache, error) {
	caches.Lock()
	defer caches.Unlock()
	if c, ok := caches.m[dir]; ok {
		return c, nil
	}
	c, err := wazero.NewCompilationCacheWithDir(dir)
	if err != nil {
		return nil, err
	}
	if caches.m == nil {
		caches.m = map[string]wazero.CompilationCache{}
	}
	caches.m[dir] = c
	return c, nil
}

// tableElementCost is what one table element may cost the host, in
// bytes: wazero keeps an element as a uintptr (8 bytes; 8.2 measured for
// a table grown one element at a time, after a collection), and
// table.grow appends to a Go slice, whose spare capacity and the array it
// replaces can double that while it grows.
const tableElementCost = 16

// scanLimits are the bounds of the pre-scan (wasmscan.DefaultLimits).
var scanLimits = wasmscan.DefaultLimits()

// budget checks what the module declares against the memory cap before
// anything compiles it, and returns the pages its linear memory may
// have: the cap less what its tables may cost. A table counts at its
// declared maximum when the module can grow it (table.grow), else at its
// initial size; a grown table that declares no maximum is refused, as
// table.grow could then take the host's memory without bound.
func budget(sum *wasmscan.Summary, capMB int, who string) (pages uint32, err error) {
	capBytes := uint64(capMB) << 20
	var tables uint64
	for i, t := range sum.Tables {
		n := uint64(t.Min)
		if sum.TableGrow {
			if !t.HasMax {
				return 0, clawerr.New(clawerr.OpenFailed, who, "open", fmt.Sprintf(
					"table %d declares no maximum and the module uses table.grow: its growth would not be bounded "+
						"by the memory cap of %d MiB; declare a maximum for the table", i, capMB), nil)
			}
			n = uint64(t.Max)
		}
		tables += n * tableElementCost
	}
	// The cap is in pages: tables count in whole pages, rounded down, and
	// a memory over the cap on its own is wazero's to refuse, as before.
	tablePages := tables >> 16
	var initial uint64
	for _, m := range sum.Memories {
		initial += uint64(m.Min) << 16
	}
	if tablePages > 0 && tables+initial > capBytes {
		what := "initial size"
		if sum.TableGrow {
			what = "declared maximum"
		}
		return 0, clawerr.New(clawerr.OpenFailed, who, "open", fmt.Sprintf(
			"the tables at their %s cost up to %d bytes (%d bytes an element) and the initial memory %d bytes: "+
				"%d MiB in all, over the memory cap of %d MiB; declare smaller tables or raise the cap (memory_limit_mb)",
			what, tables, tableElementCost, initial, (tables+initial+(1<<20)-1)>>20, capMB), nil)
	}
	if tablePages >= capBytes>>16 {
		return 0, nil // unreachable: tables over the cap were refused above
	}
	return uint32(capBytes>>16 - tablePages), nil
}

// compileSlots bounds the compilations in flight in this process. A
// compile cannot be interrupted (wazero's CompileModule takes no
// deadline): one past the load timeout is abandoned, and goes on until it
// ends, holding its slot, so abandoned compiles cannot pile up. The
// pre-scan bounds what any one of them costs.
var compileSlots = make(chan struct{}, max(2, runtime.GOMAXPROCS(0)))

// compileModule is wazero's compile (a test replaces it).
var compileModule = func(rt wazero.Runtime, bin []byte) (wazero.CompiledModule, error) {
	return rt.CompileModule(context.Background(), bin)
}

// compile compiles bin in rt within ctx. Past ctx's deadline it returns
// timeout at once and leaves the compile to finish on its own; the
// runtime is then closed when it does (abandoned reports that: the
// caller must not close rt itself).
func compile(ctx context.Context, rt wazero.Runtime, bin []byte, who string) (cm wazero.CompiledModule, abandoned bool, err error) {
	select {
	case compileSlots <- struct{}{}:
	case <-ctx.Done():
		return nil, false, clawerr.New(clawerr.Timeout, who, "open", fmt.Sprintf(
			"no compile could start before the load timeout: %d compiles are in flight in this process", cap(compileSlots)), ctx.Err())
	}
	type result struct {
		cm  wazero.CompiledModule
		err error
	}
	done := make(chan result, 1)
	fn := compileModule
	go func() {
		defer func() { <-compileSlots }()
		cm, err := fn(rt, bin)
		done <- result{cm, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			return nil, false, clawerr.New(clawerr.OpenFailed, who, "open", "not a valid WebAssembly module", r.err)
		}
		return r.cm, false, nil
	case <-ctx.Done():
		go func() {
			<-done
			_ = rt.Close(context.Background())
		}()
		return nil, true, clawerr.New(clawerr.Timeout, who, "open", "compiling the module took longer than the load timeout; it is abandoned", ctx.Err())
	}
}
