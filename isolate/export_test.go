package isolate

import "os"

// WithFloors gives the child the benchmark's raw echo channels.
func WithFloors() Option { return Option{set: func(o *options) { o.floors = 2 }} }

// Floors returns the host ends: request pipe, reply pipe, socket.
func (p *Plugin) Floors() []*os.File { return p.cur.Load().floors }
