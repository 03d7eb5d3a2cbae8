// Package manifest lets a program read a plugin's manifest (Load, LoadDir)
// and decide, with a Trust, whether its library may be opened.
//
// # Two formats, one type
//
// A plugin directory holds one manifest: plugin.toml, the native format, or
// clawd-plugin.json, the format of the reference daemon (Find prefers
// plugin.toml). Both read into a Manifest:
//
//	name        = "echo"                  # required, at most 128 bytes
//	version     = "1.0.0"                 # required; not checked for semver here
//	description = "reports what it sees"
//	author      = "Ada"
//	runtime     = "dylib"                 # the default; "wasm": a WebAssembly module (package wasm)
//	entry       = "libecho.so"            # relative to the manifest, never outside it
//	capabilities = ["network.relay"]
//	signature   = "base64 Ed25519 over the entry's bytes"
//	sha256      = "hex pin of the entry's bytes"  # optional
//	sandbox     = "native"                # the default; "process": a child process (package isolate)
//	concurrent  = false
//	call_timeout_ms = 5000                # in the process sandbox: the longest one call may take
//	max_processes = 16                    # in the process sandbox: most processes+threads; 0 or absent: the host's default
//	memory_limit_mb = 64                  # runtime "wasm" only: the guest's memory cap (default 256, at most 4096)
//	env = ["LANG", "MODE=fast"]           # in the process sandbox: NAME=VALUE, or NAME for the host's value
//	files = ["README", "data/words.txt"]  # extra files a package of the plugin holds (package install)
//
// entry may instead be a table with one library per GOOS, or per
// GOOS_GOARCH (which wins over GOOS on that machine):
//
//	[entry]
//	linux_amd64 = "lib/amd64/libecho.so"
//	linux_arm64 = "lib/arm64/libecho.so"
//	darwin      = "libecho.dylib"
//
// An entry table is signed per entry, each signature over its own
// library's bytes (made where that library is built), in a table keyed as
// the entry table; Manifest.Signature is then this system's:
//
//	[signatures]
//	linux_amd64 = "base64 Ed25519 over lib/amd64/libecho.so"
//	darwin      = "base64 Ed25519 over libecho.dylib"
//
// A manifest written before per-entry signatures (an entry table and one
// top-level signature) still loads: its signature is this system's.
//
// entry, like every path of a manifest (files too), stays inside the plugin directory:
// a path with "..", an absolute path, or (checked by Trust.Verify when it
// opens the file) a symlink that resolves outside the directory is
// manifest_invalid. A symlink inside it is followed.
//
// max_processes and env are for the process sandbox (package isolate): the
// most processes and threads the plugin may run, and what its environment
// gets besides the sandbox's allowlist. Each env name is a valid
// environment variable name (letters, digits and _, not starting with a
// digit) and appears once; a value holds no NUL.
//
// A wasm plugin (runtime = "wasm", entry a .wasm file) runs in package
// wasm whatever sandbox says: a WebAssembly guest is sandboxed by
// construction (no host memory, no file or socket but what its
// capabilities grant), so sandbox = "process" asks for nothing more.
// call_timeout_ms and env apply to it as to the process sandbox.
//
// The JSON file takes the same field names. The two differ on purpose in one
// way: an unknown key in plugin.toml is an error (it is our format, and a
// typo such as "capabilites" must not silently grant nothing), while an
// unknown key in clawd-plugin.json is ignored, because a plugin written for
// the reference daemon must load here unchanged, whatever the daemon adds to
// its format later. A JSON null counts as an absent field.
//
// A key given twice in one object, at any depth (an unknown field's
// members too), is manifest_invalid in both formats: TOML forbids it, and
// JSON decoders differ on which of the two counts. The error names the
// key's path and both places, line:column:
//
//	clawd-plugin.json:6:3: capabilities: key repeated (first at 5:3); give each key once (decoders differ on which one counts)
//
// # Errors
//
// Load returns a *clawerr.Error whose Code is manifest_invalid,
// capability_unknown or runtime_unsupported, whose Plugin is the plugin's
// directory, and whose Detail names the file, the line (always for TOML,
// and for JSON where it is known) and the field:
//
//	plugin.toml:7: capabilities[1]: unknown capability "net" (known: fs.read, fs.write, network.relay, daemon.rpc)
//
// so errors.Is(err, clawerr.CapabilityUnknown) selects one kind of failure.
// The first problem found is reported; fields are checked in the order of
// the example above.
//
// # Trust
//
// Trust.Verify decides whether the entry may be opened: it checks the sha256
// pin and the Ed25519 signature under a Policy (require, warn or off; the
// zero Policy is PolicyRequire, so a forgotten setting fails closed). It
// refuses an entry that is not a regular file (a FIFO or a device, without
// blocking on it) or is larger than Trust.MaxEntrySize (256 MiB by default)
// before reading it, then reads the library once, streaming (hashes,
// signature and copy in constant memory), writes the bytes it verified to a
// private copy with a unique path and checks that copy's format (a
// truncated, foreign or malformed library is open_failed before anything
// maps it). The copy is what the host must open: the file that was
// checked can then not be swapped before it is opened, and the dynamic
// loader, which caches libraries by path, cannot hand back the mapping of a
// previous version on hot reload. The host removes the copy when it closes
// the plugin (on Unix it may remove it as soon as the library is open).
//
// Keys are base64 (standard encoding) of the raw Ed25519 bytes: 32 for a
// public key, 64 (seed then public key) for a private key, as written by
// `clawd-plugin keygen`; a signature is base64 of the 64-byte Ed25519
// signature over the entry file's bytes, as the reference daemon expects.
//
// `clawd-plugin sign` puts a signature into a manifest file, or the
// per-entry signatures of an entry table, changing nothing else in a
// plugin.toml; `clawd-plugin verify` checks every entry's signature. A
// Trust's keys are crypto/ed25519 public keys: decode a key file's base64
// with encoding/base64 (StdEncoding).
package manifest
