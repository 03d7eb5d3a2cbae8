package lockfile_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/lockfile"
)

// FuzzParse feeds hostile lock files to the decoder: a lock file on disk
// is input like any other (anyone who can write the plugin directory
// writes it). Whatever the bytes: manifest_invalid, or a lock whose every
// name passes CheckName and names its entry (and its kept version), and
// which writes back to bytes that read back the same. Run longer with
//
//	go test -run '^$' -fuzz '^FuzzParse$' -fuzztime 90s ./internal/lockfile/
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"schema":1,"indexes":{"ed25519:f6316a499b727ea8":{"serial":7,"generated":"2026-12-01T11:00:00Z","source":"/srv/site"}},` +
			`"plugins":{"hello":{"name":"hello","version":"1.0.0","runtime":"dylib","files":{"a":"00"},"previous":{"name":"hello","version":"0.9.0"}}}}`,
		`{"schema":1,"plugins":{"../x":{"name":"../x"}}}`,
		`{"schema":1,"plugins":{"CON":{"name":"CON"},"x":null}}`,
		`{"schema":1,"plugins":{"a":{"name":"a","previous":{"name":"b","previous":{"name":"c"}}}}}`,
		`{"schema":1,"plugins":{"clawd.lock":{"name":"clawd.lock"}}}`,
		`{"schema":2}`,
		`{"schema":1,"plugins":{"a\u0000":{"name":"a\u0000"}}}`,
		`null`,
		``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := lockfile.Parse(data, "fuzz.lock")
		if err != nil {
			if c := clawerr.CodeOf(err); c != clawerr.ManifestInvalid {
				t.Fatalf("refused with %q: %v", c, err)
			}
			return
		}
		for n, e := range l.Plugins {
			if err := lockfile.CheckName(n); err != nil {
				t.Fatalf("name %q accepted: %v", n, err)
			}
			if e == nil || e.Name != n || e.Previous != nil && e.Previous.Name != n {
				t.Fatalf("entry %q accepted naming another", n)
			}
		}
		out, err := lockfile.Marshal(l)
		if err != nil {
			t.Fatal(err)
		}
		l2, err := lockfile.Parse(out, "again.lock")
		if err != nil {
			t.Fatalf("an accepted lock, written, is refused: %v", err)
		}
		out2, _ := lockfile.Marshal(l2)
		if !bytes.Equal(out, out2) {
			t.Fatalf("written twice, two different files:\n%s\n%s", out, out2)
		}
	})
}

// FuzzCheckName checks the name rule against what the installer does
// with a name: one that passes is one local path element, the same on
// every system, that a directory can be made of beneath a root.
func FuzzCheckName(f *testing.F) {
	for _, s := range []string{"echo", "../x", "a/b", `a\b`, "CON", "nul.txt", "com1.x", "x.", ".x", "..", "", "a\x00b", "é", "clawd.lock", "a-b_c+d.e"} {
		f.Add(s)
	}
	root := f.TempDir()
	f.Fuzz(func(t *testing.T, name string) {
		err := lockfile.CheckName(name)
		if err != nil {
			if c := clawerr.CodeOf(err); c != clawerr.BadName {
				t.Fatalf("refused with %q: %v", c, err)
			}
			return
		}
		if !filepath.IsLocal(name) || filepath.Base(name) != name || strings.ContainsAny(name, `/\:`) ||
			strings.HasSuffix(name, ".") || strings.HasSuffix(name, " ") || len(name) > lockfile.MaxNameLen {
			t.Fatalf("%q accepted: not one plain path element", name)
		}
		r, err := os.OpenRoot(root)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		if err := r.Mkdir(name, 0o700); err != nil && !os.IsExist(err) {
			t.Fatalf("%q accepted, but no directory can be made of it: %v", name, err)
		}
	})
}
