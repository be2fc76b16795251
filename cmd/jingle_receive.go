package cmd

import (
	"bufio"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/xmppctl/xmppctl/internal/units"
	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/ibb"
	"github.com/xmppctl/xmppctl/pkg/jingle"
	"github.com/xmppctl/xmppctl/pkg/online"
	"github.com/xmppctl/xmppctl/pkg/si"
	"github.com/xmppctl/xmppctl/pkg/stanza"
	"github.com/xmppctl/xmppctl/pkg/term"
)

type jingleReceiveOptions struct {
	f *Factory
	p2pOptions

	Dir        string
	From       []string
	Count      int
	AutoAccept bool
	MaxSize    string
	Legacy     bool
}

func newJingleReceiveCmd(f *Factory) *cobra.Command {
	opts := &jingleReceiveOptions{f: f}
	c := &cobra.Command{
		Use:   "jingle-receive [flags]",
		Short: "Receive files sent peer to peer (Jingle File Transfer or legacy SI)",
		Long: `Stay online and receive the files other clients send with Jingle File Transfer
(XEP-0234 over SOCKS5 or in-band bytestreams) or legacy XEP-0096 SI.

Offers are accepted only from allowed JIDs: those given with --from, else the
contacts of the account's roster; everyone else is declined. Without
--auto-accept each offer is confirmed on the terminal (and declined when
standard input is not a terminal). Offers over --max-size are declined.

Data goes to a hidden temporary file in --dir and gets its final name only
after the sender's hash matched; a mismatch keeps nothing. Names from the
network are made safe (no directories, no "..", no control characters) and
an existing file is never replaced: "name (1).ext" is used instead. Each saved
path is printed on standard output (a JSON object per file with --json).

When ready, xmppctl prints "ready to receive as FULL-JID" on standard error,
so that a script can hand the full JID to the sender.`,
		Example: `  xmppctl jingle-receive --dir ~/Downloads
  xmppctl jingle-receive --from alice@example.org --count 1 --auto-accept --dir /srv/in
  xmppctl jingle-receive --json --auto-accept --max-size 2GiB | jq -r .path`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error { return runJingleReceive(c.Context(), opts) },
	}
	fl := c.Flags()
	opts.addFlags(fl)
	fl.StringVar(&opts.Dir, "dir", ".", "directory for received files")
	fl.StringArrayVar(&opts.From, "from", nil, "accept offers from this JID (repeatable; default: roster contacts)")
	fl.IntVar(&opts.Count, "count", 0, "exit after this many files (0: run until interrupted)")
	fl.BoolVar(&opts.AutoAccept, "auto-accept", false, "accept allowed offers without asking")
	fl.StringVar(&opts.MaxSize, "max-size", "", "decline files larger than this (e.g. 500M, 4GiB)")
	fl.BoolVar(&opts.Legacy, "legacy", false, "advertise and accept only XEP-0096 SI file transfer, not Jingle")
	return c
}

type receiveJSON struct {
	Path      string `json:"path"`
	Name      string `json:"name"`
	From      string `json:"from"`
	Size      int64  `json:"size"`
	Method    string `json:"method"`
	Transport string `json:"transport"`
	Hash      string `json:"hash"`
	Verified  bool   `json:"verified"`
}

// offerView is what the policy sees of a Jingle or SI offer.
type offerView struct {
	peer, name string
	size       int64
	desc       string
}

