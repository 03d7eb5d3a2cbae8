package wasm

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"
	"go.uber.org/zap"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/boundary"
	"github.com/clawd-go/clawd/internal/hook"
	"github.com/clawd-go/clawd/internal/libfile"
	"github.com/clawd-go/clawd/internal/outcome"
	"github.com/clawd-go/clawd/internal/reentry"
	"github.com/clawd-go/clawd/internal/wasminterrupt"
	"github.com/clawd-go/clawd/internal/wasmopt"
	"github.com/clawd-go/clawd/internal/wasmscan"
)

func init() {
	clawd.Register(clawd.RuntimeWasm, Open)
}

// plugin is one open WASM plugin. Its methods are safe for concurrent use.
type plugin struct {
	path     string
	name     string // the library's own
	version  string
	id       boundary.Identity // on log lines and events
	table    *tableInfo
	warnings []string
	errs     *outcome.Errors
	log      *zap.Logger
	cfg      clawd.Config
	own      wasmopt.Settings
	relay    bool

	rt       wazero.Runtime
	mems     memories // the guests' linear memories (memory.go)
	compiled wazero.CompiledModule
	// funcTable is the index of the module's first table of functions,
	// the one callback slots index (the pre-scan finds it).
	funcTable uint32
	modCfg    wazero.ModuleConfig
	root      *os.Root // the project directory, when mounted

	// slots are the instances' places: one for a serialized plugin, the
	// pool's bound for a concurrent one (then pool is set).
	slots []*slot
	pool  *pool

	closedFlag atomic.Bool
	failed     atomic.Bool  // an instance could not be made again after a fault
	instances  atomic.Int32 // instances that serve calls now
	state      atomic.Int32
	crashes    atomic.Uint64
	restarts   atomic.Uint64

	counts boundary.Counters

	states *boundary.States

	closeMu   sync.Mutex
	closeDone bool
	closeErr  error
}

var _ clawd.Plugin = (*plugin)(nil)

// who names the plugin in errors: its name once known, else its path.
func (p *plugin) who() string {
	if p.name != "" {
		return p.name
	}
	return p.path
}

// Open loads the WASM plugin at path. See the package doc for what it
// checks. The error is a *clawerr.Error. Besides clawd.Plugin, the plugin
// is a clawd.Hooker (hook verdicts).
func Open(path string, opts ...clawd.Option) (clawd.Plugin, error) {
	p, err := open(path, opts...)
	if err != nil {
		return nil, err // an untyped nil: never a nil *plugin in the interface
	}
	return p, nil
}

