package manifest_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/manifest"
)

func TestPlacement(t *testing.T) {
	cases := []struct {
		rt       manifest.Runtime
		sandbox  manifest.Sandbox // the manifest's
		host     manifest.Sandbox // the host's preference
		want     string
		reported manifest.Sandbox
	}{
		{manifest.RuntimeDylib, "", "", clawd.RuntimeNative, manifest.SandboxNative},
		{"", "", "", clawd.RuntimeNative, manifest.SandboxNative},
		{manifest.RuntimeDylib, manifest.SandboxProcess, "", clawd.RuntimeProcess, manifest.SandboxProcess},
		{manifest.RuntimeDylib, "", manifest.SandboxProcess, clawd.RuntimeProcess, manifest.SandboxProcess},
		// The host never moves a plugin that asks for the sandbox back in.
		{manifest.RuntimeDylib, manifest.SandboxProcess, manifest.SandboxNative, clawd.RuntimeProcess, manifest.SandboxProcess},
		// A module is sandboxed by construction, whatever was asked.
		{manifest.RuntimeWasm, manifest.SandboxProcess, manifest.SandboxProcess, clawd.RuntimeWasm, manifest.SandboxWasm},
		{manifest.RuntimeWasm, "", "", clawd.RuntimeWasm, manifest.SandboxWasm},
	}
	for _, c := range cases {
		m := &manifest.Manifest{Name: "p", Runtime: c.rt, Sandbox: c.sandbox}
		rt, sb, err := m.Placement(c.host)
		require.NoError(t, err)
		require.Equal(t, c.want, rt, "%+v", c)
		require.Equal(t, c.reported, sb, "%+v", c)
	}
	_, _, err := (&manifest.Manifest{Name: "p", Runtime: "lua"}).Placement("")
	require.Equal(t, clawerr.RuntimeUnsupported, clawerr.CodeOf(err), "%v", err)
}
