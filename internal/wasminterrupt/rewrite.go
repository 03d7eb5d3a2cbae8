// Package wasminterrupt instruments a WebAssembly module so that the host
// can interrupt it at the cost of a flag check.
//
// Rewrite adds two mutable i32 globals of its own after the module's
// globals, the flag and a countdown, and an empty table after its tables
// (so no index the module uses moves), exports the globals as Flag and
// Countdown, and puts a check at the entry of every function and at the
// head of every loop: every path that runs long (a loop, a recursion)
// passes one. At a function's entry the check decrements the countdown;
// when it reaches 0 (every Reload entries, or at once when the host
// zeroes it) it grows the empty table by nothing, a trip into wazero's Go
// code, then traps if the flag is set, and reloads the countdown. At a
// loop's head the check traps if the flag is set, and counts down a local
// of its own (added to the function, a register: a global's load and
// store would chain the loop's iterations), making the same trip into Go
// every Reload iterations. The trip is what lets the Go runtime stop the
// guest's goroutine for a garbage collection: compiled guest code is
// never preempted, and a guest that ran without one would stop every
// goroutine of the process, the host's watchdog with them, at the next
// collection. The guest cannot clear the flag: its code was
// written against a module in which those indices did not exist, and
// Rewrite refuses a module whose code, constant expressions or exports
// name a global (or a table) at or past the original count (the validator
// would too), so no instruction of the guest reaches them. A module's start
// section runs inside wazero's instantiation, before the host could reach
// the flag: Rewrite removes it and exports the start function as Start,
// for the host to call once the flag is armed.
//
// Rewrite decodes every instruction against an allowlist, the features
// the wasm runtime enables in wazero (core 2.0: sign extension,
// saturating conversions, bulk memory, multi-value, reference types,
// SIMD); an opcode outside it is refused with its name, never skipped, so
// no loop can hide behind an instruction the decoder misread. The input is
// a module internal/wasmscan accepted, which bounds its size and its
// loops; Rewrite is linear in the input, and the output is at most
// MaxGrowth(functions, loops) bytes larger: CheckSize bytes per check, 4
// more per body for its size and its added local, and a fixed amount for
// the sections it adds.
// Every other section is copied byte for byte.
//
// This is a rewriter of the project's own (no binary toolkit is a
// dependency): it reads only what it must to find function bodies and
// loops, with every length and count checked against the bytes left.
package wasminterrupt

import (
	"errors"
	"fmt"
)

// Flag is the name under which the interrupt flag is exported: a module
// that exports this name itself is refused. Start is the export of the
// module's start function, when it had a start section.
const (
	Flag      = "clawd.interrupt"
	Countdown = "clawd.countdown"
	Start     = "clawd.start"
)

// CheckSize is the most bytes one check takes, with 5-byte indices.
const CheckSize = 72

// Reload is what the countdowns start at and are reloaded with: how many
// function entries, or iterations of one loop, run between two trips into
// Go.
const Reload = 1 << 12

// fixedGrowth bounds the bytes of the sections and entries Rewrite adds
// or grows besides the checks: the globals, the table, the exports (three
// entries, names included) and the code section's size and count.
const fixedGrowth = 128

// MaxGrowth bounds how many bytes Rewrite adds to a module with the given
// defined functions and loops.
func MaxGrowth(functions, loops uint64) uint64 {
	return CheckSize*(functions+loops) + 11*functions + fixedGrowth
}

// ErrReserved is a module that already exports Flag, Countdown or Start.
var ErrReserved = errors.New("the module exports a name the host reserves")

// ErrUnsupported is an instruction outside the allowlist.
var ErrUnsupported = errors.New("an instruction this host does not run")

// ErrGlobalIndex is an instruction or an export that names a global past
// the module's own.
var ErrGlobalIndex = errors.New("a global index past the module's globals")

// Error is a module Rewrite refuses: what is wrong, at which byte.
type Error struct {
	Offset int
	Msg    string
	Kind   error // ErrReserved, ErrUnsupported, ErrGlobalIndex or nil (malformed)
}

func (e *Error) Error() string {
	return fmt.Sprintf("instrumenting the module for deadlines, at byte %d: %s", e.Offset, e.Msg)
}

func (e *Error) Unwrap() error { return e.Kind }

// Section ids.
const (
	secCustom    = 0
	secType      = 1
	secImport    = 2
	secFunction  = 3
	secTable     = 4
	secGlobal    = 6
	secExport    = 7
	secStart     = 8
	secElement   = 9
	secCode      = 10
	secData      = 11
	secDataCount = 12
)

