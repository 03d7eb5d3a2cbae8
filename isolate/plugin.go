package isolate

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/clawctx"
	"github.com/clawd-go/clawd/internal/contain"
	"github.com/clawd-go/clawd/internal/threadid"
)

// State is where a sandboxed plugin's child stands.
type State int32

const (
	StateUp     State = iota // serving calls
	StateDown                // crashed or killed; a restart is pending, calls return unavailable
	StateFailed              // restarts given up; calls return unavailable
	StateClosed              // Close was called
)

func (s State) String() string {
	switch s {
	case StateUp:
		return "up"
	case StateDown:
		return "down"
	case StateFailed:
		return "failed"
	case StateClosed:
		return "closed"
	}
	return fmt.Sprintf("state(%d)", int32(s))
}

const (
	opSessionStart = iota
	opSessionEnd
	opToolCall
	opMessage
	numOps
)

var opCallback = [numOps]abi.Callback{abi.OnSessionStart, abi.OnSessionEnd, abi.OnToolCall, abi.OnMessage}

// Plugin is a plugin running in a child process. It has the call surface of
// loader.Plugin; its methods are safe for concurrent use. Calls into one
// child are serialized.
type Plugin struct {
	o       options
	path    string
	policy  contain.Policy
	exe     string
	hello   hello // of the first child; set before Open returns
	id      atomic.Pointer[ident]
	callbks uint32

	// mu serializes calls and owns pr, wbuf and the call channel.
	mu    sync.Mutex
	pr    *proc
	wbuf  []byte
	state atomic.Int32
	why   atomic.Pointer[error] // why the plugin is down or failed
	cur   atomic.Pointer[proc]  // pr, for the deadline timer
	// streak counts restarts since the last call that succeeded.
	streak int

	// The per-call deadline: armed holds the number of the armed call, 0
	// when none; whoever swaps it out (the call finishing, or the timer)
	// decides whether the call timed out.
	timer   *time.Timer
	callNo  atomic.Uint64
	armed   atomic.Uint64
	expired atomic.Uint64
	// afterStop undoes the context.AfterFunc of the call in flight.
	afterStop func() bool

	// A sink running on this thread may call back into the plugin: the
	// call channel is then already ours.
	sinkTid   atomic.Uint64
	sinkDepth atomic.Int32

	errs [numOps][abi.MaxKnownCode + 1]error

	statsMu sync.Mutex
	base    clawctx.Stats // of children that closed
	live    clawctx.Stats // the serving child's, as last asked

	events    chan stateEvent
	closing   chan struct{}
	closeOnce sync.Once
	closeErr  error
	wg        sync.WaitGroup
	crashes   atomic.Uint64
	restarts  atomic.Uint64
}

type stateEvent struct {
	s   State
	err error
}

// Open starts a child that loads the library at path and returns the
// plugin once its on_load succeeded. A refusal by the loader comes back
// with the loader's code (abi_mismatch, on_load_failed, ...); a child that
// dies or hangs while loading gives crashed or timeout. The error is a
// *clawerr.Error.
func Open(path string, opts ...Option) (*Plugin, error) {
	o := defaults()
	for _, opt := range opts {
		opt(&o)
	}
	p := &Plugin{o: o, path: path, events: make(chan stateEvent, 16), closing: make(chan struct{})}
	p.id.Store(&ident{log: o.logger.With(zap.String("library", path))})
	if err := p.resolveExecutable(); err != nil {
		return nil, err
	}
	p.policy = p.makePolicy()
	pr, h, err := p.start()
	if err != nil {
		return nil, err
	}
	p.hello, p.callbks = *h, h.Callbacks
	for op := 0; op < numOps; op++ {
		for c := abi.InitFailed; c <= abi.MaxKnownCode; c++ {
			p.errs[op][c] = clawerr.New(clawerr.CallbackError, h.Name, opCallback[op].String(), "", c)
		}
	}
	p.timer = time.AfterFunc(time.Hour, p.expire)
	p.timer.Stop()
	p.pr = pr
	p.cur.Store(pr)
	p.wg.Add(1)
	go p.notifier()
	return p, nil
}

