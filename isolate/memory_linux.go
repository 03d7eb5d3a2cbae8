package isolate

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
)

// Memory is how much memory the child serving now holds of its own: its
// private pages (Private_Clean and Private_Dirty of
// /proc/PID/smaps_rollup), not the executable's pages it shares with every
// other child. ok is false while no child serves or where the kernel does
// not say (no smaps_rollup, or the file is not ours to read).
func (p *plugin) Memory() (bytes uint64, ok bool) {
	pid := p.PID()
	if pid == 0 {
		return 0, false
	}
	return privateBytes("/proc/" + strconv.Itoa(pid) + "/smaps_rollup")
}

// privateBytes sums the Private_ lines of an smaps file, in bytes. The
// file is the kernel's, a few hundred bytes: read whole.
func privateBytes(path string) (uint64, bool) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	var kb uint64
	found := false
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := bytes.Fields(sc.Bytes())
		if len(f) != 3 || string(f[2]) != "kB" {
			continue
		}
		if k := string(f[0]); k != "Private_Clean:" && k != "Private_Dirty:" {
			continue
		}
		n, err := strconv.ParseUint(string(f[1]), 10, 64)
		if err != nil {
			return 0, false
		}
		kb += n
		found = true
	}
	return kb << 10, found
}
