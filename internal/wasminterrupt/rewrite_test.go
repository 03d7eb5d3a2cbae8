package wasminterrupt

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/clawd-go/clawd/internal/wasmscan"
)

var bg = context.Background()

// run instantiates bin, calls Start if it exports it, then each call, and
// returns what each returned (or its error).
func run(t *testing.T, rt wazero.Runtime, bin []byte, calls []call) []string {
	t.Helper()
	mod, err := rt.InstantiateWithConfig(bg, bin, wazero.NewModuleConfig().WithName(""))
	require.NoError(t, err)
	defer mod.Close(bg)
	if f := mod.ExportedFunction(Start); f != nil {
		_, err := f.Call(bg)
		require.NoError(t, err)
	}
	var out []string
	for _, c := range calls {
		res, err := mod.ExportedFunction(c.fn).Call(bg, c.args...)
		out = append(out, fmtResult(res, err))
	}
	return out
}

func fmtResult(res []uint64, err error) string {
	if err != nil {
		return "error"
	}
	var b bytes.Buffer
	for _, v := range res {
		b.WriteString(" ")
		b.WriteString(string(appendU32(nil, uint32(v))))
	}
	return b.String()
}

// The instrumented seeds compile, and with the flag clear they return
// what the originals return.
func TestRewriteKeepsBehaviour(t *testing.T) {
	rt := wazero.NewRuntime(bg)
	defer rt.Close(bg)
	for _, s := range seeds() {
		t.Run(s.name, func(t *testing.T) {
			_, err := wasmscan.Scan(s.bin, wasmscan.DefaultLimits())
			require.NoError(t, err)
			out, err := Rewrite(s.bin)
			require.NoError(t, err)
			want := run(t, rt, s.bin, s.calls)
			require.Equal(t, want, run(t, rt, out, s.calls))
			for _, r := range want {
				require.NotEqual(t, "error", r)
			}
			mod, err := rt.InstantiateWithConfig(bg, out, wazero.NewModuleConfig().WithName(""))
			require.NoError(t, err)
			defer mod.Close(bg)
			g, ok := mod.ExportedGlobal(Flag).(api.MutableGlobal)
			require.True(t, ok, "the flag is exported, mutable")
			require.Equal(t, uint64(0), g.Get())
			_, ok = mod.ExportedGlobal(Countdown).(api.MutableGlobal)
			require.True(t, ok, "the countdown is exported, mutable")
		})
	}
}

// Each seed grows by exactly one check per function and per loop, the
// added sections and the longer sizes: within MaxGrowth.
func TestRewriteGrowth(t *testing.T) {
	for _, s := range seeds() {
		out, err := Rewrite(s.bin)
		require.NoError(t, err)
		funcs, loops := countBodies(t, s.bin)
		require.LessOrEqual(t, uint64(len(out)-len(s.bin)), MaxGrowth(funcs, loops), s.name)
		// A second rewrite finds the flag's name exported: refused.
		_, err = Rewrite(out)
		require.ErrorIs(t, err, ErrReserved, s.name)
	}
}

func countBodies(t *testing.T, bin []byte) (funcs, loops uint64) {
	t.Helper()
	out, err := Rewrite(bin)
	require.NoError(t, err)
	// The checks are the only occurrences of their sequence the seeds have.
	n := uint64(bytes.Count(out, []byte{0x04, 0x40, 0x00, 0x0b}))
	c := bytes.Count(bin, []byte{0x03, 0x40}) + bytes.Count(bin, []byte{0x03, 0x02})
	return n - uint64(c), uint64(c)
}

// interrupt does what the host's watchdog does: set the flag, zero the
// countdown.
func interrupt(mod api.Module) {
	mod.ExportedGlobal(Flag).(api.MutableGlobal).Set(1)
	mod.ExportedGlobal(Countdown).(api.MutableGlobal).Set(0)
}

// With the flag set, the first check a call meets traps: at the entry of
// the called function.
func TestFlagTrapsAtEntry(t *testing.T) {
	rt := wazero.NewRuntime(bg)
	defer rt.Close(bg)
	out, err := Rewrite(seeds()[0].bin)
	require.NoError(t, err)
	mod, err := rt.InstantiateWithConfig(bg, out, wazero.NewModuleConfig().WithName(""))
	require.NoError(t, err)
	defer mod.Close(bg)
	interrupt(mod)
	_, err = mod.ExportedFunction("sum").Call(bg, 5)
	require.ErrorContains(t, err, "unreachable")
	mod.ExportedGlobal(Flag).(api.MutableGlobal).Set(0)
	res, err := mod.ExportedFunction("sum").Call(bg, 5)
	require.NoError(t, err)
	require.Equal(t, uint64(10), res[0])
}

