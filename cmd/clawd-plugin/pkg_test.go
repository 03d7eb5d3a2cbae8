package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/install"
	"github.com/clawd-go/clawd/internal/cbuild"
	"github.com/clawd-go/clawd/internal/pkgindex"
)

func TestPackageVerbs(t *testing.T) {
	root := t.TempDir()
	at := func(p ...string) string { return filepath.Join(append([]string{root}, p...)...) }
	require.Equal(t, 0, cli(t, "keygen", "--out", at("pub")).exit)
	require.Equal(t, 0, cli(t, "keygen", "--out", at("idx")).exit)
	require.Equal(t, 0, cli(t, "keygen", "--out", at("other")).exit)
	src := at("src", "echo")
	require.NoError(t, os.MkdirAll(src, 0o755))
	lib, err := os.ReadFile(cbuild.Plugin(t, "echo"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(src, "libecho.so"), lib, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(src, "clawd-plugin.json"),
		[]byte(`{"name":"echo","version":"1.0.0","entry":"libecho.so","capabilities":["network.relay","fs.write"]}`), 0o644))
	require.NoError(t, os.MkdirAll(at("index"), 0o755))

	r := cli(t, "pack", "--key", at("pub.key"), src, "-o", at("index", "echo-1.0.0.tar.gz"), "--json")
	require.Equal(t, 0, r.exit, r.stderr)
	var packed map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &packed))
	require.Equal(t, "echo", packed["name"])
	require.FileExists(t, at("index", "echo-1.0.0.tar.gz.sig"))
	r = cli(t, "index", "build", "--key", at("idx.key"), at("index"))
	require.Equal(t, 0, r.exit, r.stderr)

	plugins := at("plugins")
	inst := []string{"install", "--index", at("index"), "--index-key", at("idx.pub"), "--dir", plugins}
	// stdin is not a terminal and --yes is absent: refused, nothing written.
	r = cli(t, append(inst, "--json", "echo")...)
	require.Equal(t, 1, r.exit)
	var fail struct {
		Schema int
		OK     bool
		Error  struct{ Code, Message string }
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &fail), r.stdout)
	require.Equal(t, "consent_required", fail.Error.Code)
	require.Contains(t, fail.Error.Message, "asks for network.relay, fs.write")
	require.NoFileExists(t, filepath.Join(plugins, "clawd.lock"))
	require.NoDirExists(t, filepath.Join(plugins, "echo"))
	// The wrong index key.
	r = cli(t, "install", "--index", at("index"), "--index-key", at("other.pub"), "--dir", plugins, "--yes", "echo")
	require.Equal(t, 1, r.exit)
	require.True(t, strings.HasPrefix(r.stderr, "signature_invalid: "), r.stderr)
	// Usage.
	require.Equal(t, 2, cli(t, "install", "--index", at("index"), "echo").exit)
	require.Equal(t, 2, cli(t, "list").exit)

	r = cli(t, append(inst, "--yes", "echo@^1")...)
	require.Equal(t, 0, r.exit, r.stderr)
	require.Contains(t, r.stdout, "installed echo 1.0.0")
	r = cli(t, "list", "--dir", plugins, "--json")
	require.Equal(t, 0, r.exit)
	var list struct {
		Plugins []struct {
			Name, Version string
			Matches       bool
		}
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &list))
	require.Len(t, list.Plugins, 1)
	require.True(t, list.Plugins[0].Matches)
	require.Equal(t, 0, cli(t, "verify", "--dir", plugins).exit)
	r = cli(t, "search", "--index", at("index"), "--index-key", at("idx.pub"), "ech")
	require.Equal(t, 0, r.exit, r.stderr)
	require.Contains(t, r.stdout, "echo")

	// The session runs through the installed plugin, the lock file used.
	script := at("s.jsonl")
	require.NoError(t, os.WriteFile(script, []byte(`{"event":"session_start","session":"s1"}`+"\n"), 0o644))
	require.Equal(t, 0, cli(t, "run", "--plugins", plugins, "--events", script).exit)

	// One byte changed: verify names the file; run refuses the plugin.
	libPath := filepath.Join(plugins, "echo", "libecho.so")
	data, _ := os.ReadFile(libPath)
	data[100] ^= 1
	require.NoError(t, os.WriteFile(libPath, data, 0o644))
	r = cli(t, "verify", "--dir", plugins)
	require.Equal(t, 1, r.exit)
	require.Contains(t, r.stdout, "checksum_mismatch")
	require.Contains(t, r.stdout, "changed: libecho.so")
	r = cli(t, "run", "--plugins", plugins, "--events", script)
	require.Equal(t, 1, r.exit)
	require.Contains(t, r.stdout, "checksum_mismatch")
	r = cli(t, "list", "--dir", plugins)
	require.Contains(t, r.stdout, "CHANGED")

	r = cli(t, "rollback", "--dir", plugins, "--json", "echo")
	require.Equal(t, 1, r.exit)
	require.Contains(t, r.stdout, `"code":"not_found"`)
	require.Equal(t, 0, cli(t, "remove", "--dir", plugins, "echo").exit)
	r = cli(t, "remove", "--dir", plugins, "echo")
	require.Equal(t, 1, r.exit)
	require.True(t, strings.HasPrefix(r.stderr, "not_found: "), r.stderr)
}

