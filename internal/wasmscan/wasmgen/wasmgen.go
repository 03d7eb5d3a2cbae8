// Package wasmgen assembles small WebAssembly modules for tests: the
// hostile shapes the pre-scan refuses (deep nesting, many functions, large
// bodies, many locals, tables), written byte by byte, and a rewrite of a
// built module's table limits.
package wasmgen

import (
	"errors"
	"fmt"
)

// ULEB appends v as an unsigned LEB128.
func ULEB(b []byte, v uint64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			b = append(b, c|0x80)
			continue
		}
		return append(b, c)
	}
}

// Section appends section id with its content.
func Section(b []byte, id byte, content []byte) []byte {
	b = append(b, id)
	b = ULEB(b, uint64(len(content)))
	return append(b, content...)
}

// Header is the magic and version 1.
func Header() []byte { return []byte("\x00asm\x01\x00\x00\x00") }

// Table is a table of the module: funcref, with limits.
type Table struct {
	Min, Max uint32
	HasMax   bool
}

// Module is a module to assemble: one function type () -> (), functions
// whose bodies are given (each without its locals, ending with its end),
// tables, a memory of MemPages (none if 0) and exports of functions by
// name.
type Module struct {
	Bodies   [][]byte
	Locals   uint32 // i32 locals of every function
	Tables   []Table
	MemPages uint32
	Exports  map[string]uint32
}

// Bytes assembles m.
func (m Module) Bytes() []byte {
	b := Header()
	b = Section(b, 1, []byte{1, 0x60, 0, 0})
	fs := ULEB(nil, uint64(len(m.Bodies)))
	for range m.Bodies {
		fs = append(fs, 0)
	}
	b = Section(b, 3, fs)
	if len(m.Tables) > 0 {
		ts := ULEB(nil, uint64(len(m.Tables)))
		for _, t := range m.Tables {
			ts = append(ts, 0x70)
			if t.HasMax {
				ts = ULEB(ULEB(append(ts, 1), uint64(t.Min)), uint64(t.Max))
			} else {
				ts = ULEB(append(ts, 0), uint64(t.Min))
			}
		}
		b = Section(b, 4, ts)
	}
	if m.MemPages > 0 {
		b = Section(b, 5, ULEB([]byte{1, 0}, uint64(m.MemPages)))
	}
	if len(m.Exports) > 0 {
		es := ULEB(nil, uint64(len(m.Exports)))
		for name, idx := range m.Exports {
			es = ULEB(es, uint64(len(name)))
			es = append(es, name...)
			es = ULEB(append(es, 0), uint64(idx))
		}
		b = Section(b, 7, es)
	}
	var locals []byte
	if m.Locals > 0 {
		locals = ULEB([]byte{1}, uint64(m.Locals))
		locals = append(locals, 0x7f)
	} else {
		locals = []byte{0}
	}
	cs := ULEB(nil, uint64(len(m.Bodies)))
	for _, body := range m.Bodies {
		cs = ULEB(cs, uint64(len(locals)+len(body)))
		cs = append(cs, locals...)
		cs = append(cs, body...)
	}
	return Section(b, 10, cs)
}

// Empty is the body that does nothing.
var Empty = []byte{0x0b}

// Nested is a body of depth nested blocks.
func Nested(depth int) []byte {
	b := make([]byte, 0, 3*depth+1)
	for i := 0; i < depth; i++ {
		b = append(b, 0x02, 0x40)
	}
	for i := 0; i <= depth; i++ {
		b = append(b, 0x0b)
	}
	return b
}

// Straight is a body of about n bytes of straight-line code.
func Straight(n int) []byte {
	b := make([]byte, 0, n+1)
	for len(b)+3 <= n {
		b = append(b, 0x41, 0x01, 0x1a) // i32.const 1, drop
	}
	return append(b, 0x0b)
}

// GrowTable is a body that grows table 0 by delta and drops the result.
func GrowTable(delta uint32) []byte {
	b := []byte{0xd0, 0x70, 0x41}
	b = ULEB(b, uint64(delta)&0x7f) // a small positive i32.const: keep it under 64
	return append(b, 0xfc, 0x0f, 0x00, 0x1a, 0x0b)
}

// SetTableMax rewrites the limits of the module's defined tables (its
// table section) to declare maximum max.
func SetTableMax(bin []byte, max uint32) ([]byte, error) {
	if len(bin) < 8 {
		return nil, errors.New("not a module")
	}
	out := append([]byte(nil), bin[:8]...)
	found := false
	for off := 8; off < len(bin); {
		id := bin[off]
		size, n, err := uleb(bin[off+1:])
		if err != nil || off+1+n+int(size) > len(bin) {
			return nil, fmt.Errorf("section at %d: bad size", off)
		}
		content := bin[off+1+n : off+1+n+int(size)]
		off += 1 + n + int(size)
		if id != 4 {
			out = Section(out, id, content)
			continue
		}
		found = true
		count, k, err := uleb(content)
		if err != nil {
			return nil, err
		}
		ts := ULEB(nil, count)
		p := k
		for i := uint64(0); i < count; i++ {
			if p+2 > len(content) {
				return nil, errors.New("table section truncated")
			}
			ref, flags := content[p], content[p+1]
			p += 2
			lo, k, err := uleb(content[p:])
			if err != nil {
				return nil, err
			}
			p += k
			if flags&1 != 0 {
				_, k, err := uleb(content[p:])
				if err != nil {
					return nil, err
				}
				p += k
			}
			ts = ULEB(ULEB(append(ts, ref, 1), lo), uint64(max))
		}
		out = Section(out, 4, ts)
	}
	if !found {
		return nil, errors.New("the module defines no table")
	}
	return out, nil
}

func uleb(b []byte) (uint64, int, error) {
	var v uint64
	for i := 0; i < len(b) && i < 10; i++ {
		v |= uint64(b[i]&0x7f) << (7 * i)
		if b[i]&0x80 == 0 {
			return v, i + 1, nil
		}
	}
	return 0, 0, errors.New("bad LEB128")
}
