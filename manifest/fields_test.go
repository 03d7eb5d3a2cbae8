package manifest_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/manifestfile"
	"github.com/clawd-go/clawd/manifest"
)

// max_processes and env, for the process sandbox, in both formats.
func TestLoadSandboxLimits(t *testing.T) {
	dir := writeManifest(t, manifestfile.TOMLName, "name = \"echo\"\nversion = \"1\"\nentry = \"x.so\"\nsandbox = \"process\"\n"+
		"max_processes = 16\nenv = [\"LANG\", \"MODE=fast\", \"EMPTY=\", \"EQ=a=b\"]\n")
	m, err := manifest.LoadDir(dir)
	require.NoError(t, err)
	assert.Equal(t, manifest.SandboxProcess, m.Sandbox)
	assert.Equal(t, 16, m.MaxProcesses)
	assert.Equal(t, []string{"LANG", "MODE=fast", "EMPTY=", "EQ=a=b"}, m.Env)

	// The reference daemon ignores keys it does not know; these are ours.
	dir = writeManifest(t, manifestfile.JSONName, `{"name":"echo","version":"1","entry":"x.so","max_processes":1,"env":["_X1=y"]}`)
	m, err = manifest.LoadDir(dir)
	require.NoError(t, err)
	assert.Equal(t, 1, m.MaxProcesses)
	assert.Equal(t, []string{"_X1=y"}, m.Env)

	for _, src := range []string{"max_processes = 0\nenv = []\n", ""} {
		m, err = manifest.LoadDir(writeManifest(t, manifestfile.TOMLName, "name = \"echo\"\nversion = \"1\"\nentry = \"x.so\"\n"+src))
		require.NoError(t, err)
		assert.Equal(t, 0, m.MaxProcesses, "0 or absent: the host's default")
		assert.Nil(t, m.Env)
	}
	m, err = manifest.LoadDir(writeManifest(t, manifestfile.JSONName, `{"name":"echo","version":"1","entry":"x.so","max_processes":null,"env":null}`))
	require.NoError(t, err)
	assert.Equal(t, 0, m.MaxProcesses)
	assert.Nil(t, m.Env)
}

func TestLoadSandboxLimitErrors(t *testing.T) {
	head := "name = \"echo\"\nversion = \"1\"\nentry = \"x.so\"\n"
	const want = "want a whole number from 1 to 4194304 (or 0 or nothing for the host's default), got "
	cases := []struct {
		name, file, content, detail string
	}{
		{"max_processes negative", manifestfile.TOMLName, head + "max_processes = -1\n", "plugin.toml:4: max_processes: " + want + "-1"},
		{"max_processes too large", manifestfile.TOMLName, head + "max_processes = 4194305\n", "plugin.toml:4: max_processes: " + want + "4194305"},
		{"max_processes string", manifestfile.TOMLName, head + "\nmax_processes = \"64\"\n", "plugin.toml:5: max_processes: " + want + "64"},
		{"max_processes fraction", manifestfile.JSONName, "{\"name\":\"echo\",\"version\":\"1\",\"entry\":\"x.so\",\n\"max_processes\":1.5}",
			"clawd-plugin.json:2: max_processes: " + want + "1.5"},
		{"env not an array", manifestfile.TOMLName, head + "env = \"A=1\"\n", "plugin.toml:4: env: want an array of strings \"NAME=VALUE\" or \"NAME\", got a string"},
		{"env entry not a string", manifestfile.TOMLName, head + "env = [\"A=1\", 2]\n", "plugin.toml:4: env[1]: want a string \"NAME=VALUE\" or \"NAME\", got a number"},
		{"env name empty", manifestfile.TOMLName, head + "env = [\n  \"A=1\",\n  \"=x\",\n]\n",
			"plugin.toml:6: env[1]: \"=x\": the name \"\" is not an environment variable name (letters, digits and _, not starting with a digit)"},
		{"env name digit first", manifestfile.TOMLName, head + "env = [\"1A=x\"]\n", "plugin.toml:4: env[0]: \"1A=x\": the name \"1A\" is not an environment variable name"},
		{"env name with a dash", manifestfile.JSONName, `{"name":"echo","version":"1","entry":"x.so","env":["MY-VAR"]}`,
			"clawd-plugin.json:1: env[0]: \"MY-VAR\": the name \"MY-VAR\" is not an environment variable name"},
		{"env value NUL", manifestfile.JSONName, `{"name":"echo","version":"1","entry":"x.so","env":["A=x\u0000y"]}`,
			"clawd-plugin.json:1: env[0]: the value of A contains a NUL byte"},
		{"env name twice", manifestfile.TOMLName, head + "env = [\"A=1\", \"B\", \"A\"]\n", "plugin.toml:4: env[2]: A given twice (first at env[0])"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := manifest.LoadDir(writeManifest(t, c.file, c.content))
			ce := clawErr(t, err, clawerr.ManifestInvalid)
			assert.Contains(t, ce.Detail, c.detail)
		})
	}
}
