package wasminterrupt

import "fmt"

// reader reads b from off to end; every read checks what is left.
type reader struct {
	b   []byte
	off int
	end int
}

func (r *reader) fail(format string, args ...any) error {
	return &Error{Offset: r.off, Msg: fmt.Sprintf(format, args...)}
}

func (r *reader) left() int { return r.end - r.off }

func (r *reader) byte() (byte, error) {
	if r.off >= r.end {
		return 0, r.fail("unexpected end")
	}
	c := r.b[r.off]
	r.off++
	return c, nil
}

func (r *reader) skip(n uint64) error {
	if n > uint64(r.left()) {
		return r.fail("%d bytes wanted, %d left", n, r.left())
	}
	r.off += int(n)
	return nil
}

// uleb reads an unsigned LEB128 of at most bits bits.
func (r *reader) uleb(bits uint) (uint64, error) {
	var v uint64
	for i := 0; i < int((bits+6)/7); i++ {
		c, err := r.byte()
		if err != nil {
			return 0, err
		}
		v |= uint64(c&0x7f) << (7 * uint(i))
		if c&0x80 == 0 {
			if bits < 64 && v>>bits != 0 {
				return 0, r.fail("integer too large")
			}
			return v, nil
		}
	}
	return 0, r.fail("integer representation too long")
}

func (r *reader) u32() (uint32, error) {
	v, err := r.uleb(32)
	return uint32(v), err
}

// sleb skips a signed LEB128 of at most bits bits.
func (r *reader) sleb(bits uint) error {
	for i := 0; i < int((bits+6)/7); i++ {
		c, err := r.byte()
		if err != nil {
			return err
		}
		if c&0x80 == 0 {
			return nil
		}
	}
	return r.fail("integer representation too long")
}

// count reads a vector's length whose items take at least minSize bytes
// each, refusing one the bytes left cannot hold.
func (r *reader) count(minSize int) (uint32, error) {
	n, err := r.u32()
	if err != nil {
		return 0, err
	}
	if uint64(n)*uint64(minSize) > uint64(r.left()) {
		return 0, r.fail("a count of %d items in %d bytes", n, r.left())
	}
	return n, nil
}

func (r *reader) name() error {
	n, err := r.u32()
	if err != nil {
		return err
	}
	return r.skip(uint64(n))
}

func (r *reader) limits() error {
	flags, err := r.byte()
	if err != nil {
		return err
	}
	if flags > 3 {
		return r.fail("limits flags %#x", flags)
	}
	if _, err := r.u32(); err != nil {
		return err
	}
	if flags&1 != 0 {
		_, err = r.u32()
	}
	return err
}

// walk decodes instructions up to the end that closes the body (or the
// constant expression), checking each opcode against the allowlist and
// each global index against the module's globals. With at non-nil, it
// returns at with the offset past each loop's block type appended: where
// a check goes.
func (m *module) walk(r *reader, at []int) ([]int, error) {
	var depth uint32
	for {
		start := r.off
		op, err := r.byte()
		if err != nil {
			return nil, err
		}
		switch {
		case op == 0x02 || op == 0x03 || op == 0x04: // block, loop, if: a block type
			depth++
			err = r.sleb(33)
			if op == 0x03 && err == nil && at != nil {
				at = append(at, r.off)
			}
		case op == 0x0b: // end
			if depth == 0 {
				return at, nil
			}
			depth--
		case op <= 0x01, op == 0x05, op == 0x0f, op == 0x1a, op == 0x1b, op == 0xd1,
			op >= 0x45 && op <= 0xc4: // no immediate (0xc0-0xc4: sign extension)
		case op == 0x0c, op == 0x0d, op == 0x10, op == 0xd2,
			op >= 0x20 && op <= 0x22: // one index
			_, err = r.u32()
		case op == 0x25, op == 0x26: // table.get, table.set
			err = m.tableIndex(r)
		case op == 0x23, op == 0x24: // global.get, global.set
			var g uint32
			if g, err = r.u32(); err == nil && g >= m.flag {
				return nil, &Error{Offset: start, Kind: ErrGlobalIndex, Msg: fmt.Sprintf(
					"an instruction names global %d, past the module's %d globals", g, m.flag)}
			}
		case op == 0x11: // call_indirect: a type, a table
			if _, err = r.u32(); err == nil {
				err = m.tableIndex(r)
			}
		case op == 0x0e: // br_table: targets and a default
			var k uint32
			if k, err = r.count(1); err == nil {
				for i := uint32(0); i <= k && err == nil; i++ {
					_, err = r.u32()
				}
			}
		case op == 0x1c: // select with types
			var k uint32
			if k, err = r.count(1); err == nil {
				err = r.skip(uint64(k))
			}
		case op >= 0x28 && op <= 0x3e: // loads and stores
			err = memarg(r)
		case op == 0x3f, op == 0x40: // memory.size, memory.grow: a memory
			_, err = r.u32()
		case op == 0x41:
			err = r.sleb(32)
		case op == 0x42:
			err = r.sleb(64)
		case op == 0x43:
			err = r.skip(4)
		case op == 0x44:
			err = r.skip(8)
		case op == 0xd0: // ref.null: a heap type
			err = r.sleb(33)
		case op == 0xfc:
			err = m.misc(r, start)
		case op == 0xfd:
			err = simd(r, start)
		default:
			return nil, unsupported(start, fmt.Sprintf("opcode %#02x%s", op, known[op]))
		}
		if err != nil {
			return nil, err
		}
	}
}

