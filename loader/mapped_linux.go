package loader

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// fileID names the library file as the kernel's mappings do: device and
// inode.
type fileID struct {
	major, minor uint32
	ino          uint64
	ok           bool
}

func identify(path string) fileID {
	fi, err := os.Stat(path)
	if err != nil {
		return fileID{}
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}
	}
	dev := uint64(st.Dev) //nolint:unconvert // its type differs between GOARCHes
	return fileID{major: unix.Major(dev), minor: unix.Minor(dev), ino: uint64(st.Ino), ok: true}
}

// mapped reports whether the file is mapped in this process
// (/proc/self/maps); known is false when that cannot be read.
func (id fileID) mapped() (mapped, known bool) {
	if !id.ok {
		return false, false
	}
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return false, false
	}
	// address perms offset dev(major:minor, hex) inode path
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		f := bytes.Fields(sc.Bytes())
		if len(f) < 5 {
			continue
		}
		ino, err := strconv.ParseUint(string(f[4]), 10, 64)
		if err != nil || ino != id.ino {
			continue
		}
		maj, min, found := bytes.Cut(f[3], []byte(":"))
		if !found {
			continue
		}
		ma, err1 := strconv.ParseUint(string(maj), 16, 32)
		mi, err2 := strconv.ParseUint(string(min), 16, 32)
		if err1 == nil && err2 == nil && uint32(ma) == id.major && uint32(mi) == id.minor {
			return true, true
		}
	}
	return false, true
}
