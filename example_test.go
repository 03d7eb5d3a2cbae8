package clawd_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/clawerr"
)

// Open a plugin by runtime name, call it, and ask what only some runtimes
// can tell.
func Example() {
	// Importing package loader registers "native", isolate "process"
	// (package host imports both).
	p, err := clawd.Open(clawd.RuntimeProcess, "./libgrep.so",
		clawd.WithCapabilities(abi.CapNetworkRelay),
		clawd.WithEventSink(clawd.SinkFunc(func(ctx context.Context, e clawd.Event) error {
			fmt.Println(e.Plugin, e.Method, string(e.Params))
			return nil // send_event returns CLAWA_ERROR_NONE
		})))
	if errors.Is(err, clawerr.RuntimeUnsupported) {
		log.Fatal("this program does not link the process sandbox")
	}
	if err != nil {
		log.Fatal(err) // crashed, abi_mismatch, on_load_failed, ...
	}
	defer p.Close()
	if c, ok := p.(clawd.Contained); ok {
		fmt.Println("sandbox:", c.Containment())
	}
	err = p.Call(context.Background(), clawd.ToolCall("s1", "grep", `{"pattern":"TODO"}`))
	if errors.Is(err, abi.NotFound) {
		fmt.Println("the plugin does not know this tool")
	}
}

// The runtimes this program links, by the names manifests and clawd.Open
// use.
func ExampleRuntimes() {
	fmt.Println(clawd.Runtimes())
	// Output: [native process wasm]
}

// A Call names the callback and carries its strings in C order.
func ExampleToolCall() {
	c := clawd.ToolCall("s1", "grep", `{"pattern":"TODO"}`)
	for i := 0; i < c.Op.Arity(); i++ {
		fmt.Printf("%s %d: %s\n", c.Op, i, c.Args[i])
	}
	// Output:
	// on_tool_call 0: s1
	// on_tool_call 1: grep
	// on_tool_call 2: {"pattern":"TODO"}
}
