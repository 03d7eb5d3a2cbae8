package libfile

import (
	"bytes"
	"debug/elf"
	"debug/macho"
	"debug/pe"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"

	"github.com/clawd-go/clawd/clawerr"
)

// CheckFormat checks that r, size bytes long, is a shared library in the
// native format of this OS and for this machine, whose header tables and
// loadable segments lie inside the file, so that the dynamic loader maps
// only bytes that exist. What is wrong is named: "a Mach-O file, not an
// ELF shared library", "PT_LOAD segment 2 ... past the end of the file".
// Messages name the file as Options.Name (default "the library").
func CheckFormat(r io.ReaderAt, size int64, o Options) error {
	check := checkFormat
	if o.WASM {
		check = checkWASM
	}
	if err := check(r, size, runtime.GOOS, runtime.GOARCH); err != nil {
		name := o.Name
		if name == "" {
			name = "the library"
		}
		return o.fail(clawerr.OpenFailed, name, nil, "%v", err)
	}
	return nil
}

type format int

const (
	formatELF format = iota + 1
	formatMachO
	formatPE
)

// libraryName is what each format's shared library is called.
var libraryName = map[format]string{
	formatELF:   "an ELF shared library",
	formatMachO: "a Mach-O dynamic library",
	formatPE:    "a PE DLL",
}

var fileName = map[format]string{
	formatELF:   "an ELF file",
	formatMachO: "a Mach-O file",
	formatPE:    "a PE file",
}

func nativeFormat(goos string) format {
	switch goos {
	case "darwin", "ios":
		return formatMachO
	case "windows":
		return formatPE
	}
	return formatELF
}

// arch is what a library for one GOARCH says in each format's header.
type arch struct {
	elfMachine elf.Machine
	elfClass   elf.Class
	elfData    elf.Data
	machoCPU   macho.Cpu // 0: no Mach-O for this GOARCH
	peMachine  uint16    // 0: no PE for this GOARCH
}

var arches = map[string]arch{
	"amd64":    {elf.EM_X86_64, elf.ELFCLASS64, elf.ELFDATA2LSB, macho.CpuAmd64, pe.IMAGE_FILE_MACHINE_AMD64},
	"arm64":    {elf.EM_AARCH64, elf.ELFCLASS64, elf.ELFDATA2LSB, macho.CpuArm64, pe.IMAGE_FILE_MACHINE_ARM64},
	"386":      {elf.EM_386, elf.ELFCLASS32, elf.ELFDATA2LSB, macho.Cpu386, pe.IMAGE_FILE_MACHINE_I386},
	"arm":      {elf.EM_ARM, elf.ELFCLASS32, elf.ELFDATA2LSB, macho.CpuArm, pe.IMAGE_FILE_MACHINE_ARMNT},
	"riscv64":  {elf.EM_RISCV, elf.ELFCLASS64, elf.ELFDATA2LSB, 0, pe.IMAGE_FILE_MACHINE_RISCV64},
	"ppc64":    {elf.EM_PPC64, elf.ELFCLASS64, elf.ELFDATA2MSB, 0, 0},
	"ppc64le":  {elf.EM_PPC64, elf.ELFCLASS64, elf.ELFDATA2LSB, 0, 0},
	"s390x":    {elf.EM_S390, elf.ELFCLASS64, elf.ELFDATA2MSB, 0, 0},
	"loong64":  {elf.EM_LOONGARCH, elf.ELFCLASS64, elf.ELFDATA2LSB, 0, 0},
	"mips":     {elf.EM_MIPS, elf.ELFCLASS32, elf.ELFDATA2MSB, 0, 0},
	"mipsle":   {elf.EM_MIPS, elf.ELFCLASS32, elf.ELFDATA2LSB, 0, 0},
	"mips64":   {elf.EM_MIPS, elf.ELFCLASS64, elf.ELFDATA2MSB, 0, 0},
	"mips64le": {elf.EM_MIPS, elf.ELFCLASS64, elf.ELFDATA2LSB, 0, 0},
}

