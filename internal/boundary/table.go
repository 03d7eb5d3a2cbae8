package boundary

import (
	"fmt"

	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/cabi"
	"github.com/clawd-go/clawd/internal/semver"
)

// MaxString bounds a plugin's name and version: their NUL must be within
// the first MaxString bytes, so each has at most MaxString-1 bytes.
const MaxString = 256

// RawTable is the fields of a plugin's ClawaPlugin that the checks read,
// as a runtime copied them out of the plugin's memory in its own layout
// (pointers are addresses in that memory).
type RawTable struct {
	ABIVersion    uint32
	Reserved      [cabi.Reserved]uint64
	Name, Version uint64
}

// Table is what the checks make of a RawTable.
type Table struct {
	ABIVersion  uint32
	Name        string // "" when the plugin left it NULL
	Version     string // "" when the plugin left it NULL
	NameNull    bool
	VersionNull bool
	Warnings    []string // what loads but is not right (NULL name, non-semver version)
}

// CheckTable is the one check of a ClawaPlugin, for every runtime: the
// ABI version, the reserved slots, the name and version read from m with
// the bound MaxString, as UTF-8 (DESIGN: only what breaks the ABI or
// cannot be read safely is refused; a NULL or empty name, a NULL or
// non-semver version loads with a warning). who names the plugin in
// errors (its path: the name is not known yet). The error is a
// *clawerr.Error with code abi_mismatch, reserved_slot_set, bad_name or
// bad_version.
func CheckTable[M Memory](m M, raw RawTable, who string) (*Table, error) {
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
	t := &Table{ABIVersion: raw.ABIVersion}
	var err error
	if raw.Name == 0 {
		t.NameNull = true
		t.Warnings = append(t.Warnings, "name is NULL")
	} else if t.Name, err = String(m, raw.Name, MaxString); err != nil {
		return nil, clawerr.New(clawerr.BadName, who, "read vtable", fmt.Sprintf("name (bound %d bytes)", MaxString), err)
	} else if t.Name == "" {
		t.Warnings = append(t.Warnings, "name is empty")
	}
	if raw.Version == 0 {
		t.VersionNull = true
		t.Warnings = append(t.Warnings, "version is NULL")
	} else if t.Version, err = String(m, raw.Version, MaxString); err != nil {
		return nil, clawerr.New(clawerr.BadVersion, who, "read vtable", fmt.Sprintf("version (bound %d bytes)", MaxString), err)
	} else if !semver.Valid(t.Version) {
		t.Warnings = append(t.Warnings, fmt.Sprintf("version %q is not semver 2.0", t.Version))
	}
	return t, nil
}
