// Package runopt carries a runtime package's own settings inside values
// of clawd.Option, so that wasm.WithPoolSize and clawd.WithLogger go into
// the same list. clawd.Option has an unexported method: only package
// clawd can make one. It installs Wrap and Unwrap here when it
// initializes, which keeps the carrier out of its exported API; every
// package that imports clawd runs after that.
package runopt

var (
	// wrap and unwrap are package clawd's (set by Install).
	wrap   func(v any) any
	unwrap func(opt any) (any, bool)
)

// Install is called once, by package clawd's init: wrap makes a
// clawd.Option that clawd.NewConfig skips and that carries v; unwrap
// returns what such an option carries, and false for any other option.
func Install(w func(v any) any, u func(opt any) (any, bool)) { wrap, unwrap = w, u }

// Wrap returns a clawd.Option (as O, which must be clawd.Option: this
// package cannot import clawd) carrying v. A runtime carries values of a
// type of its own, so that no runtime takes another's options for its own.
func Wrap[O any](v any) O { return wrap(v).(O) }

// Each calls f, in order, with every value of type T that opts carry.
// Options of other kinds and values of other types are skipped.
func Each[O, T any](opts []O, f func(T)) {
	for _, o := range opts {
		if v, ok := unwrap(o); ok {
			if t, ok := v.(T); ok {
				f(t)
			}
		}
	}
}
