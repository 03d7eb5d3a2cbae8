package install

import (
	"context"
	"crypto/ed25519"
	"net/http"
	"runtime"
	"time"

	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/internal/archive"
	"github.com/clawd-go/clawd/internal/optdefaults"
	"github.com/clawd-go/clawd/internal/pkgindex"
	"github.com/clawd-go/clawd/manifest"
)

// Option configures New; the With* functions make them.
type Option interface{ apply(*options) }

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

type options struct {
	index      string
	indexKey   ed25519.PublicKey
	publishers []ed25519.PublicKey
	client     *http.Client
	allowHTTP  bool
	consent    Consent
	progress   Progress
	limits     archive.Limits
	maxIndex   int64
	maxPackage int64
	lockWait   time.Duration
	trial      Trial
	goos       string
	goarch     string
	now        func() time.Time
	failAt     func(step string) error // tests: a failure injected after a step
}

// Request is what a Consent is asked: the plugin, its version, every
// capability it asks for, and those of them not granted before (all of
// them on a first install).
type Request struct {
	Name, Version string
	Capabilities  []abi.Capability
	New           []abi.Capability
}

// Consent decides whether the capabilities of r may be granted. The CLI
// asks on the terminal; a Go host asks its user or applies its policy.
type Consent func(ctx context.Context, r Request) (bool, error)

// Yes is the Consent of `--yes`: it grants what is asked.
func Yes(context.Context, Request) (bool, error) { return true, nil }

// Progress hears about a download: Start with its size (-1 unknown),
// Advance with each piece, Done at the end.
type Progress interface {
	Start(name string, total int64)
	Advance(n int64)
	Done()
}

// Trial opens the unpacked plugin m (its directory is the staging one)
// once, granted caps, and closes it: an error keeps the version installed
// before. scratch is a private directory for verified copies.
type Trial func(ctx context.Context, m *manifest.Manifest, caps []abi.Capability, scratch string) error

// Defaults.
const (
	defaultMaxIndexSize   int64 = 8 << 20
	defaultMaxPackageSize       = pkgindex.MaxPackageSize
	defaultHTTPTimeout          = 60 * time.Second
)

func defaults() options {
	return options{
		client:     &http.Client{Timeout: defaultHTTPTimeout},
		maxIndex:   defaultMaxIndexSize,
		maxPackage: defaultMaxPackageSize,
		lockWait:   optdefaults.LockWait,
		trial:      trialOpen,
		goos:       runtime.GOOS,
		goarch:     runtime.GOARCH,
		now:        time.Now,
	}
}

// WithIndex sets where the index is read: a directory, a file:// URL or
// an https:// URL (the directory holding index.json).
func WithIndex(location string) Option { return optionFunc(func(o *options) { o.index = location }) }

// WithIndexKey sets the public key the index must be signed with. It is
// the user's configuration, never read from the index's server.
func WithIndexKey(k ed25519.PublicKey) Option { return optionFunc(func(o *options) { o.indexKey = k }) }

// WithPublisherKeys sets the keys a package installed from a file (not
// through an index) may be signed with.
func WithPublisherKeys(keys ...ed25519.PublicKey) Option {
	return optionFunc(func(o *options) { o.publishers = append(o.publishers, keys...) })
}

// WithHTTPClient sets the client for https:// indexes. Default: one with
// a 60 s overall timeout.
func WithHTTPClient(c *http.Client) Option {
	return optionFunc(func(o *options) {
		if c != nil {
			o.client = c
		}
	})
}

// WithAllowHTTP allows a plain http:// index. Everything read is still
// verified; what is downloaded is visible on the network.
func WithAllowHTTP(on bool) Option { return optionFunc(func(o *options) { o.allowHTTP = on }) }

// WithConsent sets who grants capabilities. Without one, a plugin that
// asks for any capability not granted before is refused with
// consent_required.
func WithConsent(c Consent) Option { return optionFunc(func(o *options) { o.consent = c }) }

// WithProgress sets who hears about downloads. Default: nobody.
func WithProgress(p Progress) Option { return optionFunc(func(o *options) { o.progress = p }) }

// WithLimits bounds what an archive may unpack to (archive.DefaultMaxFiles
// files and archive.DefaultMaxBytes bytes by default, for 0).
func WithLimits(maxFiles int, maxBytes int64) Option {
	return optionFunc(func(o *options) { o.limits = archive.Limits{MaxFiles: maxFiles, MaxBytes: maxBytes} })
}

// WithMaxDownload bounds an index download and a package download
// (8 MiB and 256 MiB for 0): an index larger is
// refused as it arrives (unavailable), a package whose index entry, or
// file (InstallFile), is larger before a byte of it is read
// (unsafe_archive). A package larger than the index announces is refused
// whatever this says (checksum_mismatch).
func WithMaxDownload(index, pkg int64) Option {
	return optionFunc(func(o *options) {
		if index > 0 {
			o.maxIndex = index
		}
		if pkg > 0 {
			o.maxPackage = pkg
		}
	})
}

// WithTrial sets how a new version is tried before it replaces the
// installed one. Default: the entry opened in the runtime its manifest asks for (a library in the process sandbox); nil tries nothing.
func WithTrial(t Trial) Option { return optionFunc(func(o *options) { o.trial = t }) }

// WithPlatform sets the GOOS and GOARCH releases are picked for. Default:
// this program's. The trial open and the host still open the entry of
// this program's platform: another platform is for a directory prepared
// for another machine, with WithTrial(nil).
func WithPlatform(goos, goarch string) Option {
	return optionFunc(func(o *options) { o.goos, o.goarch = goos, goarch })
}

// WithLockWait sets how long an operation waits for another installer
// working on the same plugin directory (30s by default; 0: not at
// all) before it is refused with busy. An operation given a
// context also stops waiting when it ends.
func WithLockWait(d time.Duration) Option {
	return optionFunc(func(o *options) { o.lockWait = max(d, 0) })
}
