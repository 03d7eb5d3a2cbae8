package contain

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
)

// maxFD bounds Policy.KeepFDs: no child is handed more descriptors.
const maxFD = 1 << 16

// validateConfine checks the fields that say what the child starts with.
func (p Policy) validateConfine() error {
	for _, kv := range p.Env {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case name == "":
			return fmt.Errorf("contain: policy env entry %q has no name", kv)
		case strings.ContainsRune(kv, 0):
			return fmt.Errorf("contain: policy env entry %q contains a NUL byte", kv)
		case name == EnvHandoff:
			return fmt.Errorf("contain: policy env entry %q sets a variable of the sandbox's own hand-off", kv)
		}
	}
	for _, fd := range p.KeepFDs {
		if fd < 0 || fd >= maxFD {
			return fmt.Errorf("contain: policy keeps descriptor %d (want 0 to %d)", fd, maxFD-1)
		}
	}
	switch {
	case p.UID < 0 || p.GID < 0:
		return fmt.Errorf("contain: policy uid %d / gid %d: ids are not negative", p.UID, p.GID)
	case (p.UID == 0) != (p.GID == 0):
		return fmt.Errorf("contain: policy uid %d / gid %d: set both or neither (0 keeps the host's)", p.UID, p.GID)
	}
	return nil
}

// prepareChild completes p for cmd: the descriptors cmd.ExtraFiles gives
// the child, whether it gets a network and an IPC namespace of its own,
// and its private home (created here, "" without PrivateHome).
func prepareChild(cmd *exec.Cmd, p Policy) (Policy, string, error) {
	keep := append([]int(nil), p.KeepFDs...)
	for i := range cmd.ExtraFiles {
		keep = append(keep, 3+i)
	}
	if len(keep) > 0 {
		p.KeepFDs = keep
	}
	p.NetNS = p.DenySockets && canNewNet()
	p.IPCNS = canNewIPC()
	if p.UID != 0 {
		if err := canSwitchIDs(); err != nil {
			return p, "", err
		}
	}
	if !p.PrivateHome {
		return p, "", nil
	}
	home, err := os.MkdirTemp("", "clawd-home-")
	if err != nil {
		return p, "", fmt.Errorf("contain: create the child's home: %w", err)
	}
	if p.UID != 0 {
		if err := os.Chown(home, p.UID, p.GID); err != nil {
			removeHome(home)
			return p, "", fmt.Errorf("contain: give the child's home to uid %d: %w", p.UID, err)
		}
	}
	p.ReadWrite = append(append([]string(nil), p.ReadWrite...), home)
	return p, home, nil
}

// homes maps a prepared command to the private home Cleanup removes.
var homes sync.Map // *exec.Cmd -> string

func keepHome(cmd *exec.Cmd, home string) {
	if home != "" {
		homes.Store(cmd, home)
	}
}

func removeHome(home string) {
	if home != "" {
		_ = os.RemoveAll(home)
	}
}

// Cleanup removes what Prepare made for cmd outside it (the private home
// of Policy.PrivateHome). Call it once the child has ended (after
// cmd.Wait), or when it could not be started. Without a private home it
// does nothing.
func Cleanup(cmd *exec.Cmd) error {
	closeJob(cmd) // Windows: kills what is left of the child's job
	v, ok := homes.LoadAndDelete(cmd)
	if !ok {
		return nil
	}
	if err := os.RemoveAll(v.(string)); err != nil {
		return fmt.Errorf("contain: remove the child's home: %w", err)
	}
	return nil
}

// confinedParts are the words String gives the steps that leave the child
// with nothing it was not given.
func (r Report) confinedParts() []string {
	var parts []string
	if r.Syscalls > 0 {
		parts = append(parts, fmt.Sprintf("seccomp: %d syscalls denied (%s)", r.Syscalls, strings.Join(r.SyscallClasses, ", ")))
	}
	if r.SessionKeyring {
		parts = append(parts, "own session keyring")
	}
	if r.Sockets {
		parts = append(parts, "no sockets (seccomp)")
	}
	if r.NetNS {
		parts = append(parts, "netns")
	}
	if r.IPCNS {
		parts = append(parts, "ipcns")
	}
	if r.NoCapabilities {
		parts = append(parts, "no capabilities")
	}
	if r.UID != 0 {
		parts = append(parts, fmt.Sprintf("uid %d gid %d", r.UID, r.GID))
	}
	if r.FDs {
		parts = append(parts, "fds closed")
	}
	if r.Env {
		parts = append(parts, "env allowlist")
	}
	return parts
}
