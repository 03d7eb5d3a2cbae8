package contain

import (
	"runtime"
	"strings"
)

// homeNone is HOME without Policy.PrivateHome: a path that does not exist,
// as for the nobody user.
const homeNone = "/nonexistent"

// envAllowed are the host's variables the child gets as they are: what a
// program needs to find commands and speak the user's language and time,
// and the Go runtime's own settings (the child is the host's program run
// again; GOTRACEBACK shapes the crash report the host reads).
var envAllowed = []string{
	"PATH", "LANG", "LANGUAGE", "TZ",
	"GODEBUG", "GOTRACEBACK", "GOMAXPROCS", "GOGC", "GOMEMLIMIT", "GORACE",
}

// envAllowedWindows are what a Windows process needs to start at all.
var envAllowedWindows = []string{
	"SystemRoot", "SystemDrive", "windir", "TEMP", "TMP", "PATHEXT", "ComSpec",
}

// allowed tells whether the host's variable name passes the allowlist.
func allowed(name string) bool {
	if strings.HasPrefix(name, "LC_") {
		return true
	}
	list, eq := envAllowed, func(a, b string) bool { return a == b }
	if runtime.GOOS == "windows" { // names are case-insensitive there
		list, eq = append(append([]string(nil), envAllowed...), envAllowedWindows...), strings.EqualFold
	}
	for _, a := range list {
		if eq(a, name) {
			return true
		}
	}
	return false
}

// childEnv is the child's environment: the allowlisted variables of base,
// HOME (home, or homeNone), then p.Env resolved against base. The
// hand-off variables of contain itself are never taken from base.
func childEnv(base []string, p Policy, home string) []string {
	lookup := map[string]string{}
	var order []string
	set := func(name, value string) {
		if _, seen := lookup[name]; !seen {
			order = append(order, name)
		}
		lookup[name] = value
	}
	for _, kv := range base {
		name, value, ok := strings.Cut(kv, "=")
		if ok && allowed(name) {
			set(name, value)
		}
	}
	if home == "" {
		home = homeNone
	}
	set("HOME", home)
	for _, kv := range p.Env {
		name, value, ok := strings.Cut(kv, "=")
		if !ok {
			var found bool
			if value, found = hostValue(base, name); !found {
				continue // the host has no such variable: nothing to pass
			}
		}
		set(name, value)
	}
	out := make([]string, 0, len(order))
	for _, name := range order {
		if name == EnvHandoff {
			continue
		}
		out = append(out, name+"="+lookup[name])
	}
	return out
}

// hostValue is the last value base gives name (as os/exec would pass it).
func hostValue(base []string, name string) (string, bool) {
	for i := len(base) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(base[i], name+"="); ok {
			return v, true
		}
	}
	return "", false
}
