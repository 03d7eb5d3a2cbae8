package isolate

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/cabi"
	"github.com/clawd-go/clawd/internal/child"
	"github.com/clawd-go/clawd/internal/contain"
	"github.com/clawd-go/clawd/internal/hook"
	"github.com/clawd-go/clawd/internal/threadid"
	"github.com/clawd-go/clawd/loader"
)

// roleSandbox is the child role (internal/child) that serves one plugin;
// its arguments are a childSpec.
const roleSandbox = "sandbox"

func init() { child.Register(roleSandbox, serveChild) }

// The child's inherited descriptors: os/exec ExtraFiles start at 3.
const (
	fdCallIn   = 3 // host -> child, call channel
	fdCallOut  = 4 // child -> host, call channel
	fdAsyncIn  = 5 // host -> child, answers to async events
	fdAsyncOut = 6 // child -> host, async logs and events
	fdFloor    = 7 // benchmark only: raw echo channels from here on
)

// Exit statuses of a child that could not serve.
const (
	exitOpenFailed = 1 // the plugin did not load; kOpenFailed said why
	exitProtocol   = 3 // the host sent something the child does not understand
)

type childSpec struct {
	Path         string           `json:"path"`
	Source       string           `json:"source,omitempty"` // clawd.WithSource: what a NULL name and errors go by
	Capabilities []abi.Capability `json:"capabilities,omitempty"`
	LogLevel     int8             `json:"log_level"` // zapcore.Level: the host's lowest enabled one
	Floor        int              `json:"floor,omitempty"`
	// Handles are the child's channel handles in fd order (fdCallIn on),
	// on Windows, where inherited handles keep their values but are not
	// numbered 3 on; empty on Unix.
	Handles []uint64 `json:"handles,omitempty"`
}

// channels are the child's four channel descriptors: fds 3-6, or the
// handles the host named.
func (s childSpec) channels() ([4]uintptr, error) {
	if len(s.Handles) == 0 {
		return [4]uintptr{fdCallIn, fdCallOut, fdAsyncIn, fdAsyncOut}, nil
	}
	if len(s.Handles) < 4 {
		return [4]uintptr{}, fmt.Errorf("%d channel handles, want 4", len(s.Handles))
	}
	var c [4]uintptr
	for i := range c {
		c[i] = uintptr(s.Handles[i])
	}
	return c, nil
}

// hello is the child's first frame after the plugin loaded.
type hello struct {
	Name        string         `json:"name"`
	Version     string         `json:"version"`
	ABIVersion  uint32         `json:"abi_version"`
	Callbacks   uint32         `json:"callbacks"` // bit i: abi.Callback(i) is set
	Warnings    []string       `json:"warnings,omitempty"`
	Containment contain.Report `json:"containment"`
	PID         int            `json:"pid"`
}

// wireError is a *clawerr.Error on the wire.
type wireError struct {
	Code   clawerr.Code `json:"code"`
	Plugin string       `json:"plugin,omitempty"`
	Op     string       `json:"op,omitempty"`
	Detail string       `json:"detail,omitempty"`
	Cause  string       `json:"cause,omitempty"`
}

// closed is the child's answer to kClose.
type closed struct {
	Err   *wireError  `json:"error,omitempty"`
	Stats clawd.Stats `json:"stats"`
}

func toWire(err error) *wireError {
	if err == nil {
		return nil
	}
	w := &wireError{Code: clawerr.CodeOf(err), Detail: err.Error()}
	var ce *clawerr.Error
	if errors.As(err, &ce) {
		w.Plugin, w.Op, w.Detail = ce.Plugin, ce.Op, ce.Detail
		if ce.Err != nil {
			w.Cause = ce.Err.Error()
		}
	}
	if w.Code == "" {
		w.Code = clawerr.Unavailable
	}
	return w
}

// mainCalled records that this process called Main and is not a child: its
// own executable can then be re-executed as one.
var mainCalled atomic.Bool

// Main makes this program able to serve as a sandbox child. Call it first
// thing in main:
//
//	func main() {
//		isolate.Main()
//		...
//	}
//
// In a child it confines the process (internal/contain), loads the plugin,
// serves the host's calls and exits: it never returns. It serves the other
// child roles this program links too (inspect's, conformance checks'): one
// entry, internal/child's Main. Anywhere else it returns at once. A test
// binary calls it from TestMain.
func Main() {
	child.Main() // in a child: never returns
	mainCalled.Store(true)
}

