package wasm_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/wasm"
)

// The arguments of the loader's benchmarks: a 21-byte session id, a
// 10-byte tool name and a 97-byte JSON input.
var (
	benchSession = "sess-0123456789abcdef"
	benchTool    = "grep_files"
	benchInput   = `{"pattern":"func (p \\*Plugin)","path":"./loader","max_results":25000,"case":false,"glob":"*.go"}`
)

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func benchPlugin(b *testing.B, opts ...clawd.Option) *wasm.Plugin {
	b.Helper()
	if len(benchSession) != 21 || len(benchTool) != 10 || len(benchInput) != 97 {
		b.Fatalf("argument sizes drifted: %d %d %d", len(benchSession), len(benchTool), len(benchInput))
	}
	lg := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(discard{}), zapcore.InfoLevel))
	p, err := wasm.OpenPlugin(cbuildWasm(b, "bench"), append([]clawd.Option{clawd.WithLogger(lg)}, opts...)...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = p.Close() })
	return p
}

func runToolCalls(b *testing.B, p *wasm.Plugin, ctx context.Context) {
	c := clawd.ToolCall(benchSession, benchTool, benchInput)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := p.Call(ctx, c); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWasmToolCall is one ToolCall into a WASM plugin (~100 bytes of
// input), beside the loader's BenchmarkToolCall:
//   - nodeadline: wasm.WithDeadlines(false), a call that cannot be
//     interrupted, as a native one: the hot path, 0 allocs/op;
//   - background: deadlines on (the default), the context without one;
//   - deadline: deadlines on, the context with a deadline.
func BenchmarkWasmToolCall(b *testing.B) {
	b.Run("nodeadline", func(b *testing.B) {
		runToolCalls(b, benchPlugin(b, wasm.WithDeadlines(false)), context.Background())
	})
	b.Run("background", func(b *testing.B) {
		runToolCalls(b, benchPlugin(b), context.Background())
	})
	b.Run("deadline", func(b *testing.B) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
		defer cancel()
		runToolCalls(b, benchPlugin(b), ctx)
	})
}

// BenchmarkWasmLog is one plugin log call into the host, dropped by level.
func BenchmarkWasmLog(b *testing.B) {
	p := benchPlugin(b, wasm.WithDeadlines(false))
	b.ReportAllocs()
	b.ResetTimer()
	if err := p.Call(context.Background(), clawd.ToolCall("s", "log", strconv.Itoa(b.N))); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkWasmOpen is an Open and Close of a cached module: a runtime,
// WASI, the host module, an instance, init and on_load.
func BenchmarkWasmOpen(b *testing.B) {
	mod := cbuildWasm(b, "bench")
	dir := b.TempDir()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		p, err := wasm.OpenPlugin(mod, wasm.WithCacheDir(dir))
		if err != nil {
			b.Fatal(err)
		}
		_ = p.Close()
	}
}

// TestToolCallAllocs: the hot path allocates nothing.
func TestToolCallAllocs(t *testing.T) {
	p, err := wasm.OpenPlugin(cbuildWasm(t, "bench"), wasm.WithDeadlines(false))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c := clawd.ToolCall(benchSession, benchTool, benchInput)
	if n := testing.AllocsPerRun(200, func() {
		if err := p.Call(context.Background(), c); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("%v allocs per call, want 0", n)
	}
}

// BenchmarkWasmRestart is a trapping call: the trap, the instance
// discarded and made again (_initialize, init, on_load).
func BenchmarkWasmRestart(b *testing.B) {
	p, err := wasm.OpenPlugin(cbuildWasm(b, "wasm_guest"))
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	c := clawd.ToolCall("s", "trap", "{}")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := p.Call(context.Background(), c); err == nil {
			b.Fatal("no trap")
		}
	}
}

// BenchmarkWasmGuestLoop is a call whose guest reads a 10 KiB input byte
// by byte (wasm_guest's tool "bytes"), with deadlines (the instrumented
// module, the context with a deadline and a call timeout) and without
// (WithDeadlines(false)), alternated in the same loop: ratio is the
// first's time over the second's, measured in the same run; ns/op and
// allocs/op are those of the two calls together.
func BenchmarkWasmGuestLoop(b *testing.B) {
	lg := zap.NewNop()
	mod := cbuildWasm(b, "wasm_guest")
	on, err := wasm.OpenPlugin(mod, clawd.WithLogger(lg), clawd.WithCallTimeout(time.Minute))
	if err != nil {
		b.Fatal(err)
	}
	defer on.Close()
	off, err := wasm.OpenPlugin(mod, clawd.WithLogger(lg), wasm.WithDeadlines(false))
	if err != nil {
		b.Fatal(err)
	}
	defer off.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	c := clawd.ToolCall("s", "bytes", `"`+strings.Repeat("x", 10<<10-2)+`"`) // 10 KiB of JSON
	for _, p := range []*wasm.Plugin{on, off} {                              // warm: the arenas are grown
		if err := p.Call(ctx, c); err != nil {
			b.Fatal(err)
		}
	}
	var tOn, tOff time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if err := on.Call(ctx, c); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := off.Call(ctx, c); err != nil {
			b.Fatal(err)
		}
		tOn += t1.Sub(t0)
		tOff += time.Since(t1)
	}
	b.ReportMetric(float64(tOn.Nanoseconds())/float64(b.N), "ns/deadline")
	b.ReportMetric(float64(tOff.Nanoseconds())/float64(b.N), "ns/nodeadline")
	b.ReportMetric(float64(tOn)/float64(tOff), "ratio")
	// The guest's loop runs once per input byte: the cost of one
	// iteration, with the checks and without.
	iters := float64(b.N) * float64(len(c.Args[2]))
	b.ReportMetric(float64(tOn.Nanoseconds())/iters, "ns/iter-deadline")
	b.ReportMetric(float64(tOff.Nanoseconds())/iters, "ns/iter-nodeadline")
}
