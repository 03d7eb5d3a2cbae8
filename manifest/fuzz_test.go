package manifest

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"github.com/clawd-go/clawd/internal/sigkey"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/clawd-go/clawd/clawerr"
)

// The parsers take untrusted files: whatever the bytes, they must return a
// manifest that keeps the rules, or a *clawerr.Error with a manifest code,
// and never panic. A manifest that parses must also take a signature
// (WriteSignature's rewriting) and read back the same but for it. Run longer
// with
//
//	go test -run '^$' -fuzz FuzzLoadTOML -fuzztime 30s ./manifest
//
// The committed seeds are in testdata/fuzz/; these are added to them.

var manifestCodes = []clawerr.Code{clawerr.ManifestInvalid, clawerr.CapabilityUnknown, clawerr.RuntimeUnsupported}

// fuzzSig is a well-formed signature for the rewrite check.
var fuzzSig = sigkey.Sign(ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)), []byte("entry"))

func FuzzLoadTOML(f *testing.F) {
	for _, s := range []string{
		"name = \"echo\"\nversion = \"1.0.0\"\nentry = \"libecho.so\"\n",
		"name = \"echo\"\nversion = \"1\"\nentry = \"x.so\"\ncapabilities = [\n  \"fs.read\", # c\n  \"net\",\n]\n",
		"name='x'\nversion=\"\"\"\n1\"\"\"\nsignature = ''\n[entry]\nlinux = \"a.so\"\ndarwin = 'a.dylib'\n",
		"name = \"x\"\nversion = \"1\"\nentry = { linux = \"a.so\", windows = \"a.dll\" }\nconcurrent = true\nsandbox = \"native\"\n",
		"\"name\" = \"x\" # comment\nversion = \"1\"\r\nentry.linux = \"a.so\"\nentry.darwin = \"a.dylib\"\n[[capabilities]]\n",
		"name = \"x\"\nversion = \"1\"\nentry = \"x.so\"\nsha256 = \"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"\nd = 1979-05-27 07:32:00\n",
		"name = \"x\"\nversion = \"1\"\nentry = \"x.so\"\nsandbox = \"process\"\ncall_timeout_ms = 100\nmax_processes = 16\nenv = [\"LANG\", \"MODE=fast=yes\"]\n",
		"name = \"x\nversion",
		"name = \"x\"\nversion = \"1\"\nsignature = \"\"\n[entry]\nlinux = \"a.so\"\nwindows = \"a.dll\"\n[signatures]\nwindows = \"c2ln\" # old\n",
		"name = \"x\"\nversion = \"1\"\nsignatures.linux = \"s\"\n[entry]\nlinux = \"a.so\"\n",
		"name = \"x\"\nversion = \"1\"\n[signatures]\n[entry]\nlinux_amd64 = \"a.so\"\nlinux = \"b.so\"\ndarwin = \"c.dylib\"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		indexTOML([]byte(s)) // also on documents the decoder refuses
		checkParse(t, "/fuzz/"+tomlName, s)
	})
}

