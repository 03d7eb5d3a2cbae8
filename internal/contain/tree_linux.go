package contain

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// Tree is a pids cgroup made for one child: it bounds the number of tasks
// (processes and threads) the child and everything it starts may have, and
// kills them all at once. The host makes it (Prepare), the child's first
// image joins it before anything else runs, and the host removes it once
// the child was reaped (Release). The fields travel in the hand-off.
type Tree struct {
	Dir     string `json:"dir"`     // the cgroup's directory
	Version int    `json:"version"` // 1 or 2
	Max     int    `json:"max"`     // pids.max as written: the plugin's share plus RuntimeTasks
}

// RuntimeTasks is what a Tree adds to Policy.MaxProcesses for the child's
// own Go runtime and protocol threads (about 10 on an idle child, more
// while it blocks in system calls), so that the bound leaves the plugin
// the processes and threads the policy grants.
const RuntimeTasks = 24

var treeSeq atomic.Uint64

// newTree makes a pids cgroup below this process's own, in the first
// hierarchy that has the pids controller and lets us create one: cgroup v2
// (pids enabled for our cgroup's children), else cgroup v1. nil when
// neither works (no cgroupfs, not permitted, no pids controller).
func newTree(maxProcesses int) *Tree {
	name := fmt.Sprintf("clawd-%d-%d", os.Getpid(), treeSeq.Add(1))
	max := maxProcesses + RuntimeTasks
	for _, c := range pidsCgroups() {
		sweep(c.dir)
		dir := filepath.Join(c.dir, name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			continue
		}
		t := &Tree{Dir: dir, Version: c.version, Max: max}
		if os.WriteFile(filepath.Join(dir, "pids.max"), []byte(strconv.Itoa(max)), 0) == nil {
			return t
		}
		os.Remove(dir) // no pids controller in this one after all
	}
	return nil
}

type cgroupDir struct {
	dir     string
	version int
}

// pidsCgroups lists the directories of this process's cgroups that may
// hold a pids sub-cgroup, v2 first. Read at each call: mounts change.
func pidsCgroups() []cgroupDir {
	own := map[string]string{} // "" for v2, else the v1 controller list
	if f, err := os.Open("/proc/self/cgroup"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			parts := strings.SplitN(sc.Text(), ":", 3)
			if len(parts) == 3 {
				own[parts[1]] = parts[2]
			}
		}
		f.Close()
	}
	var v2, v1 []cgroupDir
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// id parent maj:min root mountpoint opts [optional...] - fstype source superopts
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		fields, tail := strings.Fields(pre), strings.Fields(post)
		if len(fields) < 5 || len(tail) < 3 {
			continue
		}
		root, mnt := fields[3], unescape(fields[4])
		switch tail[0] {
		case "cgroup2":
			path, ok := own[""]
			if !ok || !within(path, root) {
				continue
			}
			dir := filepath.Join(mnt, strings.TrimPrefix(path, root))
			if enablePids(dir) {
				v2 = append(v2, cgroupDir{dir, 2})
			}
		case "cgroup":
			if !hasOpt(tail[2], "pids") {
				continue
			}
			for ctrl, path := range own {
				if hasOpt(ctrl, "pids") && within(path, root) {
					v1 = append(v1, cgroupDir{filepath.Join(mnt, strings.TrimPrefix(path, root)), 1})
				}
			}
		}
	}
	return append(v2, v1...)
}

// enablePids reports whether children of the v2 cgroup dir get the pids
// controller, enabling it if dir offers it (which the kernel refuses for a
// non-root cgroup that has processes of its own).
func enablePids(dir string) bool {
	if b, err := os.ReadFile(filepath.Join(dir, "cgroup.subtree_control")); err == nil && hasWord(string(b), "pids") {
		return true
	}
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.controllers"))
	if err != nil || !hasWord(string(b), "pids") {
		return false
	}
	return os.WriteFile(filepath.Join(dir, "cgroup.subtree_control"), []byte("+pids"), 0) == nil
}

func within(path, root string) bool {
	return root == "/" || path == root || strings.HasPrefix(path, root+"/")
}

func hasOpt(opts, name string) bool {
	for _, o := range strings.Split(opts, ",") {
		if o == name {
			return true
		}
	}
	return false
}

func hasWord(s, w string) bool {
	for _, f := range strings.Fields(s) {
		if f == w {
			return true
		}
	}
	return false
}

// unescape undoes mountinfo's octal escapes (\040 for a space).
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// join moves the calling process into the tree ("0" is the writer itself,
// in v1 and v2), so that it and everything it starts are counted.
func (t *Tree) join() error {
	if err := os.WriteFile(filepath.Join(t.Dir, "cgroup.procs"), []byte("0"), 0); err != nil {
		return fmt.Errorf("join the pids cgroup %s: %v", t.Dir, err)
	}
	return nil
}

// Kill kills every process in the tree: cgroup.kill on v2, else SIGKILL
// to each process cgroup.procs lists, until it lists none (a process
// forking meanwhile is caught by the next pass). A nil Tree does nothing.
func (t *Tree) Kill() {
	if t == nil {
		return
	}
	if t.Version == 2 && os.WriteFile(filepath.Join(t.Dir, "cgroup.kill"), []byte("1"), 0) == nil {
		return
	}
	for range 100 {
		b, err := os.ReadFile(filepath.Join(t.Dir, "cgroup.procs"))
		if err != nil || len(strings.TrimSpace(string(b))) == 0 {
			return
		}
		for _, f := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(f); err == nil && pid > 0 {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
}

// Release kills what is left in the tree and removes the cgroup; call it
// once the child was reaped. The kernel refuses to remove a cgroup while
// killed tasks are still exiting, so it retries for up to 2s. A nil Tree
// does nothing.
func (t *Tree) Release() error {
	if t == nil {
		return nil
	}
	deadline := time.Now().Add(2 * time.Second)
	for pause := time.Millisecond; ; pause = min(2*pause, 50*time.Millisecond) {
		t.Kill()
		err := syscall.Rmdir(t.Dir)
		if err == nil || errors.Is(err, syscall.ENOENT) {
			return nil
		}
		if !errors.Is(err, syscall.EBUSY) || time.Now().After(deadline) {
			return fmt.Errorf("contain: remove the pids cgroup %s: %v", t.Dir, err)
		}
		time.Sleep(pause)
	}
}

// sweep removes the empty cgroups of hosts that died without Release (a
// SIGKILL): clawd-PID-N in dir whose PID no longer runs.
func sweep(dir string) {
	stale, _ := filepath.Glob(filepath.Join(dir, "clawd-*-*"))
	for _, d := range stale {
		f := strings.Split(filepath.Base(d), "-")
		if pid, err := strconv.Atoi(f[1]); err == nil && pid != os.Getpid() && syscall.Kill(pid, 0) == syscall.ESRCH {
			syscall.Rmdir(d) // fails, harmlessly, while it still holds tasks
		}
	}
}
