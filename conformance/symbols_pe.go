package conformance

import (
	"bytes"
	"debug/pe"
	"encoding/binary"
	"errors"
	"fmt"
)

// A PE file's export directory (IMAGE_EXPORT_DIRECTORY), the fields read.
type peExportDir struct {
	_                     [12]byte // Characteristics, TimeDateStamp, versions
	Name                  uint32
	Base                  uint32
	NumberOfFunctions     uint32
	NumberOfNames         uint32
	AddressOfFunctions    uint32
	AddressOfNames        uint32
	AddressOfNameOrdinals uint32
}

// Bounds on what a library may claim: a plugin is hostile input.
const (
	peMaxExports = 1 << 16
	peMaxName    = 4 << 10
)

// peSymbols lists a DLL's exported names: a PE file lists its exports in
// one table, so there is nothing hidden to find (an unexported function
// has no name in the file). A name is a function when its address is in
// an executable section; a forwarder (an address inside the export table)
// is not.
func peSymbols(path string) ([]symbol, error) {
	f, err := pe.Open(path)
	if err != nil {
		return nil, errFormat
	}
	defer f.Close()
	var dir pe.DataDirectory
	switch oh := f.OptionalHeader.(type) {
	case *pe.OptionalHeader64:
		if oh.NumberOfRvaAndSizes > pe.IMAGE_DIRECTORY_ENTRY_EXPORT {
			dir = oh.DataDirectory[pe.IMAGE_DIRECTORY_ENTRY_EXPORT]
		}
	case *pe.OptionalHeader32:
		if oh.NumberOfRvaAndSizes > pe.IMAGE_DIRECTORY_ENTRY_EXPORT {
			dir = oh.DataDirectory[pe.IMAGE_DIRECTORY_ENTRY_EXPORT]
		}
	default:
		return nil, errFormat
	}
	if dir.VirtualAddress == 0 || dir.Size == 0 {
		return nil, nil // exports nothing
	}
	raw, err := peRead(f, dir.VirtualAddress, uint32(binary.Size(peExportDir{})))
	if err != nil {
		return nil, fmt.Errorf("export directory: %w", err)
	}
	var ed peExportDir
	if err := binary.Read(bytes.NewReader(raw), binary.LittleEndian, &ed); err != nil {
		return nil, err
	}
	if ed.NumberOfNames > peMaxExports || ed.NumberOfFunctions > peMaxExports {
		return nil, fmt.Errorf("export directory claims %d names and %d functions, more than %d", ed.NumberOfNames, ed.NumberOfFunctions, peMaxExports)
	}
	n := ed.NumberOfNames
	names, err := peRead(f, ed.AddressOfNames, 4*n)
	if err != nil {
		return nil, fmt.Errorf("export names: %w", err)
	}
	ords, err := peRead(f, ed.AddressOfNameOrdinals, 2*n)
	if err != nil {
		return nil, fmt.Errorf("export ordinals: %w", err)
	}
	funcs, err := peRead(f, ed.AddressOfFunctions, 4*ed.NumberOfFunctions)
	if err != nil {
		return nil, fmt.Errorf("export addresses: %w", err)
	}
	out := make([]symbol, 0, n)
	for i := range n {
		name, err := peString(f, binary.LittleEndian.Uint32(names[4*i:]))
		if err != nil {
			return nil, fmt.Errorf("export name %d: %w", i, err)
		}
		s := symbol{name: name, exported: true}
		if ord := uint32(binary.LittleEndian.Uint16(ords[2*i:])); ord < ed.NumberOfFunctions {
			rva := binary.LittleEndian.Uint32(funcs[4*ord:])
			forwarder := rva >= dir.VirtualAddress && rva-dir.VirtualAddress < dir.Size
			if sec := peSection(f, rva); sec != nil && !forwarder {
				s.function = sec.Characteristics&pe.IMAGE_SCN_MEM_EXECUTE != 0
			}
		}
		out = append(out, s)
	}
	return out, nil
}

// peSection is the section that holds rva, or nil.
func peSection(f *pe.File, rva uint32) *pe.Section {
	for _, s := range f.Sections {
		size := max(s.VirtualSize, s.Size)
		if rva >= s.VirtualAddress && rva-s.VirtualAddress < size {
			return s
		}
	}
	return nil
}

// peRead reads n bytes at rva from the file's section data, bounded by it.
func peRead(f *pe.File, rva, n uint32) ([]byte, error) {
	s := peSection(f, rva)
	if s == nil {
		return nil, fmt.Errorf("address %#x is in no section", rva)
	}
	off := rva - s.VirtualAddress
	if off > s.Size || n > s.Size-off {
		return nil, fmt.Errorf("%d bytes at %#x run past section %s", n, rva, s.Name)
	}
	b := make([]byte, n)
	if _, err := s.ReadAt(b, int64(off)); err != nil {
		return nil, err
	}
	return b, nil
}

// peString reads a NUL-terminated name at rva, at most peMaxName bytes.
func peString(f *pe.File, rva uint32) (string, error) {
	s := peSection(f, rva)
	if s == nil {
		return "", fmt.Errorf("address %#x is in no section", rva)
	}
	off := rva - s.VirtualAddress
	if off >= s.Size {
		return "", fmt.Errorf("address %#x is past section %s's data", rva, s.Name)
	}
	b := make([]byte, min(peMaxName, s.Size-off))
	k, err := s.ReadAt(b, int64(off))
	if k == 0 && err != nil {
		return "", err
	}
	if i := bytes.IndexByte(b[:k], 0); i >= 0 {
		return string(b[:i]), nil
	}
	return "", errors.New("name without a NUL within its bound")
}
