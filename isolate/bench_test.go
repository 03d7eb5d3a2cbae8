package isolate_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd/internal/cbuild"
	"github.com/clawd-go/clawd/isolate"
)

// The strings every benchmark uses (README, "Performance"): a 21-byte
// session id, a 10-byte tool name and a 97-byte JSON input, about 150 bytes
// on the wire; the reply is
// 8 bytes of body.
const (
	benchSession = "sess-0123456789abcdef"
	benchTool    = "read_files"
	benchInput   = `{"paths":["src/main.go","src/util.go"],"max_bytes":65536,"follow":false,"encoding":"utf-8","n":1}`
)

type benchRig struct {
	p           *isolate.Plugin
	req, sock   int // floor descriptors: the request pipe and the socket
	rep         int // the reply pipe
	msg, answer []byte
}

func newBenchRig(b *testing.B) *benchRig {
	b.Helper()
	p, err := isolate.OpenPlugin(cbuild.Plugin(b, "bench"), isolate.WithFloors())
	require.NoError(b, err)
	b.Cleanup(func() { p.Close() })
	fl := p.Floors()
	r := &benchRig{p: p, req: int(fl[0].Fd()), rep: int(fl[1].Fd()), sock: int(fl[2].Fd())}
	// The floor's request has the sandbox frame's size: the header, the
	// call's token and three lengths, the strings.
	r.msg = make([]byte, 8+16+len(benchSession)+len(benchTool)+len(benchInput))
	r.answer = make([]byte, 64)
	return r
}

func (r *benchRig) sandbox(b *testing.B, n int) {
	for i := 0; i < n; i++ {
		if err := r.p.ToolCall(bg, benchSession, benchTool, benchInput); err != nil {
			b.Fatal(err)
		}
	}
}

func (r *benchRig) pipe(b *testing.B, n int)   { r.roundTrips(b, r.req, r.rep, n) }
func (r *benchRig) socket(b *testing.B, n int) { r.roundTrips(b, r.sock, r.sock, n) }

func (r *benchRig) roundTrips(b *testing.B, out, in, n int) {
	for i := 0; i < n; i++ {
		if err := rawRoundTrip(out, in, r.msg, r.answer); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSandboxToolCall is one on_tool_call through the sandbox child.
func BenchmarkSandboxToolCall(b *testing.B) {
	r := newBenchRig(b)
	r.sandbox(b, 1000)
	b.ReportAllocs()
	b.ResetTimer()
	r.sandbox(b, b.N)
}

// BenchmarkFloorPipe is the raw round trip over a pipe pair between the
// same two processes, blocking reads on both sides.
func BenchmarkFloorPipe(b *testing.B) {
	r := newBenchRig(b)
	r.pipe(b, 1000)
	b.ReportAllocs()
	b.ResetTimer()
	r.pipe(b, b.N)
}

// BenchmarkFloorSocketpair is the same over a socketpair.
func BenchmarkFloorSocketpair(b *testing.B) {
	r := newBenchRig(b)
	r.socket(b, 1000)
	b.ReportAllocs()
	b.ResetTimer()
	r.socket(b, b.N)
}

// BenchmarkSandboxRatio times the two floors and the sandbox in alternating
// blocks, so all three see the same machine, and reports each per op and
// the sandbox's ratio to the faster floor.
func BenchmarkSandboxRatio(b *testing.B) {
	r := newBenchRig(b)
	r.pipe(b, 500)
	r.socket(b, 500)
	r.sandbox(b, 500)
	b.ResetTimer()
	var tp, ts, th time.Duration
	for left := b.N; left > 0; {
		k := min(left, 2000)
		t0 := time.Now()
		r.pipe(b, k)
		t1 := time.Now()
		r.socket(b, k)
		t2 := time.Now()
		r.sandbox(b, k)
		th += time.Since(t2)
		tp += t1.Sub(t0)
		ts += t2.Sub(t1)
		left -= k
	}
	b.StopTimer()
	per := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / float64(b.N) }
	b.ReportMetric(per(th), "sandbox-ns/op")
	b.ReportMetric(per(tp), "pipe-ns/op")
	b.ReportMetric(per(ts), "socketpair-ns/op")
	b.ReportMetric(float64(th)/float64(min(tp, ts)), "x-floor")
	b.ReportMetric(0, "ns/op")
}
