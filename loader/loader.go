package loader

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"go.uber.org/zap"

	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/clawerr"
	clawctx "github.com/clawd-go/clawd/context"
	"github.com/clawd-go/clawd/internal/libfile"
	"github.com/clawd-go/clawd/internal/threadid"
	"github.com/clawd-go/clawd/vtable"
)

// Plugin is one open plugin. Its methods are safe for concurrent use.
type Plugin struct {
	path       string
	name       string
	version    string
	table      *vtable.Table
	fns        [abi.NumCallbacks]uintptr
	lib        uintptr
	b          *clawctx.Binding
	log        *zap.Logger
	concurrent bool
	warnings   []string

	closedFlag atomic.Bool // set first thing in Close: a cheap early refusal

	// Serialized plugins: mu is held for the whole of each call; closed is
	// guarded by it.
	mu     sync.Mutex
	closed bool

	// Concurrent plugins: calls in flight are counted; Close waits for zero.
	inflight  atomic.Int64
	drainMu   sync.Mutex
	drainCond *sync.Cond

	closeOnce sync.Once
	closeErr  error

	// Errors for each ClawaError of each call, made once so that a failing
	// callback costs no allocation.
	errs [numOps][abi.MaxKnownCode + 1]error
}

type op uint8

const (
	opSessionStart op = iota
	opSessionEnd
	opToolCall
	opMessage
	numOps
)

var opCallback = [numOps]abi.Callback{abi.OnSessionStart, abi.OnSessionEnd, abi.OnToolCall, abi.OnMessage}

// Open loads the plugin at path. See the package doc for what it checks.
// The error is a *clawerr.Error.
func Open(path string, opts ...Option) (*Plugin, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	// dlopen would block on a FIFO and take SIGBUS on a truncated file: refuse
	// what it cannot map safely first.
	if err := libfile.Check(path, libfile.Options{MaxSize: o.maxFileSize, Plugin: path, Op: "open"}); err != nil {
		return nil, err
	}
	log := o.logger
	if log == nil {
		log = zap.NewNop()
	}
	p := &Plugin{path: path, concurrent: o.concurrent}
	p.drainCond = sync.NewCond(&p.drainMu)

	sigs := saveSignals()
	lib, err := dlopen(path)
	if err != nil {
		p.checkSignals(sigs, log)
		return nil, clawerr.New(clawerr.OpenFailed, path, "open", "", err)
	}
	p.lib = lib
	fail := func(err error) (*Plugin, error) {
		_ = dlclose(lib)
		p.checkSignals(sigs, log)
		return nil, err
	}
	init, err := dlsym(lib, abi.InitSymbol)
	if err != nil || init == 0 {
		return fail(clawerr.New(clawerr.MissingInit, path, "open", "the library does not export "+abi.InitSymbol, err))
	}
	addr := vtable.CallInit(init)
	if addr == 0 {
		return fail(clawerr.New(clawerr.InitNull, path, "init", abi.InitSymbol+" returned NULL", nil))
	}
	t, err := vtable.Read(addr, path)
	if err != nil {
		return fail(err)
	}
	p.table, p.fns = t, t.Callbacks
	p.name, p.version, p.warnings = t.Name, t.Version, t.Warnings
	if p.name == "" {
		p.name = stem(path)
		p.warnings = append(p.warnings, fmt.Sprintf("using the file stem %q as the name", p.name))
	}

	relay := false
	for _, c := range o.caps {
		relay = relay || c == abi.CapNetworkRelay
	}
	p.b = clawctx.NewBinding(clawctx.Config{Name: p.name, Version: p.version, Logger: log, Sink: o.sink, Relay: relay})
	p.log = p.b.Logger()
	for _, w := range p.warnings {
		p.log.Warn("plugin loads with a warning: " + w)
	}
	p.makeErrors()

	if fn := p.fns[abi.OnLoad]; fn != 0 {
		c, err := p.b.Acquire()
		if err != nil {
			return fail(clawerr.New(clawerr.OnLoadFailed, p.name, "on_load", "no context memory", err))
		}
		c.Begin()
		r := vtable.Call0(fn, c.Addr())
		c.Release()
		if r != 0 {
			return fail(clawerr.New(clawerr.OnLoadFailed, p.name, "on_load", "", abi.Code(r).Err()))
		}
	}
	p.checkSignals(sigs, p.log)
	return p, nil
}

