package manifest

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/BurntSushi/toml"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/manifestfile"
)

// File names Find looks for, in order of preference.
const (
	tomlName = manifestfile.TOMLName
	jsonName = manifestfile.JSONName
)

// Runtime is how a plugin's entry is run.
type Runtime string

const (
	RuntimeDylib Runtime = "dylib" // a native shared library, opened in process
	RuntimeWasm  Runtime = "wasm"  // a WebAssembly module, run by package wasm
)

// Sandbox is where a plugin runs.
type Sandbox string

const (
	SandboxNative  Sandbox = "native"  // in the host's process: fastest, a crash takes the host down
	SandboxProcess Sandbox = "process" // in a child process (package isolate): a crash or a hang is contained
	// SandboxWasm is what a host reports for a wasm plugin, whatever its
	// manifest says: a WebAssembly guest (package wasm) is sandboxed by
	// construction. A manifest cannot ask for it by name.
	SandboxWasm Sandbox = "wasm"
)

// Manifest is a parsed, validated plugin manifest.
type Manifest struct {
	Path        string // the manifest file, absolute
	Dir         string // its directory, absolute
	Format      string // "toml" or "json"
	Name        string
	Version     string
	Description string
	Author      string
	Runtime     Runtime
	Entry       string            // the entry for this OS as written (relative to Dir)
	Entries     map[string]string // per-platform entries as written, keyed by GOOS or GOOS_GOARCH; nil if one entry
	EntryKey    string            // the key of Entries that Entry is ("" if one entry)
	// Files are the extra files the plugin ships besides its manifest and
	// entries (files), relative to Dir, as written: what a package of it
	// holds. nil if none.
	Files        []string
	Capabilities []abi.Capability
	// Signature is the signature of this system's entry (Entry): base64
	// Ed25519 over its bytes; "" = unsigned. It is the top-level
	// signature of a single-entry manifest (the reference daemon's
	// meaning), or Signatures[EntryKey] of an entry table.
	Signature string
	// Signatures are the per-entry signatures of an entry table as
	// written ([signatures], keyed as Entries): each over its own entry's
	// bytes, so every platform's entry is signed, each where it is built.
	// nil if the manifest has none: a manifest written before them, whose
	// one signature covers only the entry of the system that signed it.
	Signatures map[string]string
	SHA256     string  // lowercase hex pin of the entry's bytes; "" = none
	Sandbox    Sandbox // default native
	Concurrent bool
	// CallTimeout is the longest one call may take in the process sandbox
	// (call_timeout_ms); past it the child is killed. 0: no limit but the
	// caller's context.
	CallTimeout time.Duration
	// MaxProcesses is the most processes and threads the plugin may run
	// in the process sandbox (max_processes); 0: the host's default.
	MaxProcesses int
	// Env is what the plugin's sandbox environment gets besides the
	// host's allowlist (env), as written: "NAME=VALUE", or "NAME" for the
	// host's value of NAME. Names are unique; nil if none.
	Env []string
	// Hooks are the hook points the plugin asks for (hooks: "tool_call",
	// "message"): the callbacks in which it may give verdicts. nil if none.
	Hooks []clawd.HookPoint
	// MemoryLimitMB caps a wasm plugin's linear memory, in MiB
	// (memory_limit_mb, runtime "wasm" only); 0: the wasm runtime's
	// default (256).
	MemoryLimitMB int
}

// maxMemoryLimitMB bounds memory_limit_mb: wasm32's 4 GiB.
const maxMemoryLimitMB = 4096

// maxCallTimeout bounds call_timeout_ms: one hour.
const maxCallTimeout = time.Hour

// maxProcessesLimit bounds max_processes: the most PIDs Linux allows.
const maxProcessesLimit = 1 << 22

// maxManifestSize bounds what Load reads: a manifest is a few hundred bytes,
// and a huge file is a mistake (or a pointer to the wrong file).
const maxManifestSize = 1 << 20

