package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// pkgJSONFailure decodes a --json failure object and checks that its code
// is one docs/errors.md lists.
func pkgJSONFailure(t *testing.T, r result) (code, message string) {
	t.Helper()
	require.Equal(t, 1, r.exit, "stdout: %s\nstderr: %s", r.stdout, r.stderr)
	var fail struct {
		OK    bool
		Error struct{ Code, Message string }
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &fail), r.stdout)
	require.False(t, fail.OK)
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "errors.md"))
	require.NoError(t, err)
	require.Contains(t, string(doc), "`"+fail.Error.Code+"`", "code %q is not in docs/errors.md", fail.Error.Code)
	return fail.Error.Code, fail.Error.Message
}

// echoPackage packs the echo test plugin (asking for network.relay) into
// an index directory and builds the index; it returns the key prefixes.
func echoPackage(t *testing.T, root string) (pubKey, idxKey, index string) {
	t.Helper()
	at := func(p ...string) string { return filepath.Join(append([]string{root}, p...)...) }
	require.Equal(t, 0, cli(t, "keygen", "--out", at("pub")).exit)
	require.Equal(t, 0, cli(t, "keygen", "--out", at("idx")).exit)
	src := echoSource(t, at("src", "echo"))
	require.NoError(t, os.MkdirAll(at("index"), 0o755))
	r := cli(t, "pack", "--key", at("pub.key"), src, "-o", at("index", "echo-1.0.0.tar.gz"))
	require.Equal(t, 0, r.exit, r.stderr)
	r = cli(t, "index", "build", "--key", at("idx.key"), at("index"))
	require.Equal(t, 0, r.exit, r.stderr)
	return at("pub"), at("idx"), at("index")
}

// The package verbs other than install refuse a plugin directory that is
// not there, or that nothing was ever installed into: not_found, exit 1,
// and nothing created. A CI step verifying a mistyped path fails.
func TestPkgVerbsRefuseAMissingOrUnusedDirectory(t *testing.T) {
	root := t.TempDir()
	require.Equal(t, 0, cli(t, "keygen", "--out", filepath.Join(root, "idx")).exit)
	typo := filepath.Join(root, "plugnis")
	empty := filepath.Join(root, "empty")
	require.NoError(t, os.MkdirAll(empty, 0o755))
	verbs := map[string][]string{
		"verify":   {"verify"},
		"list":     {"list"},
		"remove":   {"remove", "echo"},
		"rollback": {"rollback", "echo"},
		"update":   {"update", "--index-key", filepath.Join(root, "idx.pub")},
	}
	for name, args := range verbs {
		t.Run(name, func(t *testing.T) {
			for _, dir := range []string{typo, empty} {
				code, msg := pkgJSONFailure(t, cli(t, append(args, "--json", "--dir", dir)...))
				require.Equal(t, "not_found", code)
				require.Contains(t, msg, dir)
				require.NoFileExists(t, filepath.Join(dir, "clawd.lock"))
				require.NoDirExists(t, filepath.Join(dir, ".clawd"))
				r := cli(t, append(args, "--dir", dir)...)
				require.Equal(t, 1, r.exit)
				require.True(t, strings.HasPrefix(r.stderr, "not_found: "), r.stderr)
				require.Contains(t, r.stderr, "check the path")
			}
			require.NoDirExists(t, typo)
		})
	}
}

// verify on a directory of plugins copied in by hand names them; once
// the directory has a lock file, it names those the lock does not record.
func TestPkgVerifyNamesUnlockedPlugins(t *testing.T) {
	root := t.TempDir()
	_, idx, index := echoPackage(t, root)
	plugins := filepath.Join(root, "plugins")
	copyDir := func(name string) {
		src := filepath.Join(root, "src", "echo")
		dst := filepath.Join(plugins, name)
		require.NoError(t, os.MkdirAll(dst, 0o755))
		for _, f := range []string{"libecho.so", "clawd-plugin.json"} {
			data, err := os.ReadFile(filepath.Join(src, f))
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join(dst, f), data, 0o644))
		}
	}
	copyDir("byhand")
	r := cli(t, "verify", "--dir", plugins)
	require.Equal(t, 1, r.exit, r.stdout)
	require.True(t, strings.HasPrefix(r.stderr, "not_found: "), r.stderr)
	require.Contains(t, r.stderr, "unlocked plugins (copied in by hand, never verified): byhand")
	require.NoDirExists(t, filepath.Join(plugins, ".clawd"))

	r = cli(t, "install", "--index", index, "--index-key", idx+".pub", "--dir", plugins, "--yes", "echo")
	require.Equal(t, 0, r.exit, r.stderr)
	r = cli(t, "verify", "--dir", plugins)
	require.Equal(t, 1, r.exit, r.stdout)
	require.Contains(t, r.stdout, "not_found: ")
	require.Contains(t, r.stdout, "byhand is in "+plugins+" but not in its lock file")
	code, msg := pkgJSONFailure(t, cli(t, "verify", "--dir", plugins, "--json"))
	require.Equal(t, "not_found", code)
	require.Contains(t, msg, "byhand")
	require.Equal(t, 0, cli(t, "verify", "--dir", plugins, "echo").exit)
	require.NoError(t, os.RemoveAll(filepath.Join(plugins, "byhand")))
	require.Equal(t, 0, cli(t, "verify", "--dir", plugins).exit)
}