// checkSignals restores the signal actions saved in s and warns about any
// the plugin changed.
func (p *Plugin) checkSignals(s *signalState, log *zap.Logger) {
	changed := s.restore()
	if len(changed) == 0 {
		return
	}
	names := make([]string, len(changed))
	for i, sig := range changed {
		names[i] = sig.String()
	}
	w := "the plugin changed the process's signal actions (restored): " + strings.Join(names, ", ")
	p.warnings = append(p.warnings, w)
	log.Warn(w)
}

func stem(path string) string {
	base := filepath.Base(path)
	if i := strings.IndexByte(base, '.'); i > 0 {
		return base[:i]
	}
	return base
}

func (p *Plugin) makeErrors() {
	for o := op(0); o < numOps; o++ {
		for c := abi.InitFailed; c <= abi.MaxKnownCode; c++ {
			p.errs[o][c] = clawerr.New(clawerr.CallbackError, p.name, opCallback[o].String(), "", c)
		}
	}
}

// result turns a callback's return value into an error without allocating
// for any code ABI v1 knows.
func (p *Plugin) result(o op, r int32) error {
	if r == 0 {
		return nil
	}
	return p.failure(o, r)
}

func (p *Plugin) failure(o op, r int32) error {
	if c := abi.Code(r); c.Known() {
		return p.errs[o][c]
	}
	return clawerr.New(clawerr.UnknownCode, p.name, opCallback[o].String(),
		"the plugin returned a ClawaError this host does not know", &abi.UnknownCodeError{Code: r})
}

// Name is the plugin's name (the file stem if the plugin left it NULL).
func (p *Plugin) Name() string { return p.name }

// Version is the plugin's version string ("" if NULL).
func (p *Plugin) Version() string { return p.version }

// Path is the file the plugin was opened from.
func (p *Plugin) Path() string { return p.path }

// ABIVersion is the abi_version the plugin declared.
func (p *Plugin) ABIVersion() uint32 { return p.table.ABIVersion }

// Has reports whether the plugin set callback cb.
func (p *Plugin) Has(cb abi.Callback) bool { return p.table.Has(cb) }

// Callbacks lists the callbacks the plugin set, in table order.
func (p *Plugin) Callbacks() []abi.Callback {
	var cbs []abi.Callback
	for c := abi.Callback(0); c < abi.NumCallbacks; c++ {
		if p.Has(c) {
			cbs = append(cbs, c)
		}
	}
	return cbs
}

// Warnings lists what loads but is not right about the plugin.
func (p *Plugin) Warnings() []string { return append([]string(nil), p.warnings...) }

// Stats returns the counters of the plugin's contexts.
func (p *Plugin) Stats() clawctx.Stats { return p.b.Stats() }

// Concurrent reports whether calls into the plugin may run in parallel.
func (p *Plugin) Concurrent() bool { return p.concurrent }

// enter admits one call. For a serialized plugin it takes mu, unless the
// caller is re-entering from inside the plugin's own send_event; reentered
// tells leave not to release what it did not take.
func (p *Plugin) enter(o op) (reentered bool, err error) {
	if !p.concurrent && p.mu.TryLock() {
		if !p.closed {
			return false, nil
		}
		p.mu.Unlock()
		return false, p.closedErr(o)
	}
	return p.enterSlow(o)
}

func (p *Plugin) enterSlow(o op) (reentered bool, err error) {
	if p.concurrent {
		p.inflight.Add(1)
		if p.closedFlag.Load() {
			p.leave(false)
			return false, p.closedErr(o)
		}
		return false, nil
	}
	if p.b.InSinkOn(threadid.Current()) {
		return true, nil // the holder is blocked below us on this thread
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return false, p.closedErr(o)
	}
	return false, nil
}

