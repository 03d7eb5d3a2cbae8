//go:build unix

package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/bench/internal/goplugin"
	"github.com/clawd-go/clawd/host"
	"github.com/clawd-go/clawd/internal/benchfloor"
	"github.com/clawd-go/clawd/internal/cabi"
	"github.com/clawd-go/clawd/internal/cbuild"
	"github.com/clawd-go/clawd/internal/cmem"
	"github.com/clawd-go/clawd/internal/dl"
	"github.com/clawd-go/clawd/internal/vtable"
	"github.com/clawd-go/clawd/isolate"
	"github.com/clawd-go/clawd/loader"
	"github.com/clawd-go/clawd/wasm"
)

// The call every row makes (README, "Performance"): a 21-byte session id,
// a 10-byte tool name and a 97-byte JSON input.
const (
	session = "sess-0123456789abcdef"
	tool    = "grep_files"
	input   = `{"pattern":"func (p \\*Plugin)","path":"./loader","max_results":25000,"case":false,"glob":"*.go"}`
)

// echoEnv makes this test binary the far end of the pipe floor.
const echoEnv = "CLAWD_BENCH_ECHO"

func TestMain(m *testing.M) {
	isolate.Main() // this test binary is also the sandbox child
	if os.Getenv(echoEnv) != "" {
		echo()
		return
	}
	code := m.Run()
	closeAll()
	cbuild.Cleanup()
	os.Exit(code)
}

// Rigs are made once per process and shared by the benchmarks (a host of
// 100 plugins or a go-plugin process is not made for every b.N).
var rigs struct {
	sync.Mutex
	m      map[string]any
	closer []func()
}

func rig[T any](b *testing.B, key string, make func() (T, func(), error)) T {
	b.Helper()
	rigs.Lock()
	defer rigs.Unlock()
	if v, ok := rigs.m[key]; ok {
		return v.(T)
	}
	v, closeFn, err := make()
	if err != nil {
		b.Fatalf("%s: %v", key, err)
	}
	if rigs.m == nil {
		rigs.m = map[string]any{}
	}
	rigs.m[key] = v
	rigs.closer = append(rigs.closer, closeFn)
	return v
}

func closeAll() {
	for i := len(rigs.closer) - 1; i >= 0; i-- {
		rigs.closer[i]()
	}
}

var bg = context.Background()

// caller makes n calls; a failed call fails the benchmark.
type caller func(n int)

// pair times subject and ref in alternating blocks of about 10 ms each, so
// both see the same machine, and reports the subject's ns/op and
// allocs/op, the reference's ref-ns/op, and x-ref: subject over reference,
// per plugin when plugins > 1.
func pair(b *testing.B, plugins int, subject, ref caller) {
	subject(10)
	ref(10)
	est := func(f caller) time.Duration {
		t := time.Now()
		f(10)
		return max(time.Since(t)/10, 1)
	}
	k := int(10 * time.Millisecond / max(est(subject), est(ref)))
	k = max(k, 1)
	b.ResetTimer()
	var ts, tr time.Duration
	for left := b.N; left > 0; {
		n := min(left, k)
		t0 := time.Now()
		subject(n)
		t1 := time.Now()
		ref(n)
		tr += time.Since(t1)
		ts += t1.Sub(t0)
		left -= n
	}
	b.StopTimer()
	allocs := testing.AllocsPerRun(20, func() { subject(1) })
	s, r := float64(ts.Nanoseconds())/float64(b.N), float64(tr.Nanoseconds())/float64(b.N)
	b.ReportMetric(s, "ns/op")
	b.ReportMetric(allocs, "allocs/op")
	b.ReportMetric(r, "ref-ns/op")
	b.ReportMetric(s/float64(plugins)/r, "x-ref")
	if plugins > 1 {
		b.ReportMetric(s/float64(plugins), "ns/plugin")
	}
}

