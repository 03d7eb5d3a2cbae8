package archive_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/archive"
)

// tarOf is a tar stream of hand-made headers (not gzip'd).
func tarOf(hdrs ...tar.Header) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range hdrs {
		body := bytes.Repeat([]byte("x"), int(max(h.Size, 0)))
		if h.Typeflag != tar.TypeReg {
			h.Size = 0
			body = nil
		}
		if tw.WriteHeader(&h) == nil {
			tw.Write(body)
		}
	}
	tw.Close()
	return buf.Bytes()
}

// FuzzExtract feeds hostile archives to Extract. The input is a tar
// stream, gzip'd by the harness so the fuzzer works on the headers (an
// input that already starts with the gzip magic is used as it is).
// Whatever the bytes: an unsafe_archive refusal, or files within the
// limits, each under a name CheckName accepts, regular, inside the
// directory; nothing is ever written beside it. Run longer with
//
//	go test -run '^$' -fuzz '^FuzzExtract$' -fuzztime 90s ./internal/archive/
func FuzzExtract(f *testing.F) {
	reg := func(name string, size int64) tar.Header {
		return tar.Header{Typeflag: tar.TypeReg, Name: name, Size: size, Mode: 0o644}
	}
	for _, s := range [][]byte{
		tarOf(reg("plugin.toml", 10), reg("lib/libecho.so", 100), reg("README", 3)),
		tarOf(reg("../evil", 1)),
		tarOf(reg("a/../../evil", 1)),
		tarOf(reg("/etc/evil", 1)),
		tarOf(tar.Header{Typeflag: tar.TypeSymlink, Name: "l", Linkname: "/etc"}, reg("l/x", 1)),
		tarOf(tar.Header{Typeflag: tar.TypeLink, Name: "h", Linkname: "../../x"}),
		tarOf(tar.Header{Typeflag: tar.TypeDir, Name: "d/", Mode: 0o755}, reg("d/f", 2)),
		tarOf(reg("a", 1), reg("a", 2)),
		tarOf(reg("a", 1), reg("a/b", 1)),
		tarOf(reg("a/b", 1), reg("a", 1)),
		tarOf(reg("big", 1<<17)),
		tarOf(reg(`a\b`, 1), reg("c:d", 1), reg("e\x01f", 1)),
		tarOf(tar.Header{Typeflag: tar.TypeReg, Name: "p", Size: 1, PAXRecords: map[string]string{"path": "../pax"}}),
		{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff, 3, 0},
		{},
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		stream := data
		if !bytes.HasPrefix(data, []byte{0x1f, 0x8b}) {
			var buf bytes.Buffer
			gz := gzip.NewWriter(&buf)
			gz.Write(data)
			gz.Close()
			stream = buf.Bytes()
		}
		parent := t.TempDir()
		dir := filepath.Join(parent, "x")
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		lim := archive.Limits{MaxFiles: 16, MaxBytes: 1 << 16}
		names, err := archive.Extract(bytes.NewReader(stream), dir, lim)
		if ents, _ := os.ReadDir(parent); len(ents) != 1 {
			t.Fatalf("written beside the directory: %v", ents)
		}
		if err != nil {
			if c := clawerr.CodeOf(err); c != clawerr.UnsafeArchive {
				t.Fatalf("refused with code %q, want unsafe_archive: %v", c, err)
			}
			return
		}
		if len(names) > lim.MaxFiles || !slices.IsSorted(names) || len(slices.Compact(slices.Clone(names))) != len(names) {
			t.Fatalf("names %q: more than the limit, unsorted or repeated", names)
		}
		tree, err := archive.ReadTree(dir, 0)
		if err != nil {
			t.Fatalf("the extracted tree holds something but regular files: %v", err)
		}
		var total int64
		for _, n := range names {
			if err := archive.CheckName(n); err != nil {
				t.Fatalf("extracted %q: %v", n, err)
			}
			if _, ok := tree[n]; !ok {
				t.Fatalf("%q reported but not on disk", n)
			}
			st, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(n)))
			if err != nil || !st.Mode().IsRegular() {
				t.Fatalf("%q: not a regular file: %v", n, err)
			}
			total += st.Size()
		}
		if len(tree) != len(names) {
			t.Fatalf("on disk %d files, reported %d", len(tree), len(names))
		}
		if total > lim.MaxBytes {
			t.Fatalf("%d bytes written, the limit is %d", total, lim.MaxBytes)
		}
	})
}
