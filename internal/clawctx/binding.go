package clawctx

import (
	"context"
	"fmt"
	"sync"
	"unsafe"

	"go.uber.org/zap"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/internal/boundary"
	"github.com/clawd-go/clawd/internal/cabi"
	"github.com/clawd-go/clawd/internal/cmem"
	"github.com/clawd-go/clawd/internal/foreign"
	"github.com/clawd-go/clawd/internal/reentry"
	"github.com/clawd-go/clawd/internal/threadid"
)

// MaxDepth bounds nested send_event calls on one thread. The other bounds
// are the boundary's (boundary.MaxLogMessage, MaxMethod, MaxParams).
const MaxDepth = reentry.MaxDepth

// Config describes the plugin a Binding serves.
type Config struct {
	Name    string
	Version string
	Library string      // the library's own name where it differs from Name (boundary.Identity)
	Logger  *zap.Logger // nil logs nothing
	Sink    clawd.Sink  // nil refuses every event with DaemonError
	Relay   bool        // network.relay granted: send_event allowed
	// ForwardHooks sends hook events from a live context to the sink as
	// they are (a sandbox child: its host validates them and decides).
	ForwardHooks bool
}

// Binding is the host-side state of one open plugin: what its contexts
// lead to. It is safe for use from any thread.
type Binding struct {
	name, version string
	log           *zap.Logger
	sink          clawd.Sink
	relay         bool
	forwardHooks  bool
	refusals      bool // the sink is told of refused events (boundary.Refusals)
	owner         *reentry.Owner

	counts boundary.Counters

	// serial serves the calls that the caller serializes (AcquireSerial):
	// no lock, the caller's own exclusion covers it.
	serial struct {
		slot Slot       // the one call record: serialized calls never overlap
		ring []*chunk   // up to RingChunks chunks, in the order made (the cell has their addresses)
		cell *Cell      // the ring's cursor and the lock, in C memory; nil if none could be made
		lock SerialLock // over cell
	}

	// pool serves all other calls: concurrent plugins, and calls that
	// re-enter a serialized plugin from its own send_event.
	pool struct {
		mu      sync.Mutex
		slots   []*Slot  // free call records, last released first
		queue   []ctxRef // released contexts, a FIFO ring: oldest first
		head, n int
		fresh   *chunk // the newest chunk; contexts from next on never used
		next    uint32
	}
}

// NewBinding returns the state for one plugin.
func NewBinding(cfg Config) *Binding {
	b := &Binding{name: cfg.Name, version: cfg.Version, sink: cfg.Sink, relay: cfg.Relay, forwardHooks: cfg.ForwardHooks,
		owner: &reentry.Owner{Name: cfg.Name}}
	_, b.refusals = cfg.Sink.(boundary.Refusals)
	lg := cfg.Logger
	if lg == nil {
		lg = zap.NewNop()
	}
	b.log = boundary.Identity{Name: cfg.Name, Version: cfg.Version, Library: cfg.Library}.Logger(lg)
	b.serial.slot = Slot{b: b, serial: true}
	b.serial.cell, _ = newCell() // nil: CellAddr is 0, and the caller refuses the plugin
	b.serial.lock = SerialLock{c: b.serial.cell, wake: make(chan struct{}, 1)}
	b.pool.next = chunkLen
	return b
}

// Logger is the plugin's logger, with its plugin and version fields.
func (b *Binding) Logger() *zap.Logger { return b.log }

// Owner is the plugin's identity in the re-entry record: its sink frames
// carry it, and the caller's reentry.Mutex should too.
func (b *Binding) Owner() *reentry.Owner { return b.owner }

// Stats returns a snapshot of the counters.
func (b *Binding) Stats() clawd.Stats {
	return b.counts.Snapshot()
}

