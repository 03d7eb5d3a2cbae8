package main

// keygen, sign and verify: Ed25519 keys and the signature field of a
// plugin's manifest (package manifest has the formats).
//
//	clawd-plugin keygen [--out PREFIX]
//	clawd-plugin sign --key FILE [--print] DIR|MANIFEST
//	clawd-plugin verify --pub FILE [--pub FILE]... DIR|MANIFEST

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"github.com/clawd-go/clawd/internal/sigkey"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/entrysig"
	"github.com/clawd-go/clawd/internal/libfile"
	"github.com/clawd-go/clawd/internal/manifestfile"
	"github.com/clawd-go/clawd/manifest"
)

func init() {
	verbs["keygen"] = keygen
	verbs["sign"] = sign
	verbs["verify"] = verify
}

const defaultKeyPrefix = "clawd-plugin"

func keygen(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("keygen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	prefix := fs.String("out", defaultKeyPrefix, "write PREFIX.key (private) and PREFIX.pub (public)")
	fs.Usage = func() { printVerbHelp(stderr, "keygen", fs) }
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return flagFailure(err, args, stdout)
	}
	if len(pos) != 0 || *prefix == "" {
		fmt.Fprintln(stderr, "clawd-plugin keygen: no arguments expected besides --out PREFIX (non-empty)")
		fs.Usage()
		return exitUsage
	}
	privPath, pubPath := *prefix+".key", *prefix+".pub"
	// Check both before writing either, so a refusal leaves nothing behind.
	for _, p := range []string{privPath, pubPath} {
		if _, err := os.Lstat(p); err == nil {
			fmt.Fprintf(stderr, "clawd-plugin keygen: %s exists; refusing to overwrite it\n", p)
			return exitInvalid
		}
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		fmt.Fprintf(stderr, "clawd-plugin keygen: %v\n", err)
		return exitInvalid
	}
	// O_EXCL: a file that appeared since the check is not overwritten either.
	if err := writeNew(privPath, sigkey.EncodePrivateKey(priv)+"\n", 0o600); err != nil {
		fmt.Fprintf(stderr, "clawd-plugin keygen: %v\n", err)
		return exitInvalid
	}
	if err := writeNew(pubPath, sigkey.EncodePublicKey(pub)+"\n", 0o644); err != nil {
		os.Remove(privPath)
		fmt.Fprintf(stderr, "clawd-plugin keygen: %v\n", err)
		return exitInvalid
	}
	fmt.Fprintln(stdout, sigkey.EncodePublicKey(pub))
	fmt.Fprintf(stderr, "wrote %s (private: keep it secret) and %s (public: give it to hosts that should trust your plugins)\n", privPath, pubPath)
	return exitOK
}

func writeNew(path, content string, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	_, err = f.WriteString(content)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
	}
	return err
}

// manifestPath returns the manifest a DIR|MANIFEST argument names.
func manifestPath(arg string) (string, error) {
	if st, err := os.Stat(arg); err == nil && st.IsDir() {
		return manifest.Find(arg)
	}
	return arg, nil
}

// printFailure prints err as "code: message" on w; a failure without a
// code (a key file, say) gets the verb's name instead.
func printFailure(w io.Writer, verb string, err error) {
	if code := clawerr.CodeOf(err); code != "" {
		fmt.Fprintf(w, "%s: %s\n", code, clawerr.Message(err)) // the code once
		return
	}
	fmt.Fprintf(w, "clawd-plugin %s: %v\n", verb, err)
}

