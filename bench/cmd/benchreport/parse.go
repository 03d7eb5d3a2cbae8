package main

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// A Result is one benchmark of one run (one cgo mode): the median of each
// metric over the -count repetitions.
type Result struct {
	Name    string             // without the Benchmark prefix and the -GOMAXPROCS suffix
	Metrics map[string]float64 // unit -> median value
	samples map[string][]float64
}

// Run is the parsed output of one `go test -bench` invocation (or several
// of the same mode, concatenated).
type Run struct {
	Label   string // "cgo", "purego", ...
	CPU     string // the cpu: line go test prints
	Results []*Result
}

// Get returns the result of name, or nil.
func (r *Run) Get(name string) *Result {
	for _, x := range r.Results {
		if x.Name == name {
			return x
		}
	}
	return nil
}

// maxLine bounds one line of benchmark output.
const maxLine = 64 << 10

// Parse reads go test -bench output. Lines that are not results (PASS,
// ok, logs) are skipped; a result line that does not parse is an error
// naming its line number.
func Parse(label string, r io.Reader) (*Run, error) {
	run := &Run{Label: label}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), maxLine)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if cpu, ok := strings.CutPrefix(text, "cpu: "); ok {
			run.CPU = cpu
			continue
		}
		if !strings.HasPrefix(text, "Benchmark") {
			continue
		}
		f := strings.Fields(text)
		if len(f) < 4 || len(f)%2 != 0 {
			// "BenchmarkX" alone (a parent of sub-benchmarks, or a
			// benchmark that logged before its result) is not a result.
			if len(f) == 1 {
				continue
			}
			return nil, fmt.Errorf("%s: line %d: not a benchmark result: %q", label, line, text)
		}
		if _, err := strconv.ParseInt(f[1], 10, 64); err != nil {
			return nil, fmt.Errorf("%s: line %d: iteration count %q is not a number", label, line, f[1])
		}
		name := benchName(f[0])
		res := run.Get(name)
		if res == nil {
			res = &Result{Name: name, samples: map[string][]float64{}}
			run.Results = append(run.Results, res)
		}
		for i := 2; i < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, fmt.Errorf("%s: line %d: value %q of %s is not a number", label, line, f[i], f[i+1])
			}
			res.samples[f[i+1]] = append(res.samples[f[i+1]], v)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", label, err)
	}
	for _, res := range run.Results {
		res.Metrics = make(map[string]float64, len(res.samples))
		for unit, vs := range res.samples {
			res.Metrics[unit] = median(vs)
		}
	}
	return run, nil
}

// benchName strips "Benchmark" and the "-N" GOMAXPROCS suffix go test adds.
func benchName(s string) string {
	s = strings.TrimPrefix(s, "Benchmark")
	if i := strings.LastIndexByte(s, '-'); i > 0 {
		if _, err := strconv.Atoi(s[i+1:]); err == nil {
			s = s[:i]
		}
	}
	return s
}

func median(vs []float64) float64 {
	s := slices.Clone(vs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Fit is the least-squares line y = A + B*x through points.
func Fit(xs, ys []float64) (a, b float64, ok bool) {
	n := float64(len(xs))
	if len(xs) < 2 || len(xs) != len(ys) {
		return 0, 0, false
	}
	var sx, sy, sxx, sxy float64
	for i := range xs {
		sx += xs[i]
		sy += ys[i]
		sxx += xs[i] * xs[i]
		sxy += xs[i] * ys[i]
	}
	d := n*sxx - sx*sx
	if d == 0 {
		return 0, 0, false
	}
	b = (n*sxy - sx*sy) / d
	a = (sy - b*sx) / n
	return a, b, true
}
