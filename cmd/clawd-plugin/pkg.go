package main

// Plugin packages (package install): pack, index, install, update,
// rollback, remove, list, search, and verify --dir.
//
//	clawd-plugin pack --key PUBLISHER.key DIR -o FILE
//	clawd-plugin index build|add|yank --key INDEX.key DIR [PACKAGE...|NAME@VERSION...]
//	clawd-plugin install --index DIR|URL --index-key INDEX.pub --dir PLUGINS [--yes] NAME[@VERSION]|FILE
//	clawd-plugin update|rollback|remove|verify --dir PLUGINS [...] NAME
//	clawd-plugin list --dir PLUGINS [--json]
//	clawd-plugin search --index DIR|URL --index-key INDEX.pub TERM

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"github.com/clawd-go/clawd/internal/sigkey"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/install"
	"github.com/clawd-go/clawd/internal/archive"
	"github.com/clawd-go/clawd/internal/lockfile"
	"github.com/clawd-go/clawd/internal/optdefaults"
	"github.com/clawd-go/clawd/internal/pkgindex"
)

func init() {
	verbs["pack"] = packVerb
	verbs["index"] = indexVerb
	verbs["install"] = installVerb
	verbs["update"] = updateVerb
	verbs["rollback"] = rollbackVerb
	verbs["remove"] = removeVerb
	verbs["list"] = listVerb
	verbs["search"] = searchVerb
}

// stdinTerminal and stderrTerminal are replaced by tests.
var (
	stdinTerminal  = func() bool { return stdin == io.Reader(os.Stdin) && isTerminal(os.Stdin.Fd()) }
	stderrTerminal = func(w io.Writer) bool { return w == io.Writer(os.Stderr) && isTerminal(os.Stderr.Fd()) }
)

// pkgOut prints a package verb's outcome: with --json one object, the
// verb's fields merged with schema and ok; else a line.
type pkgOut struct {
	verb           string
	asJSON         bool
	stdout, stderr io.Writer
}

// pkgCode is err's code. The package verbs' failures all carry one; an
// error that does not (a bug) is classed by its cause rather than given a
// code docs/errors.md does not list.
func pkgCode(err error) string {
	if c := clawerr.CodeOf(err); c != "" {
		return string(c)
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return string(clawerr.NotFound)
	case errors.Is(err, sigkey.ErrMalformedKey):
		return string(clawerr.InvalidArgument)
	}
	return string(clawerr.Unavailable)
}

func (p pkgOut) fail(err error) int {
	code := pkgCode(err)
	if p.asJSON {
		writeJSONFailure(p.stdout, code, "%s", clawerr.Message(err))
	} else {
		fmt.Fprintf(p.stderr, "%s: %s\n", code, safe(clawerr.Message(err)))
	}
	return exitInvalid
}

func (p pkgOut) ok(fields map[string]any, human string) int {
	if p.asJSON {
		fields["schema"] = schemaVersion
		fields["ok"] = true
		data, _ := json.Marshal(fields)
		fmt.Fprintf(p.stdout, "%s\n", data)
	} else if human != "" {
		fmt.Fprint(p.stdout, human)
	}
	return exitOK
}

func (p pkgOut) usage(fs *flag.FlagSet, format string, a ...any) int {
	usageFailure(p.stdout, p.stderr, p.asJSON, p.verb, format, a...)
	fs.Usage()
	return exitUsage
}

