package main

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Two runs as go test prints them (trimmed): three repetitions of each
// benchmark, a parent line without a result, noise around.
const sampleCgo = `goos: linux
goarch: amd64
pkg: github.com/clawd-go/clawd/bench
cpu: Test CPU @ 1.00GHz
BenchmarkPeers
BenchmarkPeers/loader/vs=floor-call-2   	 1000	        60.0 ns/op	        40.0 ref-ns/op	         1.500 x-ref	       0 B/op	       0 allocs/op
BenchmarkPeers/loader/vs=floor-call-2   	 1000	        50.0 ns/op	        40.0 ref-ns/op	         1.250 x-ref	       0 B/op	       0 allocs/op
BenchmarkPeers/loader/vs=floor-call-2   	 1000	        70.0 ns/op	        40.0 ref-ns/op	         1.750 x-ref	       0 B/op	       0 allocs/op
BenchmarkPeers/host-1/vs=loader-2       	 1000	       100 ns/op	        50.0 ref-ns/op	         2.000 x-ref	       0 B/op	       0 allocs/op
BenchmarkPeers/host-16/vs=loader-2      	 1000	      1600 ns/op	       100.0 ns/plugin	        50.0 ref-ns/op	         2.000 x-ref	       0 B/op	       0 allocs/op
BenchmarkPeers/host-100/vs=loader-2     	 1000	     10000 ns/op	       100.0 ns/plugin	        50.0 ref-ns/op	         2.000 x-ref	       0 B/op	       0 allocs/op
BenchmarkPeers/process/vs=pipe-2        	 1000	      9000 ns/op	     12288 child-rss-KiB	 2048 child-private-KiB	      6000 ref-ns/op	         1.500 x-ref	       0 B/op	       0 allocs/op
BenchmarkPeers/goplugin-grpc/vs=process-2 	 100	    120000 ns/op	     10000 ref-ns/op	        12.00 x-ref	    5267 B/op	      92 allocs/op
BenchmarkInput/loader-bytes=100/vs=floor-2   	1000	  60 ns/op	 30 ref-ns/op	 2.0 x-ref	 0 B/op	 0 allocs/op
BenchmarkInput/loader-bytes=1124/vs=floor-2  	1000	  80 ns/op	 40 ref-ns/op	 2.0 x-ref	 0 B/op	 0 allocs/op
BenchmarkFanOut/work=0us/vs=serial-2 	 1000	  2000 ns/op	 600 ref-ns/op	 3.33 x-ref	 0 B/op	 0 allocs/op
BenchmarkFanOut/work=100us/vs=serial-2 	 1000	  300000 ns/op	 400000 ref-ns/op	 0.75 x-ref	 0 B/op	 0 allocs/op
BenchmarkOpen/loader-2                  	 1000	    125000 ns/op	   64393 B/op	     350 allocs/op
PASS
ok  	github.com/clawd-go/clawd/bench	5.291s
`

const samplePurego = `cpu: Test CPU @ 1.00GHz
BenchmarkPeers/loader/vs=floor-call-2   	 1000	       150.0 ns/op	       120.0 ref-ns/op	         1.250 x-ref	      32 B/op	       1 allocs/op
BenchmarkPeers/pipe-only/vs=pipe-2   	 1000	       7000 ns/op	       7000 ref-ns/op	         1.000 x-ref	      0 B/op	       0 allocs/op
`

func parse(t *testing.T) []*Run {
	t.Helper()
	a, err := Parse("cgo", strings.NewReader(sampleCgo))
	require.NoError(t, err)
	b, err := Parse("purego", strings.NewReader(samplePurego))
	require.NoError(t, err)
	return []*Run{a, b}
}

func TestParseTakesMedians(t *testing.T) {
	runs := parse(t)
	require.Equal(t, "Test CPU @ 1.00GHz", runs[0].CPU)
	res := runs[0].Get("Peers/loader/vs=floor-call")
	require.NotNil(t, res)
	require.Equal(t, 60.0, res.Metrics["ns/op"])
	require.Equal(t, 1.5, res.Metrics["x-ref"])
	require.Len(t, runs[0].Results, 11, "the parent line is no result")
	require.Equal(t, 92.0, runs[0].Get("Peers/goplugin-grpc/vs=process").Metrics["allocs/op"])
}

