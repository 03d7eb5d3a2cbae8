package sigkey

import (
	"crypto/ed25519"
	"crypto/sha512"
	"crypto/subtle"
	"hash"

	"filippo.io/edwards25519"
)

// Check verifies an Ed25519 signature over a message written to it in
// pieces, so a library is verified without holding it in memory:
// crypto/ed25519 takes the message whole, but its verification only hashes
// it, as SHA-512(R || A || message). The steps below are crypto/ed25519's
// own (edwards25519 is the package it is built from): the same keys and
// signatures verify, and the same are refused.
type Check struct {
	key ed25519.PublicKey
	sig []byte
	h   hash.Hash
}

// NewCheck returns a check of the raw 64-byte signature sig by key.
func NewCheck(key ed25519.PublicKey, sig []byte) *Check {
	h := sha512.New()
	if len(sig) == ed25519.SignatureSize {
		h.Write(sig[:32])
	}
	h.Write(key)
	return &Check{key: key, sig: sig, h: h}
}

// Write adds p to the message.
func (s *Check) Write(p []byte) (int, error) { return s.h.Write(p) }

// Valid reports whether the signature verifies over what was written.
func (s *Check) Valid() bool {
	if len(s.key) != ed25519.PublicKeySize || len(s.sig) != ed25519.SignatureSize || s.sig[63]&224 != 0 {
		return false
	}
	a, err := new(edwards25519.Point).SetBytes(s.key)
	if err != nil {
		return false
	}
	k, err := edwards25519.NewScalar().SetUniformBytes(s.h.Sum(nil))
	if err != nil {
		return false
	}
	sc, err := edwards25519.NewScalar().SetCanonicalBytes(s.sig[32:])
	if err != nil {
		return false
	}
	minusA := new(edwards25519.Point).Negate(a)
	r := new(edwards25519.Point).VarTimeDoubleScalarBaseMult(k, minusA, sc)
	return subtle.ConstantTimeCompare(s.sig[:32], r.Bytes()) == 1
}