func open(path string, opts ...clawd.Option) (*plugin, error) {
	cfg, own := wasmopt.Read(opts)
	if own.MemoryLimitMB <= 0 || own.MemoryLimitMB > 4096 {
		return nil, clawerr.New(clawerr.InvalidArgument, path, "open",
			fmt.Sprintf("memory limit %d MiB: want 1 to 4096", own.MemoryLimitMB), nil)
	}
	f, err := libfile.Open(path, libfile.Options{MaxSize: own.MaxFileSize, Plugin: path, Op: "open", WASM: true, Name: filepath.Base(path)})
	if err != nil {
		return nil, err
	}
	if err := f.CheckFormat(); err != nil {
		f.Close()
		return nil, err
	}
	// One buffer of the file's size (and the margin ReadFrom wants): the
	// module is held once, not copied as it grows.
	var buf bytes.Buffer
	buf.Grow(int(f.Size()) + bytes.MinRead)
	err = f.CopyTo(&buf)
	f.Close()
	if err != nil {
		return nil, clawerr.New(clawerr.OpenFailed, path, "open", "reading the module", err)
	}
	bin := buf.Bytes()

	if cfg.Concurrent && own.PoolSize < 1 {
		return nil, clawerr.New(clawerr.InvalidArgument, path, "open", fmt.Sprintf("pool size %d: want at least 1", own.PoolSize), nil)
	}
	p := &plugin{path: path, cfg: cfg, own: own, relay: cfg.Granted(abi.CapNetworkRelay), log: cfg.Logger,
		states: boundary.NewStates(cfg.OnState)}
	n := 1
	if cfg.Concurrent {
		n = own.PoolSize
		p.pool = &pool{free: make(chan *slot, n)}
	}
	for i := 0; i < n; i++ {
		p.slots = append(p.slots, newSlot(path))
	}

	// Every cost of the module is bounded before it is paid: the
	// pre-scan refuses what would compile too long or too large, and the
	// tables' bound comes out of the memory cap.
	sum, err := wasmscan.Scan(bin, scanLimits)
	if errors.Is(err, wasmscan.ErrFormat) {
		return nil, clawerr.New(clawerr.OpenFailed, path, "open", "not a valid WebAssembly module", err)
	}
	if err != nil {
		return nil, clawerr.New(clawerr.OpenFailed, path, "open", "the module's pre-scan refused it", err)
	}
	pages, err := budget(sum, own.MemoryLimitMB, path)
	if err != nil {
		return nil, err
	}
	if !own.NoDeadlines {
		// The deadline's checks are compiled in: what is compiled (and
		// cached) is the instrumented module.
		if bin, err = wasminterrupt.Rewrite(bin); err != nil {
			return nil, clawerr.New(clawerr.OpenFailed, path, "open", "the module cannot be instrumented for deadlines", err)
		}
		// The checks add branches, and the compile's cost grows with
		// them: what is compiled is held to the same limits as what was
		// read (a linear pass over at most wasminterrupt.MaxGrowth more).
		if _, err := wasmscan.Scan(bin, scanLimits); err != nil {
			return nil, clawerr.New(clawerr.OpenFailed, path, "open", "the module instrumented for deadlines is over the pre-scan's limits; build the plugin smaller", err)
		}
	}
	for i, t := range sum.Tables {
		if t.Funcref {
			p.funcTable = uint32(i)
			break
		}
	}
	// One deadline for the compile and the first load.
	ctx := context.Background()
	if own.LoadTimeout > 0 && !own.NoDeadlines {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, own.LoadTimeout)
		defer cancel()
	}

	rc := wazero.NewRuntimeConfig().
		WithMemoryLimitPages(pages).
		WithCloseOnContextDone(false) // deadlines are the flag's (deadline.go)
	if own.CacheDir != "" {
		if c, err := cacheFor(own.CacheDir); err == nil {
			rc = rc.WithCompilationCache(c)
		} else {
			p.log.Warn("wasm: compiled modules are not cached", zap.String("dir", own.CacheDir), zap.Error(err))
		}
	}
	bg := context.Background()
	p.rt = wazero.NewRuntimeWithConfig(bg, rc)
	fail := func(err error) (*plugin, error) {
		_ = p.rt.Close(bg)
		p.mems.releaseAll()
		if p.root != nil {
			_ = p.root.Close()
		}
		return nil, err
	}
	var abandoned bool
	if p.compiled, abandoned, err = compile(ctx, p.rt, bin, path); err != nil {
		if abandoned {
			return nil, err // the runtime is closed when the compile ends
		}
		return fail(err)
	}
	if err := checkShape(p.compiled, path); err != nil {
		return fail(err)
	}
	for _, m := range p.compiled.ImportedMemories() {
		if lo := m.Min(); lo > uint32(own.MemoryLimitMB)*16 {
			return fail(clawerr.New(clawerr.OpenFailed, path, "open", fmt.Sprintf("the module imports a memory of %d pages, over the cap", lo), nil))
		}
	}
	for _, m := range p.compiled.ExportedMemories() {
		if lo := m.Min(); lo > uint32(own.MemoryLimitMB)*16 {
			return fail(clawerr.New(clawerr.OpenFailed, path, "open", fmt.Sprintf(
				"the module's initial memory is %d pages (%d MiB), over the cap of %d MiB", lo, lo/16, own.MemoryLimitMB), nil))
		}
	}
	if _, err := wasi_snapshot_preview1.Instantiate(bg, p.rt); err != nil {
		return fail(clawerr.New(clawerr.OpenFailed, path, "open", "WASI", err))
	}
	_, err = p.rt.NewHostModuleBuilder(hostModule).
		NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(p.hostLog), logParams, nil).
		WithParameterNames("ctx", "level", "msg").Export("log").
		NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(p.hostSendEvent), sendEventParams, sendEventResult).
		WithParameterNames("ctx", "method", "params_json").Export("send_event").
		Instantiate(bg)
	if err != nil {
		return fail(clawerr.New(clawerr.OpenFailed, path, "open", "the host module", err))
	}
	for _, s := range p.slots {
		s.stdout, s.stderr = &lineLog{p: p, stream: "stdout"}, &lineLog{p: p, stream: "stderr"}
	}
	p.modCfg, err = p.moduleConfig()
	if err != nil {
		return fail(err)
	}

	first := p.slots[0]
	in, t, err := p.load(ctx, first)
	if err != nil {
		return fail(err)
	}
	first.inst, p.table = in, t
	p.instances.Add(1)
	if p.pool != nil {
		for _, s := range p.slots {
			p.pool.free <- s
		}
	}
	p.state.Store(int32(clawd.StateUp))
	return p, nil
}

