package loader_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/internal/benchfloor"
	"github.com/clawd-go/clawd/internal/cabi"
	"github.com/clawd-go/clawd/internal/cbuild"
	"github.com/clawd-go/clawd/internal/cmem"
	"github.com/clawd-go/clawd/internal/dl"
	"github.com/clawd-go/clawd/internal/vtable"
	"github.com/clawd-go/clawd/loader"
)

// The arguments every benchmark uses (README, "Performance"): a 21-byte
// session id, a 10-byte tool name and a 97-byte JSON input.
var (
	benchSession = "sess-0123456789abcdef"
	benchTool    = "grep_files"
	benchInput   = `{"pattern":"func (p \\*Plugin)","path":"./loader","max_results":25000,"case":false,"glob":"*.go"}`
)

type benchRig struct {
	p      clawd.Plugin
	toolFn uintptr // on_tool_call, for the floor
	loopFn uintptr // bench_log_loop, for the floor
	ctx    uintptr // a context-sized block of C memory for the floor
	buf    []byte  // C memory for the floor's strings
}

func newBenchRig(b *testing.B, level zapcore.Level) *benchRig {
	if len(benchSession) != 21 || len(benchTool) != 10 || len(benchInput) != 97 {
		b.Fatalf("argument sizes drifted: %d %d %d", len(benchSession), len(benchTool), len(benchInput))
	}
	so := cbuild.Plugin(b, "bench")
	lg := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(discard{}), level))
	p, err := loader.Open(so, clawd.WithLogger(lg))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = p.Close() })
	// The floor opens the same library again (the loader hands back the same
	// mapping) and takes the callback pointer straight from the table.
	lib, err := dl.Open(so)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = dl.Close(lib) })
	initFn, err := dl.Sym(lib, abi.InitSymbol)
	if err != nil {
		b.Fatal(err)
	}
	t, err := vtable.Read(vtable.CallInit(initFn), so)
	if err != nil {
		b.Fatal(err)
	}
	loop, err := dl.Sym(lib, "bench_log_loop")
	if err != nil {
		b.Fatal(err)
	}
	mem, err := cmem.Alloc(1 << 12)
	if err != nil {
		b.Fatal(err)
	}
	ctxMem, err := cmem.Alloc(cabi.SizeofContext)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = mem.Free(); _ = ctxMem.Free() })
	return &benchRig{p: p, toolFn: t.Callbacks[abi.OnToolCall], loopFn: loop, ctx: ctxMem.Addr(), buf: mem.Bytes()}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func (r *benchRig) hostToolCall(b *testing.B, n int) {
	ctx := context.Background()
	for i := 0; i < n; i++ {
		if err := toolCall(r.p, ctx, benchSession, benchTool, benchInput); err != nil {
			b.Fatal(err)
		}
	}
}

func (r *benchRig) floorToolCall(b *testing.B, n int) {
	for i := 0; i < n; i++ {
		if rc := benchfloor.Call3(r.toolFn, r.ctx, r.buf, benchSession, benchTool, benchInput); rc != 0 {
			b.Fatal(rc)
		}
	}
}

// BenchmarkToolCall is one ToolCall through the loader: the hot path.
func BenchmarkToolCall(b *testing.B) {
	r := newBenchRig(b, zapcore.InfoLevel)
	b.ReportAllocs()
	b.ResetTimer()
	r.hostToolCall(b, b.N)
}

// BenchmarkToolCallFloor is the same call written by hand (see benchfloor).
func BenchmarkToolCallFloor(b *testing.B) {
	r := newBenchRig(b, zapcore.InfoLevel)
	b.ReportAllocs()
	b.ResetTimer()
	r.floorToolCall(b, b.N)
}

// BenchmarkToolCallRatio runs host and floor interleaved in one benchmark
// and reports host time over floor time as x-floor.
func BenchmarkToolCallRatio(b *testing.B) {
	r := newBenchRig(b, zapcore.InfoLevel)
	ratio(b, func(n int) { r.floorToolCall(b, n) }, func(n int) { r.hostToolCall(b, n) })
}

// BenchmarkToolCallRatioChecked is BenchmarkToolCallRatio against a floor
// that also checks its input as the ABI promises the plugin (clawd.Call's
// Validate: JSON text), as every runtime does before a call: what is left
// is the loader's own cost.
func BenchmarkToolCallRatioChecked(b *testing.B) {
	r := newBenchRig(b, zapcore.InfoLevel)
	call := clawd.ToolCall(benchSession, benchTool, benchInput)
	ratio(b, func(n int) {
		for i := 0; i < n; i++ {
			if call.Validate() != nil {
				b.Fatal("the benchmark's input is not valid")
			}
			r.floorToolCall(b, 1)
		}
	}, func(n int) { r.hostToolCall(b, n) })
}

// The log benchmarks: the plugin calls ctx->log(ctx, 1, "x") in a loop,
// n times in one tool call. The host's level is Info, so each line is
// dropped by level: what is measured is the trampoline, not zap's encoder.
func (r *benchRig) hostLog(b *testing.B, n int) {
	if err := toolCall(r.p, context.Background(), "s", "log", strconv.Itoa(n)); err != nil {
		b.Fatal(err)
	}
}

func (r *benchRig) floorLog(n int) { benchfloor.RunLoop(r.loopFn, benchfloor.LogFn(), r.ctx, n) }

// BenchmarkLog is one plugin log call into the host, dropped by level.
func BenchmarkLog(b *testing.B) {
	r := newBenchRig(b, zapcore.InfoLevel)
	b.ReportAllocs()
	b.ResetTimer()
	r.hostLog(b, b.N)
}

// BenchmarkLogFloor is the same loop calling a bare host function.
func BenchmarkLogFloor(b *testing.B) {
	r := newBenchRig(b, zapcore.InfoLevel)
	b.ReportAllocs()
	b.ResetTimer()
	r.floorLog(b.N)
}

// BenchmarkLogRatio interleaves host and floor and reports x-floor.
func BenchmarkLogRatio(b *testing.B) {
	r := newBenchRig(b, zapcore.InfoLevel)
	ratio(b, r.floorLog, func(n int) { r.hostLog(b, n) })
}

// BenchmarkLogWritten is a log line that zap encodes and writes (to a
// discarding writer): the cost a plugin pays for a line that is kept.
func BenchmarkLogWritten(b *testing.B) {
	r := newBenchRig(b, zapcore.DebugLevel)
	b.ReportAllocs()
	b.ResetTimer()
	r.hostLog(b, b.N)
}

// ratio times floor and host in alternating blocks, so both see the same
// machine, and reports ns/op of the host, floor-ns/op and x-floor.
func ratio(b *testing.B, floor, host func(n int)) {
	floor(1000)
	host(1000)
	b.ResetTimer()
	var tf, th time.Duration
	for left := b.N; left > 0; {
		k := min(left, 20000)
		t0 := time.Now()
		floor(k)
		t1 := time.Now()
		host(k)
		th += time.Since(t1)
		tf += t1.Sub(t0)
		left -= k
	}
	b.StopTimer()
	b.ReportMetric(float64(th.Nanoseconds())/float64(b.N), "host-ns/op")
	b.ReportMetric(float64(tf.Nanoseconds())/float64(b.N), "floor-ns/op")
	b.ReportMetric(float64(th)/float64(tf), "x-floor")
	b.ReportMetric(0, "ns/op")
}
