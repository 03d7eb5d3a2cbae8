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
)

// Policy says what Verify does about signatures.
type Policy int

const (
	// PolicyRequire refuses an unsigned entry (unsigned) and one whose
	// signature does not verify with a trusted key (signature_invalid). It is
	// the zero value, so a Trust nobody configured fails closed.
	PolicyRequire Policy = iota
	// PolicyWarn accepts an unsigned entry with a warning, but still refuses
	// a signature that does not verify: a bad signature is evidence of
	// tampering, no signature is only a missing promise.
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
}

// Verified is an entry that passed Verify.
type Verified struct {
	Path     string   // the private copy to open: the verified bytes, at a unique path
	SHA256   string   // hex of the bytes verified
	Signed   bool     // a signature verified against one of the keys
	Warnings []string // e.g. "unsigned (policy warn)"
}

// Verify reads the entry's bytes once, checks the sha256 pin
// (checksum_mismatch) and the signature under the policy, then writes
// exactly those bytes to a new file with a unique name inside copyDir and
// returns its path, which is what the host must open.
//
// Signatures: one that is not base64 of 64 bytes, or that verifies with
// none of the keys, is signature_invalid under require and warn; an empty
// one is unsigned under require and a warning under warn; under off neither
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
// the copy when done with it.
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
	data, err := readEntry(m.EntryPath())
	if err != nil {
		return fail(clawerr.OpenFailed, err, "reading entry %s", m.Entry)
	}
	sum := sha256.Sum256(data)
	v := &Verified{SHA256: hex.EncodeToString(sum[:])}
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
			return fail(clawerr.Unsigned, nil, "the manifest has no signature and the policy requires one")
		}
		v.Warnings = append(v.Warnings, "unsigned (policy warn)")
	default:
		sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(m.Signature))
		if err != nil || len(sig) != ed25519.SignatureSize {
			return fail(clawerr.SignatureInvalid, nil, "the signature is not base64 of %d bytes", ed25519.SignatureSize)
		}
		if len(t.Keys) == 0 {
			if t.Policy == PolicyRequire {
				return fail(clawerr.SignatureInvalid, nil, "no trusted keys to verify the signature with")
			}
			v.Warnings = append(v.Warnings, "signature not checked: no trusted keys (policy warn)")
			break
		}
		for _, k := range t.Keys {
			if len(k) == ed25519.PublicKeySize && ed25519.Verify(k, data, sig) {
				v.Signed = true
				break
			}
		}
		if !v.Signed {
			return fail(clawerr.SignatureInvalid, nil, "%s: the signature does not verify with any of the %d trusted keys", m.Entry, len(t.Keys))
		}
	}

	path, err := writeCopy(copyDir, m, data)
	if err != nil {
		return fail(clawerr.OpenFailed, err, "writing the verified copy")
	}
	v.Path = path
	return v, nil
}

// readEntry reads a regular file whole. A FIFO or device in place of the
// library would otherwise block or never end.
func readEntry(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	return io.ReadAll(f)
}

// writeCopy writes data to a new file in dir and returns its path.
func writeCopy(dir string, m *Manifest, data []byte) (string, error) {
	if dir == "" {
		return "", fmt.Errorf("no directory for verified copies")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	st, err := os.Stat(dir)
	if err != nil {
		return "", err
	}
	if !st.IsDir() {
		return "", fmt.Errorf("%s: not a directory", dir)
	}
	// Windows reports every directory as 0777: its ACLs are not modes.
	if runtime.GOOS != "windows" && st.Mode().Perm()&0o022 != 0 && st.Mode()&os.ModeSticky == 0 {
		return "", fmt.Errorf("%s: writable by others (mode %v): verified copies need a private directory", dir, st.Mode().Perm())
	}
	f, err := os.CreateTemp(dir, copyPattern(m))
	if err != nil {
		return "", err
	}
	path := f.Name()
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	// Read and execute only: nothing of ours writes it again. Windows
	// cannot remove a read-only file, so there it stays writable by us.
	mode := os.FileMode(0o500)
	if runtime.GOOS == "windows" {
		mode = 0o700
	}
	if err == nil {
		err = os.Chmod(path, mode)
	}
	if err != nil {
		os.Remove(path)
		return "", err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		os.Remove(path)
		return "", err
	}
	return abs, nil
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
	if ext == "" || ext == "." {
		ext = map[string]string{"windows": ".dll", "darwin": ".dylib", "ios": ".dylib"}[runtime.GOOS]
		if ext == "" {
			ext = ".so"
		}
	}
	return name + "-*" + ext
}
