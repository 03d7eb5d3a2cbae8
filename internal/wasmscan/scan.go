// Package wasmscan reads a WebAssembly binary cheaply, before anything
// compiles it, and refuses a module whose compilation or instantiation
// would cost more than a bound: too many functions, a function body too
// large or nested too deep, too many locals, too much data or too many
// element entries. A compiler's cost is not bounded by the file's size
// alone (a 300,000-deep block nesting compiles for longer than a load
// timeout; a million tiny functions cost hundreds of MiB), so the bounds
// are on what the compiler pays for, and a module under them compiles in
// bounded time and memory.
//
// The reader is bounds-checked everywhere: every length is checked
// against what is left before it is used, every LEB128 number has its
// byte limit, every count is checked against the bytes left (each item
// takes at least one byte), so Scan's time is linear in the input and it
// allocates only its summary. It walks each function body's instructions
// (MVP, bulk memory, reference types, sign extension, saturating
// conversions, SIMD, tail calls and atomics: their immediates are decoded
// exactly) to measure block nesting and to see whether the module grows a
// table. It is not a validator: wazero validates what Scan accepts.
package wasmscan

import (
	"errors"
	"fmt"
)

// Limits are the bounds Scan enforces. A zero field means no bound.
type Limits struct {
	Functions   uint32 // functions, imported and defined
	BodySize    uint32 // bytes of one function body
	CodeSize    uint64 // bytes of all function bodies
	Nesting     uint32 // block, loop and if nesting in one body
	Branches    uint32 // control instructions of one body (see Summary.Branches)
	BranchWork  uint64 // the sum over all bodies of the square of their Branches
	Locals      uint64 // locals declared by one function (parameters not counted)
	AllLocals   uint64 // locals declared by all functions
	Types       uint32 // entries of the type section
	Imports     uint32 // entries of the import section
	Exports     uint32 // entries of the export section
	Globals     uint32 // globals defined
	Tables      uint32 // tables, imported and defined
	Elements    uint64 // entries of all element segments
	DataSize    uint64 // bytes of all data segments
	DataSegs    uint32 // data segments
	ElementSegs uint32 // element segments
}

// DefaultLimits are generous for real plugins (a zig- or clang-built
// plugin has a few hundred functions, nesting in the tens, a few hundred
// branches in its largest function, bodies of a few KiB) and keep the
// compile of any module under them to seconds and tens of MiB (wazero
// v1.12 on a current machine: 100,000 empty functions compile in 0.8 s,
// 16 MiB of straight code in 1.5 s; a body's compile time grows with the
// square of its branches, 4,000 loops in 0.6 s, 16,000 blocks in 3.4 s,
// so one body has at most 8,192 (2.3 s for loops) and the sum of the
// squares of all bodies at most 2^26, that of one body at the bound).
func DefaultLimits() Limits {
	return Limits{
		Functions:   100_000,
		BodySize:    1 << 20,
		CodeSize:    16 << 20,
		Nesting:     2048,
		Branches:    8192,
		BranchWork:  1 << 26,
		Locals:      50_000,
		AllLocals:   4 << 20,
		Types:       100_000,
		Imports:     10_000,
		Exports:     100_000,
		Globals:     100_000,
		Tables:      100,
		Elements:    1 << 20,
		DataSize:    64 << 20,
		DataSegs:    100_000,
		ElementSegs: 100_000,
	}
}

// NoTableMax is a table's maximum when it declares none: what table.grow
// may then reach (wazero refuses a length of 2^32-1 or more).
const NoTableMax = 1<<32 - 2

// Table is a table the module imports or defines.
type Table struct {
	Min, Max uint32 // Max is NoTableMax when HasMax is false
	HasMax   bool
	Imported bool
	Funcref  bool // a table of functions (else of externref)
}

// Memory is a linear memory the module imports or defines, in 64 KiB pages.
type Memory struct {
	Min, Max uint32
	HasMax   bool
	Imported bool
}

