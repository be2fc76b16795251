package caps

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/xmppctl/xmppctl/pkg/disco"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// Caps is the XEP-0115 <c/> element of a presence or of stream features.
type Caps struct {
	XMLName xml.Name `xml:"http://jabber.org/protocol/caps c"`
	Hash    string   `xml:"hash,attr"`
	Node    string   `xml:"node,attr"`
	Ver     string   `xml:"ver,attr"`
	Ext     string   `xml:"ext,attr,omitempty"` // legacy (pre-1.5), not hashed
}

// QueryNode is the disco#info node that describes this capability set.
func (c Caps) QueryNode() string { return c.Node + "#" + c.Ver }

// Verify reports whether info hashes to the advertised ver.
func (c Caps) Verify(info *disco.Info) error {
	if c.Hash == "" {
		return errors.New("legacy caps without a hash cannot be verified")
	}
	got, err := Ver(info, c.Hash)
	if err != nil {
		return err
	}
	if got != c.Ver {
		return &MismatchError{Algo: c.Hash, Want: c.Ver, Got: got}
	}
	return nil
}

// Hash is an XEP-0300 <hash/>.
type Hash struct {
	XMLName xml.Name `xml:"urn:xmpp:hashes:2 hash"`
	Algo    string   `xml:"algo,attr"`
	Value   string   `xml:",chardata"`
}

// QueryNode is the XEP-0390 §4.3 capability hash node of the hash.
func (h Hash) QueryNode() string { return "urn:xmpp:caps#" + h.Algo + "." + h.Value }

// Caps2 is the XEP-0390 <c/> element: a set of hashes of one disco#info.
type Caps2 struct {
	XMLName xml.Name `xml:"urn:xmpp:caps c"`
	Hashes  []Hash   `xml:"urn:xmpp:hashes:2 hash"`
}

// Supported returns the first hash whose function this package computes.
func (c Caps2) Supported() (Hash, bool) {
	for _, pref := range []string{"sha-256", "sha3-256", "sha-512", "sha3-512"} {
		for _, h := range c.Hashes {
			if h.Algo == pref {
				return h, true
			}
		}
	}
	return Hash{}, false
}

// Verify reports whether info hashes to every supported hash of the set;
// at least one must be supported.
func (c Caps2) Verify(info *disco.Info) error {
	checked := 0
	for _, h := range c.Hashes {
		if _, err := newHash(h.Algo); err != nil {
			continue
		}
		got, err := Hash2(info, h.Algo)
		if err != nil {
			return err
		}
		if got != strings.TrimSpace(h.Value) {
			return &MismatchError{Algo: h.Algo, Want: h.Value, Got: got}
		}
		checked++
	}
	if checked == 0 {
		return errors.New("no supported hash function in the capability hash set")
	}
	return nil
}

// MismatchError says a disco#info does not hash to the advertised value:
// the advertisement is wrong or forged, and the result must not be cached.
type MismatchError struct {
	Algo, Want, Got string
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("capability hash mismatch (%s): advertised %s, disco#info hashes to %s", e.Algo, e.Want, e.Got)
}

// Find returns the caps elements among a stanza's extension elements.
func Find(ext []stanza.Element) (*Caps, *Caps2) {
	var c1 *Caps
	var c2 *Caps2
	for _, el := range ext {
		switch {
		case el.Is(NS, "c") && c1 == nil:
			var c Caps
			if el.Decode(&c) == nil {
				c1 = &c
			}
		case el.Is(NS2, "c") && c2 == nil:
			var c Caps2
			if el.Decode(&c) == nil {
				c2 = &c
			}
		}
	}
	return c1, c2
}

// FromFeatures returns the caps a server advertises in its stream features
// (raw <stream:features> XML as recorded at login), nil when absent.
func FromFeatures(raw []byte) (*Caps, *Caps2, error) {
	els, err := FeatureElements(raw)
	if err != nil {
		return nil, nil, err
	}
	c1, c2 := Find(els)
	return c1, c2, nil
}

// FeatureElements returns the children of a raw <stream:features> element.
// The "stream" prefix is usually undeclared in the recorded text; the
// decoder is lenient about it and only the children matter.
func FeatureElements(raw []byte) ([]stanza.Element, error) {
	d := xml.NewDecoder(bytes.NewReader(raw))
	d.Strict = false
	depth := 0
	var out []stanza.Element
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, fmt.Errorf("parse stream features: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				depth++
				continue
			}
			var el stanza.Element
			if err := d.DecodeElement(&el, &t); err != nil {
				return out, fmt.Errorf("parse stream features: %w", err)
			}
			out = append(out, el)
		case xml.EndElement:
			depth--
		}
	}
}
