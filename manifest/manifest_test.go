package manifest_test

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/manifestfile"
	"github.com/clawd-go/clawd/manifest"
)

// writeManifest writes content as file in a new directory and returns the
// directory.
func writeManifest(t *testing.T, file, content string) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, file), []byte(content), 0o644))
	return dir
}

// clawErr asserts err is a *clawerr.Error with code and returns it.
func clawErr(t *testing.T, err error, code clawerr.Code) *clawerr.Error {
	t.Helper()
	require.Error(t, err)
	var ce *clawerr.Error
	require.True(t, errors.As(err, &ce), "not a *clawerr.Error: %T %v", err, err)
	assert.Equal(t, code, ce.Code, "error: %v", err)
	assert.True(t, errors.Is(err, code))
	return ce
}

func TestLoadTOMLAllFields(t *testing.T) {
	dir := writeManifest(t, manifestfile.TOMLName, `# a comment
name = "echo"
version = "1.0.0"
description = "reports what it sees"
author = "Ada"
runtime = "dylib"
entry = "lib/libecho.so"
capabilities = ["network.relay", "fs.read"]
signature = "c2ln"
sha256 = "ABCDEF0123456789abcdef0123456789ABCDEF0123456789abcdef0123456789"
sandbox = "process"
concurrent = true
call_timeout_ms = 2500
`)
	m, err := manifest.LoadDir(dir)
	require.NoError(t, err)
	assert.Equal(t, &manifest.Manifest{
		Path:         filepath.Join(dir, manifestfile.TOMLName),
		Dir:          dir,
		Format:       "toml",
		Name:         "echo",
		Version:      "1.0.0",
		Description:  "reports what it sees",
		Author:       "Ada",
		Runtime:      manifest.RuntimeDylib,
		Entry:        "lib/libecho.so",
		Capabilities: []abi.Capability{abi.CapNetworkRelay, abi.CapFSRead},
		Signature:    "c2ln",
		SHA256:       "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789",
		Sandbox:      manifest.SandboxProcess,
		Concurrent:   true,
		CallTimeout:  2500 * time.Millisecond,
	}, m)
	assert.Equal(t, filepath.Join(dir, "lib", "libecho.so"), m.EntryPath())
}

func TestLoadDefaults(t *testing.T) {
	dir := writeManifest(t, manifestfile.TOMLName, "name = \"x\"\nversion = \"not semver\"\nentry = \"x.so\"\n")
	m, err := manifest.LoadDir(dir)
	require.NoError(t, err)
	assert.Equal(t, manifest.RuntimeDylib, m.Runtime)
	assert.Equal(t, manifest.SandboxNative, m.Sandbox)
	assert.Equal(t, "not semver", m.Version)
	assert.Nil(t, m.Entries)
	assert.Empty(t, m.Capabilities)
	assert.False(t, m.Concurrent)
}

func TestLoadEntryPerOS(t *testing.T) {
	for _, form := range []string{
		"[entry]\nlinux = \"libx.so\"\ndarwin = \"libx.dylib\"\nwindows = \"x.dll\"\nfreebsd = \"libx.so\"\n",
		"entry = { linux = \"libx.so\", darwin = \"libx.dylib\", windows = \"x.dll\", freebsd = \"libx.so\" }\n",
		"entry.linux = \"libx.so\"\nentry.darwin = \"libx.dylib\"\nentry.windows = \"x.dll\"\nentry.freebsd = \"libx.so\"\n",
	} {
		dir := writeManifest(t, manifestfile.TOMLName, "name = \"x\"\nversion = \"1\"\n"+form)
		m, err := manifest.LoadDir(dir)
		if runtime.GOOS != "linux" && runtime.GOOS != "darwin" && runtime.GOOS != "windows" && runtime.GOOS != "freebsd" {
			clawErr(t, err, clawerr.ManifestInvalid)
			continue
		}
		require.NoError(t, err, form)
		assert.Equal(t, map[string]string{"linux": "libx.so", "darwin": "libx.dylib", "windows": "x.dll", "freebsd": "libx.so"}, m.Entries)
		assert.Equal(t, m.Entries[runtime.GOOS], m.Entry)
	}
}

