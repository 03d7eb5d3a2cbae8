package contract_test

import (
	"os"
	"testing"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/internal/cbuild"
	"github.com/clawd-go/clawd/internal/contract"
	"github.com/clawd-go/clawd/isolate"
	_ "github.com/clawd-go/clawd/loader"
	_ "github.com/clawd-go/clawd/wasm" // registers "wasm"
)

func TestMain(m *testing.M) {
	isolate.Main() // this test binary is also the process runtime's child
	// Under -race a child sleeps a second at exit before reporting.
	if os.Getenv("GORACE") == "" {
		os.Setenv("GORACE", "atexit_sleep_ms=0")
	}
	code := m.Run()
	cbuild.Cleanup()
	os.Exit(code)
}

// TestContract runs the one suite against every runtime.
func TestContract(t *testing.T) {
	for _, rt := range []contract.Runtime{
		{Name: clawd.RuntimeNative, Build: cbuild.Plugin,
			Unsupervised: "a native plugin runs in the host's process, so a fault in it is the host's and nothing restarts it"},
		{Name: clawd.RuntimeProcess, Build: cbuild.Plugin, Crash: "abort"},
		{Name: clawd.RuntimeWasm, Build: cbuild.WasmPlugin, Crash: "abort",
			NoThreads: "a wasm32 guest built without the threads proposal has no pthread_create"},
	} {
		t.Run(rt.Name, func(t *testing.T) { contract.Run(t, rt) })
	}
}
