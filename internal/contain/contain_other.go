//go:build !linux

package contain

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

// Enter must be called at the very top of main. Outside Linux there is
// nothing to apply: with EnvPolicy in the environment it records the Report
// (crash isolation only) for Applied and checks that the parent that started
// the child is still its parent (else exit 125). With neither EnvPolicy nor
// EnvReport set it returns at once.
func Enter() {
	if js, ok := os.LookupEnv(EnvPolicy); ok {
		p, err := policyFromEnv(js)
		if err != nil {
			die("%v", err)
		}
		rep, err := json.Marshal(Probe(p))
		if err != nil {
			die("encode report: %v", err)
		}
		_ = os.Unsetenv(EnvPolicy)
		_ = os.Setenv(EnvReport, string(rep))
	}
	if _, ok := os.LookupEnv(EnvReport); ok {
		checkParent()
	}
}

// Start starts cmd (cmd.Start: only Linux ties a child to its parent thread).
func Start(cmd *exec.Cmd) error { return cmd.Start() }

// Probe reports what this OS would apply for p: nothing but a process of
// the child's own.
func Probe(p Policy) Report {
	r := Report{OS: runtime.GOOS, Env: true} // Prepare builds the environment everywhere
	if runtime.GOOS != "windows" {           // no uids there
		r.UID, r.GID = os.Getuid(), os.Getgid()
	}
	if p.DenySockets {
		r.Notes = append(r.Notes, "sockets are not restricted on "+runtime.GOOS)
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
