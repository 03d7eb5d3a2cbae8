package wasm_test

import (
	"testing"
	"time"

	"github.com/clawd-go/clawd/wasm"
)

// BenchmarkMemoryGrow grows 192 MiB in 64 MiB steps the runtime's way (a
// reservation committed as it grows), wazero's own way (a Go slice grown
// by append, copying at each grow) and, for scale, clears a Go slice of
// 192 MiB (a memset), in alternating blocks so that all see the same
// machine. It reports each per op and the ratios over the memset (target
// for the runtime's way: at most 2).
func BenchmarkMemoryGrow(b *testing.B) {
	const max, step = 192 << 20, 64 << 20
	buf := make([]byte, max)
	clear(buf) // faulted in once: the memset measures writing, not page faults
	ways := []struct {
		name string
		grow func()
	}{
		{"reserved", func() { wasm.GrowReserved(max, step) }},
		{"slice", func() { wasm.GrowSlice(max, step) }},
		{"memset", func() { clear(buf) }},
	}
	if !wasm.Reserves() {
		b.Skip("this OS gives linear memories no reservation")
	}
	took := make([]time.Duration, len(ways))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j, w := range ways {
			t0 := time.Now()
			w.grow()
			took[j] += time.Since(t0)
		}
	}
	b.StopTimer()
	per := func(j int) float64 { return float64(took[j].Nanoseconds()) / float64(b.N) }
	for j, w := range ways {
		b.ReportMetric(per(j), w.name+"-ns/op")
	}
	b.ReportMetric(per(0)/per(2), "reserved/memset")
	b.ReportMetric(per(1)/per(2), "slice/memset")
	b.ReportMetric(0, "ns/op")
}
