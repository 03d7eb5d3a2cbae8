package libfile

import (
	"bytes"
	"debug/elf"
	"debug/macho"
	"debug/pe"
	"encoding/binary"
)

// Small synthetic libraries of each format, valid as far as the checks
// look, so that every format is tested on every OS. Each test mutates one.

type elfImage struct {
	h     elf.Header64
	progs []elf.Prog64
	size  int // bytes in the file
}

// newELF is a 64-bit little-endian x86-64 shared object: the header, two
// program headers (one PT_LOAD over the whole file, one PT_DYNAMIC at its
// end) and 16 bytes of dynamic section.
func newELF() *elfImage {
	e := &elfImage{size: 64 + 2*56 + 16}
	copy(e.h.Ident[:], elf.ELFMAG)
	e.h.Ident[elf.EI_CLASS] = byte(elf.ELFCLASS64)
	e.h.Ident[elf.EI_DATA] = byte(elf.ELFDATA2LSB)
	e.h.Ident[elf.EI_VERSION] = byte(elf.EV_CURRENT)
	e.h.Type = uint16(elf.ET_DYN)
	e.h.Machine = uint16(elf.EM_X86_64)
	e.h.Version = uint32(elf.EV_CURRENT)
	e.h.Phoff = 64
	e.h.Ehsize = 64
	e.h.Phentsize = 56
	e.h.Phnum = 2
	e.h.Shentsize = 64
	e.progs = []elf.Prog64{
		{Type: uint32(elf.PT_LOAD), Flags: uint32(elf.PF_R | elf.PF_W), Off: 0, Vaddr: 0, Filesz: uint64(e.size), Memsz: uint64(e.size), Align: 0x1000},
		{Type: uint32(elf.PT_DYNAMIC), Flags: uint32(elf.PF_R | elf.PF_W), Off: uint64(e.size - 16), Vaddr: uint64(e.size - 16), Filesz: 16, Memsz: 16, Align: 8},
	}
	return e
}

func (e *elfImage) bytes() []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, &e.h)
	for _, p := range e.progs {
		binary.Write(&b, binary.LittleEndian, &p)
	}
	out := make([]byte, e.size)
	copy(out, b.Bytes())
	return out
}

type machoImage struct {
	h    macho.FileHeader
	seg  macho.Segment64
	size int
}

// newMachO is a 64-bit arm64 dylib with one segment over the whole file.
func newMachO() *machoImage {
	m := &machoImage{size: 128}
	m.h = macho.FileHeader{Magic: macho.Magic64, Cpu: macho.CpuArm64, Type: macho.TypeDylib, Ncmd: 1, Cmdsz: 72}
	m.seg = macho.Segment64{Cmd: macho.LoadCmdSegment64, Len: 72, Addr: 0, Memsz: 0x4000, Offset: 0, Filesz: uint64(m.size), Maxprot: 5, Prot: 5}
	copy(m.seg.Name[:], "__TEXT")
	return m
}

func (m *machoImage) bytes() []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, &m.h)
	binary.Write(&b, binary.LittleEndian, uint32(0)) // reserved, 64-bit header
	binary.Write(&b, binary.LittleEndian, &m.seg)
	out := make([]byte, m.size)
	copy(out, b.Bytes())
	return out
}

// fat wraps thin Mach-O files (cpu, bytes) in a universal file.
func fat(slices ...[]byte) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.BigEndian, [2]uint32{macho.MagicFat, uint32(len(slices))})
	off := 4096
	var body bytes.Buffer
	for _, s := range slices {
		cpu := binary.LittleEndian.Uint32(s[4:])
		binary.Write(&b, binary.BigEndian, [5]uint32{cpu, 0, uint32(off), uint32(len(s)), 12})
		body.Write(s)
		pad := (4096 - len(s)%4096) % 4096
		body.Write(make([]byte, pad))
		off += len(s) + pad
	}
	out := make([]byte, 4096)
	copy(out, b.Bytes())
	return append(out, body.Bytes()...)
}

type peImage struct {
	fh   pe.FileHeader
	oh   pe.OptionalHeader64
	sec  pe.SectionHeader32
	size int
}

// newPE is an AMD64 DLL with one section of 32 bytes at offset 512.
func newPE() *peImage {
	p := &peImage{size: 512 + 32}
	p.fh = pe.FileHeader{Machine: pe.IMAGE_FILE_MACHINE_AMD64, NumberOfSections: 1, SizeOfOptionalHeader: 240,
		Characteristics: pe.IMAGE_FILE_DLL | pe.IMAGE_FILE_EXECUTABLE_IMAGE}
	p.oh = pe.OptionalHeader64{Magic: 0x20b, ImageBase: 0x180000000, SectionAlignment: 0x1000, FileAlignment: 0x200,
		SizeOfImage: 0x2000, SizeOfHeaders: 0x200, NumberOfRvaAndSizes: 16}
	p.sec = pe.SectionHeader32{VirtualSize: 32, VirtualAddress: 0x1000, SizeOfRawData: 32, PointerToRawData: 512}
	copy(p.sec.Name[:], ".text")
	return p
}

func (p *peImage) bytes() []byte {
	out := make([]byte, p.size)
	copy(out, "MZ")
	binary.LittleEndian.PutUint32(out[0x3c:], 64)
	var b bytes.Buffer
	b.WriteString("PE\x00\x00")
	binary.Write(&b, binary.LittleEndian, &p.fh)
	binary.Write(&b, binary.LittleEndian, &p.oh)
	binary.Write(&b, binary.LittleEndian, &p.sec)
	copy(out[64:], b.Bytes())
	return out
}
