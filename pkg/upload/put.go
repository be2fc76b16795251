package upload

// The HTTP side: one streaming PUT. The body is the caller's reader,
// never buffered whole; Content-Length is always set (an empty file is
// sent as http.NoBody, since Go would otherwise fall back to chunked
// encoding, which upload services may refuse). A PUT that makes no
// progress for the idle bound is cancelled.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/stall"
)

// InsecureURLError reports a plain-http URL to a host that is not the
// local machine.
type InsecureURLError struct {
	URL       string
	Encrypted bool // an XEP-0454 upload, which needs https whatever the host
}

func (e *InsecureURLError) Error() string {
	if e.Encrypted {
		return fmt.Sprintf("refusing plain-http upload url %s: an encrypted file's link must be https (XEP-0454)", e.URL)
	}
	return fmt.Sprintf("refusing plain-http upload url %s: the file and its link would travel unencrypted", e.URL)
}

// CheckURL refuses plain http unless the host is loopback or allowHTTP.
func CheckURL(raw string, allowHTTP bool) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("bad url %q: %w", raw, err)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if allowHTTP || IsLoopback(u.Hostname()) {
			return nil
		}
		return &InsecureURLError{URL: raw}
	}
	return fmt.Errorf("url %q: unsupported scheme %q", raw, u.Scheme)
}

// IsLoopback reports whether host names the local machine: a loopback
// IP address or "localhost" (RFC 6761 reserves it for loopback).
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// HTTPError is an answer to the PUT other than 200 or 201, redirects
// included.
type HTTPError struct {
	Method string
	URL    string
	Status int
	Text   string // status line text
	Body   string // start of the response body, for the user
}

func (e *HTTPError) Error() string {
	msg := fmt.Sprintf("%s %s: %s", e.Method, e.URL, e.Text)
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

// Retryable reports whether a fresh slot may succeed where this failed.
// A body the server will never take (size, type, malformed request) is
// final; expired or used slots, auth failures and server errors are not.
func (e *HTTPError) Retryable() bool {
	if e.Status/100 == 3 {
		return false // the service would send us away again
	}
	switch e.Status {
	case http.StatusBadRequest, http.StatusLengthRequired, http.StatusRequestEntityTooLarge,
		http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity, http.StatusMethodNotAllowed:
		return false
	}
	return true
}

// Put uploads size bytes from body to the slot's PUT URL with the slot's
// allowed headers and the given Content-Type. idle > 0 cancels the
// request after that long without a byte read from body (or, once all
// was sent, without an answer). Network failures are *conn.ConnectError,
// refusals *HTTPError; an error reading body is returned as is.
func Put(ctx context.Context, client *http.Client, slot *Slot, body io.Reader, size int64, contentType string, idle time.Duration) error {
	rd := &watchedReader{r: body}
	ctx, stop := stall.Watch(ctx, idle, rd.n.Load)
	defer stop()
	var reqBody io.Reader = rd
	if size == 0 {
		reqBody = http.NoBody
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, slot.PutURL, reqBody)
	if err != nil {
		return fmt.Errorf("PUT %s: %w", slot.PutURL, err)
	}
	req.ContentLength = size
	req.GetBody = nil // never re-read the stream for a redirect
	for _, h := range slot.Headers {
		req.Header.Add(h.Name, h.Value)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := noRedirects(client).Do(req)
	if err != nil {
		if rerr := rd.readErr(); rerr != nil {
			return rerr
		}
		if cause := context.Cause(ctx); cause != nil && ctx.Err() != nil {
			var se *stall.Error
			if errors.As(cause, &se) {
				return &conn.ConnectError{Addr: hostOf(slot.PutURL), Err: fmt.Errorf("PUT %s: %w", slot.PutURL, se)}
			}
			if errors.Is(cause, context.Canceled) || errors.Is(cause, context.DeadlineExceeded) {
				return cause
			}
		}
		return &conn.ConnectError{Addr: hostOf(slot.PutURL), TLS: IsTLSError(err),
			Err: fmt.Errorf("PUT %s: %w", slot.PutURL, unwrapURLError(err))}
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusCreated {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	text := oneLine(string(b), 200)
	if resp.StatusCode/100 == 3 {
		text = "redirect not followed"
		if loc := resp.Header.Get("Location"); loc != "" {
			text = "redirect to " + oneLine(loc, 200) + " not followed"
		}
	}
	return &HTTPError{Method: http.MethodPut, URL: slot.PutURL, Status: resp.StatusCode,
		Text: resp.Status, Body: text}
}

// noRedirects returns a copy of client that hands back 3xx answers
// instead of following them: Go turns a PUT answered 301/302/303 into a
// GET of the Location, whose 200 would then pass for a stored file. Only
// the slot's own PUT URL can store it (XEP-0363 §5).
func noRedirects(client *http.Client) *http.Client {
	c := *client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// watchedReader counts what was read and remembers why reading failed.
type watchedReader struct {
	r   io.Reader
	n   atomic.Int64
	mu  sync.Mutex
	err error
}

func (w *watchedReader) Read(p []byte) (int, error) {
	n, err := w.r.Read(p)
	w.n.Add(int64(n))
	if err != nil && err != io.EOF {
		w.mu.Lock()
		w.err = err
		w.mu.Unlock()
	}
	return n, err
}

func (w *watchedReader) readErr() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

func hostOf(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Host
	}
	return ""
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// IsTLSError reports whether an HTTP client error is a failure of TLS
// itself (certificate, handshake), not of the network under it.
func IsTLSError(err error) bool {
	var (
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		verify   *tls.CertificateVerificationError
		alert    tls.AlertError
		rec      tls.RecordHeaderError
	)
	return errors.As(err, &unknown) || errors.As(err, &hostname) || errors.As(err, &invalid) ||
		errors.As(err, &verify) || errors.As(err, &alert) || errors.As(err, &rec)
}

func oneLine(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > max {
		s = s[:max] + "…"
	}
	return s
}
