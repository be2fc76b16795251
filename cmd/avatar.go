package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/xmppctl/xmppctl/pkg/avatar"
	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/disco"
	"github.com/xmppctl/xmppctl/pkg/nick"
	"github.com/xmppctl/xmppctl/pkg/pep"
	"github.com/xmppctl/xmppctl/pkg/vcard"
)

// maxAvatarInput bounds the file read for `avatar set` (a photo straight
// from a camera fits; it is scaled down before publishing).
const maxAvatarInput = 64 << 20

type avatarOptions struct {
	f *Factory

	Action   string // set, get, remove
	File     string // set: input; get: -o output
	JID      string // get
	Access   string // set
	Legacy   bool   // set, remove
	MaxBytes int    // set
}

// avatarResult is the --json output of set and get.
type avatarResult struct {
	JID    string          `json:"jid,omitempty"`
	ID     string          `json:"id"`
	Type   string          `json:"type"`
	Bytes  int             `json:"bytes"`
	Width  int             `json:"width,omitempty"`
	Height int             `json:"height,omitempty"`
	Access pep.AccessModel `json:"access,omitempty"`
	File   string          `json:"file,omitempty"`
	Scaled bool            `json:"scaled,omitempty"`
	Legacy bool            `json:"legacy_vcard,omitempty"`
}

func newAvatarCmd(f *Factory) *cobra.Command {
	c := &cobra.Command{
		Use:   "avatar",
		Short: "Publish, fetch or remove the account's avatar (XEP-0084)",
		Long: `Manage the avatar published on the account's personal eventing service
(XEP-0084 User Avatar over XEP-0163 PEP).

set publishes a PNG or JPEG image (detected by content). An image over
72 KiB or larger than 192 pixels on a side is scaled down, keeping its
aspect ratio, and re-encoded until it fits; xmppctl says what it did.
The avatar's data and metadata nodes, and the nickname node, always share
one access model (--access, or xmppctl profile visibility).

get fetches a contact's avatar, verifies its SHA-1 and writes it to -o FILE
or to standard output (never to a terminal).

With --legacy (or legacy_avatar = true in the config) set and remove also
update the vcard-temp photo (XEP-0054/XEP-0153) for old clients, unless the
server already converts PEP avatars itself (XEP-0398).`,
		Example: `  xmppctl avatar set ~/me.jpg
  xmppctl avatar set --access open logo.png
  xmppctl avatar get bob@example.org -o bob.png
  xmppctl avatar get bob@example.org > bob.img
  xmppctl avatar remove`,
		Args: noArgs,
		RunE: func(*cobra.Command, []string) error {
			return &UsageError{Err: errors.New("avatar needs a subcommand: set, get or remove"), Hint: "see xmppctl avatar --help"}
		},
	}

	set := &avatarOptions{f: f, Action: "set"}
	setCmd := &cobra.Command{
		Use:   "set FILE",
		Short: "Publish a PNG or JPEG image as the avatar (- reads standard input)",
		Example: `  xmppctl avatar set photo.jpg
  xmppctl avatar set --access open --legacy logo.png`,
		Args: exactArgs(1, "avatar set needs one image FILE"),
		RunE: func(c *cobra.Command, args []string) error {
			set.File = args[0]
			return runAvatar(c.Context(), set)
		},
	}
	setCmd.Flags().StringVar(&set.Access, "access", "", accessFlagHelp)
	setCmd.Flags().IntVar(&set.MaxBytes, "max-bytes", avatar.DefaultLimits.MaxBytes,
		"scale and re-encode the image until it is at most this many bytes")
	setCmd.Flags().BoolVar(&set.Legacy, "legacy", false, "also set the vcard-temp photo (XEP-0153) if the server does not convert avatars itself")

	get := &avatarOptions{f: f, Action: "get"}
	getCmd := &cobra.Command{
		Use:   "get [JID] [-o FILE]",
		Short: "Fetch an avatar (default: the account's own) and verify its hash",
		Example: `  xmppctl avatar get bob@example.org -o bob.png
  xmppctl avatar get > me.img`,
		Args: maxArgs(1),
		RunE: optionalArg(get, &get.JID, runAvatar),
	}
	getCmd.Flags().StringVarP(&get.File, "output", "o", "", "write the image to FILE (default: standard output)")

	rm := &avatarOptions{f: f, Action: "remove"}
	rmCmd := &cobra.Command{
		Use:     "remove",
		Short:   "Stop publishing an avatar",
		Example: "  xmppctl avatar remove",
		Args:    noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return runAvatar(c.Context(), rm)
		},
	}
	rmCmd.Flags().BoolVar(&rm.Legacy, "legacy", false, "also remove the vcard-temp photo (XEP-0153)")

	c.AddCommand(setCmd, getCmd, rmCmd)
	return c
}