func runJingleReceive(ctx context.Context, opts *jingleReceiveOptions) error {
	f := opts.f
	if err := opts.validate(); err != nil {
		return err
	}
	if opts.Count < 0 {
		return usageErrorf("invalid --count %d", opts.Count)
	}
	var maxSize int64 = -1
	if opts.MaxSize != "" {
		n, err := parseByteSize(opts.MaxSize)
		if err != nil {
			return usageErrorf("invalid --max-size %q: %v", opts.MaxSize, err)
		}
		maxSize = n
	}
	st, err := os.Stat(opts.Dir)
	if err != nil || !st.IsDir() {
		return usageErrorf("--dir %s is not a directory", opts.Dir)
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return usageErrorf("--dir: %v", err)
	}
	from, err := parseJIDs(opts.From, false)
	if err != nil {
		return err
	}
	acct, err := f.Account()
	if err != nil {
		return err
	}
	s, err := f.Connect(ctx, acct, true)
	if err != nil {
		return err
	}
	defer s.Close()

	ib := ibb.NewManager(s, ibb.MaxBlockSize)
	sm := si.NewManager(s, ib)
	var jingleOffers <-chan *jingle.Session // nil with --legacy: Jingle IQs get service-unavailable
	if !opts.Legacy {
		jingleOffers = jingle.NewManager(s, ib).Incoming()
	}
	allowed, err := allowedSenders(ctx, f, s, from)
	if err != nil {
		return err
	}
	resp, err := online.New(online.Options{Bot: true, Features: receiveFeatures(opts.Legacy)})
	if err != nil {
		return err
	}
	resp.Register(s)
	actx, cancel := f.WithTimeout(ctx)
	err = resp.Announce(actx, s)
	if err == nil {
		err = s.Flush(actx)
	}
	cancel()
	if err != nil {
		return err
	}
	if !f.Global.Quiet {
		fmt.Fprintf(f.IO.ErrOut, "xmppctl: ready to receive as %s\n", term.Sanitize(s.JID(), false))
	}

	r := &receiver{f: f, opts: opts, dir: dir, maxSize: maxSize, allowed: allowed, s: s}
	var failures []error
	done := 0
	for opts.Count == 0 || done < opts.Count {
		var err error
		handled := false
		select {
		case sess := <-jingleOffers:
			handled, err = r.jingle(ctx, sess)
		case o := <-sm.Incoming():
			handled, err = r.si(ctx, o)
		case <-s.Done():
			return s.Err()
		case <-ctx.Done():
			return ctx.Err()
		}
		if !handled {
			continue
		}
		done++
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			failures = append(failures, err)
			if opts.Count != 1 {
				printFailure(f.IO.ErrOut, err)
			}
		}
	}
	return outcome(done, failures)
}

type receiver struct {
	f       *Factory
	opts    *jingleReceiveOptions
	dir     string
	maxSize int64
	allowed func(string) bool
	s       conn.Session
}

// decide applies the policy; "" accepts, anything else is why not.
func (r *receiver) decide(o offerView) string {
	f := r.f
	who := term.Sanitize(o.peer, false)
	name := term.Sanitize(o.name, false)
	if !r.allowed(o.peer) {
		f.Warnf("declined %s from %s: not an allowed sender (see --from)", name, who)
		return "not-allowed"
	}
	if r.maxSize >= 0 && o.size < 0 {
		f.Warnf("declined %s from %s: no size given, and --max-size is set", name, who)
		return "too-large"
	}
	if r.maxSize >= 0 && o.size > r.maxSize {
		f.Warnf("declined %s from %s: %s is over --max-size", name, who, units.Bytes(o.size))
		return "too-large"
	}
	if r.opts.AutoAccept {
		return ""
	}
	if !f.IO.InTTY {
		f.Warnf("declined %s from %s: not a terminal to ask on (use --auto-accept)", name, who)
		return "not-asked"
	}
	fmt.Fprintf(f.IO.ErrOut, "Accept %s (%s) from %s? [y/N] ", name, units.Bytes(o.size), who)
	line, _ := bufio.NewReader(f.IO.In).ReadString('\n')
	if a := strings.ToLower(strings.TrimSpace(line)); a == "y" || a == "yes" {
		return ""
	}
	return "declined"
}

func (r *receiver) jingle(ctx context.Context, sess *jingle.Session) (bool, error) {
	o := sess.Offer()
	why := r.decide(offerView{peer: sess.Peer, name: o.Name, size: o.Size, desc: o.Desc})
	if why != "" {
		dctx, cancel := r.f.WithTimeout(ctx)
		defer cancel()
		reason := jingle.Reason{Condition: jingle.ReasonDecline}
		if why == "too-large" {
			reason = jingle.Reason{Condition: jingle.ReasonMediaError,
				App: &stanza.Element{XMLName: xml.Name{Space: jingle.NSFTError, Local: "file-too-large"}}}
		}
		_ = sess.Decline(dctx, reason)
		return false, nil
	}
	jo := r.opts.jingleOptions(ctx, r.f, r.s)
	return true, r.save(o.Name, sess.Peer, o.Size, "jingle", func(tmp *os.File, commit func() error, progress func(int64)) (*jingle.Result, error) {
		jo.Progress = progress
		return sess.Receive(ctx, tmp, commit, jo)
	})
}

func (r *receiver) si(ctx context.Context, o *si.Offer) (bool, error) {
	why := r.decide(offerView{peer: o.Peer, name: o.Name, size: o.Size, desc: o.Desc})
	if why != "" {
		o.Decline()
		return false, nil
	}
	so := si.Options{Transport: r.opts.Transport, BlockSize: r.opts.BlockSize, Timeout: r.f.Global.Timeout}
	return true, r.save(o.Name, o.Peer, o.Size, "si", func(tmp *os.File, commit func() error, progress func(int64)) (*jingle.Result, error) {
		so.Progress = progress
		return o.Receive(ctx, tmp, commit, so)
	})
}