// The reference daemon's manifest, with every field it knows and one it
// might add later: it loads, and the unknown field is ignored.
func TestLoadJSONReferenceDaemon(t *testing.T) {
	dir := writeManifest(t, manifestfile.JSONName, `{
  "name": "echo",
  "version": "1.0.0",
  "description": "",
  "author": "",
  "runtime": "dylib",
  "entry": "libecho.so",
  "capabilities": [],
  "signature": "",
  "homepage": "https://example.com"
}`)
	m, err := manifest.LoadDir(dir)
	require.NoError(t, err)
	assert.Equal(t, "json", m.Format)
	assert.Equal(t, "echo", m.Name)
	assert.Equal(t, "libecho.so", m.Entry)
	assert.Equal(t, "", m.Signature)
	assert.Empty(t, m.Capabilities)
	assert.Equal(t, manifest.SandboxNative, m.Sandbox)
}

func TestLoadJSONExtensionsAndNull(t *testing.T) {
	dir := writeManifest(t, manifestfile.JSONName, `{"name":"x","version":"1","entry":{"`+runtime.GOOS+`":"libx.so"},
"sha256":"0000000000000000000000000000000000000000000000000000000000000000","sandbox":"native","concurrent":true,
"signature":null,"description":null}`)
	m, err := manifest.LoadDir(dir)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{runtime.GOOS: "libx.so"}, m.Entries)
	assert.Equal(t, "libx.so", m.Entry)
	assert.True(t, m.Concurrent)
	assert.Equal(t, strings.Repeat("0", 64), m.SHA256)
	assert.Equal(t, "", m.Signature)
}

const knownCaps = "(known: fs.read, fs.write, network.relay, daemon.rpc)"

const knownFields = "(known: name, version, description, author, runtime, entry, capabilities, signature, signatures, sha256, sandbox, concurrent, call_timeout_ms, max_processes, memory_limit_mb, env, hooks, files)"

