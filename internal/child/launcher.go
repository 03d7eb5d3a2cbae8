package child

import (
	"os"
	"os/exec"
	"strings"
)

// LauncherEnv names an optional command that starts every child process
// of this module: its value, split on blanks, goes before the
// executable's path. It exists for running the module's own programs and
// tests under a user-mode emulator without binfmt_misc, where a process
// cannot execute a binary of the emulated architecture itself:
//
//	CLAWD_CHILD_LAUNCHER="qemu-aarch64 -L /usr/aarch64-linux-gnu"
//
// Unset (the normal case), children are executed directly. A confined
// child (contain, Linux) executes itself a second time without the
// launcher, so the process sandbox does not run under one.
const LauncherEnv = "CLAWD_CHILD_LAUNCHER"

// Exec is exec.Command(exe, argv...) through the launcher of LauncherEnv,
// if any: the one place the module starts a program of its own. Tests
// that run the command-line program use it too.
func Exec(exe string, argv ...string) *exec.Cmd {
	if l := strings.Fields(os.Getenv(LauncherEnv)); len(l) > 0 {
		return exec.Command(l[0], append(append(l[1:len(l):len(l)], exe), argv...)...)
	}
	return exec.Command(exe, argv...)
}
