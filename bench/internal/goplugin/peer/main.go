// Command peer is the go-plugin plugin process of the benchmarks: it serves
// the tool plugin over net/rpc (protocol version 1) and gRPC (version 2).
package main

import (
	"github.com/hashicorp/go-plugin"

	"github.com/clawd-go/clawd/bench/internal/goplugin"
)

func main() {
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  goplugin.Handshake,
		VersionedPlugins: goplugin.Sets(&goplugin.Impl{}),
		GRPCServer:       plugin.DefaultGRPCServer,
	})
}
