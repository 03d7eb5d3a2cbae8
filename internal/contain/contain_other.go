//go:build !linux

package contain

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

// Enter must be called at the very top of main, with the Stage of the
// child's hand-off. Outside Linux nothing is applied here (on Windows the
// host made the job object and the token): with a Policy it records the
// Report of what holds (Probe) for Applied; with a Report (or after the
// Policy) it checks that the parent that started the child is still its
// parent (else exit 125, as for a Policy without a parent). With neither
// it returns at once.
func Enter(s *Stage, encode func() ([]byte, error)) {
	if s.Policy != nil {
		p := *s.Policy
		if err := p.validate(); err != nil {
			die("%v", err)
		}
		if s.Parent <= 0 {
			die("the hand-off names no parent: the child was not started by Prepare")
		}
		r := Probe(p)
		s.Policy, s.Report = nil, &r
	}
	if s.Report != nil {
		checkParent(s.Parent)
		applied = s.Report
	}
}

// parentPID is the parent's pid.
func parentPID() int { return os.Getppid() }

// Start starts cmd: cmd.Start, and on Windows in the job object Prepare
// planned for it (contain_windows.go).
func Start(cmd *exec.Cmd) error { return start(cmd) }

// Probe reports what this OS would apply for p: nothing but a process of
// the child's own.
func Probe(p Policy) Report {
	r := Report{OS: runtime.GOOS, Env: true} // Prepare builds the environment everywhere
	if runtime.GOOS != "windows" {           // no uids there
		r.UID, r.GID = os.Getuid(), os.Getgid()
	}
	if osProbe(p, &r) {
		if err := p.validate(); err != nil {
			r.Notes = append(r.Notes, err.Error())
		}
		return r
	}
	if p.DenySockets {
		r.Notes = append(r.Notes, "sockets are not restricted on "+runtime.GOOS)
	}
	if p.DenySyscalls {
		r.Notes = append(r.Notes, "system calls are not filtered on "+runtime.GOOS)
	}
	if p.Landlock || p.DenyTCP || p.ScopeSignals {
		r.Notes = append(r.Notes, runtime.GOOS+" has no Landlock: file and network access are not restricted")
	}
	if p.rlimits() {
		r.Notes = append(r.Notes, "rlimits are applied on Linux only")
	}
	r.Notes = append(r.Notes, "the child does not die with its parent on "+runtime.GOOS)
	if err := p.validate(); err != nil {
		r.Notes = append(r.Notes, err.Error())
	}
	return r
}

// SystemLibraryDirs lists the existing directories (and cache files) from
// which the dynamic loader loads system libraries.
func SystemLibraryDirs() []string {
	var c []string
	switch runtime.GOOS {
	case "darwin", "ios":
		c = []string{
			"/usr/lib", "/System/Library/Frameworks", "/System/Library/PrivateFrameworks",
			"/System/Library/dyld", "/System/Volumes/Preboot/Cryptexes/OS/System/Library/dyld",
		}
	case "windows":
		root := os.Getenv("SystemRoot")
		if root == "" {
			root = `C:\Windows`
		}
		c = []string{filepath.Join(root, "System32"), filepath.Join(root, "SysWOW64")}
	case "freebsd", "dragonfly":
		c = []string{"/lib", "/libexec", "/usr/lib", "/usr/local/lib", "/var/run/ld-elf.so.hints"}
	default: // the other BSDs, illumos, ...
		c = []string{"/lib", "/libexec", "/usr/lib", "/usr/libexec", "/usr/local/lib", "/var/run/ld.so.hints"}
	}
	return existing(c)
}
