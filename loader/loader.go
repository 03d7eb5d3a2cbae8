package loader

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/boundary"
	"github.com/clawd-go/clawd/internal/clawctx"
	"github.com/clawd-go/clawd/internal/dl"
	"github.com/clawd-go/clawd/internal/hook"
	"github.com/clawd-go/clawd/internal/libfile"
	"github.com/clawd-go/clawd/internal/outcome"
	"github.com/clawd-go/clawd/internal/reentry"
	"github.com/clawd-go/clawd/internal/sigaction"
	"github.com/clawd-go/clawd/internal/threads"
	"github.com/clawd-go/clawd/internal/vtable"
)

func init() {
	clawd.Register(clawd.RuntimeNative, Open)
}

// plugin is one open plugin. Its methods are safe for concurrent use.
type plugin struct {
	// What every call reads comes first, together: a dispatch to many
	// plugins touches the first cache lines of each.
	fns        [abi.NumCallbacks]uintptr
	concurrent bool
	relay      bool // network.relay granted: its callbacks may run the host's sink
	// shim: a serialized plugin whose calls need nothing of the Go side
	// while they run (no sink: neither relay nor forwarded hooks), made
	// whole in C (vtable.Serial) with cgo; cell is the address of its
	// clawctx.Cell, where the shim takes its lock.
	shim bool
	cell uintptr
	// Serialized plugins: lock is held for the whole of each call; closed
	// is guarded by it.
	closed     bool
	closedFlag atomic.Bool // set first thing in Close: a cheap early refusal
	lock       *reentry.Mutex
	b          *clawctx.Binding
	errs       *outcome.Errors

	path     string
	name     string
	version  string
	table    *vtable.Table
	lib      uintptr
	log      *zap.Logger
	warnings []string // guarded by warnMu
	warnMu   sync.Mutex
	hooks    [clawd.NumOps]bool // the ops whose hook point is granted

	file          fileID         // the library file as the kernel's mappings name it
	census        threads.Census // the process's threads before the library was opened
	censusOK      bool
	unloadTimeout time.Duration
	unload        atomic.Uint32 // an unloadState

	// Concurrent plugins: calls in flight are counted; Close waits for zero.
	inflight  atomic.Int64
	drainMu   sync.Mutex
	drainCond *sync.Cond

	closeMu   sync.Mutex // serializes Close; guards closeDone and closeErr
	closeDone bool
	closeErr  error
}

var _ clawd.Plugin = (*plugin)(nil)

// Open loads the plugin at path. See the package doc for what it checks.
// The error is a *clawerr.Error. The plugin it returns is also a
// clawd.Hooker; its methods are safe for concurrent use.
func Open(path string, opts ...clawd.Option) (clawd.Plugin, error) {
	p, err := open(path, opts...)
	if err != nil {
		return nil, err // an untyped nil: never a nil *plugin in the interface
	}
	return p, nil
}