// checkFormat is CheckFormat for a given OS and machine, so that every
// format is checked (and tested) on every OS. An unknown goarch skips the
// machine checks.
func checkFormat(r io.ReaderAt, size int64, goos, goarch string) error {
	if size <= 0 {
		return errors.New("an empty file, not a shared library")
	}
	head := make([]byte, min(size, 8))
	if _, err := r.ReadAt(head, 0); err != nil {
		return fmt.Errorf("cannot read the header: %v", err)
	}
	var got format
	switch {
	case bytes.HasPrefix(head, []byte(elf.ELFMAG)):
		got = formatELF
	case isMachO(head):
		got = formatMachO
	case bytes.HasPrefix(head, []byte("MZ")):
		got = formatPE
	case bytes.HasPrefix(head, []byte("\x00asm")):
		return errors.New("a WebAssembly module, not a native shared library (it runs in the wasm runtime: runtime = \"wasm\" in its manifest)")
	case bytes.HasPrefix(head, []byte("!<arch>\n")):
		return errors.New("a static archive (.a), not a shared library")
	case bytes.HasPrefix(head, []byte("#!")):
		return errors.New("a script, not a shared library")
	default:
		return fmt.Errorf("not a shared library: no ELF, Mach-O or PE header (starts with % x)", head)
	}
	want := nativeFormat(goos)
	if got != want {
		return fmt.Errorf("%s, not %s", fileName[got], libraryName[want])
	}
	sr := io.NewSectionReader(r, 0, size)
	a, known := arches[goarch]
	switch got {
	case formatELF:
		return checkELF(sr, a, known, goarch)
	case formatMachO:
		return checkMachO(sr, a, known, goarch)
	default:
		return checkPE(sr, a, known, goarch)
	}
}

// within reports whether n bytes at off lie inside size bytes.
func within(off, n, size uint64) bool { return off <= size && n <= size-off }

func pastEnd(what string, off, n, size uint64) error {
	return fmt.Errorf("%s (offset %d, %d bytes) ends past the end of the file (%d bytes): the file is truncated or malformed", what, off, n, size)
}

func bits(c elf.Class) string {
	if c == elf.ELFCLASS64 {
		return "64-bit"
	}
	return "32-bit"
}

func endian(d elf.Data) string {
	if d == elf.ELFDATA2MSB {
		return "big-endian"
	}
	return "little-endian"
}

// ptGNUProperty is PT_GNU_PROPERTY, which glibc reads from the mapping.
const ptGNUProperty = elf.ProgType(0x6474e553)

