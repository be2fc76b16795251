package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/xmppctl/xmppctl/internal/units"
	"github.com/xmppctl/xmppctl/pkg/caps"
	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/disco"
	"github.com/xmppctl/xmppctl/pkg/filetransfer"
	"github.com/xmppctl/xmppctl/pkg/ibb"
	"github.com/xmppctl/xmppctl/pkg/jingle"
	"github.com/xmppctl/xmppctl/pkg/si"
	"github.com/xmppctl/xmppctl/pkg/stanza"
	"github.com/xmppctl/xmppctl/pkg/term"
)

type jingleSendOptions struct {
	f *Factory
	p2pOptions

	Files  []string
	To     string
	Legacy bool
	Desc   string
}

// newJingleSendCmd builds the jingle-send command; runF (nil:
// runJingleSend) receives the parsed and checked options.
func newJingleSendCmd(f *Factory, runF func(context.Context, *jingleSendOptions) error) *cobra.Command {
	if runF == nil {
		runF = runJingleSend
	}
	opts := &jingleSendOptions{f: f}
	c := &cobra.Command{
		Use:   "jingle-send [flags] FILE... JID[/resource]",
		Short: "Send files peer to peer (Jingle File Transfer, or legacy SI)",
		Long: `Send a file directly to another client, for files too large for HTTP upload.

The file goes over a SOCKS5 bytestream (XEP-0260: a direct connection, or the
server's XEP-0065 proxy) and, when no connection works, in-band over the XMPP
stream (XEP-0261). The offer is Jingle File Transfer (XEP-0234); with --legacy,
or when the peer advertises only SI, it is XEP-0096 SI file transfer.

The file is streamed (constant memory). xmppctl exits 0 only after the
receiver confirmed the file: it checks the SHA-256 sent after the data and
ends the session with success. XEP-0096 SI has no such confirmation: there
xmppctl exits 0 once the receiver has read everything (it closed the SOCKS5
stream, or acknowledged every in-band block) and puts the file's MD5 in the
offer for the receiver to check. A declined offer exits 5, a peer that does
not answer within --timeout exits 7; a receiver that reports a hash mismatch
makes it exit 1.

Several files are sent one after the other, each in its own session, over
one login; when only some of them arrive, xmppctl exits 3. With --json each
file gets one line: its result, or {"file": …, "error": …}.

Given a bare JID, the online resource that supports file transfer is used
(the account must see its presence, i.e. be subscribed to it). A peer's
features come from the entity capabilities of its presence (XEP-0115/0390):
verified once with a disco#info query, then known from the cache without
one; a peer without them is asked directly. Direct
connections are offered on every non-loopback interface that is up; restrict
that with --candidate-addr (or "none" to use only the proxy).`,
		Example: `  xmppctl jingle-send backup.tar.zst bob@example.org
  xmppctl jingle-send --desc "holiday photos" photos.zip bob@example.org/laptop
  xmppctl jingle-send *.flac bob@example.org
  xmppctl jingle-send --candidate-addr 192.0.2.10 big.iso bob@example.org
  xmppctl jingle-send --transport ibb notes.txt bob@example.org/phone
  xmppctl jingle-send --legacy old-client.txt carol@example.org/desktop`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) < 2 {
				return usageErrorf("jingle-send needs a FILE and a JID")
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			opts.Files, opts.To = args[:len(args)-1], args[len(args)-1]
			if err := opts.validate(); err != nil {
				return err
			}
			return runF(c.Context(), opts)
		},
	}
	fl := c.Flags()
	opts.addFlags(fl)
	fl.BoolVar(&opts.Legacy, "legacy", false, "use XEP-0096 SI file transfer instead of Jingle")
	fl.StringVar(&opts.Desc, "desc", "", "description of the file for the receiver")
	return c
}

type sendJSON struct {
	File      string `json:"file"`
	To        string `json:"to"`
	Size      int64  `json:"size"`
	Method    string `json:"method"`
	Transport string `json:"transport"`
	Hash      string `json:"hash,omitempty"`
	Verified  bool   `json:"verified"`
}

// outgoingFile is a file checked before connecting.
type outgoingFile struct {
	path, name, mediaType string
	size                  int64
	modTime               time.Time
}