// known names the features of the opcodes outside the allowlist that a
// toolchain may emit, for the error.
var known = map[byte]string{
	0x06: " (try: exception handling)", 0x07: " (catch: exception handling)", 0x08: " (throw: exception handling)",
	0x09: " (rethrow: exception handling)", 0x0a: " (throw_ref: exception handling)", 0x18: " (delegate: exception handling)",
	0x19: " (catch_all: exception handling)", 0x1f: " (try_table: exception handling)",
	0x12: " (return_call: tail calls)", 0x13: " (return_call_indirect: tail calls)", 0x14: " (call_ref: function references)",
	0xfb: " (garbage collection)", 0xfe: " (atomics: threads)",
}

func unsupported(off int, what string) error {
	return &Error{Offset: off, Kind: ErrUnsupported, Msg: what +
		" is not an instruction this host runs (core 2.0: sign extension, saturating conversions, bulk memory, " +
		"multi-value, reference types, SIMD): build the plugin without the feature that emits it"}
}

func memarg(r *reader) error {
	if _, err := r.u32(); err != nil { // alignment
		return err
	}
	_, err := r.u32() // offset
	return err
}

// misc is the 0xfc prefix: saturating conversions, bulk memory, tables.
func (m *module) misc(r *reader, start int) error {
	sub, err := r.u32()
	if err != nil {
		return err
	}
	switch {
	case sub <= 7: // saturating truncations
		return nil
	case sub == 9, sub == 13, sub == 11: // data.drop, elem.drop; memory.fill
		_, err = r.u32()
	case sub == 15, sub == 16, sub == 17: // table.grow, .size, .fill
		err = m.tableIndex(r)
	case sub == 12: // table.init: a segment, a table
		if _, err = r.u32(); err == nil {
			err = m.tableIndex(r)
		}
	case sub == 14: // table.copy: two tables
		if err = m.tableIndex(r); err == nil {
			err = m.tableIndex(r)
		}
	case sub == 8, sub == 10: // memory.init, memory.copy
		if _, err = r.u32(); err == nil {
			_, err = r.u32()
		}
	default:
		return unsupported(start, fmt.Sprintf("opcode 0xfc %d", sub))
	}
	return err
}

// simdGaps are the opcodes of the 0xfd prefix below 0x100 that the SIMD
// proposal left unassigned (relaxed SIMD lies past 0xff).
var simdGaps = [...]uint32{0x9a, 0xa2, 0xa5, 0xa6, 0xaf, 0xb0, 0xb2, 0xb3, 0xb4, 0xbb,
	0xc2, 0xc5, 0xc6, 0xcf, 0xd0, 0xd2, 0xd3, 0xd4, 0xe2, 0xee}

func simd(r *reader, start int) error {
	sub, err := r.u32()
	if err != nil {
		return err
	}
	for _, g := range simdGaps {
		if sub == g {
			return unsupported(start, fmt.Sprintf("opcode 0xfd %#x", sub))
		}
	}
	switch {
	case sub <= 11, sub == 92, sub == 93: // loads, store, load_zero
		return memarg(r)
	case sub == 12, sub == 13: // v128.const, i8x16.shuffle
		return r.skip(16)
	case sub >= 21 && sub <= 34: // extract and replace lane
		return r.skip(1)
	case sub >= 84 && sub <= 91: // load and store lane
		if err := memarg(r); err != nil {
			return err
		}
		return r.skip(1)
	case sub <= 0xff:
		return nil
	}
	return unsupported(start, fmt.Sprintf("opcode 0xfd %#x", sub))
}
