package host

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/batch"
	"github.com/clawd-go/clawd/internal/boundary"
	"github.com/clawd-go/clawd/internal/manifestfile"
	"github.com/clawd-go/clawd/internal/reentry"
	"github.com/clawd-go/clawd/manifest"
)

// Host runs many plugins. Its methods are safe for concurrent use. Load,
// Add, Reload and Close called from inside an event sink return
// invalid_argument: they wait for the calls in flight, one of which is
// running the sink.
type Host struct {
	o        options
	log      *zap.Logger
	cacheDir string
	ownCache bool // made by New: Close removes it

	// life serializes lifecycle work (Load, Add, Reload, the watcher, Close):
	// loads, swaps and stops never interleave. Dispatch never takes it.
	life  sync.Mutex
	added []string // directories given to Add, in order; guarded by life

	// mu guards the registry: entries, their metadata, subscribers. It is
	// held only for short updates, never across a call into a plugin.
	mu      sync.Mutex
	entries map[string]*entry
	subs    map[*subscriber]struct{}
	closed  bool

	// order is every entry sorted by name, copied on write: dispatch walks
	// it without a lock.
	order atomic.Pointer[[]*entry]

	w *watcher // nil unless WithWatch(true)

	batches sync.Pool     // of *batchState: the native plugins' one crossing (dispatch.go)
	batched atomic.Uint64 // calls made in batches (for the tests)

	closing   atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

// entry is one plugin name in the registry. It lives as long as the host:
// stopping or failing changes its state, never removes it.
type entry struct {
	name  string
	cur   atomic.Pointer[instance] // the instance serving; nil unless active
	slow  atomic.Int32             // the latest calls in a row that took at least the fork threshold, up to 2 (dispatch.go); next to cur: a dispatch reads both
	stats counters

	// Guarded by Host.mu.
	state          Status
	reason         error
	dir            string
	manifest       string
	version        string
	granted        []abi.Capability
	refused        []abi.Capability
	warnings       []string
	signed         bool
	retiring       []*instance // swapped out, still draining: their stats still count
	base           clawd.Stats // context stats of the instances already closed
	reloads        uint64
	reloadFailures uint64
	crashes        uint64 // sandbox children lost
	sandbox        manifest.Sandbox
	runtime        string // of the instance serving or last opened (for the observer)
}

// New returns a host. It loads nothing: call Load (and Add).
func New(opts ...Option) (*Host, error) {
	o := defaults()
	for _, opt := range opts {
		if opt != nil {
			opt.apply(&o)
		}
	}
	o.takePluginOptions()
	if err := errors.Join(o.errs...); err != nil {
		return nil, err
	}
	// No caller and no stack trace on the host's lines (a development logger
	// adds both from Warn on): they would point into the host, never at
	// anything its user wrote. The plugins' lines get the same (clawd.NewConfig).
	o.logger = o.logger.WithOptions(zap.WithCaller(false), zap.AddStacktrace(zapcore.InvalidLevel))
	// Absolute directories: watcher events and Add compare paths.
	for i, d := range o.dirs {
		a, err := filepath.Abs(d)
		if err != nil {
			return nil, err
		}
		o.dirs[i] = a
	}
	h := &Host{
		o:       o,
		log:     o.logger.Named("host"),
		entries: make(map[string]*entry),
		subs:    make(map[*subscriber]struct{}),
	}
	empty := []*entry{}
	h.order.Store(&empty)
	if o.cacheDir == "" {
		sweepStaleCaches(h.log)
		d, err := os.MkdirTemp("", cachePrefix())
		if err != nil {
			return nil, err
		}
		h.cacheDir, h.ownCache = d, true
	} else {
		d, err := filepath.Abs(o.cacheDir)
		if err == nil {
			err = os.MkdirAll(d, 0o700)
		}
		if err != nil {
			return nil, err
		}
		h.cacheDir = d
	}
	if o.watch {
		w, err := newWatcher()
		if err != nil {
			if h.ownCache {
				os.RemoveAll(h.cacheDir)
			}
			return nil, err
		}
		h.w = w
		go h.watchLoop()
	}
	return h, nil
}

// inSink refuses lifecycle work on a thread that runs a plugin's event
// sink: it waits for the calls in flight, and one of them is waiting for
// the sink to return.
func inSink(op string) error {
	if reentry.Nested() {
		return clawerr.New(clawerr.InvalidArgument, "", op,
			"called from inside an event sink: it would wait for the call that runs the sink; do it after the dispatch returns", nil)
	}
	return nil
}

func (h *Host) closedErr(op string) error {
	return clawerr.New(clawerr.Closed, "", op, "the host is closed", nil)
}

// ErrUnknownPlugin is what Reload returns for a name the registry never
// saw: a not_found *clawerr.Error. The error Reload returns names the
// plugin and matches it with errors.Is.
var ErrUnknownPlugin error = clawerr.New(clawerr.NotFound, "", "reload", "no plugin of that name", nil)

// unknownPlugin is Reload's refusal of name: a *clawerr.Error of its own
// (naming the plugin and the fix) that is also ErrUnknownPlugin.
type unknownPlugin struct{ e *clawerr.Error }

func (u *unknownPlugin) Error() string        { return u.e.Error() }
func (u *unknownPlugin) Unwrap() error        { return u.e }
func (u *unknownPlugin) Is(target error) bool { return target == ErrUnknownPlugin }

func errUnknownPlugin(name string) error {
	return &unknownPlugin{clawerr.New(clawerr.NotFound, name, "reload",
		"no plugin of that name in the plugin directories or added: check the name against Plugins(), or Add its directory", nil)}
}

// Load discovers the plugins in the plugin directories and loads every one
// that is not running yet (new ones, and ones that failed or stopped before);
// plugins already active are left as they are. One plugin failing never
// stops the others: each failure is in the registry, and Load returns them
// all joined (nil if every plugin is active). A plugin directory that does
// not exist (or is a file) is not_found, logged, and joined to the result;
// the other directories load all the same. ctx stops Load between two
// plugins.
func (h *Host) Load(ctx context.Context) error {
	if err := inSink("load"); err != nil {
		return err
	}
	h.life.Lock()
	defer h.life.Unlock()
	if h.closing.Load() {
		return h.closedErr("load")
	}
	res := h.sync(ctx, nil, true)
	errs := make([]error, 0, len(res))
	for _, r := range res {
		if r.err != nil {
			if r.name == "" { // a plugin directory, not a plugin: no registry row says it
				h.log.Error("plugin directory not found", zap.String("dir", r.dir), zap.String("code", string(clawerr.CodeOf(r.err))), zap.Error(r.err))
			}
			errs = append(errs, r.err)
		}
	}
	if err := ctx.Err(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Add loads one plugin directory (holding plugin.toml or clawd-plugin.json)
// that is not in the plugin directories. An added plugin takes precedence
// over a discovered one of the same name (and a later Add over an earlier
// one); adding a directory again reloads it. With WithWatch it is watched
// like the others. The error is the plugin's failure, also in the registry;
// a directory that does not exist is manifest_invalid (matching
// fs.ErrNotExist) and is not added, one without a manifest is a failed row.
func (h *Host) Add(dir string) error {
	if err := inSink("add"); err != nil {
		return err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	// A directory that is not there is refused at once: nothing would be
	// added, and nothing said why. (One without a manifest is a failed row.)
	if _, err := os.Stat(abs); err != nil {
		return clawerr.New(clawerr.ManifestInvalid, abs, "add", "cannot read the plugin directory", err)
	}
	h.life.Lock()
	defer h.life.Unlock()
	if h.closing.Load() {
		return h.closedErr("add")
	}
	if !slices.Contains(h.added, abs) {
		h.added = append(h.added, abs)
	}
	for _, r := range h.sync(context.Background(), map[string]bool{abs: true}, false) {
		if r.dir == abs {
			return r.err
		}
	}
	return nil
}

// Reload reloads the named plugin now, by the path the watcher takes: the
// manifest is read again, the library verified into a new copy and opened,
// and only if that succeeded is it swapped in and the old one retired. If
// it fails, the old one keeps serving and Reload returns why (also in the
// registry and as a transition). A plugin that is not active is loaded; one
// whose directory is gone is stopped.
func (h *Host) Reload(name string) error {
	if err := inSink("reload"); err != nil {
		return err
	}
	h.life.Lock()
	defer h.life.Unlock()
	if h.closing.Load() {
		return h.closedErr("reload")
	}
	h.mu.Lock()
	e := h.entries[name]
	var dir string
	if e != nil {
		dir = e.dir
	}
	h.mu.Unlock()
	if e == nil {
		return errUnknownPlugin(name)
	}
	for _, r := range h.sync(context.Background(), map[string]bool{dir: true}, false) {
		if r.name == name {
			return r.err
		}
	}
	return nil
}

// Close stops watching, closes every active plugin (each one's on_unload
// runs once, after its calls in flight), closes the subscribers' channels
// and removes the cache directory New made. It returns the errors of
// closing the libraries, if any.
func (h *Host) Close() error {
	if err := inSink("close"); err != nil {
		return err
	}
	h.closeOnce.Do(func() {
		h.closing.Store(true)
		if h.w != nil {
			h.w.shutdown() // before life: the watcher may be waiting for it
		}
		h.life.Lock()
		var errs []error
		for _, e := range *h.order.Load() {
			if e.cur.Load() != nil {
				if err := h.stop(e); err != nil {
					errs = append(errs, err)
				}
			}
		}
		h.mu.Lock()
		h.closed = true
		for s := range h.subs {
			s.finish()
		}
		h.subs = nil
		h.mu.Unlock()
		h.life.Unlock()
		if h.ownCache {
			if err := os.RemoveAll(h.cacheDir); err != nil {
				errs = append(errs, err)
			}
		}
		h.closeErr = errors.Join(errs...)
	})
	return h.closeErr
}

// Plugins lists the registry, sorted by name.
func (h *Host) Plugins() []PluginInfo {
	// The registry is copied under mu; the plugins are asked for their
	// stats after it is released: a sandboxed plugin answers over its
	// channel, which may wait for a call in flight.
	type asked struct {
		base clawd.Stats
		ps   []clawd.Plugin // retiring ones, then the current one
	}
	h.mu.Lock()
	order := *h.order.Load()
	out := make([]PluginInfo, 0, len(order))
	ask := make([]asked, 0, len(order))
	for _, e := range order {
		info := PluginInfo{
			Name: e.name, Version: e.version, Dir: e.dir, Manifest: e.manifest,
			State: e.state, Reason: e.reason, Signed: e.signed,
			Granted:  slices.Clone(e.granted),
			Refused:  slices.Clone(e.refused),
			Warnings: slices.Clone(e.warnings),
			Stats:    e.stats.snapshot(),
			Sandbox:  e.sandbox,
		}
		// Calls made in batches are counted in their instances, until
		// retire folds them into e.stats (under mu, as here).
		for _, r := range e.retiring {
			if r.batched {
				info.Stats.addMeasured(batch.Measured(r.p))
			}
		}
		if in := e.cur.Load(); in != nil && in.batched {
			info.Stats.addMeasured(batch.Measured(in.p))
		}
		info.Stats.Reloads, info.Stats.ReloadFailures = e.reloads, e.reloadFailures
		info.Stats.Crashes = e.crashes
		a := asked{base: e.base}
		for _, r := range e.retiring {
			a.ps = append(a.ps, r.p)
		}
		// cur changes only under mu (swap, stop), so this is consistent
		// with retiring and base.
		if in := e.cur.Load(); in != nil {
			a.ps = append(a.ps, in.p)
			info.Library = in.path
			info.Callbacks = in.p.Callbacks()
			info.Hooks, info.RefusedHooks = slices.Clone(in.hooks.granted), slices.Clone(in.hooks.refused)
			if c, ok := in.p.(clawd.Contained); ok {
				cm := c.Containment()
				info.Containment = &cm
			}
		}
		out = append(out, info)
		ask = append(ask, a)
	}
	h.mu.Unlock()
	for i, a := range ask {
		cs := a.base
		for _, p := range a.ps {
			cs = boundary.AddStats(cs, p.Stats())
		}
		out[i].Stats.Context = cs
		if n := len(a.ps); n > 0 && out[i].Library != "" {
			if m, ok := a.ps[n-1].(memoryReporter); ok {
				out[i].Memory, _ = m.Memory()
			}
		}
	}
	return out
}

// memoryReporter is the optional interface of a runtime that knows how
// much memory a plugin holds apart from the host's (the process sandbox:
// its child's own pages). Found by assertion, as Contained is.
type memoryReporter interface {
	Memory() (bytes uint64, ok bool)
}

// Plugin returns the registry's entry for name.
func (h *Host) Plugin(name string) (PluginInfo, bool) {
	for _, p := range h.Plugins() {
		if p.Name == name {
			return p, true
		}
	}
	return PluginInfo{}, false
}

// candidate is a plugin directory found on disk.
type candidate struct {
	dir      string
	fallback string // the name when the manifest cannot be read
	rank     int    // precedence: the index of its plugin directory; added dirs rank above all
	m        *manifest.Manifest
	err      error // the manifest's error
	warnings []string
}

// name is the plugin's name: the manifest's or, when the manifest cannot be
// read, the name of the plugin already running from that directory (so a
// broken edit is a failed reload, not a stop) or the directory's base name
// (so the failure has a row in the registry).
func (c *candidate) name() string {
	if c.m != nil {
		return c.m.Name
	}
	return c.fallback
}

func hasManifest(dir string) bool {
	for _, n := range []string{manifestfile.TOMLName, manifestfile.JSONName} {
		if _, err := os.Stat(filepath.Join(dir, n)); err == nil {
			return true
		}
	}
	return false
}

// discovery is what one scan of the disk found.
type discovery struct {
	winners map[string]*candidate // by name, after precedence
	all     []*candidate          // winners and shadowed ones
	subdirs []string              // every subdirectory of the plugin directories
	missing []result              // plugin directories that are not there (not_found)
}

// discover reads every manifest. Called with life held.
func (h *Host) discover() discovery {
	d := discovery{winners: make(map[string]*candidate)}
	consider := func(c *candidate) {
		if c.m == nil {
			c.fallback = h.nameForDir(c.dir)
		}
		d.all = append(d.all, c)
		n := c.name()
		old, ok := d.winners[n]
		switch {
		case !ok:
			d.winners[n] = c
		case old.dir == c.dir: // an added directory that is also discovered
			d.winners[n] = c
		case c.rank > old.rank: // a later directory wins
			c.warnings = append(c.warnings, fmt.Sprintf("overrides the plugin of the same name in %s", old.dir))
			d.winners[n] = c
		default: // same directory (first by name wins) or an earlier one
			old.warnings = append(old.warnings, fmt.Sprintf("shadows the plugin of the same name in %s", c.dir))
		}
	}
	for i, root := range h.o.dirs {
		ents, err := os.ReadDir(root) // sorted by name
		if err != nil {
			if e := missingDir(root, err); e != nil {
				d.missing = append(d.missing, result{dir: root, err: e})
			} else {
				h.log.Warn("cannot read plugin directory", zap.String("dir", root), zap.Error(err))
			}
			continue
		}
		for _, de := range ents {
			sub := filepath.Join(root, de.Name())
			if st, err := os.Stat(sub); err != nil || !st.IsDir() { // follows symlinks
				continue
			}
			d.subdirs = append(d.subdirs, sub)
			if !hasManifest(sub) {
				continue // not a plugin (yet): watched, not listed
			}
			m, err := manifest.LoadDir(sub)
			consider(&candidate{dir: sub, rank: i, m: m, err: err})
		}
	}
	for j, dir := range h.added {
		c := &candidate{dir: dir, rank: len(h.o.dirs) + j}
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			continue // gone: the plugin stops
		}
		if hasManifest(dir) {
			c.m, c.err = manifest.LoadDir(dir)
		} else {
			c.err = clawerr.New(clawerr.ManifestInvalid, dir, "load",
				"no "+manifestfile.TOMLName+" or "+manifestfile.JSONName+" in the directory", nil)
		}
		consider(c)
	}
	return d
}

type result struct {
	name, dir string
	err       error
}

// sync brings the registry in line with the disk. With full, every plugin
// found is considered (Load); otherwise only those whose directory is in
// dirty (the watcher, Add, Reload). Called with life held.
func (h *Host) sync(ctx context.Context, dirty map[string]bool, full bool) []result {
	disc := h.discover()
	if h.w != nil {
		h.w.track(h, disc)
	}
	var res []result
	if full {
		res = append(res, disc.missing...)
	}

	// Plugins whose directory no longer provides them stop.
	for _, e := range *h.order.Load() {
		h.mu.Lock()
		st, dir := e.state, e.dir
		h.mu.Unlock()
		if st == StatusStopped || disc.winners[e.name] != nil || !(full || dirty[dir]) {
			continue
		}
		res = append(res, result{e.name, dir, h.stop(e)})
	}

	names := make([]string, 0, len(disc.winners))
	for n := range disc.winners {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if ctx.Err() != nil {
			break
		}
		c := disc.winners[n]
		h.mu.Lock()
		e := h.entries[n]
		var edir string
		if e != nil {
			edir = e.dir
		}
		h.mu.Unlock()
		act := full || dirty[c.dir] || (e != nil && dirty[edir])
		switch {
		case !act:
		case e != nil && e.cur.Load() != nil:
			if edir == c.dir && !dirty[c.dir] {
				continue // Load leaves a running plugin alone
			}
			res = append(res, result{n, c.dir, h.swap(e, c)})
		default:
			res = append(res, result{n, c.dir, h.start(c)})
		}
	}
	return res
}

// entryFor returns the entry for name, creating it (state none).
func (h *Host) entryFor(name string) *entry {
	h.mu.Lock()
	defer h.mu.Unlock()
	if e := h.entries[name]; e != nil {
		return e
	}
	e := &entry{name: name}
	h.entries[name] = e
	order := append(slices.Clone(*h.order.Load()), e)
	slices.SortFunc(order, func(a, b *entry) int { return strings.Compare(a.name, b.name) })
	h.order.Store(&order)
	return e
}

// setState moves e to state to and tells the subscribers. Called with mu held.
func (h *Host) setState(e *entry, to Status, reason error, reload bool) {
	h.transition(e, to, reason, reload, false)
}

// transition is setState, saying whether the move is a sandbox crash (for
// the state observer).
func (h *Host) transition(e *entry, to Status, reason error, reload, crashed bool) {
	t := Transition{Plugin: e.name, From: e.state, To: to, Version: e.version, Reason: reason, Reload: reload, Dir: e.dir}
	e.state = to
	if h.o.states != nil { // first: a subscriber that sees t may read what the observer recorded
		h.observeState(e, t.From, to, reason, reload, crashed)
	}
	h.publish(t)
}

// start loads a plugin that is not running: resolved, loaded, active, or
// failed with the reason.
func (h *Host) start(c *candidate) error {
	e := h.entryFor(c.name())
	h.mu.Lock()
	e.dir, e.warnings, e.reason = c.dir, slices.Clone(c.warnings), nil
	e.manifest, e.version = "", ""
	if c.m != nil {
		e.manifest, e.version = c.m.Path, c.m.Version
	}
	if c.err != nil {
		err := asClawErr(c.err, e.name, "manifest")
		e.reason = err
		h.setState(e, StatusFailed, err, false)
		h.mu.Unlock()
		h.log.Error("plugin failed", zap.String("plugin", e.name), zap.String("dir", c.dir), zap.String("code", string(clawerr.CodeOf(err))), zap.Error(err))
		return err
	}
	h.setState(e, StatusResolved, nil, false)
	h.mu.Unlock()

	in, lo, err := h.open(e, c)
	h.mu.Lock()
	e.granted, e.refused = lo.granted, lo.refused
	e.warnings = lo.warnings
	if err != nil {
		e.reason = err
		h.setState(e, StatusFailed, err, false)
		h.mu.Unlock()
		h.log.Error("plugin failed", zap.String("plugin", e.name), zap.String("dir", c.dir), zap.String("code", string(clawerr.CodeOf(err))), zap.Error(err))
		return err
	}
	e.version, e.signed, e.sandbox, e.runtime = in.version, lo.signed, lo.sandbox, in.runtime
	h.setState(e, StatusLoaded, nil, false)
	e.cur.Store(in)
	h.setState(e, StatusActive, nil, false)
	h.mu.Unlock()
	h.log.Info("plugin active", zap.String("plugin", e.name), zap.String("version", in.version), zap.String("dir", c.dir),
		zap.Any("granted", lo.granted), zap.Any("refused", lo.refused))
	return nil
}

// swap loads the new copy of an active plugin and, only if that succeeded,
// makes it the one new dispatches pick, then retires the old one. On failure
// the old one keeps serving.
func (h *Host) swap(e *entry, c *candidate) error {
	var (
		in  *instance
		lo  openInfo
		err = c.err
	)
	if err == nil {
		in, lo, err = h.open(e, c)
	}
	if err != nil {
		err = asClawErr(err, e.name, "reload")
		h.mu.Lock()
		e.reason = err
		e.reloadFailures++
		h.setState(e, StatusActive, err, true)
		h.mu.Unlock()
		h.log.Error("reload failed; the loaded version keeps serving", zap.String("plugin", e.name),
			zap.String("code", string(clawerr.CodeOf(err))), zap.Error(err))
		return err
	}

	h.mu.Lock()
	old := e.cur.Swap(in) // from here new dispatches pick in
	e.retiring = append(e.retiring, old)
	e.dir, e.manifest, e.version, e.signed, e.sandbox, e.runtime = c.dir, c.m.Path, in.version, lo.signed, lo.sandbox, in.runtime
	e.granted, e.refused = lo.granted, lo.refused
	e.warnings = lo.warnings
	e.reason = nil
	h.mu.Unlock()

	cerr := h.retire(e, old)

	h.mu.Lock()
	e.reloads++
	h.setState(e, StatusActive, nil, true)
	h.mu.Unlock()
	h.log.Info("plugin reloaded", zap.String("plugin", e.name), zap.String("from", old.version), zap.String("version", in.version))
	if cerr != nil {
		h.log.Warn("closing the old instance", zap.String("plugin", e.name), zap.Error(cerr))
	}
	return nil
}

// stop takes e out of dispatch, retires its instance and marks it stopped.
func (h *Host) stop(e *entry) error {
	h.mu.Lock()
	old := e.cur.Swap(nil)
	if old != nil {
		e.retiring = append(e.retiring, old)
	}
	h.mu.Unlock()
	var err error
	fields := []zap.Field{zap.String("plugin", e.name)}
	if old != nil {
		fields = append(fields, zap.String("version", old.version)) // as on the plugin's other lines
		err = h.retire(e, old)
	}
	h.mu.Lock()
	e.reason = err
	h.setState(e, StatusStopped, err, false)
	h.mu.Unlock()
	h.log.Info("plugin stopped", fields...)
	return err
}

// retire waits until no dispatch holds old, closes it (on_unload, then the
// library) and deletes its copy. old must already be out of e.cur.
func (h *Host) retire(e *entry, old *instance) error {
	old.release() // the reference e.cur held
	<-old.drained
	err := old.p.Close()
	if rerr := os.Remove(old.path); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
		h.log.Warn("cannot remove the verified copy", zap.String("path", old.path), zap.Error(rerr))
	}
	h.mu.Lock()
	e.base = boundary.AddStats(e.base, old.p.Stats())
	if old.batched { // closed: no batch calls it any more
		e.stats.fold(batch.Measured(old.p))
	}
	if i := slices.Index(e.retiring, old); i >= 0 {
		e.retiring = slices.Delete(e.retiring, i, i+1)
	}
	h.mu.Unlock()
	return err
}

type openInfo struct {
	sandbox          manifest.Sandbox
	granted, refused []abi.Capability
	warnings         []string
	signed           bool
}

// open verifies the candidate's library into a new unique copy and opens
// that copy. lo.warnings starts with the candidate's (discovery's) warnings.
func (h *Host) open(e *entry, c *candidate) (*instance, openInfo, error) {
	m := c.m
	lo := openInfo{warnings: slices.Clone(c.warnings)}
	for _, cp := range m.Capabilities {
		if h.o.policy == nil || h.o.policy(e.name, cp) {
			lo.granted = append(lo.granted, cp)
		} else {
			lo.refused = append(lo.refused, cp)
			h.log.Warn("capability refused by the host's policy", zap.String("plugin", e.name), zap.String("capability", string(cp)))
		}
	}
	rt, sandbox, err := m.Placement(h.o.sandbox)
	if err != nil {
		return nil, lo, err
	}
	copyDir := filepath.Join(h.cacheDir, safeName(e.name))
	if err := os.MkdirAll(copyDir, 0o700); err != nil {
		return nil, lo, clawerr.New(clawerr.OpenFailed, e.name, "load", "cache directory", err)
	}
	trust := h.o.trust
	le, err := h.lockFor(m.Dir) // lock.go
	if err != nil {
		return nil, lo, asClawErr(err, e.name, "verify")
	}
	if le != nil {
		if err := checkLocked(le, m, &lo); err != nil {
			return nil, lo, asClawErr(err, e.name, "verify")
		}
		trust = manifest.Trust{Policy: manifest.PolicyOff, MaxEntrySize: trust.MaxEntrySize}
	}
	v, err := trust.Verify(m, copyDir)
	if err != nil {
		return nil, lo, asClawErr(err, e.name, "verify")
	}
	lo.signed = v.Signed
	if le != nil { // the bytes copied, not only those hashed a moment ago
		if want := lockedEntrySum(le, m); v.SHA256 != want {
			os.Remove(v.Path)
			return nil, lo, clawerr.New(clawerr.ChecksumMismatch, e.name, "verify",
				fmt.Sprintf("%s: sha256 is %s, the lock file records %s", m.Entry, v.SHA256, want), nil)
		}
		lo.signed, v.Warnings = true, slices.DeleteFunc(v.Warnings, func(w string) bool { return w == "signature not checked (policy off)" })
	}
	lo.warnings = append(lo.warnings, v.Warnings...)
	hk := h.grantHooks(e.name, m) // verdict.go
	var in *instance
	lo.sandbox = sandbox
	// The host's options first: the manifest's and the host's own come
	// after them and win (New refused those that would add to a manifest's).
	opts := append(slices.Clip(h.o.plugin),
		clawd.WithLogger(h.o.logger),
		clawd.WithEventSink(h.sinkFor(e.name, rt)),
		clawd.WithCapabilities(lo.granted...),
		clawd.WithConcurrent(m.Concurrent),
		clawd.WithPluginDir(m.Dir),
		clawd.WithSource(m.EntryPath()),       // a NULL name and errors go by the entry, not the copy
		clawd.WithIdentity(e.name, m.Version), // one identity on log lines, events and outcomes
		clawd.WithProjectDir(h.o.project),
		clawd.WithCallTimeout(m.CallTimeout),
		clawd.WithEnv(m.Env...),
		clawd.WithMaxProcesses(m.MaxProcesses),
		clawd.WithHooks(hk.granted...),
		// The instance does not exist yet when a sandboxed child can first
		// crash; the state function finds it through the entry.
		clawd.WithStateFunc(func(s clawd.State, why error) { h.sandboxState(e, &in, s, why) }),
	)
	opts = append(opts, clawd.WithMemoryLimitMB(m.MemoryLimitMB)) // the wasm runtime's; the others ignore it
	p, err := clawd.Open(rt, v.Path, opts...)
	if err != nil {
		os.Remove(v.Path)
		return nil, lo, asClawErr(err, e.name, "open")
	}
	lo.warnings = append(lo.warnings, p.Warnings()...)
	if p.Name() != e.name {
		lo.warnings = append(lo.warnings, fmt.Sprintf("the library calls itself %q; the host knows it as %q (the manifest's name)", p.Name(), e.name))
	}
	version := p.Version() // the library's, the manifest's where it has none, as on log lines and events
	if version == "" {
		version = m.Version
	} else if m.Version != "" && version != m.Version {
		lo.warnings = append(lo.warnings, fmt.Sprintf("the library reports version %q; the manifest says %q", version, m.Version))
	}
	for _, w := range lo.warnings {
		h.log.Warn("plugin loads with a warning: "+w, zap.String("plugin", e.name), zap.String("version", version))
	}
	h.mu.Lock() // in is read by the state function under mu
	in = newInstance(e, p, v.Path, version)
	in.hooks, in.runtime = hk, rt
	h.mu.Unlock()
	return in, lo, nil
}

// sandboxState follows a sandboxed plugin's child: while it is down the
// plugin is failed (its calls return unavailable at once, its Reason is the
// crash); when the child is back it is active again. Only the instance that
// serves counts: one being retired or not yet swapped in changes nothing.
func (h *Host) sandboxState(e *entry, in **instance, s clawd.State, why error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if *in == nil || e.cur.Load() != *in || h.closed {
		return
	}
	switch s {
	case clawd.StateDown, clawd.StateFailed: // Failed: the same crash, given up on
		if s == clawd.StateDown {
			e.crashes++
		}
		e.reason = why
		h.transition(e, StatusFailed, why, false, s == clawd.StateDown)
	case clawd.StateUp:
		e.reason = nil
		h.setState(e, StatusActive, nil, false)
	}
}

// asClawErr makes sure a reason carries a stable code.
func asClawErr(err error, plugin, op string) error {
	if clawerr.CodeOf(err) != "" {
		return err
	}
	return clawerr.New(clawerr.OpenFailed, plugin, op, "", err)
}

// safeName maps a plugin name to one path element of the cache directory.
func safeName(name string) string {
	b := []byte(name)
	for i, c := range b {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
		if !ok {
			b[i] = '_'
		}
	}
	s := string(b)
	if s == "" || s == "." || s == ".." {
		s = "_" + s
	}
	return s
}

// nameForDir is the name of the plugin loaded from dir, preferring one that
// runs, or dir's base name.
func (h *Host) nameForDir(dir string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	name := filepath.Base(dir)
	for _, e := range *h.order.Load() {
		if e.dir == dir && e.state != StatusStopped {
			name = e.name
			if e.cur.Load() != nil {
				break
			}
		}
	}
	return name
}

// missingDir is the not_found error of a plugin directory that ReadDir
// could not read because nothing, or a file, is there; nil for any other
// failure (logged as it happens).
func missingDir(dir string, err error) error {
	// A file first: reading a file as a directory is "not found" on Windows.
	if st, serr := os.Stat(dir); serr == nil && !st.IsDir() {
		return clawerr.New(clawerr.NotFound, dir, "load",
			"the plugin directory is a file: give WithPluginDirs the directory that holds one subdirectory per plugin", nil)
	}
	if errors.Is(err, os.ErrNotExist) {
		return clawerr.New(clawerr.NotFound, dir, "load",
			"the plugin directory does not exist: create it (one subdirectory per plugin) or correct the path given to WithPluginDirs", err)
	}
	return nil
}
