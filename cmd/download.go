package cmd

// xmppctl download: fetch an https or aesgcm:// link (XEP-0363 /
// XEP-0454) into a file. The file appears under its final name only
// once it is complete and, for aesgcm links, authenticated: bytes go to a
// hidden temporary file next to it, which is synced and then linked into
// place without replacing anything (jingle_files.go).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/xmppctl/xmppctl/pkg/aesgcm"
	"github.com/xmppctl/xmppctl/pkg/download"
	"github.com/xmppctl/xmppctl/pkg/term"
)

type downloadOptions struct {
	f *Factory

	URL       string
	Output    string
	MaxSize   int64
	AllowHTTP bool
}

func newDownloadCmd(f *Factory) *cobra.Command {
	opts := &downloadOptions{f: f}
	c := &cobra.Command{
		Use:   "download [flags] URL",
		Short: "Download a shared file (https or encrypted aesgcm:// link)",
		Long: `Download the file behind URL: an https link as shared by HTTP File Upload
(XEP-0363), or an aesgcm:// link of an OMEMO-encrypted file (XEP-0454),
which is fetched over https, decrypted and authenticated on the way.

The file is saved in the current directory under the last element of the
URL's path, made safe (no directories, no leading dots, no control
characters) and never replacing an existing file: "name (1).ext" and so on
is used instead. -o FILE saves it as FILE (which must not exist yet), -o -
writes it to standard output (a plain file streams straight through, so a
failure part way leaves a partial stream: check the exit status). The file
gets its name only when it is
complete and, for aesgcm links, its authentication tag is correct; until
then it is a hidden temporary file that is removed on any failure. (With
-o - an encrypted file is first kept in a private temporary file, so that
nothing unauthenticated reaches the pipe.) The path is printed on standard
output; --json prints one object (url without the key, path, size,
encrypted, content_type, or error).

Transfers stream (memory does not grow with the file) with a progress bar
on standard error when it is a terminal. Redirects are followed only to
https, at most 5 times. Plain-http links are refused unless they point to
the local machine or --allow-http is given. A body that does not match its
Content-Length, an encrypted file whose tag is wrong, or a file over
--max-size fails (exit status 5; 6 for a dropped connection, 7 when
nothing arrived for --timeout) and leaves nothing behind. No account is
needed; --ca-file (or the account's ca_file) is trusted for the host.`,
		Example: `  xmppctl download https://upload.example.org/share/x1y2/report.pdf
  xmppctl download -o photo.jpg 'aesgcm://upload.example.org/share/a9/photo.jpg#8f2e…'
  xmppctl download -o - "$URL" | tar xz`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageErrorf("download needs exactly one URL")
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			opts.URL = args[0]
			return runDownload(c.Context(), opts)
		},
	}
	fl := c.Flags()
	fl.StringVarP(&opts.Output, "output", "o", "", "save as this file (must not exist), or - for standard output")
	fl.Int64Var(&opts.MaxSize, "max-size", 0, "refuse files larger than this many bytes (0: no limit)")
	fl.BoolVar(&opts.AllowHTTP, "allow-http", false, "allow plain-http links to other hosts than this machine")
	return c
}

type downloadJSON struct {
	URL         string `json:"url"` // never the aesgcm key
	Path        string `json:"path,omitempty"`
	Size        int64  `json:"size"`
	Encrypted   bool   `json:"encrypted"`
	ContentType string `json:"content_type,omitempty"`
	Error       string `json:"error,omitempty"`
}

func runDownload(ctx context.Context, opts *downloadOptions) error {
	f := opts.f
	if opts.MaxSize < 0 {
		return usageErrorf("--max-size must not be negative")
	}
	t, err := download.Parse(opts.URL, opts.AllowHTTP)
	if err != nil {
		var insecure *download.InsecureURLError
		if errors.As(err, &insecure) {
			return &UsageError{Err: err, Hint: "use --allow-http to download over plain http anyway"}
		}
		return &UsageError{Err: err}
	}
	pl, err := downloadPlace(opts.Output, t)
	if err != nil {
		return err
	}
	caFile := f.Global.CAFile
	if acct, err := f.Account(); err == nil && caFile == "" {
		caFile = acct.CAFile // a configured account's CA covers its upload host
	}
	hc, err := uploadHTTPClient(f, caFile)
	if err != nil {
		return err
	}
	o := download.Options{HTTP: hc, MaxSize: opts.MaxSize, Idle: f.Global.Timeout}
	var bar *fileBar
	if f.IO.ErrTTY && !f.Global.Quiet {
		bar = newBarStack(f.IO.ErrOut).Add(displayName(pl.name), 0)
		sized := false
		o.Progress = func(done, total int64) {
			if total > 0 && !sized {
				bar.SetTotal(total)
				sized = true
			}
			bar.Set(done)
		}
	}
	out := downloadJSON{URL: t.URL, Encrypted: t.Secret != nil}
	path, res, err := fetchTo(ctx, f, t, pl, o)
	if bar != nil {
		if err != nil {
			bar.Done("failed")
		} else {
			bar.Done("saved")
		}
	}
	if err != nil {
		err = downloadFailure(err)
		if f.Global.JSON {
			out.Error = err.Error()
			_ = json.NewEncoder(f.IO.Out).Encode(out)
		}
		return err
	}
	if f.Global.JSON {
		out.Path, out.Size, out.ContentType = path, res.Size, term.Sanitize(res.ContentType, false)
		enc := json.NewEncoder(f.IO.Out)
		enc.SetEscapeHTML(false)
		return enc.Encode(out)
	}
	if path != "" {
		fmt.Fprintln(f.IO.Out, term.Sanitize(path, false))
	}
	return nil
}

