package host

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"go.uber.org/zap"
)

// The host's own cache directory (the verified private copies of the
// libraries it loads) is named clawd-host-<pid>-<random> in the system's
// temporary directory. Close removes it; a host that died, or one that had
// to keep a library loaded (Windows cannot delete a loaded DLL), leaves it
// behind. The next host removes those whose process is gone: when in
// doubt (the process may live, or the pid was reused), it keeps them.
const cacheDirPrefix = "clawd-host-"

func cachePrefix() string { return cacheDirPrefix + strconv.Itoa(os.Getpid()) + "-" }

// sweepStaleCaches removes the cache directories of hosts that are gone.
func sweepStaleCaches(log *zap.Logger) {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), cacheDirPrefix+"*-*"))
	for _, d := range dirs {
		pidText, _, ok := strings.Cut(strings.TrimPrefix(filepath.Base(d), cacheDirPrefix), "-")
		pid, err := strconv.Atoi(pidText)
		if !ok || err != nil || pid <= 0 || pid == os.Getpid() || processAlive(pid) {
			continue
		}
		if fi, err := os.Lstat(d); err != nil || !fi.IsDir() {
			continue // not ours: a directory, never a link to one
		}
		if err := os.RemoveAll(d); err != nil {
			log.Debug("cannot remove a stale cache directory", zap.String("dir", d), zap.Error(err))
		}
	}
}