func checkELF(r *io.SectionReader, a arch, known bool, goarch string) error {
	size := uint64(r.Size())
	var ident [elf.EI_NIDENT]byte
	if _, err := r.ReadAt(ident[:], 0); err != nil {
		return fmt.Errorf("an ELF file cut short in its header (%d bytes)", size)
	}
	class, data := elf.Class(ident[elf.EI_CLASS]), elf.Data(ident[elf.EI_DATA])
	if class != elf.ELFCLASS32 && class != elf.ELFCLASS64 {
		return fmt.Errorf("an ELF file of unknown class %d", class)
	}
	if data != elf.ELFDATA2LSB && data != elf.ELFDATA2MSB {
		return fmt.Errorf("an ELF file of unknown byte order %d", data)
	}
	if known && class != a.elfClass {
		return fmt.Errorf("a %s ELF file, this host is %s (%s)", bits(class), bits(a.elfClass), goarch)
	}
	if known && data != a.elfData {
		return fmt.Errorf("a %s ELF file, this host is %s (%s)", endian(data), endian(a.elfData), goarch)
	}
	var order binary.ByteOrder = binary.LittleEndian
	if data == elf.ELFDATA2MSB {
		order = binary.BigEndian
	}

	// The raw header: debug/elf keeps the table positions to itself.
	var (
		typ, machine                       uint16
		phoff, shoff                       uint64
		phentsize, phnum, shentsize, shnum uint16
		wantPhentsize, wantShentsize       uint16 = 56, 64
	)
	if class == elf.ELFCLASS64 {
		var h elf.Header64
		if err := binary.Read(io.NewSectionReader(r, 0, int64(size)), order, &h); err != nil {
			return fmt.Errorf("an ELF file cut short in its header (%d bytes)", size)
		}
		typ, machine, phoff, shoff = h.Type, h.Machine, h.Phoff, h.Shoff
		phentsize, phnum, shentsize, shnum = h.Phentsize, h.Phnum, h.Shentsize, h.Shnum
	} else {
		var h elf.Header32
		if err := binary.Read(io.NewSectionReader(r, 0, int64(size)), order, &h); err != nil {
			return fmt.Errorf("an ELF file cut short in its header (%d bytes)", size)
		}
		typ, machine, phoff, shoff = h.Type, h.Machine, uint64(h.Phoff), uint64(h.Shoff)
		phentsize, phnum, shentsize, shnum = h.Phentsize, h.Phnum, h.Shentsize, h.Shnum
		wantPhentsize, wantShentsize = 32, 40
	}
	if known && elf.Machine(machine) != a.elfMachine {
		return fmt.Errorf("an ELF file for %v, this host is %s (%v)", elf.Machine(machine), goarch, a.elfMachine)
	}
	switch elf.Type(typ) {
	case elf.ET_DYN:
	case elf.ET_EXEC:
		return errors.New("an ELF executable, not a shared library")
	case elf.ET_REL:
		return errors.New("an ELF relocatable object (.o), not a shared library")
	case elf.ET_CORE:
		return errors.New("an ELF core dump, not a shared library")
	default:
		return fmt.Errorf("an ELF file of type %#x, not a shared library", typ)
	}
	if phnum == 0 {
		return errors.New("an ELF file without program headers: nothing to load")
	}
	if phentsize != wantPhentsize {
		return fmt.Errorf("program header entries of %d bytes (a %s ELF file has %d)", phentsize, bits(class), wantPhentsize)
	}
	if phnum != 0xffff && !within(phoff, uint64(phnum)*uint64(phentsize), size) {
		return pastEnd(fmt.Sprintf("the program header table (%d entries)", phnum), phoff, uint64(phnum)*uint64(phentsize), size)
	}
	if shoff != 0 && shnum != 0 {
		if shentsize != wantShentsize {
			return fmt.Errorf("section header entries of %d bytes (a %s ELF file has %d)", shentsize, bits(class), wantShentsize)
		}
		if !within(shoff, uint64(shnum)*uint64(shentsize), size) {
			return pastEnd(fmt.Sprintf("the section header table (%d entries)", shnum), shoff, uint64(shnum)*uint64(shentsize), size)
		}
	}
	f, err := elf.NewFile(r)
	if err != nil {
		return fmt.Errorf("a malformed ELF file: %v", err)
	}
	defer f.Close()

	var loads []*elf.Prog
	for i, p := range f.Progs {
		if p.Type == elf.PT_LOAD {
			if !within(p.Off, p.Filesz, size) {
				return pastEnd(fmt.Sprintf("PT_LOAD segment %d", i), p.Off, p.Filesz, size)
			}
			if p.Filesz > p.Memsz {
				return fmt.Errorf("PT_LOAD segment %d has more bytes in the file (%d) than in memory (%d)", i, p.Filesz, p.Memsz)
			}
			loads = append(loads, p)
		} else if p.Filesz > 0 && !within(p.Off, p.Filesz, size) {
			return pastEnd(fmt.Sprintf("segment %d (%v)", i, p.Type), p.Off, p.Filesz, size)
		}
	}
	if len(loads) == 0 {
		return errors.New("an ELF file without a loadable segment (PT_LOAD)")
	}
	dynamic := false
	for i, p := range f.Progs {
		switch p.Type {
		case elf.PT_DYNAMIC:
			dynamic = true
		case elf.PT_NOTE, elf.PT_TLS, ptGNUProperty:
		default:
			continue
		}
		// The dynamic loader reads these from the mapping, not the file.
		if p.Filesz > 0 && !mapped(p.Vaddr, p.Filesz, loads) {
			return fmt.Errorf("segment %d (%v, address %#x, %d bytes) lies outside the file bytes of every PT_LOAD segment", i, p.Type, p.Vaddr, p.Filesz)
		}
	}
	if !dynamic {
		return errors.New("an ELF file without a dynamic section (PT_DYNAMIC): not a shared library")
	}
	return nil
}

