package main

import (
	"fmt"

	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/clawd-go/clawd/internal/cbuild"
)

// The packages each target runs: the loader, the host, manifests and the
// command line on both; the process sandbox where it exists.
var (
	windowsPkgs = []string{"./internal/callback", "./internal/dl", "./internal/vtable", "./internal/clawctx", "./internal/contain", "./manifest", "./loader", "./host", "./isolate", "./install", "./cmd/clawd-plugin"}
	arm64Pkgs   = []string{"./internal/callback", "./internal/dl", "./internal/vtable", "./internal/clawctx", "./manifest", "./loader", "./host", "./isolate", "./install", "./cmd/clawd-plugin"}
)

func targets() map[string]target {
	return map[string]target{
		"windows/amd64": {
			goos: "windows", goarch: "amd64", triple: "x86_64-windows-gnu",
			launcher: wineLauncher,
			env: func(dir string) []string {
				return []string{"WINEPREFIX=" + filepath.Join(dir, "wineprefix"), "WINEDEBUG=-all"}
			},
			// Wine maps the build machine's / to drive Z:.
			hostPath: func(p string) string { return "Z:" + strings.ReplaceAll(p, "/", `\`) },
			confined: true,
			// The cgo call path (the C shim, //export trampolines) too.
			cgoPkgs: []string{"./internal/vtable", "./internal/clawctx", "./loader"},
			pkgs:    windowsPkgs,
		},
		"linux/arm64": {
			goos: "linux", goarch: "arm64", triple: "aarch64-linux-gnu",
			launcher: qemuLauncher,
			env: func(dir string) []string {
				l, _ := qemuLauncher(dir)
				return []string{"CLAWD_CHILD_LAUNCHER=" + strings.Join(l, " ")}
			},
			hostPath: func(p string) string { return p },
			pkgs:     arm64Pkgs,
		},
	}
}

// wine finds wine64: $WINE, wine64 on PATH, or Debian's path of it.
func wine() (string, error) {
	if w := os.Getenv("WINE"); w != "" {
		return w, nil
	}
	if p, err := exec.LookPath("wine64"); err == nil {
		return p, nil
	}
	if _, err := os.Stat("/usr/lib/wine/wine64"); err == nil {
		return "/usr/lib/wine/wine64", nil
	}
	return "", fmt.Errorf("wine64 not found: apt-get install wine64 (Debian), or set WINE")
}

// wineLauncher makes the Wine prefix (once) and installs the stand-in
// bcryptprimitives.dll into its system32, rebuilt from its source each run.
func wineLauncher(dir string) ([]string, error) {
	w, err := wine()
	if err != nil {
		return nil, err
	}
	prefix := filepath.Join(dir, "wineprefix")
	env := append(os.Environ(), "WINEPREFIX="+prefix, "WINEDEBUG=-all")
	sys32 := filepath.Join(prefix, "drive_c", "windows", "system32")
	if _, err := os.Stat(sys32); err != nil {
		fmt.Println("crosstest: making the Wine prefix", prefix)
		cmd := exec.Command(w, "wineboot", "-i")
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("wineboot -i: %v\n%s", err, out)
		}
		// wineboot returns before wineserver has written the prefix out.
		wait := exec.Command(filepath.Join(filepath.Dir(w), "wineserver"), "-w")
		wait.Env = env
		_ = wait.Run()
	}
	src, err := standIn()
	if err != nil {
		return nil, err
	}
	out := filepath.Join(dir, "bcryptprimitives.dll")
	args := append(append([]string{}, zig...), "cc", "-target", "x86_64-windows-gnu", "-shared", "-O2", src, "-ladvapi32", "-o", out)
	if msg, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("%s: %v\n%s", strings.Join(args, " "), err, msg)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(sys32, "bcryptprimitives.dll"), data, 0o644); err != nil {
		return nil, fmt.Errorf("install the stand-in bcryptprimitives.dll: %w", err)
	}
	return []string{w}, nil
}

func standIn() (string, error) {
	root, err := cbuild.RepoRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, ".ci", "wine", "bcryptprimitives.c"), nil
}

// qemuLauncher is qemu-aarch64 with Debian's arm64 C library
// (libc6-arm64-cross) as the root of the guest's dynamic loader.
func qemuLauncher(string) ([]string, error) {
	q, err := exec.LookPath("qemu-aarch64")
	if err != nil {
		return nil, fmt.Errorf("qemu-aarch64 not found: apt-get install qemu-user")
	}
	sysroot := "/usr/aarch64-linux-gnu"
	if _, err := os.Stat(filepath.Join(sysroot, "lib", "ld-linux-aarch64.so.1")); err != nil {
		return nil, fmt.Errorf("%s has no arm64 dynamic loader: apt-get install libc6-arm64-cross", sysroot)
	}
	return []string{q, "-L", sysroot}, nil
}
