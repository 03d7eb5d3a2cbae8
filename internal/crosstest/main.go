// Command crosstest runs the module's tests for another OS or architecture
// under an emulator on the build machine: windows/amd64 under Wine
// (wine64), linux/arm64 under qemu-user (qemu-aarch64). `make test-windows`
// and `make test-arm64` run it; CI runs both.
//
// For each package it cross-compiles the test binary (`go test -c`,
// CGO_ENABLED=0; a target's cgoPkgs also with cgo, Zig as the C compiler)
// and runs it under the emulator in the package's directory. The tests cannot run a C compiler there, so crosstest serves
// their C builds: it sets CLAWD_PREBUILT (internal/cbuild) to a directory
// it watches and compiles every build a test asks for with Zig
// (`zig cc -target x86_64-windows-gnu` or `aarch64-linux-gnu`) on the
// build machine, with the flags the test asked for.
//
// Under Wine it first makes a Wine prefix inside the build directory and
// installs a stand-in bcryptprimitives.dll (.ci/wine/bcryptprimitives.c):
// Go's runtime loads ProcessPrng from it before main, and Wine 8 lacks it.
//
// Under qemu-user the tests' child processes (the process sandbox,
// inspect's and the conformance suite's children) are started through the
// emulator too: crosstest sets CLAWD_CHILD_LAUNCHER (internal/child).
//
// Tests the emulator cannot run are named in notRun with the reason,
// passed to -test.skip and printed; a test that skips itself is printed
// with its reason too. Nothing is left out silently.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/clawd-go/clawd/internal/cbuild"
)

// target is one OS/arch the harness runs tests for.
type target struct {
	goos, goarch string
	triple       string                             // zig cc -target
	launcher     func(dir string) ([]string, error) // the emulator's argv prefix, after any setup
	env          func(dir string) []string
	hostPath     func(p string) string // how the test binary names a path of the build machine
	confined     bool                  // a confined child (the process sandbox) can run there
	cgoPkgs      []string              // also built with cgo (Zig as the C compiler) and run: pkg#cgo
	pkgs         []string
}

var zig []string

func main() {
	which := flag.String("target", "windows/amd64", "windows/amd64 or linux/arm64")
	pkgList := flag.String("pkgs", "", "comma-separated packages (default: the target's list; PKG#cgo: its cgo build)")
	run := flag.String("run", "", "passed to -test.run")
	timeout := flag.Duration("timeout", 15*time.Minute, "per test binary")
	flag.Parse()
	root, err := cbuild.RepoRoot()
	if err != nil {
		fatal(err)
	}
	if zig = cbuild.Zig(); zig == nil {
		fatal(fmt.Errorf("no Zig toolchain (zig on PATH, $ZIG, or python3 -m ziglang)"))
	}
	t, ok := targets()[*which]
	if !ok {
		fatal(fmt.Errorf("unknown target %q", *which))
	}
	pkgs := t.pkgs
	for _, p := range t.cgoPkgs {
		pkgs = append(pkgs[:len(pkgs):len(pkgs)], p+"#cgo")
	}
	if *pkgList != "" {
		pkgs = strings.Split(*pkgList, ",")
	}
	var skips []string
	pkgs = slices.DeleteFunc(pkgs, func(pkg string) bool {
		for _, n := range notRun {
			if n.target == *which && n.pkg == strings.TrimSuffix(pkg, "#cgo") && n.test == "" {
				skips = append(skips, fmt.Sprintf("%s (every test): listed as not run: %s", pkg, n.why))
				return true
			}
		}
		return false
	})
	dir := filepath.Join(root, "tmp", "crosstest", t.goos+"-"+t.goarch)
	svc := filepath.Join(dir, "prebuilt")
	for _, d := range []string{filepath.Join(svc, "requests"), filepath.Join(svc, "out")} {
		_ = os.RemoveAll(d)
		if err := os.MkdirAll(d, 0o755); err != nil {
			fatal(err)
		}
	}
	launch, err := t.launcher(dir)
	if err != nil {
		fatal(err)
	}
	start := time.Now()
	bins, err := compileTests(root, dir, t, pkgs)
	if err != nil {
		fatal(err)
	}
	cli := bins[len(bins)-1]
	fmt.Printf("crosstest: %d test binaries and clawd-plugin for %s/%s built in %s\n", len(pkgs), t.goos, t.goarch, time.Since(start).Round(time.Second))

	stop := make(chan struct{})
	var served sync.WaitGroup
	served.Add(1)
	go func() { defer served.Done(); serve(root, svc, t, stop) }()

	failed := 0
	for i, pkg := range pkgs {
		skip := skipRegexp(t, pkg)
		for _, n := range notRun {
			if n.target == *which && n.pkg == strings.TrimSuffix(pkg, "#cgo") && n.test != "" {
				skips = append(skips, fmt.Sprintf("%s %s: listed as not run: %s", pkg, n.test, n.why))
			}
		}
		argv := append(append([]string{}, launch...), bins[i], "-test.count=1", "-test.v", "-test.timeout="+timeout.String())
		if skip != "" {
			argv = append(argv, "-test.skip="+skip)
		}
		if *run != "" {
			argv = append(argv, "-test.run="+*run)
		}
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Dir = filepath.Join(root, filepath.FromSlash(strings.TrimPrefix(strings.TrimSuffix(pkg, "#cgo"), "./")))
		cmd.Env = append(append(os.Environ(), t.env(dir)...), cbuild.PrebuiltEnv+"="+t.hostPath(svc), "CLAWD_TEST_CLI="+t.hostPath(cli))
		logPath := filepath.Join(dir, binName(pkg)+".log")
		began := time.Now()
		out, err := cmd.CombinedOutput()
		if err != nil && t.goos == "windows" && bytes.Contains(out, []byte(wineSpawnFlake)) {
			// Wine's CreateProcess now and then fails under load; once, the
			// tests that failed run again, and the run says so.
			if again := failedTests(out); again != "" {
				fmt.Printf("     %s: %q from Wine's CreateProcess; running %s again\n", pkg, wineSpawnFlake, again)
				retry := exec.Command(argv[0], append(slices.Clip(argv[1:]), "-test.run="+again)...)
				retry.Dir, retry.Env = cmd.Dir, cmd.Env
				var more []byte
				more, err = retry.CombinedOutput()
				out = append(append(out, "\n== run again\n"...), more...)
			}
		}
		_ = os.WriteFile(logPath, out, 0o644)
		selfSkips, fails := scan(out)
		for _, s := range selfSkips {
			skips = append(skips, pkg+" "+s)
		}
		status := "ok"
		if err != nil {
			status = "FAIL"
			failed++
		}
		fmt.Printf("%-4s %s/%s %s (%s; log %s)\n", status, t.goos, t.goarch, pkg, time.Since(began).Round(100*time.Millisecond), logPath)
		if err != nil {
			for _, f := range fails {
				fmt.Println("     " + f)
			}
			fmt.Print(lastLines(out, 40))
		}
	}
	close(stop)
	served.Wait()
	// The examples, built for the target, through the target's command line.
	exFails, exSkips := runExamples(root, dir, t, launch, cli)
	skips = append(skips, exSkips...)
	for _, f := range exFails {
		failed++
		fmt.Println("     " + strings.ReplaceAll(f, "\n", "\n     "))
	}
	sort.Strings(skips)
	fmt.Printf("crosstest: %s/%s: %d tests not run under the emulator, each with its reason:\n", t.goos, t.goarch, len(skips))
	for _, s := range skips {
		fmt.Println("  " + s)
	}
	fmt.Printf("crosstest: %s/%s: %d failures (of %d packages, and the examples), %s in all\n", t.goos, t.goarch, failed, len(pkgs), time.Since(start).Round(time.Second))
	if failed > 0 {
		os.Exit(1)
	}
}

