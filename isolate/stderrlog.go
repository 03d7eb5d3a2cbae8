package isolate

import (
	"bytes"
	"strings"
	"sync"

	"go.uber.org/zap"
)

// maxStderrLine bounds one stderr line logged (as the in-process limit of a
// log line); the rest of a longer line is dropped.
const maxStderrLine = 64 << 10

// stderrLines logs the child's stderr line by line at debug level, as field
// stream "stderr" with the plugin's fields, so that what a plugin prints
// there is seen (run -v) as it would be in process, where it shares the
// host's stderr. It never fails a write: the crash tail beside it must
// keep every byte.
type stderrLines struct {
	p    *plugin
	mu   sync.Mutex
	buf  []byte
	long bool // the line in buf was cut
}

func (w *stderrLines) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := len(b)
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		chunk := b
		if i >= 0 {
			chunk = b[:i]
		}
		if room := maxStderrLine - len(w.buf); len(chunk) > room {
			chunk, w.long = chunk[:room], true
		}
		w.buf = append(w.buf, chunk...)
		if i < 0 {
			break
		}
		w.flush()
		b = b[i+1:]
	}
	return n, nil
}

// flush logs the line in buf; the caller holds mu.
func (w *stderrLines) flush() {
	line := strings.ToValidUTF8(strings.TrimRight(string(w.buf), "\r"), "\uFFFD")
	fields := []zap.Field{zap.String("stream", "stderr")}
	if w.long {
		fields = append(fields, zap.Bool("truncated", true))
	}
	w.p.id.Load().log.Debug(line, fields...)
	w.buf, w.long = w.buf[:0], false
}
