package wasm_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd"
	"github.com/clawd-go/clawd/abi"
	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/wasm"
)

// guestOp has the guest run one operation (wasm_fsrace's op:) and asserts
// the line it logs: "ok[:<detail>]" or "err:<ERRNO>".
func guestOp(t *testing.T, g *guest, op, p, arg, want string) {
	t.Helper()
	err := g.Call(bg, clawd.ToolCall("s", "op:"+op+":"+p, strconv.Quote(arg))) // JSON text: a string
	if len(want) >= 4 && want[:4] == "err:" {
		codeIs(t, err, clawerr.CallbackError)
	} else {
		require.NoError(t, err, "%s %s", op, p)
	}
	lines := g.lines("op:" + op + ":")
	require.NotEmpty(t, lines)
	assert.Equal(t, "op:"+op+":"+want, lines[len(lines)-1], "%s %s %s", op, p, arg)
}

// A guest reaches nothing outside its grant by any operation WASI gives
// it: through a link to a directory outside (absolute or relative), up
// with "..", a link as the last component that leads out (to a file, a
// directory, dangling), an absolute path. Acting on a link itself (lstat,
// readlink) is acting on an entry of the grant. Read-only and read-write
// grants alike; a guest makes no links in either.
func TestFileSystemEscapes(t *testing.T) {
	mod := cbuildWasm(t, "wasm_fsrace")
	for _, cap := range []abi.Capability{abi.CapFSRead, abi.CapFSWrite} {
		t.Run(string(cap), func(t *testing.T) {
			fx := newFSFixture(t)
			g := open(t, mod, clawd.WithProjectDir(fx.proj), clawd.WithCapabilities(cap))
			write := cap == abi.CapFSWrite
			for _, dir := range []string{"dirlink", "reldirlink", "sub/up"} {
				guestOp(t, g, "read", dir+"/secret.txt", "", "err:EPERM")
				guestOp(t, g, "stat", dir+"/secret.txt", "", "err:EPERM")
				guestOp(t, g, "lstat", dir+"/secret.txt", "", "err:EPERM")
				guestOp(t, g, "readlink", dir+"/lnk", "", "err:EPERM")
				guestOp(t, g, "opendir", dir, "", "err:EPERM")
				guestOp(t, g, "openat", dir, "secret.txt", "err:EPERM")
				if write {
					guestOp(t, g, "creat", dir+"/new.txt", "", "err:EPERM")
					guestOp(t, g, "mkdir", dir+"/made", "", "err:EPERM")
					guestOp(t, g, "rmdir", dir+"/sub", "", "err:EPERM")
					guestOp(t, g, "unlink", dir+"/victim", "", "err:EPERM")
					guestOp(t, g, "rename", dir+"/target", "moved", "err:EPERM")
					guestOp(t, g, "rename", "sub/f", dir+"/planted", "err:EPERM")
					guestOp(t, g, "link", dir+"/secret.txt", "stolen", "err:EPERM")
					guestOp(t, g, "link", "sub/f", dir+"/planted", "err:EPERM")
					guestOp(t, g, "utimes", dir+"/secret.txt", "", "err:EPERM")
					guestOp(t, g, "symlink", dir+"/made-link", "secret.txt", "err:EPERM")
				} else {
					guestOp(t, g, "mkdir", dir+"/made", "", "err:EROFS")
					guestOp(t, g, "unlink", dir+"/victim", "", "err:EROFS")
					guestOp(t, g, "rename", dir+"/target", "moved", "err:EROFS")
					guestOp(t, g, "utimes", dir+"/secret.txt", "", "err:EROFS")
				}
			}
			for _, l := range []string{"filelink", "dirlink", "dangling", "reldangling", "sub/danglerel", "abslink"} {
				guestOp(t, g, "read", l, "", "err:EPERM")
				guestOp(t, g, "stat", l, "", "err:EPERM")
				if write {
					guestOp(t, g, "creat", l, "", "err:EPERM")
					guestOp(t, g, "utimes", l, "", "err:EPERM")
					guestOp(t, g, "mkdir", l+"/made", "", "err:EPERM")
				}
				target, err := os.Readlink(filepath.Join(fx.proj, l))
				require.NoError(t, err)
				guestOp(t, g, "readlink", l, "", "ok:"+filepath.ToSlash(target))
				guestOp(t, g, "lstat", l, "", "ok:lnk:"+strconv.Itoa(len(target)))
			}
			guestOp(t, g, "opendir", "dirlink", "", "err:EPERM")
			// ".." above the root: refused before the mount sees it.
			for _, p := range []string{"../out/secret.txt", "sub/../../out/secret.txt", "d/../../out/secret.txt"} {
				guestOp(t, g, "read", p, "", "err:EPERM")
				guestOp(t, g, "stat", p, "", "err:EPERM")
			}
			// An absolute host path is a path of the grant, where it is not.
			guestOp(t, g, "read", filepath.ToSlash(filepath.Join(fx.out, "secret.txt")), "", "err:ENOENT")
			if write {
				guestOp(t, g, "symlink", "made-link", "data.txt", "err:EPERM")
			} else {
				guestOp(t, g, "symlink", "made-link", "data.txt", "err:EROFS")
			}
			// What stays inside works.
			for _, p := range []string{"data.txt", "/data.txt", "inner", "sub/innerup", "sub/../data.txt", "d/secret.txt"} {
				guestOp(t, g, "read", p, "", "ok:"+insideSecret)
			}
			guestOp(t, g, "openat", "d", "secret.txt", "ok:"+insideSecret)
			guestOp(t, g, "opendir", "d", "", "ok:lnk,secret.txt")
			fx.untouched(t)
			assert.NoFileExists(t, filepath.Join(fx.proj, "stolen"))
			assert.NoFileExists(t, filepath.Join(fx.proj, "moved"))
			assert.NoFileExists(t, filepath.Join(fx.proj, "made-link"))
		})
	}
}

