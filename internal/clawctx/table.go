package clawctx

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/clawd-go/clawd/internal/cabi"
	"github.com/clawd-go/clawd/internal/cmem"
	"github.com/clawd-go/clawd/internal/foreign"
	"github.com/clawd-go/clawd/internal/hook"
)

// chunkLen is how many contexts are made at a time: one chunk, contiguous
// in C memory, all for one plugin.
const chunkLen = 64

// chunk is chunkLen contexts of one plugin and their Go side. It is created
// once and never removed or given to another plugin: its memory may still
// be in a plugin's hands.
type chunk struct {
	b     *Binding
	base  uintptr // context i is at base + i*cabi.SizeofContext
	first uint32  // the table index of context 0
	// goctx[i] is the context.Context of the call context i serves, handed
	// to the sink of the events sent during it. Written before the call
	// into C (cgo calls and callbacks order it for the race detector, the
	// call itself for the plugin's threads) and not cleared after it: a
	// plugin thread that reads it just as the call ends must not meet a
	// write, and the next write is a whole ring of calls later. It keeps the
	// last call's context reachable until then.
	goctx [chunkLen]context.Context
	// caller[i] is the thread that made the call context i serves, noted
	// by builds that cannot mark it in C (noteCaller).
	caller [chunkLen]atomic.Uint64
	// hook[i] is the verdict state of the Hook call context i serves, nil
	// for every other call (SetHook).
	hook [chunkLen]atomic.Pointer[hook.Frame]
}

// table maps a context's index to its chunk. Lookups are lock-free: the
// chunk list is republished whole when it grows, and chunks never move.
var table struct {
	mu     sync.Mutex // serializes growth
	chunks atomic.Pointer[[]*chunk]
	arena  []byte // the rest of the current block of context memory
}

// newChunk makes chunkLen stale contexts for b in C memory and registers
// them.
func newChunk(b *Binding) (*chunk, error) {
	const size = chunkLen * cabi.SizeofContext
	table.mu.Lock()
	defer table.mu.Unlock()
	mem, err := arena(size)
	if err != nil {
		return nil, err
	}

	var chunks []*chunk
	if p := table.chunks.Load(); p != nil {
		chunks = *p
	}
	ch := &chunk{b: b, base: cmemAddr(mem), first: uint32(len(chunks) * chunkLen)}
	for i := uint32(0); i < chunkLen; i++ {
		c := ch.at(i)
		c.Inner = staleHandle(ch.first + i)
		c.SendEvent = sendEventFn
		c.Log = logFn
	}
	// Readers see only up to the length they loaded: appending in place
	// writes past it, and a new backing array is a copy.
	grown := append(chunks, ch)
	table.chunks.Store(&grown)
	return ch, nil
}

// arena cuts size bytes, rounded up to a cache line, from the current block
// of context memory, which is never freed: contexts and cells outlive their
// plugin. Called with table.mu held.
func arena(size int) ([]byte, error) {
	size = (size + 63) &^ 63
	if len(table.arena) < size {
		blk, err := cmem.Alloc(64 << 10)
		if err != nil {
			return nil, fmt.Errorf("allocating context memory: %w", err)
		}
		table.arena = blk.Bytes()
	}
	mem := table.arena[:size:size]
	table.arena = table.arena[size:]
	return mem, nil
}

// at is context i of the chunk, as the Go mirror of C memory.
func (ch *chunk) at(i uint32) *cabi.Context {
	return (*cabi.Context)(foreign.Ptr(ch.base + uintptr(i)*cabi.SizeofContext))
}

func liveHandle(idx uint32) uintptr  { return uintptr(idx+1)<<1 | 1 }
func staleHandle(idx uint32) uintptr { return uintptr(idx+1) << 1 }

// resolve finds the chunk and index of the context at addr and whether the
// call it was last handed out for is still running. ok is false for a NULL
// or forged context.
func resolve(addr uintptr) (ch *chunk, i uint32, live, ok bool) {
	if addr == 0 {
		return nil, 0, false, false
	}
	// The plugin reads and we write _inner from different threads; an
	// aligned word load is atomic on every supported target.
	h := atomic.LoadUintptr((*uintptr)(foreign.Ptr(addr)))
	if h < 2 {
		return nil, 0, false, false
	}
	idx := h>>1 - 1
	p := table.chunks.Load()
	if p == nil || idx/chunkLen >= uintptr(len(*p)) {
		return nil, 0, false, false
	}
	ch, i = (*p)[idx/chunkLen], uint32(idx%chunkLen)
	if ch.base+uintptr(i)*cabi.SizeofContext != addr { // a context copied elsewhere, or garbage
		return nil, 0, false, false
	}
	return ch, i, h&1 == 1, true
}
