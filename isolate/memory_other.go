//go:build !linux

package isolate

// Memory is how much memory the child serving now holds of its own. Only
// Linux says (/proc/PID/smaps_rollup): here ok is always false.
func (p *plugin) Memory() (bytes uint64, ok bool) { return 0, false }
