package host

import (
	"strconv"
	"sync"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/manifest"
)

// Status is where a plugin is in its lifecycle.
type Status uint8

// The states of a plugin. See the package doc for the transitions.
const (
	StatusNone     Status = iota // not known yet: the From of a plugin's first transition
	StatusResolved               // its manifest was read; the library is not open
	StatusLoaded                 // the verified copy is open and on_load succeeded
	StatusActive                 // receives dispatches
	StatusStopped                // closed (on_unload ran), or its directory is gone
	StatusFailed                 // could not be loaded; Reason says why
)

var stateNames = [...]string{"none", "resolved", "loaded", "active", "stopped", "failed"}

func (s Status) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "state(" + strconv.Itoa(int(s)) + ")"
}

// Transition is one change in the registry, as a subscriber sees it.
//
// A reload does not change the state: it is reported as a transition from
// active to active with Reload set. Version is then the new version if the
// swap succeeded (Reason nil), or the version that keeps serving if it
// failed (Reason says why).
type Transition struct {
	Plugin   string
	From, To Status
	Version  string // the version serving (or loaded) after the transition; "" if none
	Reason   error  // a *clawerr.Error when To is StatusFailed or a reload failed; else nil
	Reload   bool   // a reload of an active plugin, successful or not
	Dir      string // the plugin's directory
}

// PluginInfo is a snapshot of one plugin in the registry.
type PluginInfo struct {
	Name     string
	Version  string // of the instance serving, or of the last one loaded
	Dir      string // plugin directory
	Manifest string // manifest file, "" if none was read
	Library  string // the verified copy open now, "" if none
	State    Status
	// Reason is why the plugin failed (State failed), or, for an active
	// plugin, why its last reload failed (nil after a successful one). It is
	// a *clawerr.Error: clawerr.CodeOf(Reason) is its stable code.
	Reason    error
	Granted   []abi.Capability
	Refused   []abi.Capability // asked for by the manifest, refused by the capability policy
	Callbacks []abi.Callback
	// Hooks are the hook points the serving instance was granted;
	// RefusedHooks those its manifest asked for and the hook policy refused.
	Hooks, RefusedHooks []clawd.HookPoint
	Signed              bool     // the library's signature verified against a trusted key
	Warnings            []string // from the manifest check, the loader, and discovery
	Stats               Stats
	// Sandbox is where the plugin runs: native (this process) or process.
	Sandbox manifest.Sandbox
	// Containment says what the operating system enforces on a sandboxed
	// plugin's child; nil for a native plugin.
	Containment *clawd.Containment
	// Memory is the bytes of memory the plugin's sandbox child holds of
	// its own (its private pages: Linux, the process sandbox); 0 where that
	// is not known, and for a plugin in this process, whose memory is the
	// host's.
	Memory uint64
}

// subscriber receives every transition through an unbounded queue drained
// by its own goroutine: publishing never blocks and never drops.
// Transitions are rare (loads, reloads, stops), so the queue only grows if
// the subscriber stops reading without cancelling.
type subscriber struct {
	mu    sync.Mutex
	q     []Transition
	final bool // the host closed: close out once q is empty
	wake  chan struct{}
	done  chan struct{} // closed by cancel
	out   chan Transition
}

func newSubscriber() *subscriber {
	s := &subscriber{wake: make(chan struct{}, 1), done: make(chan struct{}), out: make(chan Transition)}
	go s.pump()
	return s
}

func (s *subscriber) push(t Transition) {
	s.mu.Lock()
	s.q = append(s.q, t)
	s.mu.Unlock()
	s.poke()
}

func (s *subscriber) finish() {
	s.mu.Lock()
	s.final = true
	s.mu.Unlock()
	s.poke()
}

func (s *subscriber) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *subscriber) pump() {
	defer close(s.out)
	for {
		s.mu.Lock()
		if len(s.q) == 0 {
			final := s.final
			s.mu.Unlock()
			if final {
				return
			}
			select {
			case <-s.wake:
				continue
			case <-s.done:
				return
			}
		}
		t := s.q[0]
		s.q[0] = Transition{}
		s.q = s.q[1:]
		s.mu.Unlock()
		select {
		case s.out <- t:
		case <-s.done:
			return
		}
	}
}

// Subscribe returns a channel that receives every transition from now on, in
// the order they happened, and a function that cancels the subscription
// (the channel is then closed). Nothing is dropped and nothing blocks: each
// subscriber has an unbounded queue, so a subscriber that stops reading
// costs memory until it cancels. The channel is closed after the last
// transition of Close (every plugin stopped) has been received.
func (h *Host) Subscribe() (<-chan Transition, func()) {
	s := newSubscriber()
	h.mu.Lock()
	if h.closed {
		s.finish()
	} else {
		h.subs[s] = struct{}{}
	}
	h.mu.Unlock()
	var once sync.Once
	return s.out, func() {
		once.Do(func() {
			h.mu.Lock()
			delete(h.subs, s)
			h.mu.Unlock()
			close(s.done)
		})
	}
}

// publish sends t to every subscriber; called with h.mu held, so that the
// order subscribers see is the order of the registry's changes.
func (h *Host) publish(t Transition) {
	for s := range h.subs {
		s.push(t)
	}
}