// Every validation error: its exact code and its exact detail, which names
// the file, the line and the field.
func TestLoadErrors(t *testing.T) {
	const head = "name = \"echo\"\nversion = \"1.0.0\"\n" // lines 1-2
	const entry = "entry = \"libecho.so\"\n"
	otherOS := "linux"
	if runtime.GOOS == "linux" {
		otherOS = "darwin"
	}
	cases := []struct {
		name, file, content string
		code                clawerr.Code
		detail              string
	}{
		// TOML syntax and unknown fields.
		{"toml syntax", manifestfile.TOMLName, head + "entry = \"libecho.so\n", clawerr.ManifestInvalid,
			"plugin.toml:3: invalid TOML: strings cannot contain newlines"},
		{"toml unknown field", manifestfile.TOMLName, head + entry + "capabilites = [\"fs.read\"]\n", clawerr.ManifestInvalid,
			"plugin.toml:4: capabilites: unknown field " + knownFields},
		{"toml unknown table", manifestfile.TOMLName, head + entry + "\n[extra]\nfoo = 1\n", clawerr.ManifestInvalid,
			"plugin.toml:5: extra: unknown field " + knownFields},
		{"toml field in wrong case", manifestfile.TOMLName, "Name = \"echo\"\nversion = \"1\"\n" + entry, clawerr.ManifestInvalid,
			"plugin.toml:1: Name: unknown field " + knownFields},
		{"not utf-8", manifestfile.TOMLName, head + "description = \"caf\xe9\"\n" + entry, clawerr.ManifestInvalid,
			"plugin.toml:3: not valid UTF-8"},

		// name and version.
		{"name missing", manifestfile.TOMLName, "version = \"1\"\n" + entry, clawerr.ManifestInvalid,
			"plugin.toml: name: missing (required)"},
		{"name empty", manifestfile.TOMLName, "name = \"\"\nversion = \"1\"\n" + entry, clawerr.ManifestInvalid,
			"plugin.toml:1: name: empty (required)"},
		{"name not a string", manifestfile.TOMLName, "version = \"1\"\nname = 5\n" + entry, clawerr.ManifestInvalid,
			"plugin.toml:2: name: want a string, got a number"},
		{"name too long", manifestfile.TOMLName, "name = \"" + strings.Repeat("n", 129) + "\"\nversion = \"1\"\n" + entry, clawerr.ManifestInvalid,
			"plugin.toml:1: name: 129 bytes long, at most 128 allowed"},
		{"name with control character", manifestfile.TOMLName, "name = \"a\\nb\"\nversion = \"1\"\n" + entry, clawerr.ManifestInvalid,
			"plugin.toml:1: name: contains a control character"},
		{"version missing", manifestfile.TOMLName, "name = \"echo\"\n" + entry, clawerr.ManifestInvalid,
			"plugin.toml: version: missing (required)"},
		{"version blank", manifestfile.TOMLName, "name = \"echo\"\nversion = \"  \"\n" + entry, clawerr.ManifestInvalid,
			"plugin.toml:2: version: empty (required)"},
		{"author not a string", manifestfile.TOMLName, head + "author = [\"a\"]\n" + entry, clawerr.ManifestInvalid,
			"plugin.toml:3: author: want a string, got an array"},

		// runtime.
		{"runtime unknown", manifestfile.TOMLName, head + "runtime = \"jvm\"\n" + entry, clawerr.ManifestInvalid,
			"plugin.toml:3: runtime: unknown runtime \"jvm\" (want \"dylib\" or \"wasm\")"},
		{"memory limit on a dylib", manifestfile.TOMLName, head + entry + "memory_limit_mb = 64\n", clawerr.ManifestInvalid,
			"plugin.toml:4: memory_limit_mb: applies to runtime \"wasm\" only (this manifest says \"dylib\")"},
		{"memory limit zero", manifestfile.TOMLName, head + "runtime = \"wasm\"\n" + entry + "memory_limit_mb = 0\n", clawerr.ManifestInvalid,
			"plugin.toml:5: memory_limit_mb: want whole MiB from 1 to 4096, got 0"},
		{"memory limit too large", manifestfile.TOMLName, head + "runtime = \"wasm\"\n" + entry + "memory_limit_mb = 5000\n", clawerr.ManifestInvalid,
			"plugin.toml:5: memory_limit_mb: want whole MiB from 1 to 4096, got 5000"},
		{"runtime empty", manifestfile.TOMLName, head + "runtime = \"\"\n" + entry, clawerr.ManifestInvalid,
			"plugin.toml:3: runtime: empty (want \"dylib\", or leave it out)"},

		// entry.
		{"entry missing", manifestfile.TOMLName, head, clawerr.ManifestInvalid,
			"plugin.toml: entry: missing (required)"},
		{"entry empty", manifestfile.TOMLName, head + "entry = \"\"\n", clawerr.ManifestInvalid,
			"plugin.toml:3: entry: empty path"},
		{"entry absolute", manifestfile.TOMLName, head + "entry = \"/usr/lib/libecho.so\"\n", clawerr.ManifestInvalid,
			"plugin.toml:3: entry: path \"/usr/lib/libecho.so\" is absolute (want a path relative to the manifest)"},
		{"entry windows absolute", manifestfile.TOMLName, head + "entry = 'C:\\echo.dll'\n", clawerr.ManifestInvalid,
			"plugin.toml:3: entry: path \"C:\\\\echo.dll\" is absolute (want a path relative to the manifest)"},
		{"entry escapes", manifestfile.TOMLName, head + "entry = \"lib/../../libecho.so\"\n", clawerr.ManifestInvalid,
			"plugin.toml:3: entry: path \"lib/../../libecho.so\" leaves the plugin directory"},
		{"entry escapes with backslashes", manifestfile.TOMLName, head + "entry = '..\\libecho.so'\n", clawerr.ManifestInvalid,
			"plugin.toml:3: entry: path \"..\\\\libecho.so\" leaves the plugin directory"},
		{"entry is the directory", manifestfile.TOMLName, head + "entry = \"./\"\n", clawerr.ManifestInvalid,
			"plugin.toml:3: entry: path \"./\" names a directory, not a library"},
		{"entry dot", manifestfile.TOMLName, head + "entry = \".\"\n", clawerr.ManifestInvalid,
			"plugin.toml:3: entry: path \".\" names the plugin directory, not a library"},
		{"entry a number", manifestfile.TOMLName, head + "entry = 1\n", clawerr.ManifestInvalid,
			"plugin.toml:3: entry: want a path or a table of GOOS = path, got a number"},
		{"entry empty table", manifestfile.TOMLName, head + "entry = {}\n", clawerr.ManifestInvalid,
			"plugin.toml:3: entry: empty table (want GOOS = path pairs)"},
		{"entry unknown GOOS", manifestfile.TOMLName, head + "[entry]\n" + runtime.GOOS + " = \"a.so\"\nlinxu = \"libecho.so\"\n", clawerr.ManifestInvalid,
			"plugin.toml:5: entry.linxu: unknown GOOS \"linxu\" (known: aix, android, darwin, dragonfly, freebsd, hurd, illumos, ios, js, linux, netbsd, openbsd, plan9, solaris, wasip1, windows, zos)"},
		{"entry not for this OS", manifestfile.TOMLName, head + "[entry]\n" + otherOS + " = \"libecho.so\"\n", clawerr.ManifestInvalid,
			"plugin.toml:3: entry: no entry for " + runtime.GOOS + "/" + runtime.GOARCH + " (entries for: " + otherOS + ")"},
		{"entry in table escapes", manifestfile.TOMLName, head + "[entry]\n" + runtime.GOOS + " = \"../x.so\"\n", clawerr.ManifestInvalid,
			"plugin.toml:4: entry." + runtime.GOOS + ": path \"../x.so\" leaves the plugin directory"},

		// capabilities.
		{"capability unknown", manifestfile.TOMLName, head + entry + "\n\ncapabilities = [\"fs.read\", \"net\"]\n", clawerr.CapabilityUnknown,
			"plugin.toml:6: capabilities[1]: unknown capability \"net\" " + knownCaps},
		{"capability unknown on its own line", manifestfile.TOMLName, head + entry + "capabilities = [\n  \"fs.read\", # ok\n  'net',\n]\n", clawerr.CapabilityUnknown,
			"plugin.toml:6: capabilities[1]: unknown capability \"net\" " + knownCaps},
		{"capability repeated", manifestfile.TOMLName, head + entry + "capabilities = [\"fs.read\", \"fs.write\", \"fs.read\"]\n", clawerr.ManifestInvalid,
			"plugin.toml:4: capabilities[2]: capability \"fs.read\" repeated (first at capabilities[0])"},
		{"capabilities not an array", manifestfile.TOMLName, head + entry + "capabilities = \"fs.read\"\n", clawerr.ManifestInvalid,
			"plugin.toml:4: capabilities: want an array of strings, got a string"},
		{"capability not a string", manifestfile.TOMLName, head + entry + "capabilities = [true]\n", clawerr.ManifestInvalid,
			"plugin.toml:4: capabilities[0]: want a string, got a boolean"},

		// signature, sha256, sandbox, concurrent.
		{"signature not a string", manifestfile.TOMLName, head + entry + "signature = 1979-05-27\n", clawerr.ManifestInvalid,
			"plugin.toml:4: signature: want a string, got a date or time"},
		{"sha256 short", manifestfile.TOMLName, head + entry + "sha256 = \"abc\"\n", clawerr.ManifestInvalid,
			"plugin.toml:4: sha256: want 64 hexadecimal digits, got \"abc\""},
		{"sha256 not hex", manifestfile.TOMLName, head + entry + "sha256 = \"" + strings.Repeat("g", 64) + "\"\n", clawerr.ManifestInvalid,
			"plugin.toml:4: sha256: want 64 hexadecimal digits, got \"" + strings.Repeat("g", 64) + "\""},
		{"sandbox unknown", manifestfile.TOMLName, head + entry + "sandbox = \"vm\"\n", clawerr.ManifestInvalid,
			"plugin.toml:4: sandbox: unknown sandbox \"vm\" (want \"native\" or \"process\")"},
		{"call_timeout_ms zero", manifestfile.TOMLName, head + entry + "call_timeout_ms = 0\n", clawerr.ManifestInvalid,
			"plugin.toml:4: call_timeout_ms: want whole milliseconds from 1 to 3600000, got 0"},
		{"call_timeout_ms fraction", manifestfile.JSONName, `{"name":"echo","version":"1","entry":"x.so","call_timeout_ms":1.5}`, clawerr.ManifestInvalid,
			"clawd-plugin.json:1: call_timeout_ms: want whole milliseconds from 1 to 3600000, got 1.5"},
		{"call_timeout_ms string", manifestfile.TOMLName, head + entry + "call_timeout_ms = \"5s\"\n", clawerr.ManifestInvalid,
			"plugin.toml:4: call_timeout_ms: want whole milliseconds from 1 to 3600000, got 5s"},
		{"concurrent not a boolean", manifestfile.TOMLName, head + entry + "concurrent = \"yes\"\n", clawerr.ManifestInvalid,
			"plugin.toml:4: concurrent: want a boolean, got a string"},

		// JSON.
		{"json syntax", manifestfile.JSONName, "{\n  \"name\": \"echo\",\n  \"version\": 1.0.0\n}", clawerr.ManifestInvalid,
			"clawd-plugin.json:3: invalid JSON: invalid character '.' after object key:value pair"},
		{"json not an object", manifestfile.JSONName, "[1]", clawerr.ManifestInvalid,
			"clawd-plugin.json:1: want a JSON object, got an array"},
		{"json capability unknown", manifestfile.JSONName, "{\n  \"name\": \"echo\",\n  \"version\": \"1\",\n  \"entry\": \"x.so\",\n  \"capabilities\": [\n    \"fs.read\",\n    \"net\"\n  ]\n}", clawerr.CapabilityUnknown,
			"clawd-plugin.json:7: capabilities[1]: unknown capability \"net\" " + knownCaps},
		{"json memory limit not a number", manifestfile.JSONName, `{"name":"echo","version":"1","runtime":"wasm","entry":"x.wasm","memory_limit_mb":"64"}`, clawerr.ManifestInvalid,
			"clawd-plugin.json:1: memory_limit_mb: want whole MiB from 1 to 4096, got 64"},
		{"json entry escapes", manifestfile.JSONName, "{\"name\":\"echo\",\"version\":\"1\",\n\"entry\":\"../x.so\"}", clawerr.ManifestInvalid,
			"clawd-plugin.json:2: entry: path \"../x.so\" leaves the plugin directory"},
		{"json entry object", manifestfile.JSONName, "{\"name\":\"echo\",\"version\":\"1\",\"entry\":{\"linxu\":\"x.so\"}}", clawerr.ManifestInvalid,
			"clawd-plugin.json:1: entry.linxu: unknown GOOS \"linxu\" (known: aix, android, darwin, dragonfly, freebsd, hurd, illumos, ios, js, linux, netbsd, openbsd, plan9, solaris, wasip1, windows, zos)"},
		{"json entry array", manifestfile.JSONName, "{\"name\":\"echo\",\"version\":\"1\",\"entry\":[]}", clawerr.ManifestInvalid,
			"clawd-plugin.json:1: entry: want a path or a table of GOOS = path, got an array"},
		{"json name null", manifestfile.JSONName, "{\"name\":null,\"version\":\"1\",\"entry\":\"x.so\"}", clawerr.ManifestInvalid,
			"clawd-plugin.json:1: name: missing (required)"},
		{"json concurrent", manifestfile.JSONName, "{\"name\":\"echo\",\"version\":\"1\",\"entry\":\"x.so\",\"concurrent\":{}}", clawerr.ManifestInvalid,
			"clawd-plugin.json:1: concurrent: want a boolean, got an object"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := writeManifest(t, c.file, c.content)
			m, err := manifest.LoadDir(dir)
			assert.Nil(t, m)
			ce := clawErr(t, err, c.code)
			assert.Equal(t, c.detail, ce.Detail)
			assert.Equal(t, dir, ce.Plugin)
			assert.Equal(t, "manifest", ce.Op)
		})
	}
}

