package cmd

// xmppctl upload: XEP-0363 HTTP File Upload of one or more files, with
// optional sharing of the links. Every input is checked before connecting;
// standard input is spooled to a temporary file (its size must be known
// for the slot) unless --size is given.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/xmppctl/xmppctl/internal/units"
	"github.com/xmppctl/xmppctl/pkg/aesgcm"
	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/disco"
	"github.com/xmppctl/xmppctl/pkg/outbox"
	"github.com/xmppctl/xmppctl/pkg/stanza"
	"github.com/xmppctl/xmppctl/pkg/term"
	"github.com/xmppctl/xmppctl/pkg/upload"
)

type uploadOptions struct {
	f *Factory

	Files       []string
	To          []string
	MUC         []string
	Name        string
	ContentType string
	Size        int64
	SizeSet     bool
	Caption     string
	Nick        string
	AllowHTTP   bool
	Jobs        int
	Retries     int
	OMEMO       bool
}

// newUploadCmd builds the upload command; runF (nil: runUpload) receives
// the parsed and checked options.
func newUploadCmd(f *Factory, runF func(context.Context, *uploadOptions) error) *cobra.Command {
	if runF == nil {
		runF = runUpload
	}
	opts := &uploadOptions{f: f}
	c := &cobra.Command{
		Use:   "upload [flags] FILE... [--to JID]... [--muc ROOM]...",
		Short: "Upload files with HTTP File Upload and share the links",
		Long: `Upload each FILE to the server's HTTP File Upload service (XEP-0363) and
print its download URL on standard output, one per line, in the order given
(with --json one object per file: file, url, size, content_type, sha256).

The upload service and its size limit are found through service discovery;
a file over the limit is refused before anything is sent. Files are streamed
(memory use does not grow with their size), two at a time by default
(--jobs), each with a progress bar on standard error when it is a terminal.
A failed transfer (connection drop, server error) is retried on a fresh slot
(--retries). Plain-http upload URLs are refused unless they point to the
local machine or --allow-http is given. HTTPS_PROXY and NO_PROXY are honoured,
and the account's ca_file (--ca-file) is trusted for the upload host too. A
transfer that makes no progress for --timeout is abandoned (and retried). A
file that grows while it is uploaded is sent as it was when it was checked.

FILE "-" reads standard input; give it a name with --name. Its size must be
known before the upload, so it is first copied to a temporary file, unless
--size gives it (then a failed transfer cannot be retried).

With --to and --muc every link is shared the way clients expect it: one
message per file whose body is exactly the URL, with the same URL as a
jabber:x:oob attachment, so that receiving clients show the file inline.
--caption sends its text as a separate message before the links. As with
send, xmppctl exits 0 only after the server acknowledged every message.
If some files or recipients fail and others succeed the exit status is 3.

With --omemo each file is encrypted while it is uploaded (XEP-0454 OMEMO
Media Sharing: AES-256-GCM under a fresh random key, the tag after the
ciphertext), so the upload service only ever stores ciphertext, and the
printed link is an aesgcm:// URL whose fragment holds the IV and key:
treat it as a secret. Clients that speak OMEMO (Conversations, Dino,
Gajim, Monal) open such links inline; xmppctl download decrypts them. The
upload URL must be https. With --to or --muc the caption and each link go
only inside OMEMO messages (the link is the whole body, as clients expect;
no jabber:x:oob, which travels in clear): a recipient without a usable
trusted OMEMO device fails and gets nothing (see xmppctl send --omemo).`,
		Example: `  xmppctl upload report.pdf
  xmppctl upload --to bob@example.org --caption "today's logs" app.log db.log
  xmppctl upload --muc ops@conference.example.org screenshot.png
  pg_dump mydb | gzip | xmppctl upload - --name mydb.sql.gz --to admin@example.org
  xmppctl upload --json *.tar.gz | jq -r .sha256
  xmppctl upload --omemo secret.pdf`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErrorf("upload needs at least one FILE (or - for standard input)")
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			opts.Files = args
			opts.SizeSet = c.Flags().Changed("size")
			if err := opts.validate(); err != nil {
				return err
			}
			return runF(c.Context(), opts)
		},
	}
	fl := c.Flags()
	fl.StringArrayVar(&opts.To, "to", nil, "share the links with this JID (repeatable)")
	fl.StringArrayVar(&opts.MUC, "muc", nil, "share the links in this room, joining it first (repeatable)")
	fl.StringVar(&opts.Caption, "caption", "", "text sent as its own message before the links")
	fl.StringVar(&opts.Nick, "nick", "", "nickname in rooms (default: the account's local part)")
	fl.StringVar(&opts.Name, "name", "", "file name to announce (required for -, only with one FILE)")
	fl.StringVar(&opts.ContentType, "type", "", "content type (default: from the extension, else the content)")
	fl.Int64Var(&opts.Size, "size", 0, "with -: the exact size of standard input, to stream it without a temporary file")
	fl.BoolVar(&opts.AllowHTTP, "allow-http", false, "allow plain-http upload URLs to other hosts than this machine")
	fl.IntVar(&opts.Jobs, "jobs", 2, "files uploaded at the same time")
	fl.IntVar(&opts.Retries, "retries", 3, "retries of a failed transfer (each on a fresh slot), and reconnections in a row while sharing the links")
	fl.BoolVar(&opts.OMEMO, "omemo", false, "encrypt each file (XEP-0454) and print aesgcm:// links; with --to/--muc share them in OMEMO messages")
	return c
}

