package wasmopt

import (
	"fmt"
	"strings"
	"time"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
)

// Grants is what the wasm sandbox gives a guest: everything it can reach
// beyond its own linear memory and WASI's clocks and randomness. Its JSON
// form is what `clawd-plugin inspect --json` prints as "grants".
type Grants struct {
	MemoryLimitMB int   `json:"memory_limit_mb"` // the cap on linear memory
	Deadlines     bool  `json:"deadlines"`       // a call is interrupted at its deadline (wasm.WithDeadlines)
	CallTimeoutMS int64 `json:"call_timeout_ms"` // the longest call when the caller's context has no earlier deadline; 0: the caller's deadline only
	// Mounts are the directories the guest sees, one per fs capability
	// granted (fs.write wins over fs.read: one mount, read-write).
	Mounts []Mount `json:"mounts"`
	Relay  bool    `json:"relay"` // send_event reaches the host's sink (network.relay); else CapabilityDenied
	// Instances is how many instances may serve calls at once: 1 unless
	// concurrent (clawd.WithConcurrent), then the pool's bound (wasm.WithPoolSize).
	Instances int `json:"instances"`
}

// Mount is one directory of the host the guest sees.
type Mount struct {
	Capability abi.Capability `json:"capability"` // fs.read or fs.write
	Dir        string         `json:"dir"`        // the host directory ("" when none is set: nothing is mounted)
	Guest      string         `json:"guest"`      // where the guest sees it
	ReadOnly   bool           `json:"read_only"`
}

// GrantsFor is what a plugin opened with opts would be granted: Open's
// options, read the way Open reads them, so a tool can show the sandbox
// without opening the module.
func GrantsFor(opts ...clawd.Option) Grants {
	cfg, own := Read(opts)
	return GrantsOf(&cfg, &own)
}

// GrantsOf is what a plugin with cfg and own is granted.
func GrantsOf(cfg *clawd.Config, own *Settings) Grants {
	g := Grants{MemoryLimitMB: own.MemoryLimitMB, Deadlines: !own.NoDeadlines, Relay: cfg.Granted(abi.CapNetworkRelay),
		Mounts: []Mount{}, Instances: 1}
	if g.Deadlines {
		g.CallTimeoutMS = cfg.CallTimeout.Milliseconds()
	}
	if cfg.Concurrent {
		g.Instances = own.PoolSize
	}
	switch {
	case cfg.Granted(abi.CapFSWrite):
		g.Mounts = append(g.Mounts, Mount{Capability: abi.CapFSWrite, Dir: cfg.ProjectDir, Guest: "/"})
	case cfg.Granted(abi.CapFSRead):
		g.Mounts = append(g.Mounts, Mount{Capability: abi.CapFSRead, Dir: cfg.ProjectDir, Guest: "/", ReadOnly: true})
	}
	return g
}

// String is the grants in one line: "memory 256 MiB; deadline: the
// caller's, at most 5s; fs.read: /src read-only at /; network.relay: yes;
// 1 instance".
func (g Grants) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "memory %d MiB; ", g.MemoryLimitMB)
	switch {
	case !g.Deadlines:
		b.WriteString("deadline: none (calls are not interrupted)")
	case g.CallTimeoutMS > 0:
		fmt.Fprintf(&b, "deadline: the caller's, at most %s", time.Duration(g.CallTimeoutMS)*time.Millisecond)
	default:
		b.WriteString("deadline: the caller's")
	}
	if len(g.Mounts) == 0 {
		b.WriteString("; files: none")
	}
	for _, m := range g.Mounts {
		mode := "read-write"
		if m.ReadOnly {
			mode = "read-only"
		}
		if m.Dir == "" {
			fmt.Fprintf(&b, "; %s: no project directory, nothing mounted", m.Capability)
			continue
		}
		fmt.Fprintf(&b, "; %s: %s %s at %s", m.Capability, m.Dir, mode, m.Guest)
	}
	relay := "refused (CapabilityDenied)"
	if g.Relay {
		relay = "allowed"
	}
	fmt.Fprintf(&b, "; send_event: %s; sockets: none; ", relay)
	if g.Instances == 1 {
		b.WriteString("1 instance (calls serialized)")
	} else {
		fmt.Fprintf(&b, "up to %d instances", g.Instances)
	}
	return b.String()
}