// install --json and index build --json print the real code of every
// failure, one docs/errors.md lists (they printed "failed").
func TestPkgJSONFailuresPrintDocumentedCodes(t *testing.T) {
	root := t.TempDir()
	require.Equal(t, 0, cli(t, "keygen", "--out", filepath.Join(root, "k")).exit)
	require.NoError(t, os.WriteFile(filepath.Join(root, "bad.key"), []byte("not a key\n"), 0o600))
	require.NoError(t, os.MkdirAll(filepath.Join(root, "index"), 0o755))
	missing := filepath.Join(root, "missing.pub")
	cases := []struct {
		name, code, says string
		args             []string
	}{
		{"install, index key file missing", "not_found", "keygen",
			[]string{"install", "--json", "--dir", filepath.Join(root, "p"), "--index", filepath.Join(root, "index"), "--index-key", missing, "echo"}},
		{"install, publisher key file missing", "not_found", "missing.pub",
			[]string{"install", "--json", "--dir", filepath.Join(root, "p"), "--publisher-key", missing, "x.tar.gz"}},
		{"install, index key malformed", "invalid_argument", "bad.key",
			[]string{"install", "--json", "--dir", filepath.Join(root, "p"), "--index", filepath.Join(root, "index"), "--index-key", filepath.Join(root, "bad.key"), "echo"}},
		{"index build, key file missing", "not_found", "missing.key",
			[]string{"index", "build", "--json", "--key", filepath.Join(root, "missing.key"), filepath.Join(root, "index")}},
		{"index build, key malformed", "invalid_argument", "bad.key",
			[]string{"index", "build", "--json", "--key", filepath.Join(root, "bad.key"), filepath.Join(root, "index")}},
		{"index build, directory missing", "not_found", "index directory",
			[]string{"index", "build", "--json", "--key", filepath.Join(root, "k.key"), filepath.Join(root, "nope")}},
		{"index add, package missing", "not_found", "nope.tar.gz",
			[]string{"index", "add", "--json", "--key", filepath.Join(root, "k.key"), filepath.Join(root, "index"), filepath.Join(root, "nope.tar.gz")}},
		{"pack, key file missing", "not_found", "missing.key",
			[]string{"pack", "--json", "--key", filepath.Join(root, "missing.key"), root, "-o", filepath.Join(root, "x.tar.gz")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, msg := pkgJSONFailure(t, cli(t, c.args...))
			require.Equal(t, c.code, code, msg)
			require.Contains(t, msg, c.says)
		})
	}
}

// consent_required names both ways out: a terminal to be asked on, or
// --yes.
func TestInstallConsentRequiredNamesBothWaysOut(t *testing.T) {
	root := t.TempDir()
	_, idx, index := echoPackage(t, root)
	plugins := filepath.Join(root, "plugins")
	args := []string{"install", "--index", index, "--index-key", idx + ".pub", "--dir", plugins, "echo"}
	code, msg := pkgJSONFailure(t, cli(t, append(args, "--json")...))
	require.Equal(t, "consent_required", code)
	require.Contains(t, msg, "Run again on a terminal to be asked, or with --yes to grant them")
	r := cli(t, args...)
	require.Equal(t, 1, r.exit)
	require.True(t, strings.HasPrefix(r.stderr, "consent_required: "), r.stderr)
	require.Contains(t, r.stderr, "on a terminal")
	require.Contains(t, r.stderr, "--yes")
	require.NoDirExists(t, filepath.Join(plugins, "echo"))
}