// server is the child's side of one plugin.
type server struct {
	p         clawd.Plugin
	callIn    *fdReader
	callOut   uintptr
	wbuf      []byte // the serving thread's frames
	tid       uint64 // the serving thread: its logs and events go on the call channel
	depth     int    // nested calls from inside the plugin's own send_event
	token     uint32 // of the call the serving thread runs; noCall outside one
	asyncOut  uintptr
	asyncMu   sync.Mutex // asyncOut and abuf
	abuf      []byte
	seq       atomic.Uint32
	waitMu    sync.Mutex
	waiters   map[uint32]chan int32
	parted    bool // async channel gone (under waitMu)
	identSent atomic.Bool
}

func serveChild(raw json.RawMessage) int {
	var spec childSpec
	if err := json.Unmarshal(raw, &spec); err != nil {
		fmt.Fprintf(os.Stderr, "clawd sandbox: bad arguments of role %s: %v\n", roleSandbox, err)
		return exitProtocol
	}
	ch, err := spec.channels()
	if err != nil {
		fmt.Fprintf(os.Stderr, "clawd sandbox: bad arguments of role %s: %v\n", roleSandbox, err)
		return exitProtocol
	}
	for _, fd := range ch {
		setCloexec(fd)
	}
	// The serving goroutine keeps its thread: the thread tells a log or an
	// event made inside a call from one made by a plugin's own thread.
	runtime.LockOSThread()
	s := &server{
		callIn:   newReader(ch[0]),
		callOut:  ch[1],
		asyncOut: ch[3],
		tid:      threadid.Current(),
		waiters:  make(map[uint32]chan int32),
	}
	go s.asyncReplies(newReader(ch[2]))
	if spec.Floor > 0 && benchFloor != nil {
		benchFloor.serve(spec.Floor)
	}
	logger := zap.New(&fwdCore{s: s, min: zapcore.Level(spec.LogLevel)})
	// on_load and on_unload on this thread, unbounded: deliver tells their
	// events by it, and the parent bounds the whole child.
	p, err := loader.Open(spec.Path,
		clawd.WithSource(spec.Source),
		clawd.WithLogger(logger),
		clawd.WithEventSink(clawd.SinkFunc(s.deliver)),
		clawd.WithCapabilities(spec.Capabilities...),
		loader.WithLoadTimeout(-1), loader.WithUnloadTimeout(-1),
		hook.Forward()) // hook events come to the host, which decides
	if err != nil {
		s.sendJSON(kOpenFailed, toWire(err))
		return exitOpenFailed
	}
	s.p = p
	h := hello{Name: p.Name(), Version: p.Version(), ABIVersion: p.ABIVersion(), Warnings: p.Warnings(), PID: os.Getpid()}
	for _, cb := range p.Callbacks() {
		h.Callbacks |= 1 << cb
	}
	if r, ok := contain.Applied(); ok {
		h.Containment = r
	} else {
		h.Containment = contain.Report{OS: runtime.GOOS, Notes: []string{"the child was not confined"}}
	}
	if err := s.sendJSON(kHello, h); err != nil {
		return 0 // the host is gone
	}
	for {
		k, op, body, err := s.callIn.next()
		if err != nil {
			return 0 // the host closed the channel or died: nothing to answer
		}
		switch k {
		case kCall:
			if !s.serveCall(op, body) {
				return exitProtocol
			}
		case kStats:
			s.sendJSON(kStatsReply, s.p.Stats())
		case kReply: // the host's answer to a stale event the plugin forged: nobody waits for it
		case kClose:
			err := s.p.Close()
			s.sendJSON(kClosed, closed{Err: toWire(err), Stats: s.p.Stats()})
			return 0
		default:
			fmt.Fprintf(os.Stderr, "clawd sandbox: unexpected frame kind %d from the host\n", k)
			return exitProtocol
		}
	}
}

// serveCall runs one call and writes its kResult. The strings alias the
// read buffer: the loader copies them into C memory before the callback
// runs, so a nested call that reuses the buffer cannot change them.
func (s *server) serveCall(op uint8, body []byte) bool {
	token, a, b, c, err := splitCall(body)
	if err != nil || op >= clawd.NumOps || token == noCall {
		fmt.Fprintf(os.Stderr, "clawd sandbox: malformed call frame\n")
		return false
	}
	// The call's events and result carry its token; a nested call (from
	// the host's sink) has its own, and the outer call's is back after it.
	outer := s.token
	s.token = token
	err = s.p.Call(context.Background(), clawd.Call{Op: clawd.Op(op),
		Args: [3]string{aliasString(a), aliasString(b), aliasString(c)}})
	s.writeResult(err)
	s.token = outer
	return true
}

