package install

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"github.com/clawd-go/clawd/internal/sigkey"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/internal/cbuild"
	"github.com/clawd-go/clawd/internal/pkgindex"
	"github.com/clawd-go/clawd/isolate"
	"github.com/clawd-go/clawd/manifest"
)

func TestMain(m *testing.M) {
	isolate.Main()                // trialOpen runs native plugins in children of this binary
	if os.Getenv(killEnv) != "" { // a child TestKillAtEachStep kills
		os.Exit(killChild())
	}
	if os.Getenv("GORACE") == "" {
		os.Setenv("GORACE", "atexit_sleep_ms=0")
	}
	code := m.Run()
	cbuild.Cleanup()
	os.Exit(code)
}

var bg = context.Background()

// world is a publisher, an index operator and a user's plugin directory.
type world struct {
	t         *testing.T
	pubKey    ed25519.PrivateKey
	idxKey    ed25519.PrivateKey
	idxDir    string
	pluginDir string
	srcDir    string
}

func newKey(t *testing.T) ed25519.PrivateKey {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	return k
}

func pub(k ed25519.PrivateKey) ed25519.PublicKey { return k.Public().(ed25519.PublicKey) }

func newWorld(t *testing.T) *world {
	root := t.TempDir()
	w := &world{t: t, pubKey: newKey(t), idxKey: newKey(t), idxDir: filepath.Join(root, "index"),
		pluginDir: filepath.Join(root, "plugins"), srcDir: filepath.Join(root, "src")}
	require.NoError(t, os.MkdirAll(w.idxDir, 0o755))
	return w
}

// native writes a plugin directory for echo VERSION asking caps.
func (w *world) native(version string, caps ...string) string {
	lib := cbuild.Plugin(w.t, "echo", `-DECHO_NAME="echo"`, `-DECHO_VERSION="`+version+`"`)
	return w.pluginSrc("echo", version, "dylib", "libecho.so", lib, caps...)
}

// wasmPlugin writes a plugin directory for the wasm build of echo.
func (w *world) wasmPlugin(version string, caps ...string) string {
	mod := cbuild.WasmPlugin(w.t, "echo", `-DECHO_NAME="wecho"`, `-DECHO_VERSION="`+version+`"`)
	return w.pluginSrc("wecho", version, "wasm", "wecho.wasm", mod, caps...)
}

func (w *world) pluginSrc(name, version, rt, entry, lib string, caps ...string) string {
	dir := filepath.Join(w.srcDir, name+"-"+version)
	require.NoError(w.t, os.MkdirAll(dir, 0o755))
	data, err := os.ReadFile(lib)
	require.NoError(w.t, err)
	require.NoError(w.t, os.WriteFile(filepath.Join(dir, entry), data, 0o644))
	q := make([]string, len(caps))
	for i, c := range caps {
		q[i] = `"` + c + `"`
	}
	toml := "name = \"" + name + "\"\nversion = \"" + version + "\"\ndescription = \"reports what it sees\"\nruntime = \"" + rt +
		"\"\nentry = \"" + entry + "\"\ncapabilities = [" + strings.Join(q, ", ") + "]\nfiles = [\"README\"]\n"
	require.NoError(w.t, os.WriteFile(filepath.Join(dir, "plugin.toml"), []byte(toml), 0o644))
	require.NoError(w.t, os.WriteFile(filepath.Join(dir, "README"), []byte("echo "+version+"\n"), 0o644))
	return dir
}

// publish packs dir into the index directory and rebuilds the index.
func (w *world) publish(dir string) *pkgindex.Package {
	m, err := manifest.LoadDir(dir)
	require.NoError(w.t, err)
	p, err := pkgindex.Pack(dir, filepath.Join(w.idxDir, m.Name+"-"+m.Version+".tar.gz"), w.pubKey)
	require.NoError(w.t, err)
	_, err = pkgindex.BuildIndex(w.idxDir, w.idxKey, pkgindex.IndexOptions{})
	require.NoError(w.t, err)
	return p
}

