// Command benchreport turns `go test -bench` output of the bench module
// into the peers table (Markdown) and chart (SVG):
//
//	benchreport -o results cgo=bench-cgo.txt purego=bench-purego.txt
//
// Each argument is label=file, one run per cgo mode; the label heads the
// run's columns and names its bars. It writes peers.md and peers.svg into
// the -o directory and prints the table.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

func main() {
	out := flag.String("o", ".", "directory to write peers.md and peers.svg into")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: benchreport [-o DIR] LABEL=FILE...")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*out, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
}

func run(dir string, args []string) error {
	var runs []*Run
	for _, a := range args {
		label, file, ok := strings.Cut(a, "=")
		if !ok || label == "" || file == "" {
			return fmt.Errorf("argument %q: want LABEL=FILE", a)
		}
		f, err := os.Open(file)
		if err != nil {
			return err
		}
		r, err := Parse(label, f)
		f.Close()
		if err != nil {
			return err
		}
		if len(r.Results) == 0 {
			return fmt.Errorf("%s: no benchmark results in %s", label, file)
		}
		runs = append(runs, r)
	}
	m := machine(runs)
	var md, svg bytes.Buffer
	if err := errors.Join(Markdown(&md, m, runs), SVG(&svg, runs)); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "peers.md"), md.Bytes(), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "peers.svg"), svg.Bytes(), 0o644); err != nil {
		return err
	}
	_, err := os.Stdout.Write(md.Bytes())
	return err
}

// machine describes this machine: the CPU as go test printed it (or as
// /proc/cpuinfo names it), the cores, the OS and kernel, the Go release.
func machine(runs []*Run) Machine {
	m := Machine{CPU: "unknown CPU", Cores: fmt.Sprintf("%d cores", runtime.NumCPU()), Go: runtime.Version()}
	for _, r := range runs {
		if r.CPU != "" {
			m.CPU = r.CPU
			break
		}
	}
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	m.OS = runtime.GOOS + "/" + runtime.GOARCH
	if data, err := os.ReadFile("/etc/os-release"); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(l, "PRETTY_NAME="); ok {
				m.OS = strings.Trim(v, `"`) + " (" + m.OS + ")"
			}
		}
	}
	if data, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.OS += ", Linux " + strings.TrimSpace(string(data))
	}
	return m
}
