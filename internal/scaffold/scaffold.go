// Package scaffold writes a new plugin project: what `clawd-plugin new`
// does. A project is a plugin in C, C++, Rust or Zig that builds as
// written with its language's usual tool (make, cargo), a plugin.toml whose
// entry is what that build writes, a README with the build, check, run and
// sign commands, and the ABI's declarations (clawd_plugin.h, or
// clawd_plugin.rs for Rust) copied from package include, so the project
// needs nothing from this repository.
//
// The templates are embedded (templates/), rendered with text/template
// using [[ and ]] as delimiters: C, Rust and Zig sources are full of {{.
//
// Names: lowercase ASCII letters, digits, '-' and '_', starting with a
// letter, at most 64 bytes: a name that is also a valid file name, crate
// name and (with '-' turned into '_') C identifier. The library is
// lib<ident>.so, where ident is the name with '-' turned into '_'.
package scaffold

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"text/template"

	"github.com/clawd-go/clawd/include"
)

//go:embed all:templates
var templates embed.FS

// Langs are the languages a project can be written in.
var Langs = []string{"c", "cpp", "rust", "zig"}

// Targets are what a project can build: a native shared library (the
// default), or a WebAssembly module for the wasm runtime (a reactor
// module built with Zig's toolchain, manifest runtime = "wasm").
var Targets = []string{"native", "wasm"}

// ErrTarget is wrapped by the errors of ValidTarget.
var ErrTarget = errors.New("invalid target")

// ValidTarget returns nil if a project in lang can build target, or an
// error that wraps ErrTarget and says why.
func ValidTarget(lang, target string) error {
	switch {
	case !slices.Contains(Targets, target):
		return fmt.Errorf("%w: unknown target %q (want one of %s)", ErrTarget, target, strings.Join(Targets, ", "))
	case target == "wasm" && lang == "rust":
		return fmt.Errorf("%w: rust with --target wasm: the Rust route to a WASM plugin (cargo build --target wasm32-wasip1, linking include/clawd_plugin_wasm.c) is documented in the guide's WebAssembly section, not scaffolded: that target needs rustup, which the project's CI does not install, so a scaffold could not be tested; scaffold C, C++ or Zig for WASM, or Rust for native", ErrTarget)
	}
	return nil
}

// Version is the version a new plugin starts at.
const Version = "0.1.0"

// ZigVersion is the Zig release the Zig template is written for (Zig's
// language and standard library still change between releases); .ci/run
// installs the same one.
const ZigVersion = "0.17.1"

// ErrName is wrapped by the errors of ValidName.
var ErrName = errors.New("invalid plugin name")

// ErrNotEmpty is returned by Write for a directory that holds files.
var ErrNotEmpty = errors.New("directory is not empty")

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)

// MaxNameLen is the longest name New accepts, in bytes.
const MaxNameLen = 64

// rustReserved are names cargo refuses for a package or a library: Rust's
// keywords and the crates of its standard library.
var rustReserved = []string{
	"as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern",
	"false", "fn", "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub",
	"ref", "return", "self", "static", "struct", "super", "trait", "true", "type", "unsafe", "use",
	"where", "while", "abstract", "become", "box", "do", "final", "gen", "macro", "override", "priv",
	"try", "typeof", "unsized", "virtual", "yield",
	"alloc", "core", "proc_macro", "std", "test",
}

// ValidName returns nil if name can name a plugin in lang, or an error that
// wraps ErrName and says why.
func ValidName(lang, name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty", ErrName)
	case len(name) > MaxNameLen:
		return fmt.Errorf("%w: %q is %d bytes long, at most %d allowed", ErrName, name, len(name), MaxNameLen)
	case !nameRE.MatchString(name):
		return fmt.Errorf("%w: %q: use lowercase letters, digits, '-' and '_', starting with a letter", ErrName, name)
	case lang == "rust" && slices.Contains(rustReserved, Ident(name)):
		return fmt.Errorf("%w: %q is reserved in Rust (cargo refuses it as a crate name)", ErrName, name)
	}
	return nil
}

// Ident is name as a C (and Rust, Zig) identifier: '-' becomes '_'.
func Ident(name string) string { return strings.ReplaceAll(name, "-", "_") }