func (s *server) writeResult(err error) {
	var body [12]byte
	st, rc := uint8(stOK), int32(0)
	var ce *clawerr.Error
	var uc *abi.UnknownCodeError
	var code abi.Code
	switch {
	case err == nil:
	case errors.As(err, &ce) && ce.Code == clawerr.CallbackError && errors.As(err, &code):
		st, rc = stCallback, int32(code)
	case errors.As(err, &uc):
		st, rc = stCallback, uc.Code
	default:
		st = stError
	}
	body[0] = st
	binary.LittleEndian.PutUint32(body[4:], uint32(rc))
	if st != stError {
		binary.LittleEndian.PutUint32(body[8:], s.token)
		s.wbuf = appendFrame(s.wbuf[:0], kResult, 0, body[:])
	} else {
		w := toWire(err)
		rest := appendStrings(body[:8], string(w.Code), w.Detail, w.Cause)
		rest = binary.LittleEndian.AppendUint32(rest, s.token)
		s.wbuf = appendFrame(s.wbuf[:0], kResult, 0, rest)
	}
	writeAll(s.callOut, s.wbuf)
}

func (s *server) sendJSON(k kind, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	s.wbuf = appendFrame(s.wbuf[:0], k, 0, data)
	return writeAll(s.callOut, s.wbuf)
}

// deliver is the plugin's send_event, after the loader checked it. From the
// serving thread the event goes on the call channel and the host answers
// there, possibly after calling back into this plugin first; from another
// thread it goes on the async channel and waits for its answer.
func (s *server) deliver(_ context.Context, e clawd.Event) error {
	if e.Plugin != "" && !s.identSent.Swap(true) {
		// An event before any log line (from on_load, before the hello):
		// name the plugin first, as a first log line does.
		s.sendIdent(e.Plugin, e.Version)
	}
	if threadid.Current() == s.tid {
		return s.syncEvent(e)
	}
	return s.asyncEvent(e)
}

func (s *server) syncEvent(e clawd.Event) error {
	s.wbuf = appendEvent(s.wbuf[:0], s.token, e)
	if err := writeAll(s.callOut, s.wbuf); err != nil {
		return abi.DaemonError
	}
	for {
		k, op, body, err := s.callIn.next()
		if err != nil {
			return abi.DaemonError // the host is gone; the serve loop exits next
		}
		switch k {
		case kReply:
			if len(body) != 8 {
				return abi.DaemonError
			}
			if binary.LittleEndian.Uint32(body) != s.token {
				continue // the answer to a stale event the plugin forged
			}
			return codeErr(int32(binary.LittleEndian.Uint32(body[4:])))
		case kCall: // the host's sink called back into this plugin
			s.depth++
			ok := s.serveCall(op, body)
			s.depth--
			if !ok {
				os.Exit(exitProtocol)
			}
		case kStats:
			s.sendJSON(kStatsReply, s.p.Stats())
		default:
			fmt.Fprintf(os.Stderr, "clawd sandbox: unexpected frame kind %d inside send_event\n", k)
			os.Exit(exitProtocol)
		}
	}
}

func (s *server) asyncEvent(e clawd.Event) error {
	seq := s.seq.Add(1)
	if seq == noCall {
		seq = s.seq.Add(1)
	}
	ch := make(chan int32, 1)
	s.waitMu.Lock()
	if s.parted {
		s.waitMu.Unlock()
		return abi.DaemonError
	}
	s.waiters[seq] = ch
	s.waitMu.Unlock()
	s.asyncMu.Lock()
	s.abuf = appendEvent(s.abuf[:0], seq, e)
	err := writeAll(s.asyncOut, s.abuf)
	s.asyncMu.Unlock()
	if err != nil {
		s.waitMu.Lock()
		delete(s.waiters, seq)
		s.waitMu.Unlock()
		return abi.DaemonError
	}
	return codeErr(<-ch)
}

