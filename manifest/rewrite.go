package manifest

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"

	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/manifestfile"
)

// writeSignature sets the signature field of the manifest at path to sig
// and writes the file back atomically (a temporary file renamed over it).
//
// plugin.toml changes by one line: an existing top-level signature = ...
// is replaced, comment after it kept; otherwise a line is inserted after
// the version line. Every other byte stays as it was. clawd-plugin.json is
// rewritten with its members in the same order and a 2-space indent; a
// missing signature goes after the last of the reference daemon's fields
// that precede it (name ... capabilities). Either way the result is parsed
// again and must be the same manifest but for the signature, or nothing is
// written. The manifest must be valid to begin with (the error is Load's).
func writeSignature(path, sig string) error {
	return rewrite(path, func(m *Manifest, src []byte) ([]byte, error) { return setSignature(m, src, sig) })
}

// The signature writers are for `clawd-plugin sign`, not for a host.
func init() {
	manifestfile.WriteSignature, manifestfile.WriteSignatures = writeSignature, writeSignatures
}

// rewrite loads the manifest at path, has edit make its new bytes from the
// old, and writes them back atomically over the file (not a link to it),
// keeping its mode.
func rewrite(path string, edit func(m *Manifest, src []byte) ([]byte, error)) error {
	m, err := Load(path)
	if err != nil {
		return err
	}
	target, err := filepath.EvalSymlinks(m.Path) // rewrite the file, not the link
	if err != nil {
		return clawerr.New(clawerr.ManifestInvalid, m.Dir, "sign", "", err)
	}
	src, err := readLimited(target)
	if err != nil {
		return clawerr.New(clawerr.ManifestInvalid, m.Dir, "sign", "", err)
	}
	out, err := edit(m, src)
	if err != nil {
		return err
	}
	st, err := os.Stat(target)
	if err != nil {
		return clawerr.New(clawerr.ManifestInvalid, m.Dir, "sign", "", err)
	}
	if err := writeAtomic(target, out, st.Mode().Perm()); err != nil {
		return clawerr.New(clawerr.ManifestInvalid, m.Dir, "sign", "writing "+filepath.Base(target), err)
	}
	return nil
}

// setSignature returns src with the signature set to sig, checked by
// parsing it again: m is src parsed.
func setSignature(m *Manifest, src []byte, sig string) ([]byte, error) {
	if b, err := base64.StdEncoding.DecodeString(sig); err != nil || len(b) != ed25519.SignatureSize {
		return nil, clawerr.New(clawerr.SignatureInvalid, m.Name, "sign", "not a signature: want base64 of 64 bytes", nil)
	}
	if m.Signatures != nil {
		return nil, clawerr.New(clawerr.ManifestInvalid, m.Dir, "sign", filepath.Base(m.Path)+
			": its entries are signed one by one ([signatures]): set those (clawd-plugin sign), not the top-level signature", nil)
	}
	var (
		out []byte
		err error
	)
	if m.Format == "json" {
		out, err = setSignatureJSON(src, sig)
	} else {
		out, err = setSignatureTOML(src, sig)
	}
	if err == nil {
		var m2 *Manifest
		m2, err = parse(m.Path, out)
		if err == nil {
			want := *m
			want.Signature = sig
			if !reflect.DeepEqual(&want, m2) {
				err = fmt.Errorf("the rewritten manifest reads differently")
			}
		}
	}
	if err != nil {
		return nil, clawerr.New(clawerr.ManifestInvalid, m.Dir, "sign",
			filepath.Base(m.Path)+": cannot set the signature", err)
	}
	return out, nil
}

// writeSignatures sets the per-entry signatures of the manifest at path,
// which must have an entry table: each of sigs (entry key -> base64
// Ed25519 over that entry's bytes) is set, the others already there are
// kept (an entry signed where it was built stays signed), and a top-level
// signature, which the table replaces, is emptied. Written back as
// writeSignature does, parsed again and compared before anything is
// written; plugin.toml gets a [signatures] table, at its end if it has
// none, every other byte kept.
func writeSignatures(path string, sigs map[string]string) error {
	return rewrite(path, func(m *Manifest, src []byte) ([]byte, error) { return setSignatures(m, src, sigs) })
}