func sign(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sign", flag.ContinueOnError)
	fs.SetOutput(stderr)
	keyFile := fs.String("key", "", "the private key file (from keygen)")
	printOnly := fs.Bool("print", false, "print the signature; do not write it into the manifest")
	fs.Usage = func() { printVerbHelp(stderr, "sign", fs) }
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return flagFailure(err, args, stdout)
	}
	if *keyFile == "" || len(pos) != 1 {
		if *keyFile == "" {
			fmt.Fprintln(stderr, "clawd-plugin sign: --key FILE is required")
		} else {
			fmt.Fprintf(stderr, "clawd-plugin sign: one DIR or MANIFEST expected, got %d arguments\n", len(pos))
		}
		fs.Usage()
		return exitUsage
	}
	priv, err := sigkey.ReadPrivateKeyFile(*keyFile)
	if err != nil {
		printFailure(stderr, "sign", err)
		return exitInvalid
	}
	path, err := manifestPath(pos[0])
	if err != nil {
		printFailure(stderr, "sign", err)
		return exitInvalid
	}
	m, err := manifest.Load(path)
	if err != nil {
		printFailure(stderr, "sign", err)
		return exitInvalid
	}
	if m.Entries != nil {
		return signEntries(m, priv, *printOnly, stdout, stderr)
	}
	data, err := os.ReadFile(m.EntryPath())
	if err != nil {
		printFailure(stderr, "sign", clawerr.New(clawerr.OpenFailed, m.Name, "sign", "reading entry "+m.Entry, err))
		return exitInvalid
	}
	sig := sigkey.Sign(priv, data)
	if sum := sha256.Sum256(data); m.SHA256 != "" && m.SHA256 != hex.EncodeToString(sum[:]) {
		fmt.Fprintf(stderr, "warning: the manifest's sha256 pin does not match %s (sha256 %x): verify will fail with %s until the pin is updated\n",
			m.Entry, sum, clawerr.ChecksumMismatch)
	}
	if !*printOnly {
		if err := manifestfile.WriteSignature(m.Path, sig); err != nil {
			printFailure(stderr, "sign", err)
			return exitInvalid
		}
		fmt.Fprintf(stderr, "signed %s; signature written to %s\n", m.Entry, m.Path)
	}
	fmt.Fprintln(stdout, sig)
	return exitOK
}

// signEntries signs each entry of an entry table that is built here (a
// file is there), each over its own bytes, into the manifest's
// [signatures] table; an entry signed before and not built here keeps its
// signature, so each platform's build can sign its own entry. It prints
// this system's signature, as sign does for a single entry.
func signEntries(m *manifest.Manifest, priv ed25519.PrivateKey, printOnly bool, stdout, stderr io.Writer) int {
	keys := make([]string, 0, len(m.Entries))
	for k := range m.Entries {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	sigs := map[string]string{}
	var signed, skipped []string
	for _, k := range keys {
		name := fmt.Sprintf("entry.%s (%s)", k, m.Entries[k])
		path := filepath.Join(m.Dir, filepath.FromSlash(m.Entries[k]))
		if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
			skipped = append(skipped, name)
			continue
		}
		data, err := readEntry(path, m)
		if err != nil {
			printFailure(stderr, "sign", clawerr.New(clawerr.OpenFailed, m.Name, "sign", "reading "+name, err))
			return exitInvalid
		}
		sigs[k] = sigkey.Sign(priv, data)
		signed = append(signed, name)
		if k == m.EntryKey {
			if sum := sha256.Sum256(data); m.SHA256 != "" && m.SHA256 != hex.EncodeToString(sum[:]) {
				fmt.Fprintf(stderr, "warning: the manifest's sha256 pin does not match %s (sha256 %x): verify will fail with %s until the pin is updated\n",
					m.Entry, sum, clawerr.ChecksumMismatch)
			}
		}
	}
	if len(signed) == 0 {
		printFailure(stderr, "sign", clawerr.New(clawerr.NotFound, m.Name, "sign",
			fmt.Sprintf("no entry of the manifest is built (%s): build the plugin first", strings.Join(skipped, ", ")), nil))
		return exitInvalid
	}
	if !printOnly {
		if err := manifestfile.WriteSignatures(m.Path, sigs); err != nil {
			printFailure(stderr, "sign", err)
			return exitInvalid
		}
		fmt.Fprintf(stderr, "signed %s; signatures written to %s\n", strings.Join(signed, ", "), m.Path)
	}
	if len(skipped) > 0 {
		fmt.Fprintf(stderr, "note: not built here, left unsigned (or as signed before): %s; sign again where they are built\n", strings.Join(skipped, ", "))
	}
	if sig, ok := sigs[m.EntryKey]; ok {
		fmt.Fprintln(stdout, sig)
	}
	return exitOK
}