// mapped reports whether n bytes at vaddr lie in the file-backed part of
// one of the loadable segments.
func mapped(vaddr, n uint64, loads []*elf.Prog) bool {
	for _, l := range loads {
		if vaddr >= l.Vaddr && within(vaddr-l.Vaddr, n, l.Filesz) {
			return true
		}
	}
	return false
}

// Mach-O magics as their first four bytes read.
var (
	machoThin  = [][]byte{{0xce, 0xfa, 0xed, 0xfe}, {0xcf, 0xfa, 0xed, 0xfe}, {0xfe, 0xed, 0xfa, 0xce}, {0xfe, 0xed, 0xfa, 0xcf}}
	machoFat   = []byte{0xca, 0xfe, 0xba, 0xbe}
	machoFat64 = []byte{0xca, 0xfe, 0xba, 0xbf}
)

func isMachO(head []byte) bool {
	if bytes.HasPrefix(head, machoFat) || bytes.HasPrefix(head, machoFat64) {
		return true
	}
	for _, m := range machoThin {
		if bytes.HasPrefix(head, m) {
			return true
		}
	}
	return false
}

func checkMachO(r *io.SectionReader, a arch, known bool, goarch string) error {
	var head [4]byte
	if _, err := r.ReadAt(head[:], 0); err != nil {
		return fmt.Errorf("a Mach-O file cut short in its header (%d bytes)", r.Size())
	}
	switch {
	case bytes.Equal(head[:], machoFat64):
		return errors.New("a 64-bit universal Mach-O file, which this host does not read (use a thin library or a 32-bit universal one)")
	case bytes.Equal(head[:], machoFat):
		return checkFat(r, a, known, goarch)
	}
	return checkThin(r, a, known, goarch)
}

// checkFat checks a universal file's table, then the slice for goarch.
func checkFat(r *io.SectionReader, a arch, known bool, goarch string) error {
	size := uint64(r.Size())
	var hdr struct{ Magic, N uint32 }
	if err := binary.Read(io.NewSectionReader(r, 0, r.Size()), binary.BigEndian, &hdr); err != nil {
		return fmt.Errorf("a universal Mach-O file cut short in its header (%d bytes)", size)
	}
	if hdr.N == 0 {
		return errors.New("a universal Mach-O file without slices")
	}
	if !within(8, uint64(hdr.N)*20, size) {
		return pastEnd(fmt.Sprintf("the universal Mach-O table (%d slices)", hdr.N), 8, uint64(hdr.N)*20, size)
	}
	type fatArch struct{ CPU, SubCPU, Offset, Size, Align uint32 }
	slices := make([]fatArch, hdr.N)
	if err := binary.Read(io.NewSectionReader(r, 8, r.Size()-8), binary.BigEndian, slices); err != nil {
		return fmt.Errorf("a malformed universal Mach-O file: %v", err)
	}
	var names []string
	pick := -1
	for i, s := range slices {
		if !within(uint64(s.Offset), uint64(s.Size), size) {
			return pastEnd(fmt.Sprintf("universal Mach-O slice %d (%v)", i, macho.Cpu(s.CPU)), uint64(s.Offset), uint64(s.Size), size)
		}
		names = append(names, macho.Cpu(s.CPU).String())
		if known && macho.Cpu(s.CPU) == a.machoCPU && pick < 0 {
			pick = i
		}
	}
	ff, err := macho.NewFatFile(r)
	if err != nil {
		return fmt.Errorf("a malformed universal Mach-O file: %v", err)
	}
	ff.Close()
	if !known || a.machoCPU == 0 {
		pick = 0
	}
	if pick < 0 {
		return fmt.Errorf("a universal Mach-O file without a slice for %s (slices: %s)", goarch, strings.Join(names, ", "))
	}
	s := slices[pick]
	return checkThin(io.NewSectionReader(r, int64(s.Offset), int64(s.Size)), a, known, goarch)
}