// moduleConfig is what every instance gets: the reactor's _initialize, no
// arguments, the granted environment and mounts, real clocks and
// randomness. stdout and stderr, log lines, are each slot's own (instantiate):
// two instances of a pool never mix their partial lines.
func (p *plugin) moduleConfig() (wazero.ModuleConfig, error) {
	mc := wazero.NewModuleConfig().WithName("").WithStartFunctions(). // instantiate runs them, the flag armed

										WithSysWalltime().WithSysNanotime().WithSysNanosleep().WithRandSource(rand.Reader)
	for _, e := range p.cfg.Env {
		k, v, ok := strings.Cut(e, "=")
		if !ok {
			v, ok = os.LookupEnv(k)
		}
		if k == "" {
			return nil, clawerr.New(clawerr.InvalidArgument, p.path, "open", fmt.Sprintf("environment entry %q has no name", e), nil)
		}
		if ok {
			mc = mc.WithEnv(k, v)
		}
	}
	write, read := p.cfg.Granted(abi.CapFSWrite), p.cfg.Granted(abi.CapFSRead)
	if write || read {
		if p.cfg.ProjectDir == "" {
			p.log.Warn("wasm: fs capability granted without a project directory: nothing is mounted")
		} else {
			fc, root, err := mountProject(p.cfg.ProjectDir, write)
			if err != nil {
				return nil, clawerr.New(clawerr.OpenFailed, p.path, "open", "the project directory", err)
			}
			p.root = root
			mc = mc.WithFSConfig(fc)
		}
	}
	return mc, nil
}