// quarantine is how many calls a ring serves before it hands a context out
// again: the serial ring has this many contexts, and the pool reuses a
// released context only once quarantine-1 others were released after it. A
// plugin thread that uses a kept context at a random moment of continuous
// calls finds it live for a later call about once in quarantine uses. A
// multiple of chunkLen.
const quarantine = 4096

// ctxRef names one context: its chunk and index there.
type ctxRef struct {
	ch *chunk
	i  uint32
}

// Slot is the record of one callback: the context it runs with and its
// argument buffer.
type Slot struct {
	b      *Binding
	serial bool // the serial ring's record: Release does not touch the pool
	// The context of the call: context i of ch, at addr, table index idx.
	ch     *chunk
	i      uint32
	idx    uint32
	addr   uintptr
	args   *cmem.Block // kept between calls, up to keepArgs bytes
	argBuf []byte      // args.Bytes(), or nil
	// big is a larger buffer, kept while the calls keep needing it: the
	// first call that fits argBuf frees it. Mapping and unmapping a fresh
	// block costs more than the copy (about 0.5 ms for 1 MiB, 12 times
	// the copy), and a plugin fed large inputs is usually fed them again.
	big *cmem.Block
}

// keepArgs is the largest argument buffer a call record keeps whatever the
// calls need.
const keepArgs = 64 << 10

// AcquireSerial takes the next context of the serial ring. The caller must
// guarantee that no two AcquireSerial calls of b overlap, nor one with a
// shim's call (the loader holds the plugin's lock, the cell's), and must
// Release the context before the next one. The ring's cursor is in the
// cell: the shims move it too.
func (b *Binding) AcquireSerial() (*Slot, error) {
	s := &b.serial
	c := s.cell
	if c == nil {
		return nil, errNoCell
	}
	if c.I == chunkLen-1 {
		if err := b.nextSerialChunk(); err != nil {
			return nil, err
		}
	} else {
		c.I++
		c.Idx++
		c.Ctx += cabi.SizeofContext
	}
	sl := &s.slot
	sl.ch, sl.i, sl.idx, sl.addr = s.ring[c.Chunk], c.I, c.Idx, c.Ctx
	return sl, nil
}

// nextSerialChunk moves the serial ring to its next chunk, making it while
// the ring is shorter than the quarantine: contexts are made as calls come,
// so a plugin that makes few calls has few. The shims move to a chunk
// already made themselves, and leave the making to this.
func (b *Binding) nextSerialChunk() error {
	s := &b.serial
	c := s.cell
	n := c.Chunk + 1 // noChunk + 1 is 0
	if n == c.N {
		if c.N < RingChunks {
			ch, err := newChunk(b)
			if err != nil {
				return err
			}
			s.ring = append(s.ring, ch)
			c.Bases[c.N], c.Firsts[c.N] = ch.base, ch.first
			c.N++
		} else {
			n = 0
		}
	}
	c.Chunk, c.I, c.Idx, c.Ctx = n, 0, c.Firsts[n], c.Bases[n]
	return nil
}

// use points c at context r.
func (c *Slot) use(r ctxRef) {
	c.ch, c.i = r.ch, r.i
	c.idx = r.ch.first + r.i
	c.addr = r.ch.base + uintptr(r.i)*cabi.SizeofContext
}

// Acquire takes a context of the shared pool: the least recently released
// if at least quarantine-1 others were released after it, a new one
// otherwise. Release gives it back.
func (b *Binding) Acquire() (*Slot, error) {
	p := &b.pool
	p.mu.Lock()
	defer p.mu.Unlock()
	var r ctxRef
	if p.n >= quarantine {
		r = p.queue[p.head]
		p.queue[p.head] = ctxRef{}
		p.head = (p.head + 1) % len(p.queue)
		p.n--
	} else {
		if p.next == chunkLen {
			ch, err := newChunk(b)
			if err != nil {
				return nil, err
			}
			p.fresh, p.next = ch, 0
		}
		r = ctxRef{p.fresh, p.next}
		p.next++
	}
	var c *Slot
	if k := len(p.slots); k > 0 {
		c = p.slots[k-1]
		p.slots[k-1] = nil
		p.slots = p.slots[:k-1]
	} else {
		c = &Slot{b: b}
	}
	c.use(r)
	return c, nil
}