func checkThin(r *io.SectionReader, a arch, known bool, goarch string) error {
	size := uint64(r.Size())
	var head [4]byte
	if _, err := r.ReadAt(head[:], 0); err != nil || !isMachO(head[:]) || bytes.Equal(head[:], machoFat) || bytes.Equal(head[:], machoFat64) {
		return errors.New("a universal Mach-O slice that is not a Mach-O file")
	}
	var order binary.ByteOrder = binary.LittleEndian
	if head[0] == 0xfe {
		order = binary.BigEndian
	}
	hdrSize := uint64(28)
	if head[0] == 0xcf || head[3] == 0xcf {
		hdrSize = 32
	}
	var h macho.FileHeader
	if err := binary.Read(io.NewSectionReader(r, 0, r.Size()), order, &h); err != nil || size < hdrSize {
		return fmt.Errorf("a Mach-O file cut short in its header (%d bytes)", size)
	}
	if known && a.machoCPU != 0 && h.Cpu != a.machoCPU {
		return fmt.Errorf("a Mach-O file for %v, this host is %s", h.Cpu, goarch)
	}
	switch h.Type {
	case macho.TypeDylib, macho.TypeBundle:
	case macho.TypeExec:
		return errors.New("a Mach-O executable, not a dynamic library")
	case macho.TypeObj:
		return errors.New("a Mach-O object file (.o), not a dynamic library")
	default:
		return fmt.Errorf("a Mach-O file of type %d, not a dynamic library", h.Type)
	}
	if !within(hdrSize, uint64(h.Cmdsz), size) {
		return pastEnd(fmt.Sprintf("the load commands (%d)", h.Ncmd), hdrSize, uint64(h.Cmdsz), size)
	}
	f, err := macho.NewFile(r)
	if err != nil {
		return fmt.Errorf("a malformed Mach-O file: %v", err)
	}
	defer f.Close()
	segs := 0
	for _, l := range f.Loads {
		s, ok := l.(*macho.Segment)
		if !ok {
			continue
		}
		segs++
		if !within(s.Offset, s.Filesz, size) {
			return pastEnd("segment "+s.Name, s.Offset, s.Filesz, size)
		}
	}
	if segs == 0 {
		return errors.New("a Mach-O file without segments: nothing to load")
	}
	return nil
}

// peMachines names the machines a PE header may say.
var peMachines = map[uint16]string{
	pe.IMAGE_FILE_MACHINE_AMD64:   "AMD64",
	pe.IMAGE_FILE_MACHINE_ARM64:   "ARM64",
	pe.IMAGE_FILE_MACHINE_I386:    "i386",
	pe.IMAGE_FILE_MACHINE_ARMNT:   "ARMv7",
	pe.IMAGE_FILE_MACHINE_RISCV64: "RISC-V 64",
}

func peMachine(m uint16) string {
	if n, ok := peMachines[m]; ok {
		return fmt.Sprintf("%s (%#x)", n, m)
	}
	return fmt.Sprintf("machine %#x", m)
}

