package avatar

import (
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"

	"github.com/xmppctl/xmppctl/pkg/conn"
	"github.com/xmppctl/xmppctl/pkg/pep"
)

// ErrNone is returned when the account publishes no avatar.
var ErrNone = errors.New("no avatar published")

// Info describes one published image (the metadata node's <info/>).
type Info struct {
	Bytes  int    `xml:"bytes,attr" json:"bytes"`
	ID     string `xml:"id,attr" json:"id"`
	Type   string `xml:"type,attr" json:"type"`
	Width  int    `xml:"width,attr,omitempty" json:"width,omitempty"`
	Height int    `xml:"height,attr,omitempty" json:"height,omitempty"`
	URL    string `xml:"url,attr,omitempty" json:"url,omitempty"`
}

// Metadata is the payload of the metadata node; no Info means the avatar
// is disabled.
type Metadata struct {
	XMLName xml.Name `xml:"urn:xmpp:avatar:metadata metadata"`
	Info    []Info   `xml:"info"`
}

// Data is the payload of the data node: the image, base64-encoded.
type Data struct {
	XMLName xml.Name `xml:"urn:xmpp:avatar:data data"`
	Base64  string   `xml:",chardata"`
}

// Avatar is a fetched image with its metadata.
type Avatar struct {
	Info Info
	Data []byte
}

// ID returns the XEP-0084 id of image bytes: their SHA-1 in hex.
func ID(data []byte) string {
	sum := sha1.Sum(data)
	return hex.EncodeToString(sum[:])
}

// Publish publishes the image: the data node first, then the metadata
// node, both under the same access model, so that no contact is told of
// an image it cannot fetch. It returns the metadata it published.
func Publish(ctx context.Context, s conn.Session, p *Prepared, o pep.Options) (Info, error) {
	info := Info{Bytes: len(p.Data), ID: ID(p.Data), Type: p.Type, Width: p.Width, Height: p.Height}
	data := Data{Base64: base64.StdEncoding.EncodeToString(p.Data)}
	if err := pep.Publish(ctx, s, NSData, info.ID, data, o); err != nil {
		return info, err
	}
	if err := pep.Publish(ctx, s, NSMetadata, info.ID, Metadata{Info: []Info{info}}, o); err != nil {
		return info, err
	}
	return info, nil
}

// GetMetadata returns the images jid announces ("" = the account). It
// returns ErrNone when there is no metadata node, no item, or an empty
// (disabling) item.
func GetMetadata(ctx context.Context, s conn.Session, jid string) ([]Info, error) {
	items, err := pep.Items(ctx, s, jid, NSMetadata, 1)
	if pep.IsNotFound(err) {
		return nil, ErrNone
	}
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, ErrNone
	}
	var md Metadata
	if err := items[len(items)-1].Payload.Decode(&md); err != nil {
		return nil, fmt.Errorf("parse avatar metadata: %w", err)
	}
	if len(md.Info) == 0 {
		return nil, ErrNone
	}
	return md.Info, nil
}

// Get fetches jid's avatar: its metadata, then the image data by id,
// checking that the data's SHA-1 is the id. Images only available by URL
// are not fetched.
func Get(ctx context.Context, s conn.Session, jid string) (*Avatar, error) {
	infos, err := GetMetadata(ctx, s, jid)
	if err != nil {
		return nil, err
	}
	info, ok := pick(infos)
	if !ok {
		return nil, fmt.Errorf("%w over XMPP (only by URL: %s)", ErrNone, infos[0].URL)
	}
	items, err := pep.Items(ctx, s, jid, NSData, 0, info.ID)
	if pep.IsNotFound(err) {
		return nil, fmt.Errorf("avatar data %s: %w", info.ID, err)
	}
	if err != nil {
		return nil, err
	}
	for _, it := range items {
		if !strings.EqualFold(it.ID, info.ID) {
			continue
		}
		data, err := DecodeData(it)
		if err != nil {
			return nil, err
		}
		if got := ID(data); !strings.EqualFold(got, info.ID) {
			return nil, fmt.Errorf("avatar data does not match its id: sha1 %s, announced %s", got, info.ID)
		}
		return &Avatar{Info: info, Data: data}, nil
	}
	return nil, fmt.Errorf("avatar data %s not found", info.ID)
}

// DecodeData extracts the image bytes from a data node item.
func DecodeData(it pep.Item) ([]byte, error) {
	var d Data
	if err := it.Payload.Decode(&d); err != nil {
		return nil, fmt.Errorf("parse avatar data: %w", err)
	}
	clean := strings.Map(func(r rune) rune {
		if r == ' ' || r == '\n' || r == '\r' || r == '\t' {
			return -1
		}
		return r
	}, d.Base64)
	data, err := base64.StdEncoding.DecodeString(clean)
	if err != nil {
		return nil, fmt.Errorf("avatar data is not valid base64: %w", err)
	}
	return data, nil
}

// pick chooses the image to fetch: the first one published in the data
// node (no URL), preferring PNG, which every client can show.
func pick(infos []Info) (Info, bool) {
	var found *Info
	for i := range infos {
		in := &infos[i]
		if in.URL != "" || in.ID == "" {
			continue
		}
		if found == nil || (in.Type == TypePNG && found.Type != TypePNG) {
			found = in
		}
	}
	if found == nil {
		return Info{}, false
	}
	return *found, true
}

// Disable stops publishing the avatar: it publishes empty metadata (so
// contacts drop the image) and retracts the data items it pointed to.
func Disable(ctx context.Context, s conn.Session) (removed []string, err error) {
	infos, err := GetMetadata(ctx, s, "")
	if err != nil && !errors.Is(err, ErrNone) {
		return nil, err
	}
	if err := pep.Publish(ctx, s, NSMetadata, "", Metadata{}, pep.Options{}); err != nil {
		return nil, err
	}
	for _, in := range infos {
		if in.URL == "" && in.ID != "" {
			removed = append(removed, in.ID)
		}
	}
	if len(removed) > 0 {
		err := pep.Retract(ctx, s, NSData, removed...)
		if err != nil && !pep.IsNotFound(err) {
			return removed, err
		}
	}
	return removed, nil
}
