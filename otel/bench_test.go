package clawdotel_test

import (
	"context"
	"testing"

	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/host"
	"github.com/clawd-go/clawd/internal/cbuild"
	clawdotel "github.com/clawd-go/clawd/otel"
)

// The cost of the adapter on a dispatch to one quick native plugin (the
// host's BenchmarkDispatch, plugins=1): provider=none is the host without
// an observer, noop the adapter on the API's no-op providers, sdk the
// adapter on the SDK (every span sampled and ended, no exporter; metrics
// aggregated for a manual reader). x_none is ns/op over provider=none's,
// measured first in the same run.
func BenchmarkDispatch(b *testing.B) {
	lib := cbuild.Plugin(b, "bench")
	call := clawd.ToolCall("sess-0123456789abcdef", "grep_files", `{"pattern":"x","path":"./loader"}`)
	var floor float64
	for _, c := range []struct {
		name string
		obs  func() (*clawdotel.Observer, error)
	}{
		{"none", nil},
		{"noop", func() (*clawdotel.Observer, error) {
			return clawdotel.New(clawdotel.WithTracerProvider(tracenoop.NewTracerProvider()),
				clawdotel.WithMeterProvider(metricnoop.NewMeterProvider()))
		}},
		{"sdk", func() (*clawdotel.Observer, error) {
			return clawdotel.New(clawdotel.WithTracerProvider(sdktrace.NewTracerProvider()),
				clawdotel.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))))
		}},
	} {
		b.Run("provider="+c.name, func(b *testing.B) {
			root := b.TempDir()
			plugin(b, root, "bench", "1.0.0", lib, "")
			opts := []host.Option{host.WithPluginDirs(root)}
			if c.obs != nil {
				o, err := c.obs()
				if err != nil {
					b.Fatal(err)
				}
				opts = append(opts, host.WithObserver(o))
			}
			h, err := host.New(opts...)
			if err != nil {
				b.Fatal(err)
			}
			defer h.Close()
			if err := h.Load(context.Background()); err != nil {
				b.Fatal(err)
			}
			var outs []host.Outcome
			b.ReportAllocs()
			for b.Loop() {
				outs = h.DispatchInto(bg, call, outs[:0])
				if len(outs) != 1 || outs[0].Err != nil {
					b.Fatal(outs)
				}
			}
			ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			if c.obs == nil {
				floor = ns
			} else if floor > 0 {
				b.ReportMetric(ns/floor, "x_none")
			}
		})
	}
}
