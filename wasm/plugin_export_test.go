package wasm

import "github.com/clawd-go/clawd"

// Plugin is the runtime's own plugin type, for the tests: Open returns it
// as a clawd.Plugin, and the tests read what only it has (instances,
// crashes, grants).
type Plugin = plugin

// OpenPlugin is Open, returning the runtime's own type.
func OpenPlugin(path string, opts ...clawd.Option) (*Plugin, error) { return open(path, opts...) }

// TableElementCost is the cost a table element counts at, for the tests.
const TableElementCost = tableElementCost
