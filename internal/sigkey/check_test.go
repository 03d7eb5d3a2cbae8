package sigkey

import (
	"crypto/ed25519"
	"crypto/rand"
	"math/big"
	"testing"
)

// The streamed verification agrees with crypto/ed25519 on good signatures
// and on every kind of bad one, for messages written in uneven pieces.
func TestSigCheckMatchesCryptoEd25519(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	other, _, _ := ed25519.GenerateKey(rand.Reader)
	msg := make([]byte, 100_000)
	rand.Read(msg)
	sig := ed25519.Sign(priv, msg)

	flip := func(b []byte, i int) []byte { c := append([]byte(nil), b...); c[i] ^= 1; return c }
	// S + l: the same point, a non-canonical scalar that must be refused.
	l, _ := new(big.Int).SetString("7237005577332262213973186563042994240857116359379907606001950938285454250989", 10)
	s := new(big.Int).SetBytes(reverse(sig[32:]))
	nonCanonical := append(append([]byte(nil), sig[:32]...), reverse(pad32(new(big.Int).Add(s, l).Bytes()))...)

	cases := []struct {
		name string
		key  ed25519.PublicKey
		msg  []byte
		sig  []byte
	}{
		{"good", pub, msg, sig},
		{"other key", other, msg, sig},
		{"message changed", pub, flip(msg, 77_777), sig},
		{"message cut", pub, msg[:len(msg)-1], sig},
		{"R changed", pub, msg, flip(sig, 3)},
		{"S changed", pub, msg, flip(sig, 40)},
		{"S not canonical", pub, msg, nonCanonical},
		{"short signature", pub, msg, sig[:63]},
		{"short key", pub[:31], msg, sig},
		{"key not a point", ed25519.PublicKey(flip(make([]byte, 32), 0)), msg, sig},
		{"empty message", pub, nil, ed25519.Sign(priv, nil)},
	}
	for _, c := range cases {
		want := len(c.key) == ed25519.PublicKeySize && ed25519.Verify(c.key, c.msg, c.sig)
		sc := NewCheck(c.key, c.sig)
		for rest, n := c.msg, 1; len(rest) > 0; n = n*3 + 1 {
			n = min(n, len(rest))
			sc.Write(rest[:n])
			rest = rest[n:]
		}
		if got := sc.Valid(); got != want {
			t.Errorf("%s: streamed %v, crypto/ed25519 %v", c.name, got, want)
		}
		if c.name == "good" && !want {
			t.Fatal("the good signature does not verify")
		}
	}
}

func reverse(b []byte) []byte {
	r := make([]byte, len(b))
	for i := range b {
		r[len(b)-1-i] = b[i]
	}
	return r
}

func pad32(b []byte) []byte {
	return append(make([]byte, 32-len(b)), b...)
}
