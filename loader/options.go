package loader

import (
	"github.com/clawd-go/clawd/internal/clawctx"
	"github.com/clawd-go/clawd/internal/vtable"
)

// The loader takes the options of package clawd: clawd.WithLogger (the
// plugin's lines, with fields plugin and version, and the loader's
// warnings), clawd.WithEventSink, clawd.WithCapabilities (network.relay
// allows send_event) and clawd.WithConcurrent. It has no use for the
// directories, the call timeout or the state function (a native call
// cannot be interrupted, and nothing restarts it) and ignores them.

// How this build reaches plugins: "cgo" (a C shim for calls, //export
// trampolines) or "purego" (no C compiler needed, at a higher cost).
const (
	CallPath       = vtable.Path
	TrampolinePath = clawctx.TrampolinePath
)
