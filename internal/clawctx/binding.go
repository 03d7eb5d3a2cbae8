package clawctx

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"unsafe"

	"go.uber.org/zap"

	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/internal/cmem"
	"github.com/clawd-go/clawd/internal/foreign"
)

// Bounds on what a plugin may pass to the host.
const (
	MaxLogMessage = 64 << 10 // longer lines are logged truncated
	MaxMethod     = 256      // send_event method, bytes with its NUL
	MaxParams     = 16 << 20 // send_event params_json, bytes with its NUL
	MaxDepth      = 64       // nested send_event calls on one thread
)

// Event is what a plugin sent with send_event. Everything in it is a copy:
// the sink may keep it.
type Event struct {
	Plugin  string          // the plugin's name
	Version string          // the plugin's version
	Method  string          // non-empty UTF-8
	Params  json.RawMessage // a JSON object
}

// Sink receives the events of a plugin. It runs on the thread that called
// send_event, which may be the plugin's own; it may call back into the
// host, including into the same plugin. Its answer is what the plugin's
// send_event returns: nil is CLAWA_ERROR_NONE, an abi.Code is that code,
// any other error is DaemonError.
type Sink interface {
	Deliver(Event) error
}

// SinkFunc adapts a function to Sink.
type SinkFunc func(Event) error

// Deliver calls f.
func (f SinkFunc) Deliver(e Event) error { return f(e) }

// Config describes the plugin a Binding serves.
type Config struct {
	Name    string
	Version string
	Logger  *zap.Logger // nil logs nothing
	Sink    Sink        // nil refuses every event with DaemonError
	Relay   bool        // network.relay granted: send_event allowed
}

// Stats counts what a plugin did through its contexts.
type Stats struct {
	EventsSent    uint64 // delivered to the sink and accepted
	EventsRefused uint64 // refused: capability, arguments, depth, or the sink's answer
	StaleLogs     uint64 // log calls on a context whose callback had returned
	StaleEvents   uint64 // send_event calls on such a context
	InvalidArgs   uint64 // NULL, non-UTF-8, oversize or malformed arguments
	Panics        uint64 // Go panics recovered in a trampoline
	DepthExceeded uint64 // send_event refused for nesting too deep
}

// Binding is the host-side state of one open plugin: what its contexts
// lead to. It is safe for use from any thread.
type Binding struct {
	name, version string
	log           *zap.Logger
	sink          Sink
	relay         bool

	sent, refused, staleLogs, staleEvents, invalid, panics, deep atomic.Uint64

	// serial is the ring of contexts for calls that the caller serializes
	// (AcquireSerial): no lock, the caller's own exclusion covers it.
	serial struct {
		ring [initialPool]*Call
		next uint32
	}

	// pool holds the contexts of all other calls: concurrent plugins, and
	// calls that re-enter a serialized plugin from its own send_event.
	pool struct {
		mu   sync.Mutex
		free []*Call // FIFO ring: least recently used first
		head int
		n    int
	}

	sinks struct {
		mu      sync.Mutex
		threads map[uint64]int // thread -> send_event calls in progress on it
	}
}

// NewBinding returns the state for one plugin.
func NewBinding(cfg Config) *Binding {
	b := &Binding{name: cfg.Name, version: cfg.Version, sink: cfg.Sink, relay: cfg.Relay}
	lg := cfg.Logger
	if lg == nil {
		lg = zap.NewNop()
	}
	b.log = lg.With(zap.String("plugin", cfg.Name), zap.String("version", cfg.Version))
	return b
}

// Logger is the plugin's logger, with its plugin and version fields.
func (b *Binding) Logger() *zap.Logger { return b.log }

// Stats returns a snapshot of the counters.
func (b *Binding) Stats() Stats {
	return Stats{
		EventsSent: b.sent.Load(), EventsRefused: b.refused.Load(),
		StaleLogs: b.staleLogs.Load(), StaleEvents: b.staleEvents.Load(),
		InvalidArgs: b.invalid.Load(), Panics: b.panics.Load(), DepthExceeded: b.deep.Load(),
	}
}

// initialPool is how many contexts each ring of a plugin starts with.
// Rotating through several delays the reuse of a context a plugin wrongly
// kept, so that its use is seen as stale rather than as a use of a later
// call. A power of two.
const initialPool = 8

// Call is one context and its argument buffer, held for one callback.
type Call struct {
	b      *Binding
	serial bool // from the serial ring: Release does not touch the pool
	idx    uint32
	addr   uintptr      // the ClawaContext
	ctx    *abi.Context // the same, as the Go mirror (C memory)
	args   *cmem.Block  // kept between calls, up to keepArgs bytes
	argBuf []byte       // args.Bytes(), or nil
	big    *cmem.Block  // a larger buffer for this call only
}

// keepArgs is the largest argument buffer a context keeps between calls.
const keepArgs = 64 << 10

// AcquireSerial takes the next context of the serial ring. The caller must
// guarantee that no two AcquireSerial calls of b overlap (the loader holds
// the plugin's lock) and must Release the context before the next one.
func (b *Binding) AcquireSerial() (*Call, error) {
	s := &b.serial
	c := s.ring[s.next&(initialPool-1)]
	if c == nil {
		return b.fillSerial()
	}
	s.next++
	return c, nil
}

// fillSerial makes the serial ring's contexts on first use.
func (b *Binding) fillSerial() (*Call, error) {
	s := &b.serial
	for i := range s.ring {
		idx, addr, err := newContext(b)
		if err != nil {
			return nil, err
		}
		s.ring[i] = &Call{b: b, serial: true, idx: idx, addr: addr, ctx: (*abi.Context)(foreign.Ptr(addr))}
	}
	return b.AcquireSerial()
}