// Project is a project as Write wrote it.
type Project struct {
	Lang  string
	Name  string
	Dir   string   // as given to Write
	Files []string // the files written, relative to Dir, slash-separated
	// Build is the command that builds the library, run in Dir.
	Build []string
	// Library is the path, relative to Dir, of the library Build writes on
	// this OS (plugin.toml's entry for it): the .wasm for target wasm.
	Library string
	Target  string // "native" or "wasm"
}

// lang describes one language's project.
type lang struct {
	name    string               // for humans
	build   []string             // the build command
	entry   func(string) fileMap // ident -> GOOS -> library path
	header  string               // where the ABI declarations go
	headerB []byte
	files   map[string]string // output path -> what it is (README's table)
}

type fileMap = map[string]string

func makeEntries(dir string) func(string) fileMap {
	return func(ident string) fileMap {
		return fileMap{"linux": dir + "/lib" + ident + ".so", "darwin": dir + "/lib" + ident + ".dylib", "windows": dir + "/" + ident + ".dll"}
	}
}

var langs = map[string]*lang{
	"c": {name: "C", build: []string{"make"}, entry: makeEntries("build"),
		header: "clawd_plugin.h", headerB: include.Header,
		files: fileMap{"plugin.c": "the plugin", "Makefile": "its build"}},
	"cpp": {name: "C++", build: []string{"make"}, entry: makeEntries("build"),
		header: "clawd_plugin.h", headerB: include.Header,
		files: fileMap{"plugin.cpp": "the plugin", "Makefile": "its build"}},
	"rust": {name: "Rust", build: []string{"cargo", "build", "--release"},
		entry: func(ident string) fileMap {
			m := makeEntries("target/release")(ident)
			m["windows"] = "target/release/" + ident + ".dll"
			return m
		},
		header: "src/clawd_plugin.rs", headerB: include.RustBindings,
		files: fileMap{"src/lib.rs": "the plugin", "Cargo.toml": "its build (no dependencies)"}},
	"zig": {name: "Zig", build: []string{"make"}, entry: makeEntries("zig-out"),
		header: "clawd_plugin.zig", headerB: include.ZigBindings,
		files: fileMap{"plugin.zig": "the plugin", "Makefile": "its build: zig build-lib, with clawd_plugin.zig as the module clawd_plugin"}},
}

// fileDoc is one row of the README's table of files.
type fileDoc struct{ Path, What string }

// data is what the templates see.
type data struct {
	Lang, LangName       string // "cpp", "C++"
	Name, Ident, Version string
	ZigVersion, BuildCmd string
	Entry                fileMap // GOOS -> library path, as in plugin.toml
	Files                []fileDoc
	WASM                 bool   // target wasm
	Module               string // the .wasm the build writes (target wasm)
}

// wasmGlue is where a wasm project keeps include/clawd_plugin_wasm.c, and
// cHeader the C header the glue includes (which a Zig project, whose own
// declarations are clawd_plugin.zig, gets beside them).
const (
	wasmGlue = "clawd_plugin_wasm.c"
	cHeader  = "clawd_plugin.h"
)

// Write writes a project for a plugin called name, in lang, into dir, that
// builds a native shared library. dir may exist if it is an empty
// directory; Write never overwrites a file.
func Write(langName, name, dir string) (*Project, error) {
	return WriteTarget(langName, "native", name, dir)
}