func checkPE(r *io.SectionReader, a arch, known bool, goarch string) error {
	size := uint64(r.Size())
	var dos [64]byte
	if _, err := r.ReadAt(dos[:], 0); err != nil {
		return fmt.Errorf("a PE file cut short in its MS-DOS header (%d bytes)", size)
	}
	lfanew := uint64(binary.LittleEndian.Uint32(dos[0x3c:]))
	if !within(lfanew, 4+20, size) {
		return pastEnd("the PE header", lfanew, 4+20, size)
	}
	var sig [4]byte
	if _, err := r.ReadAt(sig[:], int64(lfanew)); err != nil || sig != [4]byte{'P', 'E', 0, 0} {
		return errors.New("an MS-DOS executable without a PE header, not a DLL")
	}
	var fh pe.FileHeader
	if err := binary.Read(io.NewSectionReader(r, int64(lfanew)+4, 20), binary.LittleEndian, &fh); err != nil {
		return fmt.Errorf("a PE file cut short in its header (%d bytes)", size)
	}
	if known && a.peMachine != 0 && fh.Machine != a.peMachine {
		return fmt.Errorf("a PE file for %s, this host is %s (%s)", peMachine(fh.Machine), goarch, peMachine(a.peMachine))
	}
	if fh.Characteristics&pe.IMAGE_FILE_DLL == 0 {
		return errors.New("a PE executable, not a DLL")
	}
	if fh.SizeOfOptionalHeader == 0 {
		return errors.New("a PE file without an optional header")
	}
	secs := lfanew + 24 + uint64(fh.SizeOfOptionalHeader)
	if !within(secs, uint64(fh.NumberOfSections)*40, size) {
		return pastEnd(fmt.Sprintf("the section table (%d sections)", fh.NumberOfSections), secs, uint64(fh.NumberOfSections)*40, size)
	}
	f, err := pe.NewFile(r)
	if err != nil {
		return fmt.Errorf("a malformed PE file: %v", err)
	}
	defer f.Close()
	want64 := !known || a.elfClass == elf.ELFCLASS64
	switch f.OptionalHeader.(type) {
	case *pe.OptionalHeader64:
		if !want64 {
			return fmt.Errorf("a 64-bit (PE32+) file, this host is 32-bit (%s)", goarch)
		}
	case *pe.OptionalHeader32:
		if known && want64 {
			return fmt.Errorf("a 32-bit (PE32) file, this host is 64-bit (%s)", goarch)
		}
	default:
		return errors.New("a PE file without a readable optional header")
	}
	if len(f.Sections) == 0 {
		return errors.New("a PE file without sections: nothing to load")
	}
	for i, s := range f.Sections {
		if s.Size > 0 && !within(uint64(s.Offset), uint64(s.Size), size) {
			return pastEnd(fmt.Sprintf("section %d (%s)", i, s.Name), uint64(s.Offset), uint64(s.Size), size)
		}
	}
	return nil
}

// wasmHead is the WebAssembly binary magic and version 1.
var wasmHead = []byte("\x00asm\x01\x00\x00\x00")

// checkWASM accepts a WebAssembly binary module, version 1, and refuses
// everything else, a native library included; the wasm runtime validates
// the rest when it compiles the module.
func checkWASM(r io.ReaderAt, size int64, _, _ string) error {
	if size < int64(len(wasmHead)) {
		return fmt.Errorf("%d bytes, too short for a WebAssembly module", size)
	}
	head := make([]byte, len(wasmHead))
	if _, err := r.ReadAt(head, 0); err != nil {
		return fmt.Errorf("cannot read the header: %v", err)
	}
	if bytes.HasPrefix(head, []byte("\x00asm")) {
		if !bytes.Equal(head, wasmHead) {
			return fmt.Errorf("a WebAssembly module of binary version %d, not 1", binary.LittleEndian.Uint32(head[4:]))
		}
		return nil
	}
	return errors.New("not a WebAssembly module (no \\0asm magic)")
}

// Matches reports whether r, size bytes long, is a shared library the
// dynamic loader of goos/goarch would map (the check CheckFormat makes for
// this OS and machine): how a package tells which platforms an entry serves.
func Matches(r io.ReaderAt, size int64, goos, goarch string) bool {
	return checkFormat(r, size, goos, goarch) == nil
}