// maxNameLen is the longest plugin name a manifest may give, in bytes.
const maxNameLen = manifestfile.MaxNameLen

// Find returns the absolute path of the manifest in dir: plugin.toml if it
// exists, else clawd-plugin.json. With neither, the error is a
// *clawerr.Error with code manifest_invalid.
func Find(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", clawerr.New(clawerr.ManifestInvalid, dir, "manifest", "", err)
	}
	for _, name := range []string{tomlName, jsonName} {
		p := filepath.Join(abs, name)
		st, err := os.Stat(p)
		switch {
		case errors.Is(err, os.ErrNotExist):
			continue
		case err != nil:
			return "", clawerr.New(clawerr.ManifestInvalid, abs, "manifest", name, err)
		case !st.Mode().IsRegular():
			return "", clawerr.New(clawerr.ManifestInvalid, abs, "manifest", name+": not a regular file", nil)
		}
		return p, nil
	}
	if st, err := os.Stat(abs); err != nil {
		return "", clawerr.New(clawerr.ManifestInvalid, abs, "manifest", "cannot read the plugin directory", err)
	} else if !st.IsDir() {
		return "", clawerr.New(clawerr.ManifestInvalid, abs, "manifest", "not a directory", nil)
	}
	return "", clawerr.New(clawerr.ManifestInvalid, abs, "manifest", "no "+tomlName+" or "+jsonName, nil)
}

// LoadDir loads the manifest Find finds in dir.
func LoadDir(dir string) (*Manifest, error) {
	p, err := Find(dir)
	if err != nil {
		return nil, err
	}
	return Load(p)
}

// Load reads, parses and validates the manifest at path. The format follows
// the extension: .toml or .json. See the package doc for the errors.
func Load(path string) (*Manifest, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, clawerr.New(clawerr.ManifestInvalid, path, "manifest", "", err)
	}
	src, err := readLimited(abs)
	if err != nil {
		return nil, clawerr.New(clawerr.ManifestInvalid, filepath.Dir(abs), "manifest",
			filepath.Base(abs)+": cannot read", err)
	}
	return parse(abs, src)
}

func readLimited(path string) ([]byte, error) {
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
	src, err := io.ReadAll(io.LimitReader(f, maxManifestSize+1))
	if err != nil {
		return nil, err
	}
	if len(src) > maxManifestSize {
		return nil, fmt.Errorf("larger than %d bytes", maxManifestSize)
	}
	return src, nil
}

// EntryPath returns the absolute path of the entry for runtime.GOOS.
func (m *Manifest) EntryPath() string {
	return filepath.Join(m.Dir, filepath.FromSlash(m.Entry))
}