// Summary is what Scan read.
type Summary struct {
	Functions   uint32 // imported and defined
	Imported    uint32 // imported functions
	CodeSize    uint64 // bytes of all bodies
	LargestBody uint32 // bytes of the largest body
	Nesting     uint32 // the deepest block nesting of any body
	// Branches is the most control instructions of any body: block,
	// loop, if, else, br, br_if, br_table and each of its targets. Each
	// makes a basic block or an edge, and wazero's compile of a body
	// takes time that grows with their square.
	Branches   uint32
	BranchWork uint64 // the sum over all bodies of the square of their Branches
	Locals     uint64 // the most locals of any function
	AllLocals  uint64 // the locals of all functions
	Tables     []Table
	Memories   []Memory
	TableGrow  bool   // some body uses table.grow
	DataSize   uint64 // bytes of all data segments
	Elements   uint64 // entries of all element segments
}

// LimitError is a module over one of the Limits.
type LimitError struct {
	Limit    string // the Limits field
	What     string // what was counted, in words
	Function int64  // the function's index, for a bound on one function; else -1
	Value    uint64
	Bound    uint64
}

func (e *LimitError) Error() string {
	what := e.What
	if e.Function >= 0 {
		what = fmt.Sprintf("function %d's %s", e.Function, e.What)
	}
	return fmt.Sprintf("%s: %d, over the bound of %d (Limits.%s): the host refuses to compile a module this costly; "+
		"build the plugin smaller (split large functions, fewer functions or less static data)", what, e.Value, e.Bound, e.Limit)
}

// FormatError is a module Scan cannot read: it is not a well-formed
// WebAssembly binary (or uses a feature this host does not run).
type FormatError struct {
	Offset int
	Msg    string
	// Truncated: the input (or its section, or a body) ends before what
	// it declares: a count or a length runs past it, or a number is cut.
	// wazero's decoder may allocate by such a count before it finds the
	// end (it reads a section's numbers past the section's end): a
	// 15-byte module that declares 2^28 element segments makes it
	// allocate 18 GiB.
	Truncated bool
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("malformed module at byte %d: %s", e.Offset, e.Msg)
}

// ErrLimit and ErrFormat match a *LimitError and a *FormatError with errors.Is.
var (
	ErrLimit  = errors.New("over a limit")
	ErrFormat = errors.New("malformed module")
)

func (e *LimitError) Is(target error) bool  { return target == ErrLimit }
func (e *FormatError) Is(target error) bool { return target == ErrFormat }

// reader reads b from off; every read checks what is left.
type reader struct {
	b   []byte
	off int
	end int // reads stop here (a section's or a body's end)
}

func (r *reader) fail(format string, args ...any) error {
	return &FormatError{Offset: r.off, Msg: fmt.Sprintf(format, args...)}
}

func (r *reader) left() int { return r.end - r.off }

func (r *reader) short(format string, args ...any) error {
	return &FormatError{Offset: r.off, Msg: fmt.Sprintf(format, args...), Truncated: true}
}

func (r *reader) byte() (byte, error) {
	if r.off >= r.end {
		return 0, r.short("unexpected end")
	}
	c := r.b[r.off]
	r.off++
	return c, nil
}

func (r *reader) skip(n uint64) error {
	if n > uint64(r.left()) {
		return r.short("%d bytes wanted, %d left", n, r.left())
	}
	r.off += int(n)
	return nil
}