func open(path string, opts ...clawd.Option) (*plugin, error) {
	cfg, own := clawd.NewConfig(opts), ownOptions(opts)
	// A path is a path: a bare file name is the file in the working
	// directory, never a search of the dynamic loader's library path.
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	// who is what errors call the library, and where a NULL name comes
	// from: the file it was verified from when path is a private copy.
	who := path
	if cfg.Source != "" {
		who = cfg.Source
	}
	// The dynamic loader's messages name the path it opened: name who.
	dlErr := func(err error) error {
		if err == nil || who == path || !strings.Contains(err.Error(), path) {
			return err
		}
		return errors.New(strings.ReplaceAll(err.Error(), path, who))
	}
	// dlopen would block on a FIFO and take SIGBUS on a truncated file: refuse
	// what it cannot map safely first.
	if err := libfile.Check(path, libfile.Options{MaxSize: own.maxFileSize, Plugin: who, Op: "open"}); err != nil {
		return nil, err
	}
	log := cfg.Logger
	p := &plugin{path: path, concurrent: cfg.Concurrent, relay: cfg.Granted(abi.CapNetworkRelay)}
	p.drainCond = sync.NewCond(&p.drainMu)

	p.unloadTimeout = own.unloadTimeout
	p.file = identify(path)
	// Before dlopen: a constructor may start a thread already.
	p.census, p.censusOK = threads.Take()
	sigs := sigaction.Save()
	lib, err := dl.Open(path)
	if err != nil {
		p.checkSignals(sigs, log)
		return nil, clawerr.New(clawerr.OpenFailed, who, "open", "", dlErr(err))
	}
	p.lib = lib
	fail := func(err error) (*plugin, error) {
		// init, on_load or a constructor may have started a thread.
		_, _ = p.closeLibrary(log)
		p.checkSignals(sigs, log)
		return nil, err
	}
	init, err := dl.Sym(lib, abi.InitSymbol)
	if err != nil || init == 0 {
		return fail(clawerr.New(clawerr.MissingInit, who, "open", "the library does not export "+abi.InitSymbol, dlErr(err)))
	}
	addr := vtable.CallInit(init)
	if addr == 0 {
		return fail(clawerr.New(clawerr.InitNull, who, "init", abi.InitSymbol+" returned NULL", nil))
	}
	t, err := vtable.Read(addr, who)
	if err != nil {
		return fail(err)
	}
	p.table, p.fns = t, t.Callbacks
	p.name, p.version, p.warnings = t.Name, t.Version, t.Warnings
	var warning string
	if p.name, warning = boundary.Named(p.name, who); warning != "" {
		p.warnings = append(p.warnings, warning)
	}
	id := boundary.Identify(p.name, p.version, cfg.Name, cfg.Version)
	forward := hook.Forwarding(opts)
	p.b = clawctx.NewBinding(clawctx.Config{Name: id.Name, Version: id.Version, Library: id.Library, Logger: log,
		Sink: cfg.Sink, Relay: cfg.Granted(abi.CapNetworkRelay), ForwardHooks: forward})
	if p.cell = p.b.CellAddr(); p.cell == 0 {
		return fail(clawerr.New(clawerr.OpenFailed, p.name, "open", "no memory for the plugin's state", nil))
	}
	// The lock is the cell's, which the shims take in C.
	p.lock = reentry.NewMutexOn(p.b.Owner(), p.b.SerialLock())
	p.shim = vtable.Batching && !p.concurrent && !p.b.NeedsCallContext()
	p.log = p.b.Logger()
	for _, w := range p.warnings {
		p.log.Warn("plugin loads with a warning: " + w)
	}
	p.errs = outcome.NewErrors(id.Name)
	for o := clawd.Op(0); o < clawd.NumOps; o++ {
		p.hooks[o] = cfg.Hooked(o)
	}

	if fn := p.fns[abi.OnLoad]; fn != 0 {
		r, returned, err := p.callLifecycle(fn, false, own.loadTimeout)
		if err != nil {
			return fail(clawerr.New(clawerr.OnLoadFailed, p.name, "on_load", "no context memory", err))
		}
		if !returned {
			// The thread is still in on_load: the library must stay mapped
			// under it, so it is not closed.
			p.checkSignals(sigs, p.log)
			msg := fmt.Sprintf("on_load did not return within %v; its thread stays blocked in the plugin and the library stays mapped", own.loadTimeout)
			p.log.Warn(msg)
			return nil, clawerr.New(clawerr.Timeout, p.name, "on_load", msg, nil)
		}
		if r != 0 {
			return fail(clawerr.New(clawerr.OnLoadFailed, p.name, "on_load", "", abi.Code(r).Err()))
		}
	}
	p.checkSignals(sigs, p.log)
	return p, nil
}