// parse parses src, the content of the manifest at the absolute path abs.
func parse(abs string, src []byte) (*Manifest, error) {
	c := &checker{file: filepath.Base(abs), plugin: filepath.Dir(abs)}
	m := &Manifest{Path: abs, Dir: filepath.Dir(abs)}
	// Editors on Windows like to start UTF-8 files with a byte order mark;
	// neither decoder accepts one.
	src = bytes.TrimPrefix(src, []byte("\uFEFF"))
	if !utf8.Valid(src) {
		bad := 0
		for bad < len(src) {
			r, n := utf8.DecodeRune(src[bad:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			bad += n
		}
		c.line = func(string) int { return lineAt(src, bad) }
		return nil, c.fail(clawerr.ManifestInvalid, "", "not valid UTF-8")
	}
	var (
		vals map[string]any
		err  error
	)
	switch strings.ToLower(filepath.Ext(abs)) {
	case ".toml":
		m.Format = "toml"
		vals, err = c.decodeTOML(src)
	case ".json":
		m.Format = "json"
		c.json = true
		vals, err = c.decodeJSON(src)
	default:
		return nil, c.fail(clawerr.ManifestInvalid, "", "unknown manifest format (want "+tomlName+" or "+jsonName+")")
	}
	if err != nil {
		return nil, err
	}
	if err := c.validate(vals, m); err != nil {
		return nil, err
	}
	return m, nil
}

// checker turns validation failures into errors that name the file, the
// line and the field.
type checker struct {
	file   string                 // base name, for messages
	plugin string                 // the plugin directory, for clawerr.Error.Plugin
	line   func(field string) int // 0 when unknown
	json   bool
}

func (c *checker) fail(code clawerr.Code, field, format string, args ...any) *clawerr.Error {
	var b strings.Builder
	b.WriteString(c.file)
	if c.line != nil {
		if n := c.line(field); n > 0 {
			fmt.Fprintf(&b, ":%d", n)
		}
	}
	b.WriteString(": ")
	if field != "" {
		b.WriteString(field)
		b.WriteString(": ")
	}
	fmt.Fprintf(&b, format, args...)
	return clawerr.New(code, c.plugin, "manifest", b.String(), nil)
}

// tomlFields receives the known keys. Every field is untyped so that a wrong
// type is reported by validate, with the same words for both formats.
type tomlFields struct {
	Name         any `toml:"name"`
	Version      any `toml:"version"`
	Description  any `toml:"description"`
	Author       any `toml:"author"`
	Runtime      any `toml:"runtime"`
	Entry        any `toml:"entry"`
	Capabilities any `toml:"capabilities"`
	Signature    any `toml:"signature"`
	Signatures   any `toml:"signatures"`
	SHA256       any `toml:"sha256"`
	Sandbox      any `toml:"sandbox"`
	Concurrent   any `toml:"concurrent"`
	CallTimeout  any `toml:"call_timeout_ms"`
	MaxProcesses any `toml:"max_processes"`
	Env          any `toml:"env"`
	Hooks        any `toml:"hooks"`
	MemoryLimit  any `toml:"memory_limit_mb"`
	Files        any `toml:"files"`
}

// knownFields are the manifest's fields, in the order they are checked.
var knownFields = []string{"name", "version", "description", "author", "runtime", "entry",
	"capabilities", "signature", "signatures", "sha256", "sandbox", "concurrent", "call_timeout_ms",
	"max_processes", "memory_limit_mb", "env", "hooks", "files"}

func (c *checker) decodeTOML(src []byte) (map[string]any, error) {
	var f tomlFields
	md, err := toml.Decode(string(src), &f)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			c.line = func(string) int { return pe.Position.Line }
			return nil, c.fail(clawerr.ManifestInvalid, "", "invalid TOML: %s", pe.Message)
		}
		return nil, c.fail(clawerr.ManifestInvalid, "", "invalid TOML: %v", err)
	}
	idx := indexTOML(src)
	c.line = func(field string) int { return idx[field].line }

	// Undecoded catches unknown keys (keys under a known field, such as the
	// [entry] table, are checked by validate); the exact-case check catches
	// "Name", which the decoder matches to name case-insensitively.
	for _, k := range md.Undecoded() {
		if slices.Contains(knownFields, k[0]) {
			continue
		}
		return nil, c.fail(clawerr.ManifestInvalid, tomlField(k), "unknown field (known: %s)", strings.Join(knownFields, ", "))
	}
	for _, k := range md.Keys() {
		if !slices.Contains(knownFields, k[0]) {
			return nil, c.fail(clawerr.ManifestInvalid, tomlField(k[:1]), "unknown field (known: %s)", strings.Join(knownFields, ", "))
		}
	}
	vals := map[string]any{}
	for k, v := range map[string]any{
		"name": f.Name, "version": f.Version, "description": f.Description, "author": f.Author,
		"runtime": f.Runtime, "entry": f.Entry, "capabilities": f.Capabilities, "signature": f.Signature, "signatures": f.Signatures,
		"sha256": f.SHA256, "sandbox": f.Sandbox, "concurrent": f.Concurrent,
		"call_timeout_ms": f.CallTimeout, "max_processes": f.MaxProcesses, "env": f.Env, "hooks": f.Hooks,
		"memory_limit_mb": f.MemoryLimit, "files": f.Files,
	} {
		if md.IsDefined(k) {
			vals[k] = v
		}
	}
	return vals, nil
}