// wineSpawnFlake is what Wine 8's CreateProcess returns, now and then, on a
// loaded machine: a start that works when tried again.
const wineSpawnFlake = "Internal error."

// failedTests is a -test.run pattern of the top-level tests that failed.
func failedTests(out []byte) string {
	var names []string
	for _, m := range regexp.MustCompile(`(?m)^--- FAIL: (\S+)`).FindAllSubmatch(out, -1) {
		names = append(names, regexp.QuoteMeta(string(m[1])))
	}
	if len(names) == 0 {
		return ""
	}
	return "^(" + strings.Join(names, "|") + ")$"
}

// binName names a package's test binary and log: loader, internal_dl,
// loader_cgo.
func binName(pkg string) string {
	return strings.NewReplacer("/", "_", "#", "_").Replace(strings.Trim(pkg, "./"))
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "crosstest:", err)
	os.Exit(1)
}

// compileTests builds one test binary per package, in parallel (go test -c
// takes one package at a time).
func compileTests(root, dir string, t target, pkgs []string) ([]string, error) {
	// One more: the command line, which its tests run (CLAWD_TEST_CLI).
	pkgs = append(pkgs[:len(pkgs):len(pkgs)], "./cmd/clawd-plugin#cli")
	bins := make([]string, len(pkgs))
	errs := make([]error, len(pkgs))
	ext := ""
	if t.goos == "windows" {
		ext = ".exe"
	}
	var flags []string
	if t.goos == "windows" {
		ov, err := wineOverlay(dir)
		if err != nil {
			return nil, err
		}
		flags = append(flags, ov)
	}
	sem := make(chan struct{}, max(1, runtime.NumCPU()))
	var wg sync.WaitGroup
	for i, pkg := range pkgs {
		verb := []string{"test", "-c"}
		bins[i] = filepath.Join(dir, "bin", binName(pkg)+".test"+ext)
		env := []string{"GOOS=" + t.goos, "GOARCH=" + t.goarch, "CGO_ENABLED=0"}
		if p, ok := strings.CutSuffix(pkg, "#cli"); ok {
			pkg, verb, bins[i] = p, []string{"build"}, filepath.Join(dir, "bin", "clawd-plugin"+ext)
		}
		if p, ok := strings.CutSuffix(pkg, "#cgo"); ok {
			// The cgo build, with Zig as the target's C compiler.
			pkg = p
			env = []string{"GOOS=" + t.goos, "GOARCH=" + t.goarch, "CGO_ENABLED=1",
				"CC=" + strings.Join(append(append([]string{}, zig...), "cc", "-target", t.triple), " ")}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			cmd := exec.Command("go", append(append(verb, flags...), "-o", bins[i], pkg)...)
			cmd.Dir = root
			cmd.Env = append(os.Environ(), env...)
			if out, err := cmd.CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("%s go %s %s: %v\n%s", strings.Join(env, " "), strings.Join(verb, " "), pkg, err, out)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return bins, nil // the command line last
}

// serve compiles the builds the tests ask for (cbuild.Request files in
// svc/requests) until stop is closed.
func serve(root, svc string, t target, stop <-chan struct{}) {
	done := map[string]bool{}
	jobs := make(chan string)
	var wg sync.WaitGroup
	for range max(1, runtime.NumCPU()) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range jobs {
				build(root, svc, t, p)
			}
		}()
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			close(jobs)
			wg.Wait()
			return
		case <-tick.C:
		}
		ents, _ := os.ReadDir(filepath.Join(svc, "requests"))
		for _, e := range ents {
			name := e.Name()
			if !strings.HasSuffix(name, ".json") || done[name] {
				continue
			}
			done[name] = true
			jobs <- filepath.Join(svc, "requests", name)
		}
	}
}

