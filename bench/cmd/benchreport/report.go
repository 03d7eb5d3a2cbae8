package main

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// A Row is one path of the peers table: what a tool call goes through, and
// the reference it was interleaved with.
type Row struct {
	Key, Ref string
	// By run label: ns per call, allocs per call, subject over reference
	// (per plugin for the host rows), NaN where the run lacks the row.
	NS, Allocs, X map[string]float64
}

// about says what each row of the peers table is.
var about = map[string]string{
	"c-vtable":        "C calling on_tool_call through the vtable (the physical floor)",
	"floor-call":      "hand-written call: strings copied to C memory, then the pointer called (cgo shim; bare purego.SyscallN without cgo)",
	"loader":          "clawd loader, in process",
	"host-1":          "clawd host, 1 plugin",
	"host-16":         "clawd host, 16 plugins",
	"host-100":        "clawd host, 100 plugins",
	"host-4":          "clawd host, 4 quick plugins, default fan-out threshold",
	"host-4-fanned":   "clawd host, 4 quick plugins, every one on a goroutine",
	"process":         "clawd process sandbox (a child process)",
	"pipe":            "raw pipe-pair round trip between two processes (floor of the sandbox)",
	"wasm":            "clawd WASM (wazero), per-call deadlines on",
	"wasm-nodeadline": "clawd WASM (wazero), deadlines off",
	"goplugin-netrpc": "hashicorp/go-plugin v1.8.0, net/rpc",
	"goplugin-grpc":   "hashicorp/go-plugin v1.8.0, gRPC",
}

// Rows collects the peers table from the runs: the results named
// Peers/<row>/vs=<ref>, in the order they first appear, then each
// reference that is no row of its own (from its ref-ns/op).
func Rows(runs []*Run) []*Row {
	var rows []*Row
	find := func(key string) *Row {
		for _, r := range rows {
			if r.Key == key {
				return r
			}
		}
		r := &Row{Key: key, NS: map[string]float64{}, Allocs: map[string]float64{}, X: map[string]float64{}}
		rows = append(rows, r)
		return r
	}
	type refSeen struct{ ref, label string }
	refs := map[refSeen]float64{}
	var refOrder []string
	for _, run := range runs {
		for _, res := range run.Results {
			rest, ok := strings.CutPrefix(res.Name, "Peers/")
			if !ok {
				continue
			}
			key, ref, ok := strings.Cut(rest, "/vs=")
			if !ok {
				continue
			}
			r := find(key)
			r.Ref = ref
			r.NS[run.Label] = metric(res, "ns/op")
			r.Allocs[run.Label] = metric(res, "allocs/op")
			r.X[run.Label] = metric(res, "x-ref")
			if _, seen := refs[refSeen{ref, run.Label}]; !seen {
				refOrder = append(refOrder, ref)
			}
			refs[refSeen{ref, run.Label}] = metric(res, "ref-ns/op")
		}
	}
	keys := map[string]bool{}
	for _, r := range rows {
		keys[r.Key] = true
	}
	for _, ref := range refOrder {
		if keys[ref] {
			continue
		}
		keys[ref] = true
		r := find(ref)
		for _, run := range runs {
			if v, ok := refs[refSeen{ref, run.Label}]; ok {
				r.NS[run.Label] = v
			}
		}
	}
	return rows
}

func metric(res *Result, unit string) float64 {
	if v, ok := res.Metrics[unit]; ok {
		return v
	}
	return math.NaN()
}

// Machine describes where the runs were made.
type Machine struct{ CPU, Cores, OS, Go string }

// Markdown writes the report: the machine, the peers table, the scale
// figures.
func Markdown(w io.Writer, m Machine, runs []*Run) error {
	p := &printer{w: w}
	p.f("Measured on: %s, %s, %s, %s.\n\n", m.CPU, m.Cores, m.OS, m.Go)
	p.f("Medians of the runs' repetitions. Every row is timed interleaved with the reference it names, in the same loop; ")
	p.f("x ref is the row's time over the reference's (for the host rows, per plugin).\n\n")
	p.f("| path | reference |")
	for _, r := range runs {
		p.f(" %s ns/call | %s allocs | %s x ref |", r.Label, r.Label, r.Label)
	}
	p.f("\n|---|---|")
	for range runs {
		p.f("---:|---:|---:|")
	}
	p.f("\n")
	for _, row := range Rows(runs) {
		name := row.Key
		if a, ok := about[row.Key]; ok {
			name = a
		}
		ref := row.Ref
		if ref == "" {
			ref = "-"
		}
		p.f("| %s | %s |", name, ref)
		for _, r := range runs {
			p.f(" %s | %s | %s |", num(get(row.NS, r.Label), 3), num(get(row.Allocs, r.Label), 0), ratio(get(row.X, r.Label)))
		}
		p.f("\n")
	}
	p.f("\n")
	scale(p, runs)
	return p.err
}