func FuzzLoadJSON(f *testing.F) {
	for _, s := range []string{
		`{"name":"echo","version":"1.0.0","description":"","author":"","runtime":"dylib","entry":"libecho.so","capabilities":[],"signature":""}`,
		"{\n  \"name\": \"x\",\n  \"version\": \"1\",\n  \"entry\": {\"linux\": \"a.so\", \"darwin\": \"a.dylib\"},\n  \"capabilities\": [\"fs.read\", \"net\"]\n}",
		`{"name":"x","version":"1","entry":"x.so","sha256":null,"sandbox":"process","concurrent":1,"extra":[{"a":{}}]}`,
		`{"name":"x","name":"y","version":"1","entry":"../x.so","runtime":"wasm"}`,
		`{"name":"x","version":"1","entry":"x.so","sandbox":"process","max_processes":0,"env":["HOME","A_B=c d"]}`,
		`[1,2,3]`,
		`{"name":"x",`,
		// Repeated keys: refused at any depth, whatever the spelling.
		`{"name":"x","version":"1","entry":"x.so","capabilities":[],"capabilities":["fs.read"]}`,
		`{"name":"x","version":"1","entry":{"linux":"a.so","linux":"b.so"}}`,
		`{"name":"x","version":"1","entry":"x.so","n\u0061me":"y"}`,
		`{"name":"x","version":"1","entry":"x.so","extra":[{"a":1},{"a":[{"b":{},"b":[]}]}]}`,
		`{"name":"x","version":"1","entry":"x.so","env":["A=1"],"Env":["A=2"]}`,
		"{\"name\":\"é\",\r\n\t\"name\" : \"x\"}",
		`{"name":"x","version":"1","entry":{"linux":"a.so","windows":"a.dll"},"signatures":{"windows":"c2ln"}}`,
		`{"name":"x","version":"1","signature":"c2ln","entry":{"linux":"a.so","darwin":"a.dylib"}}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		indexJSON([]byte(s))
		checkParse(t, "/fuzz/"+jsonName, s)
		if _, err := parse("/fuzz/"+jsonName, []byte(s)); err == nil && repeatsKey(t, []byte(s)) {
			t.Fatalf("a manifest with a repeated key loaded")
		}
	})
}

// repeatsKey reports whether the valid JSON value raw gives a key twice
// within one object: member by member, recursively, apart from
// findDupJSON's token walk.
func repeatsKey(t *testing.T, raw []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil {
		t.Fatalf("a manifest that loaded does not decode again: %v", err)
	}
	seen := map[string]bool{}
	for dec.More() {
		if tok == json.Delim('{') {
			k, err := dec.Token()
			if err != nil {
				t.Fatal(err)
			}
			if seen[k.(string)] {
				return true
			}
			seen[k.(string)] = true
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		if tok == json.Delim('{') || tok == json.Delim('[') {
			if c := bytes.TrimLeft(v, " \t\r\n"); len(c) > 0 && (c[0] == '{' || c[0] == '[') && repeatsKey(t, c) {
				return true
			}
		}
	}
	return false
}

func checkParse(t *testing.T, path, s string) {
	m, err := parse(path, []byte(s))
	if err != nil {
		var ce *clawerr.Error
		if !errors.As(err, &ce) || !slices.Contains(manifestCodes, ce.Code) {
			t.Fatalf("error is not a *clawerr.Error with a manifest code: %T %v", err, err)
		}
		return
	}
	switch {
	case m.Name == "" || len(m.Name) > maxNameLen || m.Version == "":
		t.Fatalf("bad name or version accepted: %q %q", m.Name, m.Version)
	case m.Entry == "" || filepath.IsAbs(m.Entry) || m.Entry[0] == '/' || m.Entry[0] == '\\':
		t.Fatalf("bad entry accepted: %q", m.Entry)
	case m.Runtime != RuntimeDylib && m.Runtime != RuntimeWasm || m.Sandbox != SandboxNative && m.Sandbox != SandboxProcess:
		t.Fatalf("runtime %q sandbox %q accepted", m.Runtime, m.Sandbox)
	case m.SHA256 != "" && len(m.SHA256) != 64:
		t.Fatalf("bad pin accepted: %q", m.SHA256)
	case m.MaxProcesses < 0 || m.MaxProcesses > maxProcessesLimit:
		t.Fatalf("max_processes %d accepted", m.MaxProcesses)
	}
	rel, err := filepath.Rel(m.Dir, m.EntryPath())
	if err != nil || rel == ".." || len(rel) > 2 && rel[:3] == ".."+string(filepath.Separator) {
		t.Fatalf("entry %q leaves the directory (%q)", m.Entry, rel)
	}
	names := map[string]bool{}
	for _, e := range m.Env {
		name, value, _ := strings.Cut(e, "=")
		if !validEnvName(name) || strings.ContainsRune(value, 0) || names[name] {
			t.Fatalf("env entry %q accepted", e)
		}
		names[name] = true
	}
	for i, c := range m.Capabilities {
		if !c.Known() || slices.Contains(m.Capabilities[:i], c) {
			t.Fatalf("capability %q accepted", c)
		}
	}
	if m.Signatures != nil {
		if m.Entries == nil || m.Signature != m.Signatures[m.EntryKey] {
			t.Fatalf("signatures %v accepted with entries %v (this system's: %q, signature %q)", m.Signatures, m.Entries, m.EntryKey, m.Signature)
		}
		for k := range m.Signatures {
			if _, ok := m.Entries[k]; !ok {
				t.Fatalf("signature for %q, which has no entry", k)
			}
		}
	}
	// Setting the signature works and changes nothing else, which
	// setSignature checks by parsing the result again. A manifest signed
	// per entry takes per-entry signatures instead.
	if m.Signatures == nil {
		if _, err := setSignature(m, []byte(s), fuzzSig); err != nil {
			t.Fatalf("setSignature: %v", err)
		}
	}
	if m.Entries == nil {
		return
	}
	_, err = setSignatures(m, []byte(s), map[string]string{m.EntryKey: fuzzSig})
	if err == nil {
		return
	}
	if clawerr.CodeOf(err) != clawerr.ManifestInvalid {
		t.Fatalf("setSignatures: not manifest_invalid: %v", err)
	}
	// The one refusal allowed: a signatures table not written as a
	// [signatures] table (inline, or dotted keys), which the rewriter does
	// not edit. Where there is none, the table is added.
	if m.Format == "json" || m.Signatures == nil && !strings.Contains(s, "signatures") {
		t.Fatalf("setSignatures: %v", err)
	}
}
