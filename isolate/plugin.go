package isolate

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/boundary"
	"github.com/clawd-go/clawd/internal/contain"
	"github.com/clawd-go/clawd/internal/hook"
	"github.com/clawd-go/clawd/internal/outcome"
	"github.com/clawd-go/clawd/internal/reentry"
	"github.com/clawd-go/clawd/internal/vtable"
)

func init() {
	clawd.Register(clawd.RuntimeProcess, Open)
}

// plugin is a plugin running in a child process; its methods are safe
// for concurrent use. Calls into one child are serialized.
type plugin struct {
	o       options
	path    string
	policy  contain.Policy
	exe     string
	hello   hello // of the first child; set before Open returns
	id      atomic.Pointer[ident]
	callbks uint32

	// lock (below) serializes calls and owns pr, wbuf and the call channel.
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

	// owner is the plugin in the re-entry record: a sink running on the
	// thread of the call in flight may call back into the plugin, and the
	// call channel is then already ours.
	owner *reentry.Owner
	lock  *reentry.Mutex
	// hook is the verdict state of the Hook call in flight (nil for any
	// other call) and token that call's token (frame.go; noCall outside a
	// call); guarded by lock.
	hook  *hook.Frame
	token uint32

	// What the host refused itself, whatever the child claims.
	// Events the host delivered are counted by the child (and in proc).
	host boundary.Counters

	// calling counts the exchanges in progress (calls, the hello, the
	// close): while it is not zero the plugin's threads may log and send.
	calling atomic.Int32

	errs *outcome.Errors

	statsMu sync.Mutex
	base    clawd.Stats // of children that closed
	live    clawd.Stats // the serving child's, as last asked

	states    *boundary.States
	closing   chan struct{}
	closeOnce sync.Once
	closeErr  error
	wg        sync.WaitGroup
	crashes   atomic.Uint64
	restarts  atomic.Uint64
}

// Open starts a child that loads the library at path and returns the
// plugin once its on_load succeeded. A refusal by the loader comes back
// with the loader's code (abi_mismatch, on_load_failed, ...); a child that
// dies or hangs while loading gives crashed or timeout. The error is a
// *clawerr.Error.
//
// The plugin it returns is also a clawd.Hooker, a clawd.Supervised (its
// state, crashes, restarts and the child's PID) and a clawd.Contained
// (what the operating system enforces on the child); its Memory() (bytes
// uint64, ok bool) method tells how much memory the child holds of its
// own (Linux).
func Open(path string, opts ...clawd.Option) (clawd.Plugin, error) {
	p, err := open(path, opts...)
	if err != nil {
		return nil, err // an untyped nil: never a nil *plugin in the interface
	}
	return p, nil
}

func open(path string, opts ...clawd.Option) (*plugin, error) {
	o := newOptions(opts)
	p := &plugin{o: o, path: path, states: boundary.NewStates(o.OnState), closing: make(chan struct{})}
	p.id.Store(&ident{log: o.Logger.With(zap.String("library", path))})
	if o.Name != "" { // the host's name from the start: an event from on_load carries it
		p.setIdent(&hello{})
	}
	if err := p.resolveExecutable(); err != nil {
		return nil, err
	}
	p.policy = p.makePolicy()
	p.owner = &reentry.Owner{Name: path} // named after the plugin once its hello says who it is
	pr, h, err := p.start()
	if err != nil {
		return nil, err
	}
	p.hello, p.callbks = *h, h.Callbacks
	p.errs = outcome.NewErrors(h.Name)
	p.owner = &reentry.Owner{Name: h.Name}
	p.lock = reentry.NewMutex(p.owner)
	p.timer = time.AfterFunc(time.Hour, p.expire)
	p.timer.Stop()
	p.pr = pr
	p.cur.Store(pr)
	return p, nil
}

func (p *plugin) name() string {
	if n := p.id.Load().name; n != "" {
		return n
	}
	return p.path
}

// Name is the plugin's name (the file stem if the plugin left it NULL).
func (p *plugin) Name() string { return p.hello.Name }

// Version is the plugin's version string ("" if NULL).
func (p *plugin) Version() string { return p.hello.Version }

// Path is the library the child loads.
func (p *plugin) Path() string { return p.path }

// ABIVersion is the abi_version the plugin declared.
func (p *plugin) ABIVersion() uint32 { return p.hello.ABIVersion }

