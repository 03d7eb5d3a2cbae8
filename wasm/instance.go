package wasm

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental/table"
	"github.com/tetratelabs/wazero/sys"

	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/boundary"
	"github.com/clawd-go/clawd/internal/reentry"
	"github.com/clawd-go/clawd/internal/wasminterrupt"
)

// The wasm32 layout of the ABI structs (the Wasm32 column of the layout
// facts that include/layout_test.go checks).
const (
	sizeofPlugin  = 68
	sizeofContext = 44
	ctxSendEvent  = 4
	ctxLog        = 8
	plugName      = 4
	plugVersion   = 8
	plugCallbacks = 12
	plugReserved  = 36

	// ringSize contexts serve the calls in turn, so a context address
	// serves again only ringSize calls later: a plugin that keeps a
	// context sees it stale, not aliased to a later call's, for that long.
	ringSize   = 1024
	ctxStride  = 48
	maxDepth   = reentry.MaxDepth + 2 // nested calls: the sink refuses past MaxDepth
	arenaFirst = 4096                 // the first string arena of each depth
	maxArgs    = 1 << 30              // the arguments of one call, bytes in all
)

// instance is one instantiation of the module: what a fault discards.
// Guarded by the plugin's lock, like every call into it.
type instance struct {
	mod   api.Module
	mem   api.Memory
	flag  *interrupt                     // the instrumentation's globals (deadline.go); nil with deadlines off
	res   *reservation                   // mem's mapping, released at discard (memory.go); nil: a Go slice
	fns   [abi.NumCallbacks]api.Function // for calls at depth 0
	slots [abi.NumCallbacks]uint32       // table indices, for nested calls
	// nested[d-1] serves calls at depth d (a sink calling back in): a
	// wazero Function runs on a stack of its own and must not be entered
	// again while it runs. Resolved on first use.
	nested [maxDepth - 1]*[abi.NumCallbacks]api.Function
	alloc  api.Function
	free   api.Function
	// funcTable is the table the callbacks index: the module's first
	// table of functions (a module with externref tables may have it
	// at another index than 0).
	funcTable uint32

	ring     uint32 // ringSize contexts of ctxStride bytes
	ringNext uint32
	arenas   [maxDepth]struct{ ptr, cap uint32 }
	stacks   [maxDepth][4]uint64
	one      [1]uint64 // alloc's stack
	// glue is set while the host runs the guest's allocator: no context
	// is live then, so a hostile allocator cannot send an event whose sink
	// would enter the allocator again while it runs.
	glue *bool
}

// table is what the first instantiation read of the plugin's table.
type tableInfo struct {
	abiVersion uint32
	name       string
	version    string
	nameNull   bool
	has        [abi.NumCallbacks]bool
	warnings   []string
}

// instantiate makes a fresh instance: _initialize, clawd_plugin_init, the
// table read and checked, every callback slot resolved through the
// function table with its signature checked, the context ring placed.
// on_load is the caller's.
func (p *plugin) instantiate(ctx context.Context, s *slot) (*instance, *tableInfo, error) {
	prev := s.callCtx
	s.callCtx = ctx
	defer func() { s.callCtx = prev }()
	ictx, alloc := p.mems.allocator(ctx)
	// No guest code runs in InstantiateModule: the start section, if
	// any, is the rewriter's Start export, and the start functions are
	// called below, once the flag is armed.
	mod, err := p.rt.InstantiateModule(ictx, p.compiled,
		p.modCfg.WithStdout(s.stdout).WithStderr(s.stderr).WithNanosleep(s.nanosleep))
	if err != nil {
		p.mems.release(alloc.res)
		return nil, nil, clawerr.New(clawerr.OpenFailed, p.who(), "open", "instantiating the module", err)
	}
	in := &instance{mod: mod, mem: mod.Memory(), res: alloc.res, glue: &s.inGlue, funcTable: p.funcTable}
	p.track(s, in)
	fail := func(err error) (*instance, *tableInfo, error) {
		p.discard(in)
		return nil, nil, err
	}
	if !p.own.NoDeadlines {
		flag, ok1 := mod.ExportedGlobal(wasminterrupt.Flag).(api.MutableGlobal)
		countdown, ok2 := mod.ExportedGlobal(wasminterrupt.Countdown).(api.MutableGlobal)
		if !ok1 || !ok2 {
			return fail(clawerr.New(clawerr.OpenFailed, p.who(), "open", "the instrumented module lacks its interrupt globals", nil))
		}
		in.flag = &interrupt{flag: flag, countdown: countdown}
		dog.attach(&s.watch, in.flag)
	}
	for _, name := range []string{wasminterrupt.Start, "_initialize"} {
		f := mod.ExportedFunction(name)
		if f == nil {
			continue
		}
		if _, err := f.Call(ictx); err != nil {
			if ce := p.fault(s, "open", name, err); clawerr.CodeOf(ce) == clawerr.Timeout {
				return fail(clawerr.New(clawerr.Timeout, p.who(), "open", "instantiating the module ("+name+") took too long", err))
			}
			return fail(clawerr.New(clawerr.OpenFailed, p.who(), "open", "instantiating the module ("+name+")", err))
		}
	}
	if in.mem == nil {
		return fail(clawerr.New(clawerr.OpenFailed, p.who(), "open", "the module has no memory", nil))
	}
	in.alloc, in.free = mod.ExportedFunction(exportAlloc), mod.ExportedFunction(exportFree)

	var st [1]uint64
	if err := mod.ExportedFunction(abi.InitSymbol).CallWithStack(ctx, st[:]); err != nil {
		return fail(p.fault(s, "init", abi.InitSymbol, err))
	}
	addr := uint32(st[0])
	if addr == 0 {
		return fail(clawerr.New(clawerr.InitNull, p.who(), "init", abi.InitSymbol+" returned NULL", nil))
	}
	t, slots, err := p.readTable(in, addr)
	if err != nil {
		return fail(err)
	}
	for c := abi.Callback(0); c < abi.NumCallbacks; c++ {
		if slots[c] == 0 {
			continue
		}
		f, err := lookup(mod, p.funcTable, slots[c], slotParams[c], slotResults[c])
		if err != nil {
			return fail(clawerr.New(clawerr.ABIMismatch, p.who(), "read vtable", fmt.Sprintf(
				"%s is function table entry %d, not a function of type %s", c, slots[c], sig(slotParams[c], slotResults[c])), err))
		}
		in.fns[c] = f
	}
	in.slots = slots
	if err := p.placeContexts(ctx, s, in); err != nil {
		return fail(err)
	}
	return in, t, nil
}