// tomlField renders a TOML key the way messages and the position index name
// it: pieces joined by dots.
func tomlField(k toml.Key) string { return strings.Join(k, ".") }

func (c *checker) decodeJSON(src []byte) (map[string]any, error) {
	var v any
	if err := json.Unmarshal(src, &v); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			c.line = func(string) int { return lineAt(src, int(se.Offset)) }
		}
		return nil, c.fail(clawerr.ManifestInvalid, "", "invalid JSON: %v", err)
	}
	if d := findDupJSON(src); d != nil { // json.Unmarshal keeps the last, silently
		return nil, c.dupError(src, d)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		c.line = func(string) int { return 1 }
		return nil, c.fail(clawerr.ManifestInvalid, "", "want a JSON object, got %s", c.typeName(v))
	}
	idx := indexJSON(src)
	c.line = func(field string) int { return idx[field] }
	vals := map[string]any{}
	for _, k := range knownFields {
		if v, ok := obj[k]; ok && v != nil {
			vals[k] = v
		}
	}
	return vals, nil
}

// validate checks the decoded fields and fills m.
func (c *checker) validate(vals map[string]any, m *Manifest) error {
	str := func(field string, required bool) (string, error) {
		v, ok := vals[field]
		if !ok {
			if required {
				return "", c.fail(clawerr.ManifestInvalid, field, "missing (required)")
			}
			return "", nil
		}
		s, ok := v.(string)
		if !ok {
			return "", c.fail(clawerr.ManifestInvalid, field, "want a string, got %s", c.typeName(v))
		}
		if required && strings.TrimSpace(s) == "" {
			return "", c.fail(clawerr.ManifestInvalid, field, "empty (required)")
		}
		return s, nil
	}
	var err error
	if m.Name, err = str("name", true); err != nil {
		return err
	}
	if len(m.Name) > maxNameLen {
		return c.fail(clawerr.ManifestInvalid, "name", "%d bytes long, at most %d allowed", len(m.Name), maxNameLen)
	}
	if strings.ContainsFunc(m.Name, isControl) {
		return c.fail(clawerr.ManifestInvalid, "name", "contains a control character")
	}
	if m.Version, err = str("version", true); err != nil {
		return err
	}
	if m.Description, err = str("description", false); err != nil {
		return err
	}
	if m.Author, err = str("author", false); err != nil {
		return err
	}

	// choice reads an optional enumerated field: absent means def, given
	// but empty is an error.
	choice := func(field, def string) (string, error) {
		v, err := str(field, false)
		if err != nil {
			return "", err
		}
		if v == "" {
			if _, given := vals[field]; given {
				return "", c.fail(clawerr.ManifestInvalid, field, "empty (want %q, or leave it out)", def)
			}
			return def, nil
		}
		return v, nil
	}

	rt, err := choice("runtime", string(RuntimeDylib))
	if err != nil {
		return err
	}
	switch Runtime(rt) {
	case RuntimeDylib, RuntimeWasm:
	default:
		return c.fail(clawerr.ManifestInvalid, "runtime", "unknown runtime %q (want %q or %q)", rt, RuntimeDylib, RuntimeWasm)
	}
	m.Runtime = Runtime(rt)

	if err := c.entry(vals, m); err != nil {
		return err
	}
	if err := c.capabilities(vals, m); err != nil {
		return err
	}
	if err := c.hooks(vals, m); err != nil {
		return err
	}

	if m.Signature, err = str("signature", false); err != nil {
		return err
	}
	m.Signature = strings.TrimSpace(m.Signature)
	if err := c.signatures(vals, m); err != nil {
		return err
	}
	if m.SHA256, err = str("sha256", false); err != nil {
		return err
	}
	if _, given := vals["sha256"]; given {
		if b, err := hex.DecodeString(m.SHA256); err != nil || len(b) != 32 {
			return c.fail(clawerr.ManifestInvalid, "sha256", "want 64 hexadecimal digits, got %q", m.SHA256)
		}
		m.SHA256 = strings.ToLower(m.SHA256)
	}

	sb, err := choice("sandbox", string(SandboxNative))
	if err != nil {
		return err
	}
	switch Sandbox(sb) {
	case SandboxNative, SandboxProcess:
	default:
		return c.fail(clawerr.ManifestInvalid, "sandbox", "unknown sandbox %q (want %q or %q)", sb, SandboxNative, SandboxProcess)
	}
	m.Sandbox = Sandbox(sb)

	if v, ok := vals["call_timeout_ms"]; ok {
		ms, ok := wholeNumber(v)
		if !ok || ms < 1 || ms > maxCallTimeout.Milliseconds() {
			return c.fail(clawerr.ManifestInvalid, "call_timeout_ms", "want whole milliseconds from 1 to %d, got %v", maxCallTimeout.Milliseconds(), v)
		}
		m.CallTimeout = time.Duration(ms) * time.Millisecond
	}

	if v, ok := vals["concurrent"]; ok {
		b, ok := v.(bool)
		if !ok {
			return c.fail(clawerr.ManifestInvalid, "concurrent", "want a boolean, got %s", c.typeName(v))
		}
		m.Concurrent = b
	}

	if v, ok := vals["max_processes"]; ok {
		n, ok := wholeNumber(v)
		if !ok || n < 0 || n > maxProcessesLimit {
			return c.fail(clawerr.ManifestInvalid, "max_processes", "want a whole number from 1 to %d (or 0 or nothing for the host's default), got %v", maxProcessesLimit, v)
		}
		m.MaxProcesses = int(n)
	}

	if v, ok := vals["memory_limit_mb"]; ok {
		n, ok := wholeNumber(v)
		if !ok || n < 1 || n > maxMemoryLimitMB {
			return c.fail(clawerr.ManifestInvalid, "memory_limit_mb", "want whole MiB from 1 to %d, got %v", maxMemoryLimitMB, v)
		}
		if m.Runtime != RuntimeWasm {
			return c.fail(clawerr.ManifestInvalid, "memory_limit_mb", "applies to runtime %q only (this manifest says %q)", RuntimeWasm, m.Runtime)
		}
		m.MemoryLimitMB = int(n)
	}
	if err := c.env(vals, m); err != nil {
		return err
	}
	return c.files(vals, m)
}