// Has reports whether the plugin set callback cb.
func (p *plugin) Has(cb abi.Callback) bool { return cb < abi.NumCallbacks && p.callbks&(1<<cb) != 0 }

// Callbacks lists the callbacks the plugin set, in table order.
func (p *plugin) Callbacks() []abi.Callback {
	var cbs []abi.Callback
	for c := abi.Callback(0); c < abi.NumCallbacks; c++ {
		if p.Has(c) {
			cbs = append(cbs, c)
		}
	}
	return cbs
}

// Warnings lists what loads but is not right about the plugin.
func (p *plugin) Warnings() []string { return append([]string(nil), p.hello.Warnings...) }

// Concurrent is false: calls into one child are serialized.
func (p *plugin) Concurrent() bool { return false }

// Containment says what the operating system enforces on the child.
func (p *plugin) Containment() clawd.Containment { return clawd.Containment(p.hello.Containment) }

// State is the child's state now.
func (p *plugin) State() clawd.State { return clawd.State(p.state.Load()) }

// Crashes counts the children that died or were killed; Restarts the
// children started again after one.
func (p *plugin) Crashes() uint64  { return p.crashes.Load() }
func (p *plugin) Restarts() uint64 { return p.restarts.Load() }

// Call runs one callback in the child. See the package doc.
func (p *plugin) Call(ctx context.Context, c clawd.Call) error {
	if c.Op >= clawd.NumOps {
		return p.errs.BadOp(c.Op)
	}
	return p.call(ctx, c.Op, c.Args[0], c.Args[1], c.Args[2])
}

// reentered reports whether the caller runs inside this plugin's sink, on
// the call that holds the lock: it may use the call channel without it.
func (p *plugin) reentered() bool { return reentry.Inside(p.owner) }

func (p *plugin) call(ctx context.Context, op clawd.Op, a, b, c string) error {
	return p.exchange(ctx, op, a, b, c, nil)
}

// exchange runs one call in the child; hf is the verdict state of a Hook
// call (hook.go), nil for any other.
func (p *plugin) exchange(ctx context.Context, op clawd.Op, a, b, c string, hf *hook.Frame) error {
	if !p.Has(op.Callback()) {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return p.errs.NotCalled(op, err)
	}
	if clawd.State(p.state.Load()) != clawd.StateUp {
		return p.unavailable(op.String())
	}
	if callHeader+len(a)+len(b)+len(c) > maxBody {
		return p.errs.TooLarge(op, maxBody)
	}
	if err := p.errs.Validate(clawd.Call{Op: op, Args: [3]string{a, b, c}}); err != nil {
		return err
	}
	re, err := p.lock.Lock()
	if err != nil {
		return p.errs.Deadlock(op.String(), err)
	}
	if !re {
		defer p.lock.Unlock()
	}
	defer p.setCall(p.hook, p.token) // an outer call's, after a nested one
	p.hook, p.token = hf, newToken()
	pr := p.pr
	if pr == nil {
		return p.unavailable(op.String())
	}
	var no uint64
	if !re {
		no = p.arm(ctx)
	}
	p.wbuf = appendCall(p.wbuf[:0], uint8(op), p.token, a, b, c)
	p.beginCall()
	err = writeAll(pr.callW.Fd(), p.wbuf)
	var body []byte
	if err == nil {
		_, body, err = p.await(ctx, pr, kResult)
	}
	p.endCall(pr)
	expired := !re && p.disarm(no)
	if err == nil && !expired {
		var res error
		if res, err = p.result(op, p.token, body); err == nil {
			if res == nil && p.streak != 0 {
				p.streak = 0
			}
			return res
		}
	}
	return p.lost(pr, op.String(), err, expired, ctx)
}

// callCodes are the codes a child may report for a call its loader
// refused; anything else is a protocol violation.
var callCodes = map[clawerr.Code]bool{clawerr.InvalidArgument: true, clawerr.Unavailable: true, clawerr.Closed: true}

// maxDetail bounds the text of a refusal that a child reports.
const maxDetail = 1 << 10