// Release marks the context stale and returns it to its ring or pool.
func (c *Slot) Release() {
	c.ctx().Inner = staleHandle(c.idx)
	if !c.serial {
		c.releaseSlow()
	}
}

func (c *Slot) releaseSlow() {
	p := &c.b.pool
	p.mu.Lock()
	if p.n == len(p.queue) {
		q := make([]ctxRef, max(2*len(p.queue), chunkLen))
		for k := 0; k < p.n; k++ {
			q[k] = p.queue[(p.head+k)%len(p.queue)]
		}
		p.queue, p.head = q, 0
	}
	p.queue[(p.head+p.n)%len(p.queue)] = ctxRef{c.ch, c.i}
	p.n++
	p.slots = append(p.slots, c)
	p.mu.Unlock()
}

// Addr is the ClawaContext's address, to pass to the callback.
func (c *Slot) Addr() uintptr { return c.addr }

// ctx is the call's ClawaContext, as the Go mirror of C memory.
func (c *Slot) ctx() *cabi.Context { return (*cabi.Context)(foreign.Ptr(c.addr)) }

// Begin marks the context live for the call that ctx belongs to: from now
// on its log and send_event work. The plain store is seen by the plugin
// because the call into C follows.
func (c *Slot) Begin(ctx context.Context) {
	c.ch.goctx[c.i] = ctx
	c.noteCaller()
	c.ctx().Inner = liveHandle(c.idx)
}

// callCtx is the context.Context of the call context i of ch serves;
// Background if none.
func (ch *chunk) callCtx(i uint32) context.Context {
	if ctx := ch.goctx[i%chunkLen]; ctx != nil {
		return ctx
	}
	return context.Background()
}

// buffer returns n bytes of C memory for this call's arguments.
func (c *Slot) buffer(n int) ([]byte, error) {
	if n <= len(c.argBuf) && c.big == nil {
		return c.argBuf, nil
	}
	b, err := c.growBuffer(n)
	if c.serial {
		c.publish()
	}
	return b, err
}

// publish tells the shims where the serial calls' argument buffer is: none
// while a big one is kept, so that the next call comes here and frees it
// when it no longer needs it.
func (c *Slot) publish() {
	cell := c.b.serial.cell
	if c.big != nil || c.argBuf == nil {
		cell.Buf, cell.BufLen = 0, 0
		return
	}
	cell.Buf, cell.BufLen = cmemAddr(c.argBuf), uintptr(len(c.argBuf))
}

func (c *Slot) growBuffer(n int) ([]byte, error) {
	if c.big != nil {
		if b := c.big.Bytes(); n > keepArgs && n <= len(b) {
			return b, nil
		}
		_ = c.big.Free() // too small, or no longer needed
		c.big = nil
		if n <= len(c.argBuf) {
			return c.argBuf, nil
		}
	}
	blk, err := cmem.Alloc(n)
	if err != nil {
		return nil, err
	}
	if n > keepArgs {
		c.big = blk
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

// isCaller reports whether this thread made the call context i serves, as
// noteCaller recorded it.
func (ch *chunk) isCaller(i uint32) bool {
	t := ch.caller[i%chunkLen].Load()
	return t != 0 && t == threadid.Current()
}

// NeedsCallContext reports whether a callback may hand the call's
// context.Context to the host: to the sink (network.relay, forwarded
// hooks) or to a sink told of refusals. A call that needs it is made the
// Go way, which records the context (and, without cgo, the calling
// thread); one that does not may be made whole in C.
func (b *Binding) NeedsCallContext() bool { return b.relay || b.forwardHooks || b.refusals }