// rank is a section's place in the order the binary format prescribes
// (the data count section comes before code); custom sections have none.
func rank(id byte) int {
	switch {
	case id == secDataCount:
		return 10
	case id == secCode, id == secData:
		return int(id) + 1
	}
	return int(id)
}

type section struct {
	id         byte
	head       int // the id's offset
	start, end int // the content
}

// Rewrite returns bin instrumented (see the package doc), or an *Error.
func Rewrite(bin []byte) ([]byte, error) {
	r := &reader{b: bin, end: len(bin)}
	if len(bin) < 8 || string(bin[:4]) != "\x00asm" || string(bin[4:8]) != "\x01\x00\x00\x00" {
		return nil, r.fail("not a WebAssembly binary of version 1")
	}
	r.off = 8
	var secs []section
	last := 0
	for r.off < r.end {
		head := r.off
		id, err := r.byte()
		if err != nil {
			return nil, err
		}
		size, err := r.u32()
		if err != nil {
			return nil, err
		}
		if uint64(size) > uint64(r.left()) {
			return nil, r.fail("section %d of %d bytes, %d left", id, size, r.left())
		}
		if id > secDataCount {
			return nil, r.fail("unknown section id %d", id)
		}
		if id != secCustom {
			if rank(id) <= last {
				return nil, r.fail("section %d out of order or repeated", id)
			}
			last = rank(id)
		}
		secs = append(secs, section{id: id, head: head, start: r.off, end: r.off + int(size)})
		r.off += int(size)
	}

	m := &module{bin: bin}
	for _, s := range secs {
		sr := &reader{b: bin, off: s.start, end: s.end}
		var err error
		switch s.id {
		case secImport:
			err = m.imports(sr)
		case secGlobal:
			err = m.globalCount(sr)
		case secTable:
			m.definedTables, err = sr.count(3)
		case secType:
			err = m.types(sr)
		case secFunction:
			err = m.functions(sr)
		}
		if err != nil {
			return nil, err
		}
	}
	m.flag = m.importedGlobals + m.definedGlobals
	m.countdown = m.flag + 1
	m.table = m.importedTables + m.definedTables
	for _, s := range secs {
		sr := &reader{b: bin, off: s.start, end: s.end}
		var err error
		switch s.id {
		case secGlobal:
			err = m.globals(sr)
		case secExport:
			err = m.exports(sr)
		case secStart:
			var f uint32
			if f, err = sr.u32(); err == nil {
				m.start, m.hasStart = f, true
			}
		case secElement:
			err = m.elements(sr)
		case secData:
			err = m.data(sr)
		case secCode:
			err = m.code(sr)
		default:
			continue
		}
		if err == nil && sr.off != sr.end {
			err = sr.fail("section %d has %d bytes after its content", s.id, sr.left())
		}
		if err != nil {
			return nil, err
		}
	}
	return m.write(secs), nil
}

type module struct {
	bin             []byte
	importedGlobals uint32
	definedGlobals  uint32
	flag            uint32 // the flag's index: the first past the module's globals
	countdown       uint32 // the countdown's, after it
	importedTables  uint32
	definedTables   uint32
	table           uint32 // the empty table's index: the first past the module's tables
	exportCount     uint32
	start           uint32
	hasStart        bool

	typeParams []uint32 // each type's parameter count
	funcTypes  []uint32 // each defined function's type

	// The code section, instrumented: bodies[i] is body i, and at[i]
	// where its checks go (offsets into bin, ascending; the first is past
	// the locals, the function's entry).
	bodies []bodyInfo
	at     [][]int
	loops  uint64
}

type bodyInfo struct {
	start, end int    // the body, past its size
	locals     int    // where its local groups start, past their count
	groups     uint32 // how many
	counter    uint32 // the local the rewriter adds: the loops' countdown
}

func (m *module) types(r *reader) error {
	n, err := r.count(3)
	if err != nil {
		return err
	}
	m.typeParams = make([]uint32, 0, n)
	for i := uint32(0); i < n; i++ {
		if c, err := r.byte(); err != nil {
			return err
		} else if c != 0x60 {
			return r.fail("type %d is not a function type (%#x)", i, c)
		}
		k, err := r.count(1)
		if err != nil {
			return err
		}
		if err := r.skip(uint64(k)); err != nil {
			return err
		}
		m.typeParams = append(m.typeParams, k)
		if k, err = r.count(1); err != nil {
			return err
		}
		if err := r.skip(uint64(k)); err != nil {
			return err
		}
	}
	return nil
}

