package manifest

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/libfile"
	"github.com/clawd-go/clawd/internal/sigkey"
)

// Policy says what Verify does about signatures.
type Policy int

const (
	// PolicyRequire refuses an unsigned entry (unsigned) and one whose
	// signature does not verify with a trusted key (signature_invalid). It is
	// the zero value, so a Trust nobody configured fails closed.
	PolicyRequire Policy = iota
	// PolicyWarn accepts an unsigned entry with a warning (and one whose
	// signature is malformed, which is no signature), but still refuses a
	// well-formed signature that does not verify: a bad signature is
	// evidence of tampering, no signature is only a missing promise.
	PolicyWarn
	// PolicyOff does not look at signatures. A sha256 pin is still checked.
	PolicyOff
)

var policyNames = [...]string{"require", "warn", "off"}

func (p Policy) String() string {
	if p >= 0 && int(p) < len(policyNames) {
		return policyNames[p]
	}
	return fmt.Sprintf("Policy(%d)", int(p))
}

// ParsePolicy parses "require", "warn" or "off" (as String writes them).
func ParsePolicy(s string) (Policy, error) {
	for i, n := range policyNames {
		if s == n {
			return Policy(i), nil
		}
	}
	return 0, fmt.Errorf("manifest: unknown signature policy %q (want require, warn or off)", s)
}

// Trust is the host's side of verification: the public keys it trusts and
// its policy.
type Trust struct {
	Keys   []ed25519.PublicKey
	Policy Policy
	// MaxEntrySize is the largest entry file Verify reads, in bytes (0:
	// 256 MiB). A larger entry is open_failed, refused before it is read.
	MaxEntrySize int64
}

// Verified is an entry that passed Verify.
type Verified struct {
	Path     string   // the private copy to open: the verified bytes, at a unique path
	SHA256   string   // hex of the bytes verified
	Signed   bool     // a signature verified against one of the keys
	Warnings []string // e.g. "unsigned (policy warn)"
}

// Verify reads the entry's bytes once, checks the sha256 pin
// (checksum_mismatch) and the signature under the policy, then checks the
// format of exactly those bytes, written as it read them to a new file
// with a unique name inside copyDir, and returns that file's path, which
// is what the host must open.
//
// The entry must be a regular file inside the plugin directory, symlinks
// resolved (a path that leaves it is manifest_invalid), no larger than
// MaxEntrySize; a FIFO or a device is refused without blocking on it, and
// the bytes are streamed, never held in memory. A file the dynamic loader
// cannot map safely (another format or machine, truncated, malformed) is
// refused with open_failed before anything maps it.
//
// Signatures: one that verifies with none of the keys is
// signature_invalid under require and warn; an empty one is unsigned under
// require, and one that is not base64 of 64 bytes (malformed, so no
// signature at all) signature_invalid; under warn both are a warning; under off neither
// is looked at. Under warn with no keys at all, a signature cannot be
// checked and is a warning, not an error (it could only be refused as
// untrusted, and an unsigned plugin would load).
//
// copyDir is created (0700) if missing. It must be private to the host: a
// directory others may write to (and that is not sticky, like /tmp) is
// refused, since whoever can replace the copy defeats the check. The copy
// keeps the entry's extension and carries the plugin's name; on hot reload
// each Verify gives a new path, so the dynamic loader, which caches
// libraries by path, cannot return the previous mapping. The caller removes
// the copy when done with it; a refused entry leaves none.
//
// Errors are *clawerr.Error with Plugin set to the manifest's name; reading
// the entry or writing the copy fails with open_failed.
func (t Trust) Verify(m *Manifest, copyDir string) (*Verified, error) {
	if m == nil {
		return nil, clawerr.New(clawerr.ManifestInvalid, "", "verify", "no manifest", nil)
	}
	fail := func(code clawerr.Code, cause error, format string, args ...any) (*Verified, error) {
		return nil, clawerr.New(code, m.Name, "verify", fmt.Sprintf(format, args...), cause)
	}
	entry := m.EntryName()
	fileOpts := libfile.Options{MaxSize: t.MaxEntrySize, Dir: m.Dir, Name: m.Entry, Plugin: m.Name, Op: "verify",
		WASM: m.Runtime == RuntimeWasm} // a .wasm entry is checked as a module, not a library
	src, err := libfile.Open(m.EntryPath(), fileOpts)
	if err != nil {
		return nil, err
	}
	defer src.Close()

	// What the signature needs is known before reading, so one pass
	// hashes, verifies and copies.
	var (
		sig       []byte
		sigErr    bool
		sigChecks []*sigkey.Check
	)
	checkSig := (t.Policy == PolicyRequire || t.Policy == PolicyWarn) && m.Signature != ""
	if checkSig {
		sig, err = base64.StdEncoding.DecodeString(strings.TrimSpace(m.Signature))
		sigErr = err != nil || len(sig) != ed25519.SignatureSize
		if !sigErr {
			for _, k := range t.Keys {
				sigChecks = append(sigChecks, sigkey.NewCheck(k, sig))
			}
		}
	}

	cp, err := createCopy(copyDir, m)
	if err != nil {
		return fail(clawerr.OpenFailed, err, "writing the verified copy")
	}
	keep := false
	defer func() {
		if !keep {
			cp.Close()
			os.Remove(cp.Name())
		}
	}()
	sum := sha256.New()
	sinks := []io.Writer{cp, sum}
	for _, s := range sigChecks {
		sinks = append(sinks, s)
	}
	if err := src.CopyTo(io.MultiWriter(sinks...)); err != nil {
		return nil, err
	}

	v := &Verified{SHA256: hex.EncodeToString(sum.Sum(nil))}
	if m.SHA256 != "" && !strings.EqualFold(m.SHA256, v.SHA256) {
		return fail(clawerr.ChecksumMismatch, nil, "%s: sha256 is %s, the manifest pins %s", m.Entry, v.SHA256, m.SHA256)
	}
	switch {
	case t.Policy == PolicyOff:
		if m.Signature != "" {
			v.Warnings = append(v.Warnings, "signature not checked (policy off)")
		}
	case t.Policy != PolicyRequire && t.Policy != PolicyWarn:
		return fail(clawerr.SignatureInvalid, nil, "unknown policy %v", t.Policy)
	case m.Signature == "":
		if t.Policy == PolicyRequire {
			if m.EntryKey != "" {
				return fail(clawerr.Unsigned, nil, "%s: no signature in the manifest and the policy requires one: sign it (clawd-plugin sign --key KEY DIR)", entry)
			}
			return fail(clawerr.Unsigned, nil, "the manifest has no signature and the policy requires one: sign it (clawd-plugin sign --key KEY DIR)")
		}
		v.Warnings = append(v.Warnings, "unsigned (policy warn)")
	case sigErr:
		// A malformed signature is no signature at all: it weighs as a missing
		// one does (refused under require, a warning under warn).
		if t.Policy == PolicyRequire {
			return fail(clawerr.SignatureInvalid, nil, "%s: the signature is not base64 of %d bytes", entry, ed25519.SignatureSize)
		}
		v.Warnings = append(v.Warnings, fmt.Sprintf("malformed signature, not base64 of %d bytes (policy warn)", ed25519.SignatureSize))
	case len(t.Keys) == 0:
		if t.Policy == PolicyRequire {
			return fail(clawerr.SignatureInvalid, nil, "no trusted keys to verify the signature with")
		}
		v.Warnings = append(v.Warnings, "signature not checked: no trusted keys (policy warn)")
	default:
		for _, s := range sigChecks {
			if s.Valid() {
				v.Signed = true
				break
			}
		}
		if !v.Signed {
			return fail(clawerr.SignatureInvalid, nil, "%s: the signature does not verify with any of the %d trusted keys", entry, len(t.Keys))
		}
	}

	// The format is checked on the copy: the bytes that will be mapped.
	if err := libfile.CheckFormat(cp, src.Size(), fileOpts); err != nil {
		return nil, err
	}
	path, err := finishCopy(cp)
	if err != nil {
		return fail(clawerr.OpenFailed, err, "writing the verified copy")
	}
	keep = true
	v.Path = path
	return v, nil
}