// uploadItem is one FILE argument, checked and ready.
type uploadItem struct {
	arg    string // as given on the command line
	file   upload.File
	secret *aesgcm.Secret // with --omemo
	res    *upload.Result // with --omemo, res.URL is the aesgcm URL
	err    error
}

func runUpload(ctx context.Context, opts *uploadOptions) error {
	f := opts.f
	to, err := parseJIDs(opts.To, false)
	if err != nil {
		return err
	}
	rooms, err := parseJIDs(opts.MUC, true)
	if err != nil {
		return err
	}
	acct, err := f.Account()
	if err != nil {
		return err
	}
	items, cleanup, err := prepareUploads(f, opts) // last: it may spool standard input
	defer cleanup()
	if err != nil {
		return err
	}
	if opts.OMEMO {
		for _, it := range items {
			if it.file, it.secret, err = upload.Encrypted(it.file); err != nil {
				return err
			}
		}
	}

	s, err := f.Connect(ctx, acct, false)
	if err != nil {
		return err
	}
	defer s.Close()

	var joined []string
	var joinErrs []error
	if len(rooms) > 0 {
		joined, joinErrs = joinRooms(ctx, f, s, rooms, roomNick(opts.Nick, acct.Nick, acct.JID), acct.RoomPassword)
	}
	dctx, cancel := f.WithTimeout(ctx)
	svc, err := upload.Discover(dctx, disco.NewCache(s))
	// Read before cancel: afterwards dctx.Err() is always set, and every
	// failure (an error reply too) looked like a timeout.
	timedOut := ctx.Err() == nil && errors.Is(dctx.Err(), context.DeadlineExceeded)
	cancel()
	if err != nil {
		if errors.Is(err, upload.ErrNoService) {
			return &RemoteError{Err: err, Hint: "ask the server's admin to enable HTTP File Upload (Prosody: http_file_share)"}
		}
		if timedOut {
			return fmt.Errorf("find upload service: no answer from %s: %w", s.Domain(), context.DeadlineExceeded)
		}
		return err
	}
	if svc.MaxSize > 0 {
		f.Infof("upload service %s, max file size %s", svc.JID, units.Exact(svc.MaxSize))
	}
	hc, err := uploadHTTPClient(f, acct.CAFile)
	if err != nil {
		return err
	}
	up := &upload.Uploader{Session: s, Service: svc, HTTP: hc, AllowHTTP: opts.AllowHTTP,
		RequireHTTPS: opts.OMEMO, Retries: opts.Retries, Timeout: f.Global.Timeout}
	uploadAll(ctx, f, up, items, opts.Jobs)
	if err := ctx.Err(); err != nil {
		return err
	}

	var failures []error
	for _, it := range items {
		if it.err != nil {
			failures = append(failures, uploadFailure(it))
		}
	}
	total := len(items)
	if len(failures) < len(items) && len(to)+len(rooms) > 0 {
		total += len(to) + len(rooms)
		rc := &outbox.Reconnect{Dial: f.Redial(acct, false), Retries: opts.Retries, CheckArchive: len(rooms) == 0,
			OnLost: func(err error, n int) { f.Warnf("%v; reconnecting (attempt %d of %d)", err, n, opts.Retries) }}
		if len(joined) > 0 {
			nick := roomNick(opts.Nick, acct.Nick, acct.JID)
			rc.Setup = func(ctx context.Context, s conn.Session) error {
				_, errs := joinRooms(ctx, f, s, joined, nick, acct.RoomPassword)
				return errors.Join(errs...)
			}
		}
		var seal *omemoSealer
		if opts.OMEMO {
			policy, err := omemoPolicy(acct, "")
			if err != nil {
				return err
			}
			seal = &omemoSealer{f: f, acct: acct, policy: policy}
		}
		shareFails, err := shareLinks(ctx, f, s, rc, seal, opts.Caption, items, to, joined, joinErrs)
		if err != nil {
			return err
		}
		failures = append(failures, shareFails...)
	}
	return reportOutcome(f.IO.ErrOut, total, failures)
}