// checkSignals restores the signal actions saved in s and warns about any
// the plugin changed.
func (p *plugin) checkSignals(s *sigaction.Set, log *zap.Logger) {
	changed := s.Restore()
	if len(changed) == 0 {
		return
	}
	names := make([]string, len(changed))
	for i, sig := range changed {
		names[i] = sig.String()
	}
	w := "the plugin changed the process's signal actions (restored): " + strings.Join(names, ", ")
	p.warnTo(log, w)
}

// Name is the plugin's name (the file stem if the plugin left it NULL).
func (p *plugin) Name() string { return p.name }

// Version is the plugin's version string ("" if NULL).
func (p *plugin) Version() string { return p.version }

// Path is the file the plugin was opened from.
func (p *plugin) Path() string { return p.path }

// ABIVersion is the abi_version the plugin declared.
func (p *plugin) ABIVersion() uint32 { return p.table.ABIVersion }

// Has reports whether the plugin set callback cb. (p.fns is the table's
// copy, in the cache line every call reads.)
func (p *plugin) Has(cb abi.Callback) bool { return int(cb) < len(p.fns) && p.fns[cb] != 0 }

// Callbacks lists the callbacks the plugin set, in table order.
func (p *plugin) Callbacks() []abi.Callback { return p.table.List() }

// Warnings lists what loads but is not right about the plugin.
func (p *plugin) Warnings() []string {
	p.warnMu.Lock()
	defer p.warnMu.Unlock()
	return append([]string(nil), p.warnings...)
}

// Stats returns the counters of the plugin's contexts.
func (p *plugin) Stats() clawd.Stats { return p.b.Stats() }

// Concurrent reports whether calls into the plugin may run in parallel.
func (p *plugin) Concurrent() bool { return p.concurrent }

// enter admits one call. For a serialized plugin it takes the lock, unless
// the caller is re-entering from inside the plugin's own send_event;
// reentered tells leave not to release what it did not take.
func (p *plugin) enter(o clawd.Op) (reentered bool, err error) {
	if !p.concurrent && p.lock.TryLock() { // the common case, inlined
		if !p.closed {
			return false, nil
		}
		p.lock.Unlock()
		return false, p.errs.Closed(o.String())
	}
	return p.enterSlow(o)
}

func (p *plugin) enterSlow(o clawd.Op) (reentered bool, err error) {
	if p.concurrent {
		p.inflight.Add(1)
		if p.closedFlag.Load() {
			p.leave(false)
			return false, p.errs.Closed(o.String())
		}
		return false, nil
	}
	re, err := p.lock.Lock()
	if err != nil {
		return false, p.errs.Deadlock(o.String(), err)
	}
	if !re && p.closed {
		p.lock.Unlock()
		return false, p.errs.Closed(o.String())
	}
	return re, nil
}

func (p *plugin) leave(reentered bool) {
	if !p.concurrent {
		if !reentered {
			p.lock.Unlock()
		}
		return
	}
	if p.inflight.Add(-1) == 0 && p.closedFlag.Load() {
		p.drainMu.Lock()
		p.drainCond.Broadcast()
		p.drainMu.Unlock()
	}
}

// acquire takes a context for a call admitted by enter: from the lock-free
// serial ring when this call holds the plugin's lock, from the shared pool
// otherwise.
func (p *plugin) acquire(reentered bool) (*clawctx.Slot, error) {
	if p.concurrent || reentered {
		return p.b.Acquire()
	}
	return p.b.AcquireSerial()
}

func (p *plugin) precheck(ctx context.Context, o clawd.Op) error {
	if p.closedFlag.Load() {
		return p.errs.Closed(o.String())
	}
	if err := ctx.Err(); err != nil {
		return p.errs.NotCalled(o, err)
	}
	return nil
}

func (p *plugin) memError(o clawd.Op, err error) error {
	return clawerr.New(clawerr.Unavailable, p.name, o.String(), "no memory for the call", err)
}