func (p *Plugin) name() string {
	if n := p.id.Load().name; n != "" {
		return n
	}
	return p.path
}

// Name is the plugin's name (the file stem if the plugin left it NULL).
func (p *Plugin) Name() string { return p.hello.Name }

// Version is the plugin's version string ("" if NULL).
func (p *Plugin) Version() string { return p.hello.Version }

// Path is the library the child loads.
func (p *Plugin) Path() string { return p.path }

// ABIVersion is the abi_version the plugin declared.
func (p *Plugin) ABIVersion() uint32 { return p.hello.ABIVersion }

// Has reports whether the plugin set callback cb.
func (p *Plugin) Has(cb abi.Callback) bool { return cb < abi.NumCallbacks && p.callbks&(1<<cb) != 0 }

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
func (p *Plugin) Warnings() []string { return append([]string(nil), p.hello.Warnings...) }

// Concurrent is false: calls into one child are serialized.
func (p *Plugin) Concurrent() bool { return false }

// Containment says what the operating system enforces on the child.
func (p *Plugin) Containment() Containment { return p.hello.Containment }

// State is the child's state now.
func (p *Plugin) State() State { return State(p.state.Load()) }

// Crashes counts the children that died or were killed; Restarts the
// children started again after one.
func (p *Plugin) Crashes() uint64  { return p.crashes.Load() }
func (p *Plugin) Restarts() uint64 { return p.restarts.Load() }

// SessionStart calls on_session_start.
func (p *Plugin) SessionStart(ctx context.Context, sessionID string) error {
	return p.call(ctx, opSessionStart, sessionID, "", "")
}

// SessionEnd calls on_session_end.
func (p *Plugin) SessionEnd(ctx context.Context, sessionID string) error {
	return p.call(ctx, opSessionEnd, sessionID, "", "")
}

// ToolCall calls on_tool_call. inputJSON is passed as it is.
func (p *Plugin) ToolCall(ctx context.Context, sessionID, toolName, inputJSON string) error {
	return p.call(ctx, opToolCall, sessionID, toolName, inputJSON)
}

// Message calls on_message.
func (p *Plugin) Message(ctx context.Context, sessionID, role, contentJSON string) error {
	return p.call(ctx, opMessage, sessionID, role, contentJSON)
}

// reentered reports whether the caller runs inside this plugin's sink, on
// the call that holds mu: it may use the call channel without taking mu.
func (p *Plugin) reentered() bool {
	return p.sinkDepth.Load() > 0 && p.sinkTid.Load() == threadid.Current()
}

func (p *Plugin) call(ctx context.Context, op int, a, b, c string) error {
	if !p.Has(opCallback[op]) {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return p.refused(op, err)
	}
	if State(p.state.Load()) != StateUp {
		return p.unavailable(op)
	}
	if 12+len(a)+len(b)+len(c) > maxBody {
		return clawerr.New(clawerr.InvalidArgument, p.name(), opCallback[op].String(),
			fmt.Sprintf("the arguments are larger than %d bytes", maxBody), nil)
	}
	re := p.reentered()
	if !re {
		p.mu.Lock()
		defer p.mu.Unlock()
	}
	pr := p.pr
	if pr == nil {
		return p.unavailable(op)
	}
	var no uint64
	if !re {
		no = p.arm(ctx)
	}
	p.wbuf = appendCall(p.wbuf[:0], uint8(op), a, b, c)
	err := writeAll(pr.callW.Fd(), p.wbuf)
	var body []byte
	if err == nil {
		_, body, err = p.await(pr, kResult)
	}
	expired := !re && p.disarm(no)
	if err != nil || expired {
		return p.lost(pr, opCallback[op].String(), err, expired, ctx)
	}
	if len(body) < 8 {
		return p.lost(pr, opCallback[op].String(), frameError(kResult, "short"), false, ctx)
	}
	rc := int32(binary.LittleEndian.Uint32(body[4:]))
	switch body[0] {
	case stOK:
		if p.streak != 0 {
			p.streak = 0
		}
		return nil
	case stCallback:
		if code := abi.Code(rc); code.Known() {
			return p.errs[op][code]
		}
		return clawerr.New(clawerr.UnknownCode, p.name(), opCallback[op].String(),
			"the plugin returned a ClawaError this host does not know", &abi.UnknownCodeError{Code: rc})
	}
	ss, err := readStrings(body[8:], 3)
	if err != nil {
		return p.lost(pr, opCallback[op].String(), frameError(kResult, "bad error"), false, ctx)
	}
	var cause error
	if ss[2] != "" {
		cause = errors.New(ss[2])
	}
	return clawerr.New(clawerr.Code(ss[0]), p.name(), opCallback[op].String(), ss[1], cause)
}

