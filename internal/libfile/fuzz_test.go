package libfile

import (
	"bytes"
	"debug/elf"
	"debug/macho"
	"debug/pe"
	"testing"
)

// The format check reads files nobody vouched for: whatever the bytes, it
// must return, never panic, and accept only what the dynamic loader can
// map without reading past the end of the file. Run longer with
//
//	go test -run '^$' -fuzz FuzzCheckFormat -fuzztime 30s ./internal/libfile
//
// The committed seeds are in testdata/fuzz/; the synthetic images are
// added to them.

var fuzzTargets = [][2]string{
	{"linux", "amd64"}, {"linux", "arm64"}, {"linux", "386"}, {"linux", "s390x"},
	{"darwin", "arm64"}, {"darwin", "amd64"},
	{"windows", "amd64"}, {"windows", "386"},
}

func FuzzCheckFormat(f *testing.F) {
	amd := newMachO()
	amd.h.Cpu = macho.CpuAmd64
	for _, b := range [][]byte{newELF().bytes(), newMachO().bytes(), fat(newMachO().bytes(), amd.bytes()), newPE().bytes()} {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, tg := range fuzzTargets {
			if err := checkFormat(bytes.NewReader(data), int64(len(data)), tg[0], tg[1]); err != nil {
				if err.Error() == "" {
					t.Fatalf("%s/%s: an empty message", tg[0], tg[1])
				}
				continue
			}
			if msg := recheck(data, tg[0]); msg != "" {
				t.Fatalf("%s/%s accepted a file: %s", tg[0], tg[1], msg)
			}
		}
	})
}

// recheck is the independent reading of an accepted file: it parses in
// the OS's format and every loadable part lies inside the file.
func recheck(data []byte, goos string) string {
	size := uint64(len(data))
	r := bytes.NewReader(data)
	switch nativeFormat(goos) {
	case formatELF:
		f, err := elf.NewFile(r)
		if err != nil {
			return "not ELF: " + err.Error()
		}
		if f.Type != elf.ET_DYN {
			return "not ET_DYN"
		}
		for _, p := range f.Progs {
			if p.Type == elf.PT_LOAD && (p.Off > size || p.Filesz > size-p.Off) {
				return "a PT_LOAD past the end"
			}
		}
	case formatMachO:
		var files []*macho.File
		if ff, err := macho.NewFatFile(r); err == nil {
			for _, a := range ff.Arches {
				files = append(files, a.File)
			}
		} else if f, err := macho.NewFile(r); err == nil {
			files = append(files, f)
		} else {
			return "not Mach-O: " + err.Error()
		}
		for _, f := range files {
			if f.Type != macho.TypeDylib && f.Type != macho.TypeBundle {
				return "not a dylib"
			}
		}
	case formatPE:
		f, err := pe.NewFile(r)
		if err != nil {
			return "not PE: " + err.Error()
		}
		if f.Characteristics&pe.IMAGE_FILE_DLL == 0 {
			return "not a DLL"
		}
		for _, s := range f.Sections {
			if uint64(s.Offset)+uint64(s.Size) > size && s.Size > 0 {
				return "a section past the end"
			}
		}
	}
	return ""
}