func TestFind(t *testing.T) {
	both := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(both, manifestfile.JSONName), []byte("{}"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(both, manifestfile.TOMLName), []byte(""), 0o644))
	p, err := manifest.Find(both)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(both, manifestfile.TOMLName), p, "plugin.toml is preferred")

	jsonOnly := writeManifest(t, manifestfile.JSONName, "{}")
	p, err = manifest.Find(jsonOnly)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(jsonOnly, manifestfile.JSONName), p)

	empty := t.TempDir()
	_, err = manifest.Find(empty)
	ce := clawErr(t, err, clawerr.ManifestInvalid)
	assert.Equal(t, "no plugin.toml or clawd-plugin.json", ce.Detail)
	assert.Equal(t, empty, ce.Plugin)

	_, err = manifest.Find(filepath.Join(empty, "missing"))
	clawErr(t, err, clawerr.ManifestInvalid)
	assert.ErrorIs(t, err, os.ErrNotExist)

	_, err = manifest.LoadDir(empty)
	clawErr(t, err, clawerr.ManifestInvalid)

	odd := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(odd, manifestfile.TOMLName), 0o755))
	_, err = manifest.Find(odd)
	ce = clawErr(t, err, clawerr.ManifestInvalid)
	assert.Equal(t, "plugin.toml: not a regular file", ce.Detail)
}