func (p *Plugin) refused(op int, err error) error {
	code := clawerr.Unavailable
	if errors.Is(err, context.DeadlineExceeded) {
		code = clawerr.Timeout
	}
	return clawerr.New(code, p.name(), opCallback[op].String(), "not called", err)
}

func (p *Plugin) unavailable(op int) error {
	why := "the plugin's process is down"
	var cause error
	if e := p.why.Load(); e != nil {
		cause = *e
	}
	switch State(p.state.Load()) {
	case StateFailed:
		why = "the plugin's process kept crashing and is not restarted any more"
	case StateClosed:
		return clawerr.New(clawerr.Closed, p.name(), opCallback[op].String(), "the plugin is closed", nil)
	case StateDown:
		why = "the plugin's process crashed and is being restarted"
	}
	return clawerr.New(clawerr.Unavailable, p.name(), opCallback[op].String(), why, cause)
}

// arm starts the call's deadline: the earlier of the context's and the
// call timeout. It returns the call's number for disarm.
func (p *Plugin) arm(ctx context.Context) uint64 {
	d := p.o.callTimeout
	if dl, ok := ctx.Deadline(); ok {
		if left := time.Until(dl); d == 0 || left < d {
			d = max(left, time.Nanosecond)
		}
	}
	if d == 0 && ctx.Done() == nil {
		return 0
	}
	no := p.callNo.Add(1)
	p.armed.Store(no)
	if d > 0 {
		p.timer.Reset(d)
	}
	if ctx.Done() != nil {
		// Cancellation also ends the call. context.AfterFunc allocates:
		// only callers that pass a cancellable context pay for it.
		stop := context.AfterFunc(ctx, p.expire)
		p.afterStop = stop
	}
	return no
}

// disarm ends the call's deadline; true if it expired first.
func (p *Plugin) disarm(no uint64) bool {
	if no == 0 {
		return false
	}
	if p.afterStop != nil {
		p.afterStop()
		p.afterStop = nil
	}
	if p.armed.CompareAndSwap(no, 0) {
		p.timer.Stop()
		return false
	}
	return p.expired.Load() == no
}

// expire runs when the armed call's deadline passes or its context is
// cancelled: it kills the child, which ends the call's read.
func (p *Plugin) expire() {
	no := p.armed.Load()
	if no == 0 || !p.armed.CompareAndSwap(no, 0) {
		return
	}
	p.expired.Store(no)
	if pr := p.cur.Load(); pr != nil {
		pr.kill(killTimeout)
	}
}

// await reads the call channel until a frame of kind want, logging what the
// plugin logs and answering its events on the way. For the handshake want
// is kHello, and kOpenFailed ends it too.
func (p *Plugin) await(pr *proc, want kind) (kind, []byte, error) {
	for {
		k, _, body, err := pr.rd.next()
		if err != nil {
			return k, nil, err
		}
		switch {
		case k == want, want == kHello && k == kOpenFailed:
			return k, body, nil
		case k == kLog:
			p.emit(body)
		case k == kIdent:
			p.ident(body)
		case k == kEvent:
			code, err := p.event(body)
			if err != nil {
				return k, nil, err
			}
			var r [headerSize + 8]byte
			putHeader(r[:], kReply, 0, 8)
			binary.LittleEndian.PutUint32(r[12:], uint32(code))
			if err := writeAll(pr.callW.Fd(), r[:]); err != nil {
				return k, nil, err
			}
		default:
			return k, nil, frameError(k, fmt.Sprintf("unexpected while waiting for kind %d", want))
		}
	}
}

