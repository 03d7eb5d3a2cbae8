package loader_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"go.uber.org/zap"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/loader"
)

// Open a plugin, drive a session through it and close it. The plugin's log
// lines go to the zap logger; its events come to the sink.
func Example() {
	logger, _ := zap.NewDevelopment()
	sink := clawd.SinkFunc(func(_ context.Context, ev clawd.Event) error {
		fmt.Printf("event from %s: %s %s\n", ev.Plugin, ev.Method, ev.Params)
		return nil // the plugin's send_event returns CLAWA_ERROR_NONE
	})
	p, err := loader.Open("./libhello.so",
		clawd.WithLogger(logger),
		clawd.WithEventSink(sink),
		clawd.WithCapabilities(abi.CapNetworkRelay))
	if errors.Is(err, clawerr.ABIMismatch) {
		log.Fatalf("built against another ABI: %v", err)
	}
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()

	ctx := context.Background()
	_ = sessionStart(p, ctx, "s1")
	if err := toolCall(p, ctx, "s1", "grep", `{"pattern":"TODO"}`); errors.Is(err, abi.NotFound) {
		fmt.Println("the plugin does not know this tool")
	}
	_ = sessionEnd(p, ctx, "s1")
}
