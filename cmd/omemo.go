package cmd

import (
	"bufio"
	"context"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/omemo"
	"github.com/xmppctl/xmppctl/pkg/term"
)

type omemoOptions struct {
	f *Factory

	Action string // fingerprint, devices, trust, distrust, clean
	JID    string
	FPs    []string
	Yes    bool
}

// omemoDevice is one line of omemo devices (and the --json record).
type omemoDevice struct {
	JID         string    `json:"jid"`
	ID          uint32    `json:"device_id"`
	Fingerprint string    `json:"fingerprint"`
	Trust       string    `json:"trust"`
	Active      bool      `json:"active"`
	LastSeen    time.Time `json:"last_seen,omitempty"`
	Own         bool      `json:"this_device,omitempty"`
	Version     string    `json:"version"`
}

func newOMEMOCmd(f *Factory) *cobra.Command {
	c := &cobra.Command{
		Use:   "omemo",
		Short: "OMEMO end-to-end encryption: fingerprints, devices and trust (XEP-0384)",
		Long: `Manage the account's OMEMO device and the trust in other devices.

xmppctl is one OMEMO device of the account, created on first use (a random
device id and identity key, kept in the data directory). send --omemo
encrypts to every trusted device of the recipient and of the account's
other devices. New devices are trusted blindly until you verify one device
of a contact (blind trust before verification, omemo_trust = "btbv"); from
then on, or always with omemo_trust = "manual" (--trust manual), a device is
used only after omemo trust.

Verify a contact by comparing the fingerprint omemo devices JID shows with
the one their client shows for its own device, over a channel you trust.`,
		Example: `  xmppctl omemo fingerprint
  xmppctl omemo devices bob@example.org
  xmppctl omemo trust bob@example.org "3f9a0c12 7d..."
  xmppctl omemo distrust bob@example.org 3f9a0c127d...
  xmppctl omemo clean --yes`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return &UsageError{Err: fmt.Errorf("omemo needs a subcommand: fingerprint, devices, trust, distrust or clean"),
				Hint: "see xmppctl omemo --help"}
		},
	}
	run := func(action string) func(*cobra.Command, []string) error {
		return func(c *cobra.Command, args []string) error {
			o := &omemoOptions{f: f, Action: action}
			if len(args) > 0 {
				o.JID, o.FPs = args[0], args[1:]
			}
			o.Yes, _ = c.Flags().GetBool("yes")
			return runOMEMO(c.Context(), o)
		}
	}
	needFP := func(_ *cobra.Command, args []string) error {
		if len(args) < 2 {
			return usageErrorf("give a JID and at least one fingerprint")
		}
		return nil
	}
	clean := &cobra.Command{Use: "clean [--yes]", Short: "Remove the account's own devices that are gone from its device list",
		Long: `List the account's other OMEMO devices that still appear in its device list but
publish no bundle (a reinstalled or reset client), and remove them from the
list after confirmation (or at once with --yes), so that senders stop
encrypting to them. This device always stays.`,
		Args: noArgs, RunE: run("clean")}
	clean.Flags().Bool("yes", false, "remove without asking")
	c.AddCommand(
		&cobra.Command{Use: "fingerprint", Short: "Print this device's fingerprint (8 groups of 8 hex digits)",
			Args: noArgs, RunE: run("fingerprint")},
		&cobra.Command{Use: "devices [JID]", Short: "List the devices of JID (default: the account) with fingerprint and trust",
			Long: `Fetch JID's OMEMO device list and bundles and print each device: id,
fingerprint, trust (verified, blind = trusted before verification,
undecided, distrusted), whether it is still in the device list, and when it
was last seen. Without JID: the account's own devices, this one first.`,
			Args: maxArgs(1), RunE: run("devices")},
		&cobra.Command{Use: "trust JID FINGERPRINT...", Short: "Mark devices of JID as verified",
			Args: needFP, RunE: run("trust")},
		&cobra.Command{Use: "distrust JID FINGERPRINT...", Short: "Never encrypt to these devices of JID again",
			Args: needFP, RunE: run("distrust")},
		clean)
	return c
}

