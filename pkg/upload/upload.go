package upload

// Uploader: slot request + streaming PUT + retry on a fresh slot. A slot
// is used for one attempt only: after a failed PUT the old slot may be
// half-written, expired or already consumed, and services (Prosody's
// among them) refuse a second PUT to it.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/xmppctl/xmppctl/pkg/conn"
)

// File is one thing to upload.
type File struct {
	Name        string // the filename the service sees (and puts in the URL)
	Size        int64  // exact byte count; the PUT fails if the source differs
	ContentType string
	// Open returns the bytes from the start; it is called once per
	// attempt. A source that cannot be re-read returns an error the
	// second time, which ends the retries.
	Open func() (io.ReadCloser, error)
}

// Result is a finished upload.
type Result struct {
	URL         string // the GET URL to share
	Size        int64
	ContentType string
	SHA256      string // hex digest of the bytes sent
	Attempts    int
}

// Uploader uploads files to one service.
type Uploader struct {
	Session   conn.Session
	Service   *Service
	HTTP      *http.Client // nil = http.DefaultClient
	AllowHTTP bool         // allow plain-http URLs to hosts other than loopback
	// RequireHTTPS refuses slots whose URLs are not https, even on
	// loopback, before anything is sent (XEP-0454 files).
	RequireHTTPS bool
	Retries      int           // further attempts, each on a fresh slot, after a failed PUT
	Backoff      time.Duration // wait before the first retry, doubled each time (0 = 1s)
	Timeout      time.Duration // bound for the slot request and for a PUT without progress (0 = none)
	// OnRetry, if set, is told about each failed attempt before the wait.
	OnRetry func(f *File, attempt int, err error, wait time.Duration)
}

// Upload checks the size against the service's limit, requests a slot and
// PUTs the file, retrying failed PUTs on fresh slots. progress (optional)
// is called with the bytes sent so far in the current attempt.
func (u *Uploader) Upload(ctx context.Context, f *File, progress func(sent int64)) (*Result, error) {
	if err := u.Service.Check(f.Name, f.Size); err != nil {
		return nil, err
	}
	wait := u.Backoff
	if wait <= 0 {
		wait = time.Second
	}
	for attempt := 1; ; attempt++ {
		res, err := u.attempt(ctx, f, progress)
		if err == nil {
			res.Attempts = attempt
			return res, nil
		}
		if attempt > u.Retries || !retryable(err) || ctx.Err() != nil {
			if attempt > 1 {
				err = fmt.Errorf("%w (after %d attempts)", err, attempt)
			}
			return nil, err
		}
		if u.OnRetry != nil {
			u.OnRetry(f, attempt, err, wait)
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		wait *= 2
	}
}

// attemptError marks a failure of the HTTP transfer itself, the only kind
// worth a retry.
type attemptError struct{ err error }

func (e *attemptError) Error() string { return e.err.Error() }
func (e *attemptError) Unwrap() error { return e.err }

func retryable(err error) bool {
	var ae *attemptError
	if !errors.As(err, &ae) {
		return false
	}
	var he *HTTPError
	if errors.As(err, &he) {
		return he.Retryable()
	}
	var ce *conn.ConnectError
	return errors.As(err, &ce) && !ce.TLS
}

func (u *Uploader) attempt(ctx context.Context, f *File, progress func(int64)) (*Result, error) {
	sctx, cancel := u.bound(ctx)
	slot, err := RequestSlot(sctx, u.Session, u.Service.JID, Request{Filename: f.Name, Size: f.Size, ContentType: f.ContentType})
	timedOut := ctx.Err() == nil && sctx.Err() == context.DeadlineExceeded
	cancel()
	if err != nil {
		if timedOut {
			return nil, fmt.Errorf("request upload slot: no answer from %s: %w", u.Service.JID, context.DeadlineExceeded)
		}
		return nil, err
	}
	for _, raw := range []string{slot.PutURL, slot.GetURL} {
		if err := CheckURL(raw, u.AllowHTTP); err != nil {
			return nil, err
		}
		if u.RequireHTTPS && !strings.HasPrefix(strings.ToLower(raw), "https://") {
			return nil, &InsecureURLError{URL: raw, Encrypted: true}
		}
	}
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", f.Name, err)
	}
	defer rc.Close()
	if progress != nil {
		progress(0)
	}
	body := &hashingReader{r: rc, h: sha256.New(), left: f.Size, progress: progress}
	client := u.HTTP
	if client == nil {
		client = http.DefaultClient
	}
	if err := Put(ctx, client, slot, body, f.Size, f.ContentType, u.Timeout); err != nil {
		var he *HTTPError
		var ce *conn.ConnectError
		if errors.As(err, &he) || errors.As(err, &ce) {
			return nil, &attemptError{err: err}
		}
		return nil, err
	}
	if body.left != 0 {
		return nil, fmt.Errorf("%s: sent %d of %d bytes", f.Name, f.Size-body.left, f.Size)
	}
	return &Result{URL: slot.GetURL, Size: f.Size, ContentType: f.ContentType,
		SHA256: hex.EncodeToString(body.h.Sum(nil))}, nil
}

func (u *Uploader) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if u.Timeout > 0 {
		return context.WithTimeout(ctx, u.Timeout)
	}
	return context.WithCancel(ctx)
}

// ErrSizeChanged reports a source that ended before the announced number
// of bytes (a file truncated during the upload).
var ErrSizeChanged = errors.New("the file changed size during the upload")

// hashingReader yields the first left bytes of r (fewer is an error), hashing them and
// reporting progress. It deliberately has no WriterTo, so the HTTP
// transport copies through its fixed-size buffers.
type hashingReader struct {
	r        io.Reader
	h        hash.Hash
	left     int64
	sent     int64
	progress func(int64)
}

func (h *hashingReader) Read(p []byte) (int, error) {
	if h.left <= 0 {
		// A file that grew (a log being appended to) is sent as it was
		// when its size was taken.
		return 0, io.EOF
	}
	if int64(len(p)) > h.left {
		p = p[:h.left]
	}
	n, err := h.r.Read(p)
	h.h.Write(p[:n])
	h.left -= int64(n)
	h.sent += int64(n)
	if n > 0 && h.progress != nil {
		h.progress(h.sent)
	}
	if err == io.EOF && h.left > 0 {
		return n, fmt.Errorf("read: %w (it shrank)", ErrSizeChanged)
	}
	if err == io.EOF {
		err = nil // reported at the next call, after the size check
	}
	return n, err
}
