package cmd

// upload --omemo --to/--muc: where encrypted links are shared. An aesgcm://
// link carries the file's key, so it may travel only inside an OMEMO
// message, never in a plaintext body or jabber:x:oob. Until OMEMO
// messaging is merged, --omemo with recipients is refused before anything
// is uploaded.
//
// MERGE NOTE (OMEMO sender): set omemoSharingAvailable to true and make
// shareEncrypted send, for every target (contacts as "chat", joined rooms
// as "groupchat"), the caption (if any) and then one OMEMO message per
// uploaded item whose plaintext body is exactly it.res.URL (the aesgcm
// URL; clients render a message whose whole body is such a link inline,
// XEP-0454 section 3; no jabber:x:oob, which would leak the key), waiting
// for the server's acknowledgement like shareLinks does. It returns one
// error per failed recipient (joinErrs first), and an error only when
// nothing could be tried. A recipient without usable OMEMO devices is a
// failed recipient; nothing is sent to them in clear.

import (
	"context"
	"errors"

	"github.com/xmppctl/xmppctl/pkg/conn"
)

// omemoSharingAvailable gates --omemo with --to/--muc.
const omemoSharingAvailable = false

var errOMEMOSharing = &UsageError{
	Err:  errors.New("upload --omemo with --to or --muc needs OMEMO messages: not available yet"),
	Hint: "upload --omemo alone prints the aesgcm:// link; share it only inside an end-to-end encrypted message",
}

// shareEncrypted shares the aesgcm links of the uploaded items in OMEMO
// messages (see the merge note above); it has the signature of shareLinks.
func shareEncrypted(_ context.Context, _ *Factory, _ conn.Session, _ string, _ []*uploadItem,
	_, _ []string, _ []error) ([]error, error) {
	return nil, errOMEMOSharing
}
