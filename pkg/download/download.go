package download

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/xmppctl/xmppctl/pkg/aesgcm"
	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/stall"
	"github.com/xmppctl/xmppctl/pkg/upload"
)

// MaxRedirects bounds the redirects followed for one download.
const MaxRedirects = 5

// Target is a parsed download URL.
type Target struct {
	URL    string         // what is fetched: https (or allowed http), never with the key
	Secret *aesgcm.Secret // set for aesgcm:// URLs
}

// Name is the file name the URL suggests: its last path element,
// unescaped (so it may contain anything, "/" included: the caller makes
// it safe), or "" if it has none.
func (t *Target) Name() string {
	u, err := url.Parse(t.URL)
	if err != nil {
		return ""
	}
	p := u.EscapedPath()
	name, err := url.PathUnescape(p[strings.LastIndex(p, "/")+1:])
	if err != nil {
		return ""
	}
	return name
}

// InsecureURLError reports a plain-http URL that is not allowed.
type InsecureURLError struct{ URL string }

func (e *InsecureURLError) Error() string {
	return fmt.Sprintf("refusing plain-http url %s: the file would travel unencrypted and could be altered", e.URL)
}

// Parse checks a URL given to download: aesgcm:// (fetched over https),
// https, or http to loopback (any host with allowHTTP).
func Parse(raw string, allowHTTP bool) (*Target, error) {
	if i := strings.Index(raw, ":"); i > 0 && strings.EqualFold(raw[:i], aesgcm.Scheme) {
		u, s, err := aesgcm.ParseURL(raw)
		if err != nil {
			return nil, err
		}
		return &Target{URL: u, Secret: s}, nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("bad url: not a url")
	}
	if u.Host == "" || u.Opaque != "" {
		return nil, errors.New("bad url: no host")
	}
	if u.User != nil {
		return nil, errors.New("bad url: it carries credentials")
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
	case "http":
		if !allowHTTP && !upload.IsLoopback(u.Hostname()) {
			return nil, &InsecureURLError{URL: u.Redacted()}
		}
	default:
		return nil, fmt.Errorf("bad url: unsupported scheme %q (want https or aesgcm)", u.Scheme)
	}
	u.Fragment, u.RawFragment = "", ""
	return &Target{URL: u.String()}, nil
}

// Options tune Get.
type Options struct {
	HTTP    *http.Client  // nil = a client with default settings; its CheckRedirect is replaced
	MaxSize int64         // largest file accepted (plaintext bytes), 0 = no limit
	Idle    time.Duration // end a transfer after this long without a byte, 0 = never
	// Progress, if set, is called with the bytes received so far and the
	// expected total (-1 when the server did not say).
	Progress func(done, total int64)
}

// Result is a finished download.
type Result struct {
	Size        int64 // bytes written (plaintext)
	ContentType string
	Encrypted   bool // an aesgcm URL, decrypted and authenticated
}

// HTTPError is a non-200 answer.
type HTTPError struct {
	URL    string
	Status int
	Text   string
}

func (e *HTTPError) Error() string { return fmt.Sprintf("GET %s: %s", e.URL, e.Text) }

// TooLargeError reports a file over MaxSize.
type TooLargeError struct {
	Size, Max int64 // Size is -1 when the body ran past Max without a Content-Length
}

func (e *TooLargeError) Error() string {
	if e.Size < 0 {
		return fmt.Sprintf("the file is larger than the limit of %d bytes", e.Max)
	}
	return fmt.Sprintf("the file is %d bytes, larger than the limit of %d bytes", e.Size, e.Max)
}

// RedirectError reports a redirect that is not followed.
type RedirectError struct{ Reason string }

func (e *RedirectError) Error() string { return "redirect refused: " + e.Reason }

// ErrTruncated reports a body that ended before its Content-Length.
var ErrTruncated = errors.New("the server closed the connection before the end of the file")

