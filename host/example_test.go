package host_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"go.uber.org/zap"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/host"
)

// A host over a user and a project plugin directory. The project holds one
// plugin whose library was never built: it fails with a stable code, and
// the host runs on without it.
func Example() {
	user, _ := os.MkdirTemp("", "user-plugins-")
	project, _ := os.MkdirTemp("", "project-plugins-")
	defer os.RemoveAll(user)
	defer os.RemoveAll(project)
	os.Mkdir(filepath.Join(project, "hello"), 0o755)
	os.WriteFile(filepath.Join(project, "hello", "clawd-plugin.json"), []byte(
		`{"name":"hello","version":"1.0.0","runtime":"dylib","entry":"libhello.so","capabilities":["network.relay"],"signature":""}`), 0o644)

	h, err := host.New(
		host.WithPluginOptions(clawd.WithLogger(zap.NewNop())),
		host.WithPluginOptions(clawd.WithEventSink(clawd.SinkFunc(func(_ context.Context, ev clawd.Event) error {
			fmt.Println("event", ev.Plugin, ev.Method, string(ev.Params))
			return nil // the plugin's send_event returns CLAWA_ERROR_NONE
		}))),
		host.WithPluginDirs(user, project), // the project overrides the user
		host.WithCapabilityPolicy(func(plugin string, c abi.Capability) bool {
			return c != abi.CapDaemonRPC // this host offers no RPC
		}),
		host.WithWatch(true)) // reload plugins whose files change
	if err != nil {
		fmt.Println(err)
		return
	}
	defer h.Close()

	transitions, cancel := h.Subscribe()
	defer cancel()

	ctx := context.Background()
	if err := h.Load(ctx); err != nil {
		fmt.Println("load:", clawerr.CodeOf(err)) // the others are running
	}
	fmt.Println("transition:", (<-transitions).To, (<-transitions).To)
	for _, p := range h.Plugins() {
		fmt.Println("plugin:", p.Name, p.State, clawerr.CodeOf(p.Reason))
	}
	outs := h.Call(ctx, clawd.ToolCall("s1", "grep", `{"pattern":"x"}`))
	fmt.Println("outcomes:", len(outs), host.Errors(outs))
	// Output:
	// load: open_failed
	// transition: resolved failed
	// plugin: hello failed open_failed
	// outcomes: 0 <nil>
}
