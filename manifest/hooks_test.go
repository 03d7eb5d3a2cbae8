package manifest_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/manifestfile"
	"github.com/clawd-go/clawd/manifest"
)

func TestLoadHooks(t *testing.T) {
	m, err := manifest.LoadDir(writeManifest(t, manifestfile.TOMLName, "name = \"g\"\nversion = \"1\"\nentry = \"x.so\"\nhooks = [\"tool_call\", \"message\"]\n"))
	require.NoError(t, err)
	assert.Equal(t, []clawd.HookPoint{clawd.HookToolCall, clawd.HookMessage}, m.Hooks)

	m, err = manifest.LoadDir(writeManifest(t, manifestfile.JSONName, `{"name":"g","version":"1","entry":"x.so","hooks":["message"]}`))
	require.NoError(t, err)
	assert.Equal(t, []clawd.HookPoint{clawd.HookMessage}, m.Hooks)

	m, err = manifest.LoadDir(writeManifest(t, manifestfile.JSONName, `{"name":"g","version":"1","entry":"x.so"}`))
	require.NoError(t, err)
	assert.Nil(t, m.Hooks)
}

func TestLoadHookErrors(t *testing.T) {
	head := "name = \"g\"\nversion = \"1\"\nentry = \"x.so\"\n"
	const known = "(known: tool_call, message)"
	for _, c := range []struct{ name, file, content, detail string }{
		{"unknown", manifestfile.TOMLName, head + "hooks = [\n  \"tool_call\",\n  \"session_start\",\n]\n",
			"plugin.toml:6: hooks[1]: unknown hook \"session_start\" " + known},
		{"unknown in JSON", manifestfile.JSONName, "{\"name\":\"g\",\"version\":\"1\",\"entry\":\"x.so\",\n\"hooks\":[\"toolcall\"]}",
			"clawd-plugin.json:2: hooks[0]: unknown hook \"toolcall\" " + known},
		{"repeated", manifestfile.TOMLName, head + "hooks = [\"message\", \"message\"]\n", "plugin.toml:4: hooks[1]: hook \"message\" repeated (first at hooks[0])"},
		{"not an array", manifestfile.TOMLName, head + "hooks = \"message\"\n", "plugin.toml:4: hooks: want an array of strings, got a string"},
		{"not a string", manifestfile.JSONName, `{"name":"g","version":"1","entry":"x.so","hooks":[1]}`, "clawd-plugin.json:1: hooks[0]: want a string, got a number"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := manifest.LoadDir(writeManifest(t, c.file, c.content))
			ce := clawErr(t, err, clawerr.ManifestInvalid)
			assert.Contains(t, ce.Detail, c.detail)
		})
	}
}
