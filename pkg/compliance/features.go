package compliance

import (
	"github.com/xmppctl/xmppctl/pkg/caps"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// Stream is what the server's <stream:features> said, merged over every
// features element seen (before TLS, before and after authentication).
type Stream struct {
	StartTLS         bool
	StartTLSRequired bool
	Mechanisms       []string // SASL (RFC 6120)
	SASL2            bool     // XEP-0388
	SASL2Mechanisms  []string
	Bind2            bool     // XEP-0386
	Bind2Inline      []string // features Bind2 can enable inline
	FAST             bool     // XEP-0484
	FASTMechanisms   []string
	ChannelBindings  []string // XEP-0440
	SM               bool     // XEP-0198
	CSI              bool     // XEP-0352
	RosterVer        bool
	PreApproval      bool
	Register         bool // XEP-0077 in-band registration
	Caps             *caps.Caps
	Caps2            *caps.Caps2
	Seen             int // features elements parsed
}

type mechList struct {
	Mechs []string `xml:"mechanism"`
}

type sasl2Auth struct {
	Mechs  []string `xml:"mechanism"`
	Inline struct {
		Bind *struct {
			Inline struct {
				Features []struct {
					Var string `xml:"var,attr"`
				} `xml:"feature"`
			} `xml:"inline"`
		} `xml:"urn:xmpp:bind:0 bind"`
		Fast *mechList `xml:"urn:xmpp:fast:0 fast"`
	} `xml:"inline"`
}

type cbList struct {
	Types []struct {
		Type string `xml:"type,attr"`
	} `xml:"channel-binding"`
}

type required struct {
	Required *struct{} `xml:"required"`
}

func addUnique(list []string, vs ...string) []string {
	for _, v := range vs {
		found := false
		for _, x := range list {
			if x == v {
				found = true
				break
			}
		}
		if !found {
			list = append(list, v)
		}
	}
	return list
}

// ParseStream merges raw <stream:features> elements. Elements that do not
// parse are skipped: a diagnostic must report what it can.
func ParseStream(raw [][]byte) Stream {
	var st Stream
	for _, r := range raw {
		els, err := caps.FeatureElements(r)
		if err != nil && len(els) == 0 {
			continue
		}
		st.Seen++
		for _, el := range els {
			st.add(el)
		}
	}
	return st
}

func (st *Stream) add(el stanza.Element) {
	switch {
	case el.Is("urn:ietf:params:xml:ns:xmpp-tls", "starttls"):
		st.StartTLS = true
		var r required
		if el.Decode(&r) == nil && r.Required != nil {
			st.StartTLSRequired = true
		}
	case el.Is("urn:ietf:params:xml:ns:xmpp-sasl", "mechanisms"):
		var m mechList
		if el.Decode(&m) == nil {
			st.Mechanisms = addUnique(st.Mechanisms, m.Mechs...)
		}
	case el.Is("urn:xmpp:sasl:2", "authentication"):
		st.SASL2 = true
		var a sasl2Auth
		if el.Decode(&a) != nil {
			return
		}
		st.SASL2Mechanisms = addUnique(st.SASL2Mechanisms, a.Mechs...)
		if b := a.Inline.Bind; b != nil {
			st.Bind2 = true
			for _, f := range b.Inline.Features {
				st.Bind2Inline = addUnique(st.Bind2Inline, f.Var)
			}
		}
		if a.Inline.Fast != nil {
			st.FAST = true
			st.FASTMechanisms = addUnique(st.FASTMechanisms, a.Inline.Fast.Mechs...)
		}
	case el.Is("urn:xmpp:sasl-cb:0", "sasl-channel-binding"):
		var c cbList
		if el.Decode(&c) == nil {
			for _, t := range c.Types {
				st.ChannelBindings = addUnique(st.ChannelBindings, t.Type)
			}
		}
	case el.Is(stanza.NSSM, "sm"):
		st.SM = true
	case el.Is("urn:xmpp:csi:0", "csi"):
		st.CSI = true
	case el.Is("urn:xmpp:features:rosterver", "ver"):
		st.RosterVer = true
	case el.Is("urn:xmpp:features:pre-approval", "sub"):
		st.PreApproval = true
	case el.Is("http://jabber.org/features/iq-register", "register"):
		st.Register = true
	case el.Is(caps.NS, "c"), el.Is(caps.NS2, "c"):
		c1, c2 := caps.Find([]stanza.Element{el})
		if c1 != nil {
			st.Caps = c1
		}
		if c2 != nil {
			st.Caps2 = c2
		}
	}
}
