package clawdotel_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.uber.org/zap"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/host"
	"github.com/clawd-go/clawd/internal/cbuild"
	clawdotel "github.com/clawd-go/clawd/otel"
)

// A host whose plugin calls are traced to standard output: each call is a
// span, child of the caller's ("agent turn" here), with the plugin's
// events as span events. A program writes to os.Stdout (and adds
// stdouttrace.WithPrettyPrint()); this example writes to a buffer and
// prints each span's name, parent, attributes and events without the ids
// and times that change from run to run.
func Example() {
	plugins := helloPlugins() // examples/c/hello built into a plugin directory
	defer os.RemoveAll(plugins)
	ctx := context.Background()

	var out bytes.Buffer
	exp, err := stdouttrace.New(stdouttrace.WithWriter(&out))
	if err != nil {
		fmt.Println(err)
		return
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	obs, err := clawdotel.New(clawdotel.WithTracerProvider(tp)) // metrics: the global meter provider
	if err != nil {
		fmt.Println(err)
		return
	}
	h, err := host.New(host.WithPluginDirs(plugins), host.WithObserver(obs), host.WithPluginOptions(clawd.WithLogger(zap.NewNop())),
		host.WithPluginOptions(clawd.WithEventSink(clawd.SinkFunc(func(context.Context, clawd.Event) error { return nil }))))
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := h.Load(ctx); err != nil {
		fmt.Println(err)
		return
	}
	turn, span := tp.Tracer("example").Start(ctx, "agent turn")
	h.Call(turn, clawd.ToolCall("s1", "grep", `{"pattern":"x"}`))
	h.Call(turn, clawd.ToolCall("s1\x00", "grep", `{}`)) // a NUL byte: refused before the plugin runs
	span.End()
	h.Close()
	tp.Shutdown(ctx)
	printSpans(&out)
	// Output:
	// clawd.plugin on_tool_call <- agent turn
	//   clawd.plugin.name=hello clawd.plugin.version=1.0.0 clawd.plugin.runtime=native clawd.plugin.op=on_tool_call clawd.plugin.hook=false clawd.plugin.code=ok
	//   event hello.tool_called clawd.event.size=15
	// clawd.plugin on_tool_call <- agent turn Error
	//   clawd.plugin.name=hello clawd.plugin.version=1.0.0 clawd.plugin.runtime=native clawd.plugin.op=on_tool_call clawd.plugin.hook=false clawd.plugin.code=invalid_argument
	// agent turn
}

// printSpans prints the spans stdouttrace wrote to out, one JSON object
// each, in the order they ended.
func printSpans(out *bytes.Buffer) {
	type kv struct {
		Key   string
		Value struct{ Value any }
	}
	type span struct {
		Name        string
		SpanContext struct{ SpanID string }
		Parent      struct{ SpanID string }
		Status      struct{ Code string }
		Attributes  []kv
		Events      []struct {
			Name       string
			Attributes []kv
		}
	}
	var spans []span
	names := map[string]string{}
	for sc := bufio.NewScanner(out); sc.Scan(); {
		var s span
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			fmt.Println(err)
			return
		}
		spans = append(spans, s)
		names[s.SpanContext.SpanID] = s.Name
	}
	line := func(attrs []kv) string {
		var b bytes.Buffer
		for i, a := range attrs {
			if i > 0 {
				b.WriteByte(' ')
			}
			fmt.Fprintf(&b, "%s=%v", a.Key, a.Value.Value)
		}
		return b.String()
	}
	for _, s := range spans {
		head := s.Name
		if p, ok := names[s.Parent.SpanID]; ok {
			head += " <- " + p
		}
		if s.Status.Code == "Error" {
			head += " Error"
		}
		fmt.Println(head)
		if len(s.Attributes) > 0 {
			fmt.Println("  " + line(s.Attributes))
		}
		for _, e := range s.Events {
			fmt.Println("  event", e.Name, line(e.Attributes))
		}
	}
}

// helloPlugins builds the C example plugin examples/c/hello into a new
// plugin directory and returns it. An example has no testing.TB: building
// needs only what cbuild calls, and a failure ends the example.
func helloPlugins() string {
	lib := cbuild.Library(exampleTB{}, "examples/c/hello/hello.c")
	root, err := os.MkdirTemp("", "clawdotel-example-")
	if err != nil {
		panic(err)
	}
	dir := filepath.Join(root, "hello")
	entry := "libhello" + cbuild.LibExt
	data, err := os.ReadFile(lib)
	if err == nil {
		err = os.MkdirAll(dir, 0o755)
	}
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, entry), data, 0o644)
	}
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, "plugin.toml"), fmt.Appendf(nil,
			"name = \"hello\"\nversion = \"1.0.0\"\nentry = %q\ncapabilities = [\"network.relay\"]\n", entry), 0o644)
	}
	if err != nil {
		panic(err)
	}
	return root
}

// exampleTB is the part of testing.TB that cbuild uses; any other method
// is the embedded nil interface's, and panics.
type exampleTB struct{ testing.TB }

func (exampleTB) Helper()                      {}
func (exampleTB) Fatal(args ...any)            { panic(fmt.Sprint(args...)) }
func (exampleTB) Fatalf(f string, args ...any) { panic(fmt.Sprintf(f, args...)) }
func (exampleTB) Skipf(f string, args ...any) {
	panic("cannot build the example plugin: " + fmt.Sprintf(f, args...))
}