// readEntry reads an entry to sign as verify reads it: a regular file
// inside the plugin directory, links resolved, within the size bound.
func readEntry(path string, m *manifest.Manifest) ([]byte, error) {
	f, err := libfile.Open(path, libfile.Options{Dir: m.Dir, Plugin: m.Name, Op: "sign"})
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var b bytes.Buffer
	if err := f.CopyTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// pubFlags collects repeated --pub flags.
type pubFlags []string

func (p *pubFlags) String() string     { return strings.Join(*p, ",") }
func (p *pubFlags) Set(s string) error { *p = append(*p, s); return nil }

func verify(args []string, stdout, stderr io.Writer) int {
	// verify --dir PLUGINS checks installed packages against the lock
	// file; with --pub it checks a manifest's signature.
	for _, a := range args {
		if a == "--" {
			break
		}
		if a == "--dir" || a == "-dir" || strings.HasPrefix(a, "--dir=") || strings.HasPrefix(a, "-dir=") {
			return verifyInstalled(args, stdout, stderr)
		}
	}
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var pubs pubFlags
	fs.Var(&pubs, "pub", "a trusted public key file (from keygen); repeat for several")
	// Parsed by verifyInstalled; declared here so that help lists them.
	fs.String("dir", "", "check the installed plugins of this plugin directory against its clawd.lock instead")
	fs.Bool("json", false, "with --dir: print one JSON object")
	fs.Usage = func() { printVerbHelp(stderr, "verify", fs) }
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return flagFailure(err, args, stdout)
	}
	if len(pubs) == 0 || len(pos) != 1 {
		if len(pubs) == 0 {
			fmt.Fprintln(stderr, "clawd-plugin verify: at least one --pub FILE is required")
		} else {
			fmt.Fprintf(stderr, "clawd-plugin verify: one DIR or MANIFEST expected, got %d arguments\n", len(pos))
		}
		fs.Usage()
		return exitUsage
	}
	trust := manifest.Trust{Policy: manifest.PolicyRequire}
	for _, p := range pubs {
		k, err := sigkey.ReadPublicKeyFile(p)
		if err != nil {
			printFailure(stdout, "verify", err)
			return exitInvalid
		}
		trust.Keys = append(trust.Keys, k)
	}
	path, err := manifestPath(pos[0])
	if err != nil {
		printFailure(stdout, "verify", err)
		return exitInvalid
	}
	m, err := manifest.Load(path)
	if err != nil {
		printFailure(stdout, "verify", err)
		return exitInvalid
	}
	// Verify writes the verified copy a host would open; here it is only a
	// by-product, in a directory of our own that goes away.
	tmp, err := os.MkdirTemp("", "clawd-plugin-verify-")
	if err != nil {
		printFailure(stdout, "verify", err)
		return exitInvalid
	}
	defer os.RemoveAll(tmp)
	v, err := trust.Verify(m, tmp)
	if err != nil {
		printFailure(stdout, "verify", err)
		return exitInvalid
	}
	if !v.Signed { // PolicyRequire with keys: cannot happen, but never say ok unsigned
		printFailure(stdout, "verify", errors.New("not signed by a trusted key"))
		return exitInvalid
	}
	pin := ""
	if m.SHA256 != "" {
		pin = ", pin matches"
	}
	if m.Entries == nil {
		fmt.Fprintf(stdout, "ok: %s %s: %s signed by a trusted key (sha256 %s%s)\n", m.Name, m.Version, m.Entry, v.SHA256, pin)
		return exitOK
	}
	// An entry table: every entry built here is checked, each against its
	// own signature, so a manifest signed on one system is known to
	// verify on every system it lists.
	checks, err := entrysig.Verify(trust, m)
	if err != nil {
		printFailure(stdout, "verify", err)
		return exitInvalid
	}
	var b strings.Builder
	fmt.Fprintf(&b, "ok: %s %s: %s signed by a trusted key (sha256 %s%s)\n", m.Name, m.Version, m.EntryName(), v.SHA256, pin)
	for _, c := range checks {
		name := fmt.Sprintf("entry.%s (%s)", c.Key, c.Entry)
		switch {
		case c.Key == m.EntryKey:
		case !c.Built:
			fmt.Fprintf(&b, "note: %s: not built here, not checked\n", name)
		case c.Warning != "":
			fmt.Fprintf(&b, "warning: %s\n", c.Warning)
		default:
			fmt.Fprintf(&b, "ok: %s signed by a trusted key (sha256 %s)\n", name, c.SHA256)
		}
	}
	fmt.Fprint(stdout, b.String())
	return exitOK
}
