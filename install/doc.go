// Package install lets a program install, update, roll back and remove signed
// plugin packages from an index, into a plugin directory that package host
// discovers.
//
// # Publishing
//
// `clawd-plugin pack` writes a package: a deterministic tar.gz of a plugin directory (the
// manifest, every entry of its entry table, the files its files field
// lists, nothing else) and FILE.sig, the publisher's Ed25519 signature of
// the archive's bytes with a key `clawd-plugin keygen` makes. One package
// may carry entries for several platforms:
//
//	[entry]
//	linux_amd64  = "lib/linux-amd64/libecho.so"
//	linux_arm64  = "lib/linux-arm64/libecho.so"
//	darwin       = "lib/darwin/libecho.dylib"   # a GOOS key: the machines its library is for
//
// `clawd-plugin index` lists every package of a directory in index.json, signed by
// the index's key (index.json.sig): per plugin name, its versions with
// runtime, ABI version, capabilities asked, platforms (GOOS/GOARCH, or
// "any" for a WebAssembly module), archive sha256 and size, the
// publisher's signature and key id, and a yanked flag; the publishers'
// keys themselves, which the index pins; a generated time and a serial one
// above the previous index's.
//
// Key ids are sigkey.KeyID: "ed25519:" and the first 16 hex digits of
// the SHA-256 of the 32-byte public key. An id only finds a key in the
// index's keys; what verifies is the whole key.
//
// # Installing
//
// An Installer works on one plugin directory. Install("NAME@CONSTRAINT"):
//
//  1. reads the index (a directory, file:// or https://; plain http:// only
//     with WithAllowHTTP), verifies its signature with the key the caller
//     configured (WithIndexKey; never a key the server sends), and refuses
//     a serial older than the last one recorded in the lock file
//     (index_stale);
//  2. picks the newest non-yanked version that matches and has a build for
//     this GOOS/GOARCH (or is WebAssembly) at ABI version 1 (not_found when
//     no version matches, incompatible when none runs here);
//  3. downloads the archive into PLUGINS/.clawd/tmp, refusing more bytes
//     than the index announces, and fewer (checksum_mismatch: the size is
//     part of the index's pin), reporting progress to WithProgress;
//  4. checks its sha256 (checksum_mismatch) and the publisher's signature
//     with the key the index pins (signature_invalid) before anything reads
//     it;
//  5. unpacks it into PLUGINS/.clawd/staging/NAME-*, refusing absolute
//     paths, "..", symlinks, hard links, devices, FIFOs, duplicates, more
//     than WithLimits files or bytes (unsafe_archive);
//  6. checks that the manifest inside says the index entry's name, version,
//     runtime and capabilities (manifest_invalid), holds nothing its
//     manifest does not list (unsafe_archive) and has an entry for this
//     platform (incompatible);
//  7. asks WithConsent for the capabilities not granted before (all of
//     them on a first install); no Consent, or a no, is consent_required;
//  8. opens it once (WithTrial; by default: a native library in a
//     child process, so the program calls isolate.Main first in main);
//  9. commits under a journal (.clawd/journal, written atomically first):
//     the installed version (if any) moves to .clawd/backup/NAME, staging
//     renames to PLUGINS/NAME, the lock file PLUGINS/clawd.lock is written
//     atomically (the commit point), the backup becomes
//     .clawd/previous/NAME, kept for Rollback, and the journal goes.
//
// A failure at any step leaves the directory as it was: nothing in the
// plugin directory, nothing in the lock file. A process killed at any
// step of Install, Update, Rollback or Remove (or of the recovery from
// such a kill) leaves a journal the next operation replays: the renames
// undone in reverse if the lock file is not the one the journal names,
// the steps after the commit finished if it is. The lock file and the
// tree agree: old or new, never a mix, nothing the lock names lost. A host
// watching the directory (host.WithWatch) sees NAME appear or change and
// loads it; during the two renames of an update it may see NAME missing
// for an instant and stop the plugin until the new one is there.
//
// .clawd starts with a dot and holds no manifest, so the host's discovery
// never takes it or anything in it for a plugin. The installer refuses to
// replace a PLUGINS/NAME it did not install.
//
// Nothing on disk is trusted: the plugin directory is opened as an
// os.Root, so no rename or removal resolves outside it; .clawd, its
// folders and its lock file are refused (unsafe_archive) if they are a
// link; a plugin folder or kept version that is a link is moved or
// removed as a link and never matches the lock file. Plugin names pass
// the name rule (bad_name) before a path is built from them.
//
// Version constraints after NAME@: 1.2.0 (exactly), 1.2 (1.2.x), ^1.2
// (>=1.2.0 <2.0.0; ^0.2 is <0.3.0), ~1.2 (>=1.2.0 <1.3.0), >=1.0, >1.0,
// <2, <=2, and several joined by commas. A prerelease is picked only when
// named exactly. A version is read one way in the module (internal/semver:
// Semantic Versioning 2.0.0, no "v" prefix), here as in a plugin's table;
// the constraints are version.go's, a few dozen lines rather than a
// dependency.
//
// # The lock file
//
// PLUGINS/clawd.lock (JSON) records, per plugin, the version, the source
// (the index or the package file), the archive's sha256, the content hash
// of the unpacked tree (the sha256 of the lines "PATH\x00SHA256\n" of
// every file, sorted by path), the sha256 of each file, the publisher key
// id and the capabilities granted, and the version kept for rollback; per
// index key id, the last serial seen. Update, List, Verify and Rollback
// compare the tree with it; host.WithLockFile makes a host refuse a
// plugin whose files no longer match (checksum_mismatch) and grant it no
// more than the lock records.
//
// One installer at a time per directory: every operation holds an
// advisory lock on .clawd/lock (flock; LockFileEx on Windows); another
// waits up to WithLockWait, then is refused with busy.
package install