// BenchmarkPeers is the table of the README: every row the same tool call,
// each against the reference its name gives.
func BenchmarkPeers(b *testing.B) {
	ld := loaderRig(b)
	// floor-call is the hand-written call: a cgo shim with cgo, a bare
	// purego.SyscallN without.
	const floorName = "floor-call"
	b.Run("c-vtable/vs=loader", func(b *testing.B) { pair(b, 1, ld.vtableLoop, ld.call) })
	b.Run(floorName+"/vs=loader", func(b *testing.B) { pair(b, 1, ld.floor, ld.call) })
	b.Run("loader/vs="+floorName, func(b *testing.B) { pair(b, 1, ld.call, ld.floor) })
	for _, n := range []int{1, 16, 100} {
		b.Run(fmt.Sprintf("host-%d/vs=loader", n), func(b *testing.B) {
			h := hostRig(b, n, hostDefaultThreshold)
			pair(b, n, h.dispatch(b, n), ld.call)
		})
	}
	// The fan-out decision: 4 quick plugins with the default threshold
	// against the host that never fans out (the default must cost nothing
	// more), and against the one that always does.
	b.Run("host-4/vs=host-4-serial", func(b *testing.B) {
		h := hostRig(b, 4, hostDefaultThreshold)
		s := hostRig(b, 4, time.Hour)
		pair(b, 1, h.dispatch(b, 4), s.dispatch(b, 4))
	})
	b.Run("host-4-fanned/vs=host-4-serial", func(b *testing.B) {
		f := hostRig(b, 4, 0)
		s := hostRig(b, 4, time.Hour)
		pair(b, 1, f.dispatch(b, 4), s.dispatch(b, 4))
	})
	b.Run("process/vs=pipe", func(b *testing.B) {
		p := processRig(b)
		pipe := pipeRig(b)
		pair(b, 1, p.call, pipe.roundTrip)
		rss, private := p.memKiB()
		b.ReportMetric(float64(rss), "child-rss-KiB")
		b.ReportMetric(float64(private), "child-private-KiB")
	})
	b.Run("wasm/vs=loader", func(b *testing.B) { pair(b, 1, wasmRig(b, true), ld.call) })
	b.Run("wasm-nodeadline/vs=loader", func(b *testing.B) { pair(b, 1, wasmRig(b, false), ld.call) })
	b.Run("goplugin-netrpc/vs=process", func(b *testing.B) {
		pair(b, 1, goPluginRig(b, goplugin.VersionNetRPC), processRig(b).call)
	})
	b.Run("goplugin-grpc/vs=process", func(b *testing.B) {
		pair(b, 1, goPluginRig(b, goplugin.VersionGRPC), processRig(b).call)
	})
}

// BenchmarkFanOut measures where fanning out pays: 4 plugins that each
// busy-wait work microseconds, every one on a goroutine of its own
// (threshold 0) against all on the dispatching goroutine. x-ref below 1
// means fanning out was faster; the host's default threshold should sit where
// it crosses 1.
func BenchmarkFanOut(b *testing.B) {
	for _, us := range []int{0, 1, 5, 20, 50, 100, 200} {
		b.Run(fmt.Sprintf("work=%dus/vs=serial", us), func(b *testing.B) {
			c := clawd.ToolCall(session, "spin", strconv.Itoa(us))
			f := hostRig(b, 4, 0)
			s := hostRig(b, 4, time.Hour)
			pair(b, 1, f.dispatchCall(c, 4), s.dispatchCall(c, 4))
		})
	}
}

// BenchmarkInput is the loader's call as the input grows from 100 B to
// 1 MiB, against the hand-written call with the same input: the cost of
// copying and checking the strings.
func BenchmarkInput(b *testing.B) {
	ld := loaderRig(b)
	for _, size := range []int{100, 1 << 10, 16 << 10, 128 << 10, 1 << 20} {
		in := jsonOf(size)
		b.Run(fmt.Sprintf("loader-bytes=%d/vs=floor", size), func(b *testing.B) {
			pair(b, 1, ld.callWith(in), ld.floorWith(in))
		})
	}
}

