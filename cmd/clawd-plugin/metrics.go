package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/host"
	"github.com/clawd-go/clawd/internal/batch"
)

// run --metrics serves the host's counters in the Prometheus text format
// (version 0.0.4), read from host.Plugins at each scrape: nothing is
// counted twice and the library's packages stay free of any metrics
// library. docs/cli.md lists the metrics.

// serveMetrics listens on addr and serves h's metrics at /metrics until
// stop is called. url is where they are (the port chosen when addr's is 0).
func serveMetrics(addr string, h *host.Host) (url string, stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		writeMetrics(w, h.Plugins())
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	stop = func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); errors.Is(err, context.DeadlineExceeded) {
			_ = srv.Close()
		}
	}
	return "http://" + ln.Addr().String() + "/metrics", stop, nil
}

// family is one metric's samples, written under its HELP and TYPE.
type family struct {
	name, kind, help string
	lines            []string
}

func (f *family) add(labels string, v float64) {
	f.lines = append(f.lines, f.name+labels+" "+strconv.FormatFloat(v, 'g', -1, 64))
}

// writeMetrics writes the metrics of infos, one family after the other,
// plugins in name order.
func writeMetrics(w io.Writer, infos []host.PluginInfo) {
	infos = append([]host.PluginInfo(nil), infos...)
	sort.Slice(infos, func(i, j int) bool { return infos[i].Name < infos[j].Name })
	calls := &family{name: "clawd_plugin_calls_total", kind: "counter", help: "Callbacks called through the host."}
	errs := &family{name: "clawd_plugin_call_errors_total", kind: "counter", help: "Failed calls, by error code."}
	dur := &family{name: "clawd_plugin_call_duration_seconds", kind: "histogram", help: "Time of a call into the plugin, by decade from 1us to 1s."}
	sent := &family{name: "clawd_plugin_events_sent_total", kind: "counter", help: "Events the plugin sent that reached the sink."}
	refused := &family{name: "clawd_plugin_events_refused_total", kind: "counter", help: "Events the plugin sent that were refused."}
	stale := &family{name: "clawd_plugin_stale_context_uses_total", kind: "counter", help: "Logs and events sent on a context whose callback had returned."}
	crashes := &family{name: "clawd_plugin_crashes_total", kind: "counter", help: "Sandbox children that died or were killed."}
	reloads := &family{name: "clawd_plugin_reloads_total", kind: "counter", help: "Reloads, by result (ok: swapped; failed: the old instance kept)."}
	verdicts := &family{name: "clawd_plugin_verdicts_total", kind: "counter", help: "Hook verdicts the plugin gave, by verdict."}
	state := &family{name: "clawd_plugin_state", kind: "gauge", help: "1 for the plugin's state now."}
	memory := &family{name: "clawd_plugin_memory_bytes", kind: "gauge", help: "Memory the sandbox child holds of its own (Linux; process sandbox only)."}
	for _, in := range infos {
		p := `plugin="` + escapeLabel(in.Name) + `"`
		if in.Memory > 0 {
			memory.add("{"+p+"}", float64(in.Memory))
		}
		s := in.Stats
		calls.add("{"+p+`,version="`+escapeLabel(in.Version)+`"}`, float64(s.Calls))
		codes := make([]string, 0, len(s.Errors))
		for c := range s.Errors {
			codes = append(codes, string(c))
		}
		sort.Strings(codes)
		for _, c := range codes {
			label := c
			if label == "" {
				label = "other" // an error without a code
			}
			errs.add("{"+p+`,code="`+escapeLabel(label)+`"}`, float64(s.Errors[clawerr.Code(c)]))
		}
		var cum uint64
		for i, n := range s.Latency.Buckets {
			cum += n
			le := "+Inf"
			if i < len(batch.Decades) {
				le = strconv.FormatFloat(batch.Decades[i].Seconds(), 'g', -1, 64)
			}
			dur.lines = append(dur.lines, fmt.Sprintf("%s_bucket{%s,le=%q} %d", dur.name, p, le, cum))
		}
		dur.lines = append(dur.lines,
			dur.name+"_sum{"+p+"} "+strconv.FormatFloat(s.Latency.Total.Seconds(), 'g', -1, 64),
			fmt.Sprintf("%s_count{%s} %d", dur.name, p, cum))
		sent.add("{"+p+"}", float64(s.Context.EventsSent))
		refused.add("{"+p+"}", float64(s.Context.EventsRefused))
		stale.add("{"+p+"}", float64(s.Context.StaleLogs+s.Context.StaleEvents))
		crashes.add("{"+p+"}", float64(s.Crashes))
		reloads.add("{"+p+`,result="ok"}`, float64(s.Reloads))
		reloads.add("{"+p+`,result="failed"}`, float64(s.ReloadFailures))
		verdicts.add("{"+p+`,verdict="continue"}`, float64(s.Verdicts.Continue))
		verdicts.add("{"+p+`,verdict="intercept"}`, float64(s.Verdicts.Intercept))
		verdicts.add("{"+p+`,verdict="block"}`, float64(s.Verdicts.Block))
		state.add("{"+p+`,state="`+escapeLabel(in.State.String())+`"}`, 1)
	}
	var b strings.Builder
	for _, f := range []*family{calls, errs, dur, sent, refused, stale, crashes, reloads, verdicts, state, memory} {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", f.name, f.help, f.name, f.kind)
		for _, l := range f.lines {
			b.WriteString(l)
			b.WriteByte('\n')
		}
	}
	_, _ = io.WriteString(w, b.String())
}

// escapeLabel escapes a label value as the text format wants: backslash,
// double quote and line feed.
func escapeLabel(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}
