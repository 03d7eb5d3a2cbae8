package clawd

import (
	"fmt"
	"slices"
	"sync"

	"github.com/clawd-go/clawd/clawerr"
)

// The names of the runtimes this module provides.
const (
	RuntimeNative  = "native"  // package loader: in this process
	RuntimeProcess = "process" // package isolate: in a sandboxed child process
)

// Runtime opens plugins of one kind. Open's error is a *clawerr.Error.
type Runtime interface {
	Open(path string, opts ...Option) (Plugin, error)
}

// RuntimeFunc adapts a function to Runtime.
type RuntimeFunc func(path string, opts ...Option) (Plugin, error)

// Open calls f.
func (f RuntimeFunc) Open(path string, opts ...Option) (Plugin, error) { return f(path, opts...) }

var registry struct {
	sync.RWMutex
	m map[string]Runtime
}

// Register makes a runtime available by name. It panics if the name is
// taken or r is nil: registration happens in init functions, where a
// clash is a programming error.
func Register(name string, r Runtime) {
	registry.Lock()
	defer registry.Unlock()
	if r == nil {
		panic("clawd: Register of a nil runtime " + name)
	}
	if _, dup := registry.m[name]; dup {
		panic("clawd: Register called twice for runtime " + name)
	}
	if registry.m == nil {
		registry.m = make(map[string]Runtime)
	}
	registry.m[name] = r
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
// linked-in package registered is runtime_unsupported.
func Open(runtime, path string, opts ...Option) (Plugin, error) {
	registry.RLock()
	r := registry.m[runtime]
	registry.RUnlock()
	if r == nil {
		return nil, clawerr.New(clawerr.RuntimeUnsupported, path, "open",
			fmt.Sprintf("no runtime %q in this program (registered: %v)", runtime, Runtimes()), nil)
	}
	return r.Open(path, opts...)
}