func newFlags(verb string, stderr io.Writer) (*flag.FlagSet, *bool) {
	fs := flag.NewFlagSet(verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { printVerbHelp(stderr, verb, fs) }
	return fs, fs.Bool("json", false, "print one JSON object")
}

func packVerb(args []string, stdout, stderr io.Writer) int {
	fs, asJSON := newFlags("pack", stderr)
	key := fs.String("key", "", "the publisher's private key file (from keygen)")
	out := fs.String("o", "", "the package file to write (FILE and FILE.sig)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return flagFailure(err, args, stdout)
	}
	p := pkgOut{"pack", *asJSON, stdout, stderr}
	if *key == "" || *out == "" || len(pos) != 1 {
		return p.usage(fs, "--key FILE, -o FILE and one DIR are required")
	}
	priv, err := sigkey.ReadPrivateKeyFile(*key)
	if err != nil {
		return p.fail(err)
	}
	pk, err := pkgindex.Pack(pos[0], *out, priv)
	if err != nil {
		return p.fail(err)
	}
	r := pk.Release
	left := pk.LeftOut
	if left == nil {
		left = []string{}
	}
	note := ""
	if len(left) > 0 {
		note = fmt.Sprintf("note: left out %s: not built here; build them and pack again to serve those platforms\n", strings.Join(left, ", "))
	}
	return p.ok(map[string]any{"name": r.Name, "version": r.Version, "archive": pk.Path, "sha256": r.SHA256, "size": r.Size,
		"platforms": r.Platforms, "files": pk.Files, "publisher_key": r.PublisherKey, "left_out": left},
		fmt.Sprintf("packed %s %s (%s) into %s: %d bytes, sha256 %s, signed by %s\n%s",
			r.Name, r.Version, strings.Join(r.Platforms, ", "), pk.Path, r.Size, r.SHA256, r.PublisherKey, note))
}

func indexVerb(args []string, stdout, stderr io.Writer) int {
	fs, asJSON := newFlags("index", stderr)
	key := fs.String("key", "", "the index's private key file (from keygen)")
	var pubs pubFlags
	fs.Var(&pubs, "publisher", "accept only packages signed by this public key file; repeat for several")
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		if _, err := parseInterspersed(fs, args); err != nil {
			return flagFailure(err, args, stdout)
		}
		return pkgOut{"index", *asJSON, stdout, stderr}.usage(fs, "a subcommand is required: build, add, yank or unyank")
	}
	sub, rest := args[0], args[1:]
	pos, err := parseInterspersed(fs, rest)
	if err != nil {
		return flagFailure(err, rest, stdout)
	}
	p := pkgOut{"index", *asJSON, stdout, stderr}
	if sub != "build" && sub != "add" && sub != "yank" && sub != "unyank" {
		return p.usage(fs, "unknown subcommand %q (want build, add, yank or unyank)", sub)
	}
	if *key == "" || len(pos) < 1 || sub == "build" && len(pos) != 1 || sub != "build" && len(pos) < 2 {
		return p.usage(fs, "--key FILE and DIR are required (add: DIR PACKAGE...; yank, unyank: DIR NAME@VERSION...)")
	}
	priv, err := sigkey.ReadPrivateKeyFile(*key)
	if err != nil {
		return p.fail(err)
	}
	o := pkgindex.IndexOptions{}
	for _, f := range pubs {
		k, err := sigkey.ReadPublicKeyFile(f)
		if err != nil {
			return p.fail(err)
		}
		o.Publishers = append(o.Publishers, k)
	}
	dir := pos[0]
	switch sub {
	case "add":
		for _, pkg := range pos[1:] {
			if err := copyPackage(pkg, dir); err != nil {
				return p.fail(err)
			}
		}
	case "yank":
		o.Yank = pos[1:]
	case "unyank":
		o.Unyank = pos[1:]
	}
	idx, err := pkgindex.BuildIndex(dir, priv, o)
	if err != nil {
		return p.fail(err)
	}
	n := 0
	for _, rs := range idx.Plugins {
		n += len(rs)
	}
	return p.ok(map[string]any{"dir": dir, "serial": idx.Serial, "generated": idx.Generated, "plugins": len(idx.Plugins), "releases": n,
		"key_id": sigkey.KeyID(priv.Public().(ed25519.PublicKey))},
		fmt.Sprintf("wrote %s: serial %d, %d plugins, %d releases, signed by %s\n", filepath.Join(dir, pkgindex.IndexFile), idx.Serial,
			len(idx.Plugins), n, sigkey.KeyID(priv.Public().(ed25519.PublicKey))))
}