// load instantiates the module for slot s and runs on_load, within the
// load timeout. Called with s's lock held, or before any call.
func (p *plugin) load(ctx context.Context, s *slot) (*instance, *tableInfo, error) {
	if p.own.LoadTimeout > 0 && !p.own.NoDeadlines {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.own.LoadTimeout)
		defer cancel()
	}
	if !p.own.NoDeadlines {
		// Armed now for the sleeps; the flag is the instance's, once made.
		g := dog.enter(&s.watch, nil, deadlineOf(ctx, 0), ctx)
		defer dog.leave(&s.watch, g)
	}
	in, t, err := p.instantiate(ctx, s)
	if err != nil {
		return nil, nil, err
	}
	if p.table == nil { // the first load: the plugin's identity
		p.name, p.version, p.warnings = t.name, t.version, t.warnings
		var warning string
		src := p.path
		if p.cfg.Source != "" { // a private copy: named after the file it was verified from
			src = p.cfg.Source
		}
		if p.name, warning = boundary.Named(p.name, src); warning != "" {
			p.warnings = append(p.warnings, warning)
		}
		p.id = boundary.Identify(p.name, p.version, p.cfg.Name, p.cfg.Version)
		for _, s := range p.slots {
			s.owner.Name = p.id.Name
		}
		p.log = p.id.Logger(p.cfg.Logger)
		for _, w := range p.warnings {
			p.log.Warn("plugin loads with a warning: " + w)
		}
		p.errs = outcome.NewErrors(p.id.Name)
	} else if t.name != p.table.name || t.version != p.table.version || t.has != p.table.has {
		p.discard(in)
		return nil, nil, clawerr.New(clawerr.ABIMismatch, p.name, "restart", "the re-instantiated module returned a different table", nil)
	}
	if fn := in.fns[abi.OnLoad]; fn != nil {
		s.inst = in
		rc, err := p.invoke(ctx, s, in, abi.OnLoad, 0, nil)
		s.inst = nil
		if err != nil {
			p.discard(in)
			return nil, nil, err
		}
		if rc != 0 {
			p.discard(in)
			return nil, nil, clawerr.New(clawerr.OnLoadFailed, p.name, "on_load", "", abi.Code(rc).Err())
		}
	}
	return in, t, nil
}

// Name is the plugin's name (the file stem if the plugin left it NULL).
func (p *plugin) Name() string { return p.name }

// Version is the plugin's version string ("" if NULL).
func (p *plugin) Version() string { return p.version }

// Path is the module file the plugin was opened from.
func (p *plugin) Path() string { return p.path }

// ABIVersion is the abi_version the plugin's table declares.
func (p *plugin) ABIVersion() uint32 { return p.table.abiVersion }

// Has reports whether the plugin set callback cb.
func (p *plugin) Has(cb abi.Callback) bool { return cb < abi.NumCallbacks && p.table.has[cb] }

// Callbacks lists the callbacks the plugin set, in table order.
func (p *plugin) Callbacks() []abi.Callback {
	var cbs []abi.Callback
	for c := abi.Callback(0); c < abi.NumCallbacks; c++ {
		if p.table.has[c] {
			cbs = append(cbs, c)
		}
	}
	return cbs
}

// Warnings lists what loads but is not right (NULL name, non-semver version).
func (p *plugin) Warnings() []string { return append([]string(nil), p.warnings...) }

// Stats returns the counters of the plugin's contexts.
func (p *plugin) Stats() clawd.Stats {
	return p.counts.Snapshot()
}

// State is up while an instance serves, failed once a re-instantiation
// failed (calls return unavailable), closed after Close.
func (p *plugin) State() clawd.State { return clawd.State(p.state.Load()) }

// Instances is how many instances serve calls now: 1 for a serialized
// plugin (0 once closed, or failed); for a concurrent one those of its
// pool that calls have needed so far (instances are made lazily).
func (p *plugin) Instances() int { return int(p.instances.Load()) }

// Crashes counts the calls that trapped, exited or ran past their deadline.
func (p *plugin) Crashes() uint64 { return p.crashes.Load() }

// Restarts counts the instances made again after a fault.
func (p *plugin) Restarts() uint64 { return p.restarts.Load() }

// Call runs one callback. See the package doc.
func (p *plugin) Call(ctx context.Context, c clawd.Call) error { return p.call(ctx, c, nil) }

// Hook runs on_tool_call or on_message and returns the verdict the guest
// gave during it (clawd.Hooker): send_event(ctx, "hook.block" or
// "hook.intercept", ...) on that call's context, with the hook granted.
// The guest has one thread, so every hook event on that context is the
// calling thread's.
func (p *plugin) Hook(ctx context.Context, c clawd.Call) (clawd.Verdict, error) {
	if !hook.Gives(c.Op) {
		return clawd.Verdict{}, clawerr.New(clawerr.InvalidArgument, p.name, "hook", c.Op.String()+" gives no verdict", nil)
	}
	f := hook.NewFrame(c.Op, p.cfg.Hooked(c.Op), 0)
	if err := p.call(ctx, c, f); err != nil {
		return clawd.Verdict{}, err // a trap or a deadline: no verdict
	}
	v := f.Verdict()
	if v.Kind != clawd.Continue {
		v.Plugin = p.name
	}
	return v, nil
}

