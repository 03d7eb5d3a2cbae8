package boundary

import (
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func TestIdentify(t *testing.T) {
	for _, tc := range []struct {
		name                       string
		lib, libVer, host, hostVer string
		want                       Identity
	}{
		{"no host name: the library's", "grep", "1.0.0", "", "9.0.0", Identity{Name: "grep", Version: "1.0.0"}},
		{"the host's name, the library's version", "grep", "1.0.0", "tools", "9.0.0", Identity{Name: "tools", Version: "1.0.0", Library: "grep"}},
		{"the host's version where the library has none", "grep", "", "tools", "9.0.0", Identity{Name: "tools", Version: "9.0.0", Library: "grep"}},
		{"one name: no library field", "grep", "1.0.0", "grep", "", Identity{Name: "grep", Version: "1.0.0"}},
		{"a library not known yet: no library field", "", "", "tools", "9.0.0", Identity{Name: "tools", Version: "9.0.0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Identify(tc.lib, tc.libVer, tc.host, tc.hostVer); got != tc.want {
				t.Errorf("Identify(%q, %q, %q, %q) = %+v, want %+v", tc.lib, tc.libVer, tc.host, tc.hostVer, got, tc.want)
			}
		})
	}
}

func TestIdentityLogger(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	Identity{Name: "tools", Version: "1.0.0", Library: "grep"}.Logger(zap.New(core)).Info("x")
	Identity{Name: "grep", Version: "1.0.0"}.Logger(zap.New(core)).Info("y")
	all := logs.All()
	if len(all) != 2 {
		t.Fatalf("%d lines, want 2", len(all))
	}
	if got, want := all[0].ContextMap(), map[string]any{"plugin": "tools", "version": "1.0.0", "library": "grep"}; !equal(got, want) {
		t.Errorf("fields %v, want %v", got, want)
	}
	if got, want := all[1].ContextMap(), map[string]any{"plugin": "grep", "version": "1.0.0"}; !equal(got, want) {
		t.Errorf("fields %v, want %v", got, want)
	}
}

func equal(a, b map[string]any) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestNamed(t *testing.T) {
	for _, tc := range []struct{ name, path, want, warning string }{
		{"grep", "/p/libother.so", "grep", ""},
		{"", "/p/libgrep.so.1", "libgrep", `using the file stem "libgrep" as the name`},
		{"", "grep.wasm", "grep", `using the file stem "grep" as the name`},
		{"", "/p/.hidden", ".hidden", `using the file stem ".hidden" as the name`},
	} {
		got, w := Named(tc.name, tc.path)
		if got != tc.want || w != tc.warning {
			t.Errorf("Named(%q, %q) = %q, %q; want %q, %q", tc.name, tc.path, got, w, tc.want, tc.warning)
		}
	}
}
