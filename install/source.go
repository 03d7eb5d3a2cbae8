package install

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/clawd-go/clawd/clawerr"
	"github.com/clawd-go/clawd/internal/pkgindex"
)

// source is where an index and its packages are read from: a directory
// (or file:// URL), or an https:// URL (http:// only with AllowHTTP).
type source struct {
	text   string // as given, for the lock file and messages
	dir    string // a directory, or
	base   *url.URL
	client *http.Client
}

func newSource(s string, o *options) (*source, error) {
	src := &source{text: s, client: o.client}
	bad := func(why string) error {
		return clawerr.New(clawerr.InvalidArgument, "", "index", fmt.Sprintf("index %q: %s", s, why), nil)
	}
	switch {
	case s == "":
		return nil, bad("no index given")
	case strings.HasPrefix(s, "file://"):
		u, err := url.Parse(s)
		if err != nil || u.Host != "" && u.Host != "localhost" {
			return nil, bad("want file:///ABSOLUTE/DIR")
		}
		p := u.Path
		// file:///C:/dir on Windows: the drive follows the path's first slash.
		if runtime.GOOS == "windows" && len(p) >= 3 && p[0] == '/' && p[2] == ':' {
			p = p[1:]
		}
		if !filepath.IsAbs(filepath.FromSlash(p)) {
			return nil, bad("want file:///ABSOLUTE/DIR")
		}
		src.dir = filepath.FromSlash(p)
	case strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://"):
		u, err := url.Parse(s)
		if err != nil || u.Host == "" {
			return nil, bad("not a URL")
		}
		if u.Scheme == "http" && !o.allowHTTP {
			return nil, bad("plain http is refused (use https, or allow it explicitly)")
		}
		if !strings.HasSuffix(u.Path, "/") {
			u.Path += "/"
		}
		src.base = u
	case strings.Contains(s, "://"):
		return nil, bad("unknown scheme (want a directory, file://, or https://)")
	default:
		abs, err := filepath.Abs(s)
		if err != nil {
			return nil, bad(err.Error())
		}
		src.dir = abs
	}
	if src.dir != "" {
		src.text = src.dir
	}
	return src, nil
}

// get copies the file name of the source to w. With want >= 0 it must be
// exactly want bytes (checksum_mismatch otherwise: a download cut short, or
// a server sending more than the index announces); else at most max bytes.
func (s *source) get(ctx context.Context, name string, want, max int64, w io.Writer, prog Progress) (int64, error) {
	limit := max
	if want >= 0 {
		limit = want
	}
	where := s.where(name)
	var body io.Reader
	var announced int64 = -1
	if s.dir != "" {
		p := filepath.Join(s.dir, name)
		st, err := os.Stat(p)
		if errors.Is(err, os.ErrNotExist) {
			return 0, clawerr.New(clawerr.NotFound, "", "download", where+": no such file", nil)
		}
		if err != nil {
			return 0, clawerr.New(clawerr.Unavailable, "", "download", where, err)
		}
		if !st.Mode().IsRegular() {
			return 0, clawerr.New(clawerr.NotFound, "", "download", where+": not a regular file", nil)
		}
		f, err := os.Open(p)
		if err != nil {
			return 0, clawerr.New(clawerr.Unavailable, "", "download", where, err)
		}
		defer f.Close()
		body, announced = f, st.Size()
	} else {
		u := s.base.ResolveReference(&url.URL{Path: url.PathEscape(name)})
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return 0, clawerr.New(clawerr.InvalidArgument, "", "download", where, err)
		}
		resp, err := s.client.Do(req)
		if err != nil {
			return 0, clawerr.New(clawerr.Unavailable, "", "download", where, err)
		}
		defer resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusNotFound:
			return 0, clawerr.New(clawerr.NotFound, "", "download", where+": 404 not found", nil)
		case resp.StatusCode != http.StatusOK:
			return 0, clawerr.New(clawerr.Unavailable, "", "download", fmt.Sprintf("%s: HTTP status %d", where, resp.StatusCode), nil)
		}
		body, announced = resp.Body, resp.ContentLength
	}
	if announced > limit {
		return 0, s.sizeErr(where, want, max, announced, "announces")
	}
	if prog != nil {
		total := want
		if total < 0 {
			total = announced
		}
		prog.Start(name, total)
		defer prog.Done()
		w = io.MultiWriter(w, progressWriter{prog})
	}
	n, err := io.Copy(w, io.LimitReader(body, limit+1))
	if n > limit {
		return n, s.sizeErr(where, want, max, n, "sent at least")
	}
	if err != nil {
		if want >= 0 {
			return n, clawerr.New(clawerr.ChecksumMismatch, "", "download", fmt.Sprintf("%s: cut short at %d of the %d bytes the index announces", where, n, want), err)
		}
		return n, clawerr.New(clawerr.Unavailable, "", "download", where, err)
	}
	if want >= 0 && n != want {
		return n, clawerr.New(clawerr.ChecksumMismatch, "", "download", fmt.Sprintf("%s: cut short at %d of the %d bytes the index announces", where, n, want), nil)
	}
	return n, nil
}

func (s *source) sizeErr(where string, want, max, n int64, verb string) error {
	if want >= 0 {
		return clawerr.New(clawerr.ChecksumMismatch, "", "download", fmt.Sprintf("%s: the server %s %d bytes, the index announces %d", where, verb, n, want), nil)
	}
	return clawerr.New(clawerr.Unavailable, "", "download", fmt.Sprintf("%s: %s %d bytes, more than the limit of %d", where, verb, n, max), nil)
}

func (s *source) where(name string) string {
	if s.dir != "" {
		return filepath.Join(s.dir, name)
	}
	return s.base.ResolveReference(&url.URL{Path: url.PathEscape(name)}).String()
}

type progressWriter struct{ p Progress }

func (w progressWriter) Write(b []byte) (int, error) { w.p.Advance(int64(len(b))); return len(b), nil }

// fetchIndex reads and verifies the index with the trusted key.
func (s *source) fetchIndex(ctx context.Context, key ed25519.PublicKey, max int64) (*pkgindex.Index, error) {
	var data, sig strings.Builder
	if _, err := s.get(ctx, pkgindex.IndexFile, -1, max, &data, nil); err != nil {
		return nil, err
	}
	if _, err := s.get(ctx, pkgindex.IndexFile+pkgindex.SigSuffix, -1, pkgindex.MaxSigSize, &sig, nil); err != nil {
		if clawerr.CodeOf(err) == clawerr.NotFound {
			return nil, clawerr.New(clawerr.SignatureInvalid, "", "index", s.where(pkgindex.IndexFile+pkgindex.SigSuffix)+": the index is not signed", nil)
		}
		return nil, err
	}
	return pkgindex.ParseIndex([]byte(data.String()), []byte(sig.String()), key, s.where(pkgindex.IndexFile))
}