func TestParseRejectsBrokenLine(t *testing.T) {
	_, err := Parse("cgo", strings.NewReader("BenchmarkX-2 12 3.0 ns/op 7\n"))
	require.ErrorContains(t, err, "line 1")
	_, err = Parse("cgo", strings.NewReader("BenchmarkX-2 many 3.0 ns/op\n"))
	require.ErrorContains(t, err, "iteration count")
	_, err = Parse("cgo", strings.NewReader("BenchmarkX-2 10 fast ns/op\n"))
	require.ErrorContains(t, err, `value "fast" of ns/op`)
}

func TestRowsAddReferences(t *testing.T) {
	rows := Rows(parse(t))
	var keys []string
	for _, r := range rows {
		keys = append(keys, r.Key)
	}
	// Rows in order of first appearance, then the references that are no
	// row of their own (floor-call, pipe), from their ref-ns/op.
	require.Equal(t, []string{"loader", "host-1", "host-16", "host-100", "process", "goplugin-grpc", "pipe-only", "floor-call", "pipe"}, keys)
	fc := rows[7]
	require.Equal(t, 40.0, fc.NS["cgo"])
	require.Equal(t, 120.0, fc.NS["purego"])
	require.Equal(t, 6000.0, rows[8].NS["cgo"], "the cgo run's pipe reference")
	require.Equal(t, 7000.0, rows[8].NS["purego"])
	_, has := rows[1].NS["purego"]
	require.False(t, has, "host-1 is in the cgo run only")
}

func TestMarkdown(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, Markdown(&b, Machine{CPU: "Test CPU", Cores: "2 cores", OS: "TestOS", Go: "go1.26"}, parse(t)))
	md := b.String()
	require.Contains(t, md, "Measured on: Test CPU, 2 cores, TestOS, go1.26.")
	require.Contains(t, md, "| path | reference | cgo ns/call | cgo allocs | cgo x ref | purego ns/call | purego allocs | purego x ref |")
	require.Contains(t, md, "| clawd loader, in process | floor-call | 60.0 | 0 | 1.50x | 150 | 1 | 1.25x |")
	require.Contains(t, md, "| hashicorp/go-plugin v1.8.0, gRPC | process | 120000 | 92 | 12.0x | - | - | - |")
	require.Contains(t, md, "| pipe-only | pipe | - | - | - | 7000 | 0 | 1.00x |", "a row a run lacks is a dash, not 0")
	// 100 + 16*100 ... points (1,100) (16,1600) (100,10000): slope 100 exactly
	// through (1,100): 0 + 100 per plugin.
	require.Contains(t, md, "- cgo: host dispatch from 1 to 100 plugins grows linearly: 0 ns + 100 ns per plugin")
	// (100,60) (1124,80): 20 ns per 1024 bytes.
	require.Contains(t, md, "from 100 B to 1124 B of input grows linearly: 58.0 ns + 20.0 ns per KiB.")
	require.Contains(t, md, "- cgo: memory per sandboxed plugin: its child's own pages 2.00 MiB (resident set 12.0 MiB,")
	require.Contains(t, md, "- cgo: open and close one plugin: loader 125 us.")
	require.Contains(t, md, "fanned out over serial (below 1x, fanning out pays): 0 us 3.33x, 100 us 0.750x.")
}

func TestSVGIsWellFormedAndLogScaled(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, SVG(&b, parse(t)))
	var doc struct {
		Rects []struct {
			Width string `xml:"width,attr"`
			Title string `xml:"title"`
		} `xml:"rect"`
	}
	require.NoError(t, xml.Unmarshal(b.Bytes(), &doc))
	widths := map[string]string{}
	for _, r := range doc.Rects {
		if r.Title != "" {
			widths[r.Title] = r.Width
		}
	}
	// Values 40 to 120000: decades 1e1..1e6, 520 units for 5 decades.
	require.Equal(t, "80.9", widths["loader cgo: 60.0 ns"], widths) // (log10(60)-1)*104
	require.Equal(t, "312.0", widths["host-100 cgo: 10000 ns"])
	require.Equal(t, "424.2", widths["goplugin-grpc cgo: 120000 ns"]) // the longest bar: (log10(120000)-1)*104
	require.Len(t, widths, 12, "one bar per row and run that has it")
}
