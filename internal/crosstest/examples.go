package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// An example plugin, built for the target the way its build file does it
// (with Zig for the target's triple), staged in a plugins directory with
// its manifest.
type example struct {
	dir, src, manifest string
	lib                func(goos string) string // the file the manifest names
}

var examples = []example{
	{"examples/c/hello", "hello.c", "clawd-plugin.json", func(goos string) string { return libName(goos, "hello") }},
	{"examples/c/guard", "guard.c", "clawd-plugin.json", func(goos string) string { return libName(goos, "guard") }},
	{"examples/cpp/hello", "hello.cpp", "plugin.toml", func(goos string) string { return libName(goos, "hello_cpp") }},
	{"examples/zig/hello", "hello.zig", "plugin.toml", func(goos string) string { return "zig-out/" + libName(goos, "hello_zig") }},
}

func libName(goos, name string) string {
	if goos == "windows" {
		return name + ".dll"
	}
	return "lib" + name + ".so"
}

// jsonEntry is the entry of a reference-daemon manifest (one file name for
// every OS): the staged copy names the target's library.
var jsonEntry = regexp.MustCompile(`("entry"\s*:\s*)"[^"]*"`)

// runExamples builds the examples for t into dir/examples, then runs the
// target's clawd-plugin on them: check on each, and the example sessions
// in process and in the process sandbox. It returns the failures.
func runExamples(root, dir string, t target, launch []string, cli string) (fails, skips []string) {
	stage := filepath.Join(dir, "examples")
	_ = os.RemoveAll(stage)
	var plugins []string
	for _, ex := range examples {
		name := strings.ReplaceAll(strings.TrimPrefix(ex.dir, "examples/"), "/", "-")
		pdir := filepath.Join(stage, "plugins", name)
		lib := filepath.Join(pdir, filepath.FromSlash(ex.lib(t.goos)))
		if err := buildExample(root, ex, t, lib); err != nil {
			fails = append(fails, fmt.Sprintf("build %s for %s/%s: %v", ex.dir, t.goos, t.goarch, err))
			continue
		}
		man, err := os.ReadFile(filepath.Join(root, ex.dir, ex.manifest))
		if err != nil {
			fails = append(fails, err.Error())
			continue
		}
		if strings.HasSuffix(ex.manifest, ".json") {
			man = jsonEntry.ReplaceAll(man, []byte(`${1}"`+ex.lib(t.goos)+`"`))
		}
		if err := os.WriteFile(filepath.Join(pdir, ex.manifest), man, 0o644); err != nil {
			fails = append(fails, err.Error())
			continue
		}
		plugins = append(plugins, pdir)
	}
	env := append(os.Environ(), t.env(dir)...)
	cliRun := func(args ...string) (string, error) {
		argv := append(append(append([]string{}, launch...), cli), args...)
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Dir = root
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	sandboxes := []string{"native", "process"}
	if !t.confined {
		sandboxes = sandboxes[:1]
		skips = append(skips, "examples: clawd-plugin check and run --sandbox process: not run: "+confinedWhy)
		plugins = nil // check runs each check in a confined child
	}
	for _, p := range plugins {
		out, err := cliRun("check", t.hostPath(p))
		status := "ok  "
		if err != nil {
			status = "FAIL"
			fails = append(fails, fmt.Sprintf("check %s: %v\n%s", p, err, out))
		}
		fmt.Printf("%s %s/%s clawd-plugin check %s: %s\n", status, t.goos, t.goarch, filepath.Base(p), lastLine(out))
	}
	for _, sandbox := range sandboxes {
		for _, script := range []string{"session.jsonl", "guard.jsonl"} {
			args := []string{"run", "--sandbox", sandbox, "--plugins", t.hostPath(filepath.Join(stage, "plugins")),
				"--events", t.hostPath(filepath.Join(root, "examples", "scripts", script))}
			out, err := cliRun(args...)
			sum := lastLine(out)
			ok := err == nil && regexp.MustCompile(`^summary: .*\(0 failed\), \d+ calls ok, 0 failed`).MatchString(sum)
			status := "ok  "
			if !ok {
				status = "FAIL"
				fails = append(fails, fmt.Sprintf("clawd-plugin %s: %v\n%s", strings.Join(args, " "), err, out))
			}
			fmt.Printf("%s %s/%s clawd-plugin run --sandbox %s (%s): %s\n", status, t.goos, t.goarch, sandbox, script, sum)
		}
	}
	return fails, skips
}

func lastLine(out string) string {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	return lines[len(lines)-1]
}

func buildExample(root string, ex example, t target, out string) error {
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	inc := filepath.Join(root, "include")
	src := filepath.Join(root, ex.dir, ex.src)
	pic := []string{"-fPIC"}
	if t.goos == "windows" {
		pic = nil
	}
	run := func(args ...string) error {
		argv := append(append([]string{}, zig...), args...)
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Dir = filepath.Dir(out)
		if msg, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %v\n%s", strings.Join(argv, " "), err, msg)
		}
		return nil
	}
	var err error
	switch filepath.Ext(ex.src) {
	case ".c":
		err = run(append(append([]string{"cc", "-target", t.triple, "-shared"}, pic...), "-fvisibility=hidden", "-O2", "-I"+inc, src, "-o", out)...)
	case ".cpp":
		err = run(append(append([]string{"c++", "-target", t.triple, "-std=c++17", "-shared"}, pic...), "-fvisibility=hidden", "-O2", "-I"+inc, src, "-o", out)...)
	case ".zig":
		err = run("build-lib", "-dynamic", "-target", t.triple, "-OReleaseSafe", "-lc",
			"--cache-dir", filepath.Join(filepath.Dir(out), "zig-cache"),
			"--dep", "clawd_plugin", "-Mroot="+src, "-Mclawd_plugin="+filepath.Join(inc, "clawd_plugin.zig"), "-fno-emit-implib", "-femit-bin="+out)
	}
	return err
}