func (p *Plugin) leave(reentered bool) {
	if !p.concurrent {
		if !reentered {
			p.mu.Unlock()
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
func (p *Plugin) acquire(reentered bool) (*clawctx.Call, error) {
	if p.concurrent || reentered {
		return p.b.Acquire()
	}
	return p.b.AcquireSerial()
}

func (p *Plugin) closedErr(o op) error {
	return clawerr.New(clawerr.Closed, p.name, opCallback[o].String(), "the plugin is closed", nil)
}

func (p *Plugin) precheck(ctx context.Context, o op) error {
	if p.closedFlag.Load() || ctx.Err() != nil {
		return p.refuse(ctx, o)
	}
	return nil
}

func (p *Plugin) refuse(ctx context.Context, o op) error {
	if p.closedFlag.Load() {
		return p.closedErr(o)
	}
	err := ctx.Err()
	code := clawerr.Unavailable
	if errors.Is(err, context.DeadlineExceeded) {
		code = clawerr.Timeout
	}
	return clawerr.New(code, p.name, opCallback[o].String(), "not called", err)
}

func (p *Plugin) memError(o op, err error) error {
	return clawerr.New(clawerr.Unavailable, p.name, opCallback[o].String(), "no memory for the call", err)
}

func (p *Plugin) nulError(o op, arg string) error {
	return clawerr.New(clawerr.InvalidArgument, p.name, opCallback[o].String(), arg, vtable.ErrInteriorNUL)
}

// call1 runs a callback that takes (ctx, session_id).
func (p *Plugin) call1(ctx context.Context, o op, s string) error {
	fn := p.fns[opCallback[o]]
	if err := p.precheck(ctx, o); err != nil || fn == 0 {
		return err
	}
	re, err := p.enter(o)
	if err != nil {
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
	c.Begin()
	r, bad := vtable.Call1(fn, c.Addr(), base, len(s))
	c.Release()
	p.leave(re)
	if bad >= 0 {
		return p.nulError(o, "session_id")
	}
	return p.result(o, r)
}

var argNames = [numOps][3]string{
	opToolCall: {"session_id", "tool_name", "input_json"},
	opMessage:  {"session_id", "role", "content_json"},
}

// call3 runs a callback that takes (ctx, session_id, s1, s2).
func (p *Plugin) call3(ctx context.Context, o op, s0, s1, s2 string) error {
	fn := p.fns[opCallback[o]]
	if err := p.precheck(ctx, o); err != nil || fn == 0 {
		return err
	}
	re, err := p.enter(o)
	if err != nil {
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
	c.Begin()
	r, bad := vtable.Call3(fn, c.Addr(), base, len(s0), len(s1), len(s2))
	c.Release()
	p.leave(re)
	if bad >= 0 {
		return p.nulError(o, argNames[o][bad])
	}
	return p.result(o, r)
}

// SessionStart calls on_session_start.
func (p *Plugin) SessionStart(ctx context.Context, sessionID string) error {
	return p.call1(ctx, opSessionStart, sessionID)
}

// SessionEnd calls on_session_end.
func (p *Plugin) SessionEnd(ctx context.Context, sessionID string) error {
	return p.call1(ctx, opSessionEnd, sessionID)
}

// ToolCall calls on_tool_call. inputJSON is passed as it is.
func (p *Plugin) ToolCall(ctx context.Context, sessionID, toolName, inputJSON string) error {
	return p.call3(ctx, opToolCall, sessionID, toolName, inputJSON)
}

// Message calls on_message. role is "user" or "assistant" by the ABI; the
// loader passes what it is given.
func (p *Plugin) Message(ctx context.Context, sessionID, role, contentJSON string) error {
	return p.call3(ctx, opMessage, sessionID, role, contentJSON)
}

// Close refuses new calls, waits for the calls in flight, calls on_unload
// once and closes the library. Later calls return the first Close's result.
// Calling Close from inside the plugin's own send_event is an error
// (invalid_argument): it would wait for the call that is running it.
func (p *Plugin) Close() error {
	if p.b.InSinkOn(threadid.Current()) {
		return clawerr.New(clawerr.InvalidArgument, p.name, "close", "Close called from inside the plugin's own send_event", nil)
	}
	p.closeOnce.Do(func() { p.closeErr = p.close() })
	return p.closeErr
}

func (p *Plugin) close() error {
	p.closedFlag.Store(true)
	if p.concurrent {
		p.drainMu.Lock()
		for p.inflight.Load() != 0 {
			p.drainCond.Wait()
		}
		p.drainMu.Unlock()
	} else {
		p.mu.Lock()
		p.closed = true
		p.mu.Unlock()
	}
	sigs := saveSignals()
	defer p.checkSignals(sigs, p.log)
	if fn := p.fns[abi.OnUnload]; fn != 0 {
		c, err := p.b.Acquire()
		if err == nil {
			c.Begin()
			vtable.CallUnload(fn, c.Addr())
			c.Release()
		}
	}
	if err := dlclose(p.lib); err != nil {
		return clawerr.New(clawerr.Unavailable, p.name, "close", "closing the library", err)
	}
	return nil
}