// setSignatures returns src with the per-entry signatures set, checked by
// parsing it again: m is src parsed.
func setSignatures(m *Manifest, src []byte, sigs map[string]string) ([]byte, error) {
	if m.Entries == nil {
		return nil, clawerr.New(clawerr.ManifestInvalid, m.Dir, "sign", filepath.Base(m.Path)+
			": one entry, one signature: per-entry signatures are for an entry table", nil)
	}
	merged := map[string]string{}
	for k, v := range m.Signatures {
		merged[k] = v
	}
	for k, sig := range sigs {
		if _, ok := m.Entries[k]; !ok {
			return nil, clawerr.New(clawerr.ManifestInvalid, m.Name, "sign", fmt.Sprintf("no entry.%s to sign", k), nil)
		}
		if b, err := base64.StdEncoding.DecodeString(sig); err != nil || len(b) != ed25519.SignatureSize {
			return nil, clawerr.New(clawerr.SignatureInvalid, m.Name, "sign", "entry."+k+": not a signature: want base64 of 64 bytes", nil)
		}
		merged[k] = sig
	}
	var (
		out []byte
		err error
	)
	// Without a table, Signature is the top-level one (with one, the
	// top-level one is empty: parse refuses both).
	clearTop := m.Signatures == nil && m.Signature != ""
	if m.Format == "json" {
		out, err = setSignaturesJSON(src, clearTop, merged)
	} else {
		out, err = setSignaturesTOML(src, clearTop, sigs)
	}
	if err == nil {
		var m2 *Manifest
		m2, err = parse(m.Path, out)
		if err == nil {
			want := *m
			want.Signatures, want.Signature = merged, merged[m.EntryKey]
			if !reflect.DeepEqual(&want, m2) {
				err = fmt.Errorf("the rewritten manifest reads differently")
			}
		}
	}
	if err != nil {
		return nil, clawerr.New(clawerr.ManifestInvalid, m.Dir, "sign",
			filepath.Base(m.Path)+": cannot set the signatures (write them as a [signatures] table)", err)
	}
	return out, nil
}

// setSignaturesTOML sets each of sigs in the [signatures] table (made at
// the end if missing), one line each, and empties the top-level signature
// if clearTop.
func setSignaturesTOML(src []byte, clearTop bool, sigs map[string]string) ([]byte, error) {
	eol := "\n"
	if bytes.Contains(src, []byte("\r\n")) {
		eol = "\r\n"
	}
	if clearTop {
		sp, ok := indexTOML(src)["signature"]
		if !ok || sp.end <= sp.start {
			return nil, fmt.Errorf("cannot find the top-level signature line")
		}
		src = slices.Concat(src[:sp.start], []byte(`signature = ""`), src[sp.end:])
	}
	keys := make([]string, 0, len(sigs))
	for k := range sigs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		// Entry keys are GOOS or GOOS_GOARCH: bare TOML keys.
		line := k + " = " + strconv.Quote(sigs[k])
		idx, hdr := scanTOML(src)
		if sp, ok := idx["signatures."+k]; ok && sp.end > sp.start {
			if eq := bytes.IndexByte(src[sp.start:sp.end], '='); eq > 0 {
				line = string(bytes.TrimSpace(src[sp.start:sp.start+eq])) + " = " + strconv.Quote(sigs[k])
			}
			src = slices.Concat(src[:sp.start], []byte(line), src[sp.end:])
			continue
		}
		if at, ok := hdr["signatures"]; ok {
			nl := bytes.IndexByte(src[at:], '\n')
			if nl < 0 {
				src = slices.Concat(src, []byte(eol+line+eol))
			} else {
				at += nl + 1
				src = slices.Concat(src[:at], []byte(line+eol), src[at:])
			}
			continue
		}
		if _, ok := idx["signatures"]; ok {
			return nil, fmt.Errorf("signatures is not written as a [signatures] table")
		}
		if len(src) > 0 && src[len(src)-1] != '\n' {
			src = append(slices.Clone(src), eol...)
		}
		src = slices.Concat(src, []byte(eol+"# Per-entry signatures (clawd-plugin sign): each over its entry's bytes."+eol+"[signatures]"+eol+line+eol))
	}
	return src, nil
}

