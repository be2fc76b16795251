// Package nick implements XEP-0172 User Nickname over PEP (XEP-0163):
// publishing the account's nickname and reading a contact's.
package nick

import (
	"context"
	"encoding/xml"
	"errors"
	"strings"

	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/pep"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// NS is the XEP-0172 namespace and PEP node.
const NS = "http://jabber.org/protocol/nick"

// ErrNone is returned when no nickname is published.
var ErrNone = errors.New("no nickname published")

// Nick is the payload.
type Nick struct {
	XMLName xml.Name `xml:"http://jabber.org/protocol/nick nick"`
	Name    string   `xml:",chardata"`
}

// Publish publishes name as the account's nickname under o's access
// model. An empty name is refused: use Retract to remove it.
func Publish(ctx context.Context, s conn.Session, name string, o pep.Options) error {
	name = strings.TrimSpace(stanza.Sanitize(name))
	if name == "" {
		return errors.New("empty nickname")
	}
	return pep.Publish(ctx, s, NS, "current", Nick{Name: name}, o)
}

// Get returns the nickname jid publishes ("" = the account's own).
func Get(ctx context.Context, s conn.Session, jid string) (string, error) {
	items, err := pep.Items(ctx, s, jid, NS, 1)
	if pep.IsNotFound(err) {
		return "", ErrNone
	}
	if err != nil {
		return "", err
	}
	for i := len(items) - 1; i >= 0; i-- {
		var n Nick
		if items[i].Payload.Decode(&n) != nil {
			continue
		}
		if name := strings.TrimSpace(n.Name); name != "" {
			return name, nil
		}
	}
	return "", ErrNone
}