// result decodes a kResult body of the call whose token is token. The
// child writes it, so the plugin may have: a status, a code or a text
// outside the contract is a protocol violation (the second error), never
// an error the host passes on; so is the result of another call (a token
// not the call's), which only a forged frame can be.
func (p *plugin) result(op clawd.Op, token uint32, body []byte) (res, violation error) {
	if len(body) < 8 || body[1] != 0 || body[2] != 0 || body[3] != 0 {
		return nil, frameError(kResult, "bad header")
	}
	rc := int32(binary.LittleEndian.Uint32(body[4:]))
	var tail []byte // the call token, after the rest
	switch body[0] {
	case stOK:
		if rc != 0 {
			return nil, frameError(kResult, "success with a code")
		}
		tail = body[8:]
	case stCallback:
		if rc == 0 {
			return nil, frameError(kResult, "a callback error without a code")
		}
		tail = body[8:]
		res = p.errs.Result(op, rc)
	case stError:
		ss, rest, err := splitStrings(body[8:], 3)
		if err != nil {
			return nil, frameError(kResult, "bad refusal")
		}
		code := clawerr.Code(ss[0])
		if !callCodes[code] {
			return nil, frameError(kResult, fmt.Sprintf("refusal code %.40q is not one a call can have", ss[0]))
		}
		var cause error
		if ss[2] != "" {
			cause = errors.New(clip(ss[2]))
		}
		tail = rest
		res = clawerr.New(code, p.name(), op.String(), clip(ss[1]), cause)
	default:
		return nil, frameError(kResult, fmt.Sprintf("status %d", body[0]))
	}
	if len(tail) != 4 {
		return nil, frameError(kResult, "no call token")
	}
	if binary.LittleEndian.Uint32(tail) != token {
		return nil, frameError(kResult, "the result of another call (its call token is not this call's)")
	}
	return res, nil
}