// uploadHTTPClient is the factory's client with the account's TLS trust:
// its ca_file (the upload host is usually run by the same people as the
// XMPP server) and --insecure. A pin is for the XMPP server's key only.
// An injected client with its own Transport is used as is.
func uploadHTTPClient(f *Factory, caFile string) (*http.Client, error) {
	c := f.HTTPClient()
	if c.Transport != nil {
		return c, nil
	}
	tr := http.DefaultTransport.(*http.Transport).Clone() // keeps HTTPS_PROXY/NO_PROXY
	tr.WriteBufferSize = 64 << 10
	if caFile != "" || f.Global.Insecure {
		tc, err := conn.TLSPolicy{CAFile: caFile, Insecure: f.Global.Insecure}.Config("")
		if err != nil {
			return nil, &UsageError{Err: err}
		}
		tr.TLSClientConfig = tc
	}
	cc := *c
	cc.Transport = tr
	return &cc, nil
}

// uploadFailure gives a failed file's error the exit status it deserves.
func uploadFailure(it *uploadItem) error {
	err := it.err
	var (
		tooLarge *upload.TooLargeError
		insecure *upload.InsecureURLError
		httpErr  *upload.HTTPError
	)
	switch {
	case errors.As(err, &tooLarge):
		return &RemoteError{Err: err, Hint: "the limit is the server's (XEP-0363 max-file-size); compress or split the file"}
	case errors.As(err, &insecure) && insecure.Encrypted:
		return &RemoteError{Err: fmt.Errorf("%s: %w", it.arg, err), Hint: "the upload service hands out plain-http links; encrypted files need https (--allow-http does not apply)"}
	case errors.As(err, &insecure):
		return &RemoteError{Err: fmt.Errorf("%s: %w", it.arg, err), Hint: "use --allow-http to upload over plain http anyway"}
	case errors.As(err, &httpErr):
		return &RemoteError{Err: fmt.Errorf("%s: upload failed: %w", it.arg, err)}
	}
	var in *upload.InputError
	if errors.As(err, &in) {
		return &UsageError{Err: fmt.Errorf("%s: %w", it.arg, err)}
	}
	var se *stanza.Error
	if errors.As(err, &se) && se.Condition == stanza.NotAcceptable {
		return &RemoteError{Err: fmt.Errorf("%s: %w", it.arg, err), Hint: "the service refused the file; it may be too large or of a type it does not accept"}
	}
	return fmt.Errorf("%s: %w", it.arg, err)
}

// validate checks the flags against each other and the FILE arguments,
// before anything is read.
func (opts *uploadOptions) validate() error {
	switch {
	case opts.Jobs < 1:
		return usageErrorf("--jobs must be at least 1")
	case opts.Retries < 0:
		return usageErrorf("--retries must not be negative")
	case opts.Name != "" && len(opts.Files) > 1:
		return usageErrorf("--name applies to a single FILE")
	case opts.SizeSet && (len(opts.Files) != 1 || opts.Files[0] != "-"):
		return usageErrorf("--size applies only to - (standard input)")
	case opts.SizeSet && opts.Size < 0:
		return usageErrorf("--size must not be negative")
	case opts.Caption != "" && len(opts.To)+len(opts.MUC) == 0:
		return usageErrorf("--caption needs --to or --muc")
	}
	if opts.Name != "" {
		if err := upload.CheckName(opts.Name); err != nil {
			return &UsageError{Err: err}
		}
	}
	return nil
}

