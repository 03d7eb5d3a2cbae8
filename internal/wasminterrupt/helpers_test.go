package wasminterrupt

import (
	"os"
	"testing"
)

// A small assembler of test modules: sections from their contents.

func leb(v uint32) []byte { return appendU32(nil, v) }

func sec(id byte, content ...[]byte) []byte {
	var c []byte
	for _, p := range content {
		c = append(c, p...)
	}
	return append(append([]byte{id}, leb(uint32(len(c)))...), c...)
}

func vec(items ...[]byte) []byte {
	b := leb(uint32(len(items)))
	for _, it := range items {
		b = append(b, it...)
	}
	return b
}

func str(s string) []byte { return append(leb(uint32(len(s))), s...) }

// functype is (params) -> (results), as value type bytes.
func functype(params, results []byte) []byte {
	return append(append(append([]byte{0x60}, leb(uint32(len(params)))...), params...), append(leb(uint32(len(results))), results...)...)
}

// body is a function body: local groups (count, type) and code, which
// must end with 0x0b.
func body(locals [][2]byte, code ...byte) []byte {
	var b []byte
	b = append(b, leb(uint32(len(locals)))...)
	for _, l := range locals {
		b = append(b, l[0], l[1])
	}
	b = append(b, code...)
	return append(leb(uint32(len(b))), b...)
}

func export(name string, kind byte, idx uint32) []byte {
	return append(append(str(name), kind), leb(idx)...)
}

func assemble(sections ...[]byte) []byte {
	b := []byte("\x00asm\x01\x00\x00\x00")
	for _, s := range sections {
		b = append(b, s...)
	}
	return b
}

const (
	i32 = 0x7f
	i64 = 0x7e
)

// seeds are modules that exercise what Rewrite touches, each with the
// calls that observe its behaviour: an export and its arguments.
type seed struct {
	name  string
	bin   []byte
	calls []call
}

type call struct {
	fn   string
	args []uint64
}

func seeds() []seed {
	// sum(n): 0+1+...+n-1 in a loop.
	sum := body([][2]byte{{2, i32}},
		0x02, 0x40, // block
		0x03, 0x40, // loop
		0x20, 0x02, 0x20, 0x00, 0x4e, 0x0d, 0x01, // local.get i, local.get n, i32.ge_s, br_if 1
		0x20, 0x01, 0x20, 0x02, 0x6a, 0x21, 0x01, // acc += i
		0x20, 0x02, 0x41, 0x01, 0x6a, 0x21, 0x02, // i++
		0x0c, 0x00, // br 0
		0x0b, 0x0b,
		0x20, 0x01, 0x0b)
	// fact(n): recursive, i64.
	fact := body(nil,
		0x20, 0x00, 0x50, // i64.eqz
		0x04, i64, 0x42, 0x01, // if (result i64) 1
		0x05, 0x20, 0x00, 0x20, 0x00, 0x42, 0x01, 0x7d, 0x10, 0x01, 0x7e, // else n * fact(n-1)
		0x0b, 0x0b)
	// bump(): global 1 += 3 in a loop of 4, returns it; global 0 is a constant.
	bump := body([][2]byte{{1, i32}},
		0x03, 0x40,
		0x23, 0x01, 0x41, 0x03, 0x6a, 0x24, 0x01, // g1 += 3
		0x20, 0x00, 0x41, 0x01, 0x6a, 0x22, 0x00, 0x41, 0x04, 0x48, 0x0d, 0x00, // while ++i < 4
		0x0b,
		0x23, 0x01, 0x23, 0x00, 0x6a, 0x0b) // g1 + g0
	// pair(): a loop with a parameter and two results (multi-value).
	pair := body(nil,
		0x41, 0x07, // i32.const 7
		0x03, 0x02, // loop (type 2: [i32] -> [i32 i32])
		0x41, 0x05, // i32.const 5
		0x0b,
		0x6a, 0x0b) // add: 12
	types := sec(1, vec(functype([]byte{i32}, []byte{i32}), functype([]byte{i64}, []byte{i64}),
		functype([]byte{i32}, []byte{i32, i32}), functype(nil, []byte{i32}), functype(nil, nil)))
	globals := sec(6, vec(
		[]byte{i32, 0x00, 0x41, 0x0a, 0x0b}, // const i32 10
		[]byte{i32, 0x01, 0x41, 0x00, 0x0b}, // mut i32 0
	))
	return []seed{
		{"loop", assemble(types, sec(3, vec(leb(0))), sec(7, vec(export("sum", 0, 0))), sec(10, vec(sum))),
			[]call{{"sum", []uint64{0}}, {"sum", []uint64{10}}, {"sum", []uint64{1000}}}},
		{"recursion", assemble(types, sec(3, vec(leb(0), leb(1))), sec(7, vec(export("fact", 0, 1))), sec(10, vec(sum, fact))),
			[]call{{"fact", []uint64{0}}, {"fact", []uint64{10}}}},
		{"globals", assemble(types, sec(3, vec(leb(3))), globals, sec(7, vec(export("bump", 0, 0), export("g", 3, 1))),
			sec(10, vec(bump))),
			[]call{{"bump", nil}, {"bump", nil}}},
		{"multivalue", assemble(types, sec(3, vec(leb(3))), sec(7, vec(export("pair", 0, 0))), sec(10, vec(pair))),
			[]call{{"pair", nil}}},
		// A start function sets global 1 to 5 before anything else runs.
		{"start", assemble(types, sec(3, vec(leb(4), leb(3))), globals, sec(7, vec(export("get", 0, 1))), sec(8, leb(0)),
			sec(10, vec(body(nil, 0x41, 0x05, 0x24, 0x01, 0x0b), body(nil, 0x23, 0x01, 0x0b)))),
			[]call{{"get", nil}}},
		{"empty", assemble(), nil},
		// A custom section between the memory and the code, no globals, no exports.
		{"custom", assemble(types, sec(3, vec(leb(4))), sec(5, vec([]byte{0, 1})), sec(0, str("note"), []byte("x")),
			sec(10, vec(body(nil, 0x0b)))), nil},
	}
}

func readFile(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