// copyPackage copies FILE and FILE.sig into dir (nothing if already there).
func copyPackage(pkg, dir string) error {
	for _, f := range []string{pkg, pkg + pkgindex.SigSuffix} {
		dst := filepath.Join(dir, filepath.Base(f))
		if a, _ := filepath.Abs(f); a == mustAbs(dst) {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			return clawerr.New(clawerr.NotFound, "", "index", f, err)
		}
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// installerFlags are the flags every verb working on a plugin directory
// shares.
type installerFlags struct {
	dir, index, indexKey *string
	yes, quiet, http     *bool
	pubs                 pubFlags
	maxFiles             *int
	maxBytes             *int64
	maxDownload          *int64
	wait                 *time.Duration
}

func addInstallerFlags(fs *flag.FlagSet, withIndex bool) *installerFlags {
	f := &installerFlags{dir: fs.String("dir", "", "the plugin directory (its lock file is DIR/clawd.lock)"),
		wait: fs.Duration("wait", optdefaults.LockWait, "how long to wait for another installer working on the plugin directory (0: not at all)")}
	if withIndex {
		f.index = fs.String("index", "", "the index: a directory, file:// or https:// URL (update: default the one the plugins came from)")
		f.indexKey = fs.String("index-key", "", "the index's public key file: the index must be signed by it")
		f.yes = fs.Bool("yes", false, "grant the capabilities asked without asking (for scripts)")
		f.quiet = fs.Bool("quiet", false, "no progress bar")
		f.http = fs.Bool("allow-http", false, "allow a plain http:// index (everything is still verified)")
		fs.Var(&f.pubs, "publisher-key", "install FILE: the public key file the package must be signed by; repeat for several")
		f.maxFiles = fs.Int("max-files", archive.DefaultMaxFiles, "most files a package may unpack to")
		f.maxBytes = fs.Int64("max-bytes", archive.DefaultMaxBytes, "most bytes a package may unpack to")
		f.maxDownload = fs.Int64("max-download", pkgindex.MaxPackageSize, "most bytes of a package download")
	}
	return f
}

func (f *installerFlags) open(p pkgOut, ctx context.Context) (*install.Installer, error) {
	opts := []install.Option{install.WithLockWait(*f.wait)}
	if f.index != nil {
		opts = append(opts, install.WithIndex(*f.index), install.WithAllowHTTP(*f.http), install.WithLimits(*f.maxFiles, *f.maxBytes),
			install.WithMaxDownload(0, *f.maxDownload))
		if *f.indexKey != "" {
			k, err := sigkey.ReadPublicKeyFile(*f.indexKey)
			if err != nil {
				return nil, err
			}
			opts = append(opts, install.WithIndexKey(k))
		}
		for _, pf := range f.pubs {
			k, err := sigkey.ReadPublicKeyFile(pf)
			if err != nil {
				return nil, err
			}
			opts = append(opts, install.WithPublisherKeys(k))
		}
		if *f.yes {
			opts = append(opts, install.WithConsent(install.Yes))
		} else if stdinTerminal() {
			opts = append(opts, install.WithConsent(prompt(p.stderr)))
		}
		if !*f.quiet && !p.asJSON && stderrTerminal(p.stderr) {
			opts = append(opts, install.WithProgress(&bar{w: p.stderr}))
		}
	}
	if p.verb == "install" || p.verb == "search" {
		// install makes the plugin directory it is given; search works in
		// a scratch one.
		return install.New(*f.dir, opts...)
	}
	// The other verbs need a plugin directory with a lock file: a mistyped
	// path is not_found, and nothing is created.
	return install.Open(*f.dir, opts...)
}

// prompt asks on the terminal: "plugin X 1.2.0 asks for fs.write,
// network.relay; allow? [y/N]".
func prompt(w io.Writer) install.Consent {
	return func(_ context.Context, r install.Request) (bool, error) {
		caps := make([]string, len(r.Capabilities))
		for i, c := range r.Capabilities {
			caps[i] = string(c)
		}
		more := ""
		if len(r.New) < len(r.Capabilities) { // an update: say what it adds
			added := make([]string, len(r.New))
			for i, c := range r.New {
				added[i] = string(c)
			}
			more = " (new: " + strings.Join(added, ", ") + ")"
		}
		fmt.Fprintf(w, "plugin %s %s asks for %s%s; allow? [y/N] ", safe(r.Name), safe(r.Version), strings.Join(caps, ", "), more)
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && line == "" {
			fmt.Fprintln(w)
			return false, nil
		}
		a := strings.ToLower(strings.TrimSpace(line))
		return a == "y" || a == "yes", nil
	}
}

// bar draws a progress bar on a terminal.
type bar struct {
	w           io.Writer
	name        string
	total, done int64
}

func (b *bar) Start(name string, total int64) { b.name, b.total, b.done = name, total, 0; b.draw() }
func (b *bar) Advance(n int64)                { b.done += n; b.draw() }
func (b *bar) Done()                          { fmt.Fprintln(b.w) }
func (b *bar) draw() {
	if b.total <= 0 {
		fmt.Fprintf(b.w, "\r%s %d bytes", b.name, b.done)
		return
	}
	const width = 30
	n := int(b.done * width / b.total)
	fmt.Fprintf(b.w, "\r%s [%s%s] %3d%%", b.name, strings.Repeat("=", n), strings.Repeat(" ", width-n), b.done*100/b.total)
}

func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

func installVerb(args []string, stdout, stderr io.Writer) int {
	fs, asJSON := newFlags("install", stderr)
	f := addInstallerFlags(fs, true)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return flagFailure(err, args, stdout)
	}
	p := pkgOut{"install", *asJSON, stdout, stderr}
	if *f.dir == "" || len(pos) != 1 {
		return p.usage(fs, "--dir PLUGINS and one NAME[@VERSION] or FILE are required")
	}
	isFile := strings.HasSuffix(pos[0], ".tar.gz")
	if !isFile && (*f.index == "" || *f.indexKey == "") {
		return p.usage(fs, "--index and --index-key are required to install by name")
	}
	if isFile && len(f.pubs) == 0 {
		return p.usage(fs, "--publisher-key FILE is required to install a package file")
	}
	ctx, stop := signalContext()
	defer stop()
	in, err := f.open(p, ctx)
	if err != nil {
		return p.fail(err)
	}
	var r *install.Result
	if isFile {
		r, err = in.InstallFile(ctx, pos[0])
	} else {
		r, err = in.Install(ctx, pos[0])
	}
	if err != nil {
		return p.fail(err)
	}
	return p.ok(resultFields(r, in), resultLine("installed", r, in))
}

func resultFields(r *install.Result, in *install.Installer) map[string]any {
	g := r.Granted
	if g == nil {
		g = []string{}
	}
	return map[string]any{"name": r.Name, "version": r.Version, "previous": r.Previous, "changed": r.Changed,
		"granted": g, "dir": filepath.Join(in.Dir(), r.Name), "lock": in.LockPath()}
}

func resultLine(did string, r *install.Result, in *install.Installer) string {
	if !r.Changed {
		return fmt.Sprintf("%s %s is installed already (%s)\n", r.Name, r.Version, filepath.Join(in.Dir(), r.Name))
	}
	from := ""
	if r.Previous != "" {
		from = " (was " + r.Previous + ")"
	}
	caps := "none"
	if len(r.Granted) > 0 {
		caps = strings.Join(r.Granted, ", ")
	}
	return fmt.Sprintf("%s %s %s%s into %s; granted: %s\n", did, r.Name, r.Version, from, filepath.Join(in.Dir(), r.Name), caps)
}

func updateVerb(args []string, stdout, stderr io.Writer) int {
	fs, asJSON := newFlags("update", stderr)
	f := addInstallerFlags(fs, true)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return flagFailure(err, args, stdout)
	}
	p := pkgOut{"update", *asJSON, stdout, stderr}
	if *f.dir == "" || *f.indexKey == "" {
		return p.usage(fs, "--dir PLUGINS and --index-key are required (--index defaults to the index the plugins came from)")
	}
	ctx, stop := signalContext()
	defer stop()
	in, err := f.open(p, ctx)
	if err != nil {
		return p.fail(err)
	}
	rs, err := in.Update(ctx, pos...)
	if err != nil && rs == nil {
		return p.fail(err)
	}
	// Each plugin has its row; one refused does not hide the others.
	var b strings.Builder
	rows := []map[string]any{}
	for i := range rs {
		row := resultFields(&rs[i], in)
		switch {
		case rs[i].Err != nil:
			code := pkgCode(rs[i].Err)
			row["error"] = errorJSON{Code: code, Message: rs[i].Err.Error()}
			fmt.Fprintf(p.stderr, "%s: %s\n", code, safe(rs[i].Err.Error()))
		case rs[i].Changed:
			b.WriteString(resultLine("updated", &rs[i], in))
		default:
			fmt.Fprintf(&b, "%s %s is up to date\n", rs[i].Name, rs[i].Version)
		}
		rows = append(rows, row)
	}
	if err != nil {
		if p.asJSON {
			data, _ := json.Marshal(map[string]any{"schema": schemaVersion, "ok": false, "plugins": rows,
				"error": errorJSON{Code: pkgCode(err), Message: err.Error()}})
			fmt.Fprintf(p.stdout, "%s\n", data)
		} else {
			fmt.Fprint(p.stdout, b.String())
		}
		return exitInvalid
	}
	return p.ok(map[string]any{"plugins": rows}, b.String())
}