// lookup resolves entry idx of table tbl as a function of the given type;
// wazero panics on a mismatch or an entry outside the table, recovered here.
func lookup(mod api.Module, tbl, idx uint32, params, results []api.ValueType) (f api.Function, err error) {
	defer func() {
		if r := recover(); r != nil {
			f, err = nil, fmt.Errorf("%v", r)
		}
	}()
	return table.LookupFunction(mod, tbl, idx, params, results), nil
}

// readTable copies the ClawaPlugin at addr out of linear memory (the
// wasm32 layout) and checks it by the one rule (boundary.CheckTable).
func (p *plugin) readTable(in *instance, addr uint32) (*tableInfo, [abi.NumCallbacks]uint32, error) {
	var slots [abi.NumCallbacks]uint32
	who := p.who()
	raw, ok := in.mem.Read(addr, sizeofPlugin)
	if !ok {
		return nil, slots, clawerr.New(clawerr.ABIMismatch, who, "read vtable", fmt.Sprintf(
			"cannot read the ClawaPlugin table at %#x: %d bytes there are outside linear memory (%d bytes)", addr, sizeofPlugin, in.mem.Size()), nil)
	}
	u32 := func(off int) uint32 { return binary.LittleEndian.Uint32(raw[off:]) }
	rt := boundary.RawTable{ABIVersion: u32(0), Name: uint64(u32(plugName)), Version: uint64(u32(plugVersion))}
	for i := range rt.Reserved {
		rt.Reserved[i] = uint64(u32(plugReserved + 4*i))
	}
	checked, err := boundary.CheckTable(linear{in.mem}, rt, who)
	if err != nil {
		return nil, slots, err
	}
	t := &tableInfo{abiVersion: checked.ABIVersion, name: checked.Name, version: checked.Version,
		nameNull: checked.NameNull, warnings: checked.Warnings}
	for c := abi.Callback(0); c < abi.NumCallbacks; c++ {
		slots[c] = u32(plugCallbacks + 4*int(c))
		t.has[c] = slots[c] != 0
	}
	return t, slots, nil
}

// errOutside is linear memory's read error: the string is not all inside.
var errOutside = errors.New("the pointer is outside linear memory")

// linear is a guest's linear memory as the boundary's rules read it
// (boundary.Memory): an address is an offset, 0 is NULL.
type linear struct{ m api.Memory }

// CString implements boundary.Memory; the view is valid until the guest
// runs again.
func (l linear) CString(addr uint64, max int) ([]byte, bool, error) {
	if addr == 0 {
		return nil, false, boundary.ErrNull
	}
	size := uint64(l.m.Size())
	if addr >= size {
		return nil, false, errOutside
	}
	n := min(uint64(max), size-addr)
	view, ok := l.m.Read(uint32(addr), uint32(n))
	if !ok {
		return nil, false, errOutside
	}
	if i := bytes.IndexByte(view, 0); i >= 0 {
		return view[:i], true, nil
	}
	if n < uint64(max) {
		return nil, false, errOutside // the string runs off the end of memory
	}
	return view[:max-1], false, nil
}