// save runs one transfer into a temporary file and gives it its name.
func (r *receiver) save(name, peer string, size int64, method string,
	run func(tmp *os.File, commit func() error, progress func(int64)) (*jingle.Result, error)) error {
	f := r.f
	tmp, err := os.CreateTemp(r.dir, ".xmppctl-receive-*.part")
	if err != nil {
		return fmt.Errorf("create temporary file in %s: %w", r.dir, err)
	}
	defer func() {
		tmp.Close()
		_ = os.Remove(tmp.Name()) // gone already when saved
	}()
	var bar *fileBar
	if f.IO.ErrTTY && !f.Global.Quiet {
		bar = newBarStack(f.IO.ErrOut).Add(name, size)
	}
	progress := func(n int64) {
		if bar != nil {
			bar.Set(n)
		}
	}
	var path string
	commit := func() error {
		if err := tmp.Sync(); err != nil {
			return err
		}
		// CreateTemp made it private; a received file is an ordinary one.
		if err := tmp.Chmod(0o644); err != nil {
			return err
		}
		p, err := saveNoClobber(tmp.Name(), r.dir, name)
		path = p
		return err
	}
	res, err := run(tmp, commit, progress)
	if bar != nil {
		if err != nil {
			bar.Done("failed")
		} else {
			bar.Done("saved")
		}
	}
	if err != nil {
		if path != "" {
			_ = os.Remove(path)
		}
		return fmt.Errorf("%s from %s: %w", term.Sanitize(name, false), term.Sanitize(peer, false), err)
	}
	if !res.Verified {
		f.Warnf("%s from %s: the sender gave no hash; the file is unverified", term.Sanitize(name, false), term.Sanitize(peer, false))
	}
	if f.Global.JSON {
		return json.NewEncoder(f.IO.Out).Encode(receiveJSON{Path: path, Name: name, From: peer, Size: res.Size,
			Method: method, Transport: res.Transport, Hash: res.HashText, Verified: res.Verified})
	}
	fmt.Fprintln(f.IO.Out, term.Sanitize(path, false))
	return nil
}

// allowedSenders returns the sender policy: the --from JIDs (a bare JID
// allows all its resources), else the roster's contacts.
func allowedSenders(ctx context.Context, f *Factory, s conn.Session, from []string) (func(string) bool, error) {
	set := map[string]bool{}
	if len(from) > 0 {
		for _, j := range from {
			set[stanza.FullJID(j)] = true
		}
	} else {
		rctx, cancel := f.WithTimeout(ctx)
		items, err := rosterContacts(rctx, s)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("read the roster: %w", err)
		}
		for _, it := range items {
			set[stanza.FullJID(it)] = true
		}
		f.Infof("accepting offers from %d roster contacts", len(items))
	}
	return func(jid string) bool {
		return set[stanza.FullJID(jid)] || set[stanza.BareJID(jid)]
	}, nil
}

type rosterQuery struct {
	XMLName xml.Name `xml:"jabber:iq:roster query"`
	Items   []struct {
		JID          string `xml:"jid,attr"`
		Subscription string `xml:"subscription,attr"`
	} `xml:"item"`
}

// rosterContacts returns the JIDs of roster items with a subscription in
// either direction (pending requests do not count).
func rosterContacts(ctx context.Context, s conn.Session) ([]string, error) {
	resp, err := s.SendIQ(ctx, stanza.IQ{Type: stanza.GetIQ, Payload: rosterQuery{}})
	if err != nil {
		return nil, err
	}
	var q rosterQuery
	if err := resp.Query.Decode(&q); err != nil {
		return nil, fmt.Errorf("parse roster: %w", err)
	}
	var out []string
	for _, it := range q.Items {
		switch it.Subscription {
		case "both", "from", "to":
			out = append(out, it.JID)
		}
	}
	return out, nil
}

// parseByteSize reads sizes like 1048576, 500M, 500MB, 2GiB, 1.5G.
func parseByteSize(s string) (int64, error) {
	t := strings.TrimSpace(strings.ToUpper(s))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"TIB", 1 << 40}, {"GIB", 1 << 30}, {"MIB", 1 << 20}, {"KIB", 1 << 10},
		{"TB", 1e12}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3},
		{"T", 1 << 40}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}, {"B", 1}} {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	var v float64
	if _, err := fmt.Sscanf(t, "%g", &v); err != nil || v < 0 || t == "" {
		return 0, errors.New("want a size such as 500M or 2GiB")
	}
	if strings.ContainsAny(t, " ") {
		return 0, errors.New("want a size such as 500M or 2GiB")
	}
	return int64(v * float64(mult)), nil
}
