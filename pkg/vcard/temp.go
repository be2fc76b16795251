package vcard

import (
	"context"
	"encoding/base64"
	"encoding/xml"
	"fmt"

	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/pep"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// Temp is a vcard-temp vCard (XEP-0054) as its fields in order, kept as
// received so that replacing the photo changes nothing else.
type Temp struct {
	XMLName xml.Name         `xml:"vcard-temp vCard"`
	Fields  []stanza.Element `xml:",any"`
}

// Update is the XEP-0153 presence child announcing the photo's SHA-1.
type Update struct {
	XMLName xml.Name `xml:"vcard-temp:x:update x"`
	Photo   string   `xml:"photo"`
}

type photo struct {
	XMLName xml.Name `xml:"PHOTO"`
	Type    string   `xml:"TYPE"`
	BinVal  string   `xml:"BINVAL"`
}

// GetTemp returns the account's vcard-temp (an empty one if it has none).
func GetTemp(ctx context.Context, s conn.Session) (*Temp, error) {
	resp, err := s.SendIQ(ctx, stanza.IQ{Type: stanza.GetIQ, Payload: Temp{}})
	if pep.IsNotFound(err) {
		return &Temp{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get vcard-temp: %w", err)
	}
	if resp.Query.XMLName.Local == "" {
		return &Temp{}, nil
	}
	var t Temp
	if err := resp.Query.Decode(&t); err != nil {
		return nil, fmt.Errorf("parse vcard-temp: %w", err)
	}
	return &t, nil
}

// SetTemp stores the account's vcard-temp.
func SetTemp(ctx context.Context, s conn.Session, t *Temp) error {
	if _, err := s.SendIQ(ctx, stanza.IQ{Type: stanza.SetIQ, Payload: t}); err != nil {
		return fmt.Errorf("set vcard-temp: %w", err)
	}
	return nil
}

// SetPhoto replaces the PHOTO field (nil data removes it).
func (t *Temp) SetPhoto(typ string, data []byte) {
	out := t.Fields[:0:0]
	for _, f := range t.Fields {
		if f.XMLName.Local != "PHOTO" {
			out = append(out, f)
		}
	}
	if data != nil {
		inner, _ := xml.Marshal(photo{Type: typ, BinVal: base64.StdEncoding.EncodeToString(data)})
		// The element itself is written by Element; keep only its children.
		var p stanza.Element
		_ = xml.Unmarshal(inner, &p)
		out = append(out, stanza.Element{XMLName: xml.Name{Space: NSTemp, Local: "PHOTO"}, Inner: p.Inner})
	}
	t.Fields = out
}

// Photo returns the PHOTO's type and decoded bytes, if there is one.
func (t *Temp) Photo() (string, []byte, bool) {
	for _, f := range t.Fields {
		if f.XMLName.Local != "PHOTO" {
			continue
		}
		var p photo
		if f.Decode(&p) != nil {
			return "", nil, false
		}
		b, err := base64.StdEncoding.DecodeString(stripSpace(p.BinVal))
		if err != nil {
			return "", nil, false
		}
		return p.Type, b, true
	}
	return "", nil, false
}

func stripSpace(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != ' ' && c != '\n' && c != '\r' && c != '\t' {
			b = append(b, c)
		}
	}
	return string(b)
}

// AnnouncePhoto sends an available presence carrying the XEP-0153 hash
// ("" announces that there is no photo).
func AnnouncePhoto(ctx context.Context, s conn.Session, sha1hex string) error {
	return s.Send(ctx, stanza.Presence{Payload: []any{Update{Photo: sha1hex}}})
}
