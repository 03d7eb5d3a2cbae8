package install

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/lockfile"
	"github.com/clawd-go/clawd/internal/pkgindex"
)

// FuzzIndex feeds hostile index documents to the index decoder. The
// harness signs each with the trusted key, as a compromised or careless
// index operator would: the signature is no defence here, the checks
// after it are. Whatever the bytes: a refusal with an index code
// (manifest_invalid, bad_name), or an index whose every plugin name
// passes CheckName and every release the release checks, on which pick
// and sorting work without a panic. The signature file decoder gets the
// same bytes. Run longer with
//
//	go test -run '^$' -fuzz '^FuzzIndex$' -fuzztime 90s ./install/
func FuzzIndex(f *testing.F) {
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	pubKey := key.Public().(ed25519.PublicKey)
	id := "ed25519:0123456789abcdef"
	rel := `{"version":"1.0.0","runtime":"dylib","abi_version":1,"capabilities":["network.relay"],"platforms":["linux/amd64"],` +
		`"archive":"echo-1.0.0.tar.gz","size":3068,"sha256":"` + sha64 + `","signature":"c2ln","publisher_key":"` + id + `","yanked":false}`
	for _, s := range []string{
		`{"schema":1,"generated":"2026-12-01T11:00:00Z","serial":7,"keys":{"` + id + `":"AAAA"},"plugins":{"echo":[` + rel + `]}}`,
		`{"schema":1,"serial":1,"keys":{"` + id + `":"AAAA"},"plugins":{"../x":[` + rel + `]}}`,
		`{"schema":1,"serial":1,"keys":{"` + id + `":"AAAA"},"plugins":{"CON":[` + rel + `],"nul.txt":[]}}`,
		`{"schema":1,"serial":1,"keys":{},"plugins":{"echo":[{"version":"1.0.0-rc.1+b","archive":"../a","size":-1}]}}`,
		`{"schema":2}`,
		`{"schema":1,"plugins":{"a\u0001b":[]}}`,
		`{"schema":1,"plugins":{"echo":[{"version":"99999999999999999999.0.0"}]}}`,
		`{"schema":1,"schema":1,"plugins":null}`,
		`[]`,
		`{"schema":1,"serial":18446744073709551615,"plugins":{}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if s, err := pkgindex.ParseSigFile(data, "fuzz.sig"); err != nil {
			if c := clawerr.CodeOf(err); c != clawerr.SignatureInvalid {
				t.Fatalf("signature file refused with %q: %v", c, err)
			}
		} else if s.Signature == "" {
			t.Fatal("a signature file without a signature accepted")
		}
		idx, err := pkgindex.ParseIndex(data, pkgindex.NewSigFile(key, data), pubKey, "index.json")
		if err != nil {
			if c := clawerr.CodeOf(err); c != clawerr.ManifestInvalid && c != clawerr.BadName {
				t.Fatalf("refused with %q: %v", c, err)
			}
			return
		}
		if idx.Schema != pkgindex.IndexSchema {
			t.Fatalf("schema %d accepted", idx.Schema)
		}
		in := &Installer{o: defaults()}
		for name, rels := range idx.Plugins {
			if err := lockfile.CheckName(name); err != nil {
				t.Fatalf("name %q accepted: %v", name, err)
			}
			for _, r := range rels {
				if err := pkgindex.CheckRelease(name, r, idx); err != nil {
					t.Fatalf("%s %s accepted: %v", name, r.Version, err)
				}
				if _, err := parseVersion(r.Version); err != nil {
					t.Fatalf("version %q accepted: %v", r.Version, err)
				}
			}
			sorted := slices.Clone(rels)
			pkgindex.SortReleases(sorted)
			for _, c := range []string{"", "^1", ">=0.1, <2", "1.0.0"} {
				cons, err := parseConstraint(c)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := in.pick(idx, name, cons); err != nil {
					var ce *clawerr.Error
					if !errors.As(err, &ce) {
						t.Fatalf("pick: an uncoded error: %v", err)
					}
				}
			}
		}
		// What was accepted encodes and decodes to the same index.
		again, err := json.Marshal(idx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pkgindex.ParseIndex(again, pkgindex.NewSigFile(key, again), pubKey, "again.json"); err != nil {
			t.Fatalf("an accepted index, encoded again, is refused: %v", err)
		}
	})
}

const sha64 = "0744f5e8e3b5a1b3f24d3c8f2b7a1d9e5c6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b"