func runOMEMO(ctx context.Context, opts *omemoOptions) error {
	f := opts.f
	if opts.JID != "" {
		jids, err := parseJIDs([]string{opts.JID}, true)
		if err != nil {
			return err
		}
		opts.JID = jids[0]
	}
	for _, fp := range opts.FPs {
		if omemo.NormalizeFingerprint(fp) == "" {
			return usageErrorf("%q is not a fingerprint: want 64 hex digits (spaces allowed)", fp)
		}
	}
	acct, err := f.Account()
	if err != nil {
		return err
	}
	policy, err := omemoPolicy(acct, "")
	if err != nil {
		return err
	}
	oc, closeStore, err := openOMEMO(ctx, f, acct, policy)
	if err != nil {
		return err
	}
	defer closeStore()
	switch opts.Action {
	case "fingerprint":
		id := oc.Identity()
		return f.Done(map[string]any{"jid": acct.JID, "device_id": id.DeviceID, "fingerprint": id.Fingerprint()},
			"%s", id.Fingerprint())
	case "trust", "distrust":
		t := omemo.TrustVerified
		if opts.Action == "distrust" {
			t = omemo.TrustDistrusted
		}
		changed, err := oc.SetTrust(ctx, opts.JID, opts.FPs, t)
		if err != nil {
			// Perhaps a device we have not fetched yet: look, then retry.
			s, cerr := f.Connect(ctx, acct, false)
			if cerr != nil {
				return err
			}
			defer s.Close()
			if _, derr := oc.Devices(ctx, s, opts.JID); derr != nil {
				return derr
			}
			if changed, err = oc.SetTrust(ctx, opts.JID, opts.FPs, t); err != nil {
				return &RemoteError{Err: err, Hint: "xmppctl omemo devices " + opts.JID}
			}
		}
		if f.Global.JSON {
			for _, d := range changed {
				if err := f.PrintJSON(deviceRecord(d)); err != nil {
					return err
				}
			}
			return nil
		}
		return f.Done(nil, "%d device(s) of %s now %s", len(changed), opts.JID, t)
	}
	s, err := f.Connect(ctx, acct, false)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := oc.Publish(ctx, s); err != nil {
		return err
	}
	if opts.Action == "clean" {
		return runOMEMOClean(ctx, opts, oc, s)
	}
	devs, err := oc.Devices(ctx, s, opts.JID)
	if err != nil {
		return err
	}
	if f.Global.JSON {
		for _, d := range devs {
			if err := f.PrintJSON(deviceRecord(d)); err != nil {
				return err
			}
		}
		return nil
	}
	if len(devs) == 0 {
		jid := opts.JID
		return &RemoteError{Err: fmt.Errorf("%s publishes no OMEMO device", term.Sanitize(jid, false)),
			Hint: "their client may not support OMEMO, or they are not online with it yet"}
	}
	tw := tabwriter.NewWriter(f.IO.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DEVICE\tOMEMO\tFINGERPRINT\tTRUST\tACTIVE\tLAST SEEN")
	for _, d := range devs {
		r := deviceRecord(d)
		fp, seen, active := r.Fingerprint, "-", "yes"
		if fp == "" {
			fp = "(unknown: no bundle)"
		}
		if !r.LastSeen.IsZero() && r.LastSeen.Unix() > 0 {
			seen = r.LastSeen.Local().Format("2006-01-02 15:04")
		}
		if !r.Active {
			active = "no"
		}
		trust := r.Trust
		if r.Own {
			trust = "this device"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", r.ID, omemo.VersionName(r.Version), fp, trust, active, seen)
	}
	return tw.Flush()
}

func deviceRecord(d omemo.Device) omemoDevice {
	return omemoDevice{JID: d.JID, ID: d.ID, Fingerprint: d.Fingerprint(), Trust: string(d.Trust), Active: d.Active,
		LastSeen: d.LastSeen, Own: d.Own, Version: d.Version}
}

func runOMEMOClean(ctx context.Context, opts *omemoOptions, oc *omemo.Client, sess conn.Session) error {
	f := opts.f
	gone, err := oc.Gone(ctx, sess)
	if err != nil {
		return err
	}
	var ids []string
	n := 0
	for _, l := range gone {
		for _, id := range l {
			ids = append(ids, fmt.Sprint(id))
			n++
		}
	}
	sort.Strings(ids)
	if n == 0 {
		return f.Done(map[string]any{"removed": []string{}}, "no gone devices in the account's device list")
	}
	if !opts.Yes {
		if !f.IO.InTTY {
			return &UsageError{Err: fmt.Errorf("%d gone device(s) to remove: %s", n, strings.Join(ids, ", ")),
				Hint: "run again with --yes to remove them"}
		}
		fmt.Fprintf(f.IO.ErrOut, "Remove %d device(s) without a bundle from the device list (%s)? [y/N] ", n, strings.Join(ids, ", "))
		line, _ := bufio.NewReader(f.IO.In).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
			return usageErrorf("nothing removed")
		}
	}
	if err := oc.Remove(ctx, sess, gone); err != nil {
		return err
	}
	return f.Done(map[string]any{"removed": ids}, "removed %d device(s): %s", n, strings.Join(ids, ", "))
}
