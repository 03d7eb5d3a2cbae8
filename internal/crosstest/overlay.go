package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// Under Wine 8 every os.RemoveAll fails ("unlinkat ...: Invalid
// function"), and with it every t.TempDir cleanup: Go deletes with
// NtSetInformationFile(FileDispositionInformationEx), which Wine 8 answers
// with STATUS_NOT_IMPLEMENTED, and Go falls back to the older call only
// for the statuses Windows itself gives when it lacks the class. The
// Windows test binaries are built with a -overlay of that one Go file that
// adds Wine's status to the fallback's list; nothing of the module
// changes, and programs built the usual way keep Go's behaviour (on
// Windows the first call succeeds).
//
// wineOverlay writes the overlay into dir and returns the -overlay flag,
// or an error naming the Go file when its text is not the one expected.
func wineOverlay(dir string) (string, error) {
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOROOT: %w", err)
	}
	src := filepath.Join(strings.TrimSpace(string(out)), "src", "internal", "syscall", "windows", "at_windows.go")
	text, err := os.ReadFile(src)
	if err != nil {
		return "", err
	}
	anchor := regexp.MustCompile(`(?m)^(\s*)STATUS_NOT_SUPPORTED:(\s*//[^\n]*)?\n(\s*return deleteatFallback\(h\))`)
	loc := anchor.FindSubmatchIndex(text)
	if loc == nil {
		return "", fmt.Errorf("%s: the fallback of Deleteat is not where this Go version had it; the Wine overlay needs updating", src)
	}
	indent := strings.TrimLeft(string(text[loc[2]:loc[3]]), "\r\n")
	end := loc[5]
	if end < 0 {
		end = loc[3] + len("STATUS_NOT_SUPPORTED:")
	}
	patched := string(text[:loc[2]]) + indent + "STATUS_NOT_SUPPORTED,\n" + indent +
		"NTStatus(0xC0000002): // STATUS_NOT_IMPLEMENTED, Wine 8's answer (test binaries only)" + string(text[end:])
	// Not a .go name: go build ./... and gofmt must not see it.
	p := filepath.Join(dir, "wine_at_windows.go.overlay")
	if err := os.WriteFile(p, []byte(patched), 0o644); err != nil {
		return "", err
	}
	js, _ := json.Marshal(map[string]map[string]string{"Replace": {src: p}})
	ov := filepath.Join(dir, "wine_overlay.json")
	if err := os.WriteFile(ov, js, 0o644); err != nil {
		return "", err
	}
	return "-overlay=" + ov, nil
}
