package main

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// safe makes text from a plugin (a log line, an event, a name, an error
// that quotes the plugin or its stderr) printable on one terminal line:
// control characters (newlines, ANSI escapes, DEL, C1), Unicode line and
// paragraph separators and bidirectional controls are written as Go
// escapes (\n, \x1b, \u202e), and invalid UTF-8 as U+FFFD, so a plugin
// cannot forge a line of ours or restyle the terminal. --json needs
// nothing of this: its strings are escaped by encoding/json.
func safe(s string) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || needsEscape(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		switch {
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case needsEscape(r) && r < 0x80:
			fmt.Fprintf(&b, `\x%02x`, r)
		case needsEscape(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func needsEscape(r rune) bool {
	return unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || unicode.Is(unicode.Bidi_Control, r)
}

// safeLines is safe for text printed as several lines under a label: each
// line is made safe, and every line after the first is indented by indent,
// so none of them can pass for a line of ours.
func safeLines(s, indent string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = safe(l)
	}
	return strings.Join(lines, "\n"+indent)
}

// duration prints d for people: 88µs, 1.2ms, 1.2s, 2m3s.
func duration(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%dµs", d.Round(time.Microsecond).Microseconds())
	case d < time.Second:
		return trimZero(fmt.Sprintf("%.1f", float64(d)/float64(time.Millisecond))) + "ms"
	case d < time.Minute:
		return trimZero(fmt.Sprintf("%.1f", d.Seconds())) + "s"
	}
	return d.Round(time.Second).String()
}

func trimZero(s string) string { return strings.TrimSuffix(s, ".0") }

// plural is "1 plugin", "2 plugins", "0 plugins".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// withoutCode is an error's text for a line that shows its code already:
// without the leading "clawd: " and without the code, as clawerr.Message
// makes it from the error itself (here only its text is at hand: a
// child's report).
func withoutCode(msg, code string) string {
	msg = strings.Replace(msg, "clawd: ", "", 1)
	if code != "" {
		msg = strings.Replace(msg, code+": ", "", 1)
	}
	return msg
}