// files checks the files field: paths of regular files inside the plugin
// directory, each once, checked as entry paths are.
func (c *checker) files(vals map[string]any, m *Manifest) error {
	v, ok := vals["files"]
	if !ok {
		return nil
	}
	list, ok := v.([]any)
	if !ok {
		return c.fail(clawerr.ManifestInvalid, "files", "want an array of paths, got %s", c.typeName(v))
	}
	for i, e := range list {
		field := fmt.Sprintf("files[%d]", i)
		s, ok := e.(string)
		if !ok {
			return c.fail(clawerr.ManifestInvalid, field, "want a string, got %s", c.typeName(e))
		}
		if err := c.entryPath(field, s); err != nil {
			return err
		}
		if j := slices.Index(m.Files, s); j >= 0 {
			return c.fail(clawerr.ManifestInvalid, field, "%q repeated (first at files[%d])", s, j)
		}
		m.Files = append(m.Files, s)
	}
	return nil
}

// env checks the env field: NAME=VALUE or NAME, each name once. A value
// may hold anything but NUL, which no environment can carry.
func (c *checker) env(vals map[string]any, m *Manifest) error {
	v, ok := vals["env"]
	if !ok {
		return nil
	}
	list, ok := v.([]any)
	if !ok {
		return c.fail(clawerr.ManifestInvalid, "env", "want an array of strings \"NAME=VALUE\" or \"NAME\", got %s", c.typeName(v))
	}
	seen := map[string]int{}
	for i, e := range list {
		field := fmt.Sprintf("env[%d]", i)
		s, ok := e.(string)
		if !ok {
			return c.fail(clawerr.ManifestInvalid, field, "want a string \"NAME=VALUE\" or \"NAME\", got %s", c.typeName(e))
		}
		name, value, _ := strings.Cut(s, "=")
		if !validEnvName(name) {
			return c.fail(clawerr.ManifestInvalid, field, "%q: the name %q is not an environment variable name (letters, digits and _, not starting with a digit)", s, name)
		}
		if strings.ContainsRune(value, 0) {
			return c.fail(clawerr.ManifestInvalid, field, "the value of %s contains a NUL byte", name)
		}
		if j, dup := seen[name]; dup {
			return c.fail(clawerr.ManifestInvalid, field, "%s given twice (first at env[%d])", name, j)
		}
		seen[name] = i
		m.Env = append(m.Env, s)
	}
	return nil
}