func (p *plugin) call(ctx context.Context, c clawd.Call, f *hook.Frame) error {
	o := c.Op
	if o >= clawd.NumOps {
		return p.errs.BadOp(o)
	}
	cb := o.Callback()
	if p.closedFlag.Load() {
		return p.errs.Closed(o.String())
	}
	if err := ctx.Err(); err != nil {
		return p.errs.NotCalled(o, err)
	}
	if !p.table.has[cb] {
		return nil
	}
	n := o.Arity()
	total := 0
	for i := 0; i < n; i++ {
		if strings.IndexByte(c.Args[i], 0) >= 0 {
			return p.errs.NUL(o, i)
		}
		total += len(c.Args[i]) + 1
	}
	if total > maxArgs {
		return p.errs.TooLarge(o, maxArgs)
	}
	if err := p.errs.Validate(c); err != nil {
		return err
	}
	s, re, err := p.acquire(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return p.errs.NotCalled(o, ctx.Err()) // every instance of the pool stayed busy
		}
		return p.errs.Deadlock(o.String(), err)
	}
	if !re && s.closed {
		p.release(s, re)
		return p.errs.Closed(o.String())
	}
	// The hook frame is the slot's while this call holds it: put back the
	// outer call's (a nested Hook) before the slot goes to another call.
	var prevFrame *hook.Frame
	var prevDepth int
	if f != nil {
		prevFrame, prevDepth = s.hookFrame, s.hookDepth
		s.hookFrame, s.hookDepth = f, s.depth
	}
	err = p.callLocked(ctx, s, o, cb, &c.Args, n, uint32(total))
	if f != nil {
		s.hookFrame, s.hookDepth = prevFrame, prevDepth
	}
	p.release(s, re)
	return err
}

var errGone = errors.New("the module instance is gone")

func (p *plugin) callLocked(ctx context.Context, s *slot, o clawd.Op, cb abi.Callback, args *[3]string, n int, total uint32) error {
	if s.broken {
		return clawerr.New(clawerr.Unavailable, p.name, o.String(),
			"a nested call faulted: the instance is made again when the outermost call returns", errGone)
	}
	if p.failed.Load() {
		return clawerr.New(clawerr.Unavailable, p.name, o.String(), "the plugin failed to restart after a fault", errGone)
	}
	if s.inst == nil { // a slot of the pool that no call needed before
		in, _, err := p.load(context.Background(), s)
		if err != nil {
			p.log.Warn("wasm: another instance for the pool could not be made", zap.Error(err))
			return clawerr.New(clawerr.Unavailable, p.name, o.String(), "making another instance for the pool", err)
		}
		s.inst = in
		p.instances.Add(1)
	}
	in := s.inst
	if s.depth >= maxDepth {
		return clawerr.New(clawerr.Unavailable, p.name, o.String(), "calls nested too deep", reentry.ErrTooDeep)
	}
	// The guest's sleeps wait on this call's context (the allocator's
	// too); a nested call's is put back when it returns.
	prevCtx := s.callCtx
	s.callCtx = ctx
	var g guard
	if !p.own.NoDeadlines {
		g = dog.enter(&s.watch, in.flag, deadlineOf(ctx, p.cfg.CallTimeout), ctx)
	}
	rc, err, fault := p.run(ctx, s, in, o, cb, args, n, total)
	if !p.own.NoDeadlines {
		dog.leave(&s.watch, g)
	}
	s.callCtx = prevCtx
	if fault {
		return p.faulted(s, o, err)
	}
	if err != nil {
		return err
	}
	if s.broken && s.depth == 0 {
		p.restart(s, fmt.Errorf("a nested call faulted"))
	}
	return p.errs.Result(o, rc)
}