// Call runs one callback. See the package doc.
func (p *plugin) Call(ctx context.Context, c clawd.Call) error {
	if c.Op >= clawd.NumOps {
		return p.errs.BadOp(c.Op)
	}
	if c.Op.Arity() == 1 {
		return p.call1(ctx, c.Op, c.Args[0])
	}
	return p.call3(ctx, c.Op, c.Args[0], c.Args[1], c.Args[2])
}

// call1 runs a callback that takes (ctx, session_id).
func (p *plugin) call1(ctx context.Context, o clawd.Op, s string) error {
	fn := p.fns[o.Callback()]
	if err := p.precheck(ctx, o); err != nil || fn == 0 {
		return err
	}
	var re bool
	var err error
	if p.shim {
		r := vtable.Serial(p.cell, fn, false, s, "", "")
		if r >= 0 {
			return p.shimResult(o, r)
		}
		if re, err = p.shimHeld(o, r); err != nil {
			return err
		}
	} else if re, err = p.enter(o); err != nil {
		return err
	}
	c, err := p.acquire(re)
	if err != nil {
		p.leave(re)
		return p.memError(o, err)
	}
	base, err := c.Stage1(s)
	if err != nil {
		c.Release()
		p.leave(re)
		return p.memError(o, err)
	}
	c.Begin(ctx)
	r, bad := vtable.Call1(fn, c.Addr(), base, len(s))
	c.Release()
	p.leave(re)
	if bad >= 0 {
		return p.errs.NUL(o, 0)
	}
	return p.errs.Result(o, r)
}

// shimResult is the outcome of a call the shim made whole.
func (p *plugin) shimResult(o clawd.Op, r vtable.SerialResult) error {
	if r.Wake() {
		p.b.SerialLock().Wake()
	}
	return p.errs.Result(o, r.Code())
}

// shimHeld goes on from a shim that made no call: busy, the lock is
// waited for as enter waits (re-entry, deadlock refusal); held, the call
// holds the lock and the Go side makes it, or refuses it (closed, a NUL).
func (p *plugin) shimHeld(o clawd.Op, r vtable.SerialResult) (reentered bool, err error) {
	if r.Busy() {
		return p.enterSlow(o)
	}
	p.b.SerialLock().Acquired()
	if p.closed {
		p.lock.Unlock()
		return false, p.errs.Closed(o.String())
	}
	if i := r.NUL(); i >= 0 {
		p.lock.Unlock()
		return false, p.errs.NUL(o, i)
	}
	return false, nil
}

// call3 runs a callback that takes (ctx, session_id, s1, s2).
func (p *plugin) call3(ctx context.Context, o clawd.Op, s0, s1, s2 string) error {
	fn := p.fns[o.Callback()]
	if err := p.precheck(ctx, o); err != nil || fn == 0 {
		return err
	}
	if err := p.errs.Validate(clawd.Call{Op: o, Args: [3]string{s0, s1, s2}}); err != nil {
		return err
	}
	var re bool
	var err error
	if p.shim {
		r := vtable.Serial(p.cell, fn, true, s0, s1, s2)
		if r >= 0 {
			return p.shimResult(o, r)
		}
		if re, err = p.shimHeld(o, r); err != nil {
			return err
		}
	} else if re, err = p.enter(o); err != nil {
		return err
	}
	c, err := p.acquire(re)
	if err != nil {
		p.leave(re)
		return p.memError(o, err)
	}
	base, err := c.Stage3(s0, s1, s2)
	if err != nil {
		c.Release()
		p.leave(re)
		return p.memError(o, err)
	}
	c.Begin(ctx)
	r, bad := vtable.Call3(fn, c.Addr(), base, len(s0), len(s1), len(s2))
	c.Release()
	p.leave(re)
	if bad >= 0 {
		return p.errs.NUL(o, bad)
	}
	return p.errs.Result(o, r)
}

