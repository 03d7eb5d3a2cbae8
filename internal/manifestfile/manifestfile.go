// Package manifestfile is what the module's other packages know of a
// plugin's manifest file without package manifest exporting it: the file
// names, the longest plugin name one may give, and how signatures are
// written into one (for `clawd-plugin sign`), which package manifest,
// the one that parses manifests, installs when it initializes.
package manifestfile

// File names manifest.Find looks for, in order of preference.
const (
	TOMLName = "plugin.toml"
	JSONName = "clawd-plugin.json"
)

// MaxNameLen is the longest plugin name a manifest may give, in bytes.
const MaxNameLen = 128

var (
	// WriteSignature sets the signature field of the manifest at path to
	// sig and writes the file back atomically, changing nothing else in a
	// plugin.toml; the result is parsed again and must be the same
	// manifest but for the signature, or nothing is written.
	WriteSignature func(path, sig string) error
	// WriteSignatures sets the per-entry signatures of the manifest at
	// path, which must have an entry table (entry key -> base64 Ed25519
	// over that entry's bytes), keeping those already there and emptying
	// a top-level signature; checked and written as WriteSignature.
	WriteSignatures func(path string, sigs map[string]string) error
)
