// Package sigkey is the Ed25519 plumbing of plugin signatures: key files,
// their encoding and ids, and a signature checked while the signed file is
// read. Package manifest verifies with it; the clawd-plugin command signs
// with it.
package sigkey

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/clawd-go/clawd/clawerr"
)

// ErrMalformedKey is wrapped by every error of ParsePublicKey and
// ParsePrivateKey (and of the file readers, for a file they could read).
var ErrMalformedKey = errors.New("malformed Ed25519 key")

// Sign returns the signature of entry, the entry file's bytes, in the form
// the manifest's signature field holds: base64 (standard encoding) of the
// 64-byte Ed25519 signature.
func Sign(priv ed25519.PrivateKey, entry []byte) string {
	return base64.StdEncoding.EncodeToString(ed25519.Sign(priv, entry))
}

// EncodePublicKey returns base64 (standard encoding) of the 32 raw bytes.
func EncodePublicKey(k ed25519.PublicKey) string { return base64.StdEncoding.EncodeToString(k) }

// EncodePrivateKey returns base64 (standard encoding) of the 64 raw bytes,
// seed then public key, as crypto/ed25519 holds them.
func EncodePrivateKey(k ed25519.PrivateKey) string { return base64.StdEncoding.EncodeToString(k) }

// ParsePublicKey parses what EncodePublicKey writes; surrounding whitespace
// (a key file's newline) is ignored.
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	b, err := decodeKey(s, ed25519.PublicKeySize, "public")
	if err != nil {
		return nil, err
	}
	return ed25519.PublicKey(b), nil
}

// ParsePrivateKey parses what EncodePrivateKey writes; surrounding
// whitespace is ignored. The public half must be the one the seed yields,
// so a key spliced from two others is refused rather than signing with one
// half and claiming the other.
func ParsePrivateKey(s string) (ed25519.PrivateKey, error) {
	b, err := decodeKey(s, ed25519.PrivateKeySize, "private")
	if err != nil {
		return nil, err
	}
	k := ed25519.NewKeyFromSeed(b[:ed25519.SeedSize])
	if !bytes.Equal(k, b) {
		return nil, fmt.Errorf("%w: the public half does not match the seed", ErrMalformedKey)
	}
	return k, nil
}

func decodeKey(s string, size int, kind string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("%w: %s key is not base64: %v", ErrMalformedKey, kind, err)
	}
	if len(b) != size {
		hint := ""
		if kind == "public" && len(b) == ed25519.PrivateKeySize {
			hint = " (this looks like a private key)"
		} else if kind == "private" && len(b) == ed25519.PublicKeySize {
			hint = " (this looks like a public key)"
		}
		return nil, fmt.Errorf("%w: %s key has %d bytes, want %d%s", ErrMalformedKey, kind, len(b), size, hint)
	}
	return b, nil
}

// maxKeyFile bounds what the key readers read: a key file is under 100
// bytes.
const maxKeyFile = 4096

// ReadPublicKeyFile reads a public key file written by `clawd-plugin keygen`.
func ReadPublicKeyFile(path string) (ed25519.PublicKey, error) {
	s, err := readKeyFile(path)
	if err != nil {
		return nil, keyFileErr(path, "public", err)
	}
	k, err := ParsePublicKey(s)
	if err != nil {
		return nil, keyFileErr(path, "public", err)
	}
	return k, nil
}

// ReadPrivateKeyFile reads a private key file written by `clawd-plugin keygen`.
func ReadPrivateKeyFile(path string) (ed25519.PrivateKey, error) {
	s, err := readKeyFile(path)
	if err != nil {
		return nil, keyFileErr(path, "private", err)
	}
	k, err := ParsePrivateKey(s)
	if err != nil {
		return nil, keyFileErr(path, "private", err)
	}
	return k, nil
}

// keyFileErr gives a key file's failure its code: not_found for a file
// that is not there, invalid_argument for one that holds no key. The cause
// is kept (errors.Is(err, fs.ErrNotExist), errors.Is(err, ErrMalformedKey)).
func keyFileErr(path, kind string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return clawerr.New(clawerr.NotFound, "", "key", fmt.Sprintf(
			"%s key file %s: not there: check the path, or make a key pair with clawd-plugin keygen", kind, path), err)
	}
	return clawerr.New(clawerr.InvalidArgument, "", "key", fmt.Sprintf(
		"%s key file %s: not a %s key written by clawd-plugin keygen", kind, path, kind), err)
}

func readKeyFile(path string) (string, error) {
	b, err := readLimited(path, maxKeyFile)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return "", err // names the path already
		}
		return "", fmt.Errorf("%s: %w", path, err)
	}
	if len(b) > maxKeyFile {
		return "", fmt.Errorf("%s: %w: file too large for a key", path, ErrMalformedKey)
	}
	return string(b), nil
}

// KeyID names a public key in an index or a lock file: "ed25519:" and the
// first 16 hexadecimal digits (8 bytes) of the SHA-256 of its 32 raw
// bytes. An id only finds a key: whoever pins a key pins all of it.
func KeyID(k ed25519.PublicKey) string {
	sum := sha256.Sum256(k)
	return "ed25519:" + hex.EncodeToString(sum[:8])
}

// NewSignatureCheck returns a check of sig, in the form Sign writes
// (base64 of 64 bytes), by key. A sig that is not base64 of 64 bytes never
// verifies.
func NewSignatureCheck(key ed25519.PublicKey, sig string) *Check {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(sig))
	if err != nil || len(b) != ed25519.SignatureSize {
		b = nil
	}
	return NewCheck(key, b)
}

// readLimited reads at most limit+1 bytes of the regular file at path.
func readLimited(path string, limit int64) ([]byte, error) {
	// Opening a FIFO for reading blocks: look before opening.
	if st, err := os.Stat(path); err != nil {
		return nil, err
	} else if !st.Mode().IsRegular() {
		return nil, errors.New("not a regular file")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, limit+1))
}
