package host

// The runtimes this module provides register themselves with package clawd;
// the host finds them there by the manifest's runtime and sandbox
// (runtimeFor) and knows them only as clawd.Plugin.
import (
	_ "github.com/clawd-go/clawd/isolate" // "process"
	_ "github.com/clawd-go/clawd/loader"  // "native"
	_ "github.com/clawd-go/clawd/wasm"    // "wasm"
)
