package clawctx

import (
	"context"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/internal/boundary"
	"github.com/clawd-go/clawd/internal/cabi"
	"github.com/clawd-go/clawd/internal/cmem"
	"github.com/clawd-go/clawd/internal/foreign"
)

func cstr(t *testing.T, s string) uintptr {
	blk, err := cmem.Alloc(len(s) + 1)
	require.NoError(t, err)
	t.Cleanup(func() { _ = blk.Free() })
	copy(blk.Bytes(), s)
	return blk.Addr()
}

func TestContextMemoryLayout(t *testing.T) {
	b := NewBinding(Config{Name: "p", Version: "1"})
	c, err := b.AcquireSerial()
	require.NoError(t, err)
	ctx := (*cabi.Context)(foreign.Ptr(c.Addr()))
	assert.Equal(t, logFn, ctx.Log)
	assert.Equal(t, sendEventFn, ctx.SendEvent)
	assert.NotZero(t, ctx.Log)
	assert.Equal(t, [cabi.Reserved]uintptr{}, ctx.Reserved)
	assert.Zero(t, ctx.Inner&1, "stale until Begin")
	c.Begin(context.Background())
	assert.Equal(t, uintptr(1), ctx.Inner&1)
	c.Release()
	assert.Zero(t, ctx.Inner&1)
}

// The serial ring hands out quarantine distinct contexts in turn, made as
// the calls come, then starts again from its first.
func TestSerialRingQuarantine(t *testing.T) {
	b := NewBinding(Config{Name: "p", Version: "1"})
	var order []uintptr
	for i := 0; i < 2*quarantine+1; i++ {
		c, err := b.AcquireSerial()
		require.NoError(t, err)
		order = append(order, c.Addr())
		if i < quarantine {
			assert.Len(t, b.serial.ring, i/chunkLen+1, "contexts are made a chunk at a time, as calls come")
		}
		c.Release()
	}
	distinct := map[uintptr]bool{}
	for _, a := range order {
		distinct[a] = true
	}
	assert.Len(t, distinct, quarantine)
	assert.Equal(t, order[:quarantine], order[quarantine:2*quarantine])
	assert.Equal(t, order[0], order[2*quarantine])
}

// The pool gives out a released context again only after quarantine-1
// others were released, and contexts in use are never shared.
func TestPoolQuarantine(t *testing.T) {
	b := NewBinding(Config{Name: "p", Version: "1"})
	const held = 100
	var hold []*Slot
	inUse := map[uintptr]bool{}
	for i := 0; i < held; i++ {
		c, err := b.Acquire()
		require.NoError(t, err)
		require.False(t, inUse[c.Addr()], "a context in use is handed out again")
		inUse[c.Addr()] = true
		hold = append(hold, c)
	}
	releasedAt := map[uintptr]int{} // context -> release count when it was released
	released := 0
	release := func(c *Slot) {
		releasedAt[c.Addr()] = released
		released++
		c.Release()
	}
	for _, c := range hold {
		release(c)
	}
	minGap := -1
	for i := 0; i < 3*quarantine; i++ {
		c, err := b.Acquire()
		require.NoError(t, err)
		if at, ok := releasedAt[c.Addr()]; ok {
			if gap := released - at - 1; minGap < 0 || gap < minGap {
				minGap = gap
			}
		}
		release(c)
	}
	assert.Equal(t, quarantine-1, minGap, "others released between a context's release and its reuse")
	// The held ones came back before the pool was full: no more than the
	// quarantine was made.
	assert.Len(t, releasedAt, quarantine)

	// Nothing of one plugin's memory is another's.
	other := NewBinding(Config{Name: "q", Version: "1"})
	for i := 0; i < 2*quarantine; i++ {
		c, err := other.Acquire()
		require.NoError(t, err)
		_, mine := releasedAt[c.Addr()]
		require.False(t, mine)
		c.Release()
		s, err := other.AcquireSerial()
		require.NoError(t, err)
		_, mine = releasedAt[s.Addr()]
		require.False(t, mine)
		s.Release()
	}
}

// A kept context is stale for its own plugin wherever the plugin's calls
// have moved on, and live again only while a later call reuses it.
func TestKeptContextStaysItsPlugins(t *testing.T) {
	b := NewBinding(Config{Name: "p", Version: "1", Relay: true,
		Sink: clawd.SinkFunc(func(context.Context, clawd.Event) error { return nil })})
	c, err := b.AcquireSerial()
	require.NoError(t, err)
	kept := c.Addr()
	c.Begin(context.Background())
	c.Release()
	m, p := cstr(t, "m"), cstr(t, "{}")
	before := InvalidContexts()
	for i := 1; i < quarantine; i++ {
		c, err := b.AcquireSerial()
		require.NoError(t, err)
		require.NotEqual(t, kept, c.Addr())
		c.Begin(context.Background())
		require.Equal(t, int32(abi.DaemonError), hostSendEvent(kept, m, p, 0))
		require.Equal(t, int32(abi.None), hostSendEvent(c.Addr(), m, p, 0))
		c.Release()
	}
	c, err = b.AcquireSerial()
	require.NoError(t, err)
	require.Equal(t, kept, c.Addr(), "after a whole ring")
	c.Begin(context.Background())
	assert.Equal(t, int32(abi.None), hostSendEvent(kept, m, p, 0))
	c.Release()
	st := b.Stats()
	assert.Equal(t, uint64(quarantine-1), st.StaleEvents)
	assert.Equal(t, uint64(quarantine), st.EventsSent)
	assert.Equal(t, before, InvalidContexts())
}