func TestConsentPrompt(t *testing.T) {
	old := stdin
	defer func() { stdin = old }()
	for answer, want := range map[string]bool{"y\n": true, "yes\n": true, "\n": false, "n\n": false, "": false, "Y\n": true} {
		stdin = strings.NewReader(answer)
		var w strings.Builder
		caps := []abi.Capability{abi.CapFSWrite, abi.CapNetworkRelay}
		ok, err := prompt(&w)(context.Background(), install.Request{Name: "x", Version: "1.2.0", Capabilities: caps, New: caps})
		require.NoError(t, err)
		require.Equal(t, want, ok, "%q", answer)
		require.True(t, strings.HasPrefix(w.String(), "plugin x 1.2.0 asks for fs.write, network.relay; allow? [y/N] "), w.String())
	}
}

func TestPackageUpdateVerbs(t *testing.T) {
	root := t.TempDir()
	at := func(p ...string) string { return filepath.Join(append([]string{root}, p...)...) }
	require.Equal(t, 0, cli(t, "keygen", "--out", at("pub")).exit)
	require.Equal(t, 0, cli(t, "keygen", "--out", at("idx")).exit)
	src := func(version string) string {
		dir := at("src", version)
		require.NoError(t, os.MkdirAll(dir, 0o755))
		lib, err := os.ReadFile(cbuild.Plugin(t, "echo", `-DECHO_VERSION="`+version+`"`))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "libecho.so"), lib, 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "plugin.toml"),
			[]byte("name = \"echo\"\nversion = \""+version+"\"\nentry = \"libecho.so\"\n"), 0o644))
		return dir
	}
	require.NoError(t, os.MkdirAll(at("index"), 0o755))
	require.Equal(t, 0, cli(t, "pack", "--key", at("pub.key"), src("1.0.0"), "-o", at("index", "echo-1.0.0.tar.gz")).exit)
	require.Equal(t, 0, cli(t, "index", "build", "--key", at("idx.key"), at("index")).exit)
	plugins := at("plugins")
	r := cli(t, "install", "--index", fileURL(at("index")), "--index-key", at("idx.pub"), "--dir", plugins, "echo@1.0.0")
	require.Equal(t, 0, r.exit, r.stderr) // no capabilities: nothing to consent to

	require.Equal(t, 0, cli(t, "pack", "--key", at("pub.key"), src("1.1.0"), "-o", at("echo-1.1.0.tar.gz")).exit)
	r = cli(t, "index", "add", "--key", at("idx.key"), at("index"), at("echo-1.1.0.tar.gz"), "--json")
	require.Equal(t, 0, r.exit, r.stderr)
	require.Contains(t, r.stdout, `"serial":2`)
	r = cli(t, "update", "--dir", plugins, "--index-key", at("idx.pub"), "--json")
	require.Equal(t, 0, r.exit, r.stderr)
	require.Contains(t, r.stdout, `"version":"1.1.0"`)
	require.Contains(t, r.stdout, `"previous":"1.0.0"`)
	r = cli(t, "rollback", "--dir", plugins, "echo")
	require.Equal(t, 0, r.exit, r.stderr)
	require.Contains(t, r.stdout, "rolled back echo 1.0.0 (was 1.1.0)")
	require.Equal(t, 0, cli(t, "index", "yank", "--key", at("idx.key"), at("index"), "echo@1.1.0").exit)
	r = cli(t, "search", "--index", at("index"), "--index-key", at("idx.pub"), "--json")
	require.Equal(t, 0, r.exit, r.stderr)
	require.Contains(t, r.stdout, `"versions":["1.1.0 (yanked)","1.0.0"]`)
	require.Contains(t, r.stdout, `"latest":"1.0.0"`)
	// A yanked version is not an update.
	r = cli(t, "update", "--dir", plugins, "--index-key", at("idx.pub"))
	require.Equal(t, 0, r.exit, r.stderr)
	require.Contains(t, r.stdout, "echo 1.0.0 is up to date")

	// 1.2.0 asks for a capability: without a terminal and --yes, refused,
	// reported in the plugin's row; --yes grants it.
	dir := src("1.2.0")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "plugin.toml"),
		[]byte("name = \"echo\"\nversion = \"1.2.0\"\nentry = \"libecho.so\"\ncapabilities = [\"fs.read\"]\n"), 0o644))
	require.Equal(t, 0, cli(t, "pack", "--key", at("pub.key"), dir, "-o", at("index", "echo-1.2.0.tar.gz")).exit)
	require.Equal(t, 0, cli(t, "index", "build", "--key", at("idx.key"), at("index")).exit)
	r = cli(t, "update", "--dir", plugins, "--index-key", at("idx.pub"), "--json")
	require.Equal(t, 1, r.exit, r.stdout)
	var up struct {
		OK      bool
		Plugins []struct {
			Name, Version string
			Error         struct{ Code string }
		}
		Error struct{ Code string }
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &up), r.stdout)
	require.False(t, up.OK)
	require.Equal(t, "consent_required", up.Error.Code)
	require.Equal(t, "consent_required", up.Plugins[0].Error.Code)
	require.Equal(t, "1.0.0", up.Plugins[0].Version)
	r = cli(t, "update", "--dir", plugins, "--index-key", at("idx.pub"), "--yes")
	require.Equal(t, 0, r.exit, r.stderr)
	require.Contains(t, r.stdout, "updated echo 1.2.0 (was 1.0.0)")
	require.Contains(t, r.stdout, "granted: fs.read")
}