func runAvatar(ctx context.Context, opts *avatarOptions) error {
	switch opts.Action {
	case "set":
		return runAvatarSet(ctx, opts)
	case "get":
		return runAvatarGet(ctx, opts)
	}
	return runAvatarRemove(ctx, opts)
}

func runAvatarSet(ctx context.Context, opts *avatarOptions) error {
	f := opts.f
	flagModel, err := parseAccessFlag(opts.Access)
	if err != nil {
		return err
	}
	raw, err := readInput(f, opts.File)
	if err != nil {
		return err
	}
	if opts.MaxBytes < 1024 {
		return usageErrorf("--max-bytes %d is too small for an image (at least 1024)", opts.MaxBytes)
	}
	lim := avatar.DefaultLimits
	lim.MaxBytes = opts.MaxBytes
	img, err := avatar.Prepare(raw, lim)
	if errors.Is(err, avatar.ErrFormat) {
		return &UsageError{Err: fmt.Errorf("%s: %w", opts.File, err), Hint: "avatars must be PNG or JPEG; convert the image first"}
	}
	if err != nil {
		return &UsageError{Err: fmt.Errorf("%s: %w", opts.File, err)}
	}
	// Account and Connect apart (not f.Session): the note on what scaling
	// did comes once the account is known good, before any login output.
	acct, err := f.Account()
	if err != nil {
		return err
	}
	if msg := img.Changes(); msg != "" && !f.Global.Quiet && !f.Global.JSON {
		fmt.Fprintln(f.IO.ErrOut, "xmppctl: "+msg)
	}
	wctx, s, end, err := f.loginAs(ctx, acct)
	if err != nil {
		return err
	}
	defer end()
	info, err := pepService(wctx, s)
	if err != nil {
		return err
	}
	model, err := chooseAccess(wctx, s, flagModel, avatarGroup...)
	if err != nil {
		return err
	}
	published, err := avatar.Publish(wctx, s, img, pepOptions(info, model))
	var connErr *conn.ConnectError
	if errors.As(err, &connErr) && len(img.Data) > 7000 {
		// Servers close the stream on a stanza over their size limit
		// (Prosody: c2s_stanza_size_limit); the image travels as base64.
		return &RemoteError{Err: fmt.Errorf("the server closed the connection while receiving the %d-byte avatar: %w", len(img.Data), err),
			Hint: "the server may limit stanza size; try a smaller image, e.g. --max-bytes 7000"}
	}
	if err != nil {
		return err
	}
	if err := alignAccess(wctx, s, model, nick.NS); err != nil {
		return err
	}
	legacy := false
	if opts.Legacy || acct.Legacy {
		legacy, err = legacyPhoto(wctx, f, s, info, img.Type, img.Data, published.ID)
		if err != nil {
			return err
		}
	}
	res := avatarResult{ID: published.ID, Type: published.Type, Bytes: published.Bytes,
		Width: published.Width, Height: published.Height, Access: model, Scaled: img.Reencoded, Legacy: legacy}
	return f.Done(res, "published avatar %s (%dx%d %s, %d bytes), visible to %s (access %s)",
		res.ID, res.Width, res.Height, res.Type, res.Bytes, describeAccess(model), model)
}