func (w *world) installer(opts ...Option) *Installer {
	in, err := New(w.pluginDir, append([]Option{WithIndex(w.idxDir), WithIndexKey(pub(w.idxKey)), WithConsent(Yes)}, opts...)...)
	require.NoError(w.t, err)
	return in
}

// readIndex and writeIndex edit the index as a hostile or stale server
// would serve it, signed with key.
func (w *world) readIndex() *pkgindex.Index {
	data, err := os.ReadFile(filepath.Join(w.idxDir, pkgindex.IndexFile))
	require.NoError(w.t, err)
	var idx pkgindex.Index
	require.NoError(w.t, json.Unmarshal(data, &idx))
	return &idx
}

func (w *world) writeIndex(idx *pkgindex.Index, key ed25519.PrivateKey) {
	data, err := json.MarshalIndent(idx, "", "  ")
	require.NoError(w.t, err)
	require.NoError(w.t, os.WriteFile(filepath.Join(w.idxDir, pkgindex.IndexFile), data, 0o644))
	require.NoError(w.t, os.WriteFile(filepath.Join(w.idxDir, pkgindex.IndexFile+pkgindex.SigSuffix), pkgindex.NewSigFile(key, data), 0o644))
}

// addRaw lists raw archive bytes in the index as NAME VERSION, signed by
// the publisher, as a hostile publisher would.
func (w *world) addRaw(name, version string, archiveBytes []byte, caps ...string) {
	h := sha256.Sum256([]byte(name)) // the name may be hostile: never a path
	file := "raw-" + hex.EncodeToString(h[:4]) + "-" + version + ".tar.gz"
	require.NoError(w.t, os.WriteFile(filepath.Join(w.idxDir, file), archiveBytes, 0o644))
	idx := w.readIndex()
	if idx.Plugins == nil {
		idx.Plugins = map[string][]pkgindex.Release{}
		idx.Keys = map[string]string{}
		idx.Schema = pkgindex.IndexSchema
	}
	idx.Serial++
	id := sigkey.KeyID(pub(w.pubKey))
	idx.Keys[id] = sigkey.EncodePublicKey(pub(w.pubKey))
	sum := sha256.Sum256(archiveBytes)
	if caps == nil {
		caps = []string{}
	}
	idx.Plugins[name] = append(idx.Plugins[name], pkgindex.Release{Version: version, Runtime: "dylib", ABIVersion: abi.Version,
		Capabilities: caps, Platforms: []string{goosOf() + "/" + goarchOf()}, Archive: file, Size: int64(len(archiveBytes)),
		SHA256: hex.EncodeToString(sum[:]), Signature: sigkey.Sign(w.pubKey, archiveBytes), PublisherKey: id})
	w.writeIndex(idx, w.idxKey)
}

func goosOf() string   { return defaults().goos }
func goarchOf() string { return defaults().goarch }

// tarEntry is one entry of a hand-made archive.
type tarEntry struct {
	hdr  tar.Header
	body []byte
}

func reg(name string, body []byte) tarEntry {
	return tarEntry{hdr: tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(body))}, body: body}
}

func rawArchive(t *testing.T, ents ...tarEntry) []byte {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range ents {
		h := e.hdr
		require.NoError(t, tw.WriteHeader(&h))
		if len(e.body) > 0 {
			_, err := tw.Write(e.body)
			require.NoError(t, err)
		}
	}
	require.NoError(t, tw.Close())
	require.NoError(t, gz.Close())
	return buf.Bytes()
}

// snapshot is every file under the plugin directory (the installer's
// empty state directories aside) with its bytes: what "nothing left
// behind" compares.
func snapshot(t *testing.T, dir string) map[string]string {
	out := map[string]string{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			if ents, _ := os.ReadDir(p); len(ents) == 0 && strings.HasPrefix(rel, stateDir) {
				return nil
			}
			out[rel+"/"] = ""
			return nil
		}
		data, _ := os.ReadFile(p)
		out[rel] = string(data)
		return nil
	})
	return out
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

var _ = time.Second