func TestStaging(t *testing.T) {
	b := NewBinding(Config{Name: "p", Version: "1"})
	c, err := b.AcquireSerial()
	require.NoError(t, err)
	defer c.Release()
	base, err := c.Stage3("a", "", "héllo")
	require.NoError(t, err)
	assert.Equal(t, "a\xff\xffhéllo\xff", string(foreign.Bytes(base, len("a\xff\xffhéllo\xff"))),
		"each string is followed by a separator that is not NUL")
	base, err = c.Stage1("sid")
	require.NoError(t, err)
	assert.Equal(t, "sid\xff", string(foreign.Bytes(base, 4)))

	// Arguments over keepArgs get a buffer of their own, kept while the
	// calls keep needing it and freed by the first call that fits the
	// ordinary buffer.
	big := strings.Repeat("x", keepArgs*2)
	base, err = c.Stage3("s", "t", big)
	require.NoError(t, err)
	assert.True(t, string(foreign.Bytes(base+4, len(big))) == big)
	require.NotNil(t, c.big)
	kept := c.big
	c.Release()
	assert.Same(t, kept, c.big, "kept after the call")
	c2, err := b.AcquireSerial()
	require.NoError(t, err)
	base2, err := c2.Stage3("s", "t", big[:keepArgs+10])
	require.NoError(t, err)
	assert.Equal(t, base, base2, "a big call after a big call reuses its buffer")
	assert.True(t, string(foreign.Bytes(base2+4, keepArgs+10)) == big[:keepArgs+10])
	c2.Release()
	c3, err := b.AcquireSerial()
	require.NoError(t, err)
	base3, err := c3.Stage1("small")
	require.NoError(t, err)
	assert.Nil(t, c3.big, "freed by the first call that fits the ordinary buffer")
	assert.Equal(t, "small\xff", string(foreign.Bytes(base3, 6)))
	c3.Release()
}

func TestTrampolinesResolveOnlyTheirOwnContexts(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	b := NewBinding(Config{Name: "p", Version: "1", Logger: zap.New(core), Relay: true,
		Sink: clawd.SinkFunc(func(context.Context, clawd.Event) error { return nil })})
	c, err := b.AcquireSerial()
	require.NoError(t, err)
	c.Begin(context.Background())
	msg := cstr(t, "hello")
	hostLog(c.Addr(), 2, msg)
	require.Equal(t, 1, logs.Len())
	assert.Equal(t, map[string]any{"plugin": "p", "version": "1"}, logs.All()[0].ContextMap())

	// A copy of a live context elsewhere is not a context the host made.
	blk, err := cmem.Alloc(cabi.SizeofContext)
	require.NoError(t, err)
	defer blk.Free()
	copy(blk.Bytes(), unsafe.Slice((*byte)(foreign.Ptr(c.Addr())), cabi.SizeofContext))
	before := InvalidContexts()
	hostLog(blk.Addr(), 2, msg)
	assert.Equal(t, int32(abi.DaemonError), hostSendEvent(blk.Addr(), cstr(t, "m"), cstr(t, "{}"), 0))
	hostLog(0, 2, msg)
	assert.Equal(t, before+3, InvalidContexts())
	assert.Equal(t, 1, logs.Len())

	assert.Equal(t, int32(abi.None), hostSendEvent(c.Addr(), cstr(t, "m"), cstr(t, " {\"a\":[1]}"), 0))
	c.Release()
	hostLog(c.Addr(), 2, msg)
	assert.Equal(t, int32(abi.DaemonError), hostSendEvent(c.Addr(), cstr(t, "m"), cstr(t, "{}"), 0))
	st := b.Stats()
	assert.Equal(t, uint64(1), st.StaleLogs)
	assert.Equal(t, uint64(1), st.StaleEvents)
	assert.Equal(t, uint64(1), st.EventsSent)
}

func TestLogBoundsAndLevels(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	b := NewBinding(Config{Name: "p", Version: "1", Logger: zap.New(core)})
	c, _ := b.AcquireSerial()
	c.Begin(context.Background())
	defer c.Release()
	hostLog(c.Addr(), 1, 0) // debug is dropped by level before msg is read: no NULL warning
	assert.Equal(t, 0, logs.Len())
	long := "a" + strings.Repeat("é", boundary.MaxLogMessage) // 2 bytes a rune: the bound falls mid-rune
	hostLog(c.Addr(), 2, cstr(t, long))
	e := logs.TakeAll()[0]
	assert.Equal(t, true, e.ContextMap()["truncated"])
	want := "a" + strings.Repeat("é", boundary.MaxLogMessage/2-1)
	assert.True(t, e.Message == want, "cut at a rune boundary: got %d bytes, want %d", len(e.Message), len(want))
}
