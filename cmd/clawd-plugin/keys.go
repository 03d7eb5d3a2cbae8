package main

// keygen, sign and verify: Ed25519 keys and the signature field of a
// plugin's manifest (package manifest has the formats).
//
//	clawd-plugin keygen [--out PREFIX]
//	clawd-plugin sign --key FILE [--print] DIR|MANIFEST
//	clawd-plugin verify --pub FILE [--pub FILE]... DIR|MANIFEST

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/clawd-go/clawd/clawerr"
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
	if err := writeNew(privPath, manifest.EncodePrivateKey(priv)+"\n", 0o600); err != nil {
		fmt.Fprintf(stderr, "clawd-plugin keygen: %v\n", err)
		return exitInvalid
	}
	if err := writeNew(pubPath, manifest.EncodePublicKey(pub)+"\n", 0o644); err != nil {
		os.Remove(privPath)
		fmt.Fprintf(stderr, "clawd-plugin keygen: %v\n", err)
		return exitInvalid
	}
	fmt.Fprintln(stdout, manifest.EncodePublicKey(pub))
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
		fmt.Fprintf(w, "%s: %v\n", code, err)
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
	priv, err := manifest.ReadPrivateKeyFile(*keyFile)
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
	data, err := os.ReadFile(m.EntryPath())
	if err != nil {
		printFailure(stderr, "sign", clawerr.New(clawerr.OpenFailed, m.Name, "sign", "reading entry "+m.Entry, err))
		return exitInvalid
	}
	sig := manifest.Sign(priv, data)
	if sum := sha256.Sum256(data); m.SHA256 != "" && m.SHA256 != hex.EncodeToString(sum[:]) {
		fmt.Fprintf(stderr, "warning: the manifest's sha256 pin does not match %s (sha256 %x): verify will fail with %s until the pin is updated\n",
			m.Entry, sum, clawerr.ChecksumMismatch)
	}
	if !*printOnly {
		if err := manifest.WriteSignature(m.Path, sig); err != nil {
			printFailure(stderr, "sign", err)
			return exitInvalid
		}
		fmt.Fprintf(stderr, "signed %s; signature written to %s\n", m.Entry, m.Path)
	}
	fmt.Fprintln(stdout, sig)
	return exitOK
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
		k, err := manifest.ReadPublicKeyFile(p)
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
	fmt.Fprintf(stdout, "ok: %s %s: %s signed by a trusted key (sha256 %s%s)\n", m.Name, m.Version, m.Entry, v.SHA256, pin)
	return exitOK
}
