package clawctx

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"unsafe"

	"go.uber.org/zap"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/internal/cmem"
	"github.com/clawd-go/clawd/internal/reentry"
)

// Bounds on what a plugin may pass to the host.
const (
	MaxLogMessage = 64 << 10         // longer lines are logged truncated
	MaxMethod     = 256              // send_event method, bytes with its NUL
	MaxParams     = 16 << 20         // send_event params_json, bytes with its NUL
	MaxDepth      = reentry.MaxDepth // nested send_event calls on one thread
)

// Config describes the plugin a Binding serves.
type Config struct {
	Name    string
	Version string
	Logger  *zap.Logger // nil logs nothing
	Sink    clawd.Sink  // nil refuses every event with DaemonError
	Relay   bool        // network.relay granted: send_event allowed
}

// Binding is the host-side state of one open plugin: what its contexts
// lead to. It is safe for use from any thread.
type Binding struct {
	name, version string
	log           *zap.Logger
	sink          clawd.Sink
	relay         bool
	owner         *reentry.Owner

	sent, refused, staleLogs, staleEvents, invalid, panics, deep atomic.Uint64

	// serial is the ring of contexts for calls that the caller serializes
	// (AcquireSerial): no lock, the caller's own exclusion covers it.
	serial struct {
		ring [initialPool]*Slot
		next uint32
	}

	// pool holds the contexts of all other calls: concurrent plugins, and
	// calls that re-enter a serialized plugin from its own send_event.
	pool struct {
		mu   sync.Mutex
		free []*Slot // FIFO ring: least recently used first
		head int
		n    int
	}
}

// NewBinding returns the state for one plugin.
func NewBinding(cfg Config) *Binding {
	b := &Binding{name: cfg.Name, version: cfg.Version, sink: cfg.Sink, relay: cfg.Relay,
		owner: &reentry.Owner{Name: cfg.Name}}
	lg := cfg.Logger
	if lg == nil {
		lg = zap.NewNop()
	}
	b.log = lg.With(zap.String("plugin", cfg.Name), zap.String("version", cfg.Version))
	return b
}

// Logger is the plugin's logger, with its plugin and version fields.
func (b *Binding) Logger() *zap.Logger { return b.log }

// Owner is the plugin's identity in the re-entry record: its sink frames
// carry it, and the caller's reentry.Mutex should too.
func (b *Binding) Owner() *reentry.Owner { return b.owner }

// Stats returns a snapshot of the counters.
func (b *Binding) Stats() clawd.Stats {
	return clawd.Stats{
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

// Slot is one context and its argument buffer, held for one callback.
type Slot struct {
	b      *Binding
	serial bool // from the serial ring: Release does not touch the pool
	idx    uint32
	addr   uintptr      // the ClawaContext
	ctx    *abi.Context // the same, as the Go mirror (C memory)
	args   *cmem.Block  // kept between calls, up to keepArgs bytes
	argBuf []byte       // args.Bytes(), or nil
	big    *cmem.Block  // a larger buffer for this call only
	// goctx is the context.Context of the call in progress, handed to the
	// sink of the events sent during it. Written before the call into C
	// and cleared after it; cgo calls and callbacks order it for the race
	// detector, the call itself for the plugin's threads.
	goctx context.Context
}

// keepArgs is the largest argument buffer a context keeps between calls.
const keepArgs = 64 << 10

// AcquireSerial takes the next context of the serial ring. The caller must
// guarantee that no two AcquireSerial calls of b overlap (the loader holds
// the plugin's lock) and must Release the context before the next one.
func (b *Binding) AcquireSerial() (*Slot, error) {
	s := &b.serial
	c := s.ring[s.next&(initialPool-1)]
	if c == nil {
		return b.fillSerial()
	}
	s.next++
	return c, nil
}

// fillSerial makes the serial ring's contexts on first use.
func (b *Binding) fillSerial() (*Slot, error) {
	s := &b.serial
	for i := range s.ring {
		c, err := newSlot(b, true)
		if err != nil {
			return nil, err
		}
		s.ring[i] = c
	}
	return b.AcquireSerial()
}

// Acquire takes the least recently used free context of the shared pool,
// creating contexts if all are in use. Release gives it back.
func (b *Binding) Acquire() (*Slot, error) {
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
	ring := make([]*Slot, len(p.free)+add)
	for i := 0; i < add; i++ {
		c, err := newSlot(b, false)
		if err != nil {
			return err
		}
		ring[i] = c
	}
	p.free, p.head, p.n = ring, 0, add
	return nil
}

// Release marks the context stale and returns it to its ring or pool.
func (c *Slot) Release() {
	c.ctx.Inner = staleHandle(c.idx)
	c.goctx = nil
	if c.big != nil || !c.serial {
		c.releaseSlow()
	}
}

func (c *Slot) releaseSlow() {
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
func (c *Slot) Addr() uintptr { return c.addr }

// Begin marks the context live for the call that ctx belongs to: from now
// on its log and send_event work. The plain store is seen by the plugin
// because the call into C follows.
func (c *Slot) Begin(ctx context.Context) {
	c.goctx = ctx
	c.ctx.Inner = liveHandle(c.idx)
}

// callCtx is the context of the call the slot serves; Background if none.
func (c *Slot) callCtx() context.Context {
	if ctx := c.goctx; ctx != nil {
		return ctx
	}
	return context.Background()
}

// buffer returns n bytes of C memory for this call's arguments.
func (c *Slot) buffer(n int) ([]byte, error) {
	if n <= len(c.argBuf) {
		return c.argBuf, nil
	}
	return c.growBuffer(n)
}

func (c *Slot) growBuffer(n int) ([]byte, error) {
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
func (c *Slot) Stage1(s string) (uintptr, error) {
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
func (c *Slot) Stage3(s0, s1, s2 string) (uintptr, error) {
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

func (b *Binding) String() string { return fmt.Sprintf("%s %s", b.name, b.version) }

// cmemAddr is the address of a view of C memory (never a Go allocation).
func cmemAddr(b []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(b))) }