func validEnvName(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !(b == '_' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9') {
			return false
		}
	}
	return true
}

// wholeNumber accepts an integer as TOML (int64) or JSON (float64) gives it.
func wholeNumber(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case float64:
		if n == math.Trunc(n) && math.Abs(n) < 1<<53 {
			return int64(n), true
		}
	}
	return 0, false
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// goosNames are the GOOS values an entry table may name (go tool dist list);
// anything else is a typo that would otherwise surface only on that OS.
var goosNames = []string{"aix", "android", "darwin", "dragonfly", "freebsd", "hurd", "illumos", "ios",
	"js", "linux", "netbsd", "openbsd", "plan9", "solaris", "wasip1", "windows", "zos"}

// goosFallback is the entry an OS uses when the table does not name it: Go
// builds for these with the other's build tag, and their libraries are the
// other's.
var goosFallback = map[string]string{"android": "linux", "ios": "darwin", "illumos": "solaris"}

// goarchNames are the GOARCH values an entry table key may name after
// its GOOS (go tool dist list).
var goarchNames = []string{"386", "amd64", "arm", "arm64", "loong64", "mips", "mips64", "mips64le", "mipsle",
	"ppc64", "ppc64le", "riscv64", "s390x", "wasm"}

// entryFor picks the entry of an entry table for goos/goarch: the key
// GOOS_GOARCH first, then GOOS, then the same two for the OS goos borrows
// its libraries from (android: linux, ios: darwin, illumos: solaris).
func entryFor(entries map[string]string, goos, goarch string) (string, bool) {
	k, ok := entryKeyFor(entries, goos, goarch)
	return entries[k], ok
}

// entryKeyFor is entryFor's key: the entry table key goos/goarch uses.
func entryKeyFor(entries map[string]string, goos, goarch string) (string, bool) {
	for _, os := range []string{goos, goosFallback[goos]} {
		if os == "" {
			continue
		}
		if _, ok := entries[os+"_"+goarch]; ok {
			return os + "_" + goarch, true
		}
		if _, ok := entries[os]; ok {
			return os, true
		}
	}
	return "", false
}

