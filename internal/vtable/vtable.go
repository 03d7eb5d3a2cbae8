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
	"github.com/clawd-go/clawd/internal/foreign"
	"github.com/clawd-go/clawd/internal/semver"
)

// MaxString bounds the name and version: their NUL must be within the
// first MaxString bytes, so each has at most MaxString-1 bytes.
const MaxString = 256

// Table is a checked copy of a plugin's ClawaPlugin.
type Table struct {
	Addr        uintptr // where the plugin's table lives
	ABIVersion  uint32
	Name        string // "" when the plugin left it NULL
	Version     string // "" when the plugin left it NULL
	NameNull    bool
	VersionNull bool
	Callbacks   [abi.NumCallbacks]uintptr // function pointers, 0 if not set
	Warnings    []string                  // what loads but is not right (NULL name, non-semver version)
}

// Has reports whether callback c is set.
func (t *Table) Has(c abi.Callback) bool { return int(c) < len(t.Callbacks) && t.Callbacks[c] != 0 }

// Read copies and checks the table at addr. who names the plugin in errors
// (its path, as the name is not known yet). The error is a *clawerr.Error
// with code abi_mismatch, reserved_slot_set, bad_name or bad_version.
func Read(addr uintptr, who string) (*Table, error) {
	var raw abi.Plugin
	if err := foreign.Copy(unsafe.Pointer(&raw), addr, int(unsafe.Sizeof(raw))); err != nil {
		return nil, clawerr.New(clawerr.ABIMismatch, who, "read vtable", fmt.Sprintf("cannot read the ClawaPlugin table at %#x", addr), err)
	}
	if raw.ABIVersion != abi.Version {
		return nil, clawerr.New(clawerr.ABIMismatch, who, "read vtable",
			fmt.Sprintf("abi_version is %d, this host speaks %d", raw.ABIVersion, abi.Version), nil)
	}
	for i, r := range raw.Reserved {
		if r != 0 {
			return nil, clawerr.New(clawerr.ReservedSlotSet, who, "read vtable",
				fmt.Sprintf("_reserved[%d] is %#x, must be NULL", i, r), nil)
		}
	}
	t := &Table{Addr: addr, ABIVersion: raw.ABIVersion}
	for c := abi.Callback(0); c < abi.NumCallbacks; c++ {
		t.Callbacks[c] = raw.Callback(c)
	}
	var err error
	if raw.Name == 0 {
		t.NameNull = true
		t.Warnings = append(t.Warnings, "name is NULL")
	} else if t.Name, err = foreign.String(raw.Name, MaxString); err != nil {
		return nil, clawerr.New(clawerr.BadName, who, "read vtable", fmt.Sprintf("name (bound %d bytes)", MaxString), err)
	} else if t.Name == "" {
		t.Warnings = append(t.Warnings, "name is empty")
	}
	if raw.Version == 0 {
		t.VersionNull = true
		t.Warnings = append(t.Warnings, "version is NULL")
	} else if t.Version, err = foreign.String(raw.Version, MaxString); err != nil {
		return nil, clawerr.New(clawerr.BadVersion, who, "read vtable", fmt.Sprintf("version (bound %d bytes)", MaxString), err)
	} else if !semver.Valid(t.Version) {
		t.Warnings = append(t.Warnings, fmt.Sprintf("version %q is not semver 2.0", t.Version))
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