func dirVerb(verb string, args []string, stdout, stderr io.Writer, needName bool) (pkgOut, *install.Installer, []string, int) {
	fs, asJSON := newFlags(verb, stderr)
	f := addInstallerFlags(fs, false)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return pkgOut{}, nil, nil, flagFailure(err, args, stdout)
	}
	p := pkgOut{verb, *asJSON, stdout, stderr}
	if *f.dir == "" || needName && len(pos) != 1 {
		what := ""
		if needName {
			what = " and one NAME"
		}
		return p, nil, nil, p.usage(fs, "--dir PLUGINS%s required", what)
	}
	// A name no plugin directory may hold is refused before the directory
	// is looked at: it is the more precise error.
	for _, n := range pos {
		if err := lockfile.CheckName(n); err != nil {
			return p, nil, nil, p.fail(err)
		}
	}
	in, err := f.open(p, context.Background())
	if err != nil {
		return p, nil, nil, p.fail(err)
	}
	return p, in, pos, -1
}

func rollbackVerb(args []string, stdout, stderr io.Writer) int {
	p, in, pos, rc := dirVerb("rollback", args, stdout, stderr, true)
	if rc >= 0 {
		return rc
	}
	r, err := in.Rollback(pos[0])
	if err != nil {
		return p.fail(err)
	}
	return p.ok(resultFields(r, in), resultLine("rolled back", r, in))
}