// emit logs one kLog body with the host's logger.
func (p *Plugin) emit(body []byte) {
	if len(body) < 4 {
		return
	}
	lvl := zapcore.Level(int8(body[0]))
	ce := p.id.Load().log.Check(lvl, string(body[4:]))
	if ce == nil {
		return
	}
	flags := body[1]
	switch {
	case flags&logRawLevel != 0:
		ce.Write(zap.Uint8("level", body[2]))
	case flags&logTruncated != 0:
		ce.Write(zap.Bool("truncated", true))
	case flags&logInvalidUTF8 != 0:
		ce.Write(zap.Bool("invalid_utf8", true))
	default:
		ce.Write()
	}
}

// ident is who the plugin is, for what the async goroutine logs and sends
// while Open may still be learning it.
type ident struct {
	name, version string
	log           *zap.Logger
}

// ident takes the name and version the child announces before its hello.
func (p *Plugin) ident(body []byte) {
	if ss, err := readStrings(body, 2); err == nil {
		p.setIdent(&hello{Name: ss[0], Version: ss[1]})
	}
}

func (p *Plugin) setIdent(h *hello) {
	p.id.Store(&ident{name: h.Name, version: h.Version,
		log: p.o.logger.With(zap.String("plugin", h.Name), zap.String("version", h.Version))})
}

// decodeEvent copies a kEvent body out of the read buffer.
func (p *Plugin) decodeEvent(body []byte) (clawctx.Event, error) {
	if len(body) < 8 {
		return clawctx.Event{}, frameError(kEvent, "short")
	}
	n := uint64(binary.LittleEndian.Uint32(body[4:]))
	if n > uint64(len(body)-8) {
		return clawctx.Event{}, frameError(kEvent, "bad method length")
	}
	id := p.id.Load()
	return clawctx.Event{
		Plugin:  id.name,
		Version: id.version,
		Method:  string(body[8 : 8+n]),
		Params:  json.RawMessage(append([]byte(nil), body[8+n:]...)),
	}, nil
}

// event hands one kEvent from the call channel to the sink and returns the
// plugin's answer. The loader in the child already checked the capability
// and the arguments.
func (p *Plugin) event(body []byte) (int32, error) {
	e, err := p.decodeEvent(body)
	if err != nil {
		return 0, err
	}
	// The sink may call back into this plugin from this goroutine: lock it
	// to its thread so that reentered recognises it.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	tid := threadid.Current()
	prev := p.sinkTid.Swap(tid)
	p.sinkDepth.Add(1)
	defer func() {
		p.sinkDepth.Add(-1)
		p.sinkTid.Store(prev)
	}()
	return p.deliver(e), nil
}

// deliver runs the sink; every outcome is a code the plugin sees.
func (p *Plugin) deliver(e clawctx.Event) (code int32) {
	if p.o.sink == nil {
		return int32(abi.DaemonError)
	}
	defer func() {
		if r := recover(); r != nil {
			p.id.Load().log.Error("the event sink panicked", zap.Any("panic", r))
			code = int32(abi.DaemonError)
		}
	}()
	err := p.o.sink.Deliver(e)
	if err == nil {
		return 0
	}
	var c abi.Code
	if errors.As(err, &c) && c != abi.None {
		return int32(c)
	}
	return int32(abi.DaemonError)
}

// PID is the process id of the child serving now, 0 while it is down.
func (p *Plugin) PID() int {
	if pr := p.cur.Load(); pr != nil {
		return pr.cmd.Process.Pid
	}
	return 0
}

// Containment says what the operating system enforces on a sandbox child:
// Landlock's ABI level and what it restricts, no_new_privs, rlimits, death
// with the parent, and Notes on what could not be enforced here.
type Containment = contain.Report