// run places the call's strings in the guest's memory and calls cb, with
// the call's deadline armed. fault: err is a fault, which discards the
// instance.
func (p *plugin) run(ctx context.Context, s *slot, in *instance, o clawd.Op, cb abi.Callback, args *[3]string, n int, total uint32) (rc int32, err error, fault bool) {
	d := s.depth
	base, err := in.arena(ctx, d, total)
	if err != nil {
		return 0, p.fault(s, o.String(), exportAlloc, err), true
	}
	if base == 0 {
		return 0, clawerr.New(clawerr.Unavailable, p.name, o.String(),
			fmt.Sprintf("the plugin has no memory left for the call's %d bytes of arguments", total), nil), false
	}
	st := &in.stacks[d]
	at := base
	for i := 0; i < n; i++ {
		in.mem.WriteString(at, args[i])
		in.mem.WriteByte(at+uint32(len(args[i])), 0)
		st[1+i] = uint64(at)
		at += uint32(len(args[i])) + 1
	}
	rc, err = p.invoke(ctx, s, in, cb, n, st)
	return rc, err, err != nil
}

// invoke calls callback cb of in with a fresh context and the n string
// pointers in st[1:], and returns what it returned. An error is a fault
// (a *clawerr.Error: crashed, timeout or unavailable).
func (p *plugin) invoke(ctx context.Context, s *slot, in *instance, cb abi.Callback, n int, st *[4]uint64) (int32, error) {
	if st == nil {
		st = &in.stacks[s.depth]
	}
	d := s.depth
	c := in.nextContext()
	st[0] = uint64(c)
	s.active[d] = c
	s.depth++
	prevCtx := s.callCtx
	s.callCtx = ctx // on_load's and on_unload's too
	err := in.fn(cb, d).CallWithStack(ctx, st[:1+n])
	s.callCtx = prevCtx
	s.depth--
	s.active[d] = 0
	if err != nil {
		return 0, p.fault(s, cb.String(), cb.String(), err)
	}
	return int32(uint32(st[0])), nil
}

// fault turns what a call into the guest in slot s returned as an error
// into the error the caller sees: timeout past the deadline, unavailable
// for a cancellation, crashed for a trap or an exit. fn names the guest
// function that was called. A trap while the slot's flag is set is the
// deadline's (or the cancellation's): the guest met a check.
func (p *plugin) fault(s *slot, op, fn string, err error) error {
	if !p.own.NoDeadlines {
		switch dog.interrupted(&s.watch) {
		case firedDeadline:
			return clawerr.New(clawerr.Timeout, p.who(), op, "the call ran past its deadline: the instance is discarded", err)
		case firedCanceled:
			return clawerr.New(clawerr.Unavailable, p.who(), op, "the call was canceled: the instance is discarded", err)
		}
	}
	if code, ok := exitOf(err); ok {
		switch code {
		case sys.ExitCodeDeadlineExceeded:
			return clawerr.New(clawerr.Timeout, p.who(), op, "the call ran past its deadline: the instance is discarded", err)
		case sys.ExitCodeContextCanceled:
			return clawerr.New(clawerr.Unavailable, p.who(), op, "the call was canceled: the instance is discarded", err)
		}
		return clawerr.New(clawerr.Crashed, p.who(), op, fmt.Sprintf("the plugin exited with status %d in %s", code, fn), err)
	}
	var ce *clawerr.Error
	if errors.As(err, &ce) {
		return err
	}
	var bg badGuest
	if errors.As(err, &bg) {
		return clawerr.New(clawerr.Crashed, p.who(), op, string(bg), nil)
	}
	msg, _, _ := strings.Cut(err.Error(), "\n")
	return clawerr.New(clawerr.Crashed, p.who(), op, fmt.Sprintf("trap in %s: %s", fn, msg), err)
}