func removeVerb(args []string, stdout, stderr io.Writer) int {
	p, in, pos, rc := dirVerb("remove", args, stdout, stderr, true)
	if rc >= 0 {
		return rc
	}
	if err := in.Remove(pos[0]); err != nil {
		return p.fail(err)
	}
	return p.ok(map[string]any{"name": pos[0]}, fmt.Sprintf("removed %s from %s\n", pos[0], in.Dir()))
}

func listVerb(args []string, stdout, stderr io.Writer) int {
	p, in, pos, rc := dirVerb("list", args, stdout, stderr, false)
	if rc >= 0 {
		return rc
	}
	if len(pos) != 0 {
		return usageFailure(stdout, stderr, p.asJSON, "list", "no arguments expected besides --dir")
	}
	rows, err := in.List()
	if err != nil {
		return p.fail(err)
	}
	var b strings.Builder
	if len(rows) == 0 {
		fmt.Fprintf(&b, "nothing installed in %s\n", in.Dir())
	}
	for _, r := range rows {
		state := "ok"
		if !r.Matches {
			state = "CHANGED: " + r.Problem
		}
		prev := ""
		if r.Previous != "" {
			prev = " (previous " + r.Previous + ")"
		}
		fmt.Fprintf(&b, "%-20s %-10s%s %s\n", safe(r.Name), safe(r.Version), prev, safe(state))
	}
	return p.ok(map[string]any{"dir": in.Dir(), "plugins": rows}, b.String())
}

// verifyInstalled is verify --dir PLUGINS [NAME...]: the installed trees
// against the lock file. Exit 1 if any differs.
func verifyInstalled(args []string, stdout, stderr io.Writer) int {
	p, in, pos, rc := dirVerb("verify", args, stdout, stderr, false)
	if rc >= 0 {
		return rc
	}
	if err := in.Verify(pos...); err != nil {
		if p.asJSON {
			writeJSONFailure(stdout, pkgCode(err), "%v", err)
		} else {
			for _, line := range strings.Split(err.Error(), "\n") {
				fmt.Fprintf(stdout, "%s: %s\n", pkgCode(err), safe(line))
			}
		}
		return exitInvalid
	}
	return p.ok(map[string]any{"dir": in.Dir()}, "ok: every installed plugin matches "+in.LockPath()+"\n")
}

func searchVerb(args []string, stdout, stderr io.Writer) int {
	fs, asJSON := newFlags("search", stderr)
	f := addInstallerFlags(fs, true)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return flagFailure(err, args, stdout)
	}
	p := pkgOut{"search", *asJSON, stdout, stderr}
	if *f.index == "" || *f.indexKey == "" || len(pos) > 1 {
		return p.usage(fs, "--index, --index-key and at most one TERM are required")
	}
	if *f.dir == "" {
		tmp, err := os.MkdirTemp("", "clawd-search-")
		if err != nil {
			return p.fail(err)
		}
		defer os.RemoveAll(tmp)
		*f.dir = tmp
	}
	term := ""
	if len(pos) == 1 {
		term = pos[0]
	}
	in, err := f.open(p, context.Background())
	if err != nil {
		return p.fail(err)
	}
	ms, err := in.Search(context.Background(), term)
	if err != nil {
		return p.fail(err)
	}
	var b strings.Builder
	for _, m := range ms {
		latest := m.Latest
		if latest == "" {
			latest = "(no build for this platform)"
		}
		fmt.Fprintf(&b, "%-20s %-12s %s\n", safe(m.Name), safe(latest), safe(m.Description))
	}
	return p.ok(map[string]any{"plugins": ms}, b.String())
}
