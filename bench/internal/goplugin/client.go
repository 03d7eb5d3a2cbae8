package goplugin

import (
	"fmt"
	"os/exec"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
)

// Start runs the peer program bin and connects to its tool plugin over the
// protocol of version (VersionNetRPC or VersionGRPC). kill ends the
// process.
func Start(bin string, version int) (t Tool, kill func(), err error) {
	proto := plugin.ProtocolNetRPC
	if version == VersionGRPC {
		proto = plugin.ProtocolGRPC
	}
	sets := Sets(nil)
	c := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  Handshake,
		VersionedPlugins: map[int]plugin.PluginSet{version: sets[version]},
		Cmd:              exec.Command(bin),
		AllowedProtocols: []plugin.Protocol{proto},
		Logger:           hclog.NewNullLogger(),
	})
	rc, err := c.Client()
	if err != nil {
		c.Kill()
		return nil, nil, fmt.Errorf("starting the go-plugin peer: %w", err)
	}
	raw, err := rc.Dispense(PluginName)
	if err != nil {
		c.Kill()
		return nil, nil, fmt.Errorf("dispensing the go-plugin peer: %w", err)
	}
	if c.NegotiatedVersion() != version {
		c.Kill()
		return nil, nil, fmt.Errorf("go-plugin negotiated version %d, want %d", c.NegotiatedVersion(), version)
	}
	return raw.(Tool), c.Kill, nil
}