// signatures reads the per-entry signatures: a table keyed as the entry
// table, only beside one, and not together with a top-level signature
// (which of the two would count is then a guess).
func (c *checker) signatures(vals map[string]any, m *Manifest) error {
	v, ok := vals["signatures"]
	if !ok {
		return nil
	}
	t, ok := v.(map[string]any)
	if !ok {
		return c.fail(clawerr.ManifestInvalid, "signatures", "want a table of entry key = signature, got %s", c.typeName(v))
	}
	if m.Entries == nil {
		return c.fail(clawerr.ManifestInvalid, "signatures", "signs the entries of an entry table; a single entry has one signature: use signature = \"...\" instead")
	}
	if m.Signature != "" { // the top-level one, so far
		return c.fail(clawerr.ManifestInvalid, "signature", "given together with a signatures table: an entry table is signed per entry; remove signature (clawd-plugin sign writes the table)")
	}
	m.Signatures = make(map[string]string, len(t))
	for k, sv := range t {
		field := "signatures." + k
		if _, ok := m.Entries[k]; !ok {
			keys := make([]string, 0, len(m.Entries))
			for ek := range m.Entries {
				keys = append(keys, ek)
			}
			sort.Strings(keys)
			return c.fail(clawerr.ManifestInvalid, field, "no entry.%s to sign (entries: %s)", k, strings.Join(keys, ", "))
		}
		str, ok := sv.(string)
		if !ok {
			return c.fail(clawerr.ManifestInvalid, field, "want a string, got %s", c.typeName(sv))
		}
		m.Signatures[k] = strings.TrimSpace(str)
	}
	m.Signature = m.Signatures[m.EntryKey]
	return nil
}

func (c *checker) entry(vals map[string]any, m *Manifest) error {
	v, ok := vals["entry"]
	if !ok {
		return c.fail(clawerr.ManifestInvalid, "entry", "missing (required)")
	}
	switch e := v.(type) {
	case string:
		if err := c.entryPath("entry", e); err != nil {
			return err
		}
		m.Entry = e
		return nil
	case map[string]any:
		if len(e) == 0 {
			return c.fail(clawerr.ManifestInvalid, "entry", "empty table (want GOOS = path pairs)")
		}
		keys := make([]string, 0, len(e))
		for k := range e {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		m.Entries = make(map[string]string, len(e))
		for _, goos := range keys {
			field := "entry." + goos
			os, arch, hasArch := strings.Cut(goos, "_")
			if !slices.Contains(goosNames, os) {
				return c.fail(clawerr.ManifestInvalid, field, "unknown GOOS %q (known: %s)", os, strings.Join(goosNames, ", "))
			}
			if hasArch && !slices.Contains(goarchNames, arch) {
				return c.fail(clawerr.ManifestInvalid, field, "unknown GOARCH %q (known: %s)", arch, strings.Join(goarchNames, ", "))
			}
			p, ok := e[goos].(string)
			if !ok {
				return c.fail(clawerr.ManifestInvalid, field, "want a string, got %s", c.typeName(e[goos]))
			}
			if err := c.entryPath(field, p); err != nil {
				return err
			}
			m.Entries[goos] = p
		}
		k, ok := entryKeyFor(m.Entries, runtime.GOOS, runtime.GOARCH)
		if !ok {
			return c.fail(clawerr.ManifestInvalid, "entry", "no entry for %s/%s (entries for: %s)", runtime.GOOS, runtime.GOARCH, strings.Join(keys, ", "))
		}
		m.Entry, m.EntryKey = m.Entries[k], k
		return nil
	}
	return c.fail(clawerr.ManifestInvalid, "entry", "want a path or a table of GOOS = path, got %s", c.typeName(v))
}

// entryPath refuses paths that leave the plugin directory. Both separators
// count on every OS, because a manifest written on one OS is read on others.
func (c *checker) entryPath(field, p string) error {
	switch {
	case strings.TrimSpace(p) == "":
		return c.fail(clawerr.ManifestInvalid, field, "empty path")
	case strings.ContainsFunc(p, isControl):
		return c.fail(clawerr.ManifestInvalid, field, "path %q contains a control character", p)
	case p[0] == '/' || p[0] == '\\' || filepath.IsAbs(p) || (len(p) >= 2 && p[1] == ':' && isLetter(p[0])):
		return c.fail(clawerr.ManifestInvalid, field, "path %q is absolute (want a path relative to the manifest)", p)
	case strings.HasSuffix(p, "/") || strings.HasSuffix(p, "\\"):
		return c.fail(clawerr.ManifestInvalid, field, "path %q names a directory, not a library", p)
	}
	for _, part := range strings.FieldsFunc(p, func(r rune) bool { return r == '/' || r == '\\' }) {
		if part == ".." {
			return c.fail(clawerr.ManifestInvalid, field, "path %q leaves the plugin directory", p)
		}
	}
	if filepath.Clean(filepath.FromSlash(p)) == "." {
		return c.fail(clawerr.ManifestInvalid, field, "path %q names the plugin directory, not a library", p)
	}
	return nil
}

func isLetter(b byte) bool { return b|0x20 >= 'a' && b|0x20 <= 'z' }

func (c *checker) capabilities(vals map[string]any, m *Manifest) error {
	v, ok := vals["capabilities"]
	if !ok {
		return nil
	}
	list, ok := v.([]any)
	if !ok {
		return c.fail(clawerr.ManifestInvalid, "capabilities", "want an array of strings, got %s", c.typeName(v))
	}
	known := make([]string, len(abi.Capabilities))
	for i, k := range abi.Capabilities {
		known[i] = string(k)
	}
	m.Capabilities = make([]abi.Capability, 0, len(list))
	for i, e := range list {
		field := fmt.Sprintf("capabilities[%d]", i)
		s, ok := e.(string)
		if !ok {
			return c.fail(clawerr.ManifestInvalid, field, "want a string, got %s", c.typeName(e))
		}
		capab := abi.Capability(s)
		if !capab.Known() {
			return c.fail(clawerr.CapabilityUnknown, field, "unknown capability %q (known: %s)", s, strings.Join(known, ", "))
		}
		if j := slices.Index(m.Capabilities, capab); j >= 0 {
			return c.fail(clawerr.ManifestInvalid, field, "capability %q repeated (first at capabilities[%d])", s, j)
		}
		m.Capabilities = append(m.Capabilities, capab)
	}
	return nil
}

// typeName names a decoded value's type in words a manifest author knows.
func (c *checker) typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case int64, float64, json.Number:
		return "a number"
	case []any, []map[string]any:
		return "an array"
	case map[string]any:
		if c.json {
			return "an object"
		}
		return "a table"
	case time.Time:
		return "a date or time"
	}
	return fmt.Sprintf("%T", v)
}

