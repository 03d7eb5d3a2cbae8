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
	ctx := (*abi.Context)(foreign.Ptr(c.Addr()))
	assert.Equal(t, logFn, ctx.Log)
	assert.Equal(t, sendEventFn, ctx.SendEvent)
	assert.NotZero(t, ctx.Log)
	assert.Equal(t, [abi.Reserved]uintptr{}, ctx.Reserved)
	assert.Zero(t, ctx.Inner&1, "stale until Begin")
	c.Begin(context.Background())
	assert.Equal(t, uintptr(1), ctx.Inner&1)
	c.Release()
	assert.Zero(t, ctx.Inner&1)
}

// The serial ring hands out initialPool distinct contexts in turn; the
// shared pool reuses the least recently released first.
func TestContextRotation(t *testing.T) {
	b := NewBinding(Config{Name: "p", Version: "1"})
	seen := map[uintptr]int{}
	var order []uintptr
	for i := 0; i < 2*initialPool; i++ {
		c, err := b.AcquireSerial()
		require.NoError(t, err)
		seen[c.Addr()]++
		order = append(order, c.Addr())
		c.Release()
	}
	assert.Len(t, seen, initialPool)
	assert.Equal(t, order[:initialPool], order[initialPool:])

	var held []*Slot
	for i := 0; i < initialPool+3; i++ { // more than the pool: it grows
		c, err := b.Acquire()
		require.NoError(t, err)
		held = append(held, c)
	}
	addrs := map[uintptr]bool{}
	for _, c := range held {
		addrs[c.Addr()] = true
	}
	assert.Len(t, addrs, initialPool+3, "contexts in use are never shared")
	for _, c := range held {
		c.Release()
	}
	// A released context goes to the back: a whole cycle of the pool
	// passes before it is handed out again.
	var cycle []uintptr
	for i := 0; i < 2*(2*initialPool); i++ {
		c, err := b.Acquire()
		require.NoError(t, err)
		cycle = append(cycle, c.Addr())
		c.Release()
	}
	n := 2 * initialPool // the pool grew once, doubling
	assert.Equal(t, cycle[:n], cycle[n:])
	distinct := map[uintptr]bool{}
	for _, a := range cycle[:n] {
		distinct[a] = true
	}
	assert.Len(t, distinct, n)
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

	// Arguments over keepArgs get a buffer of their own for this call.
	big := strings.Repeat("x", keepArgs*2)
	base, err = c.Stage3("s", "t", big)
	require.NoError(t, err)
	assert.True(t, string(foreign.Bytes(base+4, len(big))) == big)
	assert.NotNil(t, c.big)
	c.Release()
	assert.Nil(t, c.big, "freed when the call ends")
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
	blk, err := cmem.Alloc(abi.SizeofContext)
	require.NoError(t, err)
	defer blk.Free()
	copy(blk.Bytes(), unsafe.Slice((*byte)(foreign.Ptr(c.Addr())), abi.SizeofContext))
	before := InvalidContexts()
	hostLog(blk.Addr(), 2, msg)
	assert.Equal(t, int32(abi.DaemonError), hostSendEvent(blk.Addr(), cstr(t, "m"), cstr(t, "{}")))
	hostLog(0, 2, msg)
	assert.Equal(t, before+3, InvalidContexts())
	assert.Equal(t, 1, logs.Len())

	assert.Equal(t, int32(abi.None), hostSendEvent(c.Addr(), cstr(t, "m"), cstr(t, " {\"a\":[1]}")))
	c.Release()
	hostLog(c.Addr(), 2, msg)
	assert.Equal(t, int32(abi.DaemonError), hostSendEvent(c.Addr(), cstr(t, "m"), cstr(t, "{}")))
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
	long := "a" + strings.Repeat("é", MaxLogMessage) // 2 bytes a rune: the bound falls mid-rune
	hostLog(c.Addr(), 2, cstr(t, long))
	e := logs.TakeAll()[0]
	assert.Equal(t, true, e.ContextMap()["truncated"])
	want := "a" + strings.Repeat("é", MaxLogMessage/2-1)
	assert.True(t, e.Message == want, "cut at a rune boundary: got %d bytes, want %d", len(e.Message), len(want))
	for lvl, want := range map[uint8]zapcore.Level{0: zapcore.DebugLevel, 1: zapcore.DebugLevel, 2: zapcore.InfoLevel, 3: zapcore.WarnLevel, 4: zapcore.ErrorLevel, 5: zapcore.WarnLevel, 255: zapcore.WarnLevel} {
		assert.Equal(t, want, ZapLevel(lvl))
	}
}

func TestIsJSONObject(t *testing.T) {
	for s, want := range map[string]bool{`{}`: true, ` {"a":1} `: true, "\n{\"a\":{}}": true, `[]`: false,
		`"s"`: false, `1`: false, `{`: false, `{} {}`: false, ``: false, `null`: false} {
		assert.Equal(t, want, IsJSONObject(s), s)
	}
}