// checkOutgoing validates every file before anything is sent.
func checkOutgoing(paths []string) ([]outgoingFile, error) {
	out := make([]outgoingFile, 0, len(paths))
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, usageErrorf("%s: %v", p, unwrapPathErr(err))
		}
		if !st.Mode().IsRegular() {
			return nil, usageErrorf("%s is not a regular file", p)
		}
		if fh, err := os.Open(p); err != nil {
			return nil, usageErrorf("%s: %v", p, unwrapPathErr(err))
		} else {
			fh.Close()
		}
		name := filepath.Base(p)
		mediaType := mime.TypeByExtension(filepath.Ext(name))
		if mediaType == "" {
			mediaType = "application/octet-stream"
		}
		out = append(out, outgoingFile{path: p, name: name, mediaType: mediaType, size: st.Size(), modTime: st.ModTime()})
	}
	return out, nil
}

func runJingleSend(ctx context.Context, opts *jingleSendOptions) error {
	f := opts.f
	to, err := parseJIDs([]string{opts.To}, false)
	if err != nil {
		return err
	}
	files, err := checkOutgoing(opts.Files)
	if err != nil {
		return err
	}
	acct, err := f.Account()
	if err != nil {
		return err
	}
	s, err := f.Connect(ctx, acct, true, watchPresence)
	if err != nil {
		return err
	}
	defer s.Close()

	target, err := resolveFileTarget(ctx, f, s, to[0], opts.Legacy, opts.Transport)
	if err != nil {
		return err
	}
	peer, method := target.JID, target.Method
	var bars *barStack
	if f.IO.ErrTTY && !f.Global.Quiet {
		bars = newBarStack(f.IO.ErrOut)
	}
	snd := &fileSender{f: f, s: s, opts: opts, ib: ibb.NewManager(s, 0), peer: peer, method: method, transport: target.Transport, bars: bars}
	// One session per file, one after the other over the same login: the
	// receiver sees ordinary offers, and a failure ends only its file.
	var failures []error
	for _, file := range files {
		res, err := snd.send(ctx, file)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if f.Global.JSON {
				if err := f.PrintJSON(fileErrJSON{File: file.path, Error: term.Sanitize(err.Error(), false)}); err != nil {
					return err
				}
			}
			if len(files) > 1 {
				err = fmt.Errorf("%s: %w", file.path, err)
				printFailure(f.IO.ErrOut, err)
			}
			failures = append(failures, sendFileError(peer, err))
			continue
		}
		f.Infof("%s received %s over %s (%s)", peer, file.name, res.Transport, res.HashText)
		if f.Global.JSON {
			if err := f.PrintJSON(sendJSON{File: file.path, To: peer, Size: res.Size,
				Method: string(method), Transport: res.Transport, Hash: res.HashText, Verified: res.Verified}); err != nil {
				return err
			}
		}
	}
	return outcome(len(files), failures)
}

// fileSender sends files to one peer over one session.
type fileSender struct {
	f         *Factory
	s         conn.Session
	opts      *jingleSendOptions
	ib        *ibb.Manager
	peer      string
	method    filetransfer.Method
	transport jingle.Method
	bars      *barStack
}

