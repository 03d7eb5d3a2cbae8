package host_test

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// The host knows runtimes only as clawd.Plugin and through the registry:
// its files import a runtime's package only to register it (a blank
// import), never to name one of its symbols. Batching is found through
// internal/batch, runtime settings travel as clawd options.
func TestHostNamesNoRuntimeSymbol(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	runtimes := []string{"github.com/clawd-go/clawd/loader", "github.com/clawd-go/clawd/isolate", "github.com/clawd-go/clawd/wasm"}
	blank := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range file.Imports {
			path := strings.Trim(imp.Path.Value, `"`)
			for _, rt := range runtimes {
				if path != rt {
					continue
				}
				if imp.Name == nil || imp.Name.Name != "_" {
					t.Errorf("%s imports %s by name: the host must not name a runtime's symbols", f, path)
				} else {
					blank++
				}
			}
		}
	}
	if blank != len(runtimes) {
		t.Errorf("%d blank imports of the runtimes, want %d (each registers one)", blank, len(runtimes))
	}
}
