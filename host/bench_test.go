package host_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/clawd-go/clawd/host"
	"github.com/clawd-go/clawd/internal/cbuild"
)

// The arguments of every call benchmark (README, "Performance"): a 21-byte
// session id, a 10-byte tool name and a 97-byte JSON input, which every
// call checks (clawd.Call.Validate).
const (
	benchSession = "sess-0123456789abcdef"
	benchTool    = "grep_files"
	benchInput   = `{"pattern":"func (p \\*Plugin)","path":"./loader","max_results":25000,"case":false,"glob":"*.go"}`
)

// The cost the host adds to a call: picking the instances, timing,
// counting, and with a threshold of 0 a goroutine per plugin. Compare with
// loader's BenchmarkToolCall for one plugin.
func BenchmarkDispatch(b *testing.B) {
	for _, c := range []struct {
		n         int
		threshold time.Duration
	}{{1, host.DefaultParallelThreshold}, {4, host.DefaultParallelThreshold}, {4, 0}} {
		n := c.n
		b.Run(fmt.Sprintf("plugins=%d/threshold=%dus", n, c.threshold.Microseconds()), func(b *testing.B) {
			root := b.TempDir()
			lib := cbuild.Plugin(b, "bench")
			for i := range n {
				plugin(b, root, fmt.Sprintf("bench%d", i), "1.0.0", lib)
			}
			h, err := host.New(host.WithPluginDirs(root), host.WithParallelThreshold(c.threshold))
			if err != nil {
				b.Fatal(err)
			}
			defer h.Close()
			if err := h.Load(bg); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				outs := h.ToolCall(bg, benchSession, benchTool, benchInput)
				if len(outs) != n || outs[0].Err != nil {
					b.Fatal(outs)
				}
			}
		})
	}
}
