package wasm_test

import (
	"os"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/wasmscan/wasmgen"
	"github.com/clawd-go/clawd/wasm"
)

// tableGuest is wasm_block with an externref table it grows (tgrow),
// its tables given maximum max (0: as the linker left them, without).
func tableGuest(t *testing.T, max uint32) string {
	t.Helper()
	bin, err := os.ReadFile(cbuildWasm(t, "wasm_block", "-mreference-types"))
	require.NoError(t, err)
	if max == 0 {
		return writeModule(t, "table_nomax", bin)
	}
	bin, err = wasmgen.SetTableMax(bin, max)
	require.NoError(t, err)
	return writeModule(t, "table_max", bin)
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// A module that grows a table declaring no maximum is refused at load:
// table.grow would take the host past the memory cap (1.7 GiB under a
// 16 MiB cap before).
func TestGrownTableWithoutMaximumRefused(t *testing.T) {
	_, err := tryOpen(tableGuest(t, 0), clawd.WithMemoryLimitMB(16))
	codeIs(t, err, clawerr.OpenFailed, "declares no maximum", "uses table.grow", "declare a maximum")
}

// Tables count against the memory cap: a declared maximum whose cost
// with the initial memory is over the cap is refused at load, before
// any compile.
func TestTableOverCapRefused(t *testing.T) {
	_, err := tryOpen(tableGuest(t, 1<<20), clawd.WithMemoryLimitMB(16)) // 2 tables x 1 Mi x 16 bytes = 32 MiB
	codeIs(t, err, clawerr.OpenFailed, "over the memory cap of 16 MiB")
	// A huge initial table (the 257 MiB open) is refused the same way,
	// whether or not the module grows it, and costs the host nothing.
	bin := wasmgen.Module{Bodies: [][]byte{wasmgen.Empty}, Tables: []wasmgen.Table{{Min: 1 << 25}}, MemPages: 1}.Bytes()
	path := writeModule(t, "huge_table", bin)
	before := heapInUse()
	_, err = tryOpen(path, clawd.WithMemoryLimitMB(16))
	after := heapInUse()
	codeIs(t, err, clawerr.OpenFailed, "initial size", "over the memory cap of 16 MiB")
	t.Logf("a table of 2^25 elements refused: heap %+d KiB", (int64(after)-int64(before))>>10)
	// Allocated, the table would cost 256 MiB; the bound leaves room for
	// what other work in the process (an abandoned compile finishing)
	// allocates meanwhile.
	assert.Less(t, int64(after)-int64(before), int64(64<<20), "refused before wazero allocates the table")
}

// A guest that grows a table in a loop under a 16 MiB cap stops at the
// table's declared maximum (wazero's table.grow returns -1 past it): the
// call fails with the guest's error, the host's heap grows by no more
// than the table's bound, and the plugin's linear memory is the cap less
// the tables' bound.
func TestTableGrowStopsAtMaximum(t *testing.T) {
	const max = 1 << 18 // elements: 2 tables x 256 Ki x 16 bytes = 8 MiB of the 16 MiB cap
	before := heapInUse()
	g := open(t, tableGuest(t, max), clawd.WithMemoryLimitMB(16))
	err := g.Call(bg, clawd.ToolCall("s", "tgrow", "{}"))
	codeIs(t, err, clawerr.CallbackError)
	after := heapInUse()
	require.Equal(t, []string{"tgrow:262144"}, g.lines("tgrow:"))
	grew := int64(after) - int64(before)
	t.Logf("table grown to %d elements: heap %+d KiB (cap 16 MiB)", max, grew>>10)
	assert.Less(t, grew, int64(2*16<<20), "the host's heap stays within 2x the cap")
	// The linear memory has what the tables leave: 8 MiB.
	err = g.Call(bg, clawd.ToolCall("s", "count", "{}"))
	require.NoError(t, err)
}

// What a table element costs the host, measured: a table grown one
// element at a time (the worst case for Go's slice growth) to 2^20
// elements holds at most TableElementCost bytes an element after a
// collection.
func TestTableElementCostMeasured(t *testing.T) {
	// (func (param i32) (result i32) ref.null func, local.get 0, table.grow 0)
	bin := wasmgen.Header()
	bin = wasmgen.Section(bin, 1, []byte{1, 0x60, 1, 0x7f, 1, 0x7f})
	bin = wasmgen.Section(bin, 3, []byte{1, 0})
	bin = wasmgen.Section(bin, 4, []byte{1, 0x70, 1, 0, 0x80, 0x80, 0x40}) // max 2^20
	bin = wasmgen.Section(bin, 7, []byte{1, 4, 'g', 'r', 'o', 'w', 0, 0})
	bin = wasmgen.Section(bin, 10, []byte{1, 9, 0, 0xd0, 0x70, 0x20, 0x00, 0xfc, 0x0f, 0x00, 0x0b})
	ctx := bg
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	mod, err := rt.Instantiate(ctx, bin)
	require.NoError(t, err)
	grow := mod.ExportedFunction("grow")
	before := heapInUse()
	const n = 1 << 20 // many, so that what else the process allocates meanwhile weighs little per element
	for i := 0; i < n; i++ {
		if _, err := grow.Call(ctx, 1); err != nil {
			t.Fatal(err)
		}
	}
	r, err := grow.Call(ctx, 1)
	require.NoError(t, err)
	require.Equal(t, uint32(0xffffffff), uint32(r[0]), "past the maximum table.grow fails")
	per := float64(int64(heapInUse())-int64(before)) / n
	t.Logf("a table element costs the host %.1f bytes (TableElementCost %d)", per, wasm.TableElementCost)
	assert.LessOrEqual(t, per, float64(wasm.TableElementCost))
	runtime.KeepAlive(mod)
}