// faulted records a fault of a call in slot s and replaces its instance
// (only that one): now when no call is below, else when the outermost
// returns.
func (p *plugin) faulted(s *slot, o clawd.Op, err error) error {
	p.crashes.Add(1)
	p.log.Warn("wasm: the plugin faulted; its instance is discarded and made again", zap.String("op", o.String()), zap.Error(err))
	if s.depth > 0 {
		s.broken = true
		return err
	}
	p.restart(s, err)
	return err
}

// restart discards slot s's instance and makes a new one (init and
// on_load again: guest state is lost). Called with s's lock held, no call
// below. If that fails, the plugin is failed: every call is refused.
func (p *plugin) restart(s *slot, cause error) {
	if s.inst != nil {
		p.discard(s.inst)
		s.inst = nil
		p.instances.Add(-1)
	}
	s.broken = false
	p.setState(clawd.StateDown, cause)
	in, _, err := p.load(context.Background(), s)
	if err != nil {
		p.log.Error("wasm: the plugin could not be made again; its calls are refused", zap.Error(err))
		p.failed.Store(true)
		p.setState(clawd.StateFailed, err)
		return
	}
	s.inst = in
	p.instances.Add(1)
	p.restarts.Add(1)
	p.setState(clawd.StateUp, nil)
}

// setState records a change and reports it to the state function, which
// runs after the call that caused it has let go of its slot.
func (p *plugin) setState(s clawd.State, err error) {
	p.state.Store(int32(s))
	p.states.Report(s, err)
}

// Close refuses new calls, waits for the calls in flight, calls on_unload
// once in each instance (each ran on_load: one for a serialized plugin,
// those of the pool that were made for a concurrent one) and releases the
// instances and the runtime. Later calls return the first Close's result.
// Calling Close from inside the plugin's own send_event is an error
// (invalid_argument).
func (p *plugin) Close() error {
	for _, s := range p.slots {
		if reentry.Inside(s.owner) {
			return clawerr.New(clawerr.InvalidArgument, p.name, "close", "Close called from inside the plugin's own send_event", nil)
		}
	}
	p.closeMu.Lock()
	defer p.closeMu.Unlock()
	if p.closeDone {
		return p.closeErr
	}
	p.closedFlag.Store(true)
	for _, s := range p.slots {
		if _, err := s.lock.Lock(); err != nil {
			p.closeErr = p.errs.Deadlock("close", err)
			return p.closeErr
		}
		s.closed = true
		if in := s.inst; in != nil && in.fns[abi.OnUnload] != nil {
			ctx := context.Background()
			var cancel context.CancelFunc = func() {}
			var g guard
			if p.own.LoadTimeout > 0 && !p.own.NoDeadlines {
				ctx, cancel = context.WithTimeout(ctx, p.own.LoadTimeout)
				g = dog.enter(&s.watch, in.flag, deadlineOf(ctx, 0), ctx)
			}
			if _, err := p.invoke(ctx, s, in, abi.OnUnload, 0, nil); err != nil {
				p.log.Warn("wasm: on_unload faulted", zap.Error(err))
			}
			if p.own.LoadTimeout > 0 && !p.own.NoDeadlines {
				dog.leave(&s.watch, g)
			}
			cancel()
		}
		if s.inst != nil {
			s.inst = nil
			p.instances.Add(-1)
		}
		s.lock.Unlock()
	}
	for _, s := range p.slots {
		s.stdout.flush()
		s.stderr.flush()
	}
	p.state.Store(int32(clawd.StateClosed)) // the caller knows: not reported
	p.closeDone = true
	if err := p.rt.Close(context.Background()); err != nil {
		p.closeErr = clawerr.New(clawerr.Unavailable, p.name, "close", "closing the runtime", err)
	}
	p.mems.releaseAll() // every call has returned and every module is closed
	if p.root != nil {
		_ = p.root.Close()
	}
	p.states.Close()
	return p.closeErr
}

// Grants is what this plugin was granted (the tests read it).
func (p *plugin) Grants() wasmopt.Grants { return wasmopt.GrantsOf(&p.cfg, &p.own) }
