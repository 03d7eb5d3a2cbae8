package libfile

import (
	"bytes"
	"debug/elf"
	"debug/macho"
	"debug/pe"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func check(data []byte, goos, goarch string) error {
	return checkFormat(bytes.NewReader(data), int64(len(data)), goos, goarch)
}

func TestCheckFormatAcceptsEachFormat(t *testing.T) {
	assert.NoError(t, check(newELF().bytes(), "linux", "amd64"))
	assert.NoError(t, check(newELF().bytes(), "freebsd", "amd64"))
	assert.NoError(t, check(newMachO().bytes(), "darwin", "arm64"))
	amd := newMachO()
	amd.h.Cpu = macho.CpuAmd64
	assert.NoError(t, check(fat(newMachO().bytes(), amd.bytes()), "darwin", "arm64"))
	assert.NoError(t, check(fat(newMachO().bytes(), amd.bytes()), "darwin", "amd64"))
	assert.NoError(t, check(newPE().bytes(), "windows", "amd64"))
	bundle := newMachO()
	bundle.h.Type = macho.TypeBundle
	assert.NoError(t, check(bundle.bytes(), "darwin", "arm64"))
}

func TestCheckFormatRefuses(t *testing.T) {
	mutELF := func(f func(e *elfImage)) []byte {
		e := newELF()
		f(e)
		return e.bytes()
	}
	mutMachO := func(f func(m *machoImage)) []byte {
		m := newMachO()
		f(m)
		return m.bytes()
	}
	mutPE := func(f func(p *peImage)) []byte {
		p := newPE()
		f(p)
		return p.bytes()
	}
	random := make([]byte, 4096)
	rng := rand.NewChaCha8([32]byte{1})
	rng.Read(random)
	random[0] = 0x42 // no format's magic

	cases := []struct {
		name, goos, goarch string
		data               []byte
		want               string
	}{
		{"empty", "linux", "amd64", nil, "an empty file, not a shared library"},
		{"random bytes", "linux", "amd64", random, "not a shared library: no ELF, Mach-O or PE header (starts with 42 "},
		{"wasm", "linux", "amd64", []byte("\x00asm\x01\x00\x00\x00"), "a WebAssembly module, not a native shared library"},
		{"archive", "linux", "amd64", []byte("!<arch>\nfoo.o/"), "a static archive (.a), not a shared library"},
		{"script", "linux", "amd64", []byte("#!/bin/sh\necho hi\n"), "a script, not a shared library"},

		{"Mach-O on linux", "linux", "amd64", newMachO().bytes(), "a Mach-O file, not an ELF shared library"},
		{"PE on linux", "linux", "arm64", newPE().bytes(), "a PE file, not an ELF shared library"},
		{"ELF on darwin", "darwin", "arm64", newELF().bytes(), "an ELF file, not a Mach-O dynamic library"},
		{"ELF on windows", "windows", "amd64", newELF().bytes(), "an ELF file, not a PE DLL"},
		{"universal on windows", "windows", "amd64", fat(newMachO().bytes()), "a Mach-O file, not a PE DLL"},

		{"ELF header cut", "linux", "amd64", newELF().bytes()[:40], "an ELF file cut short in its header (40 bytes)"},
		{"ELF other machine", "linux", "amd64", mutELF(func(e *elfImage) { e.h.Machine = uint16(elf.EM_AARCH64) }),
			"an ELF file for EM_AARCH64, this host is amd64 (EM_X86_64)"},
		{"ELF other class", "linux", "amd64", mutELF(func(e *elfImage) { e.h.Ident[elf.EI_CLASS] = byte(elf.ELFCLASS32) }),
			"a 32-bit ELF file, this host is 64-bit (amd64)"},
		{"ELF bad class", "linux", "amd64", mutELF(func(e *elfImage) { e.h.Ident[elf.EI_CLASS] = 9 }), "an ELF file of unknown class 9"},
		{"ELF other byte order", "linux", "amd64", mutELF(func(e *elfImage) { e.h.Ident[elf.EI_DATA] = byte(elf.ELFDATA2MSB) }),
			"a big-endian ELF file, this host is little-endian (amd64)"},
		{"ELF executable", "linux", "amd64", mutELF(func(e *elfImage) { e.h.Type = uint16(elf.ET_EXEC) }), "an ELF executable, not a shared library"},
		{"ELF object", "linux", "amd64", mutELF(func(e *elfImage) { e.h.Type = uint16(elf.ET_REL) }), "an ELF relocatable object (.o), not a shared library"},
		{"ELF no program headers", "linux", "amd64", mutELF(func(e *elfImage) { e.h.Phnum = 0 }), "an ELF file without program headers"},
		{"ELF program headers past end", "linux", "amd64", mutELF(func(e *elfImage) { e.h.Phoff = 1 << 40 }),
			"the program header table (2 entries) (offset 1099511627776, 112 bytes) ends past the end of the file (192 bytes)"},
		{"ELF program header offset wraps", "linux", "amd64", mutELF(func(e *elfImage) { e.h.Phoff = ^uint64(0) - 8 }),
			"the program header table (2 entries)"},
		{"ELF section headers past end", "linux", "amd64", mutELF(func(e *elfImage) { e.h.Shoff, e.h.Shnum = 100, 30 }),
			"the section header table (30 entries) (offset 100, 1920 bytes) ends past the end of the file (192 bytes)"},
		{"ELF odd program header size", "linux", "amd64", mutELF(func(e *elfImage) { e.h.Phentsize = 32 }),
			"program header entries of 32 bytes (a 64-bit ELF file has 56)"},
		{"ELF truncated segment", "linux", "amd64", mutELF(func(e *elfImage) { e.progs[0].Filesz, e.progs[0].Memsz = 8192, 8192 }),
			"PT_LOAD segment 0 (offset 0, 8192 bytes) ends past the end of the file (192 bytes): the file is truncated or malformed"},
		{"ELF segment offset wraps", "linux", "amd64", mutELF(func(e *elfImage) { e.progs[0].Off = ^uint64(0) }), "a malformed ELF file: invalid program header offset"},
		{"ELF file bytes over memory", "linux", "amd64", mutELF(func(e *elfImage) { e.progs[0].Memsz = 10 }),
			"PT_LOAD segment 0 has more bytes in the file (192) than in memory (10)"},
		{"ELF no dynamic", "linux", "amd64", mutELF(func(e *elfImage) { e.progs[1].Type = uint32(elf.PT_NULL) }),
			"an ELF file without a dynamic section (PT_DYNAMIC)"},
		{"ELF no load", "linux", "amd64", mutELF(func(e *elfImage) { e.progs[0].Type = uint32(elf.PT_NULL) }),
			"an ELF file without a loadable segment (PT_LOAD)"},
		{"ELF dynamic outside the mapping", "linux", "amd64", mutELF(func(e *elfImage) { e.progs[1].Vaddr = 0x10000 }),
			"segment 1 (PT_DYNAMIC, address 0x10000, 16 bytes) lies outside the file bytes of every PT_LOAD segment"},
		{"ELF dynamic past end", "linux", "amd64", mutELF(func(e *elfImage) { e.progs[1].Off = 1000 }),
			"segment 1 (PT_DYNAMIC) (offset 1000, 16 bytes) ends past the end of the file (192 bytes)"},

		{"Mach-O other CPU", "darwin", "amd64", newMachO().bytes(), "a Mach-O file for CpuArm64, this host is amd64"},
		{"Mach-O executable", "darwin", "arm64", mutMachO(func(m *machoImage) { m.h.Type = macho.TypeExec }), "a Mach-O executable, not a dynamic library"},
		{"Mach-O header cut", "darwin", "arm64", newMachO().bytes()[:20], "a Mach-O file cut short in its header (20 bytes)"},
		{"Mach-O load commands past end", "darwin", "arm64", mutMachO(func(m *machoImage) { m.h.Cmdsz = 4096 }),
			"the load commands (1) (offset 32, 4096 bytes) ends past the end of the file (128 bytes)"},
		{"Mach-O truncated segment", "darwin", "arm64", mutMachO(func(m *machoImage) { m.seg.Filesz = 0x4000 }),
			"segment __TEXT (offset 0, 16384 bytes) ends past the end of the file (128 bytes): the file is truncated or malformed"},
		{"Mach-O no segments", "darwin", "arm64", mutMachO(func(m *machoImage) { m.seg.Cmd = macho.LoadCmdUnixThread }),
			"a Mach-O file without segments"},
		{"universal without this CPU", "darwin", "amd64", fat(newMachO().bytes()), "a universal Mach-O file without a slice for amd64 (slices: CpuArm64)"},
		{"universal slice past end", "darwin", "arm64", fat(newMachO().bytes())[:4200], "universal Mach-O slice 0 (CpuArm64) (offset 4096, 128 bytes) ends past the end of the file (4200 bytes)"},
		{"universal table past end", "darwin", "arm64", []byte{0xca, 0xfe, 0xba, 0xbe, 0, 0, 1, 0, 0, 0}, "the universal Mach-O table (256 slices)"},
		{"universal 64", "darwin", "arm64", []byte{0xca, 0xfe, 0xba, 0xbf, 0, 0, 0, 1}, "a 64-bit universal Mach-O file, which this host does not read"},

		{"PE other machine", "windows", "amd64", mutPE(func(p *peImage) { p.fh.Machine = pe.IMAGE_FILE_MACHINE_ARM64 }),
			"a PE file for ARM64 (0xaa64), this host is amd64 (AMD64 (0x8664))"},
		{"PE executable", "windows", "amd64", mutPE(func(p *peImage) { p.fh.Characteristics = pe.IMAGE_FILE_EXECUTABLE_IMAGE }), "a PE executable, not a DLL"},
		{"PE truncated section", "windows", "amd64", newPE().bytes()[:520],
			"section 0 (.text) (offset 512, 32 bytes) ends past the end of the file (520 bytes): the file is truncated or malformed"},
		{"PE section table past end", "windows", "amd64", mutPE(func(p *peImage) { p.fh.NumberOfSections = 50 }), "the section table (50 sections) (offset 328, 2000 bytes)"},
		{"PE header past end", "windows", "amd64", func() []byte { b := make([]byte, 64); copy(b, "MZ"); b[0x3c+1] = 0x04; return b }(), "the PE header (offset 1024, 24 bytes) ends past the end of the file (64 bytes)"},
		{"MS-DOS executable", "windows", "amd64", func() []byte { b := newPE().bytes(); b[64] = 'X'; return b }(), "an MS-DOS executable without a PE header, not a DLL"},
		{"PE32+ on a 32-bit host", "windows", "386", mutPE(func(p *peImage) { p.fh.Machine = pe.IMAGE_FILE_MACHINE_I386 }),
			"a 64-bit (PE32+) file, this host is 32-bit (386)"},
		{"PE header cut", "windows", "amd64", []byte("MZ\x00\x00"), "a PE file cut short in its MS-DOS header (4 bytes)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := check(c.data, c.goos, c.goarch)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
}