// WriteTarget is Write for a target of Targets: "wasm" writes a project
// whose Makefile builds a WebAssembly module with Zig's toolchain (C and
// C++ through zig cc / zig c++, Zig through zig build-exe) and whose
// manifest says runtime = "wasm".
func WriteTarget(langName, target, name, dir string) (*Project, error) {
	l, ok := langs[langName]
	if !ok {
		return nil, fmt.Errorf("unknown language %q (want one of %s)", langName, strings.Join(Langs, ", "))
	}
	if err := ValidTarget(langName, target); err != nil {
		return nil, err
	}
	if err := ValidName(langName, name); err != nil {
		return nil, err
	}
	if err := emptyDir(dir); err != nil {
		return nil, err
	}
	ident := Ident(name)
	wasm := target == "wasm"
	d := data{Lang: langName, LangName: l.name, Name: name, Ident: ident, Version: Version,
		ZigVersion: ZigVersion, BuildCmd: strings.Join(l.build, " "), Entry: l.entry(ident), WASM: wasm}
	if wasm {
		out := "build"
		if langName == "zig" {
			out = "zig-out"
		}
		d.Module = out + "/" + ident + ".wasm"
		d.Entry = fileMap{}
	}

	// Render everything before writing anything: a template error leaves
	// no half-written project.
	tmpls, err := templateFiles(langName, target)
	if err != nil {
		return nil, err
	}
	files := append(slices.Collect(maps.Keys(tmpls)), l.header)
	if wasm {
		files = append(files, wasmGlue)
		if l.header != cHeader {
			files = append(files, cHeader)
		}
	}
	slices.Sort(files)
	for _, p := range files {
		what := l.describe(p)
		if wasm && p == "Makefile" {
			what = "its build: the .wasm, with Zig's toolchain"
		}
		d.Files = append(d.Files, fileDoc{p, what})
	}
	out := map[string][]byte{cHeader: include.Header, l.header: l.headerB, wasmGlue: include.WasmGlue}
	for rel, tmpl := range tmpls {
		if out[rel], err = render(tmpl, d); err != nil {
			return nil, err
		}
	}

	for _, p := range files {
		if err := writeNew(filepath.Join(dir, filepath.FromSlash(p)), out[p]); err != nil {
			return nil, err
		}
	}
	lib := libraryFor(d.Entry)
	if wasm {
		lib = d.Module
	}
	return &Project{Lang: langName, Name: name, Dir: dir, Files: files, Build: l.build, Library: lib, Target: target}, nil
}

// templateFiles maps each file of a project in lang to its template: the
// common ones, the language's own, and for target wasm the wasm build of
// the language (templates/wasm/LANG), which replaces the native one's
// files of the same name. A template called _name writes .name:
// a real .gitignore under templates/ would apply to this repository. (The
// embed directive says all: because embed leaves out _ files otherwise.)
func templateFiles(lang, target string) (map[string]string, error) {
	m := map[string]string{}
	roots := []string{"templates/common", "templates/" + lang}
	if target == "wasm" {
		roots = append(roots, "templates/wasm/"+lang)
	}
	for _, root := range roots {
		err := fs.WalkDir(templates, root, func(p string, de fs.DirEntry, err error) error {
			if err != nil || de.IsDir() {
				return err
			}
			rel := strings.TrimSuffix(strings.TrimPrefix(p, root+"/"), ".tmpl")
			if base := path.Base(rel); strings.HasPrefix(base, "_") {
				rel = path.Join(path.Dir(rel), "."+base[1:])
			}
			m[rel] = p
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return m, nil
}

// describe says what file p of a project is, for the README.
func (l *lang) describe(p string) string {
	switch {
	case l.files[p] != "":
		return l.files[p]
	case p == l.header, p == cHeader:
		return "the ABI's declarations, copied from clawd-go: do not edit"
	case p == wasmGlue:
		return "the one wasm-only file (host imports, context and allocator exports), copied from clawd-go: do not edit"
	case p == "plugin.toml":
		return "the manifest: name, version, entry, capabilities, signature"
	case p == "README.md":
		return "this file"
	case p == ".gitignore":
		return "keeps the build's output out of git"
	}
	return ""
}

// libraryFor picks this OS's entry, as the manifest package does.
func libraryFor(e fileMap) string {
	if p, ok := e[runtime.GOOS]; ok {
		return p
	}
	return e[map[string]string{"android": "linux", "ios": "darwin"}[runtime.GOOS]]
}

func render(name string, d data) ([]byte, error) {
	src, err := templates.ReadFile(name)
	if err != nil {
		return nil, err
	}
	t, err := template.New(path.Base(name)).Delims("[[", "]]").Option("missingkey=error").Parse(string(src))
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := t.Execute(&b, d); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// emptyDir refuses a dir that exists and is not an empty directory.
// (writeNew creates it.)
func emptyDir(dir string) error {
	f, err := os.Open(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("%s exists and is not a directory", dir)
	}
	if _, err := f.Readdirnames(1); err == nil {
		return fmt.Errorf("%s: %w: refusing to write a project over it", dir, ErrNotEmpty)
	} else if err != io.EOF {
		return err
	}
	return nil
}

// writeNew creates p (and its directory) and writes b; it fails if p exists.
func writeNew(p string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