func TestLoadMissingFile(t *testing.T) {
	_, err := manifest.Load(filepath.Join(t.TempDir(), manifestfile.TOMLName))
	clawErr(t, err, clawerr.ManifestInvalid)
	assert.ErrorIs(t, err, os.ErrNotExist)
}

func TestLoadUnknownExtension(t *testing.T) {
	dir := writeManifest(t, "plugin.yaml", "name: x")
	_, err := manifest.Load(filepath.Join(dir, "plugin.yaml"))
	ce := clawErr(t, err, clawerr.ManifestInvalid)
	assert.Equal(t, "plugin.yaml: unknown manifest format (want plugin.toml or clawd-plugin.json)", ce.Detail)
}

func TestLoadTooLarge(t *testing.T) {
	dir := writeManifest(t, manifestfile.TOMLName, "# "+strings.Repeat("x", 1<<20)+"\n")
	_, err := manifest.LoadDir(dir)
	ce := clawErr(t, err, clawerr.ManifestInvalid)
	assert.Contains(t, ce.Error(), "larger than 1048576 bytes")
}

// A byte order mark at the start is accepted in both formats.
func TestLoadBOM(t *testing.T) {
	for file, content := range map[string]string{
		manifestfile.TOMLName: "\uFEFFname = \"x\"\nversion = \"1\"\nentry = \"x.so\"\n",
		manifestfile.JSONName: "\uFEFF{\"name\":\"x\",\"version\":\"1\",\"entry\":\"x.so\"}",
	} {
		m, err := manifest.LoadDir(writeManifest(t, file, content))
		require.NoError(t, err, file)
		assert.Equal(t, "x", m.Name)
	}
}

// runtime = "wasm" loads, in both formats, with its memory cap.
func TestRuntimeWasm(t *testing.T) {
	for _, tc := range []struct{ file, src string }{
		{manifestfile.TOMLName, "name = \"echo\"\nversion = \"1.0.0\"\nruntime = \"wasm\"\nentry = \"echo.wasm\"\nmemory_limit_mb = 64\n"},
		{manifestfile.JSONName, `{"name":"echo","version":"1.0.0","runtime":"wasm","entry":"echo.wasm","memory_limit_mb":64}`},
	} {
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, tc.file), []byte(tc.src), 0o644))
		m, err := manifest.Load(filepath.Join(dir, tc.file))
		require.NoError(t, err, tc.file)
		assert.Equal(t, manifest.RuntimeWasm, m.Runtime, tc.file)
		assert.Equal(t, 64, m.MemoryLimitMB, tc.file)
		assert.Equal(t, "echo.wasm", m.Entry, tc.file)
	}
}
