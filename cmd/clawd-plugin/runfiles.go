package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"

	"go.uber.org/zap"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/manifestfile"
	"github.com/clawd-go/clawd/internal/wasmscan"
	"github.com/clawd-go/clawd/wasm"
)

// bareName is what a bare module's own name must look like to name the
// plugin directory and manifest made for it.
var bareName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// bareModules gives each --plugin FILE, a WebAssembly module without a
// manifest, a plugin directory of its own under a new temporary root: a
// copy of the module and a manifest with the name and version the module
// gives itself, runtime "wasm" and no capabilities (a module with no
// manifest asks for none: its send_event is refused). The root is then one
// more plugins directory of the host. The caller removes it.
func bareModules(files []string) (root string, err error) {
	root, err = os.MkdirTemp("", "clawd-run-")
	if err != nil {
		return "", err
	}
	fail := func(err error) (string, error) {
		os.RemoveAll(root)
		return "", err
	}
	for _, f := range files {
		if !wasmscan.IsModuleFile(f) {
			return fail(clawerr.New(clawerr.OpenFailed, f, "run", "--plugin takes a plugin directory or a WebAssembly module (.wasm); a shared library needs a plugin directory with its manifest (--plugin DIR)", nil))
		}
		// Opened once to learn its name: a guest sees nothing of the host,
		// so this costs an instantiation and on_load, nothing else.
		p, err := wasm.Open(f, clawd.WithLogger(zap.NewNop()))
		if err != nil {
			return fail(err)
		}
		name, version := p.Name(), p.Version()
		_ = p.Close()
		if !bareName.MatchString(name) {
			return fail(clawerr.New(clawerr.ManifestInvalid, f, "run", fmt.Sprintf("the module calls itself %q, which cannot name a plugin directory: give it a manifest (--plugins DIR)", name), nil))
		}
		dir := filepath.Join(root, name)
		if _, err := os.Stat(dir); err == nil {
			return fail(clawerr.New(clawerr.ManifestInvalid, f, "run", fmt.Sprintf("two --plugin modules call themselves %q", name), nil))
		}
		data, err := os.ReadFile(f)
		if err != nil {
			return fail(clawerr.New(clawerr.OpenFailed, f, "run", "", err))
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fail(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".wasm"), data, 0o644); err != nil {
			return fail(err)
		}
		toml := fmt.Sprintf("name = %q\nversion = %q\nruntime = \"wasm\"\nentry = %q\ncapabilities = []\n", name, version, name+".wasm")
		if err := os.WriteFile(filepath.Join(dir, manifestfile.TOMLName), []byte(toml), 0o644); err != nil {
			return fail(err)
		}
	}
	return root, nil
}