var probeLine = regexp.MustCompile(`^probe:(\w+):in=(\d+):err=(\d+):leak=(\d+)$`)

// Two instances of one plugin race each other: one swaps the directory d
// for a link to the outside and back, over and over; the other opens,
// reads, stats, lists, reads links, unlinks, renames, links, makes
// directories and files and sets times beneath d until it has seen both
// the directory and the refusal many times. Nothing it gets is the
// outside's, and nothing outside changes. The swapper stops when the test
// makes the file "stop" (no clock involved).
func TestFileSystemRenameRaceBetweenInstances(t *testing.T) {
	fx := newFSFixture(t)
	g := open(t, cbuildWasm(t, "wasm_fsrace"), clawd.WithProjectDir(fx.proj),
		clawd.WithCapabilities(abi.CapFSWrite), clawd.WithConcurrent(true), wasm.WithPoolSize(2))
	swapped := make(chan error, 1)
	go func() { swapped <- g.Call(bg, clawd.ToolCall("s", "swap", "{}")) }()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			require.NoError(t, os.WriteFile(filepath.Join(fx.proj, "stop"), nil, 0o644))
			require.NoError(t, <-swapped)
		}
	}
	defer stop()

	const want = 50
	require.NoError(t, g.Call(bg, clawd.ToolCall("s", "probe:"+strconv.Itoa(want), "{}")))
	stop()

	ops := 0
	for _, l := range g.lines("probe:") {
		m := probeLine.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		ops++
		assert.Equal(t, "0", m[4], "%s reached the outside: %s", m[1], l)
	}
	assert.Equal(t, 12, ops, "a line per operation: %v", g.lines("probe:"))
	var rounds, inside, refused int
	last := g.lines("probe:rounds=")
	require.Len(t, last, 1)
	_, err := fmt.Sscanf(last[0], "probe:rounds=%d:in=%d:refused=%d", &rounds, &inside, &refused)
	require.NoError(t, err)
	swaps := g.lines("swap:rounds=")
	require.Len(t, swaps, 1)
	t.Logf("%s against %s", last[0], swaps[0])
	assert.GreaterOrEqual(t, inside, want, "the directory was seen")
	assert.GreaterOrEqual(t, refused, want, "the link was seen: the race ran")
	fx.untouched(t)
	got, err := os.ReadFile(filepath.Join(fx.proj, "d", "secret.txt"))
	require.NoError(t, err)
	assert.Equal(t, insideSecret, string(got))
}