func TestConsentPromptOnUpdateNamesWhatIsNew(t *testing.T) {
	old := stdin
	defer func() { stdin = old }()
	stdin = strings.NewReader("n\n")
	var w strings.Builder
	ok, err := prompt(&w)(context.Background(), install.Request{Name: "x", Version: "1.3.0",
		Capabilities: []abi.Capability{abi.CapFSWrite, abi.CapNetworkRelay}, New: []abi.Capability{abi.CapFSWrite}})
	require.NoError(t, err)
	require.False(t, ok)
	require.Equal(t, "plugin x 1.3.0 asks for fs.write, network.relay (new: fs.write); allow? [y/N] ", w.String())
}

func TestProgressBar(t *testing.T) {
	var w strings.Builder
	b := &bar{w: &w}
	b.Start("hello-1.0.0.tar.gz", 200)
	b.Advance(100)
	b.Advance(100)
	b.Done()
	require.Contains(t, w.String(), "\rhello-1.0.0.tar.gz [===============               ]  50%")
	require.True(t, strings.HasSuffix(w.String(), "[==============================] 100%\n"), w.String())
	// stderr is a pipe here: no bar, whatever the flags.
	require.False(t, stderrTerminal(&w))
}

// fileURL is dir as a file:// URL: file:///DIR, or file:///C:/DIR on Windows.
func fileURL(dir string) string {
	p := filepath.ToSlash(dir)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	return (&url.URL{Scheme: "file", Path: p}).String()
}

