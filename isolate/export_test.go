package isolate

import (
	"context"
	"os"

	"github.com/clawd-go/clawd"
)

// WithFloors gives the child the benchmark's raw echo channels.
func WithFloors() clawd.Option { return own(func(o *options) { o.floors = 2 }) }

// Floors returns the host ends: request pipe, reply pipe, socket.
func (p *plugin) Floors() []*os.File { return p.cur.Load().floors }

// The tests hold the concrete plugin that Open returns as a clawd.Plugin.
type Plugin = plugin

const DefaultMaxProcesses = defaultMaxProcesses

func OpenPlugin(path string, opts ...clawd.Option) (*Plugin, error) { return open(path, opts...) }

// The calls by op, through Call.
func (p *plugin) SessionStart(ctx context.Context, s string) error {
	return p.Call(ctx, clawd.SessionStart(s))
}

func (p *plugin) SessionEnd(ctx context.Context, s string) error {
	return p.Call(ctx, clawd.SessionEnd(s))
}

func (p *plugin) ToolCall(ctx context.Context, s, tool, in string) error {
	return p.Call(ctx, clawd.ToolCall(s, tool, in))
}

func (p *plugin) Message(ctx context.Context, s, role, content string) error {
	return p.Call(ctx, clawd.Message(s, role, content))
}