// A loop that never ends traps at its head once the flag is set: here the
// guest calls the host before it spins, and the host sets the flag.
func TestFlagTrapsInLoop(t *testing.T) {
	rt := wazero.NewRuntime(bg)
	defer rt.Close(bg)
	var flag, countdown api.MutableGlobal
	calls := 0
	_, err := rt.NewHostModuleBuilder("host").NewFunctionBuilder().
		WithFunc(func() { calls++; flag.Set(1); countdown.Set(0) }).Export("arm").Instantiate(bg)
	require.NoError(t, err)
	bin := assemble(
		sec(1, vec(functype(nil, nil))),
		sec(2, vec(append(append(str("host"), str("arm")...), 0, 0))),
		sec(3, vec(leb(0))),
		sec(7, vec(export("spin", 0, 1))),
		sec(10, vec(body(nil, 0x10, 0x00, 0x03, 0x40, 0x0c, 0x00, 0x0b, 0x0b))), // call arm; loop br 0 end
	)
	out, err := Rewrite(bin)
	require.NoError(t, err)
	mod, err := rt.InstantiateWithConfig(bg, out, wazero.NewModuleConfig().WithName(""))
	require.NoError(t, err)
	defer mod.Close(bg)
	flag = mod.ExportedGlobal(Flag).(api.MutableGlobal)
	countdown = mod.ExportedGlobal(Countdown).(api.MutableGlobal)
	_, err = mod.ExportedFunction("spin").Call(bg)
	require.ErrorContains(t, err, "unreachable")
	require.Equal(t, 1, calls)
}

func TestRefusesReservedExport(t *testing.T) {
	for _, name := range []string{Flag, Countdown, Start} {
		bin := assemble(sec(1, vec(functype(nil, nil))), sec(3, vec(leb(0))),
			sec(7, vec(export(name, 0, 0))), sec(10, vec(body(nil, 0x0b))))
		_, err := Rewrite(bin)
		require.ErrorIs(t, err, ErrReserved)
		require.ErrorContains(t, err, name)
	}
}

// The guest cannot name the flag: an instruction, an export or a constant
// expression naming a global past its own is refused.
func TestRefusesGlobalPastModule(t *testing.T) {
	types := sec(1, vec(functype(nil, []byte{i32}), functype(nil, nil)))
	one := sec(6, vec([]byte{i32, 0x01, 0x41, 0x00, 0x0b}))
	for name, bin := range map[string][]byte{
		"global.get": assemble(types, sec(3, vec(leb(0))), one, sec(10, vec(body(nil, 0x23, 0x01, 0x0b)))),
		"global.set": assemble(types, sec(3, vec(leb(1))), one, sec(10, vec(body(nil, 0x41, 0x00, 0x24, 0x01, 0x0b)))),
		"no globals": assemble(types, sec(3, vec(leb(0))), sec(10, vec(body(nil, 0x23, 0x00, 0x0b)))),
		"export":     assemble(types, one, sec(7, vec(export("g", 3, 1)))),
		"init":       assemble(types, sec(6, vec([]byte{i32, 0x00, 0x23, 0x01, 0x0b}))),
		"data":       assemble(types, sec(5, vec([]byte{0, 1})), sec(11, vec([]byte{0x00, 0x23, 0x00, 0x0b, 0x00}))),
		"table.size": assemble(types, sec(3, vec(leb(0))), sec(10, vec(body(nil, 0xfc, 0x10, 0x00, 0x0b)))),
	} {
		_, err := Rewrite(bin)
		require.ErrorIs(t, err, ErrGlobalIndex, name)
	}
}

// An opcode outside the allowlist is refused, named, never skipped.
func TestRefusesUnknownOpcode(t *testing.T) {
	types := sec(1, vec(functype(nil, nil)))
	for want, code := range map[string][]byte{
		"0xfe":       {0xfe, 0x03, 0x00, 0x0b}, // atomic.fence
		"0x12":       {0x12, 0x00, 0x0b},       // return_call
		"0x06":       {0x06, 0x40, 0x0b, 0x0b}, // try
		"0xfc 18":    {0xfc, 0x12, 0x0b},       // past the table instructions
		"0xfd 0x9a":  {0xfd, 0x9a, 0x01, 0x0b}, // a SIMD gap
		"0x27":       {0x27, 0x0b},             // unassigned
		"0xfd 0x100": {0xfd, 0x80, 0x02, 0x0b}, // relaxed SIMD
	} {
		bin := assemble(types, sec(3, vec(leb(0))), sec(10, vec(body(nil, code...))))
		_, err := Rewrite(bin)
		require.ErrorIs(t, err, ErrUnsupported, want)
		require.ErrorContains(t, err, want)
	}
}

// A module cut anywhere inside its last section (the code) is refused as
// malformed, naming where.
func TestRefusesMalformed(t *testing.T) {
	base := seeds()[0].bin
	r := &reader{b: base, off: 8, end: len(base)}
	last := 0
	for r.off < r.end { // the last section's id
		last = r.off
		r.off++
		n, err := r.u32()
		require.NoError(t, err)
		r.off += int(n)
	}
	require.Equal(t, byte(10), base[last])
	for i := last + 1; i < len(base); i++ {
		_, err := Rewrite(base[:i])
		var e *Error
		require.True(t, errors.As(err, &e), "truncated at %d: %v", i, err)
	}
}