// Acquire takes the least recently used free context of the shared pool,
// creating contexts if all are in use. Release gives it back.
func (b *Binding) Acquire() (*Call, error) {
	p := &b.pool
	p.mu.Lock()
	if p.n == 0 {
		if err := b.grow(); err != nil {
			p.mu.Unlock()
			return nil, err
		}
	}
	c := p.free[p.head]
	p.free[p.head] = nil
	p.head = (p.head + 1) % len(p.free)
	p.n--
	p.mu.Unlock()
	return c, nil
}

// grow adds contexts; called with pool.mu held and no context free.
func (b *Binding) grow() error {
	p := &b.pool
	add := len(p.free)
	if add == 0 {
		add = initialPool
	}
	ring := make([]*Call, len(p.free)+add)
	for i := 0; i < add; i++ {
		idx, addr, err := newContext(b)
		if err != nil {
			return err
		}
		ring[i] = &Call{b: b, idx: idx, addr: addr, ctx: (*abi.Context)(foreign.Ptr(addr))}
	}
	p.free, p.head, p.n = ring, 0, add
	return nil
}

// Release marks the context stale and returns it to its ring or pool.
func (c *Call) Release() {
	c.ctx.Inner = staleHandle(c.idx)
	if c.big != nil || !c.serial {
		c.releaseSlow()
	}
}

func (c *Call) releaseSlow() {
	if c.big != nil {
		_ = c.big.Free()
		c.big = nil
	}
	if c.serial {
		return
	}
	p := &c.b.pool
	p.mu.Lock()
	p.free[(p.head+p.n)%len(p.free)] = c
	p.n++
	p.mu.Unlock()
}

// Addr is the ClawaContext's address, to pass to the callback.
func (c *Call) Addr() uintptr { return c.addr }

// Begin marks the context live: from now on its log and send_event work.
// The plain store is seen by the plugin because the call into C follows.
func (c *Call) Begin() { c.ctx.Inner = liveHandle(c.idx) }

// buffer returns n bytes of C memory for this call's arguments.
func (c *Call) buffer(n int) ([]byte, error) {
	if n <= len(c.argBuf) {
		return c.argBuf, nil
	}
	return c.growBuffer(n)
}

func (c *Call) growBuffer(n int) ([]byte, error) {
	blk, err := cmem.Alloc(n)
	if err != nil {
		return nil, err
	}
	if n > keepArgs {
		c.big = blk // freed by Release
		return blk.Bytes(), nil
	}
	if c.args != nil {
		_ = c.args.Free()
	}
	c.args, c.argBuf = blk, blk.Bytes()
	return c.argBuf, nil
}

// Stage1 copies s into the call's C memory, followed by one spare byte for
// its terminator, and returns its address. The callers in package vtable
// check for an interior NUL and write the terminator inside the call into
// C: one scan there is cheaper than one here.
func (c *Call) Stage1(s string) (uintptr, error) {
	buf, err := c.buffer(len(s) + 1)
	if err != nil {
		return 0, err
	}
	copy(buf, s)
	buf[len(s)] = 0xFF
	return cmemAddr(buf), nil
}

// Stage3 lays out s0, s1 and s2 in the call's C memory, each followed by
// one separator byte (0xFF, never NUL, so the check sees only the strings'
// own bytes), and returns the block's address. See Stage1.
func (c *Call) Stage3(s0, s1, s2 string) (uintptr, error) {
	n0, n1, n2 := len(s0), len(s1), len(s2)
	buf, err := c.buffer(n0 + n1 + n2 + 3)
	if err != nil {
		return 0, err
	}
	copy(buf, s0)
	buf[n0] = 0xFF
	copy(buf[n0+1:], s1)
	buf[n0+1+n1] = 0xFF
	copy(buf[n0+n1+2:], s2)
	buf[n0+n1+n2+2] = 0xFF
	return cmemAddr(buf), nil
}

// sinkCode maps the sink's answer to the code the plugin sees.
func sinkCode(err error) abi.Code {
	if err == nil {
		return abi.None
	}
	var c abi.Code
	if errors.As(err, &c) && c.Known() && c != abi.None {
		return c
	}
	return abi.DaemonError
}

// enterSink records that thread tid runs b's sink; leaveSink undoes it.
func (b *Binding) enterSink(tid uint64) {
	b.sinks.mu.Lock()
	if b.sinks.threads == nil {
		b.sinks.threads = make(map[uint64]int)
	}
	b.sinks.threads[tid]++
	b.sinks.mu.Unlock()
}

func (b *Binding) leaveSink(tid uint64) {
	b.sinks.mu.Lock()
	if b.sinks.threads[tid]--; b.sinks.threads[tid] == 0 {
		delete(b.sinks.threads, tid)
	}
	b.sinks.mu.Unlock()
}

// InSinkOn reports whether thread tid is inside this plugin's send_event,
// running the sink: a call into the plugin from there is a re-entry.
func (b *Binding) InSinkOn(tid uint64) bool {
	b.sinks.mu.Lock()
	defer b.sinks.mu.Unlock()
	return b.sinks.threads[tid] > 0
}

func (b *Binding) String() string { return fmt.Sprintf("%s %s", b.name, b.version) }

// cmemAddr is the address of a view of C memory (never a Go allocation).
func cmemAddr(b []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(b))) }