// placeContexts reads the context template from clawd_wasm_context,
// and fills a ring
// of contexts with it.
func (p *plugin) placeContexts(ctx context.Context, s *slot, in *instance) error {
	who := p.who()
	var st [1]uint64
	if err := in.mod.ExportedFunction(exportContext).CallWithStack(ctx, st[:]); err != nil {
		return p.fault(s, "init", exportContext, err)
	}
	tmpl, ok := in.mem.Read(uint32(st[0]), sizeofContext)
	if !ok || st[0] == 0 {
		return clawerr.New(clawerr.OpenFailed, who, "open", fmt.Sprintf("%s returned %#x, not a ClawaContext in linear memory", exportContext, st[0]), nil)
	}
	tmpl = append([]byte(nil), tmpl...)
	// send_event and log are table indices the guest calls through; wazero
	// cannot resolve a host function from the table, and a wrong index only
	// makes the guest's own call_indirect trap.
	for i := 12; i < sizeofContext; i++ {
		tmpl[i] = 0 // _reserved: the host sets them to NULL
	}
	base, err := in.allocate(ctx, ringSize*ctxStride)
	var bg badGuest
	if errors.As(err, &bg) {
		return clawerr.New(clawerr.OpenFailed, who, "open", string(bg), nil)
	}
	if err != nil {
		return p.fault(s, "init", exportAlloc, err)
	}
	if base == 0 {
		return clawerr.New(clawerr.OpenFailed, who, "open", "the guest has no memory for the call contexts", nil)
	}
	in.ring = base
	for i := uint32(0); i < ringSize; i++ {
		binary.LittleEndian.PutUint32(tmpl[0:], i+1) // _inner: opaque, never read back
		in.mem.Write(base+i*ctxStride, tmpl)
	}
	return nil
}

// allocate asks the guest's allocator for n bytes and checks that what
// it returns lies inside linear memory. 0 means the guest has no memory.
func (in *instance) allocate(ctx context.Context, n uint32) (uint32, error) {
	in.one[0] = uint64(n)
	*in.glue = true
	err := in.alloc.CallWithStack(ctx, in.one[:])
	*in.glue = false
	if err != nil {
		return 0, err
	}
	ptr := uint32(in.one[0])
	if ptr == 0 {
		return 0, nil
	}
	if uint64(ptr)+uint64(n) > uint64(in.mem.Size()) {
		return 0, badGuest(fmt.Sprintf("%s returned %#x for %d bytes, outside linear memory (%d bytes)", exportAlloc, ptr, n, in.mem.Size()))
	}
	return ptr, nil
}

// arena returns depth's string buffer with room for n bytes, growing it
// through the guest's allocator. 0: the guest has no memory for it.
func (in *instance) arena(ctx context.Context, depth int, n uint32) (uint32, error) {
	a := &in.arenas[depth]
	if a.ptr != 0 && n <= a.cap {
		return a.ptr, nil
	}
	size := max(n, 2*a.cap, arenaFirst)
	if a.ptr != 0 {
		in.one[0] = uint64(a.ptr)
		a.ptr, a.cap = 0, 0
		*in.glue = true
		err := in.free.CallWithStack(ctx, in.one[:])
		*in.glue = false
		if err != nil {
			return 0, err
		}
	}
	ptr, err := in.allocate(ctx, size)
	if err != nil || ptr == 0 {
		return 0, err
	}
	a.ptr, a.cap = ptr, size
	return ptr, nil
}

// fn is callback c's Function for a call at depth d.
func (in *instance) fn(c abi.Callback, d int) api.Function {
	if d == 0 || in.fns[c] == nil {
		return in.fns[c]
	}
	fs := in.nested[d-1]
	if fs == nil {
		fs = new([abi.NumCallbacks]api.Function)
		in.nested[d-1] = fs
	}
	if fs[c] == nil {
		// The slot resolved at load: it cannot fail now.
		fs[c], _ = lookup(in.mod, in.funcTable, in.slots[c], slotParams[c], slotResults[c])
	}
	return fs[c]
}

// nextContext is the next context of the ring.
func (in *instance) nextContext() uint32 {
	c := in.ring + in.ringNext*ctxStride
	in.ringNext = (in.ringNext + 1) % ringSize
	return c
}

// badGuest is a guest's answer the host cannot use (not a trap): what its
// allocator returned outside linear memory.
type badGuest string

func (b badGuest) Error() string { return string(b) }

// exitOf reports the exit code of a closed module's error.
func exitOf(err error) (uint32, bool) {
	var ee *sys.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), true
	}
	return 0, false
}