// Close refuses new calls, waits for the calls in flight, calls on_unload
// once (waiting at most WithUnloadTimeout, then timeout) and closes the
// library, unless a thread of the plugin may still run in it (see
// unloadState and the package doc). Later calls return the first Close's result.
// Calling Close from inside the plugin's own send_event is an error
// (invalid_argument): it would wait for the call that is running it.
func (p *plugin) Close() error {
	if reentry.Inside(p.b.Owner()) {
		return clawerr.New(clawerr.InvalidArgument, p.name, "close", "Close called from inside the plugin's own send_event", nil)
	}
	p.closeMu.Lock()
	defer p.closeMu.Unlock()
	if !p.closeDone {
		var again bool
		again, p.closeErr = p.close()
		p.closeDone = !again
	}
	return p.closeErr
}

// close runs Close once. again is true when it could not even begin: called
// from inside another plugin's sink while this plugin's call waits for that
// one, it is refused (unavailable) and may be tried again.
func (p *plugin) close() (again bool, err error) {
	p.closedFlag.Store(true)
	if p.concurrent {
		p.drainMu.Lock()
		for p.inflight.Load() != 0 {
			p.drainCond.Wait()
		}
		p.drainMu.Unlock()
	} else {
		// Never re-entry: Close refused that already.
		if _, err := p.lock.Lock(); err != nil {
			return true, p.errs.Deadlock("close", err)
		}
		p.closed = true
		p.b.Cell().Closed = 1 // under the lock: the shims read it under it
		p.lock.Unlock()
	}
	sigs := sigaction.Save()
	defer p.checkSignals(sigs, p.log)
	if fn := p.fns[abi.OnUnload]; fn != 0 {
		// No context memory: on_unload is skipped, the library still closed.
		if _, returned, err := p.callLifecycle(fn, true, p.unloadTimeout); err == nil && !returned {
			p.unload.Store(uint32(keptMapped))
			msg := fmt.Sprintf("on_unload did not return within %v; its thread stays blocked in the plugin and the library stays mapped", p.unloadTimeout)
			p.warn(msg)
			return false, clawerr.New(clawerr.Timeout, p.name, "on_unload", msg, nil)
		}
	}
	if _, err := p.closeLibrary(p.log); err != nil {
		return false, clawerr.New(clawerr.Unavailable, p.name, "close", "closing the library", err)
	}
	return false, nil
}

// closeLibrary closes the library unless a thread the plugin started may
// still run in it (or this system cannot tell): unmapping code under a
// running thread kills the process, keeping it mapped only leaks it. When
// it closes the library it checks whether the library is gone.
func (p *plugin) closeLibrary(log *zap.Logger) (unloadState, error) {
	n, known := p.lingering()
	switch {
	case unmapAlways:
	case !known:
		p.unload.Store(uint32(keptMapped))
		log.Info(fmt.Sprintf("plugin %q: its library stays mapped: this system cannot tell whether its threads have ended", p.who()))
		return keptMapped, nil
	case n > 0:
		p.unload.Store(uint32(keptMapped))
		p.warnTo(log, fmt.Sprintf("plugin %q: %s started since it was opened still running after it was closed; its library stays mapped, for a thread running in an unmapped library would crash the process", p.who(), plural(n, "thread", "threads")))
		return keptMapped, nil
	}
	if err := dl.Close(p.lib); err != nil {
		p.unload.Store(uint32(stillMapped))
		return stillMapped, err
	}
	s := unmapped
	if mapped, known := p.file.mapped(); mapped || !known {
		s = stillMapped
		log.Debug("the library is closed but the system keeps it mapped")
	}
	p.unload.Store(uint32(s))
	return s, nil
}

// warn records a warning about the plugin and logs it.
func (p *plugin) warn(w string) { p.warnTo(p.log, w) }

func (p *plugin) warnTo(log *zap.Logger, w string) {
	p.warnMu.Lock()
	p.warnings = append(p.warnings, w)
	p.warnMu.Unlock()
	log.Warn(w)
}