// setSignaturesJSON sets the signatures member to sigs (every key), after
// signature or else after the entry member, and empties a top-level
// signature if clearTop.
func setSignaturesJSON(src []byte, clearTop bool, sigs map[string]string) ([]byte, error) {
	members, err := jsonMembers(src)
	if err != nil {
		return nil, err
	}
	table, _ := json.Marshal(sigs) // keys sorted; strings only: cannot fail
	empty, _ := json.Marshal("")
	found, after := false, -1
	for i := range members {
		switch members[i].key {
		case "signatures":
			members[i].val, found = table, true
		case "signature":
			if clearTop {
				members[i].val = empty
			}
			after = i
		case "entry":
			if after < 0 {
				after = i
			}
		}
	}
	if !found {
		members = slices.Insert(members, after+1, member{"signatures", table})
	}
	return writeJSONMembers(members)
}

func setSignatureTOML(src []byte, sig string) ([]byte, error) {
	line := "signature = " + strconv.Quote(sig) // base64 needs no TOML escapes
	idx := indexTOML(src)
	if sp, ok := idx["signature"]; ok && sp.end > sp.start {
		return slices.Concat(src[:sp.start], []byte(line), src[sp.end:]), nil
	}
	sp, ok := idx["version"]
	if !ok || sp.end <= sp.start {
		return nil, fmt.Errorf("no top-level version line to put the signature after")
	}
	eol := "\n"
	if bytes.Contains(src, []byte("\r\n")) {
		eol = "\r\n"
	}
	nl := bytes.IndexByte(src[sp.end:], '\n')
	if nl < 0 {
		return slices.Concat(src, []byte(eol+line)), nil
	}
	at := sp.end + nl + 1
	return slices.Concat(src[:at], []byte(line+eol), src[at:]), nil
}

// referenceOrder is the reference daemon's field order, which a new
// signature member follows.
var referenceOrder = []string{"name", "version", "description", "author", "runtime", "entry", "capabilities"}

// member is one member of a JSON object, its value as written.
type member struct {
	key string
	val json.RawMessage
}

// jsonMembers reads the members of the JSON object src, in order.
func jsonMembers(src []byte) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(bytes.TrimPrefix(src, []byte("\uFEFF"))))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("not a JSON object")
	}
	var members []member
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		k, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		members = append(members, member{k, v})
	}
	return members, nil
}

func setSignatureJSON(src []byte, sig string) ([]byte, error) {
	members, err := jsonMembers(src)
	if err != nil {
		return nil, err
	}
	sigJSON, _ := json.Marshal(sig) // a string: cannot fail
	found, after := false, -1
	for i := range members {
		if members[i].key == "signature" {
			members[i].val, found = sigJSON, true
		}
		if slices.Contains(referenceOrder, members[i].key) {
			after = i
		}
	}
	if !found {
		members = slices.Insert(members, after+1, member{"signature", sigJSON})
	}
	return writeJSONMembers(members)
}

// writeJSONMembers writes an object of members with a 2-space indent.
func writeJSONMembers(members []member) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("{")
	for i, mb := range members {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString("\n  ")
		k, err := marshalNoEscape(mb.key)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteString(": ")
		if err := json.Indent(&b, mb.val, "  ", "  "); err != nil {
			return nil, err
		}
	}
	if len(members) > 0 {
		b.WriteString("\n")
	}
	b.WriteString("}\n")
	return b.Bytes(), nil
}

// marshalNoEscape encodes s as JSON without turning <, > and & into \u
// escapes, so keys come back as they were written.
func marshalNoEscape(s string) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// writeAtomic replaces path with data: a reader sees the old file or the
// new one, never half of it.
func writeAtomic(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, perm)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}
