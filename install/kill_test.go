package install

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/clawd-go/clawd/internal/sigkey"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/clawd-go/clawd/internal/lockfile"
)

// killEnv makes the test binary a child that runs one operation and is
// killed (SIGKILL, TerminateProcess) at one step: nothing of the
// installer runs after, no deferred function, no cleanup.
const killEnv = "CLAWD_INSTALL_TEST_KILL"

type killJob struct {
	Op, Step, Dir, Index, IndexKey, Marker string
}

// killChild runs the job of killEnv: it returns only if the step was not
// reached (3) or the operation failed (2).
func killChild() int {
	var j killJob
	if err := json.Unmarshal([]byte(os.Getenv(killEnv)), &j); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	key, err := sigkey.ParsePublicKey(j.IndexKey)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	kill := func(o *options) {
		o.failAt = func(s string) error {
			if s != j.Step {
				return nil
			}
			os.WriteFile(j.Marker, []byte(s), 0o644)
			p, _ := os.FindProcess(os.Getpid())
			p.Kill()
			select {} // Kill of this process does not return: nothing runs after it
		}
	}
	in, err := New(j.Dir, WithIndex(j.Index), WithIndexKey(key), WithConsent(Yes), WithTrial(nil), optionFunc(kill))
	if err == nil {
		switch j.Op {
		case "install":
			_, err = in.Install(bg, "echo@1.0.0")
		case "update":
			_, err = in.Update(bg, "echo")
		case "rollback":
			_, err = in.Rollback("echo")
		case "remove":
			err = in.Remove("echo")
		case "recover": // New recovered
		default:
			err = fmt.Errorf("unknown op %q", j.Op)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	return 3
}

// killAt runs op on dir in a child killed at step; it reports whether the
// step was reached (and the child killed there).
func killAt(t *testing.T, w *world, op, step, dir string) bool {
	t.Helper()
	marker := filepath.Join(t.TempDir(), "reached")
	job, _ := json.Marshal(killJob{Op: op, Step: step, Dir: dir, Index: w.idxDir,
		IndexKey: sigkey.EncodePublicKey(pub(w.idxKey)), Marker: marker})
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), killEnv+"="+string(job))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if _, serr := os.Stat(marker); serr == nil {
		require.Error(t, err, "killed at %s, the child cannot have exited well", step)
		return true
	}
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee, "%s", stderr.String())
	require.Equal(t, 3, ee.ExitCode(), "the child failed: %s", stderr.String())
	return false
}

// kept is what a plugin directory holds: the installed version ("" for
// none) and the one kept for rollback ("" for none).
type kept struct{ cur, prev string }

// agree opens dir (New recovers what a kill left) and asserts the lock
// file and the tree agree on want: every version the lock names is on
// disk, whole; nothing else is left in the state folders.
func agree(t *testing.T, dir string, want kept) {
	t.Helper()
	in, err := New(dir)
	require.NoError(t, err)
	l, err := lockfile.Read(filepath.Join(dir, lockName))
	require.NoError(t, err)
	live := filepath.Join(dir, "echo")
	prev := filepath.Join(dir, stateDir, "previous", "echo")
	readme := func(d string) string { b, _ := os.ReadFile(filepath.Join(d, "README")); return string(b) }
	e := l.Plugins["echo"]
	if want.cur == "" {
		require.Nil(t, e, "the lock still names echo")
		require.NoDirExists(t, live)
		require.NoDirExists(t, prev)
	} else {
		require.NotNil(t, e, "the lock lost echo")
		require.Equal(t, want.cur, e.Version)
		require.NoError(t, e.Check(live))
		require.Equal(t, "echo "+want.cur+"\n", readme(live))
		if want.prev == "" {
			require.Nil(t, e.Previous)
		} else {
			require.NotNil(t, e.Previous, "the lock lost the kept version")
			require.Equal(t, want.prev, e.Previous.Version)
			require.NoError(t, e.Previous.Check(prev), "the kept version is lost or changed")
			require.Equal(t, "echo "+want.prev+"\n", readme(prev))
		}
	}
	for _, d := range []string{stStaging, stTmp, stBackup} {
		ents, err := os.ReadDir(filepath.Join(dir, stateDir, d))
		require.NoError(t, err)
		require.Empty(t, ents, d)
	}
	require.NoFileExists(t, filepath.Join(dir, stateDir, journalName))
	require.NoError(t, in.Verify())
}

// copyTree copies the plugin directory src to dst.
func copyTree(t *testing.T, src, dst string) {
	require.NoError(t, filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		to := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(to, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(to, data, 0o644)
	}))
}

// TestKillAtEachStep kills the installer at every step of install,
// update, rollback and remove, then kills the recovery at each of its
// steps too, and checks that the next installer finds the lock and the
// tree agreeing: the old state before the lock file is written, the new
// one after, never a mix, nothing lost (the kept version included).
func TestKillAtEachStep(t *testing.T) {
	w := newWorld(t)
	w.publish(w.native("1.0.0"))
	w.publish(w.native("1.1.0"))
	// The template: 1.1.0 installed, 1.0.0 kept; the index offers 1.2.0.
	tmpl := filepath.Join(t.TempDir(), "tmpl")
	in, err := New(tmpl, WithIndex(w.idxDir), WithIndexKey(pub(w.idxKey)), WithConsent(Yes), WithTrial(nil))
	require.NoError(t, err)
	_, err = in.Install(bg, "echo@1.0.0")
	require.NoError(t, err)
	_, err = in.Update(bg, "echo@1.1.0")
	require.NoError(t, err)
	w.publish(w.native("1.2.0"))

	download := []string{"index", "download", "verify", "extract", "manifest", "consent", "trial"}
	commit := []string{"journal", "backup", "move", "lock", "previous", "done"}
	cases := []struct {
		op            string
		fresh         bool
		steps         []string
		before, after kept
	}{
		{"install", true, append(append([]string{}, download...), commit...), kept{}, kept{"1.0.0", ""}},
		{"update", false, append(append([]string{}, download...), commit...), kept{"1.1.0", "1.0.0"}, kept{"1.2.0", "1.1.0"}},
		{"rollback", false, commit, kept{"1.1.0", "1.0.0"}, kept{"1.0.0", "1.1.0"}},
		{"remove", false, []string{"journal", "backup", "lock", "previous", "done"}, kept{"1.1.0", "1.0.0"}, kept{}},
	}
	committed := map[string]bool{"lock": true, "previous": true, "done": true}
	for _, c := range cases {
		for _, step := range c.steps {
			t.Run(c.op+"/"+step, func(t *testing.T) {
				dir := filepath.Join(t.TempDir(), "plugins")
				if !c.fresh {
					copyTree(t, tmpl, dir)
				}
				require.True(t, killAt(t, w, c.op, step, dir), "step %s of %s not reached", step, c.op)
				want := c.before
				if committed[step] {
					want = c.after
				}
				// The recovery killed too, at each of its steps in turn.
				for _, r := range []string{"undo-move", "undo-backup", "previous", "done"} {
					killAt(t, w, "recover", r, dir)
				}
				agree(t, dir, want)
			})
		}
	}
}
