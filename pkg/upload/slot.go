package upload

// Slot requests and slot parsing. A slot is remote input: its URLs are
// checked to be absolute http(s) URLs and only the header names XEP-0363
// allows (Authorization, Cookie, Expires) are kept, with newlines removed
// from their values, so that a hostile server cannot make the client send
// other headers or split the request.

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/xmppctl/xmppctl/internal/units"
	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/stanza"
)

// Request is the slot request sent to the upload service.
type Request struct {
	XMLName     xml.Name `xml:"urn:xmpp:http:upload:0 request"`
	Filename    string   `xml:"filename,attr"`
	Size        int64    `xml:"size,attr"`
	ContentType string   `xml:"content-type,attr,omitempty"`
}

// Header is one HTTP header the slot asks the PUT to carry.
type Header struct {
	Name  string `xml:"name,attr" json:"name"`
	Value string `xml:",chardata" json:"value"`
}

// Slot is a granted upload slot.
type Slot struct {
	PutURL  string
	GetURL  string
	Headers []Header // allowed names only, in the order given
}

// slotXML is the wire form of <slot/>.
type slotXML struct {
	XMLName xml.Name `xml:"urn:xmpp:http:upload:0 slot"`
	Put     struct {
		URL     string   `xml:"url,attr"`
		Headers []Header `xml:"header"`
	} `xml:"put"`
	Get struct {
		URL string `xml:"url,attr"`
	} `xml:"get"`
}

// allowedHeaders are the header names XEP-0363 §6 lets a slot set; others
// must be ignored.
var allowedHeaders = map[string]string{
	"authorization": "Authorization",
	"cookie":        "Cookie",
	"expires":       "Expires",
}

// ParseSlot decodes and validates a <slot/> element.
func ParseSlot(el stanza.Element) (*Slot, error) {
	var x slotXML
	if err := el.Decode(&x); err != nil {
		return nil, fmt.Errorf("parse upload slot: %w", err)
	}
	if err := checkSlotURL("put", x.Put.URL); err != nil {
		return nil, err
	}
	if err := checkSlotURL("get", x.Get.URL); err != nil {
		return nil, err
	}
	s := &Slot{PutURL: x.Put.URL, GetURL: x.Get.URL}
	for _, h := range x.Put.Headers {
		name, ok := allowedHeaders[strings.ToLower(strings.TrimSpace(h.Name))]
		if !ok {
			continue
		}
		v := strings.NewReplacer("\r", "", "\n", "").Replace(h.Value)
		s.Headers = append(s.Headers, Header{Name: name, Value: strings.TrimSpace(v)})
	}
	return s, nil
}

func checkSlotURL(which, raw string) error {
	if raw == "" {
		return fmt.Errorf("parse upload slot: no %s url", which)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("parse upload slot: bad %s url: %w", which, err)
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("parse upload slot: %s url %q is not an absolute http(s) url", which, raw)
	}
	if strings.ContainsAny(raw, " \t\r\n") {
		return fmt.Errorf("parse upload slot: %s url %q contains white space", which, raw)
	}
	return nil
}

// RequestSlot asks the upload service for a slot. A refusal arrives as a
// *stanza.Error (not-acceptable "File too large", resource-constraint for
// a quota, forbidden), wrapped.
func RequestSlot(ctx context.Context, s conn.Session, service string, r Request) (*Slot, error) {
	r.Filename = stanza.Sanitize(r.Filename)
	r.ContentType = stanza.Sanitize(r.ContentType)
	resp, err := s.SendIQ(ctx, stanza.IQ{Type: stanza.GetIQ, To: service, Payload: r})
	if err != nil {
		return nil, fmt.Errorf("request upload slot for %q (%s): %w", r.Filename, units.Exact(r.Size), err)
	}
	if !resp.Query.Is(NS, "slot") {
		return nil, errors.New("request upload slot: the service answered without a slot")
	}
	return ParseSlot(resp.Query)
}