// jsonOf is a JSON string of exactly n bytes.
func jsonOf(n int) string {
	s := `{"data":"` + strings.Repeat("x", max(n-11, 0)) + `"}`
	return s[:n]
}

// BenchmarkOpen is the time to open and close one plugin, by runtime.
func BenchmarkOpen(b *testing.B) {
	b.Run("loader", func(b *testing.B) {
		so := cbuild.Plugin(b, "bench")
		for b.Loop() {
			p, err := loader.Open(so)
			if err != nil {
				b.Fatal(err)
			}
			_ = p.Close()
		}
	})
	b.Run("process", func(b *testing.B) {
		so := cbuild.Plugin(b, "bench")
		for b.Loop() {
			p, err := isolate.Open(so)
			if err != nil {
				b.Fatal(err)
			}
			_ = p.Close()
		}
	})
	b.Run("wasm", func(b *testing.B) {
		mod := cbuild.WasmPlugin(b, "bench")
		cache := b.TempDir()
		for b.Loop() {
			p, err := wasm.Open(mod, wasm.WithCacheDir(cache))
			if err != nil {
				b.Fatal(err)
			}
			_ = p.Close()
		}
	})
}

// loaderRig is the bench plugin in this process, and the floors' view of
// the same library: its callback pointer, a context-sized block and string
// memory in C.
type loaderR struct {
	p              clawd.Plugin
	toolFn, loopFn uintptr
	ctx            uintptr
	buf            []byte // C memory for the floor's strings
	big            *cmem.Block
	s, t, i        uintptr // the strings, NUL-terminated, in C memory
}

func loaderRig(b *testing.B) *loaderR {
	return rig(b, "loader", func() (*loaderR, func(), error) {
		so := cbuild.Plugin(b, "bench")
		p, err := loader.Open(so)
		if err != nil {
			return nil, nil, err
		}
		lib, err := dl.Open(so) // the same mapping: the floor calls the same code
		if err != nil {
			return nil, nil, err
		}
		initFn, err := dl.Sym(lib, abi.InitSymbol)
		if err != nil {
			return nil, nil, err
		}
		t, err := vtable.Read(vtable.CallInit(initFn), so)
		if err != nil {
			return nil, nil, err
		}
		loop, err := dl.Sym(lib, "bench_tool_loop")
		if err != nil {
			return nil, nil, err
		}
		mem, err := cmem.Alloc(2<<20 + 4096)
		if err != nil {
			return nil, nil, err
		}
		ctxMem, err := cmem.Alloc(cabi.SizeofContext)
		if err != nil {
			return nil, nil, err
		}
		r := &loaderR{p: p, toolFn: t.Callbacks[abi.OnToolCall], loopFn: loop, ctx: ctxMem.Addr(), buf: mem.Bytes(), big: mem}
		// The vtable loop's strings, laid out once.
		base := mem.Addr()
		n := copy(r.buf, session)
		r.buf[n] = 0
		n1 := n + 1 + copy(r.buf[n+1:], tool)
		r.buf[n1] = 0
		n2 := n1 + 1 + copy(r.buf[n1+1:], input)
		r.buf[n2] = 0
		r.s, r.t, r.i = base, base+uintptr(n+1), base+uintptr(n1+1)
		return r, func() { _ = p.Close(); _ = dl.Close(lib); _ = mem.Free(); _ = ctxMem.Free() }, nil
	})
}

func (r *loaderR) call(n int) { r.callWith(input)(n) }

func (r *loaderR) callWith(in string) caller {
	return func(n int) {
		for range n {
			if err := r.p.Call(bg, clawd.ToolCall(session, tool, in)); err != nil {
				panic(err)
			}
		}
	}
}

func (r *loaderR) floor(n int) { r.floorWith(input)(n) }

func (r *loaderR) floorWith(in string) caller {
	return func(n int) {
		// The floor's strings go after the vtable loop's.
		buf := r.buf[256:]
		for range n {
			if rc := benchfloor.Call3(r.toolFn, r.ctx, buf, session, tool, in); rc != 0 {
				panic(rc)
			}
		}
	}
}

