package host_test

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"testing"
	"time"
	"unsafe"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/host"
	"github.com/clawd-go/clawd/internal/benchfloor"
	"github.com/clawd-go/clawd/internal/cbuild"
	"github.com/clawd-go/clawd/internal/cmem"
	"github.com/clawd-go/clawd/internal/dl"
	"github.com/clawd-go/clawd/internal/vtable"
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
// loader's BenchmarkToolCall for one plugin. observer=noop is the same
// dispatch with an Observer that adds nothing (host.WithObserver): the
// cost of the hook itself, and of calling each native plugin on its own
// instead of in a batch.
func BenchmarkDispatch(b *testing.B) {
	for _, c := range []struct {
		n         int
		threshold time.Duration
	}{{1, host.DefaultParallelThreshold}, {4, host.DefaultParallelThreshold}, {4, 0}} {
		for _, ob := range []host.Observer{nil, noopObserver{}} {
			n := c.n
			name := "none"
			if ob != nil {
				name = "noop"
			}
			b.Run(fmt.Sprintf("plugins=%d/threshold=%dus/observer=%s", n, c.threshold.Microseconds(), name), func(b *testing.B) {
				root := b.TempDir()
				lib := cbuild.Plugin(b, "bench")
				for i := range n {
					plugin(b, root, fmt.Sprintf("bench%d", i), "1.0.0", lib)
				}
				opts := []host.Option{host.WithPluginDirs(root), host.WithParallelThreshold(c.threshold)}
				if ob != nil {
					opts = append(opts, host.WithObserver(ob))
				}
				h, err := host.New(opts...)
				if err != nil {
					b.Fatal(err)
				}
				defer h.Close()
				if err := h.Load(bg); err != nil {
					b.Fatal(err)
				}
				// DispatchInto into a reused slice, as a busy caller would:
				// what is left is the host's own cost.
				call := clawd.ToolCall(benchSession, benchTool, benchInput)
				var outs []host.Outcome
				b.ReportAllocs()
				for b.Loop() {
					outs = h.DispatchInto(bg, call, outs[:0])
					if len(outs) != n || outs[0].Err != nil {
						b.Fatal(outs)
					}
				}
			})
		}
	}
}

// noopObserver is told of every call and does nothing.
type noopObserver struct{}

func (noopObserver) CallStart(ctx context.Context, _ host.CallInfo) context.Context { return ctx }
func (noopObserver) CallEnd(context.Context, host.CallInfo, host.CallResult)        {}

// benchHost opens a host over n copies of the quiet bench plugin.
func benchHost(b *testing.B, n int) *host.Host {
	root := b.TempDir()
	lib := cbuild.Plugin(b, "bench")
	for i := range n {
		plugin(b, root, fmt.Sprintf("bench%d", i), "1.0.0", lib)
	}
	h, err := host.New(host.WithPluginDirs(root))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = h.Close() })
	if err := h.Load(bg); err != nil {
		b.Fatal(err)
	}
	return h
}

// callFloor is the floor of a dispatch: the callbacks of n copies of the
// plugin (each its own library, as the host's copies are) called one after
// the other in one cgo call, with the strings already in C memory.
type callFloor struct {
	fns, ctx, a, b, c uintptr
}

func newCallFloor(b *testing.B, n int) *callFloor {
	lib := cbuild.Plugin(b, "bench")
	dir := b.TempDir()
	mem, err := cmem.Alloc(4096)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = mem.Free() })
	buf := mem.Bytes()
	fns := unsafe.Slice((*uintptr)(unsafe.Pointer(&buf[0])), n)
	for i := range n {
		path := filepath.Join(dir, fmt.Sprintf("floor%d%s", i, filepath.Ext(lib)))
		copyFile(b, lib, path)
		h, err := dl.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = dl.Close(h) })
		init, err := dl.Sym(h, abi.InitSymbol)
		if err != nil {
			b.Fatal(err)
		}
		t, err := vtable.Read(vtable.CallInit(init), path)
		if err != nil {
			b.Fatal(err)
		}
		fns[i] = t.Callbacks[abi.OnToolCall]
	}
	// After the table: a context-sized block, then the three strings.
	at := func(off int) uintptr { return mem.Addr() + uintptr(off) }
	f := &callFloor{fns: at(0), ctx: at(1024)}
	off := 2048
	for i, dst := range [3]*uintptr{&f.a, &f.b, &f.c} {
		s := [3]string{benchSession, benchTool, benchInput}[i]
		copy(buf[off:], s)
		buf[off+len(s)] = 0
		*dst = at(off)
		off += len(s) + 1
	}
	return f
}

