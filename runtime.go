package clawd

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/clawd-go/clawd/clawerr"
)

// The names of the runtimes this module provides.
const (
	RuntimeNative  = "native"  // package loader: in this process
	RuntimeProcess = "process" // package isolate: in a sandboxed child process
	RuntimeWasm    = "wasm"    // package wasm: a WebAssembly module under wazero
)

// openFunc is a runtime: it opens plugins of one kind.
type openFunc = func(path string, opts ...Option) (Plugin, error)

var registry struct {
	sync.RWMutex
	m map[string]openFunc
}

// Register makes a runtime available by name: open opens a plugin of its
// kind, its error a *clawerr.Error. It panics if the name is taken or
// open is nil: registration happens in init functions, where a clash is a
// programming error.
func Register(name string, open func(path string, opts ...Option) (Plugin, error)) {
	registry.Lock()
	defer registry.Unlock()
	if open == nil {
		panic("clawd: Register of a nil runtime " + name)
	}
	if _, dup := registry.m[name]; dup {
		panic("clawd: Register called twice for runtime " + name)
	}
	if registry.m == nil {
		registry.m = make(map[string]openFunc)
	}
	registry.m[name] = open
}

// Runtimes lists the registered runtimes' names, sorted.
func Runtimes() []string {
	registry.RLock()
	defer registry.RUnlock()
	names := make([]string, 0, len(registry.m))
	for n := range registry.m {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Open opens the plugin at path with the named runtime. A name that no
// linked-in package registered is runtime_unsupported; for one of this
// module's runtimes the error names the import that registers it.
func Open(runtime, path string, opts ...Option) (Plugin, error) {
	registry.RLock()
	open := registry.m[runtime]
	registry.RUnlock()
	if open == nil {
		return nil, unsupported(runtime, path, Runtimes())
	}
	return open(path, opts...)
}

// runtimeImports names, for each runtime of this module, the package whose
// import registers it: a program that imports none has no runtime at all.
var runtimeImports = map[string]string{
	RuntimeNative:  "github.com/clawd-go/clawd/loader",
	RuntimeProcess: "github.com/clawd-go/clawd/isolate",
	RuntimeWasm:    "github.com/clawd-go/clawd/wasm",
}

// unsupported is Open's refusal of a runtime nobody registered: it says
// what to import (for this module's runtimes) or which names exist.
func unsupported(runtime, path string, registered []string) error {
	have := "none"
	if len(registered) > 0 {
		have = strings.Join(registered, ", ")
	}
	var detail string
	if pkg, ok := runtimeImports[runtime]; ok {
		detail = fmt.Sprintf("no runtime %q in this program: its package registers it when imported; add `import _ %q` (registered here: %s)", runtime, pkg, have)
	} else {
		known := slices.Sorted(maps.Keys(runtimeImports))
		detail = fmt.Sprintf("no runtime %q in this program (registered here: %s); this module's runtimes are %s, each registered by importing its package", runtime, have, strings.Join(known, ", "))
	}
	return clawerr.New(clawerr.RuntimeUnsupported, path, "open", detail, nil)
}