func (r *loaderR) vtableLoop(n int) {
	benchfloor.RunToolLoop(r.loopFn, r.toolFn, r.ctx, r.s, r.t, r.i, n)
}

// hostR is a host with n copies of the bench plugin, each its own library.
type hostR struct {
	h    *host.Host
	outs []host.Outcome
}

func hostRig(b *testing.B, n int, threshold time.Duration) *hostR {
	return rig(b, fmt.Sprintf("host-%d-%v", n, threshold), func() (*hostR, func(), error) {
		root, err := os.MkdirTemp("", "clawd-bench-")
		if err != nil {
			return nil, nil, err
		}
		so := cbuild.Plugin(b, "bench")
		lib, err := os.ReadFile(so)
		if err != nil {
			return nil, nil, err
		}
		for i := range n {
			name := fmt.Sprintf("bench%03d", i)
			dir := filepath.Join(root, name)
			toml := fmt.Sprintf("name = %q\nversion = \"1.0.0\"\nentry = %q\n", name, cbuild.LibName(name))
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return nil, nil, err
			}
			if err := os.WriteFile(filepath.Join(dir, cbuild.LibName(name)), lib, 0o644); err != nil {
				return nil, nil, err
			}
			if err := os.WriteFile(filepath.Join(dir, "plugin.toml"), []byte(toml), 0o644); err != nil {
				return nil, nil, err
			}
		}
		h, err := host.New(host.WithPluginDirs(root), host.WithParallelThreshold(threshold), host.WithPluginOptions(clawd.WithLogger(zap.NewNop())))
		if err != nil {
			return nil, nil, err
		}
		if err := h.Load(bg); err != nil {
			h.Close()
			return nil, nil, err
		}
		return &hostR{h: h}, func() { h.Close(); os.RemoveAll(root) }, nil
	})
}

// dispatch is the host's allocation-free form, the outcomes into a reused
// slice.
func (r *hostR) dispatch(b *testing.B, want int) caller {
	return r.dispatchCall(clawd.ToolCall(session, tool, input), want)
}

func (r *hostR) dispatchCall(c clawd.Call, want int) caller {
	return func(n int) {
		for range n {
			r.outs = r.h.DispatchInto(bg, c, r.outs[:0])
			if len(r.outs) != want || r.outs[0].Err != nil || r.outs[want-1].Err != nil {
				panic(fmt.Sprint(r.outs))
			}
		}
	}
}

// processR is the bench plugin in a sandbox child.
type processR struct{ p clawd.Plugin }

func processRig(b *testing.B) *processR {
	return rig(b, "process", func() (*processR, func(), error) {
		p, err := isolate.Open(cbuild.Plugin(b, "bench"))
		if err != nil {
			return nil, nil, err
		}
		return &processR{p}, func() { _ = p.Close() }, nil
	})
}

func (r *processR) call(n int) {
	for range n {
		if err := r.p.Call(bg, clawd.ToolCall(session, tool, input)); err != nil {
			panic(err)
		}
	}
}

// memKiB is the sandbox child's resident set and the part of it that is
// its own (private pages: what one more sandboxed plugin costs; the rest
// is the executable's pages, shared by every child), from /proc; 0 where
// there is none.
func (r *processR) memKiB() (rss, private int) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", r.p.(clawd.Supervised).PID()))
	if err != nil {
		return 0, 0
	}
	for _, l := range strings.Split(string(data), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		n, _ := strconv.Atoi(f[1])
		switch f[0] {
		case "Rss:":
			rss = n
		case "Private_Clean:", "Private_Dirty:":
			private += n
		}
	}
	return rss, private
}

