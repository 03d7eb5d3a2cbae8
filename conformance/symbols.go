package conformance

import (
	"debug/elf"
	"debug/macho"
	"errors"
	"os"
	"strings"
)

// errFormat: the file is neither ELF nor Mach-O, whose symbol tables the
// export checks read.
var errFormat = errors.New("not an ELF or Mach-O file")

// stbGNUUnique is STB_GNU_UNIQUE, which debug/elf does not name: a C++
// inline static, exported like a global.
const stbGNUUnique = elf.SymBind(10)

// symbol is one dynamic symbol the library defines.
type symbol struct {
	name     string
	function bool
	exported bool // in the export table with default (or protected) visibility
}

// librarySymbols lists the symbols the library defines: the exported ones
// from the dynamic symbol table, and, when the file is not stripped, the
// hidden ones too (so that a hidden clawd_plugin_init can be pointed out).
func librarySymbols(path string) ([]symbol, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var magic [4]byte
	if _, err := f.ReadAt(magic[:], 0); err != nil {
		return nil, errFormat
	}
	if string(magic[:]) == elf.ELFMAG {
		return elfSymbols(path)
	}
	if string(magic[:2]) == "MZ" {
		return peSymbols(path)
	}
	if syms, err := machoSymbols(path); err == nil {
		return syms, nil
	}
	return nil, errFormat
}

func elfSymbols(path string) ([]symbol, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	dyn, err := f.DynamicSymbols()
	if err != nil {
		return nil, err
	}
	var out []symbol
	seen := map[string]bool{}
	for _, s := range dyn {
		bind, typ := elf.ST_BIND(s.Info), elf.ST_TYPE(s.Info)
		if s.Section == elf.SHN_UNDEF || (bind != elf.STB_GLOBAL && bind != elf.STB_WEAK && bind != stbGNUUnique) {
			continue
		}
		vis := elf.ST_VISIBILITY(s.Other)
		out = append(out, symbol{name: s.Name, function: typ == elf.STT_FUNC || typ == elf.STT_GNU_IFUNC,
			exported: vis == elf.STV_DEFAULT || vis == elf.STV_PROTECTED})
		seen[s.Name] = true
	}
	static, _ := f.Symbols() // absent when stripped
	for _, s := range static {
		if seen[s.Name] || s.Section == elf.SHN_UNDEF || !strings.Contains(s.Name, "clawd_plugin_init") {
			continue
		}
		typ := elf.ST_TYPE(s.Info)
		out = append(out, symbol{name: s.Name, function: typ == elf.STT_FUNC})
	}
	return out, nil
}

func machoSymbols(path string) ([]symbol, error) {
	f, err := macho.Open(path)
	if err != nil {
		if ff, ferr := macho.OpenFat(path); ferr == nil {
			defer ff.Close()
			if len(ff.Arches) > 0 {
				return machoFile(ff.Arches[0].File)
			}
		}
		return nil, err
	}
	defer f.Close()
	return machoFile(f)
}

func machoFile(f *macho.File) ([]symbol, error) {
	if f.Symtab == nil {
		return nil, errFormat
	}
	const (
		nExt  = 0x01
		nType = 0x0e
		nSect = 0x0e
	)
	var out []symbol
	for _, s := range f.Symtab.Syms {
		if s.Type&nType != nSect || strings.HasPrefix(s.Name, "__mh_") {
			continue
		}
		function := false
		if int(s.Sect) >= 1 && int(s.Sect) <= len(f.Sections) {
			sec := f.Sections[s.Sect-1]
			function = sec.Seg == "__TEXT" && sec.Name == "__text"
		}
		out = append(out, symbol{name: strings.TrimPrefix(s.Name, "_"), function: function, exported: s.Type&nExt != 0})
	}
	return out, nil
}