// clip bounds a text from the child and makes it valid UTF-8.
func clip(s string) string {
	if len(s) > maxDetail {
		s = s[:maxDetail] + "…"
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

func (p *plugin) unavailable(op string) error {
	why := "the plugin's process is down"
	var cause error
	if e := p.why.Load(); e != nil {
		cause = *e
	}
	// What took the process down: a timeout is not a crash. The cause is
	// its first line only: the crash report (with the child's stderr) was
	// logged once, when it happened, and is not repeated on every call.
	ended := "crashed"
	if clawerr.CodeOf(cause) == clawerr.Timeout {
		ended = "was killed after a call timed out"
	}
	switch clawd.State(p.state.Load()) {
	case clawd.StateFailed:
		why = "the plugin's process " + ended + " too often and is not restarted any more"
	case clawd.StateClosed:
		return p.errs.Closed(op)
	case clawd.StateDown:
		why = "the plugin's process " + ended + " and is being restarted"
	}
	var ce *clawerr.Error
	if errors.As(cause, &ce) {
		short := *ce
		short.Detail = firstLine(ce.Detail)
		cause = &short
	}
	return clawerr.New(clawerr.Unavailable, p.name(), op, why, cause)
}

// firstLine is s up to its stderr tail or its first newline.
func firstLine(s string) string {
	if i := strings.Index(s, "; last stderr lines:"); i >= 0 {
		s = s[:i]
	}
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

// arm starts the call's deadline: the earlier of the context's and the
// call timeout. It returns the call's number for disarm.
func (p *plugin) arm(ctx context.Context) uint64 {
	d := p.o.CallTimeout
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
func (p *plugin) disarm(no uint64) bool {
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
func (p *plugin) expire() {
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
// plugin logs and answering its events on the way; ctx is the call's, for
// the sink. For the handshake want is kHello, and kOpenFailed ends it too.
func (p *plugin) await(ctx context.Context, pr *proc, want kind) (kind, []byte, error) {
	for {
		k, _, body, err := pr.rd.next()
		if err != nil {
			return k, nil, err
		}
		switch {
		case k == want, want == kHello && k == kOpenFailed:
			return k, body, nil
		case k == kLog:
			if err := p.emit(body); err != nil {
				return k, nil, err
			}
		case k == kIdent:
			if err := p.ident(body); err != nil {
				return k, nil, err
			}
		case k == kEvent:
			// The answer echoes the event's seq, by which the child tells
			// the answer to its event from one to a stale event. Read it
			// now: a sink's nested call reuses the read buffer.
			var r [headerSize + 8]byte
			if len(body) >= 4 {
				copy(r[8:12], body[:4])
			}
			code, err := p.event(ctx, pr, body)
			if err != nil {
				return k, nil, err
			}
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

// emit logs one kLog body with the host's logger. The level is the
// plugin's ABI level, mapped as in process: never above Error, so no frame
// can reach zap's DPanic, Panic or Fatal.
func (p *plugin) emit(body []byte) error {
	if len(body) < 4 || body[3] != 0 || body[1]&^logFlags != 0 {
		return frameError(kLog, "bad header")
	}
	if len(body)-4 > boundary.MaxLogMessage {
		return frameError(kLog, "message too long")
	}
	raw := body[0]
	flags := body[1]
	ce := p.id.Load().log.Check(boundary.ZapLevel(raw), strings.ToValidUTF8(string(body[4:]), "\uFFFD"))
	boundary.WriteLine(ce, raw, flags&logTruncated != 0, flags&logInvalidUTF8 != 0)
	return nil
}

// ident is who the plugin is, for what the async goroutine logs and sends
// while Open may still be learning it.
type ident struct {
	name, version string
	log           *zap.Logger
}

// ident takes the name and version the child announces before its hello,
// bounded as the loader bounds them.
func (p *plugin) ident(body []byte) error {
	ss, err := readStrings(body, 2)
	if err != nil || len(ss[0]) >= vtable.MaxString || len(ss[1]) >= vtable.MaxString {
		return frameError(kIdent, "bad name or version")
	}
	p.setIdent(&hello{Name: clip(ss[0]), Version: clip(ss[1])})
	return nil
}

func (p *plugin) setIdent(h *hello) {
	id := boundary.Identify(h.Name, h.Version, p.o.Name, p.o.Version)
	p.id.Store(&ident{name: id.Name, version: id.Version, log: id.Logger(p.o.Logger)})
}

// decodeEvent checks and copies a kEvent body out of the read buffer. A
// malformed frame is a protocol violation; the event itself is judged by
// the rules of every runtime (boundary) over the frame's strings, with the
// code the plugin would have seen in process: the child's own checks ran
// in the plugin's address space and count for nothing. A hook event (the
// host's: the caller answers it, hook.go) needs no network.relay.
func (p *plugin) decodeEvent(ctx context.Context, body []byte) (e clawd.Event, refuse abi.Code, err error) {
	if len(body) < 8 {
		return e, 0, frameError(kEvent, "short")
	}
	n := uint64(binary.LittleEndian.Uint32(body[4:]))
	if n > uint64(len(body)-8) {
		return e, 0, frameError(kEvent, "bad method length")
	}
	f := boundary.Frame{Method: body[8 : 8+n], Params: body[8+n:]}
	id := p.id.Load()
	var params []byte
	if hook.Reserved(f.Method) {
		e.Method, params, refuse = boundary.ReadHook(&p.host, id.log, f, boundary.FrameMethod, boundary.FrameParams)
	} else if e.Method, params, refuse = boundary.ReadEvent(&p.host, id.log, p.o.Granted(abi.CapNetworkRelay), f,
		boundary.FrameMethod, boundary.FrameParams); refuse != abi.None {
		boundary.Refused(ctx, p.o.Sink, refuse)
		p.host.Event(refuse)
	}
	if refuse != abi.None {
		return clawd.Event{}, refuse, nil
	}
	e.Plugin, e.Version = id.name, id.version
	e.Params = json.RawMessage(append([]byte(nil), params...))
	return e, 0, nil
}

// event hands one kEvent from the call channel to the sink and returns the
// plugin's answer.
func (p *plugin) event(ctx context.Context, pr *proc, body []byte) (int32, error) {
	e, refuse, err := p.decodeEvent(ctx, body)
	if err != nil || refuse != 0 {
		return int32(refuse), err
	}
	if hook.Reserved(e.Method) {
		return int32(p.takeHook(e, binary.LittleEndian.Uint32(body))), nil
	}
	return p.deliver(ctx, pr, e), nil
}

// deliver runs the sink by the rules of every runtime (boundary.Deliver);
// every outcome is a code the plugin sees, and is counted against pr (nil:
// not counted).
func (p *plugin) deliver(ctx context.Context, pr *proc, e clawd.Event) int32 {
	code := boundary.Deliver(ctx, &p.host, p.id.Load().log, p.o.Sink, p.owner, e)
	if pr != nil {
		if code == abi.None {
			pr.sinkSent.Add(1)
		} else {
			pr.sinkRefused.Add(1)
		}
	}
	return int32(code)
}

// PID is the process id of the child serving now, 0 while it is down.
func (p *plugin) PID() int {
	if pr := p.cur.Load(); pr != nil {
		return pr.cmd.Process.Pid
	}
	return 0
}