func (snd *fileSender) send(ctx context.Context, file outgoingFile) (res *jingle.Result, err error) {
	f, opts := snd.f, snd.opts
	fh, err := os.Open(file.path)
	if err != nil {
		return nil, unwrapPathErr(err)
	}
	defer fh.Close()
	f.Infof("sending %s (%s) to %s with %s", file.name, units.Bytes(file.size), snd.peer, snd.method)
	var bar *fileBar
	if snd.bars != nil {
		bar = snd.bars.Add(file.name, file.size)
		defer func() {
			if err != nil {
				bar.Done("failed")
			} else {
				bar.Done("sent")
			}
		}()
	}
	progress := func(n int64) {
		if bar != nil {
			bar.Set(n)
		}
	}
	switch snd.method {
	case filetransfer.MethodJingle:
		jm := jingle.NewManager(snd.s, snd.ib)
		jo := opts.jingleOptions(ctx, f, snd.s)
		jo.Transport = snd.transport
		jo.Progress = progress
		return jm.SendFile(ctx, snd.peer, jingle.FileInfo{Name: file.name, Size: file.size, MediaType: file.mediaType,
			Desc: stanza.Sanitize(opts.Desc), Date: file.modTime}, fh, jo)
	default:
		// XEP-0096 has no checksum after the data: the MD5 goes in the
		// offer, which costs one extra read of the file.
		sum, herr := si.MD5(fh)
		if herr == nil {
			_, herr = fh.Seek(0, io.SeekStart)
		}
		if herr != nil {
			return nil, fmt.Errorf("read %s: %w", file.path, herr)
		}
		sm := si.NewManager(snd.s, snd.ib)
		so := si.Options{Transport: snd.transport, BlockSize: opts.BlockSize, Timeout: f.Global.Timeout, Progress: progress}
		if snd.transport != jingle.MethodIBB {
			so.CandidateAddrs = opts.candidateAddrs()
			so.Proxy = opts.proxy(ctx, f, snd.s)
		}
		return sm.SendFile(ctx, snd.peer, si.FileInfo{Name: file.name, Size: file.size, MediaType: file.mediaType,
			Desc: stanza.Sanitize(opts.Desc), Date: file.modTime, MD5: sum}, fh, so)
	}
}

// sendFileError maps refusals to RemoteError (exit 5).
func sendFileError(peer string, err error) error {
	switch {
	case errors.Is(err, jingle.ErrDeclined), errors.Is(err, si.ErrDeclined):
		return &RemoteError{Err: fmt.Errorf("%s: %w", peer, err)}
	case errors.Is(err, jingle.ErrHashMismatch):
		return fmt.Errorf("%s: %w", peer, err)
	}
	return err
}

// resolveFileTarget picks the full JID, the method and the transport.
func resolveFileTarget(ctx context.Context, f *Factory, s conn.Session, to string, legacy bool, transport jingle.Method) (filetransfer.Target, error) {
	resources := []string{to}
	if !strings.Contains(to, "/") {
		var err error
		resources, err = filetransfer.Online(ctx, s, to, min(f.Global.Timeout, 3*time.Second))
		if err != nil {
			return filetransfer.Target{}, err
		}
		if len(resources) == 0 {
			return filetransfer.Target{}, &RemoteError{Err: fmt.Errorf("%s has no online resource visible to this account", to),
				Hint: "give the full JID (user@domain/resource), or subscribe to the contact's presence"}
		}
		f.Infof("online: %s", term.Sanitize(strings.Join(resources, ", "), false))
	}
	r := &caps.Resolver{S: s, Store: caps.Store{Dir: filepath.Join(f.DataDir(), "caps")}}
	lookup := func(ctx context.Context, jid string) (*disco.Info, error) {
		dctx, cancel := f.WithTimeout(ctx)
		defer cancel()
		return peerInfo(dctx, f, s, r, jid)
	}
	t, err := filetransfer.Resolve(ctx, to, resources, lookup, legacy, transport)
	var unsupported *filetransfer.UnsupportedError
	if errors.As(err, &unsupported) {
		return t, &RemoteError{Err: err}
	}
	return t, err
}

// peerInfo returns jid's disco#info: through its presence's entity
// capabilities when they were seen (a verified hash known from an earlier
// run costs no query), else by asking jid directly.
func peerInfo(ctx context.Context, f *Factory, s conn.Session, r *caps.Resolver, jid string) (*disco.Info, error) {
	if pw, ok := s.(conn.PresenceWatcher); ok {
		if c1, c2 := caps.Find(pw.PresenceExt(jid)); c1 != nil || c2 != nil {
			res, err := r.Lookup(ctx, jid, c1, c2)
			if err == nil {
				if res.Status == caps.Mismatch {
					f.Infof("%s: %v", jid, res.Err)
				} else {
					f.Infof("%s: capabilities %s %s: %s", jid, res.Algo, res.Hash, res.Status)
				}
				return res.Info, nil
			}
			if ctx.Err() != nil {
				return nil, err
			}
		}
	}
	return disco.GetInfo(ctx, s, jid, "")
}
