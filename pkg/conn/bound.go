package conn

import (
	xmpp "github.com/xmppo/go-xmpp"

	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// MaxStanza bounds what one incoming stanza may cost past go-xmpp's
// decoder: a larger message or presence is dropped (Options.OnOversize is
// told) before it is converted, stored, sanitised or printed, each of
// which copies it again; an IQ request that large is refused. Servers
// bound stanza sizes far lower by default (Prosody 256 KiB), but one that
// allows 50 MB made a single message cost 490 MB (issue 14 defect 12).
// Results of our own requests are kept: dropping one would leave its
// caller waiting.
const MaxStanza = 8 << 20

// rawSize is what go-xmpp's value holds of the stanza's content: the
// bytes every later step would copy.
func rawSize(v any) int {
	switch v := v.(type) {
	case xmpp.Chat:
		n := len(v.Text) + len(v.Subject) + len(v.Thread) + len(v.Oob.Url) + len(v.Oob.Desc)
		for _, o := range v.OtherElem {
			n += len(o.InnerXML)
			for _, a := range o.Attr {
				n += len(a.Value)
			}
		}
		return n
	case xmpp.Presence:
		return len(v.Status) + len(v.Show)
	case xmpp.IQ:
		return len(v.Query)
	}
	return 0
}

// oversize drops or refuses a stanza over MaxStanza and reports whether it
// did.
func (s *session) oversize(v any) bool {
	n := rawSize(v)
	if n <= s.maxStanza {
		return false
	}
	var from string
	switch v := v.(type) {
	case xmpp.Chat:
		from = v.Remote
	case xmpp.Presence:
		from = v.From
	case xmpp.IQ:
		if t := stanza.IQType(v.Type); t == stanza.ResultIQ || t == stanza.ErrorIQ {
			return false
		}
		from = v.From
		iq := &stanza.IQ{ID: v.ID, From: v.From, Type: stanza.IQType(v.Type)}
		go func() { _ = s.Send(s.ctx, iq.ErrorReply(stanza.Modify, stanza.PolicyViolation)) }()
	}
	if s.onOversize != nil {
		s.onOversize(from, n)
	}
	return true
}