// wasmRig is the bench plugin as a WASM module; deadlines as the runtime's
// option of that name.
func wasmRig(b *testing.B, deadlines bool) caller {
	p := rig(b, fmt.Sprint("wasm-", deadlines), func() (clawd.Plugin, func(), error) {
		p, err := wasm.Open(cbuild.WasmPlugin(b, "bench"), wasm.WithDeadlines(deadlines))
		if err != nil {
			return nil, nil, err
		}
		return p, func() { _ = p.Close() }, nil
	})
	c := clawd.ToolCall(session, tool, input)
	return func(n int) {
		for range n {
			if err := p.Call(bg, c); err != nil {
				panic(err)
			}
		}
	}
}

// goPluginRig is the peer: hashicorp/go-plugin's client calling the peer
// program (built here from ./internal/goplugin/peer) over the protocol of
// version.
func goPluginRig(b *testing.B, version int) caller {
	bin := rig(b, "goplugin-bin", func() (string, func(), error) {
		dir, err := os.MkdirTemp("", "clawd-bench-peer-")
		if err != nil {
			return "", nil, err
		}
		out := filepath.Join(dir, "peer")
		cmd := exec.Command("go", "build", "-o", out, "./internal/goplugin/peer")
		if msg, err := cmd.CombinedOutput(); err != nil {
			return "", nil, fmt.Errorf("building the peer: %v\n%s", err, msg)
		}
		return out, func() { os.RemoveAll(dir) }, nil
	})
	t := rig(b, fmt.Sprint("goplugin-", version), func() (goplugin.Tool, func(), error) {
		return goplugin.Start(bin, version)
	})
	return func(n int) {
		for range n {
			if code, err := t.ToolCall(session, tool, input); err != nil || code != 0 {
				panic(fmt.Sprint(code, err))
			}
		}
	}
}

// pipeR is the raw round trip the sandbox's protocol is measured against:
// a request the size of the sandbox's frame over one pipe, 8 bytes back
// over another, blocking reads on both sides, to a child of this binary.
type pipeR struct {
	req, rep int
	msg, ans []byte
}

func pipeRig(b *testing.B) *pipeR {
	return rig(b, "pipe", func() (*pipeR, func(), error) {
		reqR, reqW, err := os.Pipe()
		if err != nil {
			return nil, nil, err
		}
		repR, repW, err := os.Pipe()
		if err != nil {
			return nil, nil, err
		}
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), echoEnv+"=1")
		cmd.ExtraFiles = []*os.File{reqR, repW}
		if err := cmd.Start(); err != nil {
			return nil, nil, err
		}
		reqR.Close()
		repW.Close()
		r := &pipeR{req: int(reqW.Fd()), rep: int(repR.Fd()), // Fd makes them blocking
			msg: make([]byte, 8+12+len(session)+len(tool)+len(input)), ans: make([]byte, 8)}
		return r, func() { reqW.Close(); repR.Close(); _ = cmd.Wait() }, nil
	})
}

func (r *pipeR) roundTrip(n int) {
	for range n {
		if err := writeAll(r.req, r.msg); err != nil {
			panic(err)
		}
		for got := 0; got < len(r.ans); {
			k, err := syscall.Read(r.rep, r.ans[got:])
			if err == syscall.EINTR {
				continue
			}
			if err != nil || k == 0 {
				panic(fmt.Sprint("pipe floor: ", err))
			}
			got += k
		}
	}
}

func writeAll(fd int, b []byte) error {
	for len(b) > 0 {
		n, err := syscall.Write(fd, b)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

// echo is the pipe floor's far end: requests in on fd 3, 8 bytes out on
// fd 4, until the request pipe closes.
func echo() {
	runtime.LockOSThread() // a blocking read parks this thread, as the sandbox child's serving thread does
	buf := make([]byte, 64<<10)
	reply := make([]byte, 8)
	for {
		n, err := syscall.Read(3, buf)
		if err == syscall.EINTR {
			continue
		}
		if err != nil || n == 0 {
			return
		}
		if writeAll(4, reply) != nil {
			return
		}
	}
}

// hostDefaultThreshold is host.WithParallelThreshold's default.
const hostDefaultThreshold = 50 * time.Microsecond