// lineAt returns the 1-based line holding byte offset off of src.
func lineAt(src []byte, off int) int {
	off = min(max(off, 0), len(src))
	return bytes.Count(src[:off], []byte("\n")) + 1
}

// Placement says where a host runs m's plugin: the runtime that opens it
// (clawd.RuntimeNative, RuntimeProcess or RuntimeWasm, the names it
// registers under) and the sandbox the host reports. A WebAssembly module
// runs in the wasm runtime whatever sandbox was asked: it is sandboxed by
// construction. A shared library runs in the process sandbox when the
// manifest or the host (hostSandbox, "" for no preference) asks for it,
// else in the host's process: a host never moves a plugin whose manifest
// asks for the sandbox back into its own process. Every part of this
// module that places a plugin (the host, the installer's trial, inspect,
// the conformance suite) asks here.
func (m *Manifest) Placement(hostSandbox Sandbox) (runtime string, sandbox Sandbox, err error) {
	switch m.Runtime {
	case RuntimeWasm:
		return clawd.RuntimeWasm, SandboxWasm, nil
	case "", RuntimeDylib:
		if hostSandbox == SandboxProcess || m.Sandbox == SandboxProcess {
			return clawd.RuntimeProcess, SandboxProcess, nil
		}
		return clawd.RuntimeNative, SandboxNative, nil
	}
	return "", "", clawerr.New(clawerr.RuntimeUnsupported, m.Name, "load", fmt.Sprintf("runtime %q", m.Runtime), nil)
}