// asyncReplies routes the host's answers to async events to their waiters.
func (s *server) asyncReplies(rd *fdReader) {
	for {
		k, _, body, err := rd.next()
		if err != nil || k != kReply || len(body) != 8 {
			break
		}
		seq := binary.LittleEndian.Uint32(body)
		s.waitMu.Lock()
		ch := s.waiters[seq]
		delete(s.waiters, seq)
		s.waitMu.Unlock()
		if ch != nil {
			ch <- int32(binary.LittleEndian.Uint32(body[4:]))
		}
	}
	s.waitMu.Lock()
	s.parted = true
	for seq, ch := range s.waiters {
		ch <- int32(abi.DaemonError)
		delete(s.waiters, seq)
	}
	s.waitMu.Unlock()
}

func appendEvent(dst []byte, seq uint32, e clawd.Event) []byte {
	n := 8 + len(e.Method) + len(e.Params)
	var h [headerSize + 8]byte
	putHeader(h[:], kEvent, 0, n)
	binary.LittleEndian.PutUint32(h[8:], seq)
	binary.LittleEndian.PutUint32(h[12:], uint32(len(e.Method)))
	dst = append(append(dst, h[:]...), e.Method...)
	return append(dst, e.Params...)
}

func codeErr(c int32) error {
	if c == 0 {
		return nil
	}
	return abi.Code(c)
}

// log forwards one plugin log line.
func (s *server) log(level, flags uint8, msg string) {
	n := 4 + len(msg)
	var h [headerSize + 4]byte
	putHeader(h[:], kLog, 0, n)
	h[8], h[9] = level, flags
	if threadid.Current() == s.tid {
		s.wbuf = append(append(s.wbuf[:0], h[:]...), msg...)
		writeAll(s.callOut, s.wbuf)
		return
	}
	s.asyncMu.Lock()
	s.abuf = append(append(s.abuf[:0], h[:]...), msg...)
	writeAll(s.asyncOut, s.abuf)
	s.asyncMu.Unlock()
}

// fwdCore is the zap core of the child's loader: it sends each line to the
// host, which logs it with its own logger and fields.
type fwdCore struct {
	s             *server
	min           zapcore.Level
	name, version string // from the loader's With: sent once before the first line
}

func (c *fwdCore) Enabled(l zapcore.Level) bool { return l >= c.min }
func (c *fwdCore) Sync() error                  { return nil }

func (c *fwdCore) With(fields []zapcore.Field) zapcore.Core {
	d := *c
	for _, f := range fields {
		switch f.Key {
		case "plugin":
			d.name = f.String
		case "version":
			d.version = f.String
		}
	}
	return &d
}

func (c *fwdCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(e.Level) {
		return ce.AddCore(e, c)
	}
	return ce
}

func (c *fwdCore) Write(e zapcore.Entry, fields []zapcore.Field) error {
	var flags uint8
	level := abiLevel(e.Level)
	msg := e.Message
	for _, f := range fields {
		switch f.Key {
		case "truncated":
			flags |= logTruncated
		case "invalid_utf8":
			flags |= logInvalidUTF8
		case "level": // a level ABI v1 does not define: the host maps it again
			level = uint8(f.Integer)
		default:
			// The loader's own lines (a refused send_event, say) keep their
			// reason: a log frame carries text only, so the fields follow
			// the message as key=value.
			enc := zapcore.NewMapObjectEncoder()
			f.AddTo(enc)
			msg += fmt.Sprintf(" %s=%v", f.Key, enc.Fields[f.Key])
		}
	}
	if c.name != "" && !c.s.identSent.Swap(true) {
		// on_load logs before the hello names the plugin: name it now.
		c.s.sendIdent(c.name, c.version)
	}
	c.s.log(level, flags, msg)
	return nil
}

// sendIdent writes kIdent on the channel of the calling thread.
func (s *server) sendIdent(name, version string) {
	body := appendStrings(nil, name, version)
	if threadid.Current() == s.tid {
		s.wbuf = appendFrame(s.wbuf[:0], kIdent, 0, body)
		writeAll(s.callOut, s.wbuf)
		return
	}
	s.asyncMu.Lock()
	s.abuf = appendFrame(s.abuf[:0], kIdent, 0, body)
	writeAll(s.asyncOut, s.abuf)
	s.asyncMu.Unlock()
}

// abiLevel is the ABI level of a line the child's loader logged at l: the
// host maps it back with boundary.ZapLevel.
func abiLevel(l zapcore.Level) uint8 {
	switch {
	case l <= zapcore.DebugLevel:
		return uint8(cabi.LogDebug)
	case l == zapcore.InfoLevel:
		return uint8(cabi.LogInfo)
	case l == zapcore.WarnLevel:
		return uint8(cabi.LogWarn)
	}
	return uint8(cabi.LogError)
}