func (f *callFloor) run(b *testing.B, n, k int) {
	for range k {
		if benchfloor.CallEach(f.fns, n, f.ctx, f.a, f.b, f.c) != 0 {
			b.Fatal("the floor's callback failed")
		}
	}
}

// BenchmarkDispatchPerPlugin is what each native plugin adds to a
// dispatch: hosts of 1 and of 16 quiet plugins (a tool call that returns
// at once) dispatched to in alternating blocks, so that both see the same
// machine, and (t16 - t1) / 15 reported as ns-per-plugin. one-ns/op and
// sixteen-ns/op are the two dispatches; allocs/op counts both. The floor
// (callFloor) is measured the same way in the same blocks:
// floor-ns-per-plugin, and x-floor the host's cost over it.
func BenchmarkDispatchPerPlugin(b *testing.B) {
	const many = 16
	h1, h16 := benchHost(b, 1), benchHost(b, many)
	floor := newCallFloor(b, many)
	call := clawd.ToolCall(benchSession, benchTool, benchInput)
	outs := make([]host.Outcome, 0, many)
	dispatch := func(h *host.Host, n, k int) {
		for range k {
			outs = h.DispatchInto(bg, call, outs[:0])
			if len(outs) != n || outs[0].Err != nil || outs[n-1].Err != nil {
				b.Fatal(outs)
			}
		}
	}
	// The thread's CPU time too (Linux): on a loaded machine the wall
	// clock also counts the time other processes ran instead.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	dispatch(h1, 1, 1000)
	dispatch(h16, many, 1000)
	floor.run(b, many, 1000)
	b.ReportAllocs()
	b.ResetTimer()
	var t1, t16, f1, f16 time.Duration
	var c1, c16 int64
	for left := b.N; left > 0; {
		k := min(left, 5000)
		u0, _ := threadCPU()
		s0 := time.Now()
		dispatch(h1, 1, k)
		s1 := time.Now()
		u1, _ := threadCPU()
		dispatch(h16, many, k)
		s2 := time.Now()
		u2, _ := threadCPU()
		floor.run(b, 1, k)
		s3 := time.Now()
		floor.run(b, many, k)
		s4 := time.Now()
		t1, t16, f1, f16 = t1+s1.Sub(s0), t16+s2.Sub(s1), f1+s3.Sub(s2), f16+s4.Sub(s3)
		c1, c16 = c1+u1-u0, c16+u2-u1
		left -= k
	}
	b.StopTimer()
	n := float64(b.N)
	per := float64((t16 - t1).Nanoseconds()) / n / (many - 1)
	floorPer := float64((f16 - f1).Nanoseconds()) / n / (many - 1)
	b.ReportMetric(float64(t1.Nanoseconds())/n, "one-ns/op")
	b.ReportMetric(float64(t16.Nanoseconds())/n, "sixteen-ns/op")
	b.ReportMetric(per, "ns-per-plugin")
	b.ReportMetric(floorPer, "floor-ns-per-plugin")
	b.ReportMetric(per/floorPer, "x-floor")
	if _, ok := threadCPU(); ok {
		b.ReportMetric(float64(c16-c1)/n/(many-1), "cpu-ns-per-plugin")
	}
	b.ReportMetric(0, "ns/op")
}
