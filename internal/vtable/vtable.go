// Package vtable reads and checks a ClawaPlugin table in the plugin's
// memory, and calls its callbacks.
//
// Read copies the table once, at load, under a fault guard: a wild pointer
// in the table yields an error, not a crash. Its strings are read with a
// bound (MaxString bytes), checked as UTF-8 and copied. After Read the host
// never looks at the plugin's table again, so a plugin that later changes
// its table cannot change what the host believes.
//
// The callers (CallInit, Call0, CallUnload, Call1, Call3) are the only way
// the host enters plugin code. They take plain addresses, allocate nothing
// and return the raw 32-bit ClawaError. Call1 and Call3 take their strings
// staged in one C buffer (clawctx.Call.Stage3), check them for an interior
// NUL and terminate them; with cgo that happens in C, inside the one cgo
// call, where memchr costs a third of a Go scan. With cgo they go through a
// small C shim; without cgo through purego.SyscallN. Both behave the same.
package vtable

import (
	"fmt"
	"unsafe"

	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/boundary"
	"github.com/clawd-go/clawd/internal/cabi"
	"github.com/clawd-go/clawd/internal/foreign"
)

// MaxString bounds the name and version (boundary.MaxString).
const MaxString = boundary.MaxString

// Table is a checked copy of a plugin's ClawaPlugin.
type Table struct {
	Addr           uintptr                   // where the plugin's table lives
	boundary.Table                           // the checked fields
	Callbacks      [abi.NumCallbacks]uintptr // function pointers, 0 if not set
}

// Has reports whether callback c is set.
func (t *Table) Has(c abi.Callback) bool { return int(c) < len(t.Callbacks) && t.Callbacks[c] != 0 }

// Read copies and checks the table at addr. who names the plugin in errors
// (its path, as the name is not known yet). The error is a *clawerr.Error
// with code abi_mismatch, reserved_slot_set, bad_name or bad_version.
func Read(addr uintptr, who string) (*Table, error) {
	var raw cabi.Plugin
	if err := foreign.Copy(unsafe.Pointer(&raw), addr, int(unsafe.Sizeof(raw))); err != nil {
		return nil, clawerr.New(clawerr.ABIMismatch, who, "read vtable", fmt.Sprintf("cannot read the ClawaPlugin table at %#x", addr), err)
	}
	rt := boundary.RawTable{ABIVersion: raw.ABIVersion, Name: uint64(raw.Name), Version: uint64(raw.Version)}
	for i, r := range raw.Reserved {
		rt.Reserved[i] = uint64(r)
	}
	checked, err := boundary.CheckTable(foreign.Memory{}, rt, who)
	if err != nil {
		return nil, err
	}
	t := &Table{Addr: addr, Table: *checked}
	for c := abi.Callback(0); c < abi.NumCallbacks; c++ {
		t.Callbacks[c] = raw.Callback(c)
	}
	return t, nil
}

// List is the callbacks that are set, in table order.
func (t *Table) List() []abi.Callback {
	var cbs []abi.Callback
	for c := abi.Callback(0); c < abi.NumCallbacks; c++ {
		if t.Has(c) {
			cbs = append(cbs, c)
		}
	}
	return cbs
}
