package clawd_test

import (
	"context"
	"testing"
	"time"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/internal/cbuild"
	"github.com/clawd-go/clawd/wasm"
)

// The arguments of the call benchmarks (as in loader's and wasm's): a
// 21-byte session id, a 10-byte tool name and a 97-byte JSON input.
var benchCall = clawd.ToolCall("sess-0123456789abcdef", "grep_files",
	`{"pattern":"func (p \\*Plugin)","path":"./loader","max_results":25000,"case":false,"glob":"*.go"}`)

// benchRuntimes opens testplugins/bench.c, one source, in every runtime:
// the shared library in process (native) and in the sandbox child
// (process), the .wasm with deadlines off and on.
func benchRuntimes(b *testing.B) map[string]clawd.Plugin {
	b.Helper()
	lib, mod := cbuild.Plugin(b, "bench"), cbuild.WasmPlugin(b, "bench")
	open := func(rt, path string, opts ...clawd.Option) clawd.Plugin {
		p, err := clawd.Open(rt, path, opts...)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = p.Close() })
		return p
	}
	return map[string]clawd.Plugin{
		"native":          open(clawd.RuntimeNative, lib),
		"process":         open(clawd.RuntimeProcess, lib),
		"wasm-nodeadline": open(clawd.RuntimeWasm, mod, wasm.WithDeadlines(false)),
		"wasm-deadline":   open(clawd.RuntimeWasm, mod),
	}
}

func callN(b *testing.B, p clawd.Plugin, ctx context.Context, n int) {
	for i := 0; i < n; i++ {
		if err := p.Call(ctx, benchCall); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRuntimeToolCall is one ToolCall of the same plugin source in
// each runtime; wasm-deadline's context carries a deadline, the others'
// none.
func BenchmarkRuntimeToolCall(b *testing.B) {
	ps := benchRuntimes(b)
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	for _, name := range []string{"native", "process", "wasm-nodeadline", "wasm-deadline"} {
		b.Run(name, func(b *testing.B) {
			c := context.Background()
			if name == "wasm-deadline" {
				c = ctx
			}
			callN(b, ps[name], c, 100)
			b.ReportAllocs()
			b.ResetTimer()
			callN(b, ps[name], c, b.N)
		})
	}
}

// BenchmarkRuntimeRatio times the four in alternating blocks, so that all
// see the same machine, and reports each per op with the two
// ratios: wasm without a deadline over native (target: within 3x), wasm
// with a deadline over the process sandbox's round trip (target: at most
// 0.1).
func BenchmarkRuntimeRatio(b *testing.B) {
	ps := benchRuntimes(b)
	dl, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	bg := context.Background()
	order := []string{"native", "process", "wasm-nodeadline", "wasm-deadline"}
	ctxs := map[string]context.Context{"native": bg, "process": bg, "wasm-nodeadline": bg, "wasm-deadline": dl}
	for _, n := range order {
		callN(b, ps[n], ctxs[n], 200)
	}
	took := map[string]time.Duration{}
	b.ResetTimer()
	for left := b.N; left > 0; {
		k := min(left, 1000)
		for _, n := range order {
			t0 := time.Now()
			callN(b, ps[n], ctxs[n], k)
			took[n] += time.Since(t0)
		}
		left -= k
	}
	b.StopTimer()
	per := func(n string) float64 { return float64(took[n].Nanoseconds()) / float64(b.N) }
	for _, n := range order {
		b.ReportMetric(per(n), n+"-ns/op")
	}
	b.ReportMetric(per("wasm-nodeadline")/per("native"), "wasm/native")
	b.ReportMetric(per("wasm-deadline")/per("process"), "wasm-deadline/process")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkValidate is the check every call of on_tool_call and on_message
// pays before the plugin sees it (Call.Validate) on the 97-byte input.
func BenchmarkValidate(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if err := benchCall.Validate(); err != nil {
			b.Fatal(err)
		}
	}
}
