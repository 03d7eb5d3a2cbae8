package host

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
	"go.uber.org/zap"

	"github.com/clawd-go/clawd/internal/manifestfile"
)

// watcher turns file system events into sets of dirty plugin directories.
// fsnotify watches directories, not trees: it watches the plugin
// directories, each of their subdirectories (plugin or not yet), the added
// directories, and the directory of each entry that lives in a subdirectory.
type watcher struct {
	fw   *fsnotify.Watcher
	stop chan struct{}
	done chan struct{}
	once sync.Once

	mu       sync.Mutex // track (under life) against classify (watch loop)
	watched  map[string]bool
	roots    map[string]bool
	plugins  map[string]bool   // plugin directories (and candidates)
	known    map[string]bool   // plugin directories whose manifest parsed
	relevant map[string]string // manifest and entry files -> their plugin directory
	entryDir map[string]string // an entry's own directory -> its plugin directory
}

func newWatcher() (*watcher, error) {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	return &watcher{fw: fw, stop: make(chan struct{}), done: make(chan struct{}), watched: map[string]bool{}}, nil
}

func (w *watcher) shutdown() {
	w.once.Do(func() {
		close(w.stop)
		<-w.done
		w.fw.Close()
	})
}

// track updates what is watched after a scan. A directory is watched
// before the sync acts on what the scan found, so a change made after the
// scan raises an event.
func (w *watcher) track(h *Host, d discovery) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.roots = map[string]bool{}
	w.plugins = map[string]bool{}
	w.known = map[string]bool{}
	w.relevant = map[string]string{}
	w.entryDir = map[string]string{}
	want := map[string]bool{}
	for _, r := range h.o.dirs {
		w.roots[r] = true
		want[r] = true
	}
	for _, s := range d.subdirs {
		w.plugins[s] = true
		want[s] = true
	}
	for _, a := range h.added {
		w.plugins[a] = true
		want[a] = true
	}
	for _, c := range d.all {
		w.plugins[c.dir] = true
		want[c.dir] = true
		w.relevant[filepath.Join(c.dir, manifestfile.TOMLName)] = c.dir
		w.relevant[filepath.Join(c.dir, manifestfile.JSONName)] = c.dir
		if c.m == nil {
			continue
		}
		w.known[c.dir] = true
		entries := []string{c.m.Entry}
		for _, e := range c.m.Entries {
			entries = append(entries, e)
		}
		for _, e := range entries {
			if e == "" {
				continue
			}
			p := filepath.Join(c.dir, filepath.FromSlash(e))
			w.relevant[p] = c.dir
			if ed := filepath.Dir(p); ed != c.dir {
				w.entryDir[ed] = c.dir
				want[ed] = true
			}
		}
	}
	for dir := range want {
		if w.watched[dir] {
			continue
		}
		if err := w.fw.Add(dir); err != nil {
			// Not there (yet): a plugin directory that does not exist, or a
			// subdirectory removed since the scan. Its parent's watch will
			// report it when it appears.
			h.log.Debug("not watching", zap.String("dir", dir), zap.Error(err))
			continue
		}
		w.watched[dir] = true
	}
	for dir := range w.watched {
		if !want[dir] {
			_ = w.fw.Remove(dir) // may already be gone with the directory
			delete(w.watched, dir)
		}
	}
}

// classify maps an event's path to the plugin directory it makes dirty.
func (w *watcher) classify(path string) (string, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	parent := filepath.Dir(path)
	switch {
	case w.roots[parent]: // a plugin directory appeared, vanished or was renamed
		return path, true
	case w.plugins[path]: // an added directory (or a plugin directory) itself
		return path, true
	}
	if d, ok := w.relevant[path]; ok {
		return d, true
	}
	if w.plugins[parent] && !w.known[parent] {
		return parent, true // no manifest read yet: any file may complete it
	}
	if d, ok := w.entryDir[parent]; ok && !w.known[d] {
		return d, true
	}
	return "", false
}

// watchLoop collects dirty plugin directories and syncs them once the
// events have been quiet for the debounce time. A write-to-temp-and-rename
// raises one relevant event (the entry's name appearing); a slow copy in
// place raises many, which the debounce folds into one reload.
func (h *Host) watchLoop() {
	w := h.w
	defer close(w.done)
	pending := map[string]bool{}
	rescan := false
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case <-w.stop:
			return
		case ev, ok := <-w.fw.Events:
			if !ok {
				return
			}
			if ev.Op == fsnotify.Chmod {
				continue
			}
			if ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) {
				w.forget(ev.Name)
			}
			if d, ok := w.classify(ev.Name); ok {
				pending[d] = true
				timer.Reset(h.o.debounce)
			}
			for _, d := range h.lockedDirs(ev.Name) { // lock.go: a new lock file is a new verdict
				pending[d] = true
				timer.Reset(h.o.debounce)
			}
		case err, ok := <-w.fw.Errors:
			if !ok {
				return
			}
			h.log.Warn("watching plugin directories", zap.Error(err))
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				// Events were lost: look at everything, and reload what runs.
				rescan = true
				w.mu.Lock()
				for d := range w.plugins {
					pending[d] = true
				}
				w.mu.Unlock()
				timer.Reset(h.o.debounce)
			}
		case <-timer.C:
			dirty, full := pending, rescan
			pending, rescan = map[string]bool{}, false
			h.life.Lock()
			if !h.closing.Load() {
				h.sync(context.Background(), dirty, full)
			}
			h.life.Unlock()
		}
	}
}

// forget drops the watch of a directory that was removed or renamed away,
// so that the next scan watches whatever is at that path again (a watch
// follows the inode, not the name).
func (w *watcher) forget(path string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.watched[path] {
		_ = w.fw.Remove(path)
		delete(w.watched, path)
	}
}
