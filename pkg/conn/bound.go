package conn

import (
	"runtime/debug"

	xmpp "github.com/xmppo/go-xmpp"

	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// MaxStanza bounds what one incoming stanza may cost past go-xmpp's
// decoder (Options.MaxStanza changes it): a larger message or presence is
// dropped (Options.OnOversize is told) before it is converted, stored,
// sanitised or printed, each of which copies it again; an IQ request that
// large is refused. Servers bound stanza sizes far lower by default
// (Prosody 256 KiB), but one that allows 50 MB made a single message cost
// 490 MB (issue 14 defect 12). Results of our own requests are kept:
// dropping one would leave its caller waiting.
//
// What the bound cannot save is go-xmpp's own decoding, which happens
// before any of our code sees the stanza and which only a patched library
// could stop: the text goes into its decoder's buffer (doubling as it
// grows, to the power of two at or above the text's size, and kept for
// the rest of the stream), then into a copy for the element and a string
// for the field, all alive together: about 3.3 times a 50 MB body at the
// peak. The tap sees the bytes before the decoder does, but only as go-xmpp's
// copy of them, so it can count them, not hold them back; failing its
// write would fail the stream. A server's XEP-0478 limit changes nothing
// here: the server already refuses what is over it.
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
// did, from go-xmpp's value (Recv's loop): before convert copies it.
func (s *session) oversize(v any) bool {
	n := rawSize(v)
	if n <= s.maxStanza {
		return false
	}
	var head stanza.Stanza // who sent it, and what an IQ needs for its error
	switch v := v.(type) {
	case xmpp.Chat:
		head = &stanza.Message{From: v.Remote}
	case xmpp.Presence:
		head = &stanza.Presence{From: v.From}
	case xmpp.IQ:
		head = &stanza.IQ{ID: v.ID, From: v.From, Type: stanza.IQType(v.Type)}
	}
	return s.refuse(head, n)
}

// releaseOver is the stanza size from which the receive loop hands the
// garbage go-xmpp left decoding it back to the system at once (release).
const releaseOver = 1 << 20

// release collects the garbage of decoding a large stanza and returns it to
// the system, before the stanza is stored and printed (the store's SQLite
// copies live outside the Go heap and would come on top of it): go-xmpp's
// decoder leaves a copy of the text, the smaller buffers it outgrew and its
// debug copy of the stream, about four times the stanza. The next
// collection would reclaim them but not return them to the system at once.
// The cost, a collection per stanza over releaseOver, is small next to
// decoding it.
func release() { debug.FreeOSMemory() }

// stanzaSize is rawSize for a stanza the receive loop decoded itself
// (read.go): its text and its extensions' raw content.
func stanzaSize(st stanza.Stanza) int {
	ext := func(els []stanza.Element) int {
		n := 0
		for _, e := range els {
			n += len(e.Inner)
			for _, a := range e.Attrs {
				n += len(a.Value)
			}
		}
		return n
	}
	switch v := st.(type) {
	case *stanza.Message:
		return len(v.Body) + len(v.Subject) + len(v.Thread) + ext(v.Ext)
	case *stanza.Presence:
		return len(v.Status) + len(v.Show) + ext(v.Ext)
	case *stanza.IQ:
		return ext([]stanza.Element{v.Query})
	}
	return 0
}

// oversizeStanza is oversize for a stanza the receive loop decoded itself.
func (s *session) oversizeStanza(st stanza.Stanza) bool {
	n := stanzaSize(st)
	return n > s.maxStanza && s.refuse(st, n)
}

// refuse drops st, n bytes over MaxStanza, and reports whether it did:
// the results of our own requests are kept (their callers wait for them),
// an IQ request gets policy-violation, and Options.OnOversize is told.
func (s *session) refuse(st stanza.Stanza, n int) bool {
	var from string
	switch v := st.(type) {
	case *stanza.Message:
		from = v.From
	case *stanza.Presence:
		from = v.From
	case *stanza.IQ:
		if v.Type == stanza.ResultIQ || v.Type == stanza.ErrorIQ {
			return false
		}
		from = v.From
		reply := v.ErrorReply(stanza.Modify, stanza.PolicyViolation)
		go func() { _ = s.Send(s.ctx, reply) }()
	}
	if s.onOversize != nil {
		s.onOversize(from, n)
	}
	return true
}