func (m *module) functions(r *reader) error {
	n, err := r.count(1)
	if err != nil {
		return err
	}
	m.funcTypes = make([]uint32, 0, n)
	for i := uint32(0); i < n; i++ {
		t, err := r.u32()
		if err != nil {
			return err
		}
		m.funcTypes = append(m.funcTypes, t)
	}
	return nil
}

func (m *module) imports(r *reader) error {
	n, err := r.count(4)
	if err != nil {
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
		case 0: // a function: its type
			_, err = r.u32()
		case 1: // a table: a reference type, limits
			if _, err = r.byte(); err == nil {
				err = r.limits()
			}
			m.importedTables++
		case 2:
			err = r.limits()
		case 3: // a global: a value type, mutability
			err = r.skip(2)
			m.importedGlobals++
		default:
			return r.fail("import kind %d", kind)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (m *module) globalCount(r *reader) error {
	n, err := r.count(3)
	m.definedGlobals = n
	return err
}

func (m *module) globals(r *reader) error {
	n, err := r.count(3)
	if err != nil {
		return err
	}
	for i := uint32(0); i < n; i++ {
		if err := r.skip(2); err != nil {
			return err
		}
		if err := m.expr(r); err != nil {
			return err
		}
	}
	return nil
}

func (m *module) exports(r *reader) error {
	n, err := r.count(3)
	if err != nil {
		return err
	}
	m.exportCount = n
	for i := uint32(0); i < n; i++ {
		at := r.off
		k, err := r.u32()
		if err != nil {
			return err
		}
		if err := r.skip(uint64(k)); err != nil {
			return err
		}
		if name := string(r.b[r.off-int(k) : r.off]); name == Flag || name == Countdown || name == Start {
			return &Error{Offset: at, Kind: ErrReserved, Msg: fmt.Sprintf(
				"the module exports %q, a name the host reserves for its own use: rename that export", name)}
		}
		kind, err := r.byte()
		if err != nil {
			return err
		}
		idx, err := r.u32()
		if err != nil {
			return err
		}
		if kind == 3 && idx >= m.flag {
			return &Error{Offset: at, Kind: ErrGlobalIndex, Msg: fmt.Sprintf(
				"an export names global %d, past the module's %d globals", idx, m.flag)}
		}
		if kind == 1 && idx >= m.table {
			return &Error{Offset: at, Kind: ErrGlobalIndex, Msg: fmt.Sprintf(
				"an export names table %d, past the module's %d tables", idx, m.table)}
		}
	}
	return nil
}

func (m *module) elements(r *reader) error {
	n, err := r.count(2)
	if err != nil {
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
			if err := m.tableIndex(r); err != nil {
				return err
			}
		}
		if flags&1 == 0 { // active: an offset
			if err := m.expr(r); err != nil {
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
		for j := uint32(0); j < k; j++ {
			if flags&4 == 0 {
				_, err = r.u32()
			} else {
				err = m.expr(r)
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

func (m *module) data(r *reader) error {
	n, err := r.count(2)
	if err != nil {
		return err
	}
	for i := uint32(0); i < n; i++ {
		flags, err := r.u32()
		if err != nil {
			return err
		}
		switch flags {
		case 0:
			err = m.expr(r)
		case 1:
		case 2:
			if _, err = r.u32(); err == nil {
				err = m.expr(r)
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
	}
	return nil
}

// expr walks a constant expression to its end (its global indices are
// checked like the code's).
func (m *module) expr(r *reader) error {
	_, err := m.walk(r, nil)
	return err
}

func (m *module) code(r *reader) error {
	n, err := r.count(2)
	if err != nil {
		return err
	}
	if int(n) != len(m.funcTypes) {
		return r.fail("%d function bodies for %d functions", n, len(m.funcTypes))
	}
	m.bodies = make([]bodyInfo, 0, n)
	m.at = make([][]int, 0, n)
	for i := uint32(0); i < n; i++ {
		size, err := r.u32()
		if err != nil {
			return err
		}
		if uint64(size) > uint64(r.left()) {
			return r.fail("function body %d of %d bytes, %d left", i, size, r.left())
		}
		body := &reader{b: r.b, off: r.off, end: r.off + int(size)}
		r.off = body.end
		groups, err := body.count(2)
		if err != nil {
			return err
		}
		locals := body.off
		t := m.funcTypes[i]
		if int(t) >= len(m.typeParams) {
			return r.fail("function body %d has type %d, past the %d types", i, t, len(m.typeParams))
		}
		all := uint64(m.typeParams[t])
		for j := uint32(0); j < groups; j++ {
			k, err := body.u32()
			if err != nil {
				return err
			}
			all += uint64(k)
			if _, err := body.byte(); err != nil {
				return err
			}
		}
		if all >= 1<<31 {
			return body.fail("function body %d has %d locals", i, all)
		}
		at, err := m.walk(body, []int{body.off})
		if err != nil {
			return err
		}
		if body.off != body.end {
			return body.fail("function body %d has %d bytes after its end", i, body.left())
		}
		m.loops += uint64(len(at) - 1)
		m.bodies = append(m.bodies, bodyInfo{start: r.off - int(size), end: r.off, locals: locals, groups: groups, counter: uint32(all)})
		m.at = append(m.at, at)
	}
	return nil
}

// check is the instrumentation at a function's entry:
//
//	global.get $countdown; i32.const 1; i32.lt_s
//	if
//	  ref.null func; i32.const 0; table.grow $empty; drop  ;; into Go
//	  global.get $flag; if; unreachable; end
//	  i32.const Reload; global.set $countdown
//	end
//	global.get $countdown; i32.const -1; i32.add; global.set $countdown
//
// "Less than 1", not "equal to 0": the host zeroes the countdown while
// the guest may be between its read and its write, which can leave it
// at -1, never at a value that would let the guest run on for 2^32
// checks.
func (m *module) check(b []byte) []byte {
	b = append(b, 0x23)
	b = appendU32(b, m.countdown)
	b = append(b, 0x41, 0x01, 0x48, 0x04, 0x40, 0xd0, 0x70, 0x41, 0x00, 0xfc, 0x0f)
	b = appendU32(b, m.table)
	b = append(b, 0x1a, 0x23)
	b = appendU32(b, m.flag)
	b = append(b, 0x04, 0x40, 0x00, 0x0b, 0x41)
	b = appendS32(b, Reload)
	b = append(b, 0x24)
	b = appendU32(b, m.countdown)
	b = append(b, 0x0b, 0x23)
	b = appendU32(b, m.countdown)
	b = append(b, 0x41, 0x7f, 0x6a, 0x24)
	return appendU32(b, m.countdown)
}

// tableIndex reads a table index and refuses the empty table's.
func (m *module) tableIndex(r *reader) error {
	at := r.off
	t, err := r.u32()
	if err == nil && t >= m.table {
		return &Error{Offset: at, Kind: ErrGlobalIndex, Msg: fmt.Sprintf("table %d, past the module's %d tables", t, m.table)}
	}
	return err
}

// write assembles the output: every section as it was but the global,
// export, start and code sections; the global and export sections are
// added where the order puts them if the module has none.
func (m *module) write(secs []section) []byte {
	check := m.check(nil)
	extra := MaxGrowth(uint64(len(m.bodies)), m.loops)
	out := make([]byte, 0, uint64(len(m.bin))+extra)
	out = append(out, m.bin[:8]...)
	var sawTable, sawGlobal, sawExport bool
	var content []byte
	emit := func(id byte, c []byte) {
		out = append(out, id)
		out = appendU32(out, uint32(len(c)))
		out = append(out, c...)
	}
	for _, s := range secs {
		if s.id != secCustom && rank(s.id) > rank(secTable) && !sawTable {
			emit(secTable, m.tableSection(nil, nil))
			sawTable = true
		}
		if s.id != secCustom && rank(s.id) > rank(secGlobal) && !sawGlobal {
			emit(secGlobal, m.globalSection(nil, nil))
			sawGlobal = true
		}
		if s.id != secCustom && rank(s.id) > rank(secExport) && !sawExport {
			emit(secExport, m.exportSection(nil, nil))
			sawExport = true
		}
		c := m.bin[s.start:s.end]
		switch s.id {
		case secTable:
			content = m.tableSection(content[:0], c)
			emit(s.id, content)
			sawTable = true
		case secGlobal:
			content = m.globalSection(content[:0], c)
			emit(s.id, content)
			sawGlobal = true
		case secExport:
			content = m.exportSection(content[:0], c)
			emit(s.id, content)
			sawExport = true
		case secStart: // exported as Start instead
		case secCode:
			content = m.codeSection(content[:0], check)
			emit(s.id, content)
		default:
			out = append(out, m.bin[s.head:s.end]...)
		}
	}
	if !sawTable {
		emit(secTable, m.tableSection(nil, nil))
	}
	if !sawGlobal {
		emit(secGlobal, m.globalSection(nil, nil))
	}
	if !sawExport {
		emit(secExport, m.exportSection(nil, nil))
	}
	return out
}

// tableSection is the table section c (nil: none) with the empty table
// appended: funcref, at most 0 elements.
func (m *module) tableSection(b, c []byte) []byte {
	b = appendU32(b, m.definedTables+1)
	if c != nil {
		r := reader{b: c, end: len(c)}
		_, _ = r.u32() // read before: cannot fail
		b = append(b, c[r.off:]...)
	}
	return append(b, 0x70, 0x01, 0x00, 0x00)
}

// globalSection is the global section c (nil: none) with the flag and
// the countdown appended: (mut i32), 0 and Reload.
func (m *module) globalSection(b, c []byte) []byte {
	b = appendU32(b, m.definedGlobals+2)
	if c != nil {
		r := reader{b: c, end: len(c)}
		_, _ = r.u32()
		b = append(b, c[r.off:]...)
	}
	b = append(b, 0x7f, 0x01, 0x41, 0x00, 0x0b, 0x7f, 0x01, 0x41)
	return append(appendS32(b, Reload), 0x0b)
}

// exportSection is the export section c (nil: none) with the flag's
// export, and the start function's if there was one.
func (m *module) exportSection(b, c []byte) []byte {
	n := m.exportCount + 2
	if m.hasStart {
		n++
	}
	b = appendU32(b, n)
	if c != nil {
		r := reader{b: c, end: len(c)}
		_, _ = r.u32()
		b = append(b, c[r.off:]...)
	}
	b = appendName(b, Flag)
	b = append(b, 3)
	b = appendU32(b, m.flag)
	b = appendName(b, Countdown)
	b = append(b, 3)
	b = appendU32(b, m.countdown)
	if m.hasStart {
		b = appendName(b, Start)
		b = append(b, 0)
		b = appendU32(b, m.start)
	}
	return b
}

// codeSection is the code section with each body instrumented: a local
// added (an i32, the loops' countdown), the entry check, and the loop
// check at each loop's head.
func (m *module) codeSection(b, entry []byte) []byte {
	b = appendU32(b, uint32(len(m.bodies)))
	var nb, loop []byte
	for i, body := range m.bodies {
		at := m.at[i]
		nb = appendU32(nb[:0], body.groups+1)
		nb = append(nb, m.bin[body.locals:at[0]]...)
		nb = append(nb, 0x01, 0x7f)
		nb = append(nb, entry...)
		nb = append(nb, 0x41) // the loops' countdown starts full
		nb = appendS32(nb, Reload)
		nb = append(nb, 0x21)
		nb = appendU32(nb, body.counter)
		loop = m.loopCheck(loop[:0], body.counter)
		from := at[0]
		for _, a := range at[1:] {
			nb = append(nb, m.bin[from:a]...)
			nb = append(nb, loop...)
			from = a
		}
		nb = append(nb, m.bin[from:body.end]...)
		b = appendU32(b, uint32(len(nb)))
		b = append(b, nb...)
	}
	return b
}

// loopCheck is the check at a loop's head, with the function's countdown
// in local n (a register: no load and store per iteration as a global's
// would be):
//
//	global.get $flag; if; unreachable; end
//	local.get n; i32.const 1; i32.sub; local.tee n; i32.eqz
//	if
//	  ref.null func; i32.const 0; table.grow $empty; drop  ;; into Go
//	  i32.const Reload; local.set n
//	end
func (m *module) loopCheck(b []byte, n uint32) []byte {
	b = append(b, 0x23)
	b = appendU32(b, m.flag)
	b = append(b, 0x04, 0x40, 0x00, 0x0b, 0x20)
	b = appendU32(b, n)
	b = append(b, 0x41, 0x01, 0x6b, 0x22)
	b = appendU32(b, n)
	b = append(b, 0x45, 0x04, 0x40, 0xd0, 0x70, 0x41, 0x00, 0xfc, 0x0f)
	b = appendU32(b, m.table)
	b = append(b, 0x1a, 0x41)
	b = appendS32(b, Reload)
	b = append(b, 0x21)
	b = appendU32(b, n)
	return append(b, 0x0b)
}

func appendU32(b []byte, v uint32) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

// appendS32 appends v as a signed LEB128.
func appendS32(b []byte, v int32) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v == 0 && c&0x40 == 0 || v == -1 && c&0x40 != 0 {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func appendName(b []byte, s string) []byte {
	b = appendU32(b, uint32(len(s)))
	return append(b, s...)
}
