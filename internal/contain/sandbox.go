package contain

import (
	"math"
	"path/filepath"
	"slices"
	"time"

	"github.com/clawd-go/clawd/abi"
)

// Sandbox describes a plugin's sandbox child in the host's terms. Its
// Policy is the one confinement that isolate gives a sandboxed plugin and
// that inspect and check give the child that opens it, so that what they
// report is what the plugin will get.
type Sandbox struct {
	Library      string           // the plugin's library; its directory is readable
	PluginDir    string           // the plugin's own directory (its manifest's), readable; "" for none
	ProjectDir   string           // read-only under fs.read, read-write under fs.write; "" for none
	Capabilities []abi.Capability // the grants
	AddressSpace uint64           // RLIMIT_AS in bytes; 0: none
	CPUTime      time.Duration    // RLIMIT_CPU, rounded up to whole seconds; 0: none
	MaxProcesses int              // processes and threads the plugin may create; 0: no bound
	NoLandlock   bool             // leave file and network access unrestricted
	Env          []string         // passed besides the allowlist: "NAME=VALUE", or "NAME" for the host's value
}

// DefaultMaxProcesses is the default bound on the processes and threads a
// sandboxed plugin may create.
const DefaultMaxProcesses = 64

// Policy is the Policy of the sandbox: its directories as granted, no TCP,
// no signals outside, no sockets at all, no core dumps, the limits, the
// allowlisted environment plus Env, a private HOME (the caller runs
// Cleanup once the child ended). A directory whose absolute
// path cannot be found is left out.
func (s Sandbox) Policy() Policy {
	p := Policy{
		Landlock:     !s.NoLandlock,
		DenyTCP:      true,
		ScopeSignals: true,
		NoCoreDumps:  true,
		AddressSpace: s.AddressSpace,
		CPUSeconds:   uint64(math.Ceil(s.CPUTime.Seconds())),
		MaxProcesses: s.MaxProcesses,
		Env:          slices.Clip(s.Env),
		PrivateHome:  true,
		DenySockets:  true,
		DenySyscalls: true,
	}
	if s.Library != "" {
		if dir, err := filepath.Abs(filepath.Dir(s.Library)); err == nil {
			p.ReadOnly = append(p.ReadOnly, dir)
		}
	}
	if s.PluginDir != "" {
		if dir, err := filepath.Abs(s.PluginDir); err == nil {
			p.ReadOnly = append(p.ReadOnly, dir)
		}
	}
	if s.ProjectDir != "" {
		if dir, err := filepath.Abs(s.ProjectDir); err == nil {
			switch {
			case slices.Contains(s.Capabilities, abi.CapFSWrite):
				p.ReadWrite = append(p.ReadWrite, dir)
			case slices.Contains(s.Capabilities, abi.CapFSRead):
				p.ReadOnly = append(p.ReadOnly, dir)
			}
		}
	}
	return p
}