// uleb reads an unsigned LEB128 of at most bits bits (32 or 64).
func (r *reader) uleb(bits uint) (uint64, error) {
	var v uint64
	maxBytes := int((bits + 6) / 7)
	for i := 0; i < maxBytes; i++ {
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

// sleb skips a signed LEB128 of at most bits bits (33 or 64): its value
// is never needed.
func (r *reader) sleb(bits uint) error {
	maxBytes := int((bits + 6) / 7)
	for i := 0; i < maxBytes; i++ {
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

// count reads a vector's length, each of whose items takes at least
// minSize bytes: a count the bytes left cannot hold is refused before
// any loop runs over it.
func (r *reader) count(minSize int) (uint32, error) {
	n, err := r.u32()
	if err != nil {
		return 0, err
	}
	if uint64(n)*uint64(minSize) > uint64(r.left()) {
		return 0, r.short("a count of %d items in %d bytes", n, r.left())
	}
	return n, nil
}

// name skips a length-prefixed byte string.
func (r *reader) name() error {
	n, err := r.u32()
	if err != nil {
		return err
	}
	return r.skip(uint64(n))
}

func (r *reader) limits() (lo, hi uint32, hasMax bool, err error) {
	flags, err := r.byte()
	if err != nil {
		return 0, 0, false, err
	}
	if flags > 3 {
		return 0, 0, false, r.fail("limits flags %#x", flags)
	}
	if lo, err = r.u32(); err != nil {
		return 0, 0, false, err
	}
	if flags&1 != 0 {
		if hi, err = r.u32(); err != nil {
			return 0, 0, false, err
		}
		hasMax = true
	}
	return lo, hi, hasMax, nil
}

func (r *reader) table(imported bool) (Table, error) {
	ref, err := r.byte()
	if err != nil {
		return Table{}, err
	}
	lo, hi, has, err := r.limits()
	if !has {
		hi = NoTableMax
	}
	return Table{Min: lo, Max: hi, HasMax: has, Imported: imported, Funcref: ref == 0x70}, err
}

func (r *reader) memory(imported bool) (Memory, error) {
	lo, hi, has, err := r.limits()
	return Memory{Min: lo, Max: hi, HasMax: has, Imported: imported}, err
}

// Section ids.
const (
	secCustom = iota
	secType
	secImport
	secFunction
	secTable
	secMemory
	secGlobal
	secExport
	secStart
	secElement
	secCode
	secData
	secDataCount
)

type scanner struct {
	lim      Limits
	sum      Summary
	defs     uint32 // functions the function section declares
	branches uint32 // of the body being walked
	codeSec  reader // the code section past its count, for walkBodies
	bodies   uint32
}

func (s *scanner) over(limit, what string, value, bound uint64) error {
	return s.overIn(limit, what, -1, value, bound)
}

// overIn is over for a bound on function fn (-1: none); it allocates
// only when the bound is crossed.
func (s *scanner) overIn(limit, what string, fn int64, value, bound uint64) error {
	if bound == 0 || value <= bound {
		return nil
	}
	return &LimitError{Limit: limit, What: what, Function: fn, Value: value, Bound: bound}
}

// Scan reads the module bin and returns its summary, or an error: a
// *LimitError for a module over lim, a *FormatError for one it cannot
// read.
func Scan(bin []byte, lim Limits) (*Summary, error) {
	r := &reader{b: bin, end: len(bin)}
	if len(bin) < 8 || string(bin[:4]) != "\x00asm" {
		return nil, r.fail("not a WebAssembly binary (no \\0asm magic)")
	}
	if string(bin[4:8]) != "\x01\x00\x00\x00" {
		return nil, r.fail("binary version %d, want 1", uint32(bin[4])|uint32(bin[5])<<8|uint32(bin[6])<<16|uint32(bin[7])<<24)
	}
	r.off = 8
	s := &scanner{lim: lim}
	sawCode := false
	for r.off < len(bin) {
		id, err := r.byte()
		if err != nil {
			return nil, err
		}
		size, err := r.u32()
		if err != nil {
			return nil, err
		}
		if uint64(size) > uint64(r.left()) {
			return nil, r.short("section %d of %d bytes, %d left", id, size, r.left())
		}
		sec := &reader{b: bin, off: r.off, end: r.off + int(size)}
		r.off = sec.end
		if id > secDataCount {
			return nil, sec.fail("unknown section id %d", id)
		}
		if id == secCode {
			sawCode = true
		}
		if err := s.section(id, sec); err != nil {
			return nil, err
		}
		if id != secCustom && sec.off != sec.end {
			return nil, sec.fail("section %d has %d bytes after its content", id, sec.left())
		}
	}
	if s.defs > 0 && !sawCode {
		return nil, r.fail("%d functions declared and no code section", s.defs)
	}
	if err := s.walkBodies(); err != nil {
		return nil, err
	}
	return &s.sum, nil
}

func (s *scanner) section(id byte, r *reader) error {
	switch id {
	case secCustom:
		return s.custom(r)
	case secStart, secDataCount: // an index; a count
		_, err := r.u32()
		return err
	case secType:
		n, err := r.count(3)
		if err != nil {
			return err
		}
		if err := s.over("Types", "types", uint64(n), uint64(s.lim.Types)); err != nil {
			return err
		}
		for i := uint32(0); i < n; i++ {
			if _, err := r.byte(); err != nil { // 0x60
				return err
			}
			for j := 0; j < 2; j++ { // params, results
				k, err := r.count(1)
				if err != nil {
					return err
				}
				if err := r.skip(uint64(k)); err != nil {
					return err
				}
			}
		}
	case secImport:
		n, err := r.count(4)
		if err != nil {
			return err
		}
		if err := s.over("Imports", "imports", uint64(n), uint64(s.lim.Imports)); err != nil {
			return err
		}
		for i := uint32(0); i < n; i++ {
			if err := r.name(); err != nil {
				return err
			}
			if err := r.name(); err != nil {
				return err
			}
			kind, err := r.byte()
			if err != nil {
				return err
			}
			switch kind {
			case 0:
				if _, err := r.u32(); err != nil {
					return err
				}
				s.sum.Imported++
				s.sum.Functions++
			case 1:
				t, err := r.table(true)
				if err != nil {
					return err
				}
				s.sum.Tables = append(s.sum.Tables, t)
			case 2:
				m, err := r.memory(true)
				if err != nil {
					return err
				}
				s.sum.Memories = append(s.sum.Memories, m)
			case 3:
				if err := r.skip(2); err != nil { // value type, mutability
					return err
				}
			default:
				return r.fail("import kind %d", kind)
			}
		}
		if err := s.over("Functions", "functions (imported and defined)", uint64(s.sum.Functions), uint64(s.lim.Functions)); err != nil {
			return err
		}
	case secFunction:
		n, err := r.count(1)
		if err != nil {
			return err
		}
		s.defs = n
		s.sum.Functions += n
		if err := s.over("Functions", "functions (imported and defined)", uint64(s.sum.Functions), uint64(s.lim.Functions)); err != nil {
			return err
		}
		for i := uint32(0); i < n; i++ {
			if _, err := r.u32(); err != nil {
				return err
			}
		}
	case secTable:
		n, err := r.count(3)
		if err != nil {
			return err
		}
		if err := s.over("Tables", "tables", uint64(len(s.sum.Tables))+uint64(n), uint64(s.lim.Tables)); err != nil {
			return err
		}
		for i := uint32(0); i < n; i++ {
			t, err := r.table(false)
			if err != nil {
				return err
			}
			s.sum.Tables = append(s.sum.Tables, t)
		}
	case secMemory:
		n, err := r.count(2)
		if err != nil {
			return err
		}
		if n > 1 {
			return r.fail("%d memories: one at most", n)
		}
		for i := uint32(0); i < n; i++ {
			m, err := r.memory(false)
			if err != nil {
				return err
			}
			s.sum.Memories = append(s.sum.Memories, m)
		}
	case secGlobal:
		n, err := r.count(3)
		if err != nil {
			return err
		}
		if err := s.over("Globals", "globals", uint64(n), uint64(s.lim.Globals)); err != nil {
			return err
		}
		for i := uint32(0); i < n; i++ {
			if err := r.skip(2); err != nil {
				return err
			}
			if err := s.expr(r); err != nil {
				return err
			}
		}
	case secExport:
		n, err := r.count(3)
		if err != nil {
			return err
		}
		if err := s.over("Exports", "exports", uint64(n), uint64(s.lim.Exports)); err != nil {
			return err
		}
		for i := uint32(0); i < n; i++ {
			if err := r.name(); err != nil {
				return err
			}
			if err := r.skip(1); err != nil {
				return err
			}
			if _, err := r.u32(); err != nil {
				return err
			}
		}
	case secElement:
		return s.elements(r)
	case secCode:
		return s.code(r)
	case secData:
		return s.data(r)
	}
	return nil
}

// custom reads a custom section: nothing compiles it, but wazero decodes
// the "name" section, allocating by its counts before it reads their
// items (a 22-byte name section made it allocate 6 GiB): the counts are
// checked against the section's bytes as everywhere else.
func (s *scanner) custom(r *reader) error {
	n, err := r.u32()
	if err != nil {
		return err
	}
	start := r.off
	if err := r.skip(uint64(n)); err != nil {
		return err
	}
	if string(r.b[start:r.off]) != "name" {
		r.off = r.end
		return nil
	}
	for r.left() > 0 {
		id, err := r.byte()
		if err != nil {
			return err
		}
		size, err := r.u32()
		if err != nil {
			return err
		}
		switch id {
		case 0: // the module's name
			err = r.name()
		case 1: // function names: index, name
			err = nameMap(r)
		case 2: // local names: function index, then a name map
			var k uint32
			if k, err = r.count(2); err == nil {
				for i := uint32(0); i < k && err == nil; i++ {
					if _, err = r.u32(); err == nil {
						err = nameMap(r)
					}
				}
			}
		default:
			err = r.skip(uint64(size))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func nameMap(r *reader) error {
	k, err := r.count(2)
	if err != nil {
		return err
	}
	for i := uint32(0); i < k; i++ {
		if _, err := r.u32(); err != nil {
			return err
		}
		if err := r.name(); err != nil {
			return err
		}
	}
	return nil
}

func (s *scanner) elements(r *reader) error {
	n, err := r.count(2)
	if err != nil {
		return err
	}
	if err := s.over("ElementSegs", "element segments", uint64(n), uint64(s.lim.ElementSegs)); err != nil {
		return err
	}
	for i := uint32(0); i < n; i++ {
		flags, err := r.u32()
		if err != nil {
			return err
		}
		if flags > 7 {
			return r.fail("element segment flags %d", flags)
		}
		if flags&3 == 2 { // an explicit table index
			if _, err := r.u32(); err != nil {
				return err
			}
		}
		if flags&1 == 0 { // active: an offset
			if err := s.expr(r); err != nil {
				return err
			}
		}
		if flags&3 != 0 { // an element kind or a reference type
			if _, err := r.byte(); err != nil {
				return err
			}
		}
		k, err := r.count(1)
		if err != nil {
			return err
		}
		s.sum.Elements += uint64(k)
		if err := s.over("Elements", "element segment entries", s.sum.Elements, s.lim.Elements); err != nil {
			return err
		}
		for j := uint32(0); j < k; j++ {
			if flags&4 == 0 {
				if _, err := r.u32(); err != nil {
					return err
				}
			} else if err := s.expr(r); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *scanner) data(r *reader) error {
	n, err := r.count(2)
	if err != nil {
		return err
	}
	if err := s.over("DataSegs", "data segments", uint64(n), uint64(s.lim.DataSegs)); err != nil {
		return err
	}
	for i := uint32(0); i < n; i++ {
		flags, err := r.u32()
		if err != nil {
			return err
		}
		switch flags {
		case 0:
			err = s.expr(r)
		case 1:
		case 2:
			if _, err = r.u32(); err == nil {
				err = s.expr(r)
			}
		default:
			return r.fail("data segment flags %d", flags)
		}
		if err != nil {
			return err
		}
		k, err := r.u32()
		if err != nil {
			return err
		}
		if err := r.skip(uint64(k)); err != nil {
			return err
		}
		s.sum.DataSize += uint64(k)
		if err := s.over("DataSize", "bytes of data segments", s.sum.DataSize, s.lim.DataSize); err != nil {
			return err
		}
	}
	return nil
}

// code reads the code section's structure: each body's size and locals,
// against the bounds. The bodies' instructions are walked once every
// section has been read (walkBodies), so that whatever the module
// declares anywhere (a data segment's length, a body's locals) is
// checked before a malformed instruction ends the scan: wazero's decoder
// allocates by those before it validates any instruction.
func (s *scanner) code(r *reader) error {
	n, err := r.count(1)
	if err != nil {
		return err
	}
	if n != s.defs {
		return r.fail("%d function bodies for %d functions", n, s.defs)
	}
	s.codeSec, s.bodies = *r, n
	for i := uint32(0); i < n; i++ {
		fn := s.sum.Imported + i
		size, err := r.u32()
		if err != nil {
			return err
		}
		if err := s.overIn("BodySize", "body, in bytes", int64(fn), uint64(size), uint64(s.lim.BodySize)); err != nil {
			return err
		}
		s.sum.CodeSize += uint64(size)
		if err := s.over("CodeSize", "bytes of function bodies", s.sum.CodeSize, s.lim.CodeSize); err != nil {
			return err
		}
		if uint64(size) > uint64(r.left()) {
			return r.short("a body of %d bytes, %d left", size, r.left())
		}
		s.sum.LargestBody = max(s.sum.LargestBody, size)
		body := &reader{b: r.b, off: r.off, end: r.off + int(size)}
		r.off = body.end
		locals, err := s.locals(body, fn)
		if err != nil {
			return err
		}
		s.sum.Locals = max(s.sum.Locals, locals)
		s.sum.AllLocals += locals
		if err := s.over("AllLocals", "locals of all functions", s.sum.AllLocals, s.lim.AllLocals); err != nil {
			return err
		}
	}
	r.off = r.end
	return nil
}

// locals reads a body's local declarations.
func (s *scanner) locals(r *reader, fn uint32) (uint64, error) {
	groups, err := r.count(2)
	if err != nil {
		return 0, err
	}
	var locals uint64
	for i := uint32(0); i < groups; i++ {
		k, err := r.u32()
		if err != nil {
			return 0, err
		}
		locals += uint64(k)
		if err := s.overIn("Locals", "locals", int64(fn), locals, s.lim.Locals); err != nil {
			return 0, err
		}
		if _, err := r.byte(); err != nil {
			return 0, err
		}
	}
	return locals, nil
}

// walkBodies walks the instructions of every body code read.
func (s *scanner) walkBodies() error {
	r := &s.codeSec
	for i := uint32(0); i < s.bodies; i++ {
		fn := s.sum.Imported + i
		size, _ := r.u32() // read once already: cannot fail
		body := &reader{b: r.b, off: r.off, end: r.off + int(size)}
		r.off = body.end
		if _, err := s.locals(body, fn); err != nil {
			return err
		}
		s.branches = 0
		if err := s.instructions(body, fn); err != nil {
			return err
		}
		if body.off != body.end {
			return body.fail("function %d has %d bytes after its end", fn, body.left())
		}
		b := uint64(s.branches)
		s.sum.Branches = max(s.sum.Branches, s.branches)
		s.sum.BranchWork += b * b
		if err := s.over("BranchWork", "sum of the squares of each function's branches", s.sum.BranchWork, s.lim.BranchWork); err != nil {
			return err
		}
	}
	return nil
}

func fnIndex(fn uint32) int64 {
	if fn == ^uint32(0) {
		return -1 // a constant expression
	}
	return int64(fn)
}

// expr walks a constant expression up to its end.
func (s *scanner) expr(r *reader) error { return s.instructions(r, ^uint32(0)) }

// instructions walks instructions until the end that closes the
// function (or the expression), tracking the nesting depth.
func (s *scanner) instructions(r *reader, fn uint32) error {
	var depth uint32
	for {
		op, err := r.byte()
		if err != nil {
			return err
		}
		if op >= 0x02 && op <= 0x05 || op >= 0x0c && op <= 0x0e {
			if s.branches++; s.lim.Branches != 0 && s.branches > s.lim.Branches {
				return s.overIn("Branches", "branches (block, loop, if, else, br, br_if, br_table targets)",
					fnIndex(fn), uint64(s.branches), uint64(s.lim.Branches))
			}
		}
		switch {
		case op == 0x02 || op == 0x03 || op == 0x04: // block, loop, if: a block type
			depth++
			if depth > s.sum.Nesting {
				s.sum.Nesting = depth
				if err := s.overIn("Nesting", "block nesting", fnIndex(fn), uint64(depth), uint64(s.lim.Nesting)); err != nil {
					return err
				}
			}
			err = r.sleb(33)
		case op == 0x0b: // end
			if depth == 0 {
				return nil
			}
			depth--
		case op <= 0x01, op == 0x05, op == 0x0f, op == 0x1a, op == 0x1b, op == 0xd1,
			op >= 0x45 && op <= 0xc4: // no immediate
		case op == 0x0c, op == 0x0d, op == 0x10, op == 0x12, op == 0xd2,
			op >= 0x20 && op <= 0x26: // one index
			_, err = r.u32()
		case op == 0x11, op == 0x13: // call_indirect, return_call_indirect: type, table
			if _, err = r.u32(); err == nil {
				_, err = r.u32()
			}
		case op == 0x0e: // br_table: targets and a default
			var k uint32
			if k, err = r.count(1); err == nil {
				if s.branches += k; s.lim.Branches != 0 && s.branches > s.lim.Branches {
					return s.overIn("Branches", "branches (block, loop, if, else, br, br_if, br_table targets)",
						fnIndex(fn), uint64(s.branches), uint64(s.lim.Branches))
				}
				for i := uint32(0); i <= k && err == nil; i++ {
					_, err = r.u32()
				}
			}
		case op == 0x1c: // select with types
			var k uint32
			if k, err = r.count(1); err == nil {
				err = r.skip(uint64(k))
			}
		case op >= 0x28 && op <= 0x3e: // loads and stores: align, offset
			err = memarg(r)
		case op == 0x3f, op == 0x40: // memory.size, memory.grow: a memory index
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
			err = s.misc(r)
		case op == 0xfd:
			err = simd(r)
		case op == 0xfe:
			err = atomic(r)
		default:
			return &FormatError{Offset: r.off - 1, Msg: fmt.Sprintf("unknown or unsupported opcode %#x", op)}
		}
		if err != nil {
			return err
		}
	}
}

func memarg(r *reader) error {
	if _, err := r.u32(); err != nil {
		return err
	}
	_, err := r.uleb(64) // memory64 offsets are wider; wasm32 ones fit
	return err
}

func (s *scanner) misc(r *reader) error {
	sub, err := r.u32()
	if err != nil {
		return err
	}
	switch {
	case sub <= 7: // saturating truncations
		return nil
	case sub == 9, sub == 13, sub == 16, sub == 17: // data.drop, elem.drop, table.size, table.fill
		_, err = r.u32()
	case sub == 15: // table.grow
		s.sum.TableGrow = true
		_, err = r.u32()
	case sub == 8, sub == 10, sub == 12, sub == 14: // memory.init, memory.copy, table.init, table.copy: two
		if _, err = r.u32(); err == nil {
			_, err = r.u32()
		}
	case sub == 11: // memory.fill
		_, err = r.u32()
	default:
		return r.fail("unknown 0xfc opcode %d", sub)
	}
	return err
}

func simd(r *reader) error {
	sub, err := r.u32()
	if err != nil {
		return err
	}
	switch {
	case sub <= 11, sub == 92, sub == 93: // loads, store, load_zero: memarg
		return memarg(r)
	case sub == 12, sub == 13: // v128.const, i8x16.shuffle
		return r.skip(16)
	case sub >= 21 && sub <= 34: // extract and replace lane: a lane
		return r.skip(1)
	case sub >= 84 && sub <= 91: // load and store lane: memarg, a lane
		if err := memarg(r); err != nil {
			return err
		}
		return r.skip(1)
	case sub <= 0xff:
		return nil
	}
	return r.fail("unknown 0xfd opcode %d", sub)
}

func atomic(r *reader) error {
	sub, err := r.u32()
	if err != nil {
		return err
	}
	switch {
	case sub == 3: // atomic.fence: a reserved byte
		return r.skip(1)
	case sub <= 2, sub >= 0x10 && sub <= 0x4e:
		return memarg(r)
	}
	return r.fail("unknown 0xfe opcode %d", sub)
}