func displayName(name string) string {
	if name == "" {
		return "download"
	}
	return name
}

// place is where a download goes.
type place struct {
	stdout bool
	dir    string
	name   string
	exact  bool // -o FILE: that name or failure; else a free variant of name
}

// downloadPlace decides where the file goes. An explicit -o FILE that
// exists is refused before anything is fetched.
func downloadPlace(output string, t *download.Target) (place, error) {
	switch output {
	case "-":
		return place{stdout: true}, nil
	case "":
		n := t.Name()
		if n == "" {
			n = "download"
		}
		return place{dir: ".", name: safeFileName(n)}, nil
	}
	if _, err := os.Lstat(output); err == nil {
		return place{}, &UsageError{Err: fmt.Errorf("%s: already exists", output), Hint: "remove it or choose another -o"}
	}
	d, n := filepath.Split(output)
	if n == "" || n == "." || n == ".." {
		return place{}, usageErrorf("-o %s: want a file name", output)
	}
	if d == "" {
		d = "."
	}
	if st, err := os.Stat(d); err != nil || !st.IsDir() {
		return place{}, usageErrorf("-o %s: %s is not a directory", output, d)
	}
	return place{dir: d, name: n, exact: true}, nil
}

// fetchTo downloads into a hidden temporary file and gives it its name;
// for standard output a plain file streams straight through and an
// encrypted one is spooled privately (in the temporary directory) first.
// It returns the final path.
func fetchTo(ctx context.Context, f *Factory, t *download.Target, pl place, o download.Options) (string, *download.Result, error) {
	if pl.stdout && t.Secret == nil {
		res, err := download.Get(ctx, t, f.IO.Out, o)
		return "", res, err
	}
	tmp, err := os.CreateTemp(pl.dir, ".xmppctl-download-*.part") // dir "" = os.TempDir
	if err != nil {
		return "", nil, fmt.Errorf("create temporary file: %w", err)
	}
	defer func() {
		tmp.Close()
		_ = os.Remove(tmp.Name()) // gone already when saved
	}()
	res, err := download.Get(ctx, t, tmp, o)
	if err != nil {
		return "", nil, err
	}
	if pl.stdout {
		if _, err := tmp.Seek(0, io.SeekStart); err != nil {
			return "", nil, err
		}
		_, err := io.Copy(f.IO.Out, tmp)
		return "", res, err
	}
	if err := tmp.Sync(); err != nil {
		return "", nil, err
	}
	if err := tmp.Chmod(0o644); err != nil { // CreateTemp made it private
		return "", nil, err
	}
	if pl.exact {
		p := filepath.Join(pl.dir, pl.name)
		if err := os.Link(tmp.Name(), p); err != nil { // fails if it appeared meanwhile
			return "", nil, fmt.Errorf("save %s: %w", p, unwrapPathErr(err))
		}
		return p, res, nil
	}
	p, err := saveNoClobber(tmp.Name(), pl.dir, pl.name)
	return p, res, err
}

// downloadFailure gives a download error its exit status and hint.
func downloadFailure(err error) error {
	var (
		httpErr  *download.HTTPError
		tooLarge *download.TooLargeError
		redirect *download.RedirectError
	)
	switch {
	case errors.Is(err, aesgcm.ErrAuth):
		return &RemoteError{Err: fmt.Errorf("the file failed authentication: it was altered, truncated or the link's key is wrong; nothing was saved")}
	case errors.As(err, &httpErr):
		return &RemoteError{Err: err}
	case errors.As(err, &tooLarge):
		return &RemoteError{Err: err, Hint: "raise --max-size if you expect a file this large"}
	case errors.As(err, &redirect):
		return &RemoteError{Err: err}
	}
	return err
}