// EntryName names this system's entry in messages: its path, and for an
// entry table its key ("entry.linux (lib/libx.so)").
func (m *Manifest) EntryName() string { return entryName(m.EntryKey, m.Entry) }

func entryName(key, path string) string {
	if key == "" {
		return path
	}
	return fmt.Sprintf("entry.%s (%s)", key, path)
}

// createCopy creates a new file for the verified copy in dir.
func createCopy(dir string, m *Manifest) (*os.File, error) {
	if dir == "" {
		return nil, fmt.Errorf("no directory for verified copies")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	st, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%s: not a directory", dir)
	}
	// Windows reports every directory as 0777: its ACLs are not modes.
	if runtime.GOOS != "windows" && st.Mode().Perm()&0o022 != 0 && st.Mode()&os.ModeSticky == 0 {
		return nil, fmt.Errorf("%s: writable by others (mode %v): verified copies need a private directory", dir, st.Mode().Perm())
	}
	return os.CreateTemp(dir, copyPattern(m))
}

// finishCopy closes the copy, makes it read-only and returns its absolute
// path. On error the caller removes it.
func finishCopy(f *os.File) (string, error) {
	path := f.Name()
	if err := f.Close(); err != nil {
		return "", err
	}
	// Read and execute only: nothing of ours writes it again. Windows
	// cannot remove a read-only file, so there it stays writable by us.
	mode := os.FileMode(0o500)
	if runtime.GOOS == "windows" {
		mode = 0o700
	}
	if err := os.Chmod(path, mode); err != nil {
		return "", err
	}
	return filepath.Abs(path)
}

// copyPattern is the os.CreateTemp pattern of a copy: the plugin's name made
// safe for a file name, and the entry's extension (Windows' LoadLibrary adds
// .dll to a name without one).
func copyPattern(m *Manifest) string {
	safe := func(s string, keep string, max int) string {
		var b strings.Builder
		for _, r := range s {
			if b.Len() >= max {
				break
			}
			if r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(keep, r)) {
				b.WriteRune(r)
			} else {
				b.WriteByte('_')
			}
		}
		return b.String()
	}
	name := safe(m.Name, "-_.", 64)
	if name == "" {
		name = "plugin"
	}
	ext := safe(filepath.Ext(filepath.FromSlash(m.Entry)), ".", 16)
	if (ext == "" || ext == ".") && m.Runtime == RuntimeWasm {
		ext = ".wasm"
	}
	if ext == "" || ext == "." {
		ext = map[string]string{"windows": ".dll", "darwin": ".dylib", "ios": ".dylib"}[runtime.GOOS]
		if ext == "" {
			ext = ".so"
		}
	}
	return name + "-*" + ext
}