var outMu sync.Mutex

func build(root, svc string, t target, reqPath string) {
	fail := func(out string, msg string) {
		_ = os.WriteFile(out+".err", []byte(msg), 0o644)
	}
	data, err := os.ReadFile(reqPath)
	if err != nil {
		return
	}
	var r cbuild.Request
	if err := json.Unmarshal(data, &r); err != nil || r.Out == "" || strings.Contains(r.Out, "..") || strings.Contains(r.Src, "..") {
		return // not a request of ours
	}
	out := filepath.Join(svc, "out", filepath.FromSlash(r.Out))
	outMu.Lock()
	_, exists := os.Stat(out)
	outMu.Unlock()
	if exists == nil {
		return
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		fail(out, err.Error())
		return
	}
	flags := cbuild.ProgFlags(t.goos, root)
	if r.Lib {
		flags = cbuild.LibFlags(t.goos, root)
	}
	tmp := out + ".tmp"
	args := append(append(append([]string{}, zig...), "cc", "-target", t.triple), flags...)
	args = append(append(args, r.Flags...), "-o", tmp, filepath.Join(root, filepath.FromSlash(r.Src)))
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = root
	if msg, err := cmd.CombinedOutput(); err != nil {
		fail(out, fmt.Sprintf("%s: %v\n%s", strings.Join(args, " "), err, msg))
		return
	}
	// zig writes a .pdb and an import library beside a DLL: not needed.
	for _, extra := range []string{".pdb", ".lib"} {
		_ = os.Remove(strings.TrimSuffix(tmp, filepath.Ext(tmp)) + extra)
	}
	outMu.Lock()
	defer outMu.Unlock()
	if err := os.Rename(tmp, out); err != nil {
		fail(out, err.Error())
	}
}

// scan finds the tests that skipped themselves (with their reason, the
// last line the test printed) and those that failed, in -test.v output.
// A test's lines follow its "=== RUN", "=== NAME" or "=== CONT" header.
func scan(out []byte) (skips, fails []string) {
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	last := map[string]string{} // test -> the last line it printed
	cur := ""
	for sc.Scan() {
		line := sc.Text()
		trim := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(trim, "=== "):
			f := strings.Fields(trim)
			if len(f) >= 3 {
				cur = f[2]
			}
		case strings.HasPrefix(trim, "--- SKIP: "):
			name, _, _ := strings.Cut(strings.TrimPrefix(trim, "--- SKIP: "), " (")
			skips = append(skips, name+": "+last[name])
			cur = ""
		case strings.HasPrefix(trim, "--- FAIL: "):
			fails = append(fails, trim)
			cur = ""
		case strings.HasPrefix(trim, "--- "):
			cur = ""
		case cur != "" && strings.HasPrefix(line, "    ") && trim != "":
			last[cur] = trim
		}
	}
	return skips, fails
}

func lastLines(out []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "     | " + strings.Join(lines, "\n     | ") + "\n"
}

// skipRegexp is the -test.skip pattern of pkg's tests not run on t (top
// level tests only).
func skipRegexp(t target, pkg string) string {
	var names []string
	for _, n := range notRun {
		if n.target == t.goos+"/"+t.goarch && n.pkg == strings.TrimSuffix(pkg, "#cgo") && n.test != "" {
			names = append(names, "^"+regexp.QuoteMeta(n.test)+"$")
		}
	}
	return strings.Join(names, "|")
}