// prepareUploads checks every FILE before connecting: it exists, is a
// regular readable file; standard input is spooled. cleanup removes the
// spool file and is safe to call on error.
func prepareUploads(f *Factory, opts *uploadOptions) ([]*uploadItem, func(), error) {
	var spools []string
	cleanup := func() {
		for _, p := range spools {
			_ = os.Remove(p)
		}
	}
	stdin := 0
	var items []*uploadItem
	for _, arg := range opts.Files {
		it := &uploadItem{arg: arg}
		var err error
		if arg == "-" {
			if stdin++; stdin > 1 {
				return nil, cleanup, usageErrorf("standard input (-) can be given only once")
			}
			if opts.Name == "" {
				return nil, cleanup, usageErrorf("uploading standard input needs --name")
			}
			var spool string
			it.file, spool, err = stdinFile(f, opts)
			if spool != "" {
				spools = append(spools, spool)
			}
		} else {
			it.file, err = upload.DiskFile(arg, opts.Name)
		}
		if err != nil {
			return nil, cleanup, uploadInput(err)
		}
		if opts.ContentType != "" {
			it.file.ContentType = opts.ContentType
		}
		items = append(items, it)
	}
	return items, cleanup, nil
}

// uploadInput gives bad input found by pkg/upload exit status 2, with the
// fix where one is known.
func uploadInput(err error) error {
	var in *upload.InputError
	switch {
	case !errors.As(err, &in):
		return err
	case errors.Is(err, upload.ErrNotRegular):
		return &UsageError{Err: err, Hint: `pipe it into "xmppctl upload - --name NAME"`}
	case errors.Is(err, upload.ErrBadName): // the file's own name; --name is checked apart
		return &UsageError{Err: err, Hint: "give another name with --name"}
	}
	return &UsageError{Err: err}
}

// stdinFile spools standard input to a temporary file, or with --size
// streams it once.
func stdinFile(f *Factory, opts *uploadOptions) (upload.File, string, error) {
	if opts.SizeSet {
		return upload.Stream(f.IO.In, opts.Name, opts.Size), "", nil
	}
	if f.IO.InTTY {
		fmt.Fprintln(f.IO.ErrOut, "xmppctl: reading the file from standard input (end with Ctrl-D)")
	}
	return upload.Spool(f.IO.In, opts.Name)
}

func unwrapPathErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// uploadAll uploads with at most jobs transfers at a time and prints
// each result on stdout in the order of the arguments as soon as it and
// all before it are done (upload.Ordered).
func uploadAll(ctx context.Context, f *Factory, up *upload.Uploader, items []*uploadItem, jobs int) {
	var bars *barStack
	if f.IO.ErrTTY && !f.Global.Quiet {
		bars = newBarStack(f.IO.ErrOut)
	}
	up.OnRetry = func(file *upload.File, attempt int, err error, wait time.Duration) {
		msg := fmt.Sprintf("%s: attempt %d failed: %v; retrying on a fresh slot in %s", file.Name, attempt, err, wait)
		if bars != nil {
			bars.Println("xmppctl: " + term.Sanitize(msg, false))
			return
		}
		f.Warnf("%s", term.Sanitize(msg, false))
	}
	enc := json.NewEncoder(f.IO.Out)
	enc.SetEscapeHTML(false)
	upload.Ordered(ctx, len(items), jobs, func(ctx context.Context, i int) error {
		uploadOne(ctx, f, up, bars, items[i])
		return items[i].err
	}, func(i int, err error) {
		items[i].err = err
		printUploadResult(f, enc, items[i])
	})
}

// uploadOne runs one transfer with its progress bar.
func uploadOne(ctx context.Context, f *Factory, up *upload.Uploader, bars *barStack, it *uploadItem) {
	var progress func(int64)
	var fb *fileBar
	if bars != nil {
		fb = bars.Add(it.file.Name, it.file.Size)
		progress = fb.Set
	}
	start := time.Now()
	it.res, it.err = up.Upload(ctx, &it.file, progress)
	if it.err == nil && it.secret != nil {
		it.res.URL, it.err = it.secret.URL(it.res.URL)
	}
	took := time.Since(start)
	if fb != nil {
		if it.err != nil {
			fb.Done("failed")
		} else {
			fb.Done(fmt.Sprintf("done: %s in %s (%s/s)", units.Bytes(it.file.Size), took.Round(100*time.Millisecond),
				units.Bytes(int64(float64(it.file.Size)/took.Seconds()))))
		}
	}
	if it.err == nil && fb == nil {
		f.Infof("uploaded %s (%s) in %s, %d attempt(s)", it.arg, units.Exact(it.file.Size),
			took.Round(time.Millisecond), it.res.Attempts)
	}
}