// scale writes the growth fits and the per-plugin costs.
func scale(p *printer, runs []*Run) {
	p.f("Scale:\n\n")
	for _, run := range runs {
		var xs, ys []float64
		for _, res := range run.Results {
			if n, ok := intBetween(res.Name, "Peers/host-", "/vs=loader"); ok {
				xs, ys = append(xs, float64(n)), append(ys, metric(res, "ns/op"))
			}
		}
		if a, b, ok := Fit(xs, ys); ok {
			p.f("- %s: host dispatch from %s to %s plugins grows linearly: %s ns + %s ns per plugin (least squares).\n",
				run.Label, num(xs[0], 0), num(xs[len(xs)-1], 0), num(a, 3), num(b, 3))
		}
		xs, ys = nil, nil
		for _, res := range run.Results {
			if n, ok := intBetween(res.Name, "Input/loader-bytes=", "/vs=floor"); ok {
				xs, ys = append(xs, float64(n)), append(ys, metric(res, "ns/op"))
			}
		}
		if a, b, ok := Fit(xs, ys); ok {
			p.f("- %s: the loader's call from %s B to %s B of input grows linearly: %s ns + %s ns per KiB.\n",
				run.Label, num(xs[0], 0), num(xs[len(xs)-1], 0), num(a, 3), num(b*1024, 3))
		}
		if res := run.Get("Peers/process/vs=pipe"); res != nil {
			if kib := metric(res, "child-rss-KiB"); !math.IsNaN(kib) {
				p.f("- %s: memory per sandboxed plugin: its child's own pages %s MiB (resident set %s MiB, the rest the executable's pages, shared by every child).\n",
					run.Label, num(metric(res, "child-private-KiB")/1024, 3), num(kib/1024, 3))
			}
		}
		var fan []string
		for _, res := range run.Results {
			if us, ok := intBetween(res.Name, "FanOut/work=", "us/vs=serial"); ok {
				fan = append(fan, fmt.Sprintf("%d us %s", us, ratio(metric(res, "x-ref"))))
			}
		}
		if len(fan) > 0 {
			p.f("- %s: 4 plugins each working N us, fanned out over serial (below 1x, fanning out pays): %s.\n", run.Label, strings.Join(fan, ", "))
		}
		var opens []string
		for _, res := range run.Results {
			if rt, ok := strings.CutPrefix(res.Name, "Open/"); ok {
				opens = append(opens, fmt.Sprintf("%s %s us", rt, num(metric(res, "ns/op")/1000, 3)))
			}
		}
		if len(opens) > 0 {
			p.f("- %s: open and close one plugin: %s.\n", run.Label, strings.Join(opens, ", "))
		}
	}
}

// intBetween parses the integer between prefix and suffix of s.
func intBetween(s, prefix, suffix string) (int, bool) {
	mid, ok := strings.CutPrefix(s, prefix)
	if !ok {
		return 0, false
	}
	mid, ok = strings.CutSuffix(mid, suffix)
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(mid)
	return n, err == nil
}

// num formats v with sig significant digits (0: as an integer), "-" for NaN.
func num(v float64, sig int) string {
	switch {
	case math.IsNaN(v):
		return "-"
	case sig == 0:
		return strconv.FormatFloat(math.Round(v), 'f', 0, 64)
	}
	if a := math.Abs(v); a >= math.Pow(10, float64(sig-1)) || a == 0 {
		return strconv.FormatFloat(math.Round(v), 'f', 0, 64)
	}
	// Enough decimals for sig significant digits.
	d := sig - 1 - int(math.Floor(math.Log10(math.Abs(v))))
	return strconv.FormatFloat(v, 'f', d, 64)
}

func ratio(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return num(v, 3) + "x"
}

type printer struct {
	w   io.Writer
	err error
}

func (p *printer) f(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, args...)
	}
}

// get is m[k], NaN when the run lacks it.
func get(m map[string]float64, k string) float64 {
	if v, ok := m[k]; ok {
		return v
	}
	return math.NaN()
}
