package filetransfer

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/xmppctl/xmppctl/pkg/disco"
	"github.com/xmppctl/xmppctl/pkg/jingle"
	"github.com/xmppctl/xmppctl/pkg/si"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// Method is the file-transfer protocol chosen for a peer.
type Method string

// Methods.
const (
	MethodJingle Method = "jingle" // XEP-0234
	MethodSI     Method = "si"     // XEP-0096
)

// Why a resource cannot receive the file. Choose returns them; an
// UnsupportedError carries them, one per resource.
var (
	ErrNoFileTransfer = errors.New("no Jingle file transfer or SI advertised")
	ErrNoSI           = errors.New("no SI file transfer (XEP-0096) advertised")
	ErrNoS5B          = errors.New("no Jingle SOCKS5 transport advertised")
	ErrNoIBB          = errors.New("no Jingle in-band transport advertised")
	ErrNoTransport    = errors.New("no Jingle transport we support advertised")
	ErrNoAnswer       = errors.New("no answer")

	// ErrNoResource is Resolve's error for an empty list of resources.
	ErrNoResource = errors.New("no online resource")
)

// Caps is what a resource's disco#info says about file transfer.
type Caps struct {
	Jingle, SI, S5B, IBB bool
}

// CapsOf reads the file-transfer features from info.
func CapsOf(info *disco.Info) Caps {
	return Caps{
		Jingle: info.HasFeature(jingle.NS) && (info.HasFeature(jingle.NSFT) || info.HasFeature(jingle.NSFT4)),
		SI:     info.HasFeature(si.NS) && info.HasFeature(si.NSProfile),
		S5B:    info.HasFeature(jingle.NSS5B),
		IBB:    info.HasFeature(jingle.NSIBB),
	}
}

// Choose follows the peer's features: Jingle when it has Jingle FT (unless
// legacy), else SI; the transport (auto, s5b or ibb) must be one it
// supports, and auto becomes ibb for a Jingle peer without SOCKS5. The
// error is one of the ErrNo… reasons.
func Choose(c Caps, legacy bool, transport jingle.Method) (method Method, tr jingle.Method, err error) {
	if legacy || !c.Jingle {
		if !c.SI {
			if legacy {
				return "", "", ErrNoSI
			}
			return "", "", ErrNoFileTransfer
		}
		return MethodSI, transport, nil
	}
	switch transport {
	case jingle.MethodS5B:
		if !c.S5B {
			return "", "", ErrNoS5B
		}
	case jingle.MethodIBB:
		if !c.IBB {
			return "", "", ErrNoIBB
		}
	default:
		if !c.S5B {
			if !c.IBB {
				return "", "", ErrNoTransport
			}
			return MethodJingle, jingle.MethodIBB, nil
		}
	}
	return MethodJingle, transport, nil
}

// Target is the chosen receiver and how the file goes to it.
type Target struct {
	JID       string // full JID
	Method    Method
	Transport jingle.Method
}

// Rejection is why one resource cannot receive the file.
type Rejection struct {
	JID string
	Err error // an ErrNo… reason
}

// UnsupportedError reports that no resource tried can receive the file.
type UnsupportedError struct {
	To       string      // the JID as given
	Rejected []Rejection // one per resource, in the order tried
}

func (e *UnsupportedError) Error() string {
	if len(e.Rejected) == 1 {
		return fmt.Sprintf("%s cannot receive the file: %v", e.Rejected[0].JID, e.Rejected[0].Err)
	}
	parts := make([]string, len(e.Rejected))
	for i, r := range e.Rejected {
		parts[i] = fmt.Sprintf("%s (%v)", r.JID, r.Err)
	}
	return fmt.Sprintf("no online resource of %s supports file transfer: %s", e.To, strings.Join(parts, ", "))
}

// Unwrap returns each resource's reason, for errors.Is.
func (e *UnsupportedError) Unwrap() []error {
	errs := make([]error, len(e.Rejected))
	for i, r := range e.Rejected {
		errs[i] = r.Err
	}
	return errs
}

// Lookup returns a resource's disco#info.
type Lookup func(ctx context.Context, jid string) (*disco.Info, error)

// Resolve picks the first of resources (full JIDs of to, in order) that
// can receive the file. With a single resource its lookup error is
// returned (a stanza error says it is not online); with several, one that
// does not answer is skipped. When none fits the error is an
// *UnsupportedError.
func Resolve(ctx context.Context, to string, resources []string, lookup Lookup, legacy bool, transport jingle.Method) (Target, error) {
	if len(resources) == 0 {
		return Target{}, ErrNoResource
	}
	unsupported := &UnsupportedError{To: to}
	for _, r := range resources {
		info, err := lookup(ctx, r)
		if err != nil {
			if ctx.Err() != nil {
				return Target{}, ctx.Err()
			}
			if len(resources) == 1 {
				var se *stanza.Error
				if errors.As(err, &se) {
					return Target{}, fmt.Errorf("%s is not online or does not answer: %w", r, err)
				}
				return Target{}, err
			}
			unsupported.Rejected = append(unsupported.Rejected, Rejection{JID: r, Err: ErrNoAnswer})
			continue
		}
		m, t, err := Choose(CapsOf(info), legacy, transport)
		if err == nil {
			return Target{JID: r, Method: m, Transport: t}, nil
		}
		unsupported.Rejected = append(unsupported.Rejected, Rejection{JID: r, Err: err})
	}
	return Target{}, unsupported
}