// legacyPhoto mirrors the avatar into vcard-temp with the XEP-0153 hash
// (nil data removes it), unless the server converts avatars itself. It
// reports whether it wrote the vCard.
func legacyPhoto(ctx context.Context, f *Factory, s conn.Session, info *disco.Info, typ string, data []byte, id string) (bool, error) {
	if info.HasFeature(vcard.FeatureConversion) {
		f.Infof("the server converts PEP avatars to vcard-temp itself (XEP-0398): not publishing there too")
		return false, nil
	}
	t, err := vcard.GetTemp(ctx, s)
	if err != nil {
		return false, err
	}
	t.SetPhoto(typ, data)
	if err := vcard.SetTemp(ctx, s, t); err != nil {
		return false, err
	}
	if err := vcard.AnnouncePhoto(ctx, s, id); err != nil {
		return false, err
	}
	f.Infof("updated the vcard-temp photo (XEP-0153) for older clients")
	return true, s.Flush(ctx)
}

func readInput(f *Factory, name string) ([]byte, error) {
	var r io.Reader
	if name == "-" {
		r = f.IO.In
	} else {
		fh, err := os.Open(name)
		if err != nil {
			return nil, &UsageError{Err: err}
		}
		defer fh.Close()
		r = fh
	}
	b, err := io.ReadAll(io.LimitReader(r, maxAvatarInput+1))
	if err != nil {
		return nil, &UsageError{Err: fmt.Errorf("read %s: %w", name, err)}
	}
	if len(b) > maxAvatarInput {
		return nil, usageErrorf("%s: larger than %d MiB; not an avatar", name, maxAvatarInput>>20)
	}
	return b, nil
}

func runAvatarGet(ctx context.Context, opts *avatarOptions) error {
	f := opts.f
	jid, err := peerJID(opts.JID)
	if err != nil {
		return err
	}
	toStdout := opts.File == "" || opts.File == "-"
	if toStdout && f.IO.OutTTY {
		return &UsageError{Err: errors.New("refusing to write image data to a terminal"),
			Hint: "use -o FILE or redirect standard output"}
	}
	if toStdout && f.Global.JSON {
		return usageErrorf("--json describes the image written with -o FILE; give -o")
	}
	av, jid, err := getPeer(ctx, f, jid, "avatar", avatar.ErrNone, avatar.Get)
	if err != nil {
		return err
	}
	if toStdout {
		_, err := f.IO.Out.Write(av.Data)
		return err
	}
	if err := writeFileAtomic(opts.File, av.Data); err != nil {
		return err
	}
	res := avatarResult{JID: jid, ID: av.Info.ID, Type: av.Info.Type, Bytes: len(av.Data),
		Width: av.Info.Width, Height: av.Info.Height, File: opts.File}
	return f.Done(res, "saved %s's avatar (%s, %d bytes, sha1 verified) to %s",
		jid, av.Info.Type, len(av.Data), opts.File)
}

// writeFileAtomic writes data to a temporary file beside path and renames
// it into place, so that an interrupted run never leaves half an image.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return &UsageError{Err: err}
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func runAvatarRemove(ctx context.Context, opts *avatarOptions) error {
	f := opts.f
	wctx, s, acct, info, end, err := f.loginPEP(ctx)
	if err != nil {
		return err
	}
	defer end()
	removed, err := avatar.Disable(wctx, s)
	if err != nil {
		return err
	}
	if opts.Legacy || acct.Legacy {
		if _, err := legacyPhoto(wctx, f, s, info, "", nil, ""); err != nil {
			return err
		}
	}
	msg := "avatar removed"
	if len(removed) == 0 {
		msg = "no avatar was published; published an empty one so contacts show none"
	}
	if removed == nil {
		removed = []string{}
	}
	return f.Done(map[string][]string{"removed": removed}, "%s", msg)
}