// Get fetches t into w, decrypting and authenticating an aesgcm file.
// Errors: *HTTPError, *TooLargeError, *RedirectError, aesgcm.ErrAuth (a
// bad tag: altered or truncated ciphertext) for refusals by the remote
// side; *conn.ConnectError for network and TLS failures (ErrTruncated
// among them); a *stall.Error cause (errors.Is context.DeadlineExceeded)
// when nothing moved for Idle; ctx's error when cancelled.
func Get(ctx context.Context, t *Target, w io.Writer, o Options) (*Result, error) {
	var moved atomic.Int64
	ctx, stop := stall.Watch(ctx, o.Idle, moved.Load)
	defer stop()
	client := &http.Client{}
	if o.HTTP != nil {
		c := *o.HTTP
		client = &c
	}
	client.CheckRedirect = checkRedirect
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.URL, nil)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", t.URL, err)
	}
	req.Header.Set("Accept-Encoding", "identity") // the bytes as stored: no transparent gunzip
	resp, err := client.Do(req)
	if err != nil {
		return nil, netError(ctx, t.URL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, &HTTPError{URL: t.URL, Status: resp.StatusCode, Text: oneLine(resp.Status)}
	}
	max := o.MaxSize
	overhead := int64(0)
	if t.Secret != nil {
		overhead = aesgcm.TagSize
	}
	total := resp.ContentLength // -1 if unknown
	if total >= 0 {
		if total < overhead {
			return nil, aesgcm.ErrAuth // shorter than a tag: cannot be the file
		}
		if max > 0 && total-overhead > max {
			return nil, &TooLargeError{Size: total - overhead, Max: max}
		}
	}
	res := &Result{ContentType: resp.Header.Get("Content-Type"), Encrypted: t.Secret != nil}
	var dst io.Writer = w
	var dec *aesgcm.Decrypter
	if t.Secret != nil {
		if dec, err = aesgcm.NewDecrypter(w, t.Secret.Key, t.Secret.IV); err != nil {
			return nil, err
		}
		dst = dec
	}
	body := &counter{r: resp.Body, n: &moved, progress: o.Progress, total: total}
	if max > 0 {
		body.limit = max + overhead
	}
	n, err := io.CopyBuffer(dst, body, make([]byte, 64<<10))
	if err != nil {
		if body.tooLarge {
			return nil, &TooLargeError{Size: -1, Max: max}
		}
		if body.readErr {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				err = ErrTruncated
			}
			return nil, netError(ctx, t.URL, err)
		}
		return nil, err // writing: the caller's disk
	}
	if total >= 0 && n != total {
		return nil, netError(ctx, t.URL, ErrTruncated)
	}
	res.Size = n
	if dec != nil {
		if err := dec.Close(); err != nil {
			return nil, err
		}
		res.Size = dec.Written()
	}
	return res, nil
}

func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > MaxRedirects {
		return &RedirectError{Reason: fmt.Sprintf("more than %d redirects", MaxRedirects)}
	}
	if req.URL.Scheme != "https" {
		return &RedirectError{Reason: "to " + req.URL.Scheme + "://" + req.URL.Host + ": only https is followed"}
	}
	return nil
}

// netError classifies a failed request or body read.
func netError(ctx context.Context, raw string, err error) error {
	var re *RedirectError
	if errors.As(err, &re) {
		return re
	}
	if ctx.Err() != nil {
		cause := context.Cause(ctx)
		var se *stall.Error
		if errors.As(cause, &se) {
			return fmt.Errorf("GET %s: %w", raw, se)
		}
		return cause
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	host := ""
	if u, perr := url.Parse(raw); perr == nil {
		host = u.Host
	}
	return &conn.ConnectError{Addr: host, TLS: upload.IsTLSError(err), Err: fmt.Errorf("GET %s: %w", raw, err)}
}

// counter reads the body, counting for the stall watch and progress, and
// stops past limit.
type counter struct {
	r        io.Reader
	n        *atomic.Int64
	limit    int64 // 0 = none
	total    int64
	progress func(done, total int64)
	tooLarge bool
	readErr  bool
}

func (c *counter) Read(p []byte) (int, error) {
	if c.limit > 0 {
		left := c.limit - c.n.Load()
		if left <= 0 {
			// One byte more than allowed tells a long body from one
			// that ends exactly at the limit.
			var one [1]byte
			if k, _ := c.r.Read(one[:]); k > 0 {
				c.tooLarge = true
				return 0, errors.New("too large")
			}
			left = 1
		}
		if int64(len(p)) > left {
			p = p[:left]
		}
	}
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	if n > 0 && c.progress != nil {
		c.progress(c.n.Load(), c.total)
	}
	if err != nil && err != io.EOF {
		c.readErr = true
	}
	return n, err
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