// The package verbs print the installer's codes: a plugin name no
// directory may hold is bad_name, an installer that finds another at
// work is busy, a state folder replaced by a link is unsafe_archive.
func TestPkgPrintsTheInstallerCodes(t *testing.T) {
	plugins := t.TempDir()
	for _, name := range []string{"../x", "CON", "nul.txt", "a/b"} {
		r := cli(t, "remove", "--dir", plugins, name)
		require.Equal(t, 1, r.exit, r.stderr)
		require.True(t, strings.HasPrefix(r.stderr, "bad_name: "), r.stderr)
		r = cli(t, "verify", "--dir", plugins, "--json", name)
		require.Equal(t, 1, r.exit)
		require.Contains(t, r.stdout, `"code":"bad_name"`)
	}

	// Another installer holds the plugin directory (it is asking for
	// consent): a verb told not to wait is busy.
	pkg, pubKey := signedEchoPackage(t)
	asked, release := make(chan struct{}), make(chan struct{})
	in, err := install.New(plugins, install.WithPublisherKeys(pubKey), install.WithTrial(nil),
		install.WithConsent(func(context.Context, install.Request) (bool, error) {
			close(asked)
			<-release
			return false, nil
		}))
	require.NoError(t, err)
	done := make(chan error)
	go func() { _, err := in.InstallFile(context.Background(), pkg); done <- err }()
	<-asked
	for _, verb := range []string{"list", "remove", "rollback", "verify"} {
		args := []string{verb, "--dir", plugins, "--wait", "0"}
		if verb != "list" {
			args = append(args, "echo")
		}
		r := cli(t, args...)
		require.Equal(t, 1, r.exit, r.stderr)
		require.True(t, strings.HasPrefix(r.stderr+r.stdout, "busy: "), "%s: %s%s", verb, r.stderr, r.stdout)
	}
	close(release)
	<-done
	r := cli(t, "list", "--dir", plugins, "--wait", "0")
	require.Equal(t, 0, r.exit, r.stderr)
}

// signedEchoPackage packs the echo test plugin, signed by a new key.
func signedEchoPackage(t *testing.T) (pkg string, pub ed25519.PublicKey) {
	t.Helper()
	src := echoSource(t, filepath.Join(t.TempDir(), "echo"))
	pub, key, err := ed25519.GenerateKey(nil)
	require.NoError(t, err)
	pkg = filepath.Join(t.TempDir(), "echo-1.0.0.tar.gz")
	_, err = pkgindex.Pack(src, pkg, key)
	require.NoError(t, err)
	return pkg, pub
}

// echoSource writes the echo test plugin's directory at src: its library
// and a manifest asking for network.relay.
func echoSource(t *testing.T, src string) string {
	t.Helper()
	require.NoError(t, os.MkdirAll(src, 0o755))
	lib, err := os.ReadFile(cbuild.Plugin(t, "echo"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(src, "libecho.so"), lib, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(src, "clawd-plugin.json"),
		[]byte(`{"name":"echo","version":"1.0.0","entry":"libecho.so","capabilities":["network.relay"]}`), 0o644))
	return src
}

// A plugin directory whose state folder was replaced by a link is refused,
// and nothing behind the link is touched.
func TestPkgRefusesALinkedStateFolder(t *testing.T) {
	plugins := t.TempDir()
	pkg, pubKey := signedEchoPackage(t)
	in, err := install.New(plugins, install.WithPublisherKeys(pubKey), install.WithTrial(nil),
		install.WithConsent(func(context.Context, install.Request) (bool, error) { return true, nil }))
	require.NoError(t, err)
	_, err = in.InstallFile(context.Background(), pkg)
	require.NoError(t, err)

	outside := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(outside, "canary"), []byte("x"), 0o644))
	require.NoError(t, os.RemoveAll(filepath.Join(plugins, ".clawd")))
	if err := os.Symlink(outside, filepath.Join(plugins, ".clawd")); err != nil {
		t.Skipf("no symlink here: %v", err)
	}
	r := cli(t, "list", "--dir", plugins)
	require.Equal(t, 1, r.exit)
	require.True(t, strings.HasPrefix(r.stderr, "unsafe_archive: "), r.stderr)
	require.Contains(t, r.stderr, "never follows a link")
	require.FileExists(t, filepath.Join(outside, "canary"))
}
