// Package entrysig checks the signature of every entry of a manifest,
// one per platform it lists: what `clawd-plugin verify` runs for a
// publisher, not what a host opens (manifest.Trust.Verify checks this
// system's entry).
package entrysig

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/libfile"
	"github.com/clawd-go/clawd/internal/sigkey"
	"github.com/clawd-go/clawd/manifest"
)

// Check is what Verify found of one entry.
type Check struct {
	Key    string // its entry table key; "" for a single entry
	Entry  string // its path as written
	SHA256 string // hex of its bytes, when read
	// Built is false when there is no file there: an entry for a platform
	// not built here, which is not checked (Err is nil).
	Built bool
	// Signed: its signature verified with a trusted key.
	Signed bool
	// Warning is why an entry is accepted unsigned: a manifest written
	// before per-entry signatures signs only one system's entry.
	Warning string
	Err     error // unsigned, signature_invalid or open_failed, naming the entry
}

// Verify checks the signature of every entry of m, each over its own
// bytes, as t.Verify does for this system's (under PolicyRequire and
// PolicyWarn; under PolicyOff it checks nothing): what a publisher runs to
// see that a manifest verifies on every platform it lists, not what a
// host opens (Trust.Verify). An entry with no file (not built here) is
// reported and not checked. In a manifest without per-entry signatures
// (written before them) the one signature covers this system's entry
// only; the others are accepted with a Warning, as such a manifest never
// promised more. The error is the first entry's error, if any.
func Verify(t manifest.Trust, m *manifest.Manifest) ([]Check, error) {
	if m == nil {
		return nil, clawerr.New(clawerr.ManifestInvalid, "", "verify", "no manifest", nil)
	}
	keys := []string{""}
	if m.Entries != nil {
		keys = keys[:0]
		for k := range m.Entries {
			keys = append(keys, k)
		}
		sort.Strings(keys)
	}
	var out []Check
	var first error
	for _, k := range keys {
		c := Check{Key: k, Entry: m.Entry}
		sig := m.Signature
		if k != "" {
			c.Entry = m.Entries[k]
			switch {
			case m.Signatures != nil:
				sig = m.Signatures[k]
			case k != m.EntryKey:
				sig = ""
			}
		}
		checkEntry(t, m, &c, sig)
		if c.Err != nil && first == nil {
			first = c.Err
		}
		out = append(out, c)
	}
	return out, first
}

// checkEntry fills c: reads its entry (bounded, a regular file inside the
// plugin directory) and checks sig over its bytes.
func checkEntry(t manifest.Trust, m *manifest.Manifest, c *Check, sig string) {
	name := (&manifest.Manifest{EntryKey: c.Key, Entry: c.Entry}).EntryName()
	fail := func(code clawerr.Code, format string, args ...any) {
		c.Err = clawerr.New(code, m.Name, "verify", name+": "+fmt.Sprintf(format, args...), nil)
	}
	path := filepath.Join(m.Dir, filepath.FromSlash(c.Entry))
	if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
		return // not built here
	}
	c.Built = true
	src, err := libfile.Open(path, libfile.Options{MaxSize: t.MaxEntrySize, Dir: m.Dir, Name: name, Plugin: m.Name, Op: "verify"})
	if err != nil {
		c.Err = err
		return
	}
	defer src.Close()
	check := t.Policy == manifest.PolicyRequire || t.Policy == manifest.PolicyWarn
	var sigs []*sigkey.Check
	raw, derr := base64.StdEncoding.DecodeString(strings.TrimSpace(sig))
	malformed := derr != nil || len(raw) != ed25519.SignatureSize
	if check && sig != "" && !malformed {
		for _, k := range t.Keys {
			sigs = append(sigs, sigkey.NewCheck(k, raw))
		}
	}
	sum := sha256.New()
	sinks := []io.Writer{sum}
	for _, s := range sigs {
		sinks = append(sinks, s)
	}
	if err := src.CopyTo(io.MultiWriter(sinks...)); err != nil {
		c.Err = err
		return
	}
	c.SHA256 = hex.EncodeToString(sum.Sum(nil))
	switch {
	case !check:
	case sig == "" && c.Key != "" && c.Key != m.EntryKey && m.Signatures == nil:
		c.Warning = fmt.Sprintf("%s: not signed: the manifest's one signature covers the %s entry only; sign again (clawd-plugin sign) to sign each entry", name, m.EntryKey)
	case sig == "":
		if t.Policy == manifest.PolicyRequire {
			fail(clawerr.Unsigned, "no signature in the manifest: sign it (clawd-plugin sign --key KEY DIR) where it is built")
			return
		}
		c.Warning = name + ": unsigned (policy warn)"
	case malformed:
		if t.Policy == manifest.PolicyRequire {
			fail(clawerr.SignatureInvalid, "the signature is not base64 of %d bytes", ed25519.SignatureSize)
			return
		}
		c.Warning = name + ": malformed signature (policy warn)"
	case len(t.Keys) == 0:
		if t.Policy == manifest.PolicyRequire {
			fail(clawerr.SignatureInvalid, "no trusted keys to verify the signature with")
			return
		}
		c.Warning = name + ": signature not checked: no trusted keys (policy warn)"
	default:
		for _, s := range sigs {
			if s.Valid() {
				c.Signed = true
			}
		}
		if !c.Signed {
			fail(clawerr.SignatureInvalid, "the signature does not verify with any of the %d trusted keys (the file changed since it was signed, or another key signed it)", len(t.Keys))
		}
	}
}