type uploadJSON struct {
	File        string `json:"file"`
	URL         string `json:"url"`
	Size        int64  `json:"size"`
	ContentType string `json:"content_type"`
	SHA256      string `json:"sha256"`              // of the bytes uploaded (with --omemo: the ciphertext)
	Encrypted   bool   `json:"encrypted,omitempty"` // --omemo: url is an aesgcm:// link
}

// fileErrJSON is the JSON Lines record of a file that failed (upload,
// jingle-send), in the place of its result.
type fileErrJSON struct {
	File  string `json:"file"`
	Error string `json:"error"`
}

func printUploadResult(f *Factory, enc *json.Encoder, it *uploadItem) {
	switch {
	case f.Global.JSON && it.err != nil:
		_ = enc.Encode(fileErrJSON{File: it.arg, Error: it.err.Error()})
	case f.Global.JSON:
		_ = enc.Encode(uploadJSON{File: it.arg, URL: it.res.URL, Size: it.res.Size,
			ContentType: it.res.ContentType, SHA256: it.res.SHA256, Encrypted: it.secret != nil})
	case it.err == nil:
		fmt.Fprintln(f.IO.Out, it.res.URL)
	}
}

// shareLinks sends the caption and one message per uploaded file, in
// order, to every contact and joined room, and waits for the server's
// acknowledgement. It returns one error per recipient that failed.
func shareLinks(ctx context.Context, f *Factory, s conn.Session, rc *outbox.Reconnect, seal *omemoSealer, caption string, items []*uploadItem,
	to, rooms []string, joinErrs []error) ([]error, error) {
	ob := outbox.New(s, false)
	ob.Reconnect = rc // a lost connection is replaced; the links are sent again with the same ids
	if seal != nil {
		closeOMEMO, err := seal.attach(ctx, ob)
		if err != nil {
			return nil, err
		}
		defer closeOMEMO()
	}
	defer func() {
		if ob.Session() != s {
			ob.Session().Close()
		}
	}()
	type target struct {
		jid string
		typ stanza.MessageType
	}
	var targets []target
	for _, j := range to {
		targets = append(targets, target{j, stanza.ChatMessage})
	}
	for _, r := range rooms {
		targets = append(targets, target{r, stanza.GroupChatMessage})
	}
	for _, t := range targets {
		if caption != "" {
			if _, err := ob.Send(ctx, t.jid, outbox.Content{Type: t.typ, Body: caption}); err != nil {
				return nil, err
			}
		}
		for _, it := range items {
			if it.err != nil {
				continue
			}
			c := outbox.Content{Type: t.typ, Body: it.res.URL, OOB: it.res.URL}
			if seal != nil {
				// XEP-0454: the whole body is the aesgcm:// link, inside the
				// OMEMO message; no jabber:x:oob, which travels in clear.
				c.OOB = ""
			} else if it.secret != nil || strings.HasPrefix(strings.ToLower(it.res.URL), aesgcm.Scheme+":") {
				return nil, errors.New("refusing to send an aesgcm link in a plaintext message") // its key would be readable
			}
			if _, err := ob.Send(ctx, t.jid, c); err != nil {
				return nil, err
			}
		}
	}
	fctx, cancel := f.WithTimeout(ctx)
	defer cancel()
	results, err := ob.Finish(fctx) // no receipts requested: final
	if err != nil {
		return nil, err
	}
	failures := append([]error(nil), joinErrs...)
	seen := map[string]bool{}
	for _, r := range results {
		notSent := r.Status == outbox.StatusFailed || r.Status == outbox.StatusUnknown
		if notSent && !seen[r.To] {
			seen[r.To] = true
			failures = append(failures, fmt.Errorf("%s: %w", r.To, r.Err))
		} else if !notSent {
			f.Infof("shared with %s (id %s)", r.To, r.ID)
		}
	}
	return failures, nil
}
